"""Choice lists for forms and browsing: committees by sub-district, sub-districts, funders, committee facts."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.rows import fetch_all


class CommitteeOptionRow(msgspec.Struct, frozen=True):
    """A committee-level area someone can choose; committee_id is None when no committee record exists yet."""

    area_id: int
    committee_id: int | None
    name: str


class SubdistrictGroupRow(msgspec.Struct, frozen=True):
    """A sub-district with the committee areas under it."""

    id: int
    name: str
    district_name: str
    committees: list[CommitteeOptionRow]


class SubdistrictRow(msgspec.Struct, frozen=True):
    """A sub-district and the district it lies in."""

    id: int
    name: str
    district_name: str


class FunderOptionRow(msgspec.Struct, frozen=True):
    """A funder someone can choose."""

    id: int
    kind: str
    name: str
    area_name: str


class CommitteeFactsRow(msgspec.Struct, frozen=True):
    """A residents' committee's public facts (no personal data)."""

    id: int
    area_id: int
    name: str
    staff_count: int
    residents: int
    households: int


# The columns of CommitteeFactsRow, over committees c.
COMMITTEE_FACTS_COLUMNS = "c.id, c.area_id, c.name, c.staff_count, c.residents, c.households"


# The committees of each sub-district are nested in PostgreSQL so one row comes back per sub-district.
SELECT_COMMITTEES_BY_SUBDISTRICT = """
SELECT s.id, s.name, d.name AS district_name,
       coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', a.id, 'committee_id', c.id,
                                                     'name', coalesce(c.name, a.name))
                                  ORDER BY a.code)
                 FROM areas a LEFT JOIN committees c ON c.area_id = a.id
                 WHERE a.parent_id = s.id AND a.level = 'committee'), '[]'::jsonb)::text AS committees
FROM areas s JOIN areas d ON d.id = s.parent_id
WHERE s.level = 'subdistrict'
ORDER BY d.code, s.code
"""
SELECT_SUBDISTRICTS = """
SELECT s.id, s.name, d.name AS district_name
FROM areas s JOIN areas d ON d.id = s.parent_id
WHERE s.level = 'subdistrict'
ORDER BY d.code, s.code
"""
SELECT_FUNDERS = """
SELECT f.id, f.kind, f.name, a.name AS area_name
FROM funders f JOIN areas a ON a.id = f.area_id
ORDER BY f.kind DESC, a.code, f.name
"""
SELECT_COMMITTEES_IN = f"""
SELECT {COMMITTEE_FACTS_COLUMNS}
FROM committees c JOIN areas a ON a.id = c.area_id
WHERE a.parent_id = $1
ORDER BY a.code
"""


async def committees_by_subdistrict(conn: asyncpg.Connection) -> list[SubdistrictGroupRow]:
    """Every sub-district with its committee areas, in code order."""
    rows = await conn.fetch(SELECT_COMMITTEES_BY_SUBDISTRICT)
    return [
        SubdistrictGroupRow(
            id=r["id"],
            name=r["name"],
            district_name=r["district_name"],
            committees=msgspec.json.decode(r["committees"], type=list[CommitteeOptionRow]),
        )
        for r in rows
    ]


async def list_subdistricts(conn: asyncpg.Connection) -> list[SubdistrictRow]:
    """Every sub-district, in code order."""
    return await fetch_all(conn, SELECT_SUBDISTRICTS, SubdistrictRow)


async def list_funders(conn: asyncpg.Connection) -> list[FunderOptionRow]:
    """Every funder: sub-district offices first, then community foundations."""
    return await fetch_all(conn, SELECT_FUNDERS, FunderOptionRow)


async def committees_in(conn: asyncpg.Connection, subdistrict_id: int) -> list[CommitteeFactsRow]:
    """The committees whose areas lie directly under a sub-district."""
    return await fetch_all(conn, SELECT_COMMITTEES_IN, CommitteeFactsRow, subdistrict_id)
