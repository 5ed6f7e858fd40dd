"""Recurring shifts through the API: a weekly rule with exceptions generates its shifts at Beijing wall time;
a rule without an end, an end before the start, a naive time and a negative headcount are 422 problems; a skipped
date calls its shift off; another publisher cannot see or change the rule; a household must be one served."""

from __future__ import annotations

import datetime as dt

from api.services.types import SHANGHAI
from tests import factories
from tests.factories_shifts import add_signup
from tests.factories_tendering import create_household
from tests.helpers import bearer

BEIJING = dt.timezone(dt.timedelta(hours=8))


async def _auth(client, conn, role: str):
    account_id = await factories.create_account(conn, role)
    headers = await bearer(client, await factories.username_of(conn, account_id))
    row = await conn.fetchrow("SELECT organisation_id, committee_id FROM memberships WHERE account_id = $1", account_id)
    return headers, row


def _next_monday() -> dt.date:
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    return day + dt.timedelta(days=(1 - day.isoweekday()) % 7)


def _rule(**overrides):
    monday = _next_monday()
    starts = dt.datetime(monday.year, monday.month, monday.day, 9, 30, tzinfo=BEIJING)
    body = {
        "title": "每周助浴",
        "place_name": "长白新村睦邻点",
        "lat": 31.28,
        "lon": 121.53,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(hours=2)).isoformat(),
        "headcount": 2,
        "weekdays": [1, 3],
        "until": (monday + dt.timedelta(days=20)).isoformat(),
        "exceptions": [(monday + dt.timedelta(days=9)).isoformat()],
        "required_certificates": ["elderly_carer"],
        "minors_in_groups_only": True,
    }
    body.update(overrides)
    return body


async def test_a_weekly_rule_makes_its_shifts_at_beijing_wall_time(client, conn):
    headers, _ = await _auth(client, conn, "organisation")
    response = await client.post("/api/shifts/series", json=_rule(), headers=headers)
    assert response.status_code == 201, response.text
    series = response.json()
    monday = _next_monday()
    # Mondays and Wednesdays over three weeks, less the second Wednesday: 5 shifts.
    expected = [monday + dt.timedelta(days=d) for d in (0, 2, 7, 14, 16)]
    assert (series["starts"], series["minutes"], series["weekdays"]) == ("09:30", 120, [1, 3])
    assert series["shifts_open"] == 5 and len(series["shift_ids"]) == 5
    rows = await conn.fetch(
        "SELECT starts_at, ends_at, required_certificates, minors_in_groups_only, headcount FROM shifts"
        " WHERE series_id = $1 ORDER BY starts_at",
        series["id"],
    )
    assert [r["starts_at"].astimezone(SHANGHAI).date() for r in rows] == expected
    assert {r["starts_at"].astimezone(SHANGHAI).time() for r in rows} == {dt.time(9, 30)}
    assert {r["ends_at"] - r["starts_at"] for r in rows} == {dt.timedelta(hours=2)}
    assert {(tuple(r["required_certificates"]), r["minors_in_groups_only"], r["headcount"]) for r in rows} == {
        (("elderly_carer",), True, 2)
    }
    shift = (await client.get(f"/api/shifts/{series['shift_ids'][0]}", headers=headers)).json()
    assert shift["series_id"] == series["id"] and shift["required_certificates"] == ["elderly_carer"]
    listed = (await client.get("/api/shifts/series", headers=headers)).json()
    assert [s["id"] for s in listed] == [series["id"]] and listed[0]["shift_ids"] == series["shift_ids"]


