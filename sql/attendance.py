"""Attendance at shifts: check-in and check-out, the publisher's roster, confirming hours, the service record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class CheckinShiftRow(msgspec.Struct, frozen=True):
    """The shift a check-in is for, as its volunteers see it (never its codes)."""

    id: int
    title: str
    place_name: str
    publisher_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    group_activity: bool


class ShiftCodesRow(msgspec.Struct, frozen=True):
    """A shift's check-in codes, for its publisher to show at the place."""

    id: int
    title: str
    place_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    checkin_secret: str
    checkin_code: str
    group_activity: bool


class AttendancePublic(msgspec.Struct, frozen=True):
    """What the API may show of one volunteer's attendance at one shift: times, minutes and where the hours stand."""

    id: int
    shift_id: int
    volunteer_id: int
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    method: str
    minutes: int | None
    status: str
    confirmed_at: dt.datetime | None
    reject_reason: str | None


class AttendanceRow(AttendancePublic, frozen=True):
    """One volunteer's attendance at one shift, with the sign-up it is for."""

    signup_id: int


class RosterRow(msgspec.Struct, frozen=True):
    """A volunteer holding a place on a shift, and their attendance if any (for the publisher)."""

    signup_id: int
    volunteer_id: int
    volunteer_name: str
    attendance_id: int | None
    checked_in_at: dt.datetime | None
    checked_out_at: dt.datetime | None
    method: str | None
    minutes: int | None
    status: str | None
    reject_reason: str | None
    confirmed_at: dt.datetime | None = None
    no_show: bool = False
    reliability: float | None = None
    reliability_counted: int = 0


class DueRow(msgspec.Struct, frozen=True):
    """A shift the volunteer holds a place on that is open for check-in now, or that they have not checked out of."""

    shift_id: int
    title: str
    place_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    attendance_status: str | None


class PendingRow(msgspec.Struct, frozen=True):
    """Hours waiting for the publisher's decision."""

    attendance_id: int
    shift_id: int
    shift_title: str
    starts_at: dt.datetime
    volunteer_name: str
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime
    method: str
    minutes: int


class DecidedRow(msgspec.Struct, frozen=True):
    """An attendance just confirmed or rejected, with what the time bank needs to credit it."""

    id: int
    shift_id: int
    volunteer_id: int
    minutes: int
    status: str
    group_activity: bool


class RecordPublic(msgspec.Struct, frozen=True):
    """What the API may show of one entry of a volunteer's attendance history (the shift's description is left out)."""

    attendance_id: int
    shift_id: int
    title: str
    place_name: str
    publisher_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    minutes: int | None
    status: str
    confirmed_at: dt.datetime | None
    reject_reason: str | None
    group_activity: bool


class RecordRow(RecordPublic, frozen=True):
    """One entry of a volunteer's attendance history (the service record holds the confirmed ones)."""

    description: str


class CertificatePublic(msgspec.Struct, frozen=True):
    """What the API may show its holder of a certificate of the service record: its number, and what it certifies."""

    number: str
    volunteer_name: str
    volunteer_number: str
    records: int
    minutes: int
    issued_at: dt.datetime
    check_code: str
    stars: int


class CertificateRow(CertificatePublic, frozen=True):
    """A certificate of the service record, with its id and its holder's."""

    id: int
    volunteer_id: int


class CertificateCheckPublic(msgspec.Struct, frozen=True):
    """What anyone checking a certificate may see besides whose it is: its totals, and whether the records it
    certifies still stand as certified."""

    number: str
    records: int
    minutes: int
    issued_at: dt.datetime
    stars: int
    valid: bool
    # Withdrawn because its holder erased their account: the page says so and shows no name.
    withdrawn: bool


class CertificateCheckRow(CertificateCheckPublic, frozen=True):
    """What the public verification of a certificate reads: the check's facts and whose it is (to be masked)."""

    volunteer_name: str


