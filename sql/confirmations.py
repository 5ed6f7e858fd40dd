"""Confirming places: the ask before a shift, the place released at the cut-off, no-shows, and reliability.

The rules' dates and the reliability figure are defined once in the schema (migration 0028: confirm_asked_at,
volunteer_reliability); these statements use them.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class PlacePublic(msgspec.Struct, frozen=True):
    """What a confirm link may show of a sign-up: the shift (no household, no address) and the place's state."""

    signup_id: int
    shift_id: int
    status: str
    confirmed_at: dt.datetime | None
    title: str
    place_name: str
    publisher_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    shift_status: str
    confirm_hours_before: int | None
    cancellation_window_hours: int


class PlaceRow(PlacePublic, frozen=True):
    """A sign-up reached through its confirm link, with whose it is."""

    volunteer_id: int
    account_id: int | None


class DueRelease(msgspec.Struct, frozen=True):
    """A held place past its shift's cut-off and still unconfirmed."""

    signup_id: int
    shift_id: int


class Released(msgspec.Struct, frozen=True):
    """A place just released: whose it was."""

    signup_id: int
    volunteer_id: int


class NoShowRow(msgspec.Struct, frozen=True):
    """A held place just recorded as a no-show."""

    signup_id: int
    shift_id: int
    volunteer_id: int


class ReliabilityRow(msgspec.Struct, frozen=True):
    """A volunteer's reliability over the defined window (volunteer_reliability in migration 0028)."""

    volunteer_id: int
    counted: int
    no_shows: int
    late_cancellations: int
    score: float | None


SELECT_PLACE = """
SELECT g.id AS signup_id, g.shift_id, g.volunteer_id, v.account_id, g.status, g.confirmed_at, s.title, s.place_name,
       coalesce(o.name, c.name) AS publisher_name, s.starts_at, s.ends_at, s.status AS shift_status,
       s.confirm_hours_before, s.cancellation_window_hours
FROM signups g
JOIN shifts s ON s.id = g.shift_id
JOIN volunteers v ON v.id = g.volunteer_id
LEFT JOIN organisations o ON o.id = s.organisation_id
LEFT JOIN committees c ON c.id = s.committee_id
WHERE g.confirm_token = $1
"""
# Confirming is a held place on a shift still to come; confirming twice changes nothing (no row the second time).
CONFIRM = """
UPDATE signups g SET confirmed_at = now()
FROM shifts s
WHERE g.id = $1 AND s.id = g.shift_id AND g.status = 'active' AND g.confirmed_at IS NULL
  AND s.status <> 'cancelled' AND s.starts_at > now()
RETURNING g.id
"""
# The ask ("will you come?"), written once it falls due, a day before the cut-off, for held places not confirmed
# yet; the link's token goes with it so that the inbox, email and SMS can carry the link.
INSERT_DUE_ASKS = """
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key, due_at, next_attempt_at)
SELECT v.account_id, 'confirm_request', s.id, jsonb_build_object('signup_id', g.id, 'token', g.confirm_token),
       'confirm_request:signup:' || g.id, greatest(confirm_asked_at(s.starts_at, s.confirm_hours_before), g.created_at),
       now()
FROM signups g
JOIN shifts s ON s.id = g.shift_id
JOIN volunteers v ON v.id = g.volunteer_id
WHERE g.status = 'active' AND g.confirmed_at IS NULL AND s.confirm_hours_before IS NOT NULL
  AND s.status <> 'cancelled' AND v.account_id IS NOT NULL
  AND confirm_asked_at(s.starts_at, s.confirm_hours_before) <= now()
  AND now() < s.starts_at - make_interval(hours => s.confirm_hours_before)
ON CONFLICT (dedupe_key) DO NOTHING
"""
# An ask not yet delivered whose place was confirmed, given up or released is dropped.
WITHDRAW_STALE_ASKS = """
UPDATE notifications n SET status = 'withdrawn'
WHERE n.status = 'pending' AND n.kind = 'confirm_request'
  AND NOT EXISTS (
      SELECT 1 FROM signups g
      WHERE g.id = (n.params ->> 'signup_id')::bigint AND g.status = 'active' AND g.confirmed_at IS NULL)
"""
SELECT_DUE_RELEASES = """
SELECT g.id AS signup_id, g.shift_id
FROM signups g JOIN shifts s ON s.id = g.shift_id
WHERE g.status = 'active' AND g.confirmed_at IS NULL AND s.confirm_hours_before IS NOT NULL
  AND s.status <> 'cancelled' AND now() >= s.starts_at - make_interval(hours => s.confirm_hours_before)
  AND s.starts_at > now()
ORDER BY s.starts_at, g.id
LIMIT $1
"""
# Guarded like a cancellation: only a place still held, still unconfirmed and past its cut-off is released, so two
# runs at once (or a confirmation at the last second) release it at most once.
RELEASE = """
UPDATE signups g SET status = 'released', released_at = now()
FROM shifts s
WHERE g.id = $1 AND s.id = g.shift_id AND g.status = 'active' AND g.confirmed_at IS NULL
  AND s.confirm_hours_before IS NOT NULL AND s.status <> 'cancelled'
  AND now() >= s.starts_at - make_interval(hours => s.confirm_hours_before) AND s.starts_at > now()
RETURNING g.id AS signup_id, g.volunteer_id
"""
# After check-in has closed (the shift's end), a held place with no attendance is a no-show; once per sign-up.
# Only the last 30 days are swept, so an old gap in the records is never counted now.
MARK_NO_SHOWS = """
UPDATE signups g SET no_show_at = now()
FROM shifts s
WHERE s.id = g.shift_id AND g.status = 'active' AND g.no_show_at IS NULL AND s.status <> 'cancelled'
  AND s.ends_at <= now() AND s.ends_at > now() - interval '30 days'
  AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.signup_id = g.id)
RETURNING g.id AS signup_id, g.shift_id, g.volunteer_id
"""
SELECT_TOKEN = "SELECT confirm_token FROM signups WHERE shift_id = $1 AND volunteer_id = $2 AND status = 'active'"
SELECT_RELIABILITY = """
SELECT x.id AS volunteer_id, r.counted, r.no_shows, r.late_cancellations, r.score::float8 AS score
FROM unnest($1::bigint[]) AS x(id) CROSS JOIN LATERAL volunteer_reliability(x.id, now()) r
"""


