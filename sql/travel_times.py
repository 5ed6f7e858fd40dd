"""Measured travel times an organisation or a residents' committee supplies (migration 0048): one matrix per owner,
its rows `from → to` in minutes by e-bike, a point being a household ('h42') or a carer's base ('c7'). Every
statement names its owner ($1 the organisation, $2 the committee; exactly one is set), so another's matrix is a
missing one."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one
from sql.visits import VISIT_CATALOGUE


class MatrixRow(msgspec.Struct, frozen=True):
    """An owner's supplied matrix: the file it came from, how many pairs, who uploaded it and when."""

    id: int
    filename: str
    pairs: int
    uploaded_by: int
    uploaded_at: dt.datetime


class TravelTimeRow(msgspec.Struct, frozen=True):
    """One supplied pair: from a point to another, minutes by e-bike."""

    from_point: str
    to_point: str
    minutes: float


class PointRow(msgspec.Struct, frozen=True):
    """A point the owner may name in its matrix: its code ('h42', 'c7'), what it is, and where."""

    point: str
    kind: str
    name: str
    address: str
    lat: float
    lon: float


_OWNER = "(m.organisation_id = $1 OR m.committee_id = $2)"
SELECT_MATRIX = f"""
SELECT m.id, m.filename, m.pairs, m.uploaded_by, m.uploaded_at FROM travel_matrices m WHERE {_OWNER}
"""
SELECT_TIMES = f"""
SELECT t.from_point, t.to_point, t.minutes::float8 AS minutes
FROM travel_matrices m JOIN travel_times t ON t.matrix_id = m.id
WHERE {_OWNER}
ORDER BY t.from_point, t.to_point
"""
# The points an owner may name: its carers' bases (on its roster, active or not) and the households it sees — an
# organisation's: those named on the needs of its home-care and respite contracts; a committee's: its own register.
SELECT_POINTS = f"""
SELECT 'c' || c.id AS point, 'carer' AS kind, c.name, '' AS address, c.lat, c.lon
FROM carers c WHERE c.organisation_id = $1 OR c.committee_id = $2
UNION ALL
SELECT DISTINCT 'h' || h.id, 'household', '', h.address, h.lat, h.lon
FROM lot_needs ln JOIN needs n ON n.id = ln.need_id
JOIN catalogue_items ci ON ci.id = n.catalogue_item_id AND ci.code IN {VISIT_CATALOGUE!r}
JOIN need_households nh ON nh.need_id = n.id
JOIN households h ON h.id = nh.household_id AND h.archived_at IS NULL
JOIN awards a ON a.lot_id = ln.lot_id JOIN contracts c ON c.award_id = a.id
WHERE c.organisation_id = $1 AND c.status IN ('unsigned', 'active')
UNION ALL
SELECT 'h' || h.id, 'household', '', h.address, h.lat, h.lon
FROM households h WHERE h.committee_id = $2 AND h.archived_at IS NULL
ORDER BY 2, 1
"""
# One owner's uploads one after the other: two at once would each find no matrix to delete, and the second insert
# would break the one-matrix-per-owner index instead of replacing the first.
LOCK_OWNER = """
SELECT pg_advisory_xact_lock(hashtextextended('travel_matrix:' || coalesce('o' || $1::bigint, 'c' || $2::bigint), 0))
"""
DELETE_MATRIX = f"DELETE FROM travel_matrices m WHERE {_OWNER} RETURNING m.pairs"
# The owner's matrix by its id (another owner's is none); its pairs go with it (ON DELETE CASCADE). The day plans made
# with it keep what they used: each planned visit its travel minutes, each run's summary its supplied pairs.
DELETE_OWN_MATRIX = f"""
DELETE FROM travel_matrices m WHERE m.id = $3 AND {_OWNER}
RETURNING m.id, m.filename, m.pairs, m.uploaded_by, m.uploaded_at
"""
INSERT_MATRIX = """
INSERT INTO travel_matrices (organisation_id, committee_id, filename, pairs, uploaded_by)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, filename, pairs, uploaded_by, uploaded_at
"""
INSERT_TIMES = """
INSERT INTO travel_times (matrix_id, from_point, to_point, minutes)
SELECT $1, f, t, m FROM unnest($2::text[], $3::text[], $4::float8[]) AS x (f, t, m)
"""


async def matrix(conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None) -> MatrixRow | None:
    """The owner's supplied matrix, if it uploaded one."""
    return await fetch_one(conn, SELECT_MATRIX, MatrixRow, organisation_id, committee_id)


async def times(conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None) -> list[TravelTimeRow]:
    """Every supplied pair of the owner's matrix (none without one), in a fixed order."""
    return await fetch_all(conn, SELECT_TIMES, TravelTimeRow, organisation_id, committee_id)


async def points(conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None) -> list[PointRow]:
    """The points the owner may name in its matrix: its carers' bases, then the households it sees."""
    return await fetch_all(conn, SELECT_POINTS, PointRow, organisation_id, committee_id)


async def replace(
    conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None, filename: str,
    rows: list[TravelTimeRow], account_id: int,
) -> tuple[MatrixRow, int | None]:  # fmt: skip
    """The owner's matrix replaced by these rows (call inside the use case's transaction); the new matrix and how
    many pairs the old one had (None: there was none)."""
    await conn.execute(LOCK_OWNER, organisation_id, committee_id)
    old = await conn.fetchval(DELETE_MATRIX, organisation_id, committee_id)
    row = await fetch_one(
        conn, INSERT_MATRIX, MatrixRow, organisation_id, committee_id, filename, len(rows), account_id
    )
    assert row is not None
    await conn.execute(
        INSERT_TIMES, row.id, [r.from_point for r in rows], [r.to_point for r in rows], [r.minutes for r in rows]
    )
    return row, None if old is None else int(old)


async def remove(
    conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None, matrix_id: int
) -> MatrixRow | None:
    """Delete the owner's matrix by its id (call inside the use case's transaction); what it was, or None when the
    owner has no such matrix."""
    await conn.execute(LOCK_OWNER, organisation_id, committee_id)
    return await fetch_one(conn, DELETE_OWN_MATRIX, MatrixRow, organisation_id, committee_id, matrix_id)
