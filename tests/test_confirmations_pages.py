"""Confirming places on the pages and in the API: the confirm link without logging in, the inbox's link, cancelling
by the link (late warned), the publish form's setting, and reliability on the publisher's attendance page."""

from __future__ import annotations

import datetime as dt

from api.services import confirmations
from tests.factories_attendance import running_shift_scene
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.helpers import bearer, login, parse_page, post_form
from tests.pages_kit import page_context
from tests.test_shift_series_api import _auth, _rule


def _in(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=hours)


async def _unconfirmed(conn, starts_in: float, **shift):
    """A volunteer's place on a shift asking for confirmation 12 h before, taken before it asked; (who, token)."""
    volunteer = await volunteer_identity(conn)
    shift_id = await create_shift(conn, starts_at=_in(starts_in), title="周末助餐", **shift)
    signup_id = await add_signup(conn, shift_id, volunteer.volunteer_id or 0)
    await conn.execute("UPDATE shifts SET confirm_hours_before = 12 WHERE id = $1", shift_id)
    token = await conn.fetchval("SELECT confirm_token FROM signups WHERE id = $1", signup_id)
    return volunteer, shift_id, signup_id, token


async def test_the_confirm_link_works_without_logging_in(client, conn):
    _volunteer, _shift_id, signup_id, token = await _unconfirmed(conn, 30)
    rendered = await page_context(client, f"/confirm/{token}")
    assert rendered.template == "shifts/place.html"
    view = rendered.context["view"]
    assert (view.place.signup_id, view.can_confirm, view.can_cancel) == (signup_id, True, True)
    assert "您会来参加吗？" in rendered.response.text and "确认参加" in rendered.response.text
    assert "确认截止" in rendered.response.text and "周末助餐" in rendered.response.text

    response = await post_form(client, f"/confirm/{token}/confirm", {}, page=f"/confirm/{token}")
    assert response.status_code in (302, 303), response.text
    done = await page_context(client, response.headers["location"])
    assert done.context["done"] == "confirmed" and done.context["view"].place.confirmed_at is not None
    assert "谢谢！您的报名已确认" in done.response.text
    assert await page_context(client, "/confirm/" + "0" * 32, status=404)


async def test_cancelling_by_the_link_warns_when_late_and_keeps_the_rule(client, conn):
    _volunteer, _shift_id, signup_id, token = await _unconfirmed(conn, 10)
    ask = await page_context(client, f"/confirm/{token}/cancel")
    assert ask.context["cancelling"] and ask.context["view"].late_if_cancelled
    assert "临时取消" in ask.response.text
    response = await post_form(client, f"/confirm/{token}/cancel", {}, page=f"/confirm/{token}/cancel")
    assert response.status_code in (302, 303)
    done = await page_context(client, response.headers["location"])
    assert done.context["done"] == "late_cancelled"
    assert await conn.fetchval("SELECT status FROM signups WHERE id = $1", signup_id) == "late_cancelled"


async def test_the_inbox_links_the_ask_to_the_confirm_page(client, conn):
    volunteer, _shift_id, _signup_id, token = await _unconfirmed(conn, 30)
    assert (await confirmations.sweep(conn)).asked == 1
    await login(client, volunteer.username)
    rendered = await page_context(client, "/inbox")
    [ask] = [n for n in rendered.context["items"] if n.kind == "confirm_request"]
    assert ask.params["token"] == token
    assert f'href="/confirm/{token}"' in rendered.response.text and "请确认是否参加" in rendered.response.text


