"""The roster and respite demo data: a finished run with proposals for the demo volunteer, respite scheduled."""

from __future__ import annotations

import datetime as dt
import random

from api.demo import seed_into
from api.demo.rosters import seed_rosters
from api.services.types import today


async def test_the_demo_volunteer_has_proposals_with_reasons_and_respite_is_scheduled(conn):
    await seed_into(conn, seed=1, scale=0.05, today=today(), volunteering=False)
    made = await seed_rosters(conn, random.Random(1), today())
    assert made["roster_proposals"] >= 2 and made["respite_requests"] >= 8 and made["respite_proposals"] >= 1
    # Tomorrow's respite visits planned as the committee's carers' routes (before next week went to shifts).
    assert made["respite_route_visits"] >= 3
    mine = await conn.fetch(
        "SELECT p.status, p.reasons FROM roster_proposals p JOIN volunteers v ON v.id = p.volunteer_id"
        " JOIN accounts a ON a.id = v.account_id WHERE a.username = 'volunteer.demo'"
    )
    assert len(mine) >= 2 and all(r["status"] == "proposed" for r in mine)
    run = await conn.fetchrow("SELECT status, result FROM match_runs WHERE id = $1", made["roster_run_id"])
    assert run["status"] == "succeeded"
    scheduled = await conn.fetchval(
        "SELECT count(*) FROM respite_requests WHERE status = 'scheduled' AND lower(wanted) >= $1",
        today() + dt.timedelta(days=1),
    )
    assert scheduled >= 1
