"""Figures for the home pages: what exists so far, per role."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.rows import fetch_one


class PlatformFigures(msgspec.Struct, frozen=True):
    """Counts across the platform (admin and public)."""

    subdistricts: int
    committees: int
    funders: int
    organisations_verified: int
    organisations_pending: int
    volunteers: int
    households: int
    accounts: int


class CommitteeFigures(msgspec.Struct, frozen=True):
    """What a committee has in its area: volunteers living there, households it lists, organisations serving it."""

    volunteers_living_here: int
    households_listed: int
    organisations_serving: int


class FunderFigures(msgspec.Struct, frozen=True):
    """What lies in a funder's area."""

    committees: int
    organisations_serving: int
    volunteers: int


# One row of a materialised view (migration 0030): counting whole tables on every home page is too slow for a city.
SELECT_PLATFORM_FIGURES = """
SELECT subdistricts, committees, funders, organisations_verified, organisations_pending, volunteers, households,
       accounts
FROM platform_figures
"""
REFRESH_PLATFORM_FIGURES = "REFRESH MATERIALIZED VIEW CONCURRENTLY platform_figures"
SELECT_COMMITTEE_FIGURES = """
SELECT (SELECT count(*) FROM volunteers v WHERE v.home_area_id = c.area_id)::int AS volunteers_living_here,
       (SELECT count(*) FROM households h WHERE h.committee_id = c.id AND h.archived_at IS NULL)::int
           AS households_listed,
       (SELECT count(*) FROM organisation_areas oa JOIN organisations o ON o.id = oa.organisation_id
        JOIN areas a ON a.id = c.area_id
        WHERE oa.area_id = a.parent_id AND o.status = 'verified')::int AS organisations_serving
FROM committees c WHERE c.id = $1
"""
# A funder's area is a sub-district (office, foundation) or the whole district (district foundation).
SELECT_FUNDER_FIGURES = """
WITH scope AS (
    SELECT a.id FROM funders f JOIN areas a ON a.id = f.area_id OR a.parent_id = f.area_id
    WHERE f.id = $1 AND a.level = 'subdistrict'
)
SELECT (SELECT count(*) FROM committees c JOIN areas a ON a.id = c.area_id
        WHERE a.parent_id IN (SELECT id FROM scope))::int AS committees,
       (SELECT count(DISTINCT oa.organisation_id) FROM organisation_areas oa
        JOIN organisations o ON o.id = oa.organisation_id
        WHERE oa.area_id IN (SELECT id FROM scope) AND o.status = 'verified')::int AS organisations_serving,
       (SELECT count(*) FROM volunteers v JOIN areas a ON a.id = v.home_area_id
        WHERE a.parent_id IN (SELECT id FROM scope))::int AS volunteers
"""


async def platform_figures(conn: asyncpg.Connection) -> PlatformFigures:
    """Counts across the platform, as of the view's last refresh."""
    return msgspec.convert(await conn.fetchrow(SELECT_PLATFORM_FIGURES), PlatformFigures)


async def refresh_platform_figures(conn: asyncpg.Connection) -> None:
    """Count the platform again (readers keep the old figures until the new ones are in)."""
    await conn.execute(REFRESH_PLATFORM_FIGURES)


async def committee_figures(conn: asyncpg.Connection, committee_id: int) -> CommitteeFigures | None:
    """Counts for one committee's area."""
    return await fetch_one(conn, SELECT_COMMITTEE_FIGURES, CommitteeFigures, committee_id)


async def funder_figures(conn: asyncpg.Connection, funder_id: int) -> FunderFigures:
    """Counts for one funder's area."""
    return msgspec.convert(await conn.fetchrow(SELECT_FUNDER_FIGURES, funder_id), FunderFigures)