async def test_the_api_confirms_by_link_and_for_the_signed_in_volunteer(client, conn):
    _volunteer, shift_id, _signup_id, token = await _unconfirmed(conn, 30)
    shown = await client.get(f"/api/confirmations/{token}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["can_confirm"], body["status"], body["title"]) == (True, "active", "周末助餐")
    assert "account_id" not in body and "volunteer_id" not in body
    confirmed = await client.post(f"/api/confirmations/{token}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"] is not None
    assert (await client.get("/api/confirmations/" + "1" * 32)).status_code == 404
    assert (await client.get("/api/confirmations/not-a-token")).status_code in (400, 404)

    other, other_shift, _, other_token = await _unconfirmed(conn, 30)
    headers = await bearer(client, other.username)
    mine = await client.post(f"/api/shifts/{other_shift}/signups/mine/confirm", headers=headers)
    assert mine.status_code == 200 and mine.json()["confirmed_at"] is not None
    refused = await client.post(f"/api/shifts/{shift_id}/signups/mine/confirm", headers=headers)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    cancelled = await client.post(f"/api/confirmations/{other_token}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/api/confirmations/{other_token}/cancel")
    assert again.status_code == 409


async def test_the_publish_form_sets_the_cut_off_and_refuses_a_bad_one(client, conn):
    publisher = await publisher_identity(conn, "committee")
    await login(client, publisher.username)
    form = await page_context(client, "/shifts/new")
    assert "志愿者须在开始前多少小时确认参加" in form.response.text
    starts = (dt.datetime.now(dt.UTC) + dt.timedelta(days=4)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    values = {
        "title": "敬老院探访",
        "place_name": "延吉睦邻点",
        "lat": "31.28",
        "lon": "121.52",
        "starts_at": starts.strftime("%Y-%m-%dT09:00"),
        "ends_at": starts.strftime("%Y-%m-%dT11:00"),
        "headcount": "2",
        "min_age": "0",
        "cancellation_window_hours": "24",
        "confirm_hours_before": "500",
    }
    refused = await post_form(client, "/shifts/new", values, page="/shifts/new")
    assert refused.status_code == 422
    assert "confirm_hours_before" in parse_page(refused.text).errors
    response = await post_form(client, "/shifts/new", {**values, "confirm_hours_before": "12"}, page="/shifts/new")
    assert response.status_code in (302, 303), response.text
    shift_id = int(response.headers["location"].rstrip("/").split("/")[-1])
    assert await conn.fetchval("SELECT confirm_hours_before FROM shifts WHERE id = $1", shift_id) == 12
    detail = await page_context(client, f"/shifts/{shift_id}")
    assert detail.context["shift"].confirm_hours_before == 12 and "须在开始前 12 小时确认参加" in detail.response.text


async def test_the_attendance_page_shows_no_shows_and_reliability(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=200, hours=2)
    await confirmations.sweep(conn)
    await login(client, scene.publisher.username)
    rendered = await page_context(client, f"/attendance/shifts/{scene.shift_id}/manage")
    [row] = rendered.context["view"].roster
    assert (row.no_show, row.reliability, row.reliability_counted) == (True, 0.0, 1)
    assert "守约率：0%（近 1 次）" in rendered.response.text and "未到" in rendered.response.text
    assert "0%（近 1 次）" in rendered.response.text


async def test_a_weekly_rule_gives_its_cut_off_to_every_shift_and_the_api_checks_its_range(client, conn):
    headers, _row = await _auth(client, conn, "committee")
    refused = await client.post("/api/shifts/series", json=_rule(confirm_hours_before=0), headers=headers)
    assert refused.status_code == 422
    created = await client.post("/api/shifts/series", json=_rule(confirm_hours_before=24), headers=headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["confirm_hours_before"] == 24 and rule["shift_ids"]
    hours = {
        r["confirm_hours_before"]
        for r in await conn.fetch("SELECT confirm_hours_before FROM shifts WHERE series_id = $1", rule["id"])
    }
    assert hours == {24}
    shown = await client.get(f"/api/shifts/{rule['shift_ids'][0]}", headers=headers)
    assert shown.json()["confirm_hours_before"] == 24


async def test_the_shift_page_asks_its_volunteer_to_confirm_until_they_have(client, conn):
    volunteer, shift_id, _signup_id, token = await _unconfirmed(conn, 60)
    await login(client, volunteer.username)
    rendered = await page_context(client, f"/shifts/{shift_id}")
    assert rendered.context["my_place"].token == token and rendered.context["my_place"].view.can_confirm
    assert f'href="/confirm/{token}"' in rendered.response.text and "前确认参加" in rendered.response.text
    await confirmations.confirm(conn, token)
    again = await page_context(client, f"/shifts/{shift_id}")
    assert not again.context["my_place"].view.can_confirm and 'id="confirm-ask"' not in again.response.text
