"""The committee's household register (服务对象家庭): list, insert, change and archive its own households.

Every statement carries the committee: a household of another committee reads as missing. The details of one
household are read for display only through sql.household_access (and api.services.household_access).
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_one


class RegisterPublic(msgspec.Struct, frozen=True):
    """What the register may show of a household besides its address (which only leaves the service masked)."""

    id: int
    head_name: str
    members: int
    empty_nest: bool
    care_level: int | None
    visit_slots: list[str]
    updated_at: dt.datetime
    archived_at: dt.datetime | None


class RegisterRow(RegisterPublic, frozen=True):
    """A household as the register lists it (the address is masked before it leaves the service)."""

    address: str


class PickRow(msgspec.Struct, frozen=True):
    """A household as a picker offers it (the address is masked before it leaves the service)."""

    id: int
    head_name: str
    address: str
    members: int
    care_level: int | None
    empty_nest: bool
    last_visit_at: dt.datetime | None


class HouseholdPlaceRow(msgspec.Struct, frozen=True):
    """A household where the planning models place it: its committee, address and point (the address is masked
    before it leaves the service)."""

    id: int
    committee_id: int
    committee_name: str
    address: str
    lat: float
    lon: float


# The columns of HouseholdPlaceRow, over households h JOIN committees cm.
HOUSEHOLD_PLACE_COLUMNS = "h.id, h.committee_id, cm.name AS committee_name, h.address, h.lat, h.lon"


class HouseholdFields(msgspec.Struct, frozen=True):
    """What a committee stores of a household (checked by the use case)."""

    head_name: str
    address: str
    phone: str | None
    lat: float
    lon: float
    members: int
    empty_nest: bool
    care_level: int | None
    dialects: list[str]
    care_notes: str
    visit_slots: list[str]


class HouseholdRecordRow(HouseholdFields, frozen=True):
    """The stored fields of a household and whether it has left (read under a lock to tell which fields change)."""

    id: int
    archived_at: dt.datetime | None


_REGISTER_COLUMNS = """
h.id, h.head_name, h.address, h.members::int AS members, h.empty_nest, h.care_level::int AS care_level,
h.visit_slots, h.updated_at, h.archived_at
"""
# $2 is a LIKE pattern already escaped by the caller; $5 chooses the current (false) or the archived (true) ones.
SELECT_REGISTER = f"""
SELECT {_REGISTER_COLUMNS}, count(*) OVER () AS total
FROM households h
WHERE h.committee_id = $1
  AND ($2::text IS NULL OR h.head_name ILIKE $2 OR h.address ILIKE $2)
  AND ($3::int IS NULL OR h.care_level = $3)
  AND ($4::boolean IS NULL OR h.empty_nest = $4)
  AND ((h.archived_at IS NOT NULL) = $5)
ORDER BY h.address, h.id
LIMIT $6 OFFSET $7
"""
# The picker on the need and shift forms: the committee's current households by name, the ones already chosen ($3)
# first and always present, with what tells namesakes apart (size, care level, the last visit that took place).
SELECT_PICKER = """
SELECT h.id, h.head_name, h.address, h.members::int AS members, h.care_level::int AS care_level, h.empty_nest,
       greatest(
           (SELECT max(v.at) FROM team_visits v JOIN teams t ON t.id = v.team_id
            WHERE t.household_id = h.id AND v.status = 'done'),
           (SELECT max(s.ends_at) FROM shifts s
            WHERE s.household_id = h.id AND s.status <> 'cancelled' AND s.ends_at <= now())
       ) AS last_visit_at,
       count(*) OVER () AS total
FROM households h
WHERE h.committee_id = $1 AND h.archived_at IS NULL
  AND ($2::text IS NULL OR h.head_name ILIKE $2 OR h.address ILIKE $2 OR h.id = ANY($3::bigint[]))
