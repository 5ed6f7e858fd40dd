"""Award runs through arq on the real Valkey and PostgreSQL: one result however often the job runs."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import asyncpg
import pytest
from arq.constants import in_progress_key_prefix

from api.services import awards
from api.services.accounts import Identity
from tests import factories
from tests import factories_awards as fa
from tests.worker_kit import HangingExecutor, JobQueueSpy, worker_for
from workers import tasks
from workers.main import WorkerSettings


async def two_lot_tender(conn: asyncpg.Connection) -> tuple[int, Identity, dict[str, int]]:
    """A reviewed tender: two lots, three bidders, one reviewer who scored everything, limit one lot per bidder."""
    funder_id = await factories.create_funder(conn)
    tender = await fa.create_tender(conn, funder_id, max_lots_per_bidder=1)
    lot1 = await fa.create_lot(conn, tender, 1)
    lot2 = await fa.create_lot(conn, tender, 2)
    strong = await factories.create_org(conn, name="强社工中心")
    other = await factories.create_org(conn, name="次社工中心")
    third = await factories.create_org(conn, name="三社工中心")
    bids = {
        "strong1": await fa.create_bid(conn, lot1, strong, price_fen=8_000_000),
        "strong2": await fa.create_bid(conn, lot2, strong, price_fen=8_000_000),
        "other1": await fa.create_bid(conn, lot1, other, price_fen=9_000_000),
        "third2": await fa.create_bid(conn, lot2, third, price_fen=9_500_000),
    }
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)
    for name, bid in bids.items():
        await fa.score(conn, bid, reviewer, 90 if name.startswith("strong") else 70)
    account = await factories.create_account(conn, "funder", funder_id=funder_id)
    who = Identity(
        account_id=account, username="f", display_name="f", role="funder", locale="zh_CN", funder_id=funder_id
    )
    return tender, who, bids


async def test_the_same_run_enqueued_twice_writes_one_result(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        tender, who, bids = await two_lot_tender(conn)
        queue = JobQueueSpy(redis)
        first = await awards.start_run(conn, queue, who, tender)
        second = await awards.start_run(conn, queue, who, tender)  # the double click
    assert first.id == second.id
    assert [c[2] for c in queue.calls] == [f"match-run-{first.id}"] * 2
    assert queue.jobs[0] is not None and queue.jobs[1] is None  # arq refused the duplicate job id
    await worker_for(redis, pool, solver_pool).main()
    assert await queue.jobs[0].result(timeout=10) == {"run_id": first.id, "outcome": "written"}
    async with pool.acquire() as conn:
        run = await conn.fetchrow("SELECT status, attempts, objective, bound FROM match_runs WHERE id = $1", first.id)
        assert run["status"] == "succeeded" and run["attempts"] == 1
        awarded = await conn.fetch("SELECT bid_id, lot_id FROM awards WHERE run_id = $1 ORDER BY lot_id", first.id)
        assert len(awarded) == 2
        # One lot per bidder: the strong bidder wins one lot, the other lot goes to its rival.
        assert {r["bid_id"] for r in awarded} in ({bids["strong1"], bids["third2"]}, {bids["strong2"], bids["other1"]})
        assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender) == "awarded"
        # Running the task again (a redelivery) writes nothing more.
        again = await tasks.run_award({"pool": pool, "solver_pool": solver_pool}, first.id)
        assert again["outcome"] == "already succeeded"
        assert await conn.fetchval("SELECT count(*) FROM awards") == 2
        assert await conn.fetchval("SELECT count(*) FROM match_runs") == 1
        third = await awards.start_run(conn, JobQueueSpy(redis), who, tender)  # after it finished: same run
        assert third.id == first.id and third.status == "succeeded"


# Killing the worker mid-job leaves its Redis pipeline unclosed, exactly as a dead process would; the warning that
# object raises when it is collected is the simulated crash, not a leak of the code under test.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_worker_killed_mid_solve_and_started_again_writes_one_result(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        tender, who, _ = await two_lot_tender(conn)
        run = await awards.start_run(conn, JobQueueSpy(redis), who, tender)
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
    # Collect the dead worker's objects now, inside this test, rather than during some later one.
    del killed, main, doomed, task
    gc.collect()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM awards") == 0
    # The dead worker's lease on the job expires; a new worker picks the same job up.
    await redis.delete(in_progress_key_prefix + awards.job_id(run.id))
    await worker_for(redis, pool, solver_pool).main()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, attempts FROM match_runs WHERE id = $1", run.id)
        assert row["status"] == "succeeded" and row["attempts"] == 2
        assert await conn.fetchval("SELECT count(*) FROM awards WHERE run_id = $1", run.id) == 2
        # And the task run once more by hand still writes nothing.
        await tasks.run_award({"pool": pool, "solver_pool": solver_pool}, run.id)
        assert await conn.fetchval("SELECT count(*) FROM awards") == 2


async def test_two_workers_racing_on_one_run_write_one_result(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        tender, who, _ = await two_lot_tender(conn)
        run = await awards.start_run(conn, JobQueueSpy(redis), who, tender)
    ctx = {"pool": pool, "solver_pool": solver_pool}
    outcomes = await asyncio.gather(tasks.run_award(ctx, run.id), tasks.run_award(ctx, run.id))
    # The second delivery loses the race to write, or finds the run finished or succeeded when it looks.
    assert sorted(o["outcome"] for o in outcomes)[1] == "written"
    assert sorted(o["outcome"] for o in outcomes)[0] in ("already finished", "already written", "already succeeded")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM awards") == 2
        progress = await conn.fetchval("SELECT jsonb_array_length(progress) FROM match_runs WHERE id = $1", run.id)
        assert progress >= 1  # best score and bound came back from the child process


def test_the_award_task_is_registered_with_the_worker():
    assert tasks.run_award in WorkerSettings.functions
    assert tasks.solver_time_cap(60) <= 30
