"""The demo's home visits: the households a home-care contract serves near the demo committee, and the volunteers
who become an organisation's carers (their SQL; api/demo/visits.py decides)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
import msgspec

from sql.rows import fetch_all


class DemoHouseholdRow(msgspec.Struct, frozen=True):
    """A household near the demo committee and its committee."""

    id: int
    committee_id: int


class DemoCarerRow(msgspec.Struct, frozen=True):
    """A consenting volunteer near the households who is free that day."""

    id: int
    display_name: str
    lat: float
    lon: float


# Households with a care level nearest the committee, without a live 311 team (they have their visits already).
SELECT_CARE_HOUSEHOLDS = """
SELECT h.id, h.committee_id
FROM households h, committees c JOIN areas a ON a.id = c.area_id
WHERE c.id = $1 AND h.archived_at IS NULL AND h.care_level IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.household_id = h.id AND t.status = 'live')
ORDER BY earth_distance(ll_to_earth(a.lat, a.lon), ll_to_earth(h.lat, h.lon)), h.id
LIMIT $2
"""
# Consenting volunteers within reach of the households, in no team, holding no elderly-care or
# nurse certificate yet (the demo gives them theirs) and free on the days to plan.
SELECT_FREE_CARERS = """
SELECT v.id, v.display_name, v.lat, v.lon FROM volunteers v
WHERE v.sensitive_data_consent_at IS NOT NULL AND v.id <> ALL ($4::bigint[])
  AND EXISTS (SELECT 1 FROM households h WHERE h.id = ANY ($1::bigint[])
              AND earth_distance(ll_to_earth(h.lat, h.lon), ll_to_earth(v.lat, v.lon)) <= $2 * 1000.0)
  AND NOT EXISTS (SELECT 1 FROM volunteer_certificates vc WHERE vc.volunteer_id = v.id
                  AND vc.kind IN ('elderly_carer', 'nurse'))
  AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.volunteer_id = v.id AND m.until IS NULL)
  AND NOT EXISTS (SELECT 1 FROM commitments cm WHERE cm.volunteer_id = v.id AND cm.status = 'active'
                  AND cm.during && tstzrange($5, $6))
ORDER BY v.id LIMIT $3
"""

SELECT_VOLUNTEER = "SELECT id, display_name, lat, lon FROM volunteers WHERE id = $1"


async def volunteer(conn: asyncpg.Connection, volunteer_id: int) -> DemoCarerRow:
    """A volunteer's name and home point."""
    row = await conn.fetchrow(SELECT_VOLUNTEER, volunteer_id)
    assert row is not None
    return msgspec.convert(dict(row), DemoCarerRow)


async def care_households(conn: asyncpg.Connection, committee_id: int, limit: int) -> list[DemoHouseholdRow]:
    """Households with a care level nearest the committee, without a live team."""
    return await fetch_all(conn, SELECT_CARE_HOUSEHOLDS, DemoHouseholdRow, committee_id, limit)


async def free_carers(
    conn: asyncpg.Connection, household_ids: Sequence[int], km: float, limit: int, leave_out: Sequence[int],
    free_from: dt.datetime, free_until: dt.datetime,
) -> list[DemoCarerRow]:  # fmt: skip
    """Volunteers near the households with no commitment between the two times, and no care certificate yet."""
    return await fetch_all(
        conn, SELECT_FREE_CARERS, DemoCarerRow, list(household_ids), km, limit, list(leave_out), free_from, free_until
    )
