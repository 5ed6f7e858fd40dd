"""Award runs over the API: who may start and read them, the result's reasons for winners and losers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from api.services import awards, runs
from tests import factories
from tests import factories_awards as fa
from tests.conftest import SharedConnectionPool
from tests.helpers import bearer


async def run_now(conn, run_id: int) -> dict:
    """What the worker does, in-process on the test's connection (the worker tests cover arq and processes)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return await runs.execute(SharedConnectionPool(conn), run_id, awards.RUNS, executor=executor, time_cap_s=5)


async def contested_tender(conn):
    """Two lots, one lot per bidder: a strong bidder on both, rivals on each, a conflicted and an over-budget bid."""
    tender = await fa.create_tender(conn, max_lots_per_bidder=1)
    lot1 = await fa.create_lot(conn, tender, 1, budget_fen=10_000_000)
    lot2 = await fa.create_lot(conn, tender, 2, budget_fen=10_000_000)
    strong = await factories.create_org(conn, name="强社工中心")
    bids = {
        "strong1": await fa.create_bid(conn, lot1, strong, price_fen=8_000_000),
        "strong2": await fa.create_bid(conn, lot2, strong, price_fen=8_000_000),
        "rival1": await fa.create_bid(conn, lot1, await factories.create_org(conn, name="甲"), price_fen=9_000_000),
        "rival2": await fa.create_bid(conn, lot2, await factories.create_org(conn, name="乙"), price_fen=8_500_000),
        "weak2": await fa.create_bid(conn, lot2, await factories.create_org(conn, name="丙"), price_fen=9_900_000),
        "conflicted": await fa.create_bid(conn, lot1, price_fen=7_000_000, conflict=True),
    }
    quality = {"strong1": 95, "strong2": 60, "rival1": 70, "rival2": 80, "weak2": 40, "conflicted": 99}
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)
    for name, bid in bids.items():
        await fa.score(conn, bid, reviewer, quality[name])
    return tender, bids


async def test_the_run_writes_winners_with_reasons_and_says_why_each_loser_lost(client, conn):
    tender, bids = await contested_tender(conn)
    funder = await bearer(client, await fa.funder_account(conn, tender))
    started = await client.post(f"/api/awards/tenders/{tender}/runs", headers=funder)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.json()["status"] == "queued" and started.json()["inputs_version"] == 1
    assert (await run_now(conn, run_id))["outcome"] == "written"
    view = (await client.get(f"/api/awards/runs/{run_id}", headers=funder)).json()
    run = view["run"]
    assert run["status"] == "succeeded" and run["result"]["status"] == "optimal"
    pid = {name: await fa.public_id(conn, b) for name, b in bids.items()}
    won = {a["bid"] for a in view["awards"]}
    # strong1 (95) beats rival1; on lot 2 strong is out by the one-lot limit, so rival2 (80) wins.
    assert won == {pid["strong1"], pid["rival2"]}
    lot2 = next(e for e in run["result"]["lots"] if e["number"] == 2)
    assert lot2["winner_bid"] == pid["rival2"]
    assert lot2["reasons"]["rank"] == 1 and lot2["reasons"]["eligible_bids"] == 3
    lot1 = next(e for e in run["result"]["lots"] if e["number"] == 1)
    assert lot1["reasons"]["rank"] == 1 and lot1["reasons"]["score"] > 0
    assert lot1["reasons"]["price_score"] + lot1["reasons"]["quality_score"] == lot1["reasons"]["score"]
    losers = {b["bid"]: b for b in run["result"]["bids"] if b["outcome"] == "lost"}
    assert losers[pid["conflicted"]]["reason"] == "conflict_of_interest"
    assert losers[pid["rival1"]]["reason"] == "outscored"
    assert losers[pid["rival1"]]["beaten_by"]["organisation_name"] == "强社工中心"
    assert losers[pid["weak2"]]["reason"] == "outscored"
    assert losers[pid["strong2"]]["reason"] in ("blocked", "outscored")
    if losers[pid["strong2"]]["reason"] == "blocked":
        assert losers[pid["strong2"]]["by"][0]["kind"] == "max_lots"
    # The rows: proposed awards, lots awarded, tender awarded, audited.
    assert await conn.fetchval("SELECT count(*) FROM awards WHERE status = 'proposed'") == 2
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender) == "awarded"
    actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["award_run.start", "award_run.succeed"]
    progress = (await client.get(f"/api/awards/runs/{run_id}/progress", headers=funder)).json()
    assert progress["finished"] is True and progress["objective"] == run["objective"]


