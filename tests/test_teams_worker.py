"""311 teams runs through arq on the real Valkey and PostgreSQL: one set of teams however often the job runs."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import asyncpg
import pytest
from arq.constants import in_progress_key_prefix

from api.services import runs, teams
from tests import factories_teams as ft
from tests.worker_kit import HangingExecutor, JobQueueSpy, worker_for
from workers import tasks
from workers.main import WorkerSettings

WINDOWS = ((1, "08:00", "12:00"), (3, "13:30", "17:00"))


async def project_with_carers(conn: asyncpg.Connection) -> ft.Project:
    """Three households and eight carers (three trained) within walking distance, sharing two weekly slots."""
    project = await ft.create_project(conn, households=3)
    for k in range(8):
        await ft.create_carer(conn, trained=k < 3, windows=WINDOWS, at=(ft.BASE[0] + 0.002 * (k % 4), ft.BASE[1]))
    return project


async def counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    teams_n = await conn.fetchval("SELECT count(*) FROM teams")
    members = await conn.fetchval("SELECT count(*) FROM team_members")
    visits = await conn.fetchval("SELECT count(*) FROM team_visits")
    return int(teams_n), int(members), int(visits)


async def test_the_same_teams_run_enqueued_twice_writes_one_set_of_teams(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        project = await project_with_carers(conn)
        queue = JobQueueSpy(redis)
        first = await teams.start_run(conn, queue, project.organisation(), project.contract_id)
        second = await teams.start_run(conn, queue, project.organisation(), project.contract_id)  # the double click
    assert first.id == second.id and first.model == "teams"
    assert [c[2] for c in queue.calls] == [runs.job_id(first.id)] * 2
    assert queue.jobs[0] is not None and queue.jobs[1] is None  # arq refused the duplicate job id
    await worker_for(redis, pool, solver_pool).main()
    assert await queue.jobs[0].result(timeout=10) == {"run_id": first.id, "outcome": "written"}
    async with pool.acquire() as conn:
        run = await conn.fetchrow("SELECT status, attempts, result FROM match_runs WHERE id = $1", first.id)
        assert run["status"] == "succeeded" and run["attempts"] == 1
        assert await counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS)
        # Running the task again (a redelivery) writes nothing more.
        again = await tasks.run_teams({"pool": pool, "solver_pool": solver_pool}, first.id)
        assert again["outcome"] == "already succeeded"
        assert await counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS)
        assert await conn.fetchval("SELECT count(*) FROM match_runs WHERE model = 'teams'") == 1


# Killing the worker mid-job leaves its Redis pipeline unclosed, exactly as a dead process would; the warning that
# object raises when it is collected is the simulated crash, not a leak of the code under test.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_worker_killed_mid_solve_and_started_again_writes_one_set_of_teams(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        project = await project_with_carers(conn)
        run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    hanging = HangingExecutor()
    killed = worker_for(redis, pool, hanging)
    main = asyncio.create_task(killed.main())
    await asyncio.wait_for(hanging.started.wait(), timeout=10)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", run.id) == "running"
    doomed = [main, *killed.tasks.values(), *killed.job_tasks.values()]
    for task in doomed:
        task.cancel()
    for task in doomed:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    del killed, main, doomed, task
    gc.collect()
    async with pool.acquire() as conn:
        assert await counts(conn) == (0, 0, 0)
    # The dead worker's lease on the job expires; a new worker picks the same job up.
    await redis.delete(in_progress_key_prefix + runs.job_id(run.id))
    await worker_for(redis, pool, solver_pool).main()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, attempts FROM match_runs WHERE id = $1", run.id)
        assert row["status"] == "succeeded" and row["attempts"] == 2
        assert await counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS)
        await tasks.run_teams({"pool": pool, "solver_pool": solver_pool}, run.id)
        assert await counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS)


async def test_two_deliveries_racing_write_one_set_of_teams(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        project = await project_with_carers(conn)
        run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    ctx = {"pool": pool, "solver_pool": solver_pool}
    outcomes = await asyncio.gather(tasks.run_teams(ctx, run.id), tasks.run_teams(ctx, run.id))
    assert sorted(o["outcome"] for o in outcomes)[1] == "written"
    assert sorted(o["outcome"] for o in outcomes)[0] in ("already finished", "already written", "already succeeded")
    async with pool.acquire() as conn:
        assert await counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS)
        # One live team per household and nobody twice in a team: the schema's guards agree.
        assert await conn.fetchval("SELECT count(DISTINCT household_id) FROM teams WHERE status = 'live'") == 3


async def test_a_refusal_while_the_run_solves_makes_the_run_fail_rather_than_undo_it(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        project = await project_with_carers(conn)
        run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await tasks.run_teams({"pool": pool, "solver_pool": solver_pool}, run.id)
    async with pool.acquire() as conn:
        rerun = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
        team_id, member = await conn.fetchrow(
            "SELECT t.id, m.volunteer_id FROM teams t JOIN team_members m ON m.team_id = t.id"
            " ORDER BY t.id, m.id LIMIT 1"
        )
        await teams.refuse(conn, project.organisation(), team_id, teams.RefusalCreate(volunteer_id=member))
    outcome = await tasks.run_teams({"pool": pool, "solver_pool": solver_pool}, rerun.id)
    assert outcome["outcome"] == "inputs changed"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", rerun.id) == "failed"
        assert not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM team_members WHERE team_id = $1 AND volunteer_id = $2 AND until IS NULL)",
            team_id,
            member,
        )


def test_the_teams_task_is_registered_with_the_worker():
    assert tasks.run_teams in WorkerSettings.functions


async def test_the_daily_job_plans_every_live_teams_visits(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        project = await project_with_carers(conn)
        run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await tasks.run_teams({"pool": pool, "solver_pool": solver_pool}, run.id)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM team_visits")
    assert await tasks.plan_team_visits({"pool": pool}) == {"teams": 3}
    async with pool.acquire() as conn:
        assert await counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS)
    assert any(getattr(job, "coroutine", None) is tasks.plan_team_visits for job in WorkerSettings.cron_jobs)
