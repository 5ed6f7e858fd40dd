"""Shift pages in Chinese for publishers and volunteers: a weekly shift from the publish form (errors beside the
fields, including a missing end date), its page and skipping a date; the 'shifts that suit me' filter and the new
reasons on the list."""

from __future__ import annotations

import datetime as dt

from api.services.types import SHANGHAI
from tests import factories
from tests.factories_shifts import create_shift, soon
from tests.helpers import login, parse_page, post_form


async def _login(client, conn, role: str):
    account_id = await factories.create_account(conn, role)
    await login(client, await factories.username_of(conn, account_id))
    return account_id


def _monday() -> dt.date:
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    return day + dt.timedelta(days=(1 - day.isoweekday()) % 7)


def _form(**overrides):
    monday = _monday()
    form = {
        "title": "每周助餐",
        "place_name": "延吉睦邻点",
        "lat": "31.28",
        "lon": "121.53",
        "starts_at": f"{monday.isoformat()}T10:00",
        "ends_at": f"{monday.isoformat()}T12:00",
        "headcount": "2",
        "min_age": "0",
        "cancellation_window_hours": "24",
        "required_certificates": ["health"],
        "repeat": "on",
        "weekdays": ["1", "5"],
        "until": (monday + dt.timedelta(days=13)).isoformat(),
        "exceptions": (monday + dt.timedelta(days=4)).isoformat(),
    }
    form.update(overrides)
    return form


async def test_a_committee_publishes_a_weekly_shift_and_skips_a_date(client, conn):
    await _login(client, conn, "committee")
    page = await client.get("/shifts/new")
    assert page.status_code == 200 and "每周重复" in page.text and "健康证" in page.text
    missing_end = await post_form(client, "/shifts/new", _form(until=""), page="/shifts/new")
    assert missing_end.status_code == 422
    assert "周期性班次必须有结束日期" in parse_page(missing_end.text).errors.get("until", "")
    response = await post_form(client, "/shifts/new", _form(), page="/shifts/new")
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    series_id = int(location.split("/")[3].split("?")[0])
    rows = await conn.fetch("SELECT starts_at FROM shifts WHERE series_id = $1 ORDER BY starts_at", series_id)
    monday = _monday()
    # Mondays and Fridays for two weeks, less the first Friday, at 10:00 Beijing time.
    assert [r["starts_at"].astimezone(SHANGHAI) for r in rows] == [
        dt.datetime.combine(monday + dt.timedelta(days=d), dt.time(10), SHANGHAI) for d in (0, 7, 11)
    ]
    shown = await client.get(location)
    assert "周期性班次已发布" in shown.text and "每逢周一、周五" in shown.text
    response = await post_form(client, f"/shifts/series/{series_id}/skip", {"date": monday.isoformat()}, page=location)
    assert response.status_code in (302, 303), response.text
    assert (
        await conn.fetchval("SELECT count(*) FROM shifts WHERE series_id = $1 AND status = 'cancelled'", series_id) == 1
    )
    published = await client.get("/shifts/published")
    assert "每周助餐" in published.text and f"/shifts/series/{series_id}" in published.text


async def test_a_one_off_shift_still_publishes_with_certificates_and_the_minors_rule(client, conn):
    await _login(client, conn, "organisation")
    one_off = _form(repeat="", weekdays=[], until="", exceptions="", minors_in_groups_only="on")
    response = await post_form(client, "/shifts/new", one_off, page="/shifts/new")
    assert response.status_code in (302, 303), response.text
    shift_id = int(response.headers["location"].rsplit("/", 1)[1])
    row = await conn.fetchrow(
        "SELECT series_id, required_certificates, minors_in_groups_only FROM shifts WHERE id = $1", shift_id
    )
    assert (row["series_id"], row["required_certificates"], row["minors_in_groups_only"]) == (None, ["health"], True)
    page = await client.get(f"/shifts/{shift_id}")
    assert "健康证" in page.text and "须有成年志愿者同行" in page.text


async def test_volunteers_filter_to_shifts_that_suit_them_and_see_why_not(client, conn):
    await _login(client, conn, "volunteer")
    suits = await create_shift(conn, title="适合我的班次", starts_at=soon(3, hour=9))
    certified = await create_shift(
        conn, title="需要证书的班次", starts_at=soon(3, hour=14), required_certificates=["elderly_carer"]
    )
    listing = await client.get("/shifts")
    assert "适合我的班次" in listing.text and "需要证书的班次" in listing.text
    assert "您没有此班次要求的全部证书" in listing.text
    filtered = await client.get("/shifts?eligible=true")
    assert "适合我的班次" in filtered.text and "需要证书的班次" not in filtered.text
    page = await client.get(f"/shifts/{certified}")
    assert f'action="/shifts/{certified}/signup"' not in page.text
    assert f'action="/shifts/{suits}/signup"' in (await client.get(f"/shifts/{suits}")).text


async def test_a_committee_names_one_of_its_households_by_masked_address(client, conn):
    from tests.factories_tendering import create_household

    account_id = await _login(client, conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", account_id)
    household = await create_household(conn, committee_id, address="控江路1234弄56号302室")
    page = await client.get("/shifts/new")
    assert "服务对象家庭" in page.text and f'value="{household}"' in page.text
    assert "控江路1234弄56号302室" not in page.text  # the form shows a masked address only
    one_off = _form(repeat="", weekdays=[], until="", exceptions="", household_id=str(household))
    response = await post_form(client, "/shifts/new", one_off, page="/shifts/new")
    assert response.status_code in (302, 303), response.text
    shift_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert await conn.fetchval("SELECT household_id FROM shifts WHERE id = $1", shift_id) == household
    shown = await client.get(f"/shifts/{shift_id}")
    assert "入户服务" in shown.text and "控江路1234弄56号302室" not in shown.text
