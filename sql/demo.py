"""The demo district's own writes and look-ups (api/demo): the seed lock, ids reserved for COPY, the district's bulk
rows, the demo logins, and the profile details several parts of the demo give volunteers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one

LOCK_SEED = "SELECT pg_advisory_xact_lock(hashtext('linli_seed'))"
SELECT_SEEDED = "SELECT EXISTS (SELECT 1 FROM areas)"
# Ids are taken from each table's identity sequence up front so that rows can reference each other inside one COPY.
RESERVE_IDS = "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2::int)"
# Row by row and ON CONFLICT: a later migration may already have put some catalogue items in place.
INSERT_CATALOGUE_ITEM = """
INSERT INTO catalogue_items (code, name_zh, name_en, description_zh, description_en, personal, sort_order)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (code) DO NOTHING
"""
INSERT_MEMBERSHIP = """
INSERT INTO memberships (account_id, organisation_id, committee_id, funder_id, role)
VALUES ($1, $2, $3, $4, $5)
"""
INSERT_AUDIT = """
INSERT INTO audit_log (action, object_type, object_id, detail)
VALUES ('seed.demo', 'area', $1, $2::jsonb)
"""
# A demo login with its tenant and, for a volunteer, the volunteer row (each demo login has at most one of each).
SELECT_LOGINS = """
SELECT a.username, a.id AS account_id, a.display_name, a.role, m.organisation_id, m.committee_id, m.funder_id,
       v.id AS volunteer_id
FROM accounts a LEFT JOIN memberships m ON m.account_id = a.id LEFT JOIN volunteers v ON v.account_id = a.id
WHERE a.username = ANY ($1::text[])
ORDER BY a.username
"""
SELECT_DEMO_VOLUNTEER = """
SELECT v.id, v.lat, v.lon FROM volunteers v JOIN accounts a ON a.id = v.account_id WHERE a.username = 'volunteer.demo'
"""
SELECT_HOUSEHOLDS = "SELECT id, lat, lon FROM households WHERE committee_id = $1 ORDER BY id LIMIT $2"
HAS_WINDOWS = "SELECT EXISTS (SELECT 1 FROM volunteer_availability WHERE volunteer_id = $1)"
# Volunteers may already have windows or certificates (another part of the demo): theirs stand, ours fill the gaps.
INSERT_WINDOW = """
INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
"""
INSERT_CERTIFICATE = """
INSERT INTO volunteer_certificates (volunteer_id, kind, number, issued_on, expires_on) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING
"""


class CopyTarget(NamedTuple):
    """A table and the columns that a COPY of built rows fills, in the rows' order."""

    table: str
    columns: tuple[str, ...]


AREAS = CopyTarget("areas", ("id", "parent_id", "level", "code", "name", "lat", "lon"))
FUNDERS = CopyTarget("funders", ("id", "kind", "name", "area_id", "created_at"))
COMMITTEES = CopyTarget("committees", ("id", "area_id", "name", "staff_count", "residents", "households"))
ORGANISATIONS = CopyTarget("organisations", (
    "id", "name", "credit_code", "rating", "rating_expires_on", "registered_on", "status", "staff_hours_capacity",
    "contact_phone", "address", "description", "created_at", "verified_at",
))  # fmt: skip
ORGANISATION_CATEGORIES = CopyTarget("organisation_categories", ("organisation_id", "catalogue_item_id"))
ORGANISATION_AREAS = CopyTarget("organisation_areas", ("organisation_id", "area_id"))
SAVED_PLACES = CopyTarget("saved_places", ("committee_id", "name", "kind", "address", "lat", "lon"))
ACCOUNTS = CopyTarget("accounts", ("id", "username", "display_name", "role", "password_hash"))
MEMBERSHIPS = CopyTarget("memberships", ("account_id", "organisation_id", "committee_id", "funder_id", "role"))
FUTURE_SHIFTS = CopyTarget("shifts", (
    "organisation_id", "committee_id", "title", "description", "place_name", "lat", "lon", "starts_at", "ends_at",
    "headcount", "required_certificates", "min_age", "insurance_required", "minors_in_groups_only",
))  # fmt: skip
VOLUNTEERS = CopyTarget("volunteers", (
    "account_id", "display_name", "birth_year", "phone", "home_area_id", "lat", "lon", "travel_km",
    "weekly_hour_cap", "skills", "languages", "insured_until", "guardian_consent", "sensitive_data_consent_at",
    "created_at",
))  # fmt: skip
HOUSEHOLDS = CopyTarget("households", (
    "committee_id", "head_name", "address", "lat", "lon", "members", "empty_nest", "care_level", "dialects",
    "care_notes", "consent_recorded_at", "visit_slots",
))  # fmt: skip


