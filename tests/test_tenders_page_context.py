"""What the tender pages are given: which open tender an organisation may bid on, and the rules it fails on others."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx

from tests.factories import create_account, create_org, username_of
from tests.factories_tendering import create_district, tender_body
from tests.helpers import bearer, login
from tests.pages_kit import page_context


async def _open_tenders(client: httpx.AsyncClient, conn: asyncpg.Connection) -> tuple[int, int, int]:
    """Two open tenders of one funder: an easy one (3A, two years registered) and a hard one (5A, ten years)."""
    d = await create_district(conn)
    funder = await bearer(client, await username_of(conn, d.funder_account))
    ids = []
    for rating, years in ((3, 2), (5, 10)):
        body = tender_body(d.item_code, min_rating=rating, min_years_registered=years)
        response = await client.post("/api/tenders", json=body, headers=funder)
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["id"]))
    lot_id = int(await conn.fetchval("SELECT id FROM lots WHERE tender_id = $1", ids[1]))
    return ids[0], ids[1], lot_id


async def test_an_organisation_is_told_which_open_tender_it_may_bid_on_and_why_not_the_other(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    easy, hard, _ = await _open_tenders(client, conn)
    registered = dt.date.today() - dt.timedelta(days=5 * 365)
    org = await create_org(conn, rating=4, registered_on=registered)
    await login(client, await username_of(conn, await create_account(conn, "organisation", organisation_id=org)))
    rendered = await page_context(client, "/tenders")
    assert rendered.template == "tenders/list.html"
    assert rendered["page"] is None  # the organisation's own view, not the plain list
    by_id = {item.tender.id: item for item in rendered["for_org"].items}
    assert set(by_id) >= {easy, hard}
    assert by_id[easy].eligible and by_id[easy].reasons == []
    assert not by_id[hard].eligible
    reasons = {r.code: (r.required, r.actual) for r in by_id[hard].reasons}
    assert reasons == {"rating_too_low": ("5A", "4A"), "registered_too_recently": ("10", registered.isoformat())}
    assert rendered["pager"].total == rendered["for_org"].total


async def test_the_tender_and_bid_pages_give_the_organisation_its_reasons(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    easy, hard, hard_lot = await _open_tenders(client, conn)
    org = await create_org(conn, status="pending", rating=None, registered_on=dt.date.today() - dt.timedelta(days=1800))
    await login(client, await username_of(conn, await create_account(conn, "organisation", organisation_id=org)))
    detail = await page_context(client, f"/tenders/{hard}")
    assert detail.template == "tenders/detail.html"
    assert detail["tender"].id == hard and detail["own_bids"] == [] and detail["opened"] is None
    assert not detail["deadline_passed"]
    assert [r.code for r in detail["reasons"]] == ["not_verified", "unrated", "registered_too_recently"]
    bid_form = await page_context(client, f"/tenders/{hard}/lots/{hard_lot}/bid")
    assert bid_form.template == "bids/form.html"
    assert bid_form["lot"].id == hard_lot
    assert [r.code for r in bid_form["reasons"]] == [r.code for r in detail["reasons"]]
    # The same organisation on the easy tender: only what it lacks itself (verification and a rating).
    easy_detail = await page_context(client, f"/tenders/{easy}")
    assert [r.code for r in easy_detail["reasons"]] == ["not_verified", "unrated"]


async def test_other_roles_see_the_plain_list_without_reasons(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    easy, hard, _ = await _open_tenders(client, conn)
    funder_account = await conn.fetchval("SELECT created_by FROM tenders WHERE id = $1", easy)
    await login(client, await username_of(conn, funder_account))
    rendered = await page_context(client, "/tenders?mine=1")
    assert rendered["for_org"] is None and rendered["mine"] is True
    assert {t.id for t in rendered["page"].items} == {easy, hard}
    detail = await page_context(client, f"/tenders/{easy}")
    assert detail["reasons"] is None and detail["opened"] is None
