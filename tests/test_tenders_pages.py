"""Tender and bid pages: a funder opens a tender in yuan, an organisation sees why it may or may not bid,
bids through the form, gets its receipt, revises and withdraws; the funder sees bids only after the deadline."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_account, create_org, username_of
from tests.factories_tendering import close_bidding, create_district, create_need
from tests.helpers import login, parse_page, post_form


def tender_form(item_code: str, need_id: int, **overrides):
    close = (dt.datetime.now() + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "title": "助餐服务采购", "catalogue_code": item_code, "bids_close_at": close, "min_rating": "3",
        "rating_must_be_valid": "on", "min_years_registered": "2", "price_weight_pct": "30",
        "criterion1_name": "服务方案", "criterion1_weight": "50", "criterion2_name": "团队", "criterion2_weight": "20",
        "max_lots_per_bidder": "1", "lot1_title": "第一标段", "lot1_budget_yuan": "200,000.50",
        "lot1_staff_hours": "1500", "lot1_contract_months": "12", "lot1_needs": [str(need_id)],
    }  # fmt: skip
    data.update(overrides)
    return data


async def test_funder_opens_a_tender_through_the_form(client, conn):
    d = await create_district(conn)
    need_id = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="老人助餐")
    await login(client, await username_of(conn, d.funder_account))
    form = await client.get("/tenders/new")
    assert form.status_code == 200 and "老人助餐" in form.text
    worse = tender_form(d.item_code, need_id, price_weight_pct="5", criterion1_weight="75")
    bad = await post_form(client, "/tenders/new", worse, page="/tenders/new")
    assert bad.status_code == 422 and "price_weight_pct" in parse_page(bad.text).errors
    bad = await post_form(client, "/tenders/new", tender_form(d.item_code, need_id, lot1_budget_yuan="-5"),
                          page="/tenders/new")  # fmt: skip
    assert bad.status_code == 422 and "lot1_budget_yuan" in parse_page(bad.text).errors
    bad = await post_form(client, "/tenders/new", tender_form(d.item_code, need_id, lot1_contract_months="24"),
                          page="/tenders/new")  # fmt: skip
    assert bad.status_code == 422 and "lot1_reason" in parse_page(bad.text).errors
    response = await post_form(client, "/tenders/new", tender_form(d.item_code, need_id), page="/tenders/new")
    assert response.status_code in (302, 303), response.text
    tender_id = int(response.headers["location"].split("/")[2].split("?")[0])
    assert await conn.fetchval("SELECT budget_fen FROM lots WHERE tender_id = $1", tender_id) == 20_000_050
    close = await conn.fetchval("SELECT bids_close_at FROM tenders WHERE id = $1", tender_id)
    assert close.utcoffset() is not None
    page = await client.get(f"/tenders/{tender_id}")
    assert "老人助餐" in page.text and "助餐服务采购" in page.text
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", need_id) == "in_tender"


async def test_organisation_bids_revises_and_withdraws_through_the_pages(client, conn):
    d = await create_district(conn)
    need_id = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    await login(client, await username_of(conn, d.funder_account))
    response = await post_form(client, "/tenders/new", tender_form(d.item_code, need_id), page="/tenders/new")
    tender_id = int(response.headers["location"].split("/")[2].split("?")[0])
    lot_id = await conn.fetchval("SELECT id FROM lots WHERE tender_id = $1", tender_id)
    await client.post("/logout", data={"_csrf_token": parse_page((await client.get("/home")).text).inputs.get(
        "_csrf_token", "")})  # fmt: skip
    client.cookies.clear()

    young = await create_org(conn, registered_on=dt.date.today() - dt.timedelta(days=100))
    await login(client, await username_of(conn, await create_account(conn, "organisation", organisation_id=young)))
    listed = await client.get("/tenders")
    assert "助餐服务采购" in listed.text and "registered for long enough" not in listed.text
    assert "注册时间不足" in listed.text
    client.cookies.clear()

    await login(client, await username_of(conn, await create_account(conn, "organisation")))
    listed = await client.get("/tenders")
    assert "可以投标" in listed.text
    path = f"/tenders/{tender_id}/lots/{lot_id}/bid"
    base = {"price_yuan": "150000", "hours": "1200", "plan": "每周五天助餐", "team": "社工3名"}
    over = await post_form(client, path, {**base, "price_yuan": "300000"})
    assert over.status_code == 422 and "price_yuan" in parse_page(over.text).errors
    response = await post_form(client, path, base)
    assert response.status_code in (302, 303), response.text
    bid_path = response.headers["location"].split("?")[0]
    first = await conn.fetchval("SELECT receipt FROM bids WHERE organisation_id = (SELECT organisation_id FROM"
                                " memberships m JOIN accounts a ON a.id = m.account_id WHERE a.id = (SELECT max(id)"
                                " FROM accounts WHERE role = 'organisation'))")  # fmt: skip
    page = await client.get(bid_path)
    assert first in page.text
    revised = await post_form(client, f"{bid_path}/revise", {**base, "price_yuan": "140000.00"}, page=bid_path)
    assert revised.status_code in (302, 303)
    page = await client.get(bid_path)
    assert first not in page.text.split("<code>")[1] and "140,000.00" in page.text
    assert f'href="{bid_path}/withdraw"' in page.text  # the button asks first
    asked = await client.get(f"{bid_path}/withdraw")
    assert asked.status_code == 200 and "确定撤回投标吗" in asked.text and "不能恢复" in asked.text
    withdrawn = await post_form(client, f"{bid_path}/withdraw", {}, page=f"{bid_path}/withdraw")
    assert withdrawn.status_code in (302, 303)
    shown = (await client.get(withdrawn.headers["location"])).text
    assert "投标已撤回" in shown and "已保存" not in shown
    assert "已撤回" in (await client.get(bid_path)).text
    mine = await client.get("/bids")
    assert mine.status_code == 200 and "助餐服务采购" in mine.text


async def test_funder_sees_the_bids_on_the_tender_page_only_after_the_deadline(client, conn):
    d = await create_district(conn)
    need_id = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    org = await create_org(conn, name="星光社工服务社")
    await login(client, await username_of(conn, await create_account(conn, "organisation", organisation_id=org)))
    client.cookies.clear()
    await login(client, await username_of(conn, d.funder_account))
    response = await post_form(client, "/tenders/new", tender_form(d.item_code, need_id), page="/tenders/new")
    tender_id = int(response.headers["location"].split("/")[2].split("?")[0])
    lot_id = await conn.fetchval("SELECT id FROM lots WHERE tender_id = $1", tender_id)
    client.cookies.clear()
    await login(client, await username_of(conn, await create_account(conn, "organisation", organisation_id=org)))
    base = {"price_yuan": "123456.78", "hours": "1200", "plan": "方案"}
    assert (await post_form(client, f"/tenders/{tender_id}/lots/{lot_id}/bid", base)).status_code in (302, 303)
    client.cookies.clear()
    await login(client, await username_of(conn, d.funder_account))
    before = await client.get(f"/tenders/{tender_id}")
    assert "星光社工服务社" not in before.text and "123,456.78" not in before.text
    await close_bidding(conn, tender_id)
    after = await client.get(f"/tenders/{tender_id}")
    assert "星光社工服务社" in after.text and "123,456.78" in after.text
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender_id) == "review"
