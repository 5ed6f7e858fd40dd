"""Plans people can steer: the pairs a roster's planner pinned, and how strongly its plans spread hours."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class PinRow(msgspec.Struct, frozen=True):
    """A pinned (volunteer, shift) pair of a roster, as its planner sees it."""

    id: int
    roster_id: int
    volunteer_id: int
    shift_id: int
    volunteer_name: str
    title: str
    starts_at: dt.datetime
    pinned_at: dt.datetime


_PIN_COLUMNS = """
p.id, p.roster_id, p.volunteer_id, p.shift_id, v.display_name AS volunteer_name, s.title, s.starts_at, p.pinned_at
"""
SELECT_PINS = f"""
SELECT {_PIN_COLUMNS}
FROM roster_pins p JOIN volunteers v ON v.id = p.volunteer_id JOIN shifts s ON s.id = p.shift_id
WHERE p.roster_id = $1
ORDER BY s.starts_at, p.shift_id, p.id
"""
# A pin comes from a live proposal of the roster (open or taken up); pinning it again finds the same pin.
PIN_PROPOSAL = f"""
WITH pinned AS (
    INSERT INTO roster_pins (roster_id, volunteer_id, shift_id, pinned_by)
    SELECT q.roster_id, q.volunteer_id, q.shift_id, $3 FROM roster_proposals q
    WHERE q.id = $2 AND q.roster_id = $1 AND q.status IN ('proposed', 'accepted')
    ON CONFLICT (roster_id, volunteer_id, shift_id) DO UPDATE SET pinned_by = roster_pins.pinned_by
    RETURNING *
)
SELECT {_PIN_COLUMNS}
FROM pinned p JOIN volunteers v ON v.id = p.volunteer_id JOIN shifts s ON s.id = p.shift_id
"""
DELETE_PIN = "DELETE FROM roster_pins WHERE id = $1 AND roster_id = $2 RETURNING volunteer_id, shift_id"
SELECT_SPREAD = "SELECT spread::int FROM rosters WHERE id = $1"
SET_SPREAD = "UPDATE rosters SET spread = $2 WHERE id = $1"


async def pins(conn: asyncpg.Connection, roster_id: int) -> list[PinRow]:
    """The roster's pins, by shift."""
    return await fetch_all(conn, SELECT_PINS, PinRow, roster_id)


async def pin_proposal(conn: asyncpg.Connection, roster_id: int, proposal_id: int, account_id: int) -> PinRow | None:
    """Pin a live proposal of the roster (the same pin if already pinned); None if it is not one."""
    return await fetch_one(conn, PIN_PROPOSAL, PinRow, roster_id, proposal_id, account_id)


async def unpin(conn: asyncpg.Connection, roster_id: int, pin_id: int) -> tuple[int, int] | None:
    """Remove a pin of the roster; its (volunteer, shift), or None if the roster has no such pin."""
    record = await conn.fetchrow(DELETE_PIN, pin_id, roster_id)
    return None if record is None else (int(record["volunteer_id"]), int(record["shift_id"]))


async def spread(conn: asyncpg.Connection, roster_id: int) -> int:
    """How strongly the roster's plans spread hours (0-100)."""
    return int(await conn.fetchval(SELECT_SPREAD, roster_id) or 0)


async def set_spread(conn: asyncpg.Connection, roster_id: int, value: int) -> None:
    """Set how strongly the roster's plans spread hours."""
    await conn.execute(SET_SPREAD, roster_id, value)


# The roster whose week and publisher a shift belongs to (a respite visit's is the respite roster).
SELECT_SHIFT_ROSTER = """
SELECT r.id FROM shifts s
JOIN rosters r ON (s.organisation_id = r.organisation_id OR s.committee_id = r.committee_id)
WHERE s.id = $1
  AND s.starts_at >= (r.week_starts::timestamp AT TIME ZONE 'Asia/Shanghai')
  AND s.starts_at < ((r.week_starts + 7)::timestamp AT TIME ZONE 'Asia/Shanghai')
  AND (r.kind = 'respite') = EXISTS (SELECT 1 FROM respite_requests q WHERE q.shift_id = s.id)
"""


async def shift_roster(conn: asyncpg.Connection, shift_id: int) -> int | None:
    """The id of the roster a shift belongs to, if its week was ever planned."""
    value = await conn.fetchval(SELECT_SHIFT_ROSTER, shift_id)
    return None if value is None else int(value)
