"""What links a volunteer to a household (confirmed shifts, live 311 teams), and the household's sensitive details."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec


class ShiftLinkRow(msgspec.Struct, frozen=True):
    """A shift serving the household for which the volunteer holds a place."""

    shift_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class HouseholdDetailRow(msgspec.Struct, frozen=True):
    """A household's personal information (PIPL sensitive): only household_access hands it out."""

    id: int
    committee_id: int
    committee_name: str
    head_name: str
    address: str
    members: int
    care_level: int | None
    dialects: list[str]
    care_notes: str
    phone: str | None
    lat: float
    lon: float
    empty_nest: bool
    visit_slots: list[str]
    consent_recorded_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None


class HouseholdPublicRow(msgspec.Struct, frozen=True):
    """What anyone serving near a household may know: its committee and (for masking) its address."""

    id: int
    committee_id: int
    committee_name: str
    address: str


# Active sign-ups only: an accepted roster proposal is one too; a cancelled or waiting one confers nothing.
SELECT_SHIFT_LINKS = """
SELECT s.id AS shift_id, s.starts_at, s.ends_at
FROM signups su JOIN shifts s ON s.id = su.shift_id
WHERE su.volunteer_id = $1 AND s.household_id = $2 AND su.status = 'active' AND s.status <> 'cancelled'
ORDER BY s.starts_at
"""
SELECT_TEAM_LINK = """
SELECT tm.id
FROM team_members m JOIN teams tm ON tm.id = m.team_id
WHERE m.volunteer_id = $1 AND tm.household_id = $2 AND m.until IS NULL AND tm.status = 'live'
ORDER BY tm.id LIMIT 1
"""
# With $2, only a household of that committee (its own staff's view); without, any (an entitled volunteer's).
SELECT_HOUSEHOLD_DETAIL = """
SELECT h.id, h.committee_id, c.name AS committee_name, h.head_name, h.address, h.members::int AS members,
       h.care_level::int AS care_level, h.dialects, h.care_notes, h.phone, h.lat, h.lon, h.empty_nest,
       h.visit_slots, h.consent_recorded_at, h.updated_at, h.archived_at
FROM households h JOIN committees c ON c.id = h.committee_id
WHERE h.id = $1 AND ($2::bigint IS NULL OR h.committee_id = $2)
"""
SELECT_HOUSEHOLD_PUBLIC = """
SELECT h.id, h.committee_id, c.name AS committee_name, h.address
FROM households h JOIN committees c ON c.id = h.committee_id
WHERE h.id = $1
"""


async def shift_links(conn: asyncpg.Connection, volunteer_id: int, household_id: int) -> list[ShiftLinkRow]:
    """The volunteer's held places on shifts serving the household, earliest first."""
    rows = await conn.fetch(SELECT_SHIFT_LINKS, volunteer_id, household_id)
    return [msgspec.convert(dict(r), ShiftLinkRow) for r in rows]


async def team_link(conn: asyncpg.Connection, volunteer_id: int, household_id: int) -> int | None:
    """The live team of the household the volunteer is a present member of, if any."""
    value = await conn.fetchval(SELECT_TEAM_LINK, volunteer_id, household_id)
    return None if value is None else int(value)


async def household_detail(
    conn: asyncpg.Connection, household_id: int, committee_id: int | None = None
) -> HouseholdDetailRow | None:
    """A household's sensitive details (only if it is the committee's, when a committee is given)."""
    row = await conn.fetchrow(SELECT_HOUSEHOLD_DETAIL, household_id, committee_id)
    return None if row is None else msgspec.convert(dict(row), HouseholdDetailRow)


async def household_public(conn: asyncpg.Connection, household_id: int) -> HouseholdPublicRow | None:
    """A household's committee and address (to be masked by the caller)."""
    row = await conn.fetchrow(SELECT_HOUSEHOLD_PUBLIC, household_id)
    return None if row is None else msgspec.convert(dict(row), HouseholdPublicRow)
