"""Verifying what organisations declare: their staff-hours capacity and evaluation rating, checked by a funder or
the admin against a document; the checks, the values they verified, and each value's state."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class DeclaredOrgRow(msgspec.Struct, frozen=True):
    """What an organisation declares now, and the current check of each value (locked for a decision)."""

    id: int
    name: str
    staff_hours_capacity: int
    rating: int | None
    rating_expires_on: dt.date | None
    capacity_check_id: int | None
    rating_check_id: int | None
    capacity_verified: bool
    rating_verified: bool


class OrgCheckState(msgspec.Struct, frozen=True):
    """One declared value of an organisation with its state: none (no rating declared), declared, verified, revoked."""

    subject: str
    state: str
    declared_capacity: int
    declared_rating: int | None
    declared_rating_expires_on: dt.date | None
    check_id: int | None
    verified_capacity: int | None
    verified_rating: int | None
    verified_rating_expires_on: dt.date | None
    against: str | None
    decided_by_name: str | None
    funder_name: str | None
    decided_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoke_reason: str | None


SELECT_DECLARED_FOR_UPDATE = """
SELECT o.id, o.name, o.staff_hours_capacity, o.rating, o.rating_expires_on, o.capacity_check_id, o.rating_check_id,
       EXISTS (SELECT 1 FROM organisation_checks c WHERE c.id = o.capacity_check_id AND c.state = 'verified')
           AS capacity_verified,
       EXISTS (SELECT 1 FROM organisation_checks c WHERE c.id = o.rating_check_id AND c.state = 'verified')
           AS rating_verified
FROM organisations o WHERE o.id = $1
FOR UPDATE OF o
"""
SELECT_STATES = """
SELECT s.subject,
       CASE WHEN c.id IS NOT NULL THEN c.state WHEN s.subject = 'rating' AND o.rating IS NULL THEN 'none'
            ELSE 'declared' END AS state,
       o.staff_hours_capacity AS declared_capacity, o.rating AS declared_rating,
       o.rating_expires_on AS declared_rating_expires_on,
       c.id AS check_id, c.staff_hours_capacity AS verified_capacity, c.rating AS verified_rating,
       c.rating_expires_on AS verified_rating_expires_on, c.against, a.display_name AS decided_by_name,
       f.name AS funder_name, c.decided_at, c.revoked_at, c.revoke_reason
FROM organisations o
CROSS JOIN (VALUES ('capacity', 1), ('rating', 2)) AS s (subject, position)
LEFT JOIN organisation_checks c
       ON c.id = CASE s.subject WHEN 'capacity' THEN o.capacity_check_id ELSE o.rating_check_id END
LEFT JOIN accounts a ON a.id = c.decided_by
LEFT JOIN funders f ON f.id = c.funder_id
WHERE o.id = $1
ORDER BY s.position
"""
INSERT_CHECK = """
INSERT INTO organisation_checks (organisation_id, subject, staff_hours_capacity, rating, rating_expires_on, against,
                                 decided_by, funder_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
"""
# The pointer moves only while the declared value is still the one verified (the row is locked meanwhile anyway).
POINT_CAPACITY_AT = """
UPDATE organisations SET capacity_check_id = $2 WHERE id = $1 AND staff_hours_capacity = $3 RETURNING id
"""
POINT_RATING_AT = """
UPDATE organisations SET rating_check_id = $2 WHERE id = $1 AND rating = $3 AND rating_expires_on = $4 RETURNING id
"""
REVOKE_CHECK = """
UPDATE organisation_checks SET state = 'revoked', revoked_by = $2, revoked_at = now(), revoke_reason = $3
WHERE id = $1 AND state = 'verified' RETURNING id
"""


async def declared_for_update(conn: asyncpg.Connection, organisation_id: int) -> DeclaredOrgRow | None:
    """The organisation's declared values and current checks, its row locked until the transaction ends."""
    return await fetch_one(conn, SELECT_DECLARED_FOR_UPDATE, DeclaredOrgRow, organisation_id)


async def states(conn: asyncpg.Connection, organisation_id: int) -> list[OrgCheckState]:
    """The capacity's and the rating's states, in that order (empty if there is no such organisation)."""
    return await fetch_all(conn, SELECT_STATES, OrgCheckState, organisation_id)


async def insert_check(
    conn: asyncpg.Connection,
    *,
    organisation_id: int,
    subject: str,
    staff_hours_capacity: int | None,
    rating: int | None,
    rating_expires_on: dt.date | None,
    against: str,
    decided_by: int,
    funder_id: int | None,
) -> int:
    """Record a verification of one declared value; its id."""
    return int(
        await conn.fetchval(
            INSERT_CHECK,
            organisation_id,
            subject,
            staff_hours_capacity,
            rating,
            rating_expires_on,
            against,
            decided_by,
            funder_id,
        )
    )


async def point_capacity_at(conn: asyncpg.Connection, organisation_id: int, check_id: int, capacity: int) -> bool:
    """Make the check the capacity's current one, if the capacity is still the one it verified."""
    return await conn.fetchval(POINT_CAPACITY_AT, organisation_id, check_id, capacity) is not None


async def point_rating_at(
    conn: asyncpg.Connection, organisation_id: int, check_id: int, rating: int, expires_on: dt.date
) -> bool:
    """Make the check the rating's current one, if the rating and its expiry are still the ones it verified."""
    return await conn.fetchval(POINT_RATING_AT, organisation_id, check_id, rating, expires_on) is not None


async def revoke(conn: asyncpg.Connection, check_id: int, revoked_by: int, reason: str) -> bool:
    """Revoke a verified check; False if it is not verified (any more)."""
    return await conn.fetchval(REVOKE_CHECK, check_id, revoked_by, reason) is not None