async def place(conn: asyncpg.Connection, token: str) -> PlaceRow | None:
    """The sign-up behind a confirm link."""
    return await fetch_one(conn, SELECT_PLACE, PlaceRow, token)


async def token_of(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> str | None:
    """The confirm token of the place a volunteer holds on a shift."""
    found = await conn.fetchval(SELECT_TOKEN, shift_id, volunteer_id)
    return None if found is None else str(found)


async def confirm(conn: asyncpg.Connection, signup_id: int) -> bool:
    """Confirm a held place; False when it is not held, already confirmed or the shift has begun."""
    return await conn.fetchval(CONFIRM, signup_id) is not None


async def insert_due_asks(conn: asyncpg.Connection) -> int:
    """Write the asks that fell due; how many were new."""
    return int((await conn.execute(INSERT_DUE_ASKS)).split()[-1])


async def withdraw_stale_asks(conn: asyncpg.Connection) -> int:
    """Drop undelivered asks whose place no longer waits for a confirmation."""
    return int((await conn.execute(WITHDRAW_STALE_ASKS)).split()[-1])


async def due_releases(conn: asyncpg.Connection, limit: int) -> list[DueRelease]:
    """Held places past their cut-off and unconfirmed, soonest shift first."""
    return await fetch_all(conn, SELECT_DUE_RELEASES, DueRelease, limit)


async def release(conn: asyncpg.Connection, signup_id: int) -> Released | None:
    """Release an unconfirmed place past its cut-off; None when it no longer qualifies."""
    return await fetch_one(conn, RELEASE, Released, signup_id)


async def mark_no_shows(conn: asyncpg.Connection) -> list[NoShowRow]:
    """Record the no-shows of shifts whose check-in has closed."""
    return await fetch_all(conn, MARK_NO_SHOWS, NoShowRow)


async def reliability(conn: asyncpg.Connection, volunteer_ids: list[int]) -> dict[int, ReliabilityRow]:
    """Each volunteer's reliability now, by id."""
    rows = await conn.fetch(SELECT_RELIABILITY, volunteer_ids)
    return {int(r["volunteer_id"]): msgspec.convert(dict(r), ReliabilityRow) for r in rows}
