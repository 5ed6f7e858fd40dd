"""The profile pages in Chinese: details, the edit form with errors beside fields, certificates, the week grid,
exceptions, consent, and the calendar's secret address."""

from __future__ import annotations

import datetime as dt

from api.services.types import today
from tests import factories
from tests.helpers import elements, login, parse_page, post_form


async def _volunteer(client, conn):
    account_id = await factories.create_account(conn, "volunteer")
    await login(client, await factories.username_of(conn, account_id))
    return await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)


async def test_the_profile_page_shows_every_part_in_chinese(client, conn):
    await _volunteer(client, conn)
    page = await client.get("/volunteer/profile")
    assert page.status_code == 200
    for text in ("我的志愿者资料", "证书", "每周可服务时间", "敏感个人信息", "日历订阅", "周一"):
        assert text in page.text, text
    forms = {attrs.get("action") for attrs, _ in elements(page.text, "form")}
    assert {"/volunteer/profile/certificates", "/volunteer/profile/availability", "/volunteer/profile/consent"} <= forms
    feed = parse_page(page.text)
    assert any("/ical/" in value and value.endswith("/shifts.ics") for value in feed.inputs.values())


async def test_editing_details_saves_or_shows_the_error_beside_the_field(client, conn):
    volunteer_id = await _volunteer(client, conn)
    home = await conn.fetchval("SELECT home_area_id FROM volunteers WHERE id = $1", volunteer_id)
    form = {
        "display_name": "李阿姨",
        "birth_year": str(today().year - 12),
        "home_area_id": str(home),
        "travel_km": "2",
        "weekly_hour_cap": "4",
        "skills": ["cooking"],
        "languages": "普通话",
        "dialects": "上海话、宁波话",
    }
    response = await post_form(client, "/volunteer/profile/edit", form)
    assert response.status_code == 422
    errors = parse_page(response.text).errors
    assert "guardian_consent" in errors and "监护人" in errors["guardian_consent"]
    response = await post_form(
        client, "/volunteer/profile/edit", {**form, "guardian_consent": "on", "guardian_name": "李大明"}
    )
    assert response.status_code in (302, 303), response.text
    row = await conn.fetchrow(
        "SELECT dialects, guardian_name, weekly_hour_cap FROM volunteers WHERE id = $1", volunteer_id
    )
    assert (row["dialects"], row["guardian_name"], row["weekly_hour_cap"]) == (["上海话", "宁波话"], "李大明", 4)
    shown = await client.get(response.headers["location"])
    assert "资料已保存" in shown.text and "李大明" in shown.text


async def test_certificates_week_and_exceptions_through_the_pages(client, conn):
    volunteer_id = await _volunteer(client, conn)
    page = "/volunteer/profile"
    expires = (today() + dt.timedelta(days=365)).isoformat()
    response = await post_form(
        client,
        "/volunteer/profile/certificates",
        {"kind": "elderly_carer", "number": "YL-001", "issued_on": "", "expires_on": expires},
        page=page,
    )
    assert response.status_code in (302, 303), response.text
    shown = await client.get(page)
    assert "养老护理员职业技能等级证书" in shown.text and "YL-001" in shown.text
    response = await post_form(
        client,
        "/volunteer/profile/availability",
        {"w2_0_starts": "09:00", "w2_0_ends": "11:30", "w6_0_starts": "14:00", "w6_0_ends": "17:00"},
        page=page,
    )
    assert response.status_code in (302, 303), response.text
    rows = await conn.fetch(
        "SELECT weekday, starts, ends FROM volunteer_availability WHERE volunteer_id = $1 ORDER BY weekday",
        volunteer_id,
    )
    assert [(r["weekday"], r["starts"], r["ends"]) for r in rows] == [
        (2, dt.time(9), dt.time(11, 30)),
        (6, dt.time(14), dt.time(17)),
    ]
    shown = await client.get(page)
    assert 'value="11:30"' in shown.text
    overlap = {"w3_0_starts": "09:00", "w3_0_ends": "12:00", "w3_1_starts": "11:00", "w3_1_ends": "13:00"}
    response = await post_form(client, "/volunteer/profile/availability", overlap, page=page)
    assert response.status_code == 422 and "同一天的时段不能重叠" in response.text
    assert await conn.fetchval("SELECT count(*) FROM volunteer_availability WHERE volunteer_id = $1", volunteer_id) == 2
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    away = {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "available": "no",
    }
    response = await post_form(client, "/volunteer/profile/exceptions", away, page=page)
    assert response.status_code in (302, 303), response.text
    stored = await conn.fetchval(
        "SELECT lower(during) FROM availability_exceptions WHERE volunteer_id = $1", volunteer_id
    )
    assert stored == start.replace(second=0, microsecond=0)  # typed as Beijing time


async def test_consent_and_a_new_calendar_address(client, conn):
    volunteer_id = await _volunteer(client, conn)
    before = parse_page((await client.get("/volunteer/profile")).text)
    old = next(v for v in before.inputs.values() if "/ical/" in v)
    response = await post_form(
        client, "/volunteer/profile/consent", {"sensitive_data": "on"}, page="/volunteer/profile"
    )
    assert response.status_code in (302, 303)
    assert await conn.fetchval(
        "SELECT sensitive_data_consent_at IS NOT NULL FROM volunteers WHERE id = $1", volunteer_id
    )
    response = await post_form(client, "/volunteer/profile/calendar/renew", {}, page="/volunteer/profile")
    assert response.status_code in (302, 303)
    after = parse_page((await client.get("/volunteer/profile")).text)
    new = next(v for v in after.inputs.values() if "/ical/" in v)
    assert new != old
