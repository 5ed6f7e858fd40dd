"""Plans people can steer: the visits of a contract's day its organisation pinned to a carer (the one it is planned
with, or another of the day's carers), at a start or at any start its window allows."""

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
    # The start the visit keeps; None: any start its window allows (a pin to another carer without a time).
    starts_at: dt.datetime | None
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
# moves the pin to the carer and start it has now. $4 names another carer (None: the one it is planned with) and $5 a
# start (None: the one it has with its own carer, none with another), both checked by the caller.
PIN_VISIT = f"""
WITH pinned AS (
    INSERT INTO visit_pins (visit_day_id, visit_key, household_id, carer_id, starts_at, pinned_by)
    SELECT pv.visit_day_id, pv.visit_key, pv.household_id, coalesce($4, pv.carer_id),
           CASE WHEN $5::timestamptz IS NOT NULL THEN $5::timestamptz
                WHEN coalesce($4, pv.carer_id) = pv.carer_id THEN lower(pv.during) END,
           $3
    FROM planned_visits pv
    WHERE pv.id = $2 AND pv.visit_day_id = $1 AND pv.status <> 'released'
    ON CONFLICT (visit_day_id, visit_key) DO UPDATE
        SET carer_id = EXCLUDED.carer_id, starts_at = EXCLUDED.starts_at, pinned_by = EXCLUDED.pinned_by,
            pinned_at = now()
    RETURNING *
)
SELECT {_PIN_COLUMNS} FROM pinned p JOIN carers c ON c.id = p.carer_id
"""
# A planned visit of the day: its household, key and carer, and the carer its pin names now (the subject of a pin).
SELECT_PLANNED = """
SELECT pv.household_id, pv.visit_key, pv.carer_id, p.carer_id AS pinned_carer_id
FROM planned_visits pv LEFT JOIN visit_pins p ON p.visit_day_id = pv.visit_day_id AND p.visit_key = pv.visit_key
WHERE pv.id = $2 AND pv.visit_day_id = $1 AND pv.status <> 'released'
"""
# A carer of the owner's roster who works the day's weekday (joined, active): read with the owner's ids, so another
# organisation's carer is never one of the day's.
SELECT_DAY_CARER = """
SELECT c.id FROM carers c JOIN visit_days d ON d.id = $1
WHERE c.id = $2 AND (c.organisation_id = $3 OR c.committee_id = $4)
  AND c.active AND c.joined_at IS NOT NULL AND extract(isodow FROM d.day)::smallint = ANY (c.work_days)
"""
DELETE_PIN = "DELETE FROM visit_pins WHERE id = $1 AND visit_day_id = $2 RETURNING household_id, carer_id"


async def pins(conn: asyncpg.Connection, day_id: int) -> list[VisitPinRow]:
    """The day's pins, in the order they were made."""
    return await fetch_all(conn, SELECT_PINS, VisitPinRow, day_id)


class PlannedRow(msgspec.Struct, frozen=True):
    """A live planned visit of a day, as a pin names it, and the carer it is pinned to (None: not pinned)."""

    household_id: int
    visit_key: str
    carer_id: int
    pinned_carer_id: int | None


async def pin_visit(
    conn: asyncpg.Connection, day_id: int, visit_id: int, account_id: int, carer_id: int | None = None,
    starts_at: dt.datetime | None = None,
) -> VisitPinRow | None:  # fmt: skip
    """Pin a live planned visit of the day to its carer (or `carer_id`), at its start (or `starts_at`); None if it is
    not one."""
    return await fetch_one(conn, PIN_VISIT, VisitPinRow, day_id, visit_id, account_id, carer_id, starts_at)


async def planned(conn: asyncpg.Connection, day_id: int, visit_id: int) -> PlannedRow | None:
    """A live planned visit of the day, or None."""
    return await fetch_one(conn, SELECT_PLANNED, PlannedRow, day_id, visit_id)


async def is_day_carer(
    conn: asyncpg.Connection, day_id: int, carer_id: int, organisation_id: int | None, committee_id: int | None
) -> bool:
    """Whether the carer is on the owner's roster (the organisation's or the committee's) working the day."""
    return await conn.fetchval(SELECT_DAY_CARER, day_id, carer_id, organisation_id, committee_id) is not None


async def unpin(conn: asyncpg.Connection, day_id: int, pin_id: int) -> tuple[int, int] | None:
    """Remove a pin of the day; its (household, carer), or None if the day has no such pin."""
    record = await conn.fetchrow(DELETE_PIN, pin_id, day_id)
    return None if record is None else (int(record["household_id"]), int(record["carer_id"]))
