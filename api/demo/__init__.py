"""The demo district (`linli seed`, `linli up`): 杨浦区 with its committees, funders, organisations, volunteers and
households, a marketplace at every stage, and this week's volunteering; deterministic for a seed and a day.

district.py builds the district and runs the other parts in order: tendering.py (needs to graded contracts), then
volunteering.py (shifts.py, timebank.py, teams.py, rosters.py, notifications.py); each draws from its own random
stream (streams.py). Their SQL is in sql/demo*.py.
"""

from __future__ import annotations

from api.demo.district import (
    DEMO_LOGINS,
    DEMO_VOLUNTEERS_PASSWORD,
    AlreadySeededError,
    SeedReport,
    is_seeded,
    seed_demo,
    seed_into,
)

__all__ = [
    "DEMO_LOGINS",
    "DEMO_VOLUNTEERS_PASSWORD",
    "AlreadySeededError",
    "SeedReport",
    "is_seeded",
    "seed_demo",
    "seed_into",
]
