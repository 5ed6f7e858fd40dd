"""Registers imported from a committee's Excel sheets: the upload waiting for its preview to be confirmed, and the
households and volunteers written when it is (every row of the sheet in one transaction, or none).

Every statement carries the committee: another committee's upload reads as missing.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from sql.households import HouseholdFields
from sql.rows import fetch_all, fetch_one


class ImportRow(msgspec.Struct, frozen=True):
    """An upload: its file while it waits, what became of it once confirmed."""

    id: int
    public_id: uuid.UUID
    kind: str
    filename: str
    digest: bytes
    content: bytes | None
    created_at: dt.datetime
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None
    imported: int | None
    expired: bool


class KnownHousehold(msgspec.Struct, frozen=True):
    """A current household of the committee, to find a sheet's rows that repeat it (never shown as such)."""

    id: int
    head_name: str
    address: str


class ImportedVolunteer(msgspec.Struct, frozen=True):
    """One volunteer row of a sheet, checked, as it is stored (a profile without an account until claimed)."""

    display_name: str
    birth_year: int
    phone: str
    skills: list[str]
    languages: list[str]
    weekly_hour_cap: int


# Expired files are dropped by the worker and at the next upload; the row stays to say the upload existed.
DROP_EXPIRED = """
UPDATE register_imports SET content = NULL WHERE content IS NOT NULL AND confirmed_at IS NULL AND expires_at <= now()
"""
INSERT_IMPORT = """
INSERT INTO register_imports (committee_id, account_id, kind, filename, digest, content, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(mins => $7))
RETURNING public_id
"""
_IMPORT_COLUMNS = """
id, public_id, kind, filename, digest, content, created_at, expires_at, confirmed_at, imported,
(confirmed_at IS NULL AND expires_at <= now()) AS expired
"""
SELECT_IMPORT = f"SELECT {_IMPORT_COLUMNS} FROM register_imports WHERE public_id = $1 AND committee_id = $2"
# Confirming takes the upload's row lock: a second confirm (a reload, a double click) waits and then sees it done.
LOCK_IMPORT = f"SELECT {_IMPORT_COLUMNS} FROM register_imports WHERE public_id = $1 AND committee_id = $2 FOR UPDATE"
# Two uploads of one committee confirmed at once would each miss the other's rows when looking for repeats.
LOCK_COMMITTEE_IMPORTS = "SELECT pg_advisory_xact_lock(hashtext('register_imports'), $1::int)"
MARK_CONFIRMED = """
UPDATE register_imports SET confirmed_at = now(), imported = $2, content = NULL
WHERE id = $1 AND confirmed_at IS NULL
RETURNING id
"""
SELECT_KNOWN_HOUSEHOLDS = """
SELECT id, head_name, address FROM households WHERE committee_id = $1 AND archived_at IS NULL
"""
# Volunteers who live in the committee's area, by phone (the key a volunteer sheet is checked on).
SELECT_KNOWN_VOLUNTEER_PHONES = """
SELECT v.phone FROM volunteers v JOIN committees c ON c.area_id = v.home_area_id
WHERE c.id = $1 AND v.phone <> ''
"""
INSERT_HOUSEHOLD = """
INSERT INTO households (committee_id, head_name, address, phone, lat, lon, members, empty_nest, care_level, dialects,
                        care_notes, visit_slots, consent_recorded_at, import_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), $13)
"""
# Imported volunteers live in the committee's area, at its centre, and have no account until they claim it.
INSERT_VOLUNTEER = """
INSERT INTO volunteers (account_id, display_name, birth_year, phone, home_area_id, lat, lon, skills, languages,
                        weekly_hour_cap, import_id)
SELECT NULL, $2, $3, $4, a.id, a.lat, a.lon, $5, $6, $7, $8
FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
"""
# The log names each new household as a single registration does, and the upload it came from, never its details.
AUDIT_IMPORTED = """
INSERT INTO audit_log (actor_account_id, action, object_type, object_id, detail)
SELECT $1, $2, $3, x.id::text, jsonb_build_object('import', $4::text)
FROM (SELECT id FROM households WHERE import_id = $5 AND $3 = 'household'
      UNION ALL
      SELECT id FROM volunteers WHERE import_id = $5 AND $3 = 'volunteer') x
ORDER BY x.id
"""
SELECT_COMMITTEE_POINT = """
SELECT a.lat, a.lon FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
"""


