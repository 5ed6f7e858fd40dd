"""Plans people can steer, over the API and the real database: pins kept, conflicts reported, audited, owned;
the spread weight; and "why not me?" for a volunteer, with both kinds of answer and no other volunteer's data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from api.services import rosters
from api.services.roster_steering import outscored_by
from matching.roster import RosterProblem, Shift, Volunteer
from sql import match_runs as runs_sql
from sql import rosters as rosters_sql
from tests.factories_rosters import at, next_monday, solve_now
from tests.factories_shifts import create_shift, publisher_identity, volunteer_identity
from tests.helpers import bearer

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}
FARTHER = {"lat": 31.2995, "lon": 121.5215, "travel_km": 5}  # ~2 km north of the shifts


async def _run(client, conn, headers, body=None):
    started = await client.post(
        "/api/rosters/runs", json={"week_starts": next_monday().isoformat(), **(body or {})}, headers=headers
    )
    assert started.status_code == 202, started.text
    run = await runs_sql.get_run(conn, started.json()["id"])
    assert run is not None
    await solve_now(conn, run)
    return (await client.get(f"/api/rosters/runs/{run.id}", headers=headers)).json()


async def test_a_pin_holds_in_the_re_plan_is_audited_and_only_its_roster_may_pin(client, conn):
    org = await publisher_identity(conn, "organisation")
    shift = await create_shift(
        conn, organisation_id=org.organisation_id, starts_at=at(1, 9), headcount=1, lat=31.2815, lon=121.5215
    )
    near = await volunteer_identity(conn, **NEAR)
    farther = await volunteer_identity(conn, **FARTHER)
    org_h = await bearer(client, org.username)
    view = await _run(client, conn, org_h)
    (proposal,) = view["proposals"]
    assert proposal["volunteer_id"] == near.volunteer_id  # the closer one, by value
    # Another organisation cannot see, pin or re-plan the run; a volunteer is refused.
    other = await publisher_identity(conn, "organisation")
    other_h = await bearer(client, other.username)
    run_id = view["run"]["id"]
    assert (await client.post(f"/api/rosters/runs/{run_id}/pins", json={"proposal_id": proposal["id"]},
                              headers=other_h)).status_code == 404  # fmt: skip
    assert (await client.post(f"/api/rosters/runs/{run_id}/replan", json={}, headers=other_h)).status_code == 404
    vol_h = await bearer(client, near.username)
    assert (await client.get(f"/api/rosters/runs/{run_id}/steering", headers=vol_h)).status_code == 403
    assert await conn.fetchval("SELECT count(*) FROM roster_pins") == 0

    pinned = await client.post(f"/api/rosters/runs/{run_id}/pins", json={"proposal_id": proposal["id"]}, headers=org_h)
    assert pinned.status_code == 201, pinned.text
    pin = pinned.json()
    again = await client.post(f"/api/rosters/runs/{run_id}/pins", json={"proposal_id": proposal["id"]}, headers=org_h)
    assert again.json()["id"] == pin["id"]
    audit = await conn.fetch(
        "SELECT action, detail::text AS detail FROM audit_log WHERE action LIKE 'roster_pin.%' ORDER BY id"
    )
    assert [a["action"] for a in audit][:1] == ["roster_pin.pin"] and str(pin["id"]) in audit[0]["detail"]
    steering = (await client.get(f"/api/rosters/runs/{run_id}/steering", headers=org_h)).json()
    assert [p["shift_id"] for p in steering["pins"]] == [shift] and steering["spread"] == 0

    # Re-plan with the pin: kept, and the digest moved, so it is a new run (not the cached plan).
    replan = await client.post(f"/api/rosters/runs/{run_id}/replan", json={"spread": 30}, headers=org_h)
    assert replan.status_code == 202 and replan.json()["id"] != run_id
    run = await runs_sql.get_run(conn, replan.json()["id"])
    first = await runs_sql.get_run(conn, run_id)
    assert run is not None and first is not None and run.inputs_digest != first.inputs_digest
    await solve_now(conn, run)
    after = (await client.get(f"/api/rosters/runs/{run.id}", headers=org_h)).json()
    assert [(p["volunteer_id"], p["shift_id"]) for p in after["proposals"]] == [(near.volunteer_id, shift)]
    result = after["run"]["result"]
    assert result["pinned"] == 1 and result["pin_conflicts"] == [] and result["spread"] == 30
    assert "hours_gini" in result and result["proposed"] == 1

    # The pinned volunteer declines: the pin cannot hold any more and the re-plan says so, naming the pin.
    declined = await client.post(f"/api/roster-proposals/{after['proposals'][0]['id']}/decline", headers=vol_h)
    assert declined.status_code == 201, declined.text
    replanned = await runs_sql.get_run(conn, declined.json()["replan"]["id"])
    assert replanned is not None
    await solve_now(conn, replanned)
    last = (await client.get(f"/api/rosters/runs/{replanned.id}", headers=org_h)).json()
    assert last["run"]["result"]["pin_conflicts"] == [{"pin_id": pin["id"], "shift_id": shift, "why": "declined"}]
    assert [p["volunteer_id"] for p in last["proposals"] if p["status"] == "proposed"] == [farther.volunteer_id]

    removed = await client.delete(f"/api/rosters/runs/{run_id}/pins/{pin['id']}", headers=org_h)
    assert removed.status_code == 204
    assert (await client.delete(f"/api/rosters/runs/{run_id}/pins/{pin['id']}", headers=org_h)).status_code == 404
    actions = await conn.fetch("SELECT action FROM audit_log WHERE action LIKE 'roster_pin.%' ORDER BY id")
    assert [a["action"] for a in actions] == ["roster_pin.pin", "roster_pin.pin", "roster_pin.unpin"]


async def test_a_pin_is_only_for_a_shift_of_its_roster(conn):
    org = await publisher_identity(conn, "organisation")
    other = await publisher_identity(conn, "organisation")
    theirs = await create_shift(conn, organisation_id=other.organisation_id, starts_at=at(1, 9), headcount=1)
    volunteer = await volunteer_identity(conn, **NEAR)
    roster = await conn.fetchval(
        "INSERT INTO rosters (organisation_id, week_starts, kind) VALUES ($1, $2, 'shifts') RETURNING id",
        org.organisation_id,
        next_monday(),
    )
    with pytest.raises(asyncpg.CheckViolationError, match="not a shift of roster"):
        await conn.execute(
            "INSERT INTO roster_pins (roster_id, volunteer_id, shift_id, pinned_by) VALUES ($1, $2, $3, $4)",
            roster,
            volunteer.volunteer_id,
            theirs,
            org.account_id,
        )


async def test_why_not_me_says_outscored_or_not_eligible_and_never_names_the_chosen(client, conn):
    org = await publisher_identity(conn, "organisation")
    shift = await create_shift(
        conn, organisation_id=org.organisation_id, starts_at=at(2, 9), headcount=1, lat=31.2815, lon=121.5215
    )
    skilled = await create_shift(
        conn,
        organisation_id=org.organisation_id,
        starts_at=at(3, 9),
        headcount=1,
        lat=31.2815,
        lon=121.5215,
        required_skills=["first_aid"],
    )
    near = await volunteer_identity(conn, **NEAR, skills=["first_aid"])
    await conn.execute("UPDATE volunteers SET display_name = '陈秀英' WHERE id = $1", near.volunteer_id)
    farther = await volunteer_identity(conn, **FARTHER)
    await _run(client, conn, await bearer(client, org.username))
    far_h = await bearer(client, farther.username)
    outscored = await client.get(f"/api/roster-proposals/why-not/{shift}", headers=far_h)
    assert outscored.status_code == 200, outscored.text
    body = outscored.json()
    assert body["kind"] == "outscored" and [r["code"] for r in body["reasons"]] == ["closer"]
    # Nothing of the chosen: no name, no id, only the reason codes and messages.
    assert "陈秀英" not in outscored.text and set(body) == {"shift_id", "kind", "reasons", "run_id"}
    assert all(set(r) == {"code", "message"} for r in body["reasons"])
    not_eligible = (await client.get(f"/api/roster-proposals/why-not/{skilled}", headers=far_h)).json()
    assert not_eligible["kind"] == "not-eligible" and [r["code"] for r in not_eligible["reasons"]] == ["skills"]
    mine = await client.get(f"/api/roster-proposals/why-not/{shift}", headers=await bearer(client, near.username))
    assert mine.json()["kind"] == "proposed"
    assert (await client.get("/api/roster-proposals/why-not/999999999", headers=far_h)).status_code == 404
    org_h = await bearer(client, org.username)
    assert (await client.get(f"/api/roster-proposals/why-not/{shift}", headers=org_h)).status_code == 403


def test_outscored_reasons_come_from_the_plan_and_the_person_only():
    t0 = datetime(2026, 12, 7, 9, tzinfo=timezone(timedelta(hours=8)))
    me = Volunteer(1, (31.2995, 121.5215), 5.0, 600, available=((t0, t0 + timedelta(days=1)),))
    shift = Shift(10, t0 + timedelta(hours=5), t0 + timedelta(hours=7), (31.2815, 121.5215), 1)
    problem = RosterProblem((me,), (shift,))
    closer = [{"km": 0.1, "continuity_bonus": 0, "reliability_penalty": 0}]
    assert outscored_by(problem, me, shift, closer, []) == ["closer"]
    assert outscored_by(problem, me, shift, [{"km": 9.0, "continuity_bonus": 20}], []) == ["continuity"]
    # Proposed elsewhere at the same time, or already four hours this week with hours spread.
    overlapping = [(t0 + timedelta(hours=6), t0 + timedelta(hours=8))]
    assert outscored_by(problem, me, shift, closer, overlapping)[0] == "proposed-overlap"
    earlier = [(t0, t0 + timedelta(hours=4))]
    spread = RosterProblem((me,), (shift,), spread=50)
    assert outscored_by(spread, me, shift, [{"km": 9.0}], earlier) == ["spread"]
    assert outscored_by(problem, me, shift, [{"km": 9.0}], earlier) == ["value"]
    assert outscored_by(problem, me, shift, [], []) == ["left-open"]


async def test_a_pin_on_a_cancelled_or_full_shift_is_a_conflict_and_a_clashing_pin_too(client, conn):
    org = await publisher_identity(conn, "organisation")
    first = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(1, 9), headcount=1,
                               lat=31.2815, lon=121.5215)  # fmt: skip
    second = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(1, 10), headcount=1,
                                lat=31.2815, lon=121.5215)  # fmt: skip
    near = await volunteer_identity(conn, **NEAR)
    await volunteer_identity(conn, **FARTHER)
    view = await _run(client, conn, await bearer(client, org.username))
    roster = await rosters_sql.get_roster(conn, view["run"]["subject_id"])
    assert roster is not None
    # Both shifts proposed to someone: pin the near volunteer on both (they overlap: 9-11 and 10-12).
    for shift_id in (first, second):
        await conn.execute(
            "INSERT INTO roster_pins (roster_id, volunteer_id, shift_id, pinned_by) VALUES ($1, $2, $3, $4)",
            roster.id, near.volunteer_id, shift_id, org.account_id,
        )  # fmt: skip
    inputs = await rosters.load_inputs(conn, roster)
    assert inputs.problem.pinned == ((near.volunteer_id, first),)
    assert [c["why"] for c in inputs.pin_conflicts] == ["pins-clash"]
    await conn.execute("UPDATE shifts SET status = 'cancelled' WHERE id = $1", first)
    await conn.execute("UPDATE shifts SET taken = headcount WHERE id = $1", second)
    inputs = await rosters.load_inputs(conn, roster)
    assert inputs.problem.pinned == () and [c["why"] for c in inputs.pin_conflicts] == ["shift-closed"] * 2
