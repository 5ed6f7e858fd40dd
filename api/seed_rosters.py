"""Demo rosters and respite: run after the volunteers, households and shifts are seeded.

The demo organisation (org.leling) gets a finished roster run for next week whose proposals include some for the
demo volunteer (volunteer.demo), with reasons; the demo committee (committee.kailu4) gets respite entitlements for
two of its households (by care level, and 4 days a month), their requests for the next four weeks, and next week
scheduled with certified carers proposed. The optimiser runs here in-process, with a short time limit.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import asyncpg

from api.services import respite, rosters, runs
from api.services.accounts import Identity
from api.services.errors import Conflict
from api.services.types import SHANGHAI
from sql import match_runs as runs_sql
from sql import respite as respite_sql
from sql.match_runs import RunRow

SEED_TIME_LIMIT_S = 1.0


async def _identity(conn: asyncpg.Connection, username: str) -> Identity | None:
    row = await conn.fetchrow(
        "SELECT a.id, a.username, a.display_name, a.role, m.organisation_id, m.committee_id, v.id AS volunteer_id"
        " FROM accounts a LEFT JOIN memberships m ON m.account_id = a.id LEFT JOIN volunteers v ON v.account_id = a.id"
        " WHERE a.username = $1",
        username,
    )
    if row is None:
        return None
    return Identity(
        account_id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        locale="zh_CN",
        organisation_id=row["organisation_id"],
        committee_id=row["committee_id"],
        volunteer_id=row["volunteer_id"],
    )


async def _solve(conn: asyncpg.Connection, run: RunRow, seed: int) -> int:
    """What the worker does for a run, here: load, solve, write; the proposals written."""
    if run.status == "succeeded":
        return 0
    inputs = await rosters._load(conn, run.subject_id)
    await runs_sql.start_run(conn, run.id)
    result = runs.solve_here(rosters.RUNS, inputs.problem, SEED_TIME_LIMIT_S, seed)
    await runs.write_result(conn, rosters.RUNS, run.id, inputs, result)
    return len(result.assignments)


async def seed_rosters(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> dict[str, Any]:
    """Write the demo's roster and respite data; what was made (deterministic per seed, given the same shifts)."""
    made: dict[str, Any] = {"roster_proposals": 0, "respite_requests": 0, "respite_proposals": 0}
    org = await _identity(conn, "org.leling")
    committee = await _identity(conn, "committee.kailu4")
    volunteer = await _identity(conn, "volunteer.demo")
    if org is None or committee is None or volunteer is None or volunteer.volunteer_id is None:
        return made
    if committee.committee_id is None:
        return made
    monday = rosters.monday_of(today) + dt.timedelta(days=7)
    home = await conn.fetchrow("SELECT lat, lon FROM volunteers WHERE id = $1", volunteer.volunteer_id)
    assert home is not None
    # Two shifts of the organisation next week at the demo volunteer's door, so the plan proposes them to her.
    for day, hour, title in ((1, 9, "长者助餐送餐"), (3, 14, "社区睦邻点陪伴聊天")):
        starts = dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour), tzinfo=SHANGHAI)
        await conn.execute(
            "INSERT INTO shifts (organisation_id, title, place_name, lat, lon, starts_at, ends_at, headcount,"
            " created_by) VALUES ($1, $2, '开鲁四村睦邻中心', $3, $4, $5, $6, 2, $7)",
            org.organisation_id,
            title,
            home["lat"],
            home["lon"],
            starts,
            starts + dt.timedelta(hours=2),
            org.account_id,
        )
    # The demo volunteer gives Tuesday mornings and Thursday afternoons, if her profile says nothing yet.
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM volunteer_availability WHERE volunteer_id = $1)", volunteer.volunteer_id
    ):
        await conn.executemany(
            "INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, $3, $4)",
            [
                (volunteer.volunteer_id, 2, dt.time(8), dt.time(12)),
                (volunteer.volunteer_id, 4, dt.time(13), dt.time(18)),
                (volunteer.volunteer_id, 6, dt.time(9), dt.time(17)),
            ],
        )
    roster = await rosters.ensure_roster(
        conn, org, organisation_id=org.organisation_id, committee_id=None, monday=monday, kind="shifts"
    )
    run = await rosters.plan(conn, roster, org, reason="asked")
    made["roster_run_id"] = run.id
    made["roster_proposals"] = await _solve(conn, run, rng.randrange(1000))

    # Respite: certified carers near the committee, two households' entitlements, next week scheduled.
    households = await conn.fetch(
        "SELECT id, lat, lon FROM households WHERE committee_id = $1 ORDER BY id LIMIT 2", committee.committee_id
    )
    if len(households) < 2:
        return made
    centre = (households[0]["lat"], households[0]["lon"])
    # Volunteers with an account (they can log in to accept), nearest first; the demo volunteer is one of them.
    carers = await conn.fetch(
        "SELECT v.id FROM volunteers v JOIN accounts a ON a.id = v.account_id AND a.disabled_at IS NULL"
        " ORDER BY v.id <> $1, (v.lat - $2) ^ 2 + (v.lon - $3) ^ 2, v.id LIMIT 4",
        volunteer.volunteer_id,
        centre[0],
        centre[1],
    )
    await conn.executemany(
        "INSERT INTO volunteer_certificates (volunteer_id, kind, number, issued_on, expires_on)"
        " VALUES ($1, 'elderly_carer', $2, $3, $4) ON CONFLICT (volunteer_id, kind) DO NOTHING",
        [
            (c["id"], f"YL{rng.randrange(10**8):08d}", today - dt.timedelta(days=400), today + dt.timedelta(days=700))
            for c in carers
        ],
    )
    # Home visits are offered only to carers who consented to the processing of personal data.
    await conn.execute(
        "UPDATE volunteers SET travel_km = greatest(travel_km, 5),"
        " sensitive_data_consent_at = coalesce(sensitive_data_consent_at, now()) WHERE id = ANY($1::bigint[])",
        [c["id"] for c in carers],
    )
    await conn.execute(
        "UPDATE households SET care_level = CASE WHEN care_level >= 2 THEN care_level ELSE 4 END WHERE id = $1",
        households[0]["id"],
    )
    forms = [
        respite.EntitlementCreate(
            household_id=households[0]["id"],
            kind="care_level",
            valid_from=today,
            valid_until=today + dt.timedelta(days=90),
        ),
        respite.EntitlementCreate(
            household_id=households[1]["id"],
            kind="days",
            amount=4,
            period="month",
            starts=dt.time(8, 30),
            valid_from=today,
            valid_until=today + dt.timedelta(days=90),
        ),
    ]
    period = respite.RequestsCreate(period_from=today, period_until=today + dt.timedelta(days=27))
    for form in forms:
        entitlement = await respite.record_entitlement(conn, committee, form)
        made["respite_requests"] += len(await respite.make_requests(conn, committee, entitlement.id, period))
    lo, hi = rosters.week_bounds(monday)
    await respite_sql.schedule_week(
        conn,
        committee_id=committee.committee_id,
        week_from=lo,
        week_until=hi,
        title=respite.SHIFT_TITLE,
        place_name=respite.SHIFT_PLACE,
        certificates=[respite.DEFAULT_CERTIFICATE],
        created_by=committee.account_id,
    )
    respite_roster = await rosters.ensure_roster(
        conn, committee, organisation_id=None, committee_id=committee.committee_id, monday=monday, kind="respite"
    )
    try:
        respite_run = await rosters.plan(conn, respite_roster, committee, reason="respite")
    except Conflict:
        return made
    made["respite_run_id"] = respite_run.id
    made["respite_proposals"] = await _solve(conn, respite_run, rng.randrange(1000))
    return made
