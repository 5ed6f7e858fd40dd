"""Hand a place over (转让名额): offers of held places, their takers, and the publisher's approval."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql import shifts as shifts_sql
from sql.rows import fetch_all
from sql.shifts import ShiftRow


class HandoverRow(msgspec.Struct, frozen=True):
    """One offer of a held place: who offers it (by id), who asked for or took it, and the shift's approval rule."""

    id: int
    shift_id: int
    signup_id: int
    volunteer_id: int
    status: str
    offered_at: dt.datetime
    taker_volunteer_id: int | None
    requested_at: dt.datetime | None
    taker_signup_id: int | None
    closed_at: dt.datetime | None
    approval: bool


class OfferedPlace(msgspec.Struct, frozen=True):
    """A place offered on a shift as one volunteer sees it: the shift, why they may not take it, and whether they
    asked for it already. The offerer's name is not shown."""

    handover_id: int
    status: str
    offered_at: dt.datetime
    requested_by_me: bool
    shift: ShiftRow
    distance_km: float
    reasons: list[str]


class RequestRow(msgspec.Struct, frozen=True):
    """A live offer as the shift's publisher sees it, with the name of the volunteer asking to take it."""

    id: int
    status: str
    offered_at: dt.datetime
    requested_at: dt.datetime | None
    offerer_name: str
    taker_volunteer_id: int | None
    taker_name: str | None


_HANDOVER_COLUMNS = """
h.id, h.shift_id, h.signup_id, h.volunteer_id, h.status, h.offered_at, h.taker_volunteer_id, h.requested_at,
h.taker_signup_id, h.closed_at, s.handover_approval AS approval
"""
# An offer is live while it is open or requested, its sign-up still holds the place and the shift is open and to come.
_LIVE = """
h.status IN ('open', 'requested') AND g.status = 'active' AND s.status = 'open' AND s.starts_at > now()
"""
SELECT_HANDOVER = f"""
SELECT {_HANDOVER_COLUMNS} FROM handovers h JOIN shifts s ON s.id = h.shift_id WHERE h.id = $1 AND h.shift_id = $2
"""
# The offer a take, an approval or a withdrawal works on, locked (after the shift's row: the pick-up's order).
LOCK_LIVE = f"""
SELECT {_HANDOVER_COLUMNS}
FROM handovers h JOIN signups g ON g.id = h.signup_id JOIN shifts s ON s.id = h.shift_id
WHERE h.id = $1 AND h.shift_id = $2 AND {_LIVE}
FOR UPDATE OF h
"""
SELECT_MINE = f"""
SELECT {_HANDOVER_COLUMNS}
FROM handovers h JOIN signups g ON g.id = h.signup_id JOIN shifts s ON s.id = h.shift_id
WHERE h.shift_id = $1 AND h.volunteer_id = $2 AND {_LIVE}
"""
# Only a place held on an open shift still to come can be offered; the partial unique index refuses a second offer.
INSERT_OFFER = """
INSERT INTO handovers (shift_id, signup_id, volunteer_id, status)
SELECT g.shift_id, g.id, g.volunteer_id, 'open'
FROM signups g JOIN shifts s ON s.id = g.shift_id
WHERE g.shift_id = $1 AND g.volunteer_id = $2 AND g.status = 'active' AND s.status = 'open' AND s.starts_at > now()
RETURNING id
"""
# The offerer's sign-up ends as a free cancellation whatever the hour: the place did not go empty.
END_OFFERER_SIGNUP = """
UPDATE signups SET status = 'cancelled', cancelled_at = now() WHERE id = $1 AND status = 'active' RETURNING id
"""
MARK_TAKEN = """
UPDATE handovers
SET status = 'taken', taker_volunteer_id = $2, taker_signup_id = $3, requested_at = NULL, closed_at = now()
WHERE id = $1 AND status IN ('open', 'requested')
RETURNING id
"""
MARK_REQUESTED = """
UPDATE handovers SET status = 'requested', taker_volunteer_id = $2, requested_at = now()
WHERE id = $1 AND status = 'open'
RETURNING id
"""
REOPEN = """
UPDATE handovers SET status = 'open', taker_volunteer_id = NULL, requested_at = NULL
WHERE id = $1 AND status = 'requested'
RETURNING id
"""
WITHDRAW = """
UPDATE handovers SET status = 'withdrawn', taker_volunteer_id = NULL, requested_at = NULL, closed_at = now()
WHERE id = $1 AND status IN ('open', 'requested')
RETURNING id
"""
SET_APPROVAL = """
UPDATE shifts SET handover_approval = $2
WHERE id = $1 AND (($3::bigint IS NOT NULL AND organisation_id = $3) OR ($4::bigint IS NOT NULL AND committee_id = $4))
RETURNING id
"""
SELECT_APPROVAL = "SELECT handover_approval FROM shifts WHERE id = $1"
# Offers by others that the volunteer may look at: open ones, and the one they asked for; on one shift ($2) or all,
# the ones they may take first, soonest first.
SELECT_OFFERED = f"""
SELECT * FROM (
    SELECT h.id AS handover_id, h.status AS handover_status, h.offered_at,
           h.taker_volunteer_id IS NOT DISTINCT FROM v.id AS requested_by_me,
           {shifts_sql._SHIFT_COLUMNS}, {shifts_sql._REASONS}
    FROM handovers h
    JOIN signups g ON g.id = h.signup_id
    JOIN shifts s ON s.id = h.shift_id
    LEFT JOIN organisations o ON o.id = s.organisation_id
    LEFT JOIN committees c ON c.id = s.committee_id
    CROSS JOIN volunteers v
    WHERE v.id = $1 AND ($2::bigint IS NULL OR h.shift_id = $2) AND h.volunteer_id <> v.id
      AND {_LIVE} AND (h.status = 'open' OR h.taker_volunteer_id = v.id)
) x
ORDER BY requested_by_me DESC, cardinality(reasons) = 0 DESC, starts_at, handover_id
LIMIT $3 OFFSET $4
"""
# Live offers on one shift for its publisher, with the names of the offerer and of the one asking.
SELECT_FOR_PUBLISHER = f"""
SELECT h.id, h.status, h.offered_at, h.requested_at, vo.display_name AS offerer_name, h.taker_volunteer_id,
       vt.display_name AS taker_name
FROM handovers h
JOIN signups g ON g.id = h.signup_id
JOIN shifts s ON s.id = h.shift_id
JOIN volunteers vo ON vo.id = h.volunteer_id
LEFT JOIN volunteers vt ON vt.id = h.taker_volunteer_id
WHERE h.shift_id = $1 AND {_LIVE}
ORDER BY h.status = 'requested' DESC, h.offered_at, h.id
"""
# A notification to one volunteer's account (none for a volunteer without an account).


