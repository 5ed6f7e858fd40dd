"""311 teams runs through the worker: what only teams do (the shared scenarios are in tests/test_runs_worker.py)."""

from __future__ import annotations

import dataclasses

from api.services import runs, teams
from tests.worker_kit import JobQueueSpy, project_with_carers, project_with_live_teams, start_project, team_counts
from workers import tasks
from workers.main import WorkerSettings


async def test_a_refusal_while_the_run_solves_makes_the_run_fail_rather_than_undo_it(pool, redis, solver_pool):
    project = await project_with_live_teams(pool, redis, solver_pool)
    async with pool.acquire() as conn:
        rerun = await start_project(conn, JobQueueSpy(redis), project)
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


async def test_a_delivery_that_loads_after_another_wrote_the_run_reports_it_finished(pool, redis, solver_pool):
    ctx = {"pool": pool, "solver_pool": solver_pool}
    async with pool.acquire() as conn:
        # The first run: the teams it writes are the next run's previous plan, so writing them moves the inputs.
        rerun = await start_project(conn, JobQueueSpy(redis), await project_with_carers(conn))

    async def load_after_the_other_delivery(conn, contract_id):
        # The other delivery solves and writes between this one's look at the run and its load of the inputs.
        assert await tasks.run_teams(ctx, rerun.id) == {"run_id": rerun.id, "outcome": "written"}
        return await teams.RUNS.load(conn, contract_id)

    late = dataclasses.replace(teams.RUNS, load=load_after_the_other_delivery)
    outcome = await runs.execute(pool, rerun.id, late, executor=solver_pool, time_cap_s=5)
    # The written plan moved the inputs, but the run is not failed for it: it stands, written once.
    assert outcome == {"run_id": rerun.id, "outcome": "already finished"}
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", rerun.id) == "succeeded"


async def test_the_daily_job_plans_every_live_teams_visits(pool, redis, solver_pool):
    await project_with_live_teams(pool, redis, solver_pool)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM team_visits")
    assert await tasks.plan_team_visits({"pool": pool}) == {"teams": 3}
    async with pool.acquire() as conn:
        assert await team_counts(conn) == (3, 9, 3 * teams.PLAN_WEEKS, 3)
    assert any(getattr(job, "coroutine", None) is tasks.plan_team_visits for job in WorkerSettings.cron_jobs)
