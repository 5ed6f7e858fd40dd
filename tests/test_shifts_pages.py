"""Shift pages in Chinese: the list, the 报名 button, refusals with their reason, my shifts, publishing."""

from __future__ import annotations

import datetime as dt
import re

from tests import factories
from tests.factories_shifts import create_shift, soon
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context


async def _volunteer(client, conn, **profile):
    account_id = await factories.create_account(conn, "volunteer")
    for column, value in profile.items():
        await conn.execute(f"UPDATE volunteers SET {column} = $2 WHERE account_id = $1", account_id, value)
    await login(client, await factories.username_of(conn, account_id))
    return await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)


async def test_a_volunteer_signs_up_through_the_pages(client, conn):
    await _volunteer(client, conn)
    shift_id = await create_shift(conn, headcount=2, title="社区助餐送餐")
    listing = await client.get("/shifts")
    assert listing.status_code == 200
    assert "服务班次" in listing.text and "社区助餐送餐" in listing.text and "剩余名额 2 / 2" in listing.text
    page = await client.get(f"/shifts/{shift_id}")
    assert f'action="/shifts/{shift_id}/signup"' in page.text and "报名" in page.text
    response = await post_form(client, f"/shifts/{shift_id}/signup", {}, page=f"/shifts/{shift_id}")
    assert response.status_code in (302, 303), response.text
    shown = await client.get(response.headers["location"])
    assert "报名成功" in shown.text and "剩余名额 1 / 2" in shown.text and "取消报名" in shown.text
    assert f'href="/attendance/shifts/{shift_id}"' in shown.text and "签到 / 签退" in shown.text
    mine = await client.get("/shifts/mine")
    assert "社区助餐送餐" in mine.text and "已报名" in mine.text


async def test_a_refusal_is_shown_on_the_shift_page_with_its_reason(client, conn):
    volunteer_id = await _volunteer(client, conn)
    starts = soon(6)
    held = await create_shift(conn, starts_at=starts, hours=3)
    overlapping = await create_shift(conn, starts_at=starts + dt.timedelta(hours=1))
    await conn.execute(
        "INSERT INTO signups (shift_id, volunteer_id, status, during)"
        " SELECT id, $2, 'active', tstzrange(starts_at, ends_at) FROM shifts WHERE id = $1",
        held,
        volunteer_id,
    )
    await conn.execute("UPDATE shifts SET taken = 1 WHERE id = $1", held)
    response = await post_form(client, f"/shifts/{overlapping}/signup", {}, page=f"/shifts/{overlapping}")
    assert response.status_code == 409
    assert "请先取消那个安排" in response.text


async def test_an_ineligible_volunteer_sees_why_instead_of_the_button(client, conn):
    await _volunteer(client, conn)
    shift_id = await create_shift(conn, required_skills=["first_aid"])
    page = await client.get(f"/shifts/{shift_id}")
    assert "您不具备此班次要求的全部技能" in page.text
    assert f'action="/shifts/{shift_id}/signup"' not in page.text


async def test_a_full_shift_offers_the_waitlist_on_its_page(client, conn):
    await _volunteer(client, conn)
    shift_id = await create_shift(conn, headcount=1, taken=1)
    page = await client.get(f"/shifts/{shift_id}")
    assert f'action="/shifts/{shift_id}/waitlist"' in page.text
    response = await post_form(client, f"/shifts/{shift_id}/waitlist", {}, page=f"/shifts/{shift_id}")
    assert response.status_code in (302, 303)
    shown = await client.get(response.headers["location"])
    assert "候补中" in shown.text and "退出候补" in shown.text