def _handover(record: asyncpg.Record) -> HandoverRow:
    return msgspec.convert(dict(record), HandoverRow)


async def get(conn: asyncpg.Connection, handover_id: int, shift_id: int) -> HandoverRow | None:
    """One offer on a shift, whatever its status."""
    record = await conn.fetchrow(SELECT_HANDOVER, handover_id, shift_id)
    return None if record is None else _handover(record)


async def lock_live(conn: asyncpg.Connection, handover_id: int, shift_id: int) -> HandoverRow | None:
    """The offer, locked, while it is live (open or requested, its place still held, the shift to come)."""
    record = await conn.fetchrow(LOCK_LIVE, handover_id, shift_id)
    return None if record is None else _handover(record)


async def mine(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> HandoverRow | None:
    """The volunteer's live offer of their place on the shift."""
    record = await conn.fetchrow(SELECT_MINE, shift_id, volunteer_id)
    return None if record is None else _handover(record)


async def insert_offer(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> int | None:
    """Offer the volunteer's held place; None when they hold none on an open shift to come.

    Raises UniqueViolationError when the place is offered already.
    """
    found = await conn.fetchval(INSERT_OFFER, shift_id, volunteer_id)
    return None if found is None else int(found)


async def end_offerer_signup(conn: asyncpg.Connection, signup_id: int) -> bool:
    """End the offerer's sign-up (a free cancellation); False if it no longer holds the place."""
    return await conn.fetchval(END_OFFERER_SIGNUP, signup_id) is not None


async def mark_taken(conn: asyncpg.Connection, handover_id: int, taker_volunteer_id: int, taker_signup_id: int) -> bool:
    """Record who took the place; False if the offer was no longer live."""
    return await conn.fetchval(MARK_TAKEN, handover_id, taker_volunteer_id, taker_signup_id) is not None


async def mark_requested(conn: asyncpg.Connection, handover_id: int, taker_volunteer_id: int) -> bool:
    """Record a request to take, for the publisher to decide; False if the offer is not open."""
    return await conn.fetchval(MARK_REQUESTED, handover_id, taker_volunteer_id) is not None


async def reopen(conn: asyncpg.Connection, handover_id: int) -> bool:
    """Open the offer again after a declined request; False if none was waiting."""
    return await conn.fetchval(REOPEN, handover_id) is not None


async def withdraw(conn: asyncpg.Connection, handover_id: int) -> bool:
    """Withdraw a live offer; False if it was not live."""
    return await conn.fetchval(WITHDRAW, handover_id) is not None


async def set_approval(
    conn: asyncpg.Connection, shift_id: int, approval: bool, *, organisation_id: int | None, committee_id: int | None
) -> bool:
    """Set whether takes of the publisher's shift wait for approval; False if the shift is not theirs."""
    return await conn.fetchval(SET_APPROVAL, shift_id, approval, organisation_id, committee_id) is not None


async def approval(conn: asyncpg.Connection, shift_id: int) -> bool:
    """Whether takes of the shift wait for the publisher's approval."""
    return bool(await conn.fetchval(SELECT_APPROVAL, shift_id))


async def offered(
    conn: asyncpg.Connection, volunteer_id: int, *, shift_id: int | None, limit: int, offset: int
) -> list[OfferedPlace]:
    """Places others offer (open, or asked for by this volunteer), the ones they may take first."""
    rows = await conn.fetch(SELECT_OFFERED, volunteer_id, shift_id, limit, offset)
    return [
        OfferedPlace(
            handover_id=int(r["handover_id"]),
            status=str(r["handover_status"]),
            offered_at=r["offered_at"],
            requested_by_me=bool(r["requested_by_me"]),
            shift=shifts_sql._shift(r),
            distance_km=float(r["distance_km"]),
            reasons=list(r["reasons"]),
        )
        for r in rows
    ]


async def for_publisher(conn: asyncpg.Connection, shift_id: int) -> list[RequestRow]:
    """Live offers on a shift, those waiting for a decision first."""
    return await fetch_all(conn, SELECT_FOR_PUBLISHER, RequestRow, shift_id)