async def drop_expired(conn: asyncpg.Connection) -> int:
    """Drop the files of the uploads that expired unconfirmed; how many."""
    status = await conn.execute(DROP_EXPIRED)
    return int(status.split()[-1])


async def store_upload(
    conn: asyncpg.Connection,
    committee_id: int,
    account_id: int,
    *,
    kind: str,
    filename: str,
    digest: bytes,
    content: bytes,
    minutes: int,
) -> uuid.UUID:
    """Keep an uploaded sheet for its preview (dropping the files that expired meanwhile); its public id."""
    await drop_expired(conn)
    public_id = await conn.fetchval(
        INSERT_IMPORT, committee_id, account_id, kind, filename, digest, content, minutes
    )  # fmt: skip
    return uuid.UUID(str(public_id))


async def get_import(conn: asyncpg.Connection, public_id: uuid.UUID, committee_id: int) -> ImportRow | None:
    """The committee's upload; None when it is another's or does not exist."""
    return await fetch_one(conn, SELECT_IMPORT, ImportRow, public_id, committee_id)


async def lock_import(conn: asyncpg.Connection, public_id: uuid.UUID, committee_id: int) -> ImportRow | None:
    """The committee's upload, locked for confirming, and every other confirm of the committee's waiting behind."""
    await conn.execute(LOCK_COMMITTEE_IMPORTS, committee_id)
    return await fetch_one(conn, LOCK_IMPORT, ImportRow, public_id, committee_id)


async def mark_confirmed(conn: asyncpg.Connection, import_id: int, imported: int) -> bool:
    """Record the import as done and drop its file; False when it was done already."""
    return await conn.fetchval(MARK_CONFIRMED, import_id, imported) is not None


async def known_households(conn: asyncpg.Connection, committee_id: int) -> list[KnownHousehold]:
    """The committee's current households (name and address), to check a sheet for repeats."""
    return await fetch_all(conn, SELECT_KNOWN_HOUSEHOLDS, KnownHousehold, committee_id)


async def known_volunteer_phones(conn: asyncpg.Connection, committee_id: int) -> list[str]:
    """The phones of the volunteers living in the committee's area, to check a sheet for repeats."""
    return [str(r["phone"]) for r in await conn.fetch(SELECT_KNOWN_VOLUNTEER_PHONES, committee_id)]


async def committee_point(conn: asyncpg.Connection, committee_id: int) -> tuple[float, float]:
    """The committee's centre (latitude, longitude), where imported households are placed until moved."""
    row = await conn.fetchrow(SELECT_COMMITTEE_POINT, committee_id)
    assert row is not None, "every committee has an area"
    return float(row["lat"]), float(row["lon"])


async def insert_households(
    conn: asyncpg.Connection, committee_id: int, import_id: int, rows: list[HouseholdFields]
) -> None:
    """Store the sheet's households, their consent recorded now."""
    await conn.executemany(
        INSERT_HOUSEHOLD,
        [
            (committee_id, h.head_name, h.address, h.phone, h.lat, h.lon, h.members, h.empty_nest, h.care_level,
             h.dialects, h.care_notes, h.visit_slots, import_id)
            for h in rows
        ],
    )  # fmt: skip


async def insert_volunteers(
    conn: asyncpg.Connection, committee_id: int, import_id: int, rows: list[ImportedVolunteer]
) -> None:
    """Store the sheet's volunteers in the committee's area, without accounts."""
    await conn.executemany(
        INSERT_VOLUNTEER,
        [
            (committee_id, v.display_name, v.birth_year, v.phone, v.skills, v.languages, v.weekly_hour_cap, import_id)
            for v in rows
        ],
    )


async def audit_imported(
    conn: asyncpg.Connection, actor_account_id: int, *, action: str, object_type: str, public_id: str, import_id: int
) -> None:
    """One audit entry per household or volunteer the import wrote, naming the import."""
    await conn.execute(AUDIT_IMPORTED, actor_account_id, action, object_type, public_id, import_id)


