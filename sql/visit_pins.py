"""Plans people can steer: the visits of a contract's day its organisation pinned to a carer."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class VisitPinRow(msgspec.Struct, frozen=True):
    """A visit of a day pinned to a carer, as its organisation sees it."""

    id: int
    visit_day_id: int
    visit_key: str
    household_id: int
    carer_id: int
    carer_name: str
    starts_at: dt.datetime
    pinned_at: dt.datetime


_PIN_COLUMNS = (
    "p.id, p.visit_day_id, p.visit_key, p.household_id, p.carer_id, c.name AS carer_name, p.starts_at, p.pinned_at"
)
SELECT_PINS = f"""
SELECT {_PIN_COLUMNS}
FROM visit_pins p JOIN carers c ON c.id = p.carer_id
WHERE p.visit_day_id = $1
ORDER BY p.id
"""
# A pin comes from a live planned visit of the day: that visit stays with its carer at its start; pinning it again
# moves the pin to the carer and start it has now.
PIN_VISIT = f"""
WITH pinned AS (
    INSERT INTO visit_pins (visit_day_id, visit_key, household_id, carer_id, starts_at, pinned_by)
    SELECT pv.visit_day_id, pv.visit_key, pv.household_id, pv.carer_id, lower(pv.during), $3
    FROM planned_visits pv
    WHERE pv.id = $2 AND pv.visit_day_id = $1 AND pv.status <> 'released'
    ON CONFLICT (visit_day_id, visit_key) DO UPDATE
        SET carer_id = EXCLUDED.carer_id, starts_at = EXCLUDED.starts_at, pinned_by = EXCLUDED.pinned_by
    RETURNING *
)
SELECT {_PIN_COLUMNS} FROM pinned p JOIN carers c ON c.id = p.carer_id
"""
DELETE_PIN = "DELETE FROM visit_pins WHERE id = $1 AND visit_day_id = $2 RETURNING household_id, carer_id"


async def pins(conn: asyncpg.Connection, day_id: int) -> list[VisitPinRow]:
    """The day's pins, in the order they were made."""
    return await fetch_all(conn, SELECT_PINS, VisitPinRow, day_id)


async def pin_visit(conn: asyncpg.Connection, day_id: int, visit_id: int, account_id: int) -> VisitPinRow | None:
    """Pin a live planned visit of the day to its carer; None if it is not one."""
    return await fetch_one(conn, PIN_VISIT, VisitPinRow, day_id, visit_id, account_id)


async def unpin(conn: asyncpg.Connection, day_id: int, pin_id: int) -> tuple[int, int] | None:
    """Remove a pin of the day; its (household, carer), or None if the day has no such pin."""
    record = await conn.fetchrow(DELETE_PIN, pin_id, day_id)
    return None if record is None else (int(record["household_id"]), int(record["carer_id"]))
