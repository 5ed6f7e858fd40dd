"""Eligibility follows what an organisation registered: a tender outside its service categories, or a lot whose
needs lie outside its areas, is refused with the reason in Chinese; the bidder sees each bid's result from the
award (中标 / 未中标 / 已撤回 / 评审中)."""

from __future__ import annotations

import datetime as dt

from api.services import eligibility
from tests.factories import create_account, create_org, username_of
from tests.factories_awards import create_bid, create_lot, create_tender
from tests.factories_contracts import create_award
from tests.factories_tendering import create_district, create_need, tender_body
from tests.helpers import bearer, login
from tests.pages_kit import page_context


async def _register(conn, org_id: int, *, items: list[int], areas: list[int]) -> None:
    for item in items:
        await conn.execute("INSERT INTO organisation_categories VALUES ($1, $2)", org_id, item)
    for area in areas:
        await conn.execute("INSERT INTO organisation_areas VALUES ($1, $2)", org_id, area)


async def _tender_with_two_lots(client, conn):
    """A tender of the district's catalogue item: lot 1 holds a need of committee A, lot 2 one of committee B."""
    d = await create_district(conn)
    need_a = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    need_b = await create_need(conn, d.other_committee_id, d.item_id, d.other_committee_account)
    body = tender_body(d.item_code, [need_a])
    second = {**body["lots"][0], "title": "第二标段", "need_ids": [need_b]}
    body["lots"] = [body["lots"][0], second]
    funder = await bearer(client, await username_of(conn, d.funder_account))
    response = await client.post("/api/tenders", json=body, headers=funder)
    assert response.status_code == 201, response.text
    return d, response.json()


async def test_a_tender_outside_the_organisations_categories_or_areas_is_refused_with_reasons(client, conn):
    d, tender = await _tender_with_two_lots(client, conn)
    item_id = d.item_id
    other_item = d.personal_item_id
    area_a = await conn.fetchval("SELECT area_id FROM committees WHERE id = $1", d.committee_id)
    wrong = await create_org(conn, serves=False)
    await _register(conn, wrong, items=[other_item], areas=[area_a])
    account = await create_account(conn, "organisation", organisation_id=wrong)
    await login(client, await username_of(conn, account))
    rendered = await page_context(client, f"/tenders/{tender['id']}")
    codes = [r.code for r in rendered.context["reasons"]]
    assert codes == ["category_not_registered"]
    assert "本项目的服务类别不在贵机构登记的服务类别中" in rendered.response.text
    # Registered for the category and committee A only: lot 1 may be bid on, lot 2 not, and the API agrees.
    await _register(conn, wrong, items=[item_id], areas=[])
    rendered = await page_context(client, f"/tenders/{tender['id']}")
    lot1, lot2 = (lot["id"] for lot in tender["lots"])
    assert rendered.context["reasons"] == []
    assert rendered.context["lot_reasons"][lot1] == [] and [r.code for r in rendered.context["lot_reasons"][lot2]] == [
        "lot_outside_areas"
    ]
    assert "本标段的需求不在贵机构登记的服务区域内" in rendered.response.text
    client.cookies.clear()
    headers = await bearer(client, await username_of(conn, account))
    bid = {"price_fen": 15_000_000, "hours": 1200, "plan": "助餐配送", "team": "社工3名"}
    refused = await client.post("/api/bids", json={**bid, "lot_id": lot2}, headers=headers)
    assert refused.status_code == 403 and "eligibility.lot_outside_areas" in refused.text
    placed = await client.post("/api/bids", json={**bid, "lot_id": lot1}, headers=headers)
    assert placed.status_code == 201, placed.text


def test_an_area_covers_the_committees_under_it():
    org = eligibility.OrgFacts("verified", 4, None, dt.date(2015, 1, 1), category_ids=[7], area_ids=[2])
    areas = {1: [[30, 2, 1]], 2: [[31, 3, 1]]}
    rules = eligibility.TenderRules(None, False, 0, 0, catalogue_item_id=7, lot_need_areas=areas)
    assert eligibility.lot_reasons(org, rules, 1) == [] and eligibility.lot_reasons(org, rules, 2)
    assert eligibility.reasons(org, rules, today=dt.date(2026, 1, 1)) == []
    nowhere = eligibility.OrgFacts("verified", 4, None, registered_on=org.registered_on, category_ids=[7], area_ids=[])
    codes = [r.code for r in eligibility.reasons(nowhere, rules, today=org.registered_on)]
    assert codes == ["no_lot_in_areas"]


async def test_our_bids_show_what_became_of_each_bid_from_the_awards(client, conn):
    ours, rival = await create_org(conn), await create_org(conn)
    tender = await create_tender(conn, status="notice")
    lots = [await create_lot(conn, tender, n) for n in (1, 2, 3, 4)]
    won, _lost, withdrawn, _pending = [await create_bid(conn, lot, ours) for lot in lots]
    rivals = [await create_bid(conn, lot, rival, price_fen=7_000_000) for lot in lots]
    await create_award(conn, lots[0], won, ours, 8_000_000, tender)
    await create_award(conn, lots[1], rivals[1], rival, 7_000_000, tender)
    await create_award(conn, lots[3], rivals[3], rival, 7_000_000, tender, status="proposed")
    await conn.execute("UPDATE bids SET status = 'withdrawn' WHERE id = $1", withdrawn)
    account = await create_account(conn, "organisation", organisation_id=ours)
    await login(client, await username_of(conn, account))
    rendered = await page_context(client, "/bids")
    result = {b.lot_id: b.result for b in rendered.context["bids"]}
    # A proposed award is not told to bidders before the notice: that lot is still under review for them.
    assert result == {lots[0]: "won", lots[1]: "lost", lots[2]: "withdrawn", lots[3]: "in_review"}
    page = rendered.response.text
    assert "中标" in page and "未中标" in page and "已撤回" in page and "评审中" in page
