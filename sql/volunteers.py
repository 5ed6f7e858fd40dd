"""Volunteers: the profile (skills, certificates, languages and dialects, availability, home, radius, weekly cap,
insurance, guardian, consent) and the calendar feed's key."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class VolunteerPublic(msgspec.Struct, frozen=True):
    """What the API may show a volunteer of their own profile (not the account behind it)."""

    id: int
    display_name: str
    birth_year: int
    phone: str
    home_area_id: int
    home_area_name: str
    lat: float
    lon: float
    travel_km: float
    weekly_hour_cap: int
    skills: list[str]
    languages: list[str]
    insured_until: dt.date | None
    guardian_consent: bool
    sensitive_data_consent: bool
    dialects: list[str]
    birth_date: dt.date | None
    guardian_name: str | None
    sensitive_data_consent_at: dt.datetime | None


class VolunteerRow(VolunteerPublic, frozen=True):
    """A volunteer's profile with the name of their home committee area, and the account it belongs to."""

    account_id: int | None


class VolunteerFields(msgspec.Struct, frozen=True):
    """What a volunteer gives at registration and keeps editing (checked by the use case)."""

    display_name: str
    birth_year: int
    phone: str
    home_area_id: int
    travel_km: float
    weekly_hour_cap: int
    skills: list[str]
    languages: list[str]
    guardian_consent: bool
    guardian_name: str | None


class ProfileFields(VolunteerFields, frozen=True):
    """The editable profile: the registration's fields, the home point (None keeps or moves it) and the rest."""

    lat: float | None
    lon: float | None
    dialects: list[str]
    birth_date: dt.date | None
    insured_until: dt.date | None


class CertificateRow(msgspec.Struct, frozen=True):
    """A certificate a volunteer holds (kind from the application's list); no expiry date means it does not expire."""

    id: int
    kind: str
    number: str
    issued_on: dt.date | None
    expires_on: dt.date | None


class WindowRow(msgspec.Struct, frozen=True):
    """A weekly window of availability in Shanghai wall time (1 = Monday)."""

    id: int
    weekday: int
    starts: dt.time
    ends: dt.time


class ExceptionRow(msgspec.Struct, frozen=True):
    """A one-off change to the weekly pattern: away, or an extra available time."""

    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    available: bool


