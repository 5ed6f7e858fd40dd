"""The roster optimiser reads each volunteer's reliability as a soft preference: a tie goes to the reliable
volunteer, and an unreliable one who is the only one eligible still gets the place."""

from __future__ import annotations

import datetime as dt

from api.services import rosters
from tests.factories_rosters import QueueSpy, at, next_monday, solve_now
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}


async def _missed_once(conn, volunteer_id: int) -> None:
    """A place two days ago that the volunteer neither came to nor cancelled."""
    past = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    signup_id = await add_signup(conn, await create_shift(conn, starts_at=past), volunteer_id)
    await conn.execute("UPDATE signups SET no_show_at = now() WHERE id = $1", signup_id)


async def _proposals(conn, org):
    run = await rosters.start_run(conn, QueueSpy(), org, rosters.RosterStart(week_starts=next_monday()))
    await solve_now(conn, run)
    return (await rosters.get_run(conn, org, run.id)).proposals


async def test_a_reliable_volunteer_wins_the_tie_and_an_unreliable_one_alone_still_gets_the_place(conn):
    org = await publisher_identity(conn, "organisation")
    await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1)
    unreliable = await volunteer_identity(conn, **NEAR)
    await _missed_once(conn, unreliable.volunteer_id or 0)
    reliable = await volunteer_identity(conn, **NEAR)

    run = await rosters.start_run(conn, QueueSpy(), org, rosters.RosterStart(week_starts=next_monday()))
    inputs = await rosters.RUNS.load(conn, run.subject_id)
    given = {v.id: v.reliability for v in inputs.problem.volunteers}
    assert given == {unreliable.volunteer_id: 0.0, reliable.volunteer_id: None}

    (proposal,) = await _proposals(conn, org)
    assert proposal.volunteer_id == reliable.volunteer_id and proposal.reasons["reliability_penalty"] == 0

    # Alone (the reliable one has moved away), the unreliable volunteer is proposed all the same.
    await conn.execute("UPDATE volunteers SET lat = 31.60 WHERE id = $1", reliable.volunteer_id)
    proposals = await _proposals(conn, org)
    assert [(p.volunteer_id, p.reasons["reliability_penalty"]) for p in proposals] == [(unreliable.volunteer_id, 10)]
