"""Spreading hours on the demo district's roster week: the Gini of hours and the places filled, off and on.

Run `pytest tests/test_rosters_spread_demo.py -m slow -s -p no:randomly -n 0` to print both side by side
(docs/optimiser-people.md, "Rules: plans people can steer").
"""

from __future__ import annotations

import sys

import msgspec
import pytest

from api.demo import seed_into
from api.services import rosters
from api.services.types import today
from matching import roster as roster_model
from sql import rosters as rosters_sql
from sql.rows import with_json

SPREAD_ON = 100
WORK = 1.5


# The demo gives an account (needed to accept a proposal) to one volunteer only, and verifies few dates of birth and
# insurances; the measure takes the district's volunteers as if each had an account and their declared date of
# birth and insurance were verified, so the week is the demo's shifts against its ~1,000 volunteers (scale 0.05).
EVERYONE = (
    rosters_sql.SELECT_ROSTER_VOLUNTEERS.replace("JOIN accounts a ON a.id = v.account_id AND a.disabled_at IS NULL", "")
    .replace(
        """(SELECT ik.expires_on FROM credential_checks ik
        WHERE ik.id = v.insurance_check_id AND ik.state = 'verified') AS insured_until""",
        "v.insured_until",
    )
    .replace(
        """(SELECT pk.born_on FROM credential_checks pk
        WHERE pk.id = v.birth_date_check_id AND pk.state = 'verified') AS proven_birth_date""",
        "coalesce(v.birth_date, make_date(v.birth_year, 1, 1)) AS proven_birth_date",
    )
)


async def _everyone(conn, week_starts, week_from, week_until):
    rows = await conn.fetch(EVERYONE, week_starts, week_from, week_until)
    return [with_json(r, rosters_sql.RosterVolunteerRow, "windows", "exceptions", "busy") for r in rows]


@pytest.mark.slow
async def test_spreading_hours_on_the_demo_week_lowers_the_gini_and_keeps_the_places(conn, monkeypatch):
    # The demo district as `linli seed` writes it (volunteering included: its shifts, then the roster week).
    await seed_into(conn, seed=1, scale=0.05, today=today(), volunteering=True)
    assert EVERYONE.count("credential_checks") == rosters_sql.SELECT_ROSTER_VOLUNTEERS.count("credential_checks") - 2
    monkeypatch.setattr(rosters_sql, "roster_volunteers", _everyone)
    roster_id = await conn.fetchval("SELECT id FROM rosters WHERE kind = 'shifts' ORDER BY id LIMIT 1")
    roster = await rosters_sql.get_roster(conn, roster_id)
    assert roster is not None
    inputs = await rosters.load_inputs(conn, roster)
    # A fresh week (no current plan to keep), both ways on the same work budget.
    problem = msgspec.structs.replace(inputs.problem, previous=tuple(inputs.continuity))
    off = roster_model.solve(problem, time_limit_s=20, seed=1, work=WORK)
    on = roster_model.solve(msgspec.structs.replace(problem, spread=SPREAD_ON), time_limit_s=20, seed=1, work=WORK)
    places = sum(s.headcount for s in problem.shifts)
    # The figures side by side, for `-s` (the documented command).
    sys.stdout.write(
        f"\ndemo roster week: {len(problem.volunteers)} volunteers, {len(problem.shifts)} shifts, {places} places;"
        f" {off.eligible_volunteers} volunteers with an eligible pair\n"
        "spread | places filled | Gini of hours, proposed volunteers | Gini of hours, eligible incl. zeros\n"
        f"     0 | {len(off.assignments):13} | {off.hours_gini_assigned:34.4f} | {off.hours_gini:.4f}\n"
        f"   {SPREAD_ON} | {len(on.assignments):13} | {on.hours_gini_assigned:34.4f} | {on.hours_gini:.4f}\n"
    )
    assert off.hours_gini_assigned > 0 and off.assignments
    # Over the volunteers proposed at all: at least 20% lower, at most 3% fewer places.
    assert on.hours_gini_assigned <= 0.8 * off.hours_gini_assigned
    assert len(on.assignments) >= 0.97 * len(off.assignments)
    # Over every eligible volunteer (zeros included) it can only fall a little here: 35 places for ~800 people
    # leave it at least 1 - 35/800; it falls all the same.
    assert on.hours_gini < off.hours_gini
