"""Recurring shifts: a weekly rule (weekdays, Shanghai wall time, from and until dates, exception dates) and the
shifts it generates."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class SeriesPublic(msgspec.Struct, frozen=True):
    """What the API may show of a weekly rule, besides its start time (shown as HH:MM): publisher, place, dates."""

    id: int
    organisation_id: int | None
    committee_id: int | None
    household_id: int | None
    title: str
    description: str
    place_name: str
    lat: float
    lon: float
    weekdays: list[int]
    minutes: int
    from_date: dt.date
    until_date: dt.date
    exceptions: list[dt.date]
    headcount: int
    required_skills: list[str]
    required_certificates: list[str]
    min_age: int
    insurance_required: bool
    minors_in_groups_only: bool
    cancellation_window_hours: int
    status: str
    shifts_open: int
    confirm_hours_before: int | None


class SeriesRow(SeriesPublic, frozen=True):
    """A weekly rule with its publisher and how many of its shifts are still open."""

    starts: dt.time


_SERIES_COLUMNS = """
r.id, r.organisation_id, r.committee_id, r.household_id, r.title, r.description, r.place_name, r.lat, r.lon,
r.weekdays::int[] AS weekdays, r.starts, r.minutes, r.from_date, r.until_date, r.exceptions, r.headcount,
r.required_skills, r.required_certificates, r.min_age, r.insurance_required, r.minors_in_groups_only,
r.cancellation_window_hours, r.status, r.confirm_hours_before,
(SELECT count(*) FROM shifts s WHERE s.series_id = r.id AND s.status = 'open')::int AS shifts_open
"""
INSERT_SERIES = """
INSERT INTO shift_series (organisation_id, committee_id, household_id, title, description, place_name, lat, lon,
                          weekdays, starts, minutes, from_date, until_date, exceptions, headcount, required_skills,
                          required_certificates, min_age, insurance_required, minors_in_groups_only,
                          cancellation_window_hours, created_by, confirm_hours_before)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23
-- A pending or suspended organisation publishes nothing.
WHERE $1::bigint IS NULL OR EXISTS (SELECT 1 FROM organisations WHERE id = $1 AND status = 'verified')
RETURNING id
"""
# Every day of the rule that falls on one of its weekdays and is not an exception becomes a shift at the rule's
# Shanghai wall time (converted to an instant on that day, so the offset is right whatever the date); days
# already past are skipped. The partial unique index makes a second generation a no-op.
GENERATE_SHIFTS = """
INSERT INTO shifts (organisation_id, committee_id, household_id, series_id, title, description, place_name, lat, lon,
                    starts_at, ends_at, headcount, required_skills, required_certificates, min_age,
                    insurance_required, minors_in_groups_only, cancellation_window_hours, created_by,
                    confirm_hours_before)
SELECT r.organisation_id, r.committee_id, r.household_id, r.id, r.title, r.description, r.place_name, r.lat, r.lon,
       (day.d + r.starts) AT TIME ZONE 'Asia/Shanghai',
       (day.d + r.starts) AT TIME ZONE 'Asia/Shanghai' + make_interval(mins => r.minutes),
       r.headcount, r.required_skills, r.required_certificates, r.min_age, r.insurance_required,
       r.minors_in_groups_only, r.cancellation_window_hours, r.created_by, r.confirm_hours_before
FROM shift_series r
CROSS JOIN LATERAL (SELECT r.from_date + i AS d FROM generate_series(0, r.until_date - r.from_date) AS i) day
WHERE r.id = $1
  AND extract(isodow FROM day.d)::smallint = ANY (r.weekdays)
  AND NOT (day.d = ANY (r.exceptions))
  AND (day.d + r.starts) AT TIME ZONE 'Asia/Shanghai' > now()
ON CONFLICT (series_id, starts_at) WHERE series_id IS NOT NULL DO NOTHING
RETURNING id
"""
# The publisher sees only its own rules.
SELECT_SERIES = f"""
SELECT {_SERIES_COLUMNS} FROM shift_series r
WHERE r.id = $1
  AND (($2::bigint IS NOT NULL AND r.organisation_id = $2) OR ($3::bigint IS NOT NULL AND r.committee_id = $3))
