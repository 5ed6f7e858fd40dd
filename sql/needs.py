"""Committees' needs: what, for how many, where, when; the households of personal needs; the map's points."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class NeedPublic(msgspec.Struct, frozen=True):
    """What the API may show of a need: its committee, sub-district and catalogue item by name (no household data)."""

    id: int
    committee_id: int
    committee_name: str
    subdistrict_id: int
    subdistrict_name: str
    catalogue_code: str
    catalogue_name_zh: str
    catalogue_name_en: str
    personal: bool
    title: str
    description: str
    beneficiaries: int
    households: int
    lat: float
    lon: float
    starts_on: dt.date
    ends_on: dt.date
    schedule: str | None
    urgency: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class NeedRow(NeedPublic, frozen=True):
    """A need with the ids the services match and check it by (its committee's area, its catalogue item)."""

    committee_area_id: int
    catalogue_item_id: int


class NeedFields(msgspec.Struct, frozen=True):
    """What a committee stores of a need (checked by the use case)."""

    catalogue_item_id: int
    title: str
    description: str
    beneficiaries: int
    lat: float
    lon: float
    starts_on: dt.date
    ends_on: dt.date
    schedule: str | None
    urgency: str


class HouseholdChoiceRow(msgspec.Struct, frozen=True):
    """One of a committee's own households, by id and full address (masked before it leaves the service)."""

    id: int
    address: str
    members: int


class PointRow(msgspec.Struct, frozen=True):
    """A point on the district map: a committee (with its open needs) or a need."""

    id: int
    name: str
    lat: float
    lon: float
    subdistrict_id: int


class BoundsRow(msgspec.Struct, frozen=True):
    """The extent of the district's areas, for scaling the map."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


_NEED_SELECT = """
SELECT n.id, n.committee_id, c.name AS committee_name, c.area_id AS committee_area_id,
       s.id AS subdistrict_id, s.name AS subdistrict_name,
       n.catalogue_item_id, ci.code AS catalogue_code, ci.name_zh AS catalogue_name_zh,
       ci.name_en AS catalogue_name_en, ci.personal,
       n.title, n.description, n.beneficiaries,
       (SELECT count(*) FROM need_households nh WHERE nh.need_id = n.id)::int AS households,
       n.lat, n.lon, n.starts_on, n.ends_on, n.schedule, n.urgency, n.status, n.created_at, n.updated_at
FROM needs n
JOIN committees c ON c.id = n.committee_id
JOIN areas ca ON ca.id = c.area_id
JOIN areas s ON s.id = ca.parent_id
JOIN catalogue_items ci ON ci.id = n.catalogue_item_id
"""
SELECT_NEED = _NEED_SELECT + " WHERE n.id = $1"
# Filters: sub-district, committee, catalogue code, status; $5 limits to an area and what lies under it
# (a funder's sub-district, or the whole district).
_NEED_FILTER = """
WHERE ($1::bigint IS NULL OR s.id = $1)
  AND ($2::bigint IS NULL OR n.committee_id = $2)
  AND ($3::text IS NULL OR ci.code = $3)
  AND ($4::text IS NULL OR n.status = $4)
  AND ($5::bigint IS NULL OR $5 IN (ca.id, s.id, s.parent_id))
"""
SELECT_NEEDS = (
    _NEED_SELECT
    + _NEED_FILTER
    + """
ORDER BY CASE n.urgency WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, n.id DESC
LIMIT $6 OFFSET $7
"""
)
COUNT_NEEDS = (
    """
SELECT count(*) FROM needs n
JOIN committees c ON c.id = n.committee_id
JOIN areas ca ON ca.id = c.area_id
JOIN areas s ON s.id = ca.parent_id
JOIN catalogue_items ci ON ci.id = n.catalogue_item_id
"""
    + _NEED_FILTER
)
SELECT_COMMITTEE_PLACE = """
SELECT c.id, c.name, a.lat, a.lon, a.parent_id AS subdistrict_id
FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
"""
SELECT_CATALOGUE_ITEM_ID = "SELECT id, personal FROM catalogue_items WHERE code = $1"
INSERT_NEED = """
INSERT INTO needs (committee_id, catalogue_item_id, title, description, beneficiaries, lat, lon,
                   starts_on, ends_on, schedule, urgency, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id
"""
# Only the need's own committee may change it, and only while no tender has taken it up.
UPDATE_NEED = """
UPDATE needs SET catalogue_item_id = $3, title = $4, description = $5, beneficiaries = $6, lat = $7, lon = $8,
                 starts_on = $9, ends_on = $10, schedule = $11, urgency = $12, updated_at = now()
WHERE id = $1 AND committee_id = $2 AND status = 'open' RETURNING id
"""
CLOSE_NEED = """
UPDATE needs SET status = 'closed', updated_at = now()
WHERE id = $1 AND committee_id = $2 AND status = 'open' RETURNING id
"""
NEED_STATUS_FOR_COMMITTEE = "SELECT status FROM needs WHERE id = $1 AND committee_id = $2"
DELETE_NEED_HOUSEHOLDS = "DELETE FROM need_households WHERE need_id = $1"
# Only households of the need's own committee can be attached; the count back tells whether all were.
INSERT_NEED_HOUSEHOLDS = """
WITH added AS (
    INSERT INTO need_households (need_id, household_id)
    SELECT $1, h.id FROM households h
    WHERE h.id = ANY($2::bigint[]) AND h.committee_id = $3 AND h.archived_at IS NULL
    RETURNING household_id
)
SELECT count(*) FROM added
"""
SELECT_COMMITTEE_HOUSEHOLDS = """
SELECT id, address, members FROM households WHERE committee_id = $1 AND archived_at IS NULL
ORDER BY address, id LIMIT $2
"""
SELECT_NEED_HOUSEHOLDS = """
SELECT h.id, h.address, h.members FROM need_households nh JOIN households h ON h.id = nh.household_id
WHERE nh.need_id = $1 AND h.committee_id = $2 ORDER BY h.address, h.id
"""
SELECT_NEED_HOUSEHOLD_IDS = "SELECT household_id FROM need_households WHERE need_id = $1 ORDER BY household_id"
# The map: every committee of the district (or of one sub-district) and the needs that match the filters.
SELECT_COMMITTEE_POINTS = """
SELECT c.id, c.name, a.lat, a.lon, a.parent_id AS subdistrict_id
FROM committees c JOIN areas a ON a.id = c.area_id
WHERE ($1::bigint IS NULL OR a.parent_id = $1)
ORDER BY c.id
"""
SELECT_AREA_BOUNDS = """
SELECT min(lat) AS min_lat, max(lat) AS max_lat, min(lon) AS min_lon, max(lon) AS max_lon
FROM areas WHERE level IN ('subdistrict', 'committee')
"""
# Needs of an area that a funder may put into a tender: open, of one catalogue item.
SELECT_OPEN_NEEDS_IN_AREA = (
    _NEED_SELECT
    + """
WHERE n.status = 'open' AND $1 IN (ca.id, s.id, s.parent_id) AND ($2::bigint IS NULL OR n.catalogue_item_id = $2)
ORDER BY n.id
LIMIT 500
"""
)


async def get_need(conn: asyncpg.Connection, need_id: int) -> NeedRow | None:
    """One need by id."""
    return await fetch_one(conn, SELECT_NEED, NeedRow, need_id)


async def list_needs(
    conn: asyncpg.Connection,
    *,
    subdistrict_id: int | None,
    committee_id: int | None,
    category: str | None,
    status: str | None,
    within_area_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[NeedRow], int]:
    """A page of needs matching the filters, and the total."""
    args = (subdistrict_id, committee_id, category, status, within_area_id)
    rows = await conn.fetch(SELECT_NEEDS, *args, limit, offset)
    total = await conn.fetchval(COUNT_NEEDS, *args)
    return [msgspec.convert(r, NeedRow) for r in rows], int(total)


async def committee_place(conn: asyncpg.Connection, committee_id: int) -> PointRow | None:
    """A committee's name and the point of its area."""
    return await fetch_one(conn, SELECT_COMMITTEE_PLACE, PointRow, committee_id)


async def catalogue_item_by_code(conn: asyncpg.Connection, code: str) -> tuple[int, bool] | None:
    """A catalogue item's id and whether it is a personal service."""
    record = await conn.fetchrow(SELECT_CATALOGUE_ITEM_ID, code)
    return None if record is None else (int(record["id"]), bool(record["personal"]))


async def insert_need(conn: asyncpg.Connection, committee_id: int, f: NeedFields, created_by: int) -> int:
    """Store a new open need; returns its id."""
    need_id = await conn.fetchval(
        INSERT_NEED, committee_id, f.catalogue_item_id, f.title, f.description, f.beneficiaries, f.lat, f.lon,
        f.starts_on, f.ends_on, f.schedule, f.urgency, created_by,
    )  # fmt: skip
    return int(need_id)


async def update_need(conn: asyncpg.Connection, need_id: int, committee_id: int, f: NeedFields) -> bool:
    """Change the committee's own open need; False if it is not theirs or no longer open."""
    found = await conn.fetchval(
        UPDATE_NEED, need_id, committee_id, f.catalogue_item_id, f.title, f.description, f.beneficiaries, f.lat,
        f.lon, f.starts_on, f.ends_on, f.schedule, f.urgency,
    )  # fmt: skip
    return found is not None


async def close_need(conn: asyncpg.Connection, need_id: int, committee_id: int) -> bool:
    """Close the committee's own open need; False otherwise."""
    return await conn.fetchval(CLOSE_NEED, need_id, committee_id) is not None


async def need_status_for_committee(conn: asyncpg.Connection, need_id: int, committee_id: int) -> str | None:
    """The status of a need if it belongs to the committee, else None."""
    value = await conn.fetchval(NEED_STATUS_FOR_COMMITTEE, need_id, committee_id)
    return None if value is None else str(value)


async def replace_need_households(
    conn: asyncpg.Connection, need_id: int, committee_id: int, household_ids: list[int]
) -> int:
    """Attach exactly these households (the committee's own only); returns how many were attached."""
    await conn.execute(DELETE_NEED_HOUSEHOLDS, need_id)
    if not household_ids:
        return 0
    return int(await conn.fetchval(INSERT_NEED_HOUSEHOLDS, need_id, household_ids, committee_id))


async def committee_households(conn: asyncpg.Connection, committee_id: int, limit: int) -> list[HouseholdChoiceRow]:
    """The committee's own households."""
    return await fetch_all(conn, SELECT_COMMITTEE_HOUSEHOLDS, HouseholdChoiceRow, committee_id, limit)


async def need_households(conn: asyncpg.Connection, need_id: int, committee_id: int) -> list[HouseholdChoiceRow]:
    """The households of a need, read only through its own committee."""
    return await fetch_all(conn, SELECT_NEED_HOUSEHOLDS, HouseholdChoiceRow, need_id, committee_id)


async def committee_points(conn: asyncpg.Connection, subdistrict_id: int | None) -> list[PointRow]:
    """Every committee's point, optionally of one sub-district."""
    return await fetch_all(conn, SELECT_COMMITTEE_POINTS, PointRow, subdistrict_id)


async def area_bounds(conn: asyncpg.Connection) -> BoundsRow | None:
    """The extent of the sub-districts and committees; None when there are none."""
    record = await conn.fetchrow(SELECT_AREA_BOUNDS)
    if record is None or record["min_lat"] is None:
        return None
    return msgspec.convert(record, BoundsRow)


async def open_needs_in_area(conn: asyncpg.Connection, area_id: int, catalogue_item_id: int | None) -> list[NeedRow]:
    """Open needs at or under an area, optionally of one catalogue item."""
    return await fetch_all(conn, SELECT_OPEN_NEEDS_IN_AREA, NeedRow, area_id, catalogue_item_id)
