"""Demo respite routes (issue 14, step 3): committee.kailu4 plans tomorrow's respite visits as its volunteer carers'
routes, so a committee user who logs in finds a planned board at /visits/respite (tomorrow).

Three of the certified volunteers the roster demo verified are on its respite roster, joined; three more of its
households ask for their week's visit tomorrow, beside the entitlements' own requests; the afternoon's first needs
two carers at once (a bedridden elder lifted by two), so the board shows a two-carer visit. The day is planned through
the committee's rule (api.services.respite_days: its pending requests routed, audited) and the visits pipeline,
solved here as the contract's days are (api.demo.visits). Run before next week is scheduled as shifts: a day is shifts
or routes, never both, and tomorrow may be next week's Monday.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from api.demo.visits import SPEEDS, solve_day
from api.services import respite, respite_days
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid
from api.services.types import SHANGHAI
from api.services.visits import PlanDay
from sql import demo_visits as demo_sql
from sql import respite as respite_sql
from sql import visits as visits_sql
from sql.visits import CarerFields

ROUTE_CARERS = 3
# The three more households' visit tomorrow: when the committee told the family, for how long (minutes), and by how
# many carers at once.
ASKED = ((dt.time(9, 30), 120, 1), (dt.time(14, 0), 90, 2), (dt.time(15, 0), 60, 1))


async def seed_respite_day(
    conn: asyncpg.Connection, committee: Identity, volunteer_ids: list[int], household_ids: list[int], today: dt.date
) -> int:
    """Put the certified volunteers on the committee's respite roster (joined), ask for the households' visits
    tomorrow and plan the day as routes; how many visits it holds (0 for a demo seeded on a past day)."""
    committee_id = committee.committee_id_or_refuse(respite_days.ONLY_COMMITTEES)
    tomorrow = today + dt.timedelta(days=1)
    joined = dt.datetime.combine(today, dt.time(9, 0), tzinfo=SHANGHAI) - dt.timedelta(days=10)
    for k, volunteer_id in enumerate(volunteer_ids[:ROUTE_CARERS]):
        me = await demo_sql.volunteer(conn, volunteer_id)
        fields = CarerFields(
            name=me.display_name, lat=me.lat, lon=me.lon, work_days=[1, 2, 3, 4, 5, 6, 7],
            work_starts=dt.time(8, 0), work_ends=dt.time(17, 0),
            travel_mode="walk" if k == ROUTE_CARERS - 1 else "ebike", active=True,
        )  # fmt: skip
        await visits_sql.insert_carer(conn, None, volunteer_id, fields, joined, committee_id)
    for household_id, (starts, minutes, carers_needed) in zip(household_ids, ASKED, strict=False):
        form = respite.EntitlementCreate(
            household_id=household_id, kind="visits", amount=1, period="week", starts=starts, visit_minutes=minutes,
            valid_from=today, valid_until=today + dt.timedelta(days=90),
        )  # fmt: skip
        entitlement = await respite.record_entitlement(conn, committee, form)
        at = dt.datetime.combine(tomorrow, starts, tzinfo=SHANGHAI)
        await respite_sql.insert_requests(conn, entitlement.id, [at], committee.account_id, carers_needed)
    try:
        day_id = await respite_days.plan_subject(committee, PlanDay(day=tomorrow), SPEEDS, respite.DEFAULT_CERTIFICATE)(
            conn
        )
    except (Conflict, Invalid):
        # A demo seeded for a day already past (tests pin the day): nothing to plan.
        return 0
    return await solve_day(conn, committee.account_id, day_id)
