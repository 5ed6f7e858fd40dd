"""While Redis is down: a run is started all the same (202, queued in the database), the pages and API calls that
need no Redis answer, /api/ready names what is down; when Redis is back the worker's sweep queues the run once."""

from __future__ import annotations

import asyncpg
from arq.constants import result_key_prefix

from api.app import job_queue
from api.dev.servers import free_port
from api.services import runs
from sql import match_runs as runs_sql
from tests.factories_rosters import at, next_monday
from tests.factories_shifts import create_shift, publisher_identity
from tests.helpers import bearer, login
from tests.worker_kit import CASES, worker_for
from workers import tasks

ROSTERS = next(case for case in CASES if case.kind.model == "roster")


def dead_queue():
    """A client of a Redis that is not there: nothing listens on its port."""
    return job_queue(f"redis://127.0.0.1:{free_port()}/0")


async def test_a_run_started_while_redis_is_down_is_accepted_and_waits_in_the_database(app, client, conn):
    org = await publisher_identity(conn, "organisation")
    await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1)
    headers = await bearer(client, org.username)
    app.state.redis = dead_queue()
    try:
        started = await client.post(
            "/api/rosters/runs", json={"week_starts": next_monday().isoformat()}, headers=headers
        )
        assert started.status_code == 202, started.text
        run = await runs_sql.get_run(conn, started.json()["id"])
        assert run is not None and run.status == "queued"
        # What needs no Redis still answers: the run itself, lists, pages (sessions and logins live in PostgreSQL).
        assert (await client.get(f"/api/rosters/runs/{run.id}", headers=headers)).status_code == 200
        assert (await client.get("/api/rosters", headers=headers)).status_code == 200
        await login(client, org.username)
        page = await client.get(f"/roster-runs/{run.id}")
        assert page.status_code == 200 and 'data-field="waiting"' in page.text
        ready = await client.get("/api/ready")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
        assert ready.headers["content-type"].startswith("application/problem+json")
        body = ready.json()
        assert body["down"] == ["redis"] and body["database"] is True and body["redis"] is False
        assert body["status"] == 503 and body["type"] == "/problems/unavailable" and "redis" in body["detail"]
    finally:
        await app.state.redis.aclose()


async def test_ready_names_the_database_when_it_does_not_answer(app, client):
    dead = await asyncpg.create_pool(f"postgresql://linli@127.0.0.1:{free_port()}/linli", min_size=0)
    app.state.pool = dead
    try:
        ready = await client.get("/api/ready")
    finally:
        await dead.close()
    assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
    assert ready.json()["down"] == ["database"] and ready.json()["redis"] is True


async def test_ready_answers_200_with_each_dependency_when_both_answer(client):
    ready = await client.get("/api/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["database"] is True and body["redis"] is True
    assert body["migrations"] > 0


async def test_the_sweep_queues_a_waiting_run_once_and_the_worker_solves_it(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        world = await ROSTERS.arrange(conn)
        queue = dead_queue()
        try:
            run = await world.start(conn, queue)
        finally:
            await queue.aclose()
        assert run.status == "queued"
        assert await redis.exists("arq:job:" + runs.job_id(run.id)) == 0  # Redis never heard of it
        assert await runs.requeue_waiting(conn, redis, tasks.RUN_KINDS) == 1
        assert await runs.requeue_waiting(conn, redis, tasks.RUN_KINDS) == 0  # its job is queued: left alone
    await worker_for(redis, pool, solver_pool).main()
    async with pool.acquire() as conn:
        assert (await runs_sql.get_run(conn, run.id)).status == "succeeded"
        assert await world.written(conn) == ROSTERS.full
        assert await runs.requeue_waiting(conn, redis, tasks.RUN_KINDS) == 0  # nothing waits any more


async def test_a_job_that_ended_without_touching_its_run_is_queued_again(pool, redis):
    async with pool.acquire() as conn:
        world = await ROSTERS.arrange(conn)
        run = await world.start(conn, redis)
        # As when the database was down while the job ran: arq kept a result, the run is still queued.
        await redis.zrem("arq:queue", runs.job_id(run.id))
        await redis.delete("arq:job:" + runs.job_id(run.id))
        await redis.set(result_key_prefix + runs.job_id(run.id), b"ended")
        assert await runs.requeue_waiting(conn, redis, tasks.RUN_KINDS) == 1
    assert await redis.exists(result_key_prefix + runs.job_id(run.id)) == 0
    assert await redis.zscore("arq:queue", runs.job_id(run.id)) is not None
