"""The iCal feed of my shifts: a secret per-volunteer address that calendar apps read without a session, Beijing
times, only shifts I hold or wait for, no elder's address, and a renewed address that retires the old one."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import icalendar

from tests import factories
from tests.factories_shifts import add_signup, create_shift, soon
from tests.factories_tendering import create_household
from tests.helpers import bearer


async def _volunteer(client, conn):
    account_id = await factories.create_account(conn, "volunteer")
    headers = await bearer(client, await factories.username_of(conn, account_id))
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)
    return headers, volunteer_id


async def _feed_path(client, headers) -> str:
    response = await client.get("/api/volunteers/me/calendar", headers=headers)
    assert response.status_code == 200, response.text
    return urlsplit(response.json()["url"]).path


async def test_the_feed_lists_my_held_and_awaited_shifts_in_beijing_time(client, conn):
    headers, volunteer_id = await _volunteer(client, conn)
    committee_id = await factories.create_committee(conn)
    household = await create_household(conn, committee_id, address="秘密路1号101室")
    held = await create_shift(
        conn, starts_at=soon(2, hour=9), title="助餐送餐", place_name="控江路睦邻点", committee_id=committee_id
    )
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", held, household)
    waiting = await create_shift(conn, starts_at=soon(4, hour=14), title="陪同就医", headcount=1, taken=1)
    dropped = await create_shift(conn, starts_at=soon(5, hour=9), title="已取消的班次")
    await add_signup(conn, held, volunteer_id)
    await add_signup(conn, waiting, volunteer_id, status="waitlisted")
    signup = await add_signup(conn, dropped, volunteer_id)
    await conn.execute("UPDATE signups SET status = 'cancelled', cancelled_at = now() WHERE id = $1", signup)
    await create_shift(conn, title="别人的班次")

    path = await _feed_path(client, headers)
    response = await client.get(path)  # no session, no token header: the address is the credential
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "秘密路" not in response.text
    calendar = icalendar.Calendar.from_ical(response.content)
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert [str(e["summary"]) for e in events] == ["助餐送餐", "（候补）陪同就医"]
    assert str(events[0]["location"]) == "控江路睦邻点"
    start = events[0].decoded("dtstart")
    assert start == soon(2, hour=9) and start.utcoffset() == dt.timedelta(hours=8)
    assert events[0]["dtstart"].params.get("TZID") == "Asia/Shanghai"
    assert str(events[0]["uid"]) == f"shift-{held}-v{volunteer_id}@linli"
    assert calendar.walk("VTIMEZONE"), "the feed carries the Asia/Shanghai time zone"
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "TENTATIVE"]
    # A shift called off under the volunteer stays in the feed, marked cancelled, so calendar apps show it so.
    await conn.execute("UPDATE shifts SET status = 'cancelled' WHERE id = $1", held)
    await conn.execute(
        "UPDATE signups SET status = 'cancelled', cancelled_at = now() WHERE shift_id = $1 AND volunteer_id = $2",
        held,
        volunteer_id,
    )
    events = icalendar.Calendar.from_ical((await client.get(path)).content).walk("VEVENT")
    called_off = next(e for e in events if str(e["uid"]).startswith(f"shift-{held}-"))
    assert str(called_off["status"]) == "CANCELLED" and str(called_off["summary"]) == "（已取消）助餐送餐"
    assert all("已取消的班次" not in str(e["summary"]) for e in events)  # a place I gave up myself is gone


async def test_a_wrong_or_renewed_address_finds_nothing(client, conn):
    headers, _ = await _volunteer(client, conn)
    path = await _feed_path(client, headers)
    assert (await client.get(path)).status_code == 200
    token = path.split("/")[2]
    volunteer_part, secret = token.split("-", 1)
    tampered = f"/ical/{volunteer_part}-{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}/shifts.ics"
    assert (await client.get(tampered)).status_code == 404
    other_headers, other_id = await _volunteer(client, conn)
    borrowed = f"/ical/{other_id}-{secret}/shifts.ics"  # my secret does not open someone else's feed
    assert (await client.get(borrowed)).status_code == 404
    assert (await client.get("/ical/not-a-token/shifts.ics")).status_code == 404
    renewed = await client.post("/api/volunteers/me/calendar/renew", headers=headers)
    assert renewed.status_code == 200
    new_path = urlsplit(renewed.json()["url"]).path
    assert new_path != path
    assert (await client.get(path)).status_code == 404
    assert (await client.get(new_path)).status_code == 200
    assert await _feed_path(client, headers) == new_path
    assert await _feed_path(client, other_headers) != new_path


async def test_the_address_depends_on_the_servers_secret(conn):
    from api.services import volunteers
    from tests.factories_shifts import volunteer_identity

    who = await volunteer_identity(conn)
    one = await volunteers.calendar_token(conn, who, "first secret key")
    two = await volunteers.calendar_token(conn, who, "second secret key")
    assert one != two and one.split("-")[0] == two.split("-")[0] == str(who.volunteer_id)