ORDER BY h.id = ANY($3::bigint[]) DESC, h.head_name, h.id
LIMIT $4
"""
INSERT_HOUSEHOLD = """
INSERT INTO households (committee_id, head_name, address, phone, lat, lon, members, empty_nest, care_level, dialects,
                        care_notes, visit_slots, consent_recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
RETURNING id
"""
LOCK_HOUSEHOLD = """
SELECT h.id, h.head_name, h.address, h.phone, h.lat, h.lon, h.members::int AS members, h.empty_nest,
       h.care_level::int AS care_level, h.dialects, h.care_notes, h.visit_slots, h.archived_at
FROM households h WHERE h.id = $1 AND h.committee_id = $2
FOR NO KEY UPDATE
"""
# The consent time stays the first one recorded: the form confirms it is still on file.
UPDATE_HOUSEHOLD = """
UPDATE households SET head_name = $3, address = $4, phone = $5, lat = $6, lon = $7, members = $8, empty_nest = $9,
       care_level = $10, dialects = $11, care_notes = $12, visit_slots = $13, updated_at = now()
WHERE id = $1 AND committee_id = $2 AND archived_at IS NULL
RETURNING id
"""
# Leaving the service erases the details; the row stays for the needs, shifts, teams and visits that name it.
ARCHIVE_HOUSEHOLD = """
UPDATE households SET archived_at = now(), updated_at = now(), head_name = '已退出', address = $3, phone = NULL,
       care_notes = '', care_level = NULL, dialects = '{}', visit_slots = '{}',
       lat = round(lat::numeric, 2)::double precision, lon = round(lon::numeric, 2)::double precision
WHERE id = $1 AND committee_id = $2 AND archived_at IS NULL
RETURNING id
"""
# Its quasi-family ends with it: members leave, the team is dissolved (as a dissolution by the organisation).
END_TEAM_MEMBERS = """
UPDATE team_members m SET until = now(), ended_reason = 'dissolved'
FROM teams tm
WHERE tm.id = m.team_id AND tm.household_id = $1 AND tm.status = 'live' AND m.until IS NULL
"""
DISSOLVE_TEAMS = """
UPDATE teams SET status = 'dissolved', dissolved_at = now() WHERE household_id = $1 AND status = 'live'
RETURNING id
"""
CANCEL_TEAM_VISITS = """
UPDATE team_visits SET status = 'cancelled' WHERE team_id = ANY($1::bigint[]) AND status = 'planned' AND at > now()
"""
# Shifts still to come that serve the household (whoever published them); their sign-ups are ended by the caller.
CALL_OFF_SHIFTS = """
UPDATE shifts SET status = 'cancelled', taken = 0
WHERE household_id = $1 AND status <> 'cancelled' AND starts_at > now()
RETURNING id
"""
CANCEL_RESPITE_REQUESTS = """
UPDATE respite_requests SET status = 'cancelled' WHERE household_id = $1 AND status = 'pending'
"""
END_RESPITE_ENTITLEMENTS = """
UPDATE respite_entitlements SET status = 'ended' WHERE household_id = $1 AND status = 'active'
"""


async def register(
    conn: asyncpg.Connection,
    committee_id: int,
    *,
    pattern: str | None,
    care_level: int | None,
    empty_nest: bool | None,
    archived: bool,
    limit: int,
    offset: int,
) -> tuple[list[RegisterRow], int]:
    """A page of the committee's households matching the filters, and how many match in all."""
    rows = await conn.fetch(SELECT_REGISTER, committee_id, pattern, care_level, empty_nest, archived, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [msgspec.convert({k: v for k, v in r.items() if k != "total"}, RegisterRow) for r in rows], total


async def picker(
    conn: asyncpg.Connection, committee_id: int, *, pattern: str | None, chosen: list[int], limit: int
) -> tuple[list[PickRow], int]:
    """The committee's current households matching the pattern (the chosen ones always), and how many match."""
    rows = await conn.fetch(SELECT_PICKER, committee_id, pattern, chosen, limit)
    total = int(rows[0]["total"]) if rows else 0
    return [msgspec.convert({k: v for k, v in r.items() if k != "total"}, PickRow) for r in rows], total


async def insert_household(conn: asyncpg.Connection, committee_id: int, f: HouseholdFields) -> int:
    """A new household of the committee, its consent recorded now."""
    household_id = await conn.fetchval(
        INSERT_HOUSEHOLD, committee_id, f.head_name, f.address, f.phone, f.lat, f.lon, f.members, f.empty_nest,
        f.care_level, f.dialects, f.care_notes, f.visit_slots,
    )  # fmt: skip
    return int(household_id)


async def lock_household(conn: asyncpg.Connection, household_id: int, committee_id: int) -> HouseholdRecordRow | None:
    """The committee's household, locked for a change; None when it is not the committee's."""
    return await fetch_one(conn, LOCK_HOUSEHOLD, HouseholdRecordRow, household_id, committee_id)


async def update_household(conn: asyncpg.Connection, household_id: int, committee_id: int, f: HouseholdFields) -> bool:
    """Change the committee's current household; False when it is not the committee's or has left."""
    value = await conn.fetchval(
        UPDATE_HOUSEHOLD, household_id, committee_id, f.head_name, f.address, f.phone, f.lat, f.lon, f.members,
        f.empty_nest, f.care_level, f.dialects, f.care_notes, f.visit_slots,
    )  # fmt: skip
    return value is not None


async def archive_household(
    conn: asyncpg.Connection, household_id: int, committee_id: int, masked: str
) -> list[int] | None:
    """Erase the household's details, end its live team (and its planned visits) and respite (entitlements,
    pending requests), and cancel the shifts still to come that serve it; the ids of those shifts, or None if the
    household is not the committee's or has already left."""
    if await conn.fetchval(ARCHIVE_HOUSEHOLD, household_id, committee_id, masked) is None:
        return None
    await conn.execute(END_TEAM_MEMBERS, household_id)
    teams = [int(r["id"]) for r in await conn.fetch(DISSOLVE_TEAMS, household_id)]
    await conn.execute(CANCEL_TEAM_VISITS, teams)
    await conn.execute(CANCEL_RESPITE_REQUESTS, household_id)
    await conn.execute(END_RESPITE_ENTITLEMENTS, household_id)
    return [int(r["id"]) for r in await conn.fetch(CALL_OFF_SHIFTS, household_id)]
