"""Roster runs through the worker: what only rosters do (the shared scenarios are in tests/test_runs_worker.py)."""

from __future__ import annotations

from tests.factories_rosters import at
from tests.factories_shifts import create_shift
from tests.worker_kit import JobQueueSpy, a_week, proposal_counts, start_week
from workers import tasks


async def test_a_new_shift_after_the_plan_was_written_makes_a_new_version(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        org, _, _ = await a_week(conn)
        first = await start_week(conn, JobQueueSpy(redis), org)
    assert (await tasks.run_roster({"pool": pool, "solver_pool": solver_pool}, first.id))["outcome"] == "written"
    async with pool.acquire() as conn:
        # Nothing changed but the plan now being the current plan: the same run.
        again = await start_week(conn, JobQueueSpy(redis), org)
        assert again.id == first.id and again.status == "succeeded"
        # Once something changes (a new shift), a new version that keeps the plan where it can.
        await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(4, 9), headcount=1)
        fourth = await start_week(conn, JobQueueSpy(redis), org)
        assert fourth.id != first.id and fourth.inputs_version == 2


async def test_a_run_whose_inputs_changed_before_the_worker_came_fails_and_writes_nothing(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        org, shifts, _ = await a_week(conn)
        run = await start_week(conn, JobQueueSpy(redis), org)
        await conn.execute("UPDATE shifts SET headcount = 3 WHERE id = $1", shifts[0])
    outcome = await tasks.run_roster({"pool": pool, "solver_pool": solver_pool}, run.id)
    assert outcome["outcome"] == "inputs changed"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", run.id) == "failed"
        assert await proposal_counts(conn) == (0, 0)