class ClaimTarget(msgspec.Struct, frozen=True):
    """An imported volunteer waiting to be claimed: who, and the hash of the code that claims it."""

    id: int
    display_name: str
    phone: str
    claim_code_hash: bytes | None


# The volunteers an import wrote that have no account yet, in the order of the sheet.
SELECT_UNCLAIMED = """
SELECT v.id, v.display_name, v.phone, v.claim_code_hash
FROM volunteers v JOIN register_imports i ON i.id = v.import_id
WHERE i.public_id = $1 AND i.committee_id = $2 AND v.account_id IS NULL
ORDER BY v.id
FOR UPDATE OF v
"""
SET_CLAIM_CODE = """
UPDATE volunteers SET claim_code_hash = $2, claim_failures = 0 WHERE id = $1 AND account_id IS NULL
"""
# Each try is counted before the code is compared, under the rows' locks, so parallel guesses queue and each sees
# the count the one before left; a phone's codes stop working after five wrong tries.
COUNT_CLAIM_TRY = """
UPDATE volunteers SET claim_failures = claim_failures + 1
WHERE phone = $1 AND claim_code_hash IS NOT NULL AND account_id IS NULL AND claim_failures < $2
RETURNING id, display_name, phone, claim_code_hash
"""
CLAIM_VOLUNTEER = """
UPDATE volunteers SET account_id = $2, claim_code_hash = NULL, claim_failures = 0
WHERE id = $1 AND account_id IS NULL AND claim_code_hash IS NOT NULL
RETURNING id
"""


async def unclaimed(conn: asyncpg.Connection, public_id: uuid.UUID, committee_id: int) -> list[ClaimTarget]:
    """The committee's import's volunteers without an account, locked while their codes are issued."""
    return await fetch_all(conn, SELECT_UNCLAIMED, ClaimTarget, public_id, committee_id)


async def set_claim_code(conn: asyncpg.Connection, volunteer_id: int, code_hash: bytes) -> None:
    """Give the volunteer a new claim code (the old one stops working) and forgive its wrong tries."""
    await conn.execute(SET_CLAIM_CODE, volunteer_id, code_hash)


async def count_claim_try(conn: asyncpg.Connection, phone: str, max_failures: int) -> list[ClaimTarget]:
    """Count a try at the phone's waiting profiles; those still open to tries, with their code hashes."""
    return await fetch_all(conn, COUNT_CLAIM_TRY, ClaimTarget, phone, max_failures)


async def claim_volunteer(conn: asyncpg.Connection, volunteer_id: int, account_id: int) -> bool:
    """Link the profile to its new account and end its code; False when it was claimed meanwhile."""
    return await conn.fetchval(CLAIM_VOLUNTEER, volunteer_id, account_id) is not None


class WaitingVolunteer(msgspec.Struct, frozen=True):
    """An imported volunteer who has not claimed their profile, with the import that wrote it and its code's state."""

    display_name: str
    phone: str
    public_id: uuid.UUID
    filename: str
    imported_at: dt.datetime
    has_code: bool
    locked: bool


# The committee's own imports only; newest import first, then in the order of the sheet.
SELECT_WAITING_VOLUNTEERS = """
SELECT v.display_name, v.phone, i.public_id, i.filename, i.confirmed_at AS imported_at,
       v.claim_code_hash IS NOT NULL AS has_code, v.claim_failures >= $2 AS locked
FROM volunteers v JOIN register_imports i ON i.id = v.import_id
WHERE i.committee_id = $1 AND i.kind = 'volunteers' AND i.confirmed_at IS NOT NULL AND v.account_id IS NULL
ORDER BY i.confirmed_at DESC, i.id DESC, v.id
"""


async def waiting_volunteers(conn: asyncpg.Connection, committee_id: int, max_failures: int) -> list[WaitingVolunteer]:
    """The volunteers the committee imported who have no account yet; `locked` after `max_failures` wrong tries."""
    return await fetch_all(conn, SELECT_WAITING_VOLUNTEERS, WaitingVolunteer, committee_id, max_failures)