_CHECKIN_SHIFT = """
SELECT s.id, s.title, s.place_name, coalesce(o.name, c.name) AS publisher_name, s.starts_at, s.ends_at, s.status,
       s.group_activity
FROM shifts s LEFT JOIN organisations o ON o.id = s.organisation_id LEFT JOIN committees c ON c.id = s.committee_id
"""
SELECT_SHIFT_BY_SECRET = _CHECKIN_SHIFT + " WHERE s.checkin_secret = $1"
SELECT_SHIFT_BY_CODE = _CHECKIN_SHIFT + " WHERE s.id = $1 AND s.checkin_code = $2"
SELECT_CHECKIN_SHIFT = _CHECKIN_SHIFT + " WHERE s.id = $1"
# The volunteer's place on the shift, locked while a typed code is tried (the wrong ones are counted after the lock
# is held, by a statement of their own: one taking the lock would count from before its wait).
LOCK_SIGNUP_FOR_CODE = """
SELECT g.id FROM signups g WHERE g.shift_id = $1 AND g.volunteer_id = $2 AND g.status = 'active'
FOR NO KEY UPDATE
"""
COUNT_CODE_FAILURES = "SELECT count(*) FROM checkin_code_failures WHERE shift_id = $1 AND volunteer_id = $2"
INSERT_CODE_FAILURE = (
    "INSERT INTO checkin_code_failures (shift_id, volunteer_id) SELECT id, $2 FROM shifts WHERE id = $1"
)
# Object-level authorisation in SQL: the codes only for the organisation or committee that published the shift.
_OWN_SHIFT = "(($2::bigint IS NOT NULL AND s.organisation_id = $2) OR ($3::bigint IS NOT NULL AND s.committee_id = $3))"
SELECT_SHIFT_CODES = f"""
SELECT s.id, s.title, s.place_name, s.starts_at, s.ends_at, s.checkin_secret, s.checkin_code, s.group_activity
FROM shifts s WHERE s.id = $1 AND {_OWN_SHIFT}
"""
# A publisher marks its shift as a group activity (or not) until the first hours of it are confirmed: after that
# the coins are in the ledger, in one bucket or the other, and an append-only ledger does not move them.
SET_GROUP_ACTIVITY = f"""
UPDATE shifts s SET group_activity = $4
WHERE s.id = $1 AND {_OWN_SHIFT}
  AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.shift_id = s.id AND a.status = 'confirmed')
RETURNING s.id
"""
_ATTENDANCE_COLUMNS = """
a.id, a.signup_id, a.shift_id, a.volunteer_id, a.checked_in_at, a.checked_out_at, a.method, a.minutes, a.status,
a.confirmed_at, a.reject_reason
"""
SELECT_MY_ATTENDANCE = f"SELECT {_ATTENDANCE_COLUMNS} FROM attendance a WHERE a.shift_id = $1 AND a.volunteer_id = $2"
SELECT_HOLDS_PLACE = """
SELECT EXISTS (SELECT 1 FROM signups WHERE shift_id = $1 AND volunteer_id = $2 AND status = 'active')
"""
# Only a volunteer holding a place checks in, once per sign-up (a second scan finds the first and changes nothing).
CHECK_IN = f"""
INSERT INTO attendance AS a (signup_id, shift_id, volunteer_id, checked_in_at, method)
SELECT g.id, g.shift_id, g.volunteer_id, $3, $4 FROM signups g
WHERE g.shift_id = $1 AND g.volunteer_id = $2 AND g.status = 'active'
ON CONFLICT (signup_id) DO NOTHING
RETURNING {_ATTENDANCE_COLUMNS}
"""
# Minutes are capped at the shift's length plus a tolerance ($4): see api.services.attendance for why.
_CAPPED_MINUTES = """
LEAST(floor(extract(epoch FROM ($3::timestamptz - a.checked_in_at)) / 60),
      floor(extract(epoch FROM (s.ends_at - s.starts_at)) / 60) + $4)::int
"""
CHECK_OUT = f"""
UPDATE attendance a SET checked_out_at = $3, status = 'pending', minutes = {_CAPPED_MINUTES}
FROM shifts s
WHERE s.id = a.shift_id AND a.shift_id = $1 AND a.volunteer_id = $2 AND a.status = 'open' AND a.checked_in_at <= $3
RETURNING {_ATTENDANCE_COLUMNS}
"""
# The publisher records both times for a volunteer holding a place (no phone, forgot to scan, forgot to check out);
# an open check-in is completed with the publisher's times, a checked-out one is left alone.
RECORD_MANUAL = f"""
WITH rec AS (
    SELECT g.id AS signup_id, g.shift_id, g.volunteer_id, s.starts_at, s.ends_at
    FROM signups g JOIN shifts s ON s.id = g.shift_id
    WHERE g.shift_id = $1 AND g.volunteer_id = $5 AND g.status = 'active' AND {_OWN_SHIFT}
)
INSERT INTO attendance AS a (signup_id, shift_id, volunteer_id, checked_in_at, checked_out_at, minutes, status,
                             method, recorded_by)
SELECT rec.signup_id, rec.shift_id, rec.volunteer_id, $6, $7,
       LEAST(floor(extract(epoch FROM ($7::timestamptz - $6::timestamptz)) / 60),
             floor(extract(epoch FROM (rec.ends_at - rec.starts_at)) / 60) + $4)::int,
       'pending', 'manual', $8
FROM rec
ON CONFLICT (signup_id) DO UPDATE
SET checked_in_at = EXCLUDED.checked_in_at, checked_out_at = EXCLUDED.checked_out_at, minutes = EXCLUDED.minutes,
    status = 'pending', method = 'manual', recorded_by = EXCLUDED.recorded_by
WHERE a.status = 'open'
RETURNING {_ATTENDANCE_COLUMNS}
"""
SELECT_ROSTER = f"""
SELECT g.id AS signup_id, g.volunteer_id, v.display_name AS volunteer_name, a.id AS attendance_id, a.checked_in_at,
       a.checked_out_at, a.method, a.minutes, a.status, a.reject_reason, g.confirmed_at,
       (g.no_show_at IS NOT NULL AND a.id IS NULL) AS no_show, r.score::float8 AS reliability,
       r.counted AS reliability_counted
FROM shifts s
JOIN signups g ON g.shift_id = s.id
JOIN volunteers v ON v.id = g.volunteer_id
LEFT JOIN attendance a ON a.signup_id = g.id
CROSS JOIN LATERAL volunteer_reliability(g.volunteer_id, now()) r
WHERE s.id = $1 AND {_OWN_SHIFT} AND (g.status = 'active' OR a.id IS NOT NULL)
ORDER BY v.display_name, g.id
"""
# Shifts to check in to now (from the window before the start to the end), and any check-in still open.
SELECT_DUE = """
SELECT s.id AS shift_id, s.title, s.place_name, s.starts_at, s.ends_at, a.status AS attendance_status
FROM signups g JOIN shifts s ON s.id = g.shift_id
LEFT JOIN attendance a ON a.signup_id = g.id
WHERE g.volunteer_id = $1 AND g.status = 'active' AND s.status <> 'cancelled'
  AND ((a.id IS NULL AND now() BETWEEN s.starts_at - make_interval(mins => $2) AND s.ends_at) OR a.status = 'open')
ORDER BY s.starts_at, s.id
LIMIT 20
"""
SELECT_PENDING = """
SELECT a.id AS attendance_id, a.shift_id, s.title AS shift_title, s.starts_at, v.display_name AS volunteer_name,
       a.checked_in_at, a.checked_out_at, a.method, a.minutes
FROM attendance a JOIN shifts s ON s.id = a.shift_id JOIN volunteers v ON v.id = a.volunteer_id
WHERE a.status = 'pending'
  AND (($1::bigint IS NOT NULL AND s.organisation_id = $1) OR ($2::bigint IS NOT NULL AND s.committee_id = $2))
ORDER BY s.starts_at, a.shift_id, v.display_name, a.id
LIMIT $3 OFFSET $4
"""
# Confirm or reject pending hours, only on the caller's own shifts; the caller compares the count it asked for.
DECIDE = """
UPDATE attendance a
SET status = $3, confirmed_by = $4, confirmed_at = now(), reject_reason = $5
FROM shifts s
WHERE s.id = a.shift_id AND a.id = ANY($1::bigint[]) AND a.status = 'pending'
  AND (($2::bigint IS NOT NULL AND s.organisation_id = $2) OR ($6::bigint IS NOT NULL AND s.committee_id = $6))
RETURNING a.id, a.shift_id, a.volunteer_id, a.minutes, a.status, s.group_activity
"""
_RECORD = """
SELECT a.id AS attendance_id, a.shift_id, s.title, s.description, s.place_name,
       coalesce(o.name, c.name) AS publisher_name, s.starts_at, s.ends_at, a.checked_in_at, a.checked_out_at,
       a.minutes, a.status, a.confirmed_at, a.reject_reason, s.group_activity
FROM attendance a JOIN shifts s ON s.id = a.shift_id
LEFT JOIN organisations o ON o.id = s.organisation_id LEFT JOIN committees c ON c.id = s.committee_id
"""
SELECT_MY_RECORDS = (
    _RECORD
    + """
WHERE a.volunteer_id = $1 AND ($2::text IS NULL OR a.status = $2)
ORDER BY s.starts_at DESC, a.id DESC
LIMIT $3 OFFSET $4
"""
)
# The records a certificate covers: the first N confirmed (in the order they were confirmed, so a certificate's
# number keeps meaning the same records), listed in the order they were served.
SELECT_CERTIFIED_RECORDS = (
    "SELECT * FROM ("
    + _RECORD
    + """
WHERE a.volunteer_id = $1 AND a.status = 'confirmed'
ORDER BY a.confirmed_at, a.id
LIMIT $2
) certified ORDER BY starts_at, attendance_id
"""
)
SELECT_RECORD_TOTALS = """
SELECT count(*)::int AS records, coalesce(sum(minutes), 0)::int AS minutes
FROM attendance WHERE volunteer_id = $1 AND status = 'confirmed'
"""
# One certificate per state of the record: asking again with nothing new gives the same number.
# $2: the star levels' thresholds in hours, ascending; the certificate keeps the level its hours reached.
ISSUE_CERTIFICATE = """
WITH totals AS (
    SELECT count(*) AS records, coalesce(sum(minutes), 0) AS minutes
    FROM attendance WHERE volunteer_id = $1 AND status = 'confirmed'
)
INSERT INTO service_certificates (volunteer_id, records, minutes, stars)
SELECT $1, records, minutes, (SELECT count(*) FROM unnest($2::int[]) AS hours WHERE minutes >= hours * 60)
FROM totals WHERE records > 0
ON CONFLICT (volunteer_id, records) DO NOTHING
"""
_CERTIFICATE = """
SELECT t.id, t.number, t.volunteer_id, v.display_name AS volunteer_name, v.number AS volunteer_number, t.records,
       t.minutes, t.issued_at, t.check_code, t.stars
FROM service_certificates t JOIN volunteers v ON v.id = t.volunteer_id
"""
SELECT_LATEST_CERTIFICATE = _CERTIFICATE + " WHERE t.volunteer_id = $1 ORDER BY t.records DESC LIMIT 1"
SELECT_CERTIFICATE = _CERTIFICATE + " WHERE t.number = $1"
# The public check: the number and its check code together (the number alone is guessable). Valid while the records
# it certified (the first `records` confirmed, as SELECT_CERTIFIED_RECORDS reads them) still add up to its totals.
# A withdrawn certificate (its holder erased their account) names nobody and vouches for nothing.
CHECK_CERTIFICATE = """
SELECT t.number, CASE WHEN t.withdrawn_at IS NULL THEN v.display_name ELSE '' END AS volunteer_name, t.records,
       t.minutes, t.issued_at, t.stars, t.withdrawn_at IS NOT NULL AS withdrawn,
       t.withdrawn_at IS NULL AND (SELECT count(*) = t.records AND coalesce(sum(c.minutes), 0) = t.minutes
        FROM (SELECT a.minutes FROM attendance a
              WHERE a.volunteer_id = t.volunteer_id AND a.status = 'confirmed'
              ORDER BY a.confirmed_at, a.id LIMIT t.records) c) AS valid
FROM service_certificates t JOIN volunteers v ON v.id = t.volunteer_id
WHERE t.number = $1 AND t.check_code = $2
"""