_VOLUNTEER_COLUMNS = """
v.id, v.account_id, v.display_name, v.birth_year, v.phone, v.home_area_id, a.name AS home_area_name,
v.lat, v.lon, v.travel_km::float8 AS travel_km, v.weekly_hour_cap, v.skills, v.languages, v.insured_until,
v.guardian_consent, v.sensitive_data_consent_at IS NOT NULL AS sensitive_data_consent, v.dialects, v.birth_date,
v.guardian_name, v.sensitive_data_consent_at
"""
SELECT_VOLUNTEER_BY_ACCOUNT = f"""
SELECT {_VOLUNTEER_COLUMNS}
FROM volunteers v JOIN areas a ON a.id = v.home_area_id
WHERE v.account_id = $1
"""
SELECT_VOLUNTEER = f"""
SELECT {_VOLUNTEER_COLUMNS}
FROM volunteers v JOIN areas a ON a.id = v.home_area_id
WHERE v.id = $1
"""
# A new home committee moves the home point to that committee's point unless a point is given.
UPDATE_PROFILE = """
UPDATE volunteers v
SET display_name = $2, phone = $3, home_area_id = a.id,
    lat = coalesce($5, CASE WHEN a.id = v.home_area_id THEN v.lat ELSE a.lat END),
    lon = coalesce($6, CASE WHEN a.id = v.home_area_id THEN v.lon ELSE a.lon END),
    travel_km = $7, weekly_hour_cap = $8, skills = $9, languages = $10, dialects = $11,
    birth_year = $12, birth_date = $13, insured_until = $14, guardian_consent = $15, guardian_name = $16,
    -- A changed declaration is declared again: its verification does not carry over to the new value.
    birth_date_check_id = CASE WHEN v.birth_date IS NOT DISTINCT FROM $13 THEN v.birth_date_check_id END,
    insurance_check_id = CASE WHEN v.insured_until IS NOT DISTINCT FROM $14 THEN v.insurance_check_id END
FROM areas a
WHERE v.id = $1 AND a.id = $4 AND a.level = 'committee'
RETURNING v.id
"""
# Consent is its own statement: given once (the first moment is kept), withdrawn by clearing it.
SET_SENSITIVE_CONSENT = """
UPDATE volunteers
SET sensitive_data_consent_at = CASE WHEN $2 THEN coalesce(sensitive_data_consent_at, now()) END
WHERE id = $1
RETURNING sensitive_data_consent_at
"""
SELECT_CERTIFICATES = """
SELECT id, kind, number, issued_on, expires_on FROM volunteer_certificates WHERE volunteer_id = $1 ORDER BY kind
"""
UPSERT_CERTIFICATE = """
INSERT INTO volunteer_certificates (volunteer_id, kind, number, issued_on, expires_on)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (volunteer_id, kind)
DO UPDATE SET number = EXCLUDED.number, issued_on = EXCLUDED.issued_on, expires_on = EXCLUDED.expires_on,
    -- A renewal (any change) is declared again and needs verifying anew.
    check_id = CASE WHEN (volunteer_certificates.number, volunteer_certificates.issued_on,
                          volunteer_certificates.expires_on)
                         IS NOT DISTINCT FROM (EXCLUDED.number, EXCLUDED.issued_on, EXCLUDED.expires_on)
                    THEN volunteer_certificates.check_id END
RETURNING id
"""
DELETE_CERTIFICATE = "DELETE FROM volunteer_certificates WHERE volunteer_id = $1 AND kind = $2 RETURNING id"
SELECT_WINDOWS = """
SELECT id, weekday, starts, ends FROM volunteer_availability WHERE volunteer_id = $1 ORDER BY weekday, starts
"""
DELETE_WINDOWS = "DELETE FROM volunteer_availability WHERE volunteer_id = $1"
INSERT_WINDOWS = """
INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends)
SELECT $1, w.weekday, w.starts, w.ends
FROM unnest($2::smallint[], $3::time[], $4::time[]) AS w (weekday, starts, ends)
"""
# Exceptions still to come (or under way), the soonest first.
SELECT_EXCEPTIONS = """
SELECT id, lower(during) AS starts_at, upper(during) AS ends_at, available
FROM availability_exceptions
WHERE volunteer_id = $1 AND upper(during) > now()
ORDER BY lower(during), id
"""
INSERT_EXCEPTION = """
INSERT INTO availability_exceptions (volunteer_id, during, available)
VALUES ($1, tstzrange($2, $3, '[)'), $4)
RETURNING id
"""
DELETE_EXCEPTION = "DELETE FROM availability_exceptions WHERE id = $2 AND volunteer_id = $1 RETURNING id"
SELECT_CALENDAR_KEY = "SELECT calendar_key FROM volunteers WHERE id = $1"
RENEW_CALENDAR_KEY = "UPDATE volunteers SET calendar_key = gen_random_uuid() WHERE id = $1 RETURNING calendar_key"
# A volunteer's home point starts at their committee's point; they can move it later.
INSERT_VOLUNTEER = """
INSERT INTO volunteers (account_id, display_name, birth_year, phone, home_area_id, lat, lon, travel_km,
                        weekly_hour_cap, skills, languages, guardian_consent, sensitive_data_consent_at,
                        guardian_name)
SELECT $1, $2, $3, $4, a.id, a.lat, a.lon, $6, $7, $8, $9, $10, CASE WHEN $11 THEN now() END, $12
FROM areas a WHERE a.id = $5 AND a.level = 'committee'
RETURNING id
"""


async def get_volunteer_by_account(conn: asyncpg.Connection, account_id: int) -> VolunteerRow | None:
    """The volunteer profile belonging to an account."""
    return await fetch_one(conn, SELECT_VOLUNTEER_BY_ACCOUNT, VolunteerRow, account_id)


async def insert_volunteer(
    conn: asyncpg.Connection, account_id: int, f: VolunteerFields, sensitive_data_consent: bool
) -> int | None:
    """Create a volunteer living in a committee area; None if that area is not a committee."""
    found = await conn.fetchval(
        INSERT_VOLUNTEER, account_id, f.display_name, f.birth_year, f.phone, f.home_area_id, f.travel_km,
        f.weekly_hour_cap, f.skills, f.languages, f.guardian_consent, sensitive_data_consent, f.guardian_name,
    )  # fmt: skip
    return None if found is None else int(found)


