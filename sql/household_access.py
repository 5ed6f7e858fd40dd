"""What links a volunteer to a household (confirmed shifts, live 311 teams), and the household's sensitive details."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class ShiftLinkRow(msgspec.Struct, frozen=True):
    """A shift serving the household for which the volunteer holds a place."""

    shift_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class FirstVisitRow(msgspec.Struct, frozen=True):
    """A volunteer holding a place on a home-visit shift, and whether the publisher confirmed them for its household."""

    volunteer_id: int
    volunteer_name: str
    confirmed_at: dt.datetime | None


class HouseholdDetailPublic(msgspec.Struct, frozen=True):
    """What the API may show of a household's personal information to whom household_access entitles (no committee
    id)."""

    id: int
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


class HouseholdDetailRow(HouseholdDetailPublic, frozen=True):
    """A household's personal information (PIPL sensitive): only household_access hands it out."""

    committee_id: int


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
    return await fetch_all(conn, SELECT_SHIFT_LINKS, ShiftLinkRow, volunteer_id, household_id)


async def team_link(conn: asyncpg.Connection, volunteer_id: int, household_id: int) -> int | None:
    """The live team of the household the volunteer is a present member of, if any."""
    value = await conn.fetchval(SELECT_TEAM_LINK, volunteer_id, household_id)
    return None if value is None else int(value)


async def household_detail(
    conn: asyncpg.Connection, household_id: int, committee_id: int | None = None
) -> HouseholdDetailRow | None:
    """A household's sensitive details (only if it is the committee's, when a committee is given)."""
    return await fetch_one(conn, SELECT_HOUSEHOLD_DETAIL, HouseholdDetailRow, household_id, committee_id)


async def household_public(conn: asyncpg.Connection, household_id: int) -> HouseholdPublicRow | None:
    """A household's committee and address (to be masked by the caller)."""
    return await fetch_one(conn, SELECT_HOUSEHOLD_PUBLIC, HouseholdPublicRow, household_id)


class OpeningRow(msgspec.Struct, frozen=True):
    """One view of a household's file: who (name and role), when, and on what basis."""

    at: dt.datetime
    account_id: int | None
    display_name: str
    role: str
    basis: str


SELECT_CONSENT = "SELECT sensitive_data_consent_at IS NOT NULL FROM volunteers WHERE id = $1"
SELECT_CONFIRMED = "SELECT EXISTS (SELECT 1 FROM household_confirmations WHERE household_id = $1 AND volunteer_id = $2)"
# Distinct households other than $3 whose file the account opened since $2 (the start of its day in Shanghai).
COUNT_OPENED_SINCE = """
SELECT count(DISTINCT object_id) FROM audit_log
WHERE action = 'household.viewed' AND actor_account_id = $1 AND at >= $2 AND object_id <> $3::text
"""
# An organisation that holds a live contract for a need naming the household employs the carers who serve it.
SELECT_CONTRACT_HOLDER = """
SELECT ct.id FROM need_households nh
JOIN lot_needs ln ON ln.need_id = nh.need_id
JOIN awards aw ON aw.lot_id = ln.lot_id
JOIN contracts ct ON ct.award_id = aw.id
WHERE nh.household_id = $1 AND ct.organisation_id = $2 AND ct.status IN ('unsigned', 'active')
ORDER BY ct.id LIMIT 1
"""
SELECT_COMMITTEE_STAFF = """
SELECT m.account_id FROM memberships m JOIN accounts a ON a.id = m.account_id
WHERE m.committee_id = $1 AND a.disabled_at IS NULL
ORDER BY m.account_id
"""
SELECT_OPENINGS = """
SELECT l.at, l.actor_account_id AS account_id, coalesce(a.display_name, '') AS display_name,
       coalesce(a.role, '') AS role, coalesce(l.detail ->> 'basis', '') AS basis
FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_account_id
WHERE l.action = 'household.viewed' AND l.object_id = $1::text
ORDER BY l.at DESC, l.id DESC
LIMIT $2 OFFSET $3
"""
# The publisher of the shift ($3 organisation or $4 committee) confirms a volunteer who holds a place on it for the
# shift's household; a second confirmation of the same person for the same household changes nothing.
CONFIRM_VOLUNTEER = """
INSERT INTO household_confirmations (household_id, volunteer_id, shift_id, confirmed_by, committee_id, organisation_id)
SELECT s.household_id, g.volunteer_id, s.id, $5, $4, $3
FROM shifts s JOIN signups g ON g.shift_id = s.id AND g.status = 'active'
WHERE s.id = $1 AND g.volunteer_id = $2 AND s.household_id IS NOT NULL
  AND (s.organisation_id = $3 OR s.committee_id = $4)
ON CONFLICT (household_id, volunteer_id) DO UPDATE SET household_id = EXCLUDED.household_id
RETURNING id, household_id
"""
# The people holding a place on the publisher's ($2 organisation, $3 committee) home-visit shift $1, with the
# confirmation (from any shift of any publisher) that already lets them into that household.
SELECT_FIRST_VISIT_PEOPLE = """
SELECT g.volunteer_id, v.display_name AS volunteer_name, hc.confirmed_at
FROM shifts s
JOIN signups g ON g.shift_id = s.id AND g.status = 'active'
JOIN volunteers v ON v.id = g.volunteer_id
LEFT JOIN household_confirmations hc ON hc.household_id = s.household_id AND hc.volunteer_id = g.volunteer_id
WHERE s.id = $1 AND s.household_id IS NOT NULL AND (s.organisation_id = $2::bigint OR s.committee_id = $3::bigint)
ORDER BY g.id
"""