async def test_a_committee_publishes_a_shift_through_the_form(client, conn):
    account_id = await factories.create_account(conn, "committee")
    await login(client, await factories.username_of(conn, account_id))
    assert (await client.get("/shifts/new")).status_code == 200
    starts = soon(7).replace(tzinfo=None)
    data = {
        "title": "重阳节敬老活动",
        "place_name": "居委会活动室",
        "lat": "31.2834",
        "lon": "121.5262",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "headcount": "4",
        "required_skills": "first_aid，elderly_care",
        "cancellation_window_hours": "24",
        "min_age": "0",
    }
    response = await post_form(client, "/shifts/new", data)
    assert response.status_code == 422
    assert parse_page(response.text).errors["ends_at"] == "结束时间必须晚于开始时间"
    data["ends_at"] = (starts + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = await post_form(client, "/shifts/new", data)
    assert response.status_code in (302, 303), response.text
    shift = await conn.fetchrow("SELECT * FROM shifts WHERE title = '重阳节敬老活动'")
    assert shift["required_skills"] == ["elderly_care", "first_aid"]
    # The form's time is Beijing time.
    assert shift["starts_at"].astimezone(dt.timezone(dt.timedelta(hours=8))).hour == starts.hour
    published = await client.get("/shifts", follow_redirects=True)
    assert published.status_code == 200 and "重阳节敬老活动" in published.text


async def test_a_volunteer_cancels_through_the_page(client, conn):
    await _volunteer(client, conn)
    shift_id = await create_shift(conn, headcount=3, title="垃圾分类督导")
    await post_form(client, f"/shifts/{shift_id}/signup", {}, page=f"/shifts/{shift_id}")
    held = await client.get(f"/shifts/{shift_id}")
    assert f'href="/shifts/{shift_id}/cancel"' in held.text  # the button asks first
    asked = await page_context(client, f"/shifts/{shift_id}/cancel")
    assert asked.template == "confirm/shift_cancel.html"
    assert asked.context["late"] is False and asked.context["waiting"] is False
    assert "确定取消报名吗" in asked.response.text and "临时取消" not in asked.response.text
    response = await post_form(client, f"/shifts/{shift_id}/cancel", {}, page=f"/shifts/{shift_id}/cancel")
    assert response.status_code in (302, 303)
    shown = await client.get(response.headers["location"])
    assert "您的报名已取消" in shown.text and "剩余名额 3 / 3" in shown.text
    assert f'action="/shifts/{shift_id}/signup"' in shown.text
    mine = await client.get("/shifts/mine")
    assert "垃圾分类督导" in mine.text and "已取消" in mine.text


async def test_the_publisher_reaches_check_in_and_hours_from_the_shift_page_and_others_do_not(client, conn):
    org_account = await factories.create_account(conn, "organisation")
    org_id = await conn.fetchval("SELECT organisation_id FROM memberships WHERE account_id = $1", org_account)
    shift_id = await create_shift(conn, organisation_id=org_id)
    await login(client, await factories.username_of(conn, org_account))
    page = await client.get(f"/shifts/{shift_id}")
    assert page.status_code == 200 and f'href="/attendance/shifts/{shift_id}/manage"' in page.text
    other = await create_shift(conn)
    assert "/manage" not in (await client.get(f"/shifts/{other}")).text


async def test_the_list_is_given_each_shift_with_the_reasons_that_block_this_volunteer(client, conn):
    await _volunteer(client, conn)
    free = await create_shift(conn, starts_at=soon(5))
    skilled = await create_shift(conn, starts_at=soon(2), required_skills=["first_aid"])
    insured = await create_shift(conn, starts_at=soon(3), insurance_required=True, required_skills=["first_aid"])
    rendered = await page_context(client, "/shifts")
    assert rendered.template == "shifts/list.html"
    blocking = rendered["blocking"]
    by_id = {item.shift.id: blocking(item.reasons) for item in rendered["items"]}
    assert by_id == {free: [], skilled: ["skills"], insured: ["skills", "insurance"]}
    # The one the volunteer may take comes first, although it starts last.
    assert rendered["items"][0].shift.id == free
    only = await page_context(client, "/shifts?eligible=true")
    assert [item.shift.id for item in only["items"]] == [free] and only["eligible"] is True
    detail = await page_context(client, f"/shifts/{insured}")
    assert detail.template == "shifts/detail.html"
    assert detail["shift"].id == insured and detail["blocking"] == ["skills", "insurance"]
    assert detail["view"].my_status is None and detail["refusal"] is None


async def test_my_shifts_are_given_the_volunteers_own_sign_ups_and_their_status(client, conn):
    volunteer_id = await _volunteer(client, conn)
    taken = await create_shift(conn, headcount=2, taken=1)
    await create_shift(conn)  # open, not mine
    await conn.execute(
        "INSERT INTO signups (shift_id, volunteer_id, status, during)"
        " SELECT id, $2, 'active', tstzrange(starts_at, ends_at) FROM shifts WHERE id = $1",
        taken,
        volunteer_id,
    )
    mine = await page_context(client, "/shifts/mine")
    assert [(item.shift.id, item.my_status) for item in mine["items"]] == [(taken, "active")]
    detail = await page_context(client, f"/shifts/{taken}")
    assert detail["view"].my_status == "active" and detail["shift"].taken == 1


async def test_cancelling_inside_the_window_warns_before_it_is_recorded_as_late(client, conn):
    await _volunteer(client, conn)
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=5)
    shift_id = await create_shift(conn, starts_at=starts, title="助老理发")  # free cancellation ends 24 h before
    await post_form(client, f"/shifts/{shift_id}/signup", {}, page=f"/shifts/{shift_id}")
    asked = await page_context(client, f"/shifts/{shift_id}/cancel")
    assert asked.context["late"] is True
    assert asked.context["free_until"] == asked.context["shift"].starts_at - dt.timedelta(hours=24)
    assert "距开始已不足 24 小时" in asked.response.text and "临时取消" in asked.response.text
    # The times are to the minute, and a range within one day says its date once.
    assert not re.search(r"\d:\d\d:\d\d", asked.response.text)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    same_day = starts.astimezone(shanghai).date() == (starts + dt.timedelta(hours=2)).astimezone(shanghai).date()
    end = r"\d{2}:\d{2}" if same_day else r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}"
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} – " + end + "</dd>", asked.response.text)
    response = await post_form(client, f"/shifts/{shift_id}/cancel", {}, page=f"/shifts/{shift_id}/cancel")
    assert response.headers["location"].endswith("done=late_cancelled")


async def test_the_cancel_question_is_only_for_someone_holding_or_waiting(client, conn):
    await _volunteer(client, conn)
    shift_id = await create_shift(conn)
    response = await client.get(f"/shifts/{shift_id}/cancel", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"] == f"/shifts/{shift_id}"
