"""Saved places (活动室, 睦邻点): named points a committee keeps for its shifts and needs."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class PlaceRow(msgspec.Struct, frozen=True):
    """A committee's saved place (WGS-84), with the committee's name for pickers that list several committees."""

    id: int
    committee_id: int
    committee_name: str
    name: str
    kind: str
    address: str
    lat: float
    lon: float


class CentreRow(msgspec.Struct, frozen=True):
    """Where a picker opens: a committee's (or an organisation's first area's) area, point and name."""

    area_id: int
    name: str
    lat: float
    lon: float


_PLACE_SELECT = """
SELECT p.id, p.committee_id, c.name AS committee_name, p.name, p.kind, p.address, p.lat, p.lon
FROM saved_places p JOIN committees c ON c.id = p.committee_id
"""
SELECT_COMMITTEE_PLACES = _PLACE_SELECT + " WHERE p.committee_id = $1 ORDER BY p.name, p.id"
SELECT_COMMITTEE_PLACE = _PLACE_SELECT + " WHERE p.id = $1 AND p.committee_id = $2"
# An organisation sees the places of the committees in the areas it serves (a committee's area, its sub-district's
# or its district's), for publishing a shift there.
SELECT_ORGANISATION_PLACES = (
    _PLACE_SELECT
    + """
JOIN areas a ON a.id = c.area_id JOIN areas s ON s.id = a.parent_id
WHERE EXISTS (SELECT 1 FROM organisation_areas oa
              WHERE oa.organisation_id = $1 AND oa.area_id IN (a.id, s.id, s.parent_id))
ORDER BY c.name, p.name, p.id
LIMIT $2
"""
)
SELECT_COMMITTEE_CENTRE = """
SELECT c.area_id, c.name, a.lat, a.lon FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
"""
SELECT_ORGANISATION_CENTRE = """
SELECT a.id AS area_id, a.name, a.lat, a.lon FROM organisation_areas oa JOIN areas a ON a.id = oa.area_id
WHERE oa.organisation_id = $1 ORDER BY a.code LIMIT 1
"""
INSERT_PLACE = """
INSERT INTO saved_places (committee_id, name, kind, address, lat, lon, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""
UPDATE_PLACE = """
UPDATE saved_places SET name = $3, kind = $4, address = $5, lat = $6, lon = $7, updated_at = now()
WHERE id = $1 AND committee_id = $2
RETURNING id
"""
DELETE_PLACE = "DELETE FROM saved_places WHERE id = $1 AND committee_id = $2 RETURNING id"


async def committee_places(conn: asyncpg.Connection, committee_id: int) -> list[PlaceRow]:
    """A committee's own saved places, by name."""
    return await fetch_all(conn, SELECT_COMMITTEE_PLACES, PlaceRow, committee_id)


async def committee_place(conn: asyncpg.Connection, place_id: int, committee_id: int) -> PlaceRow | None:
    """One of the committee's own places; None for another committee's."""
    return await fetch_one(conn, SELECT_COMMITTEE_PLACE, PlaceRow, place_id, committee_id)


async def organisation_places(conn: asyncpg.Connection, organisation_id: int, limit: int) -> list[PlaceRow]:
    """The saved places of the committees an organisation serves, by committee and name (at most `limit`)."""
    return await fetch_all(conn, SELECT_ORGANISATION_PLACES, PlaceRow, organisation_id, limit)


async def committee_centre(conn: asyncpg.Connection, committee_id: int) -> CentreRow | None:
    """The committee's own point."""
    return await fetch_one(conn, SELECT_COMMITTEE_CENTRE, CentreRow, committee_id)


async def organisation_centre(conn: asyncpg.Connection, organisation_id: int) -> CentreRow | None:
    """The point of the first area an organisation serves."""
    return await fetch_one(conn, SELECT_ORGANISATION_CENTRE, CentreRow, organisation_id)


async def insert_place(
    conn: asyncpg.Connection,
    committee_id: int,
    name: str,
    kind: str,
    address: str,
    lat: float,
    lon: float,
    created_by: int | None,
) -> int:
    """Save a place for the committee; its id."""
    place_id: int = await conn.fetchval(INSERT_PLACE, committee_id, name, kind, address, lat, lon, created_by)
    return place_id


async def update_place(
    conn: asyncpg.Connection,
    place_id: int,
    committee_id: int,
    name: str,
    kind: str,
    address: str,
    lat: float,
    lon: float,
) -> bool:
    """Change one of the committee's own places; False when it has no such place."""
    return await conn.fetchval(UPDATE_PLACE, place_id, committee_id, name, kind, address, lat, lon) is not None


async def delete_place(conn: asyncpg.Connection, place_id: int, committee_id: int) -> bool:
    """Remove one of the committee's own places; False when it has no such place."""
    return await conn.fetchval(DELETE_PLACE, place_id, committee_id) is not None
