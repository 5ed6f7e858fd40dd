"""Chaos on Valkey, each on a Valkey of its own: killed under `linli up` (its own Valkey, web app and worker, on a
database of its own) it is restarted and a run started while it was gone finishes; stopped and started under a
worker, the worker stays up and solves the run that waited."""

from __future__ import annotations

import asyncio

import pytest
from arq.connections import RedisSettings

from api.app import job_queue
from api.cli.chaos_valkey import measure_valkey_kill
from api.dev import servers as devservers
from sql import match_runs as runs_sql
from tests.conftest import DEMO_TEMPLATE_DB, scratch_database
from tests.conftest import _ensure_demo_template as ensure_demo_template
from tests.worker_kit import CASES
from workers.main import serve_until

pytestmark = pytest.mark.chaos

ROSTERS = next(case for case in CASES if case.kind.model == "roster")


async def test_valkey_killed_under_linli_up_is_restarted_and_a_run_started_meanwhile_finishes(servers):
    await ensure_demo_template(servers)
    async with scratch_database(servers, template=DEMO_TEMPLATE_DB) as database_url:
        with devservers.scratch_dir("linli-chaos-") as state_dir:
            result = await asyncio.to_thread(
                measure_valkey_kill,
                state_dir,
                devservers.free_port(),
                database_url=database_url,
                ready_timeout_s=120,
                env={"LINLI_SOLVER_TIME_LIMIT_S": "3"},
            )
    assert result.restart_logged
    assert result.valkey_back_after_s is not None and result.valkey_back_after_s < 15
    assert result.recovered_after_s is not None
    assert result.run_status_code == 202 and result.run_id is not None
    assert result.run_finished, result


async def run_status(pool, run_id: int) -> str:
    async with pool.acquire() as conn:
        run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    return run.status


async def test_the_worker_survives_valkey_stopped_and_started_and_solves_the_run_that_waited(pool, solver_pool):
    with devservers.scratch_dir("linli-chaos-") as base:
        valkey = devservers.start_valkey(base, durable=False)
        port = valkey.port
        stop = asyncio.Event()
        ctx = {"pool": pool, "solver_pool": solver_pool, "job_timeout_s": 30}
        worker = asyncio.create_task(
            serve_until(
                stop, ctx, redis_settings=RedisSettings.from_dsn(valkey.url), first_delay_s=0.1, max_delay_s=0.4
            )
        )
        try:
            await asyncio.sleep(0.5)
            valkey.stop()  # its data goes with it: the run below lives only in the database
            queue = job_queue(valkey.url)
            try:
                async with pool.acquire() as conn:
                    run = await (await ROSTERS.arrange(conn)).start(conn, queue)
            finally:
                await queue.aclose()
            assert run.status == "queued"
            await asyncio.sleep(1.5)
            assert not worker.done()  # through several reconnection attempts
            valkey = devservers.start_valkey(base, durable=False, port=port)
            for _ in range(300):
                if await run_status(pool, run.id) == "succeeded":
                    break
                await asyncio.sleep(0.1)
            assert await run_status(pool, run.id) == "succeeded"
            assert not worker.done()
        finally:
            stop.set()
            await asyncio.wait_for(worker, 30)
            valkey.stop()
