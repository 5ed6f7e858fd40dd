"""Portfolio runs over the API: who may score and start them, 409 before the deadline, reasons for left-out ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from api.services import grants, runs
from tests import factories
from tests import factories_grants as fg
from tests.conftest import SharedConnectionPool
from tests.helpers import bearer


async def run_now(conn, run_id: int) -> dict:
    """What the worker does, in-process on the test's connection (the worker tests cover arq and processes)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return await runs.execute(SharedConnectionPool(conn), run_id, grants.RUNS, executor=executor, time_cap_s=5)


async def contested_call(conn):
    call, (pool1, pool2), _ = await fg.create_call(conn, pools=[10_000_000, 5_000_000], max_grants_per_org=1)
    a, b, c, d = [await factories.create_org(conn, name=n) for n in ("甲社工", "乙社工", "丙社工", "丁社工")]
    proposals = {
        "a1": await fg.create_proposal(conn, call, pool1, a, 6_000_000, None),
        "a2": await fg.create_proposal(conn, call, pool2, a, 3_000_000, 85),
        "b1": await fg.create_proposal(conn, call, pool1, b, 5_000_000, 70),
        "c2": await fg.create_proposal(conn, call, pool2, c, 4_000_000, 60),
        "d1": await fg.create_proposal(conn, call, pool1, d, 12_000_000, 99),
    }
    return call, proposals


async def test_the_run_funds_within_the_limits_and_says_why_each_proposal_was_left_out(client, conn):
    call, p = await contested_call(conn)
    foundation = await bearer(client, await fg.funder_account(conn, call))
    unscored = await client.post(f"/api/grants/calls/{call}/runs", headers=foundation)
    assert unscored.status_code == 409 and "评分" in unscored.json()["detail"]
    scored = await client.put(f"/api/grants/proposals/{p['a1']}/score", json={"score": 90}, headers=foundation)
    assert scored.status_code == 200, scored.text
    assert {x["score"] for x in scored.json()} == {90, 85, 70, 60, 99}
    bad = await client.put(f"/api/grants/proposals/{p['a1']}/score", json={"score": 101}, headers=foundation)
    assert bad.status_code == 400
    started = await client.post(f"/api/grants/calls/{call}/runs", headers=foundation)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert (await run_now(conn, run_id))["outcome"] == "written"
    assert (await run_now(conn, run_id))["outcome"] == "already succeeded"
    view = (await client.get(f"/api/grants/runs/{run_id}", headers=foundation)).json()
    result = view["run"]["result"]
    assert view["run"]["status"] == "succeeded" and result["status"] == "optimal"
    assert {g["proposal"] for g in view["grants"]} == {p["a2"], p["b1"]}
    assert sum(g["amount_fen"] for g in view["grants"]) == 8_000_000
    left = {x["proposal"]: x for x in result["left_out"]}
    assert set(left) == {p["a1"], p["c2"], p["d1"]}
    # d1 asks for more than its pool holds; c2 does not fit pool 2 beside a2, which scores more.
    assert left[p["d1"]]["reason"] == "ineligible"
    assert [x["kind"] for x in left[p["d1"]]["limits"]] == ["pool_budget"]
    assert left[p["c2"]]["reason"] == "outscored"
    assert [x["kind"] for x in left[p["c2"]]["limits"]] == ["pool_budget"]
    assert [x["proposal"] for x in left[p["c2"]]["displaced"]] == [p["a2"]]
    # a1 meets both the one-grant-per-organisation limit (a2) and pool 1's budget (b1).
    assert {x["kind"] for x in left[p["a1"]]["limits"]} == {"pool_budget", "per_org_limit"}
    funded = {x["proposal"]: x for x in result["funded"]}
    assert funded[p["b1"]]["reasons"]["score"] == 70 and funded[p["b1"]]["reasons"]["rank_in_pool"] >= 1


async def test_other_foundations_get_404_wrong_roles_403_and_anonymous_401(client, conn):
    call, p = await contested_call(conn)
    other_funder = await factories.create_funder(conn, kind="community_foundation")
    other = await bearer(
        client,
        await factories.username_of(conn, await factories.create_account(conn, "funder", funder_id=other_funder)),
    )
    org = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, "volunteer")))
    routes = [
        ("POST", f"/api/grants/calls/{call}/runs", None),
        ("GET", f"/api/grants/calls/{call}/runs", None),
        ("GET", f"/api/grants/calls/{call}/proposals", None),
        ("PUT", f"/api/grants/proposals/{p['a1']}/score", {"score": 50}),
    ]
    for method, path, body in routes:
        assert (await client.request(method, path, json=body)).status_code == 401, path
        assert (await client.request(method, path, json=body, headers=org)).status_code == 403, path
        assert (await client.request(method, path, json=body, headers=other)).status_code == 404, path
    foundation = await bearer(client, await fg.funder_account(conn, call))
    await client.put(f"/api/grants/proposals/{p['a1']}/score", json={"score": 50}, headers=foundation)
    run_id = (await client.post(f"/api/grants/calls/{call}/runs", headers=foundation)).json()["id"]
    assert (await client.get(f"/api/grants/runs/{run_id}", headers=other)).status_code == 404
    assert (await client.get(f"/api/grants/runs/{run_id}", headers=org)).status_code == 403
    assert (await client.get(f"/api/grants/runs/{run_id}")).status_code == 401


async def test_before_the_deadline_a_run_cannot_start_and_proposals_stay_sealed(client, conn):
    call, (pool1,), _ = await fg.create_call(conn, pools=[10_000_000], closed=False)
    proposal = await fg.create_proposal(conn, call, pool1, await factories.create_org(conn), 1_000_000, None)
    foundation = await bearer(client, await fg.funder_account(conn, call))
    early = await client.post(f"/api/grants/calls/{call}/runs", headers=foundation)
    assert early.status_code == 409 and early.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/grants/calls/{call}/proposals", headers=foundation)).status_code == 409
    score = await client.put(f"/api/grants/proposals/{proposal}/score", json={"score": 80}, headers=foundation)
    assert score.status_code == 404
    assert await conn.fetchval("SELECT count(*) FROM match_runs") == 0