async def test_bad_rules_are_422_problems_and_write_nothing(client, conn):
    headers, _ = await _auth(client, conn, "committee")
    rule = _rule()
    no_end = {k: v for k, v in rule.items() if k != "until"}
    cases = {
        "until": no_end,
        "ends_at": _rule(ends_at=_rule()["starts_at"].replace("09:30", "08:30")),
        "starts_at": _rule(starts_at=rule["starts_at"][:19], ends_at=rule["ends_at"][:19]),
        "headcount": _rule(headcount=-2),
    }
    for field, body in cases.items():
        response = await client.post("/api/shifts/series", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert field in {e["field"] for e in problem.get("errors", [])} or field in problem["detail"], (field, problem)
    too_long = _rule(until=(_next_monday() + dt.timedelta(days=400)).isoformat())
    response = await client.post("/api/shifts/series", json=too_long, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["until"]
    nothing = _rule(weekdays=[7], until=_next_monday().isoformat())
    response = await client.post("/api/shifts/series", json=nothing, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["weekdays"]
    unknown = _rule(required_certificates=["wizard"])
    response = await client.post("/api/shifts/series", json=unknown, headers=headers)
    assert response.status_code == 422
    assert await conn.fetchval("SELECT count(*) FROM shift_series") == 0
    assert await conn.fetchval("SELECT count(*) FROM shifts WHERE series_id IS NOT NULL") == 0


async def test_skipping_a_date_calls_its_shift_off_with_its_signups(client, conn):
    headers, _ = await _auth(client, conn, "organisation")
    series = (await client.post("/api/shifts/series", json=_rule(), headers=headers)).json()
    first = series["shift_ids"][0]
    volunteer_account = await factories.create_account(conn, "volunteer")
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", volunteer_account)
    await add_signup(conn, first, volunteer_id)
    day = _next_monday().isoformat()
    response = await client.post(f"/api/shifts/series/{series['id']}/exceptions", json={"date": day}, headers=headers)
    assert response.status_code == 200, response.text
    assert day in response.json()["exceptions"] and response.json()["shifts_open"] == 4
    shift = await conn.fetchrow("SELECT status, taken FROM shifts WHERE id = $1", first)
    assert (shift["status"], shift["taken"]) == ("cancelled", 0)
    assert await conn.fetchval("SELECT status FROM signups WHERE shift_id = $1", first) == "cancelled"
    assert (
        await conn.fetchval(
            "SELECT kind FROM notifications WHERE account_id = $1 AND shift_id = $2", volunteer_account, first
        )
        == "shift_cancelled"
    )
    again = await client.post(f"/api/shifts/series/{series['id']}/exceptions", json={"date": day}, headers=headers)
    assert again.status_code == 422
    outside = (_next_monday() + dt.timedelta(days=60)).isoformat()
    response = await client.post(
        f"/api/shifts/series/{series['id']}/exceptions", json={"date": outside}, headers=headers
    )
    assert response.status_code == 422


async def test_another_publisher_cannot_see_or_change_the_rule(client, conn):
    headers, _ = await _auth(client, conn, "organisation")
    series = (await client.post("/api/shifts/series", json=_rule(), headers=headers)).json()
    for role in ("organisation", "committee"):
        other, _ = await _auth(client, conn, role)
        assert (await client.get(f"/api/shifts/series/{series['id']}", headers=other)).status_code == 404
        day = {"date": _next_monday().isoformat()}
        response = await client.post(f"/api/shifts/series/{series['id']}/exceptions", json=day, headers=other)
        assert response.status_code == 404
        assert (await client.get("/api/shifts/series", headers=other)).json() == []
    volunteer, _ = await _auth(client, conn, "volunteer")
    assert (await client.post("/api/shifts/series", json=_rule(), headers=volunteer)).status_code == 403
    assert await conn.fetchval("SELECT cardinality(exceptions) FROM shift_series WHERE id = $1", series["id"]) == 1


async def test_a_household_must_be_one_the_publisher_serves(client, conn):
    headers, membership = await _auth(client, conn, "committee")
    own = await create_household(conn, membership["committee_id"])
    foreign = await create_household(conn, await factories.create_committee(conn))
    response = await client.post("/api/shifts/series", json=_rule(household_id=foreign), headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["household_id"]
    response = await client.post("/api/shifts/series", json=_rule(household_id=own), headers=headers)
    assert response.status_code == 201, response.text
    assert await conn.fetchval(
        "SELECT bool_and(household_id = $2) FROM shifts WHERE series_id = $1", response.json()["id"], own
    )
    one_off = _rule(household_id=foreign)
    for key in ("weekdays", "until", "exceptions"):
        one_off.pop(key)
    response = await client.post("/api/shifts", json=one_off, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["household_id"]


async def test_an_organisation_names_households_of_needs_it_holds_a_contract_for(client, conn):
    from tests.factories_contracts import award_ready
    from tests.factories_tendering import create_need

    setup = await award_ready(conn)
    headers = await bearer(client, await factories.username_of(conn, setup.organisation_account))
    committee_account = await factories.create_account(conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", committee_account)
    need_id = await create_need(conn, committee_id, setup.catalogue_item_id, committee_account)
    served = await create_household(conn, committee_id)
    await conn.execute("INSERT INTO need_households (need_id, household_id) VALUES ($1, $2)", need_id, served)
    await conn.execute("INSERT INTO lot_needs (lot_id, need_id) VALUES ($1, $2)", setup.lot_id, need_id)
    response = await client.post("/api/shifts/series", json=_rule(household_id=served), headers=headers)
    assert response.status_code == 422  # awarded, but no contract yet
    await conn.execute(
        "INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, starts_on, ends_on)"
        " VALUES ($1, $2, $3, 100000, current_date + 30, current_date, current_date + 365)",
        setup.award_id,
        setup.funder_id,
        setup.organisation_id,
    )
    response = await client.post("/api/shifts/series", json=_rule(household_id=served), headers=headers)
    assert response.status_code == 201, response.text
    neighbour = await create_household(conn, committee_id)  # same committee, but no need names it
    response = await client.post("/api/shifts/series", json=_rule(household_id=neighbour), headers=headers)
    assert response.status_code == 422
