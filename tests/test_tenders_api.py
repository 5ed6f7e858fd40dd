"""Tenders through the API: a funder opens one over open needs of its area; bad tenders get clear problems."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_account, create_area, create_committee, username_of
from tests.factories_tendering import create_district, create_need, tender_body
from tests.helpers import bearer


async def _headers(client, conn, account_id):
    return await bearer(client, await username_of(conn, account_id))


def _fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


async def test_funder_opens_a_tender_and_its_needs_move_into_it(client, conn):
    d = await create_district(conn)
    a = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    b = await create_need(conn, d.other_committee_id, d.item_id, d.other_committee_account)
    headers = await _headers(client, conn, d.funder_account)
    body = tender_body(d.item_code, [a])
    body["lots"].append({**body["lots"][0], "title": "第二标段", "need_ids": [b], "budget_fen": 15_000_000})
    response = await client.post("/api/tenders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    tender = response.json()
    assert tender["status"] == "open" and tender["total_budget_fen"] == 35_000_000
    assert [lot["need_ids"] for lot in tender["lots"]] == [[a], [b]]
    assert tender["criteria"] == [{"name": "服务方案", "weight": 50}, {"name": "团队经验", "weight": 20}]
    assert {r["status"] for r in await conn.fetch("SELECT status FROM needs WHERE id = ANY($1)", [a, b])} == {
        "in_tender"
    }
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'tender.open' AND object_id = $1", str(tender["id"])
        )
        == 1
    )
    mine = (await client.get("/api/tenders", params={"mine": "true"}, headers=headers)).json()
    assert [t["id"] for t in mine["items"]] == [tender["id"]]
    # A need already in a tender cannot go into another.
    again = await client.post("/api/tenders", json=tender_body(d.item_code, [a]), headers=headers)
    assert again.status_code == 422 and _fields(again) == {"lots[0].need_ids"}
    assert await conn.fetchval("SELECT count(*) FROM tenders WHERE funder_id = $1", d.funder_id) == 1
    cancelled = await client.post(f"/api/tenders/{tender['id']}/cancel", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", a) == "open"


async def test_needs_outside_the_funders_area_or_of_another_item_are_refused(client, conn):
    d = await create_district(conn)
    far_committee = await create_committee(conn, await create_area(conn, "committee"))
    far = await create_need(conn, far_committee, d.item_id, d.committee_account)
    other_item = await create_need(conn, d.committee_id, d.personal_item_id, d.committee_account)
    headers = await _headers(client, conn, d.funder_account)
    for need_id in (far, other_item):
        response = await client.post("/api/tenders", json=tender_body(d.item_code, [need_id]), headers=headers)
        assert response.status_code == 422 and _fields(response) == {"lots[0].need_ids"}
    assert await conn.fetchval("SELECT count(*) FROM tenders WHERE funder_id = $1", d.funder_id) == 0
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", far) == "open"


async def test_bad_tenders_get_clear_problems(client, conn):
    d = await create_district(conn)
    headers = await _headers(client, conn, d.funder_account)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    lot = tender_body(d.item_code)["lots"][0]
    cases = [
        (tender_body(d.item_code, price_weight_pct=5, criteria=[{"name": "方案", "weight": 95}]), "price_weight_pct"),
        (tender_body(d.item_code, bids_close_at=past), "bids_close_at"),
        (tender_body(d.item_code, lots=[]), "lots"),
        (tender_body(d.item_code, catalogue_code=None), "catalogue_code"),
        (tender_body("no_such_item"), "catalogue_code"),
        (tender_body(d.item_code, lots=[{**lot, "contract_months": 24}]), "lots[0].long_contract_reason"),
        (tender_body(d.item_code, lots=[{**lot, "contract_months": 48, "long_contract_reason": "持续"}]),
         "lots[0].contract_months"),
        (tender_body(d.item_code, lots=[{**lot, "budget_fen": -500}]), "lots[0].budget_fen"),
        (tender_body(d.item_code, lots=[{**lot, "budget_fen": 0}]), "lots[0].budget_fen"),
        (tender_body(d.item_code, lots=[{**lot, "budget_fen": 10**15}]), "lots[0].budget_fen"),
        (tender_body(d.item_code, lots=[{**lot, "staff_hours": -1}]), "lots[0].staff_hours"),
        (tender_body(d.item_code, criteria=[{"name": "方案", "weight": 60}]), "criteria"),
        (tender_body(d.item_code, max_lots_per_bidder=3), "max_lots_per_bidder"),
    ]  # fmt: skip
    for body, field in cases:
        response = await client.post("/api/tenders", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in _fields(response), (field, response.json())
        assert response.json()["detail"]
    naive = tender_body(d.item_code, bids_close_at=(dt.datetime.now() + dt.timedelta(days=3)).isoformat())
    response = await client.post("/api/tenders", json=naive, headers=headers)
    assert response.status_code == 400 and "bids_close_at" in response.text
    # A 24-month continuous service with its reason is within the default 36 months.
    long_ok = tender_body(d.item_code, lots=[{**lot, "contract_months": 24, "long_contract_reason": "持续性服务"}])
    assert (await client.post("/api/tenders", json=long_ok, headers=headers)).status_code == 201
    # The minimum price weight is the funder's setting.
    await conn.execute("UPDATE funder_rules SET min_price_weight_pct = 40 WHERE funder_id = $1", d.funder_id)
    response = await client.post("/api/tenders", json=tender_body(d.item_code), headers=headers)
    assert response.status_code == 422 and _fields(response) == {"price_weight_pct"}


async def test_only_funders_open_or_cancel_tenders(client, conn):
    d = await create_district(conn)
    funder = await _headers(client, conn, d.funder_account)
    tender_id = (await client.post("/api/tenders", json=tender_body(d.item_code), headers=funder)).json()["id"]
    for role in ("committee", "organisation", "volunteer", "reviewer", "admin"):
        headers = await _headers(client, conn, await create_account(conn, role))
        assert (await client.post("/api/tenders", json=tender_body(d.item_code), headers=headers)).status_code == 403
        assert (await client.post(f"/api/tenders/{tender_id}/cancel", headers=headers)).status_code == 403
    other_funder = await _headers(client, conn, await create_account(conn, "funder"))
    assert (await client.post(f"/api/tenders/{tender_id}/cancel", headers=other_funder)).status_code == 404
    assert (await client.post("/api/tenders/999999999/cancel", headers=other_funder)).status_code == 404
    assert (await client.post("/api/tenders", json=tender_body(d.item_code))).status_code == 401
    assert (await client.get(f"/api/tenders/{tender_id}")).status_code == 401
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender_id) == "open"
