"""Rosters and respite over the JSON API: status codes, problem types, and who sees what."""

from __future__ import annotations

import datetime as dt
import itertools

from sql import match_runs as runs_sql
from tests.factories_rosters import (
    add_certificate,
    at,
    consent,
    create_entitlement,
    next_monday,
    solve_now,
)
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.factories_tendering import create_household
from tests.helpers import bearer

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}


def entitlement_body(
    household: int, valid_from: dt.date, valid_until: dt.date, kind: str = "care_level", **terms: object
) -> dict[str, object]:
    """A respite entitlement as the API takes it (amount and period for the kinds that need them)."""
    dates = {"valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat()}
    return {"household_id": household, "kind": kind, **terms, **dates}


async def test_a_publisher_starts_a_run_and_volunteers_accept_decline_and_see_only_their_own(client, conn):
    org = await publisher_identity(conn, "organisation")
    monday = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1)
    tuesday = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(1, 9), headcount=1)
    a = await volunteer_identity(conn, **NEAR)
    b = await volunteer_identity(conn, **NEAR)
    await conn.execute(
        "UPDATE volunteers SET weekly_hour_cap = 2 WHERE id = ANY($1::bigint[])", [a.volunteer_id, b.volunteer_id]
    )
    org_h = await bearer(client, org.username)
    started = await client.post("/api/rosters/runs", json={"week_starts": next_monday().isoformat()}, headers=org_h)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.json()["status"] == "queued"
    again = await client.post("/api/rosters/runs", json={"week_starts": next_monday().isoformat()}, headers=org_h)
    assert again.json()["id"] == run_id
    progress = await client.get(f"/api/rosters/runs/{run_id}/progress", headers=org_h)
    assert progress.status_code == 200 and progress.json()["finished"] is False
    run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    await solve_now(conn, run)
    view = (await client.get(f"/api/rosters/runs/{run_id}", headers=org_h)).json()
    assert view["run"]["status"] == "succeeded" and len(view["proposals"]) == 2
    assert {p["shift_id"] for p in view["proposals"]} == {monday, tuesday}
    listed = (await client.get("/api/rosters", headers=org_h)).json()
    assert listed[0]["latest_run"]["id"] == run_id and listed[0]["kind"] == "shifts"

    a_h, b_h = await bearer(client, a.username), await bearer(client, b.username)
    mine_a = (await client.get("/api/roster-proposals/mine", headers=a_h)).json()
    mine_b = (await client.get("/api/roster-proposals/mine", headers=b_h)).json()
    assert len(mine_a) == 1 and len(mine_b) == 1
    assert mine_a[0]["volunteer_id"] == a.volunteer_id and mine_a[0]["reasons"]["km"] < 1
    # Another volunteer's proposal: not found, whether read, accepted or declined.
    for method, suffix in (("GET", ""), ("POST", "/accept"), ("POST", "/decline")):
        response = await client.request(method, f"/api/roster-proposals/{mine_b[0]['id']}{suffix}", headers=a_h)
        assert response.status_code == 404, (method, suffix, response.text)
    accepted = await client.post(f"/api/roster-proposals/{mine_a[0]['id']}/accept", headers=a_h)
    assert accepted.status_code == 201 and accepted.json()["status"] == "accepted"
    shift = (await client.get(f"/api/shifts/{mine_a[0]['shift_id']}", headers=a_h)).json()
    assert shift["taken"] == 1
    twice = await client.post(f"/api/roster-proposals/{mine_a[0]['id']}/accept", headers=a_h)
    assert twice.status_code == 409
    declined = await client.post(f"/api/roster-proposals/{mine_b[0]['id']}/decline", headers=b_h)
    assert declined.status_code == 201, declined.text
    body = declined.json()
    assert body["proposal"]["status"] == "declined" and body["replan"]["id"] != run_id
    # The organisation's other tenants and roles see nothing of the run.
    other = await publisher_identity(conn, "organisation")
    assert (
        await client.get(f"/api/rosters/runs/{run_id}", headers=await bearer(client, other.username))
    ).status_code == 404
    assert (await client.get(f"/api/rosters/runs/{run_id}", headers=a_h)).status_code == 403