async def first_visit_people(
    conn: asyncpg.Connection, shift_id: int, *, organisation_id: int | None, committee_id: int | None
) -> list[FirstVisitRow]:
    """Who holds a place on the publisher's home-visit shift, each with their confirmation for its household."""
    return await fetch_all(conn, SELECT_FIRST_VISIT_PEOPLE, FirstVisitRow, shift_id, organisation_id, committee_id)


async def has_consent(conn: asyncpg.Connection, volunteer_id: int) -> bool:
    """Whether the volunteer consents to the processing of sensitive personal data."""
    return bool(await conn.fetchval(SELECT_CONSENT, volunteer_id))


async def confirmed(conn: asyncpg.Connection, household_id: int, volunteer_id: int) -> bool:
    """Whether a publisher confirmed this volunteer for this household."""
    return bool(await conn.fetchval(SELECT_CONFIRMED, household_id, volunteer_id))


async def opened_since(conn: asyncpg.Connection, account_id: int, since: dt.datetime, household_id: int) -> int:
    """How many other households' files the account opened since a moment."""
    return int(await conn.fetchval(COUNT_OPENED_SINCE, account_id, since, str(household_id)))


async def contract_holder(conn: asyncpg.Connection, household_id: int, organisation_id: int) -> int | None:
    """The organisation's live contract serving the household, if any."""
    value = await conn.fetchval(SELECT_CONTRACT_HOLDER, household_id, organisation_id)
    return None if value is None else int(value)


async def committee_staff(conn: asyncpg.Connection, committee_id: int) -> list[int]:
    """The live accounts of a committee."""
    return [int(r["account_id"]) for r in await conn.fetch(SELECT_COMMITTEE_STAFF, committee_id)]


async def openings(conn: asyncpg.Connection, household_id: int, *, limit: int, offset: int) -> list[OpeningRow]:
    """Who opened the household's file and when, the latest first."""
    return await fetch_all(conn, SELECT_OPENINGS, OpeningRow, str(household_id), limit, offset)


async def confirm_volunteer(
    conn: asyncpg.Connection,
    *,
    shift_id: int,
    volunteer_id: int,
    organisation_id: int | None,
    committee_id: int | None,
    account_id: int,
) -> tuple[int, int] | None:
    """(confirmation id, household id); None unless the caller published the shift and the volunteer holds a place."""
    row = await conn.fetchrow(CONFIRM_VOLUNTEER, shift_id, volunteer_id, organisation_id, committee_id, account_id)
    return None if row is None else (int(row["id"]), int(row["household_id"]))