async def get_volunteer(conn: asyncpg.Connection, volunteer_id: int) -> VolunteerRow | None:
    """A volunteer's profile by the volunteer's id."""
    return await fetch_one(conn, SELECT_VOLUNTEER, VolunteerRow, volunteer_id)


async def update_profile(conn: asyncpg.Connection, volunteer_id: int, f: ProfileFields) -> bool:
    """Replace the editable profile; False when the home area is not a committee."""
    found = await conn.fetchval(
        UPDATE_PROFILE, volunteer_id, f.display_name, f.phone, f.home_area_id, f.lat, f.lon, f.travel_km,
        f.weekly_hour_cap, f.skills, f.languages, f.dialects, f.birth_year, f.birth_date, f.insured_until,
        f.guardian_consent, f.guardian_name,
    )  # fmt: skip
    return found is not None


async def set_sensitive_consent(conn: asyncpg.Connection, volunteer_id: int, given: bool) -> dt.datetime | None:
    """Give or withdraw consent to process sensitive data; when it was given, or None."""
    value: dt.datetime | None = await conn.fetchval(SET_SENSITIVE_CONSENT, volunteer_id, given)
    return value


async def list_certificates(conn: asyncpg.Connection, volunteer_id: int) -> list[CertificateRow]:
    """The volunteer's certificates by kind."""
    return await fetch_all(conn, SELECT_CERTIFICATES, CertificateRow, volunteer_id)


async def upsert_certificate(
    conn: asyncpg.Connection,
    volunteer_id: int,
    *,
    kind: str,
    number: str,
    issued_on: dt.date | None,
    expires_on: dt.date | None,
) -> int:
    """Record a certificate, replacing the one of the same kind; its id."""
    return int(await conn.fetchval(UPSERT_CERTIFICATE, volunteer_id, kind, number, issued_on, expires_on))


async def delete_certificate(conn: asyncpg.Connection, volunteer_id: int, kind: str) -> bool:
    """Remove the volunteer's certificate of a kind; False if there was none."""
    return await conn.fetchval(DELETE_CERTIFICATE, volunteer_id, kind) is not None


async def list_windows(conn: asyncpg.Connection, volunteer_id: int) -> list[WindowRow]:
    """The weekly windows, Monday first."""
    return await fetch_all(conn, SELECT_WINDOWS, WindowRow, volunteer_id)


async def replace_windows(
    conn: asyncpg.Connection, volunteer_id: int, windows: list[tuple[int, dt.time, dt.time]]
) -> None:
    """Replace every weekly window with these (weekday, starts, ends)."""
    await conn.execute(DELETE_WINDOWS, volunteer_id)
    if windows:
        await conn.execute(
            INSERT_WINDOWS,
            volunteer_id,
            [w[0] for w in windows],
            [w[1] for w in windows],
            [w[2] for w in windows],
        )


async def list_exceptions(conn: asyncpg.Connection, volunteer_id: int) -> list[ExceptionRow]:
    """Exceptions to the weekly pattern that have not yet ended."""
    return await fetch_all(conn, SELECT_EXCEPTIONS, ExceptionRow, volunteer_id)


async def insert_exception(
    conn: asyncpg.Connection, volunteer_id: int, *, starts_at: dt.datetime, ends_at: dt.datetime, available: bool
) -> int:
    """Record an exception to the weekly pattern; its id."""
    return int(await conn.fetchval(INSERT_EXCEPTION, volunteer_id, starts_at, ends_at, available))


async def delete_exception(conn: asyncpg.Connection, volunteer_id: int, exception_id: int) -> bool:
    """Remove one of the volunteer's exceptions; False if it is not theirs or does not exist."""
    return await conn.fetchval(DELETE_EXCEPTION, volunteer_id, exception_id) is not None


async def calendar_key(conn: asyncpg.Connection, volunteer_id: int) -> uuid.UUID | None:
    """The key the calendar feed's token is derived from; None for no such volunteer."""
    value: uuid.UUID | None = await conn.fetchval(SELECT_CALENDAR_KEY, volunteer_id)
    return value


async def renew_calendar_key(conn: asyncpg.Connection, volunteer_id: int) -> uuid.UUID:
    """A fresh calendar key, which makes the old feed URL stop working."""
    value: uuid.UUID = await conn.fetchval(RENEW_CALENDAR_KEY, volunteer_id)
    return value
