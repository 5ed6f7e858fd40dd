"""The volunteering half of the demo district: this week's shifts, histories and time coins, 311 teams, rosters
and respite, home visits, and the notifications they cause — in the order each part needs the one before."""

from __future__ import annotations

import functools
from datetime import date

import asyncpg
import msgspec

from api.demo.coins import seed_coins
from api.demo.notifications import seed_notifications
from api.demo.rosters import seed_rosters
from api.demo.shifts import seed_shifts
from api.demo.streams import stream
from api.demo.teams import seed_teams
from api.demo.timebank import seed_timebank
from api.demo.verification import seed_verification
from api.demo.visits import seed_visits
from sql import demo_volunteering as volunteering_sql


class VolunteeringSeedReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the volunteering seed wrote, in the figures a demo-giver asks about."""

    shifts: int
    signups: int
    confirmed_hours_records: int
    timebank_transactions: int
    teams: int
    team_visits: int
    roster_proposals: int
    respite_requests: int
    notifications: int
    care_visits: int = 0
    respite_route_visits: int = 0


async def seed_volunteering(conn: asyncpg.Connection, *, seed: int, today: date) -> VolunteeringSeedReport:
    """Write the volunteering demo on top of the district, tenders and contracts (same seed, same data)."""
    rng = functools.partial(stream, seed)
    shifts = await seed_shifts(conn, rng("shifts"), today)
    history = await seed_timebank(conn, rng("timebank"), today)
    # What the coins buy, at two committees of the district, and volunteer.demo's bookings (issue 15, item 8).
    await seed_coins(conn, today)
    teams = await seed_teams(conn, rng("teams"), today)
    # The claims of the volunteers who held places are verified before the roster week is planned (restricted shifts
    # take verified ones only); those of the home visits' carers after the visits.
    await seed_verification(conn, today)
    # A roster week reads every volunteer with their places, checks and certificates, all written just now.
    await volunteering_sql.analyze(conn)
    rosters = await seed_rosters(conn, rng("rosters"), today)
    care = await seed_visits(conn, rng("visits"), today)
    # Only verified claims count for restricted shifts (issue 11, step 4): staff of the publishers verify those of
    # the volunteers who hold places with them; the rest stay declared only.
    await seed_verification(conn, today)
    notified = await seed_notifications(conn, rng("notifications"), today)
    return VolunteeringSeedReport(
        shifts=shifts.shifts + history.shifts,
        signups=shifts.signups + history.signups,
        confirmed_hours_records=history.confirmed,
        timebank_transactions=history.transactions,
        teams=teams.teams,
        team_visits=teams.visits_done,
        roster_proposals=int(rosters.get("roster_proposals", 0)),
        respite_requests=int(rosters.get("respite_requests", 0)),
        notifications=notified,
        care_visits=care.planned_visits,
        respite_route_visits=int(rosters.get("respite_route_visits", 0)),
    )
