"""Portfolio runs through arq on the real Valkey and PostgreSQL: one set of grants however often the job runs."""

from __future__ import annotations

import asyncpg

from api.services import grants
from api.services.accounts import Identity
from tests import factories
from tests import factories_grants as fg
from tests.worker_kit import JobQueueSpy, worker_for
from workers import tasks
from workers.main import WorkerSettings


async def scored_call(conn: asyncpg.Connection) -> tuple[int, Identity, dict[str, str]]:
    """Two pools (100,000 and 50,000 yuan), one grant per organisation, five scored proposals."""
    call, (pool1, pool2), funder_id = await fg.create_call(conn, pools=[10_000_000, 5_000_000], max_grants_per_org=1)
    a, b, c, d = [await factories.create_org(conn, name=n) for n in ("甲社工", "乙社工", "丙社工", "丁社工")]
    proposals = {
        "a1": await fg.create_proposal(conn, call, pool1, a, 6_000_000, 90),
        "a2": await fg.create_proposal(conn, call, pool2, a, 3_000_000, 85),
        "b1": await fg.create_proposal(conn, call, pool1, b, 5_000_000, 70),
        "c2": await fg.create_proposal(conn, call, pool2, c, 4_000_000, 60),
        "d1": await fg.create_proposal(conn, call, pool1, d, 12_000_000, 99),
    }
    account = await conn.fetchval("SELECT created_by FROM calls WHERE id = $1", call)
    who = Identity(
        account_id=account, username="f", display_name="f", role="funder", locale="zh_CN", funder_id=funder_id
    )
    return call, who, proposals


async def test_the_same_portfolio_run_enqueued_twice_and_run_twice_writes_one_result(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        call, who, proposals = await scored_call(conn)
        queue = JobQueueSpy(redis)
        first = await grants.start_run(conn, queue, who, call)
        second = await grants.start_run(conn, queue, who, call)  # the double click
    assert first.id == second.id and first.model == "portfolio" and first.subject_type == "call"
    assert [c[2] for c in queue.calls] == [f"match-run-{first.id}"] * 2
    assert queue.jobs[0] is not None and queue.jobs[1] is None  # arq refused the duplicate job id
    await worker_for(redis, pool, solver_pool).main()
    assert await queue.jobs[0].result(timeout=10) == {"run_id": first.id, "outcome": "written"}
    async with pool.acquire() as conn:
        run = await conn.fetchrow("SELECT status, attempts, progress FROM match_runs WHERE id = $1", first.id)
        assert run["status"] == "succeeded" and run["attempts"] == 1
        funded = await conn.fetch(
            "SELECT p.public_id::text AS pid, p.pool_id, p.organisation_id, g.amount_fen FROM grants g"
            " JOIN proposals p ON p.id = g.proposal_id WHERE g.run_id = $1",
            first.id,
        )
        # a2 + b1 (155) beats a1 + c2 (150): one grant per organisation, pool 1 cannot hold a1 and b1.
        assert {r["pid"] for r in funded} == {proposals["a2"], proposals["b1"]}
        assert await conn.fetchval("SELECT status FROM calls WHERE id = $1", call) == "awarded"
        # The task run again by hand (a redelivery) writes nothing more.
        again = await tasks.run_portfolio({"pool": pool, "solver_pool": solver_pool}, first.id)
        assert again["outcome"] == "already succeeded"
        assert await conn.fetchval("SELECT count(*) FROM grants") == 2
        assert await conn.fetchval("SELECT count(*) FROM match_runs") == 1
        third = await grants.start_run(conn, JobQueueSpy(redis), who, call)  # after it finished: the same run
        assert third.id == first.id and third.status == "succeeded"


async def test_two_deliveries_racing_write_one_result_and_respect_the_limits(pool, redis, solver_pool):
    async with pool.acquire() as conn:
        call, who, _ = await scored_call(conn)
        run = await grants.start_run(conn, JobQueueSpy(redis), who, call)
    ctx = {"pool": pool, "solver_pool": solver_pool}
    outcomes = sorted(
        o["outcome"] for o in [await tasks.run_portfolio(ctx, run.id), await tasks.run_portfolio(ctx, run.id)]
    )
    assert outcomes == ["already succeeded", "written"]
    async with pool.acquire() as conn:
        over_budget = await conn.fetchval(
            "SELECT count(*) FROM (SELECT cp.id FROM grants g JOIN proposals p ON p.id = g.proposal_id"
            " JOIN call_pools cp ON cp.id = p.pool_id WHERE g.run_id = $1"
            " GROUP BY cp.id, cp.budget_fen HAVING sum(g.amount_fen) > cp.budget_fen) x",
            run.id,
        )
        over_org = await conn.fetchval(
            "SELECT count(*) FROM (SELECT organisation_id FROM grants WHERE run_id = $1"
            " GROUP BY organisation_id HAVING count(*) > 1) x",
            run.id,
        )
        assert (over_budget, over_org) == (0, 0)
        assert await conn.fetchval("SELECT count(*) FROM grants WHERE run_id = $1", run.id) == 2
        progress = await conn.fetchval("SELECT jsonb_array_length(progress) FROM match_runs WHERE id = $1", run.id)
        assert progress >= 1  # best score and bound came back from the child process


def test_the_portfolio_task_is_registered_with_the_worker():
    assert tasks.run_portfolio in WorkerSettings.functions
