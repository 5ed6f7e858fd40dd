"""Demo rosters and respite: run after the volunteers, households and shifts are seeded.

The demo organisation (org.leling) gets next week planned twice, with hours spread and without (the run page shows
the two side by side); only the plain plan's proposals are sent, some of them to the demo volunteer
(volunteer.demo), with reasons. The demo committee (committee.kailu4) gets respite entitlements for two of its
households (by care level, and 4 days a month), their requests for the next four weeks, and next week scheduled
with certified carers proposed; before that, three of those carers plan tomorrow's respite visits as routes
(api.demo.respite_routes). The optimiser runs here in-process, with a short time limit.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import asyncpg

from api.demo.respite_routes import seed_respite_day
from api.demo.shifts import give_demo_windows
from api.demo.verification import verify_certificates
from api.services import respite, rosters, runs
from api.services.accounts import Identity
from api.services.errors import Conflict
from api.services.types import SHANGHAI
from sql import demo as demo_sql
from sql import demo_volunteering as volunteering_sql
from sql import match_runs as runs_sql
from sql import respite as respite_sql
from sql import roster_pins as pins_sql
from sql.demo import LoginRow
from sql.match_runs import RunRow

SEED_TIME_LIMIT_S = 1.0
# The spread weight of the demo week's second plan (docs/optimiser-people.md measures it against 0).
DEMO_SPREAD = 100


def login_identity(login: LoginRow | None) -> Identity | None:
    """The Identity a demo login acts with, as the app would give its session (None for a missing login)."""
    if login is None:
        return None
    return Identity(
        account_id=login.account_id,
        username=login.username,
        display_name=login.display_name,
        role=login.role,
        locale="zh_CN",
        organisation_id=login.organisation_id,
        committee_id=login.committee_id,
        volunteer_id=login.volunteer_id,
    )


async def _solve(conn: asyncpg.Connection, run: RunRow, seed: int, inputs: rosters.RosterInputs | None = None) -> int:
    """What the worker does for a run, here: load (unless loaded when the run was opened), solve, write; the
    proposals written."""
    if run.status == "succeeded":
        return 0
    inputs = inputs or await rosters.RUNS.load(conn, run.subject_id)
    await runs_sql.start_run(conn, run.id)
    result = runs.solve_here(rosters.RUNS, inputs.problem, SEED_TIME_LIMIT_S, seed)
    await runs.write_result(conn, rosters.RUNS, run.id, inputs, result)
    return len(result.assignments)


async def seed_rosters(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> dict[str, Any]:
    """Write the demo's roster and respite data; what was made (deterministic per seed, given the same shifts)."""
    made: dict[str, Any] = {
        "roster_proposals": 0, "respite_requests": 0, "respite_proposals": 0, "respite_route_visits": 0
    }  # fmt: skip
    logins = await demo_sql.logins(conn, ["org.leling", "committee.kailu4", "volunteer.demo"])
    org = login_identity(logins.get("org.leling"))
    committee = login_identity(logins.get("committee.kailu4"))
    volunteer = login_identity(logins.get("volunteer.demo"))
    if org is None or committee is None or volunteer is None or volunteer.volunteer_id is None:
        return made
    if committee.committee_id is None:
        return made
    monday = rosters.monday_of(today) + dt.timedelta(days=7)
    home = await demo_sql.demo_volunteer(conn)
    assert home is not None
    # Two shifts of the organisation next week at the demo volunteer's door, so the plan proposes them to her.
    for day, hour, title in ((1, 9, "长者助餐送餐"), (3, 14, "社区睦邻点陪伴聊天")):
        starts = dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour), tzinfo=SHANGHAI)
        await volunteering_sql.insert_shift(
            conn,
            volunteering_sql.Shift(
                organisation_id=org.organisation_id, committee_id=None, title=title, place_name="开鲁四村睦邻中心",
                lat=home.lat, lon=home.lon, starts_at=starts, ends_at=starts + dt.timedelta(hours=2), headcount=2,
                created_by=org.account_id,
            ),
        )  # fmt: skip
    await give_demo_windows(conn, volunteer.volunteer_id)
    roster = await rosters.ensure_roster(
        conn, org, organisation_id=org.organisation_id, committee_id=None, monday=monday, kind="shifts"
    )
    # The week planned twice on the same seed, so the run page shows what spreading hours does beside the plain plan:
    # first with hours spread, then with the weight back at 0. The plain plan is the newer, so only its proposals are
    # sent; the other is recorded (solved on the inputs it was opened with).
    solve_seed = rng.randrange(1000)
    await pins_sql.set_spread(conn, roster.id, DEMO_SPREAD)
    spread_run = await rosters.plan(conn, roster, org, reason="asked")
    spread_inputs = await rosters.RUNS.load(conn, roster.id)
    await pins_sql.set_spread(conn, roster.id, 0)
    run = await rosters.plan(conn, roster, org, reason="asked")
    made["roster_spread_run_id"] = spread_run.id
    await _solve(conn, spread_run, solve_seed, spread_inputs)
    made["roster_run_id"] = run.id
    made["roster_proposals"] = await _solve(conn, run, solve_seed)

    # Respite: certified carers near the committee, two households' entitlements, tomorrow planned as routes (three
    # more households), next week scheduled as shifts.
    households = await demo_sql.committee_households(conn, committee.committee_id, 5)
    if len(households) < 2:
        return made
    centre = households[0]
    # Volunteers with an account (they can log in to accept), nearest first; the demo volunteer is one of them.
    carers = await volunteering_sql.nearest_with_accounts(conn, volunteer.volunteer_id, centre.lat, centre.lon, 4)
    issued, expires = today - dt.timedelta(days=400), today + dt.timedelta(days=700)
    certificates = [(c, "elderly_carer", f"YL{rng.randrange(10**8):08d}", issued, expires) for c in carers]
    await demo_sql.add_certificates(conn, certificates)
    # The committee checked them: respite visits take verified certificates only.
    await verify_certificates(
        conn,
        certificates,
        verifier_account_id=committee.account_id,
        committee_id=committee.committee_id,
    )
    await volunteering_sql.ready_for_home_visits(conn, carers)
    await volunteering_sql.assess_care_level(conn, households[0].id)
    forms = [
        respite.EntitlementCreate(
            household_id=households[0].id,
            kind="care_level",
            valid_from=today,
            valid_until=today + dt.timedelta(days=90),
        ),
        respite.EntitlementCreate(
            household_id=households[1].id,
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
    # The demo volunteer (carers[0]) is org.leling's carer; the next three are the committee's.
    made["respite_route_visits"] = await seed_respite_day(
        conn, committee, carers[1:], [h.id for h in households[2:]], today
    )
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
