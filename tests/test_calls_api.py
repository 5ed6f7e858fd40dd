"""Foundation calls through the API: pools, grant range, proposals per organisation, area quotas; proposals
are sealed like bids until the deadline and opened once."""

from __future__ import annotations

import datetime as dt
import json

from api.services import calls as calls_service
from tests.factories import create_account, create_funder, username_of
from tests.factories_tendering import create_district
from tests.helpers import bearer

CANARY = 4_567_891


async def _foundation(client, conn):
    d = await create_district(conn)
    funder_id = await create_funder(conn, kind="community_foundation", area_id=d.district_id)
    account = await create_account(conn, "funder", funder_id=funder_id)
    return d, await bearer(client, await username_of(conn, account))


def call_body(subdistrict_id: int, **overrides):
    close = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    body = {
        "title": "2027年公益创投",
        "proposals_close_at": close.isoformat(),
        "pools": [{"area_of_giving": "为老服务", "budget_fen": 50_000_000},
                  {"area_of_giving": "青少年", "budget_fen": 30_000_000}],
        "quotas": [{"area_id": subdistrict_id, "min_grants": 1, "max_grants": 5}],
    }  # fmt: skip
    body.update(overrides)
    return body


async def test_foundation_opens_a_call_and_bad_calls_get_clear_problems(client, conn):
    d, foundation = await _foundation(client, conn)
    response = await client.post("/api/calls", json=call_body(d.subdistrict_id), headers=foundation)
    assert response.status_code == 201, response.text
    call = response.json()
    assert (call["grant_min_fen"], call["grant_max_fen"], call["max_proposals_per_org"]) == (1_000_000, 10_000_000, 2)
    assert [p["area_of_giving"] for p in call["pools"]] == ["为老服务", "青少年"]
    assert call["quotas"][0]["area_id"] == d.subdistrict_id
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    cases = [
        (call_body(d.subdistrict_id, proposals_close_at=past), "proposals_close_at"),
        (call_body(d.subdistrict_id, pools=[]), "pools"),
        (call_body(d.subdistrict_id, grant_min_fen=-5), "grant_min_fen"),
        (call_body(d.subdistrict_id, grant_min_fen=5_000_000, grant_max_fen=1_000_000), "grant_max_fen"),
        (call_body(d.subdistrict_id, pools=[{"area_of_giving": "x", "budget_fen": 10**16}]), "pools[0].budget_fen"),
        (call_body(d.subdistrict_id, max_proposals_per_org=0), "max_proposals_per_org"),
    ]
    for body, field in cases:
        response = await client.post("/api/calls", json=body, headers=foundation)
        assert response.status_code == 422, (field, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}
    # A sub-district office is not a foundation, and other roles may not open calls.
    office = await bearer(client, await username_of(conn, d.funder_account))
    assert (await client.post("/api/calls", json=call_body(d.subdistrict_id), headers=office)).status_code == 403
    org = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    assert (await client.post("/api/calls", json=call_body(d.subdistrict_id), headers=org)).status_code == 403
    assert (await client.post("/api/calls", json=call_body(d.subdistrict_id))).status_code == 401


async def test_proposals_are_limited_sealed_and_opened_once(client, conn):
    d, foundation = await _foundation(client, conn)
    call = (await client.post("/api/calls", json=call_body(d.subdistrict_id, max_proposals_per_org=1),
                              headers=foundation)).json()  # fmt: skip
    pool = call["pools"][0]["id"]
    org_a = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    org_b = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    body = {"call_id": call["id"], "pool_id": pool, "area_id": d.subdistrict_id, "title": "老年食堂",
            "plan": "CANARY-PROPOSAL", "amount_fen": CANARY}  # fmt: skip
    too_much = await client.post("/api/proposals", json={**body, "amount_fen": 20_000_000}, headers=org_a)
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "amount_fen"
    placed = await client.post("/api/proposals", json=body, headers=org_a)
    assert placed.status_code == 201, placed.text
    proposal = placed.json()
    assert len(proposal["receipt"]) == 64
    assert (await client.post("/api/proposals", json=body, headers=org_a)).status_code == 409
    revised = await client.put(f"/api/proposals/{proposal['id']}",
                               json={k: v for k, v in body.items() if k != "call_id"} | {"title": "老年食堂二期"},
                               headers=org_a)  # fmt: skip
    assert revised.status_code == 200 and revised.json()["receipt"] != proposal["receipt"]
    # Before the deadline: the foundation, another organisation and the admin learn nothing.
    admin = await bearer(client, await username_of(conn, await create_account(conn, "admin")))
    for headers in (foundation, org_b, admin):
        for path in (f"/api/proposals/{proposal['id']}", f"/api/calls/{call['id']}", "/api/calls",
                     f"/api/calls/{call['id']}/proposals", "/api/audit?limit=200", "/api/proposals"):  # fmt: skip
            response = await client.get(path, headers=headers)
            assert (
                "CANARY" not in response.text and str(CANARY) not in response.text and "45,678.91" not in response.text
            )
    early = await client.get(f"/api/calls/{call['id']}/proposals", headers=foundation)
    assert early.status_code == 409
    assert (await client.get(f"/api/proposals/{proposal['id']}", headers=foundation)).status_code == 404
    # After the deadline: opened once, the foundation reads them.
    await conn.execute(
        "UPDATE calls SET proposals_open_at = now() - interval '2 days',"
        " proposals_close_at = now() - interval '1 minute' WHERE id = $1",
        call["id"],
    )
    terms = {k: v for k, v in body.items() if k != "call_id"}
    late = await client.put(f"/api/proposals/{proposal['id']}", json=terms, headers=org_a)
    assert late.status_code == 409
    first = await calls_service.open_proposals(conn, call["id"])
    again = await calls_service.open_proposals(conn, call["id"])
    assert (first.opened, first.count, again.opened) == (True, 1, False)
    rows = await conn.fetch("SELECT detail FROM audit_log WHERE action = 'call.proposals_opened'")
    assert len(rows) == 1 and json.loads(rows[0]["detail"])["receipts"] == [revised.json()["receipt"]]
    seen = await client.get(f"/api/calls/{call['id']}/proposals", headers=foundation)
    assert seen.status_code == 200 and [p["amount_fen"] for p in seen.json()] == [CANARY]
    assert (await client.get(f"/api/proposals/{proposal['id']}", headers=org_b)).status_code == 404