async def test_a_refused_accept_answers_409_with_the_pick_up_reason(client, conn):
    org = await publisher_identity(conn, "organisation")
    shift = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(2, 9), headcount=1)
    a = await volunteer_identity(conn, **NEAR)
    started = await client.post(
        "/api/rosters/runs", json={"week_starts": next_monday().isoformat()}, headers=await bearer(client, org.username)
    )
    run = await runs_sql.get_run(conn, started.json()["id"])
    assert run is not None
    await solve_now(conn, run)
    other = await volunteer_identity(conn, **NEAR)
    await add_signup(conn, shift, other.volunteer_id)
    a_h = await bearer(client, a.username)
    (proposal,) = (await client.get("/api/roster-proposals/mine", headers=a_h)).json()
    refused = await client.post(f"/api/roster-proposals/{proposal['id']}/accept", headers=a_h)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/problems/shift-full"


async def test_bad_roster_input_is_a_clear_4xx(client, conn):
    org = await publisher_identity(conn, "organisation")
    h = await bearer(client, org.username)
    past = (next_monday() - dt.timedelta(days=21)).isoformat()
    response = await client.post("/api/rosters/runs", json={"week_starts": past}, headers=h)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "week_starts"
    assert (await client.post("/api/rosters/runs", json={"week_starts": "soon"}, headers=h)).status_code in (400, 422)
    empty = await client.post("/api/rosters/runs", json={"week_starts": next_monday().isoformat()}, headers=h)
    assert empty.status_code == 409  # no shifts that week
    volunteer = await volunteer_identity(conn, **NEAR)
    forbidden = await client.post(
        "/api/rosters/runs",
        json={"week_starts": next_monday().isoformat()},
        headers=await bearer(client, volunteer.username),
    )
    assert forbidden.status_code == 403


