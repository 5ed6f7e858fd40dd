"""Roster runs through arq on the real Valkey and PostgreSQL: one set of proposals however often the job runs."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import asyncpg
import pytest
from arq.constants import in_progress_key_prefix

from api.services import rosters
from api.services.accounts import Identity
from tests.factories_rosters import at, next_monday
from tests.factories_shifts import create_shift, publisher_identity, volunteer_identity
from tests.worker_kit import HangingExecutor, JobQueueSpy, worker_for
from workers import tasks
from workers.main import WorkerSettings

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}


async def a_week(conn: asyncpg.Connection) -> tuple[Identity, list[int], list[Identity]]:
    """An organisation's three shifts next week (5 places) and four volunteers near them."""
    org = await publisher_identity(conn, "organisation")
    shifts = [
        await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(d, 9), headcount=h)
        for d, h in ((0, 2), (1, 1), (2, 2))
    ]
    volunteers = [await volunteer_identity(conn, **NEAR) for _ in range(4)]
    return org, shifts, volunteers


async def proposal_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    """(all proposals, live pairs over capacity): a double write would show in either."""
    total = await conn.fetchval("SELECT count(*) FROM roster_proposals")
    over = await conn.fetchval(
        "SELECT count(*) FROM (SELECT p.shift_id FROM roster_proposals p JOIN shifts s ON s.id = p.shift_id"
        " WHERE p.status = 'proposed' GROUP BY p.shift_id, s.headcount HAVING count(*) > s.headcount) x"
    )
    return int(total), int(over)


async def test_the_same_roster_run_enqueued_twice_and_run_twice_writes_one_plan(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        org, _, _ = await a_week(conn)
        queue = JobQueueSpy(redis)
        form = rosters.RosterStart(week_starts=next_monday())
        first = await rosters.start_run(conn, queue, org, form)
        second = await rosters.start_run(conn, queue, org, form)  # the double click
    assert first.id == second.id and first.model == "roster" and first.subject_type == "roster"
    assert [c[0] for c in queue.calls] == ["run_roster"] * 2
    assert [c[2] for c in queue.calls] == [f"match-run-{first.id}"] * 2
    assert queue.jobs[0] is not None and queue.jobs[1] is None  # arq refused the duplicate job id
    await worker_for(redis, pool, solver_pool).main()
    assert await queue.jobs[0].result(timeout=20) == {"run_id": first.id, "outcome": "written"}
    async with pool.acquire() as conn:
        run = await conn.fetchrow("SELECT status, attempts, result FROM match_runs WHERE id = $1", first.id)
        assert run["status"] == "succeeded" and run["attempts"] == 1
        assert await proposal_counts(conn) == (5, 0)
        # A redelivery run by hand writes nothing more.
        again = await tasks.run_roster({"pool": pool, "solver_pool": solver_pool}, first.id)
        assert again["outcome"] == "already succeeded"
        assert await proposal_counts(conn) == (5, 0)
        assert await conn.fetchval("SELECT count(*) FROM match_runs") == 1
        # Started again after it finished, with nothing changed but the plan now being the current plan: the same run.
        third = await rosters.start_run(conn, JobQueueSpy(redis), org, rosters.RosterStart(week_starts=next_monday()))
        assert third.id == first.id and third.status == "succeeded"
        # Once something changes (a new shift), a new version that keeps the plan where it can.
        await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(4, 9), headcount=1)
        fourth = await rosters.start_run(conn, JobQueueSpy(redis), org, rosters.RosterStart(week_starts=next_monday()))
        assert fourth.id != first.id and fourth.inputs_version == 2


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_worker_killed_mid_solve_and_started_again_writes_one_plan(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        org, _, _ = await a_week(conn)
        run = await rosters.start_run(conn, JobQueueSpy(redis), org, rosters.RosterStart(week_starts=next_monday()))
    hanging = HangingExecutor()
    killed = worker_for(redis, pool, hanging)
    main = asyncio.create_task(killed.main())
    await asyncio.wait_for(hanging.started.wait(), timeout=10)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", run.id) == "running"
    # Kill it: the poll loop and the job both stop where they are, as when the process dies.
    doomed = [main, *killed.tasks.values(), *killed.job_tasks.values()]
    for task in doomed:
        task.cancel()
    for task in doomed:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    del killed, main, doomed, task
    gc.collect()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM roster_proposals") == 0
    # The dead worker's lease on the job expires; a new worker picks the same job up.
    await redis.delete(in_progress_key_prefix + rosters.job_id(run.id))
    await worker_for(redis, pool, solver_pool).main()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, attempts FROM match_runs WHERE id = $1", run.id)
        assert row["status"] == "succeeded" and row["attempts"] == 2
        assert await proposal_counts(conn) == (5, 0)
        await tasks.run_roster({"pool": pool, "solver_pool": solver_pool}, run.id)
        assert await proposal_counts(conn) == (5, 0)


async def test_two_deliveries_racing_write_one_plan(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        org, _, _ = await a_week(conn)
        run = await rosters.start_run(conn, JobQueueSpy(redis), org, rosters.RosterStart(week_starts=next_monday()))
    ctx = {"pool": pool, "solver_pool": solver_pool}
    outcomes = await asyncio.gather(tasks.run_roster(ctx, run.id), tasks.run_roster(ctx, run.id))
    assert sorted(o["outcome"] for o in outcomes)[1] == "written"
    # The loser finds the run finished, loses the write, or loads the inputs after the winner wrote its plan (the
    # plan is part of the next run's inputs) and stops there: in every case it writes nothing.
    assert sorted(o["outcome"] for o in outcomes)[0] in (
        "already finished",
        "already written",
        "already succeeded",
        "inputs changed",
    )
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", run.id) == "succeeded"
        assert await proposal_counts(conn) == (5, 0)
        progress = await conn.fetchval("SELECT jsonb_array_length(progress) FROM match_runs WHERE id = $1", run.id)
        assert progress >= 1  # best value and bound came back from the child process


async def test_a_run_whose_inputs_changed_before_the_worker_came_fails_and_writes_nothing(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        org, shifts, _ = await a_week(conn)
        run = await rosters.start_run(conn, JobQueueSpy(redis), org, rosters.RosterStart(week_starts=next_monday()))
        await conn.execute("UPDATE shifts SET headcount = 3 WHERE id = $1", shifts[0])
    outcome = await tasks.run_roster({"pool": pool, "solver_pool": solver_pool}, run.id)
    assert outcome["outcome"] == "inputs changed"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", run.id) == "failed"
        assert await conn.fetchval("SELECT count(*) FROM roster_proposals") == 0


def test_the_roster_task_is_registered_with_the_worker():
    assert tasks.run_roster in WorkerSettings.functions
