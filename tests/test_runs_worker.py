"""Every model's optimiser runs through arq on the real Valkey and PostgreSQL: one result however often the job is
enqueued, delivered or killed (the scenarios are the same for every model; tests/worker_kit.py has the models)."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest
from arq.constants import in_progress_key_prefix

from api.services import runs
from tests.worker_kit import CASES, Case, HangingExecutor, JobQueueSpy, worker_for
from workers import tasks
from workers.main import WorkerSettings

each_model = pytest.mark.parametrize("case", CASES, ids=str)


async def match_run(pool, run_id: int):
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT status, attempts, error FROM match_runs WHERE id = $1", run_id)


@each_model
async def test_the_same_run_enqueued_twice_and_run_twice_writes_one_result(case: Case, pool, redis, solver_pool):
    async with pool.acquire() as conn:
        world = await case.arrange(conn)
        queue = JobQueueSpy(redis)
        first = await world.start(conn, queue)
        second = await world.start(conn, queue)  # the double click
        assert await world.written(conn) == case.empty
    assert first.id == second.id and first.model == case.kind.model and first.subject_type == case.kind.subject
    assert [c[0] for c in queue.calls] == [case.kind.job_name] * 2
    assert [c[2] for c in queue.calls] == [f"match-run-{first.id}"] * 2
    assert queue.jobs[0] is not None and queue.jobs[1] is None  # arq refused the duplicate job id
    await worker_for(redis, pool, solver_pool).main()
    assert await queue.jobs[0].result(timeout=20) == {"run_id": first.id, "outcome": "written"}
    row = await match_run(pool, first.id)
    assert row["status"] == "succeeded" and row["attempts"] == 1
    async with pool.acquire() as conn:
        assert await world.written(conn) == case.full
        # Running the task again by hand (a redelivery) writes nothing more.
        again = await case.task({"pool": pool, "solver_pool": solver_pool}, first.id)
        assert again == {"run_id": first.id, "outcome": "already succeeded"}
        assert await world.written(conn) == case.full
        assert await conn.fetchval("SELECT count(*) FROM match_runs WHERE model = $1", case.kind.model) == 1
        third = await world.start(conn, JobQueueSpy(redis))  # started again after it finished
    if case.same_run_after_finish:
        assert third.id == first.id and third.status == "succeeded"
    else:
        assert third.id != first.id and third.inputs_version == 2


# Killing the worker mid-job leaves its Redis pipeline unclosed, exactly as a dead process would; the warning that
# object raises when it is collected is the simulated crash, not a leak of the code under test.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@each_model
async def test_a_worker_killed_mid_solve_and_started_again_writes_one_result(case: Case, pool, redis, solver_pool):
    async with pool.acquire() as conn:
        world = await case.arrange(conn)
        run = await world.start(conn, JobQueueSpy(redis))
    hanging = HangingExecutor()
    killed = worker_for(redis, pool, hanging)
    main = asyncio.create_task(killed.main())
    await asyncio.wait_for(hanging.started.wait(), timeout=10)
    assert (await match_run(pool, run.id))["status"] == "running"
    # Kill it: the poll loop and the job both stop where they are, as when the process dies.
    doomed = [main, *killed.tasks.values(), *killed.job_tasks.values()]
    for task in doomed:
        task.cancel()
    for task in doomed:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # Collect the dead worker's objects now, inside this test, rather than during some later one.
    del killed, main, doomed, task
    gc.collect()
    async with pool.acquire() as conn:
        assert await world.written(conn) == case.empty
    # The dead worker's lease on the job expires; a new worker picks the same job up.
    await redis.delete(in_progress_key_prefix + runs.job_id(run.id))
    await worker_for(redis, pool, solver_pool).main()
    row = await match_run(pool, run.id)
    assert row["status"] == "succeeded" and row["attempts"] == 2
    async with pool.acquire() as conn:
        assert await world.written(conn) == case.full
        # And the task run once more by hand still writes nothing.
        await case.task({"pool": pool, "solver_pool": solver_pool}, run.id)
        assert await world.written(conn) == case.full


@each_model
async def test_two_deliveries_racing_write_one_result(case: Case, pool, redis, solver_pool):
    async with pool.acquire() as conn:
        world = await case.arrange(conn)
        run = await world.start(conn, JobQueueSpy(redis))
    ctx = {"pool": pool, "solver_pool": solver_pool}
    outcomes = sorted(o["outcome"] for o in await asyncio.gather(case.task(ctx, run.id), case.task(ctx, run.id)))
    # The second delivery loses the race to write, or finds the run finished or succeeded when it looks.
    row = await match_run(pool, run.id)
    assert outcomes[1] == "written" and outcomes[0] in case.race_losers, (outcomes, dict(row))
    assert row["status"] == "succeeded"
    async with pool.acquire() as conn:
        assert await world.written(conn) == case.full
        progress = await conn.fetchval("SELECT jsonb_array_length(progress) FROM match_runs WHERE id = $1", run.id)
        assert progress >= 1  # best value and bound came back from the child process


@each_model
def test_the_task_is_registered_with_the_worker_under_the_job_name(case: Case):
    assert case.task in WorkerSettings.functions
    # arq finds a job's function by this name, and start_run enqueues the job under the kind's job name.
    assert case.task.__qualname__ == case.kind.job_name
    assert tasks.solver_time_cap(60) <= 30