async def test_respite_from_entitlement_to_requests_to_a_scheduled_week_with_carers_proposed(client, conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    await conn.execute("UPDATE households SET care_level = 4, lat = 31.2815, lon = 121.5215 WHERE id = $1", household)
    h = await bearer(client, committee.username)
    start = next_monday()
    recorded = await client.post(
        "/api/respite/entitlements",
        json=entitlement_body(household, start, start + dt.timedelta(days=27)),
        headers=h,
    )
    assert recorded.status_code == 201, recorded.text
    entitlement = recorded.json()
    # Care level 4: five one-hour visits a week by the rule.
    assert (entitlement["kind"], entitlement["amount"], entitlement["period"], entitlement["basis"]) == (
        "visits",
        5,
        "week",
        "care_level",
    )
    assert entitlement["visit_minutes"] == 60
    period = {"period_from": start.isoformat(), "period_until": (start + dt.timedelta(days=6)).isoformat()}
    made = await client.post(f"/api/respite/entitlements/{entitlement['id']}/requests", json=period, headers=h)
    assert made.status_code == 201 and len(made.json()) == 5
    assert (
        await client.post(f"/api/respite/entitlements/{entitlement['id']}/requests", json=period, headers=h)
    ).json() == made.json()
    assert await conn.fetchval("SELECT count(*) FROM respite_requests WHERE household_id = $1", household) == 5
    carer = await volunteer_identity(conn, **NEAR)
    await add_certificate(conn, carer.volunteer_id)
    uncertified = await volunteer_identity(conn, **NEAR)  # near but not certified: never proposed
    await consent(conn, carer.volunteer_id, uncertified.volunteer_id)
    scheduled = await client.post("/api/respite/schedule", json={"week_starts": start.isoformat()}, headers=h)
    assert scheduled.status_code == 202, scheduled.text
    assert scheduled.json()["scheduled"] == 5
    run = await runs_sql.get_run(conn, scheduled.json()["run"]["id"])
    assert run is not None
    await solve_now(conn, run)
    week = (await client.get(f"/api/respite/requests?week={start.isoformat()}", headers=h)).json()
    assert len(week) == 5 and all(r["status"] == "scheduled" and r["shift_id"] for r in week)
    shift = await conn.fetchrow(
        "SELECT household_id, required_certificates, headcount FROM shifts WHERE id = $1", week[0]["shift_id"]
    )
    assert shift["household_id"] == household and shift["required_certificates"] == ["elderly_carer"]
    mine = (await client.get("/api/roster-proposals/mine", headers=await bearer(client, carer.username))).json()
    assert len(mine) == 5 and {p["shift_id"] for p in mine} == {r["shift_id"] for r in week}
    # The household's address is not on the carer's proposals.
    address = await conn.fetchval("SELECT address FROM households WHERE id = $1", household)
    assert address not in str(mine)


async def test_respite_refuses_bad_input_and_other_committees(client, conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    h = await bearer(client, committee.username)
    start = next_monday()
    no_level = await client.post(
        "/api/respite/entitlements",
        json=entitlement_body(household, start, start),
        headers=h,
    )
    assert no_level.status_code == 422 and no_level.json()["errors"][0]["field"] == "kind"
    backwards = await client.post(
        "/api/respite/entitlements",
        json=entitlement_body(household, start, start - dt.timedelta(days=1), "days", amount=4),
        headers=h,
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "valid_until"
    other = await publisher_identity(conn, "committee")
    foreign = await client.post(
        "/api/respite/entitlements",
        json=entitlement_body(household, start, start, "days", amount=4),
        headers=await bearer(client, other.username),
    )
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "household_id"
    entitlement = await create_entitlement(conn, household)
    period = {"period_from": start.isoformat(), "period_until": start.isoformat()}
    stolen = await client.post(
        f"/api/respite/entitlements/{entitlement}/requests", json=period, headers=await bearer(client, other.username)
    )
    assert stolen.status_code == 404
    nothing = await client.post("/api/respite/schedule", json={"week_starts": start.isoformat()}, headers=h)
    assert nothing.status_code == 409


async def test_four_days_a_month_become_four_day_long_visits_spread_over_the_month(client, conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    h = await bearer(client, committee.username)
    first = (next_monday() + dt.timedelta(days=40)).replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    recorded = await client.post(
        "/api/respite/entitlements",
        json=entitlement_body(household, first, last, "days", amount=4, period="month"),
        headers=h,
    )
    assert recorded.status_code == 201 and recorded.json()["visit_minutes"] == 480
    made = await client.post(
        f"/api/respite/entitlements/{recorded.json()['id']}/requests",
        json={"period_from": first.isoformat(), "period_until": last.isoformat()},
        headers=h,
    )
    days = sorted(dt.datetime.fromisoformat(r["starts_at"]).date() for r in made.json())
    assert len(days) == 4 and days[0] == first
    assert all(b - a >= dt.timedelta(days=6) for a, b in itertools.pairwise(days))


async def test_dates_at_the_ends_of_the_calendar_are_refused_not_a_server_error(client, conn):
    org = await publisher_identity(conn, "organisation")
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    entitlement = await create_entitlement(conn, household)
    o_h, c_h = await bearer(client, org.username), await bearer(client, committee.username)
    for day in ("9999-12-31", "0001-01-01"):
        assert (await client.post("/api/rosters/runs", json={"week_starts": day}, headers=o_h)).status_code == 422
        assert (await client.post("/api/respite/schedule", json={"week_starts": day}, headers=c_h)).status_code == 422
        assert (await client.get(f"/api/respite/requests?week={day}", headers=c_h)).status_code == 422
        far = {"period_from": day, "period_until": day}
        made = await client.post(f"/api/respite/entitlements/{entitlement}/requests", json=far, headers=c_h)
        assert made.status_code in (201, 422)
        body = {"household_id": household, "kind": "days", "amount": 1, "valid_from": day, "valid_until": day}
        assert (await client.post("/api/respite/entitlements", json=body, headers=c_h)).status_code == 422