"""
SELECT_PUBLISHED_SERIES = f"""
SELECT {_SERIES_COLUMNS} FROM shift_series r
WHERE ($1::bigint IS NOT NULL AND r.organisation_id = $1) OR ($2::bigint IS NOT NULL AND r.committee_id = $2)
ORDER BY r.from_date DESC, r.id DESC
LIMIT $3 OFFSET $4
"""
SELECT_SERIES_SHIFT_IDS = "SELECT id FROM shifts WHERE series_id = $1 ORDER BY starts_at"
ADD_EXCEPTION = """
UPDATE shift_series SET exceptions = array_append(exceptions, $2::date)
WHERE id = $1 AND NOT ($2::date = ANY (exceptions)) AND $2::date BETWEEN from_date AND until_date
RETURNING id
"""
# The occurrence on an exception day is called off, with whoever held or awaited a place on it.
CALL_OFF_OCCURRENCE = """
UPDATE shifts SET status = 'cancelled', taken = 0
WHERE series_id = $1 AND (starts_at AT TIME ZONE 'Asia/Shanghai')::date = $2 AND status <> 'cancelled'
RETURNING id
"""
CANCEL_SIGNUPS = """
UPDATE signups g SET status = 'cancelled', cancelled_at = now()
FROM volunteers v
WHERE v.id = g.volunteer_id AND g.shift_id = $1 AND g.status IN ('active', 'waitlisted')
RETURNING g.volunteer_id, v.account_id
"""


async def insert_series(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    household_id: int | None,
    title: str,
    description: str,
    place_name: str,
    lat: float,
    lon: float,
    weekdays: list[int],
    starts: dt.time,
    minutes: int,
    from_date: dt.date,
    until_date: dt.date,
    exceptions: list[dt.date],
    headcount: int,
    required_skills: list[str],
    required_certificates: list[str],
    min_age: int,
    insurance_required: bool,
    minors_in_groups_only: bool,
    cancellation_window_hours: int,
    created_by: int | None,
    confirm_hours_before: int | None = None,
) -> int | None:
    """Record a weekly rule; its id, or None when the publishing organisation is not verified."""
    found = await conn.fetchval(
        INSERT_SERIES,
        organisation_id,
        committee_id,
        household_id,
        title,
        description,
        place_name,
        lat,
        lon,
        weekdays,
        starts,
        minutes,
        from_date,
        until_date,
        exceptions,
        headcount,
        required_skills,
        required_certificates,
        min_age,
        insurance_required,
        minors_in_groups_only,
        cancellation_window_hours,
        created_by,
        confirm_hours_before,
    )
    return None if found is None else int(found)


async def generate_shifts(conn: asyncpg.Connection, series_id: int) -> list[int]:
    """Create the rule's shifts still to come (idempotent); the ids of those created now."""
    return [int(r["id"]) for r in await conn.fetch(GENERATE_SHIFTS, series_id)]


async def get_series(
    conn: asyncpg.Connection, series_id: int, *, organisation_id: int | None, committee_id: int | None
) -> SeriesRow | None:
    """One rule of this publisher."""
    return await fetch_one(conn, SELECT_SERIES, SeriesRow, series_id, organisation_id, committee_id)


async def list_published(
    conn: asyncpg.Connection, *, organisation_id: int | None, committee_id: int | None, limit: int, offset: int
) -> list[SeriesRow]:
    """The publisher's weekly rules, the latest first."""
    return await fetch_all(conn, SELECT_PUBLISHED_SERIES, SeriesRow, organisation_id, committee_id, limit, offset)


async def shift_ids(conn: asyncpg.Connection, series_id: int) -> list[int]:
    """The ids of a rule's shifts in time order."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_SERIES_SHIFT_IDS, series_id)]


async def add_exception(conn: asyncpg.Connection, series_id: int, day: dt.date) -> bool:
    """Add an exception date inside the rule's dates; False if it is outside them or already an exception."""
    return await conn.fetchval(ADD_EXCEPTION, series_id, day) is not None


async def call_off_occurrence(conn: asyncpg.Connection, series_id: int, day: dt.date) -> list[int]:
    """Call off the rule's shift on that Shanghai date; the ids of the shifts called off."""
    return [int(r["id"]) for r in await conn.fetch(CALL_OFF_OCCURRENCE, series_id, day)]


async def cancel_signups(conn: asyncpg.Connection, shift_id: int) -> list[tuple[int, int | None]]:
    """Cancel every live sign-up of a called-off shift; (volunteer id, account id) of those who held or awaited one."""
    rows = await conn.fetch(CANCEL_SIGNUPS, shift_id)
    return [(int(r["volunteer_id"]), r["account_id"]) for r in rows]