async def test_a_lot_limit_that_binds_is_named_in_the_winners_reasons(client, conn):
    tender = await fa.create_tender(conn, max_lots_per_bidder=1)
    lot1 = await fa.create_lot(conn, tender, 1)
    lot2 = await fa.create_lot(conn, tender, 2)
    strong = await factories.create_org(conn)
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)
    for lot, quality_strong, quality_rival in ((lot1, 99, 50), (lot2, 90, 60)):
        await fa.score(conn, await fa.create_bid(conn, lot, strong), reviewer, quality_strong)
        await fa.score(conn, await fa.create_bid(conn, lot), reviewer, quality_rival)
    funder = await bearer(client, await fa.funder_account(conn, tender))
    run_id = (await client.post(f"/api/awards/tenders/{tender}/runs", headers=funder)).json()["id"]
    await run_now(conn, run_id)
    result = (await client.get(f"/api/awards/runs/{run_id}", headers=funder)).json()["run"]["result"]
    passed = [e for e in result["lots"] if e["reasons"]["rank"] > 1]
    assert len(passed) == 1
    assert passed[0]["reasons"]["binding"][0]["kind"] == "max_lots"
    assert passed[0]["reasons"]["passed_over"][0]["blocked_by"][0]["kind"] == "max_lots"


async def test_an_unreviewed_tender_cannot_start_a_run(client, conn):
    tender = await fa.create_tender(conn)
    lot = await fa.create_lot(conn, tender)
    await fa.create_bid(conn, lot)
    await fa.assign(conn, tender, await fa.create_reviewer(conn))
    funder = await bearer(client, await fa.funder_account(conn, tender))
    response = await client.post(f"/api/awards/tenders/{tender}/runs", headers=funder)
    assert response.status_code == 409 and response.headers["content-type"] == "application/problem+json"
    assert await conn.fetchval("SELECT count(*) FROM match_runs") == 0


async def test_a_single_bidder_lot_found_unnecessary_is_left_unawarded(client, conn):
    tender = await fa.create_tender(conn)
    lot = await fa.create_lot(conn, tender)
    bid = await fa.create_bid(conn, lot)
    r1, r2 = await fa.create_reviewer(conn), await fa.create_reviewer(conn)
    await fa.assign(conn, tender, r1, r2)
    await fa.score(conn, bid, r1, 90, necessary=True, feasible=True)
    await fa.score(conn, bid, r2, 90, necessary=False, feasible=True)
    funder = await bearer(client, await fa.funder_account(conn, tender))
    run_id = (await client.post(f"/api/awards/tenders/{tender}/runs", headers=funder)).json()["id"]
    await run_now(conn, run_id)
    result = (await client.get(f"/api/awards/runs/{run_id}", headers=funder)).json()["run"]["result"]
    assert result["lots"][0]["winner_bid"] is None
    assert result["bids"][0]["reason"] == "single_bidder_rejected"
    assert await conn.fetchval("SELECT status FROM lots WHERE id = $1", lot) == "unawarded"


async def test_runs_are_the_funders_own(client, conn):
    tender, _ = await contested_tender(conn)
    owner = await bearer(client, await fa.funder_account(conn, tender))
    run_id = (await client.post(f"/api/awards/tenders/{tender}/runs", headers=owner)).json()["id"]
    await run_now(conn, run_id)
    other_funder = await bearer(
        client, await factories.username_of(conn, await factories.create_account(conn, "funder"))
    )
    paths = [f"/api/awards/runs/{run_id}", f"/api/awards/runs/{run_id}/progress", f"/api/awards/tenders/{tender}/runs"]
    for path in paths:
        assert (await client.get(path, headers=other_funder)).status_code == 404
        assert (await client.get(path)).status_code == 401
    for action in ("runs", "publish"):
        assert (await client.post(f"/api/awards/tenders/{tender}/{action}", headers=other_funder)).status_code == 404
    for role in ("organisation", "reviewer", "committee", "volunteer", "admin"):
        h = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, role)))
        for path in paths:
            response = await client.get(path, headers=h)
            assert response.status_code == 403 and "result" not in response.text
        assert (await client.post(f"/api/awards/tenders/{tender}/runs", headers=h)).status_code == 403
    assert (await client.get("/api/awards/runs/999999", headers=owner)).status_code == 404
    assert (await client.get("/api/awards/runs/abc", headers=owner)).status_code in (400, 404)
    assert await conn.fetchval("SELECT count(*) FROM match_runs") == 1