class LoginRow(msgspec.Struct, frozen=True):
    """A demo login: its account, its tenant and its volunteer row, where it has them."""

    username: str
    account_id: int
    display_name: str
    role: str
    organisation_id: int | None
    committee_id: int | None
    funder_id: int | None
    volunteer_id: int | None


class VolunteerPointRow(msgspec.Struct, frozen=True):
    """A volunteer and where they live."""

    id: int
    lat: float
    lon: float


class HouseholdPointRow(msgspec.Struct, frozen=True):
    """A household and where it lives."""

    id: int
    lat: float
    lon: float


async def lock_seed(conn: asyncpg.Connection) -> None:
    """Hold the seed's advisory lock until the transaction ends, so two seeds never interleave."""
    await conn.execute(LOCK_SEED)


async def is_seeded(conn: asyncpg.Connection) -> bool:
    """Whether the database already holds areas (the demo district or anyone's)."""
    return bool(await conn.fetchval(SELECT_SEEDED))


async def reserve_ids(conn: asyncpg.Connection, table: str, n: int) -> list[int]:
    """n ids from the table's identity sequence, ascending, for rows written later with COPY."""
    if n == 0:
        return []
    return sorted(int(r[0]) for r in await conn.fetch(RESERVE_IDS, table, n))


async def copy_rows(conn: asyncpg.Connection, target: CopyTarget, rows: Iterable[Sequence[object]]) -> None:
    """Write built rows with one COPY."""
    await conn.copy_records_to_table(target.table, records=rows, columns=list(target.columns))


async def add_catalogue_items(
    conn: asyncpg.Connection, items: Sequence[tuple[str, str, str, str, str, bool, int]]
) -> None:
    """(code, 中文名, English name, 中文说明, English description, personal, sort order) each; existing codes stay."""
    await conn.executemany(INSERT_CATALOGUE_ITEM, items)


async def add_memberships(
    conn: asyncpg.Connection, rows: Sequence[tuple[int, int | None, int | None, int | None, str]]
) -> None:
    """(account, organisation, committee, funder, role) each: one tenant per row."""
    await conn.executemany(INSERT_MEMBERSHIP, rows)


async def audit_seed(conn: asyncpg.Connection, district_id: int, detail: str) -> None:
    """Record the seed in the audit log against the district, with what it created (a JSON object)."""
    await conn.execute(INSERT_AUDIT, str(district_id), detail)


async def logins(conn: asyncpg.Connection, usernames: Sequence[str]) -> dict[str, LoginRow]:
    """The named demo logins that exist, by username, in username order."""
    rows = [msgspec.convert(r, LoginRow) for r in await conn.fetch(SELECT_LOGINS, list(usernames))]
    return {row.username: row for row in rows}


async def demo_volunteer(conn: asyncpg.Connection) -> VolunteerPointRow | None:
    """volunteer.demo's volunteer row and home, if the district has it."""
    return await fetch_one(conn, SELECT_DEMO_VOLUNTEER, VolunteerPointRow)


async def committee_households(conn: asyncpg.Connection, committee_id: int, limit: int) -> list[HouseholdPointRow]:
    """The committee's first households, by id."""
    return await fetch_all(conn, SELECT_HOUSEHOLDS, HouseholdPointRow, committee_id, limit)


async def has_windows(conn: asyncpg.Connection, volunteer_id: int) -> bool:
    """Whether the volunteer has said when they are available each week."""
    return bool(await conn.fetchval(HAS_WINDOWS, volunteer_id))


async def add_windows(conn: asyncpg.Connection, rows: Sequence[tuple[int, int, dt.time, dt.time]]) -> None:
    """(volunteer, weekday, starts, ends) each; a window overlapping one the volunteer has is skipped."""
    await conn.executemany(INSERT_WINDOW, rows)


async def add_certificates(
    conn: asyncpg.Connection, rows: Sequence[tuple[int, str, str, dt.date | None, dt.date | None]]
) -> None:
    """(volunteer, kind, number, issued on, expires on) each; a kind the volunteer already holds is kept as it is."""
    await conn.executemany(INSERT_CERTIFICATE, rows)