async def shift_by_secret(conn: asyncpg.Connection, secret: str) -> CheckinShiftRow | None:
    """The shift whose QR code carries this secret."""
    return await fetch_one(conn, SELECT_SHIFT_BY_SECRET, CheckinShiftRow, secret)


async def shift_by_code(conn: asyncpg.Connection, shift_id: int, code: str) -> CheckinShiftRow | None:
    """The shift, if this is its short check-in code."""
    return await fetch_one(conn, SELECT_SHIFT_BY_CODE, CheckinShiftRow, shift_id, code)


async def lock_code_tries(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> int | None:
    """Lock the volunteer's place on the shift and count their wrong codes; None if they hold no place."""
    if not await conn.fetch(LOCK_SIGNUP_FOR_CODE, shift_id, volunteer_id):
        return None
    return await code_failures(conn, shift_id, volunteer_id)


async def code_failures(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> int:
    """How many wrong check-in codes this volunteer typed for this shift."""
    return int(await conn.fetchval(COUNT_CODE_FAILURES, shift_id, volunteer_id))


async def record_code_failure(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> None:
    """Count one wrong check-in code (nothing for a shift that does not exist)."""
    await conn.execute(INSERT_CODE_FAILURE, shift_id, volunteer_id)


async def checkin_shift(conn: asyncpg.Connection, shift_id: int) -> CheckinShiftRow | None:
    """The shift as a volunteer sees it at check-in."""
    return await fetch_one(conn, SELECT_CHECKIN_SHIFT, CheckinShiftRow, shift_id)


async def shift_codes(
    conn: asyncpg.Connection, shift_id: int, *, organisation_id: int | None, committee_id: int | None
) -> ShiftCodesRow | None:
    """A shift's check-in codes, if the caller's organisation or committee published it."""
    return await fetch_one(conn, SELECT_SHIFT_CODES, ShiftCodesRow, shift_id, organisation_id, committee_id)


async def set_group_activity(
    conn: asyncpg.Connection, shift_id: int, *, organisation_id: int | None, committee_id: int | None, group: bool
) -> bool:
    """Mark the caller's shift as a group activity or not; False if not theirs or hours are already confirmed."""
    found = await conn.fetchval(SET_GROUP_ACTIVITY, shift_id, organisation_id, committee_id, group)
    return found is not None


async def my_attendance(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> AttendanceRow | None:
    """A volunteer's attendance at a shift, if they checked in."""
    return await fetch_one(conn, SELECT_MY_ATTENDANCE, AttendanceRow, shift_id, volunteer_id)


async def holds_place(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> bool:
    """Whether the volunteer holds a place (an active sign-up) on the shift."""
    return bool(await conn.fetchval(SELECT_HOLDS_PLACE, shift_id, volunteer_id))


async def check_in(
    conn: asyncpg.Connection, shift_id: int, volunteer_id: int, at: dt.datetime, method: str
) -> AttendanceRow | None:
    """Record the check-in; None if the volunteer holds no place or has already checked in."""
    return await fetch_one(conn, CHECK_IN, AttendanceRow, shift_id, volunteer_id, at, method)


async def check_out(
    conn: asyncpg.Connection, shift_id: int, volunteer_id: int, at: dt.datetime, tolerance_minutes: int
) -> AttendanceRow | None:
    """Record the check-out and the (capped) minutes; None if there is no open check-in."""
    return await fetch_one(conn, CHECK_OUT, AttendanceRow, shift_id, volunteer_id, at, tolerance_minutes)


async def record_manual(
    conn: asyncpg.Connection,
    shift_id: int,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    tolerance_minutes: int,
    volunteer_id: int,
    checked_in_at: dt.datetime,
    checked_out_at: dt.datetime,
    recorded_by: int,
) -> AttendanceRow | None:
    """The publisher records a volunteer's times; None if not their shift, no place held, or already out."""
    return await fetch_one(
        conn,
        RECORD_MANUAL,
        AttendanceRow,
        shift_id,
        organisation_id,
        committee_id,
        tolerance_minutes,
        volunteer_id,
        checked_in_at,
        checked_out_at,
        recorded_by,
    )


async def roster(
    conn: asyncpg.Connection, shift_id: int, *, organisation_id: int | None, committee_id: int | None
) -> list[RosterRow]:
    """Who holds a place on the caller's shift, with their attendance."""
    return await fetch_all(conn, SELECT_ROSTER, RosterRow, shift_id, organisation_id, committee_id)


async def due(conn: asyncpg.Connection, volunteer_id: int, window_minutes: int) -> list[DueRow]:
    """Shifts the volunteer can check in to now, or has not checked out of."""
    return await fetch_all(conn, SELECT_DUE, DueRow, volunteer_id, window_minutes)


async def pending(
    conn: asyncpg.Connection, *, organisation_id: int | None, committee_id: int | None, limit: int, offset: int
) -> list[PendingRow]:
    """Hours waiting for a decision on the caller's shifts."""
    return await fetch_all(conn, SELECT_PENDING, PendingRow, organisation_id, committee_id, limit, offset)


async def decide(
    conn: asyncpg.Connection,
    attendance_ids: list[int],
    *,
    status: str,
    decided_by: int,
    reason: str | None,
    organisation_id: int | None,
    committee_id: int | None,
) -> list[DecidedRow]:
    """Confirm or reject pending attendances on the caller's shifts; those actually changed."""
    return await fetch_all(
        conn, DECIDE, DecidedRow, attendance_ids, organisation_id, status, decided_by, reason, committee_id
    )


async def my_records(
    conn: asyncpg.Connection, volunteer_id: int, *, status: str | None, limit: int, offset: int
) -> list[RecordRow]:
    """A volunteer's attendances (all, or of one status), latest first."""
    return await fetch_all(conn, SELECT_MY_RECORDS, RecordRow, volunteer_id, status, limit, offset)


async def certified_records(conn: asyncpg.Connection, volunteer_id: int, records: int) -> list[RecordRow]:
    """The first `records` confirmed records of a volunteer (in the order they were confirmed), listed by date."""
    return await fetch_all(conn, SELECT_CERTIFIED_RECORDS, RecordRow, volunteer_id, records)


async def record_totals(conn: asyncpg.Connection, volunteer_id: int) -> tuple[int, int]:
    """(confirmed records, confirmed minutes) of a volunteer."""
    record = await conn.fetchrow(SELECT_RECORD_TOTALS, volunteer_id)
    assert record is not None
    return int(record["records"]), int(record["minutes"])


async def issue_certificate(
    conn: asyncpg.Connection, volunteer_id: int, star_hours: Sequence[int]
) -> CertificateRow | None:
    """The certificate of the record as it stands (issued now or earlier, with the star level its hours reached
    under `star_hours`); None with no confirmed hours."""
    await conn.execute(ISSUE_CERTIFICATE, volunteer_id, list(star_hours))
    return await fetch_one(conn, SELECT_LATEST_CERTIFICATE, CertificateRow, volunteer_id)


async def certificate(conn: asyncpg.Connection, number: str) -> CertificateRow | None:
    """A certificate by its number."""
    return await fetch_one(conn, SELECT_CERTIFICATE, CertificateRow, number)


async def check_certificate(conn: asyncpg.Connection, number: str, check_code: str) -> CertificateCheckRow | None:
    """A certificate by its number and check code, with whether what it certifies still stands."""
    return await fetch_one(conn, CHECK_CERTIFICATE, CertificateCheckRow, number, check_code)
