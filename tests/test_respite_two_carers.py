"""A respite visit that needs two carers at once (issue 14): the committee marks the request ("需要两名护理员") when it
makes it or later; planning the day makes it two visits linked 'simultaneous', given by two different carers who
start together and each see the other on their phone; cancelling it takes both off their routes and tells both; a
day without two able carers leaves it out with why, or is refused when nothing else is left to plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import asyncpg
import pytest

from api.services import respite, respite_days, visits
from api.services.errors import Conflict, NotFound
from api.services.types import SHANGHAI
from tests import factories
from tests import factories_rosters as fr
from tests import factories_visit_plans as fv
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import join_roster, plan_here, respite_day
from tests.worker_kit import JobQueueSpy

LIVE = """
SELECT pv.id, pv.visit_key, pv.carer_id, pv.status, lower(pv.during) AS starts_at, pv.respite_request_id
FROM planned_visits pv WHERE pv.respite_request_id = $1 AND pv.status <> 'released' ORDER BY pv.visit_key
"""


async def _request_of(conn: asyncpg.Connection, household_id: int) -> int:
    return int(await conn.fetchval("SELECT id FROM respite_requests WHERE household_id = $1", household_id))


@dataclasses.dataclass(frozen=True)
class _TwoCarerDay:
    """The respite day (respite_day's parts) with the third household's request marked for two carers and planned."""

    who: Any
    homes: list[int]
    roster: list[Any]
    day: dt.date
    request_id: int
    halves: list[asyncpg.Record]  # its two live planned visits


async def _two_carer_visit_planned(conn: asyncpg.Connection, redis: Any) -> _TwoCarerDay:
    who, homes, roster, day = await respite_day(conn)
    request_id = await _request_of(conn, homes[2])
    await respite.set_carers_needed(conn, who, request_id, respite.RequestChange(carers_needed=2))
    await plan_here(conn, redis, who, day)
    return _TwoCarerDay(who, homes, roster, day, request_id, await conn.fetch(LIVE, request_id))


async def test_a_two_carer_request_is_planned_as_two_carers_arriving_together(conn, redis):
    who, homes, roster, day = await respite_day(conn)
    request_id = await _request_of(conn, homes[2])
    marked = await respite.set_carers_needed(conn, who, request_id, respite.RequestChange(carers_needed=2))
    assert marked.carers_needed == 2 and marked.status == "pending"
    assert (
        await conn.fetchval(
            "SELECT (detail->>'carers_needed')::int FROM audit_log WHERE action = 'respite.request_carers'"
            " AND object_id = $1",
            str(request_id),
        )
        == 2
    )
    await plan_here(conn, redis, who, day)
    halves = await conn.fetch(LIVE, request_id)
    assert [h["visit_key"] for h in halves] == [f"{homes[2]}:respite", f"{homes[2]}:respiteb"]
    assert len({h["carer_id"] for h in halves}) == 2 and halves[0]["starts_at"] == halves[1]["starts_at"]
    # The other households' visits are planned as before, one carer each.
    others = await conn.fetch(
        "SELECT visit_key FROM planned_visits WHERE household_id = ANY ($1) AND status = 'planned'", homes[:2]
    )
    assert sorted(r["visit_key"] for r in others) == sorted(f"{h}:respite" for h in homes[:2])
    # Each carer's phone shows the stop with the other's name; the board shows both with their partner.
    names = {c: await conn.fetchval("SELECT name FROM carers WHERE id = $1", c) for c, _ in roster}
    for half in halves:
        carer_who = next(w for c, w in roster if c == half["carer_id"])
        mine = await visits.my_day(conn, carer_who, day, daily_cap=5)
        stop = next(s for s in mine.stops if s.id == half["id"])
        partner = next(h["carer_id"] for h in halves if h["id"] != half["id"])
        assert stop.partner == names[partner]
    board = await respite_days.board(conn, who, day)
    shown = {s.id: (r.carer_name, s.partner) for r in board.board.routes for s in r.stops}
    assert {shown[h["id"]] for h in halves} == {
        (names[halves[0]["carer_id"]], names[halves[1]["carer_id"]]),
        (names[halves[1]["carer_id"]], names[halves[0]["carer_id"]]),
    }
    # The week's requests: the request needs two carers and is on both carers' routes.
    week = await respite.week_requests(conn, who, day)
    row = next(r for r in week if r.id == request_id)
    assert row.carers_needed == 2 and sorted(row.route_carers) == sorted(names.values())


async def test_cancelling_a_two_carer_visit_takes_both_halves_off_and_tells_both_carers(conn, redis):
    planned = await _two_carer_visit_planned(conn, redis)
    who, roster, day, request_id, halves = planned.who, planned.roster, planned.day, planned.request_id, planned.halves
    assert len(halves) == 2
    await respite.cancel_request(conn, who, request_id)
    assert await conn.fetch(LIVE, request_id) == []
    released = await conn.fetch(
        "SELECT c.status FROM commitments c WHERE c.planned_visit_id = ANY ($1::bigint[])", [h["id"] for h in halves]
    )
    assert [r["status"] for r in released] == ["released", "released"]
    for half in halves:
        carer_who = next(w for c, w in roster if c == half["carer_id"])
        told = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE account_id = $1 AND kind = 'visit_cancelled'",
            carer_who.account_id,
        )
        assert told == 1
    audited = await conn.fetchrow(
        "SELECT (detail->>'carer_id')::bigint AS carer, (detail->>'partner_carer_id')::bigint AS partner"
        " FROM audit_log WHERE action = 'respite.request_cancel' AND object_id = $1",
        str(request_id),
    )
    assert {audited["carer"], audited["partner"]} == {h["carer_id"] for h in halves}
    # The board lists it cancelled with both carers the plan had given it.
    board = await respite_days.board(conn, who, day)
    cancelled = next(c for c in board.cancelled if c.request_id == request_id)
    names = {await conn.fetchval("SELECT name FROM carers WHERE id = $1", h["carer_id"]) for h in halves}
    assert {cancelled.carer_name, cancelled.partner_name} == names


async def test_a_visit_checked_in_by_one_of_its_two_carers_is_neither_cancelled_nor_changed(conn, redis):
    planned = await _two_carer_visit_planned(conn, redis)
    who, homes, roster, request_id, halves = (
        planned.who, planned.homes, planned.roster, planned.request_id, planned.halves
    )  # fmt: skip
    carer_who = next(w for c, w in roster if c == halves[1]["carer_id"])
    await visits.check_in(conn, carer_who, halves[1]["id"], now=halves[1]["starts_at"])
    with pytest.raises(Conflict):
        await respite.cancel_request(conn, who, request_id)
    assert [h["status"] for h in await conn.fetch(LIVE, request_id)] == ["planned", "checked_in"]
    with pytest.raises(Conflict):
        await respite.set_carers_needed(conn, who, request_id, respite.RequestChange(carers_needed=1))
    other = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    with pytest.raises(NotFound):
        await respite.set_carers_needed(conn, other, await _request_of(conn, homes[0]), respite.RequestChange(2))


async def test_fewer_than_two_able_carers_leave_a_two_carer_visit_out_or_refuse_the_day(conn, redis):
    who, homes, roster, day = await respite_day(conn)
    # One of the two carers is off that day (works Mondays only, and the day is not a Monday for this test).
    off_day = 1 if day.isoweekday() != 1 else 2
    await conn.execute("UPDATE carers SET work_days = $2 WHERE id = $1", roster[1][0], [off_day])
    request_id = await _request_of(conn, homes[2])
    await respite.set_carers_needed(conn, who, request_id, respite.RequestChange(carers_needed=2))
    run_id = await plan_here(conn, redis, who, day)
    assert await conn.fetch(LIVE, request_id) == []
    left_out = json.loads(await conn.fetchval("SELECT result->'left_out' FROM match_runs WHERE id = $1", run_id))
    assert {(x["household_id"], x["why"]) for x in left_out} == {(homes[2], "too_few_carers")}
    assert len(left_out) == 2
    board = await respite_days.board(conn, who, day)
    assert {x.why for x in board.board.left_out} == {"too_few_carers"}
    # A day whose only request needs two carers, with one able carer: the day's clear refusal, no run.
    alone = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    home = await conn.fetchval(
        "INSERT INTO households (committee_id, head_name, address, lat, lon, care_level, consent_recorded_at)"
        " VALUES ($1, '王阿婆', '长阳路1号', 31.28, 121.52, 5, now()) RETURNING id",
        alone.committee_id,
    )
    entitlement = await fr.create_entitlement(conn, home, visit_minutes=60)
    only = await fr.create_request(conn, entitlement, dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI))
    await respite.set_carers_needed(conn, alone, only, respite.RequestChange(carers_needed=2))
    await join_roster(conn, alone, (31.2810, 121.5210))
    runs_before = await conn.fetchval("SELECT count(*) FROM match_runs")
    with pytest.raises(Conflict) as refused:
        await respite_days.start_plan(conn, JobQueueSpy(redis), alone, visits.PlanDay(day=day), fv.SPEEDS)
    assert refused.value.detail == visits.NO_RESPITE_CARER
    assert await conn.fetchval("SELECT count(*) FROM match_runs") == runs_before


def test_a_pin_of_both_halves_of_a_two_carer_respite_visit_to_one_carer_is_refused() -> None:
    rules = visits.PinRules(
        needs={"42:respite": "elderly_carer", "42:respiteb": "elderly_carer", "42:respite2": "elderly_carer"},
        checked_in={}, able={7: frozenset({"elderly_carer"})}, absent=frozenset(), busy=frozenset(),
    )  # fmt: skip
    assert rules.refusal("42:respiteb", 7, [("42:respite", 7)]) == "same_carer_twice"
    # Another request of the same household is another visit: the same carer may give both.
    assert rules.refusal("42:respite2", 7, [("42:respite", 7)]) is None


async def test_the_committee_marks_requests_for_two_carers_on_its_pages(client, conn, redis):
    who, homes, _roster, day = await respite_day(conn)
    await login(client, await factories.username_of(conn, who.account_id))
    # Making requests for a period: each visit for two carers.
    entitlement = await fr.create_entitlement(conn, homes[0], visit_minutes=60)
    later = day + dt.timedelta(days=7)
    form = {"period_from": later.isoformat(), "period_until": (later + dt.timedelta(days=6)).isoformat()}
    made = await post_form(
        client, f"/respite/entitlements/{entitlement}/requests", {**form, "carers_needed": "2"}, page="/respite"
    )
    assert made.status_code in (302, 303), made.text
    needed = await conn.fetch("SELECT carers_needed FROM respite_requests WHERE entitlement_id = $1", entitlement)
    assert needed and {r["carers_needed"] for r in needed} == {2}
    page = await page_context(client, "/respite")
    assert "需要两名护理员" in page.response.text
    # A waiting request marked on the week's page; the page says so.
    week = f"/respite/schedule?week={day.isoformat()}"
    request_id = await _request_of(conn, homes[1])
    done = await post_form(
        client, f"/respite/requests/{request_id}/carers", {"week": day.isoformat(), "carers_needed": "2"}, page=week
    )
    assert done.status_code in (302, 303) and "done=carers" in done.headers["location"]
    again = await page_context(client, done.headers["location"])
    assert next(r.carers_needed for r in again["requests"] if r.id == request_id) == 2
    assert "需要两名护理员" in again.response.text and "改为一名护理员" in again.response.text
    # A bad number comes back beside the row with 422.
    bad = await post_form(
        client, f"/respite/requests/{request_id}/carers", {"week": day.isoformat(), "carers_needed": "3"}, page=week
    )
    assert bad.status_code == 422 and f'id="e-carers-{request_id}"' in bad.text


async def test_the_api_marks_a_request_for_two_carers_and_refuses_bad_input(client, conn, redis):
    who, homes, _roster, day = await respite_day(conn)
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    request_id = await _request_of(conn, homes[0])
    # A body the struct refuses is a 400 problem naming the field, as everywhere in the API (422 is for a well-formed
    # request the rules refuse).
    for bad in ({"carers_needed": 3}, {"carers_needed": 0}, {"carers_needed": "two"}):
        refused = await client.put(f"/api/respite/requests/{request_id}", json=bad, headers=headers)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["carers_needed"]
    for bad in ({}, {"carers": 2}):
        assert (await client.put(f"/api/respite/requests/{request_id}", json=bad, headers=headers)).status_code == 400
    marked = await client.put(f"/api/respite/requests/{request_id}", json={"carers_needed": 2}, headers=headers)
    assert marked.status_code == 200, marked.text
    assert marked.json()["carers_needed"] == 2 and marked.json()["id"] == request_id
    listed = await client.get("/api/respite/requests", params={"week": day.isoformat()}, headers=headers)
    assert {r["id"]: r["carers_needed"] for r in listed.json()}[request_id] == 2
    # Making requests: the number is checked too.
    entitlement = await fr.create_entitlement(conn, homes[1], visit_minutes=60)
    later, until = (day + dt.timedelta(days=7)).isoformat(), (day + dt.timedelta(days=13)).isoformat()
    made = await client.post(
        f"/api/respite/entitlements/{entitlement}/requests",
        json={"period_from": later, "period_until": until, "carers_needed": 5}, headers=headers,
    )  # fmt: skip
    assert made.status_code == 400 and made.json()["errors"][0]["field"] == "carers_needed"
    made = await client.post(
        f"/api/respite/entitlements/{entitlement}/requests",
        json={"period_from": later, "period_until": until, "carers_needed": 2}, headers=headers,
    )  # fmt: skip
    assert made.status_code == 201 and made.json() and {r["carers_needed"] for r in made.json()} == {2}
    # Another committee's request: a 404 problem.
    stranger = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    other = await bearer(client, await factories.username_of(conn, stranger.account_id))
    missing = await client.put(f"/api/respite/requests/{request_id}", json={"carers_needed": 1}, headers=other)
    assert missing.status_code == 404
