"""Areas (district › sub-district › committee), committees, funders and the service catalogue."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.directory import COMMITTEE_FACTS_COLUMNS, CommitteeFactsRow
from sql.rows import fetch_all, fetch_one


class AreaRow(msgspec.Struct, frozen=True):
    """One area with its parent and the number of areas directly under it."""

    id: int
    parent_id: int | None
    level: str
    code: str
    name: str
    lat: float
    lon: float
    children: int


class CatalogueItemPublic(msgspec.Struct, frozen=True):
    """What the API may show of a purchasable service from the catalogue (by its code)."""

    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    personal: bool


class CatalogueItemRow(CatalogueItemPublic, frozen=True):
    """A purchasable service from the catalogue."""

    id: int


class FunderRow(msgspec.Struct, frozen=True):
    """A sub-district office or community foundation."""

    id: int
    kind: str
    name: str
    area_id: int
    area_name: str


class CommitteeRow(CommitteeFactsRow, frozen=True):
    """A residents' committee and the area it serves."""

    subdistrict_name: str


SELECT_AREAS = """
SELECT a.id, a.parent_id, a.level, a.code, a.name, a.lat, a.lon,
       (SELECT count(*) FROM areas c WHERE c.parent_id = a.id)::int AS children
FROM areas a
WHERE ($1::bigint IS NULL AND a.parent_id IS NULL) OR a.parent_id = $1
ORDER BY a.code
"""
SELECT_AREA = """
SELECT a.id, a.parent_id, a.level, a.code, a.name, a.lat, a.lon,
       (SELECT count(*) FROM areas c WHERE c.parent_id = a.id)::int AS children
FROM areas a WHERE a.id = $1
"""
SELECT_AREA_PATH = """
WITH RECURSIVE up AS (
    SELECT id, parent_id, level, code, name, lat, lon, 0 AS depth FROM areas WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, a.level, a.code, a.name, a.lat, a.lon, up.depth + 1
    FROM areas a JOIN up ON a.id = up.parent_id
)
SELECT id, parent_id, level, code, name, lat, lon, 0 AS children FROM up ORDER BY depth DESC
"""
SELECT_CATALOGUE = """
SELECT id, code, name_zh, name_en, description_zh, description_en, personal
FROM catalogue_items ORDER BY sort_order, id
"""
SELECT_CATALOGUE_ITEM = """
SELECT id, code, name_zh, name_en, description_zh, description_en, personal
FROM catalogue_items WHERE code = $1
"""
SELECT_FUNDER = """
SELECT f.id, f.kind, f.name, f.area_id, a.name AS area_name
FROM funders f JOIN areas a ON a.id = f.area_id WHERE f.id = $1
"""
SELECT_COMMITTEE = f"""
SELECT {COMMITTEE_FACTS_COLUMNS}, s.name AS subdistrict_name
FROM committees c JOIN areas a ON a.id = c.area_id JOIN areas s ON s.id = a.parent_id
WHERE c.id = $1
"""


async def list_areas(conn: asyncpg.Connection, parent_id: int | None) -> list[AreaRow]:
    """The areas directly under a parent (the districts when parent is None)."""
    return await fetch_all(conn, SELECT_AREAS, AreaRow, parent_id)


async def get_area(conn: asyncpg.Connection, area_id: int) -> AreaRow | None:
    """One area by id."""
    return await fetch_one(conn, SELECT_AREA, AreaRow, area_id)


async def area_path(conn: asyncpg.Connection, area_id: int) -> list[AreaRow]:
    """The chain from the district down to this area."""
    return await fetch_all(conn, SELECT_AREA_PATH, AreaRow, area_id)


async def list_catalogue(conn: asyncpg.Connection) -> list[CatalogueItemRow]:
    """Every catalogue item, in display order."""
    return await fetch_all(conn, SELECT_CATALOGUE, CatalogueItemRow)


async def get_catalogue_item(conn: asyncpg.Connection, code: str) -> CatalogueItemRow | None:
    """One catalogue item by code."""
    return await fetch_one(conn, SELECT_CATALOGUE_ITEM, CatalogueItemRow, code)


async def get_funder(conn: asyncpg.Connection, funder_id: int) -> FunderRow | None:
    """One funder by id."""
    return await fetch_one(conn, SELECT_FUNDER, FunderRow, funder_id)


async def get_committee(conn: asyncpg.Connection, committee_id: int) -> CommitteeRow | None:
    """One committee by id."""
    return await fetch_one(conn, SELECT_COMMITTEE, CommitteeRow, committee_id)


class OutlineRow(msgspec.Struct, frozen=True):
    """An area's outline as stored: GeoJSON text (WGS-84) and whether it is approximate."""

    id: int
    name: str
    level: str
    outline: str
    approximate: bool


SELECT_AREA_OUTLINES = """
SELECT a.id, a.name, a.level, a.outline::text AS outline, a.outline_approximate AS approximate
FROM areas a
WHERE a.outline IS NOT NULL AND a.level IN ('subdistrict', 'committee')
  AND ($1::bigint IS NULL OR a.id = $1 OR a.parent_id = $1)
ORDER BY a.level DESC, a.code
"""
UPDATE_AREA_OUTLINE = """
UPDATE areas SET outline = $2::jsonb, outline_approximate = $3 WHERE id = $1
"""


async def area_outlines(conn: asyncpg.Connection, area_id: int | None) -> list[OutlineRow]:
    """Sub-districts' and committees' outlines, sub-districts first (of one area and the areas directly under it)."""
    return await fetch_all(conn, SELECT_AREA_OUTLINES, OutlineRow, area_id)


async def set_outlines(conn: asyncpg.Connection, rows: list[tuple[int, str, bool]]) -> None:
    """(area id, GeoJSON text, approximate) each: store the areas' outlines."""
    await conn.executemany(UPDATE_AREA_OUTLINE, rows)
