"""Spreading hours on the demo district's roster week: the Gini of hours and the places filled, off and on.

Run `pytest tests/test_rosters_spread_demo.py -m slow -s -p no:randomly -n 0` to print both side by side
(docs/optimiser-people.md, "Rules: plans people can steer"). The week is the demo's as `linli seed` writes it: its
volunteers have accounts and the claims of those who held places are verified, nobody is treated otherwise.
"""

from __future__ import annotations

import sys

import msgspec
import pytest

from api.demo import seed_into
from api.demo.rosters import DEMO_SPREAD
from api.services import rosters
from api.services.types import today
from matching import roster as roster_model
from sql import rosters as rosters_sql

WORK = 1.5


@pytest.mark.slow
async def test_spreading_hours_on_the_demo_week_lowers_the_gini_and_keeps_the_places(conn):
    # The demo district as `linli seed` writes it (volunteering included: its shifts, then the roster week).
    report = await seed_into(conn, seed=1, scale=0.05, today=today(), volunteering=True)
    # Every volunteer can log in (and so be proposed and accept): the demo's logins and one account per volunteer.
    assert report.accounts == await conn.fetchval("SELECT count(*) FROM accounts")
    assert await conn.fetchval("SELECT count(*) FROM volunteers WHERE account_id IS NULL") == 0
    roster_id = await conn.fetchval("SELECT id FROM rosters WHERE kind = 'shifts' ORDER BY id LIMIT 1")
    roster = await rosters_sql.get_roster(conn, roster_id)
    assert roster is not None
    inputs = await rosters.load_inputs(conn, roster)
    # A fresh week (no current plan to keep), both ways on the same work budget.
    problem = msgspec.structs.replace(inputs.problem, previous=tuple(inputs.continuity), spread=0)
    off = roster_model.solve(problem, time_limit_s=20, seed=1, work=WORK)
    on = roster_model.solve(msgspec.structs.replace(problem, spread=DEMO_SPREAD), time_limit_s=20, seed=1, work=WORK)
    places = sum(s.headcount for s in problem.shifts)
    # The figures side by side, for `-s` (the documented command).
    sys.stdout.write(
        f"\ndemo roster week: {len(problem.volunteers)} volunteers within reach, {len(problem.shifts)} shifts,"
        f" {places} places; {off.eligible_volunteers} volunteers with an eligible pair\n"
        "spread | places filled | Gini of hours, proposed volunteers | Gini of hours, eligible incl. zeros\n"
        f"     0 | {len(off.assignments):13} | {off.hours_gini_assigned:34.4f} | {off.hours_gini:.4f}\n"
        f"   {DEMO_SPREAD} | {len(on.assignments):13} | {on.hours_gini_assigned:34.4f} | {on.hours_gini:.4f}\n"
    )
    # More than a handful of people share the week's places, so the Gini means something.
    assert len(off.assignments) >= 20 and len({a.volunteer for a in off.assignments}) >= 10
    assert off.hours_gini_assigned > 0
    # Over the volunteers proposed at all: at least 20% lower, at most 3% fewer places.
    assert on.hours_gini_assigned <= 0.8 * off.hours_gini_assigned
    assert len(on.assignments) >= 0.97 * len(off.assignments)
    # Over every eligible volunteer (zeros included) it can only fall a little: some 40 places for ~700 people
    # leave it at least 1 - 40/700; it falls all the same.
    assert on.hours_gini < off.hours_gini
