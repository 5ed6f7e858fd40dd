"""The notification outbox: rows written beside the events that cause them, the cron's queue, and the inbox."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import asyncpg
import msgspec


class NoticeRow(msgspec.Struct, frozen=True):
    """What a notification says: its kind and parameters, and the shift it is about (title and time read from it)."""

    id: int
    kind: str
    shift_id: int | None
    shift_title: str | None
    shift_starts_at: dt.datetime | None
    shift_place: str | None
    params: dict[str, Any]


class NotificationRow(NoticeRow, frozen=True):
    """One notification as its recipient's inbox shows it."""

    due_at: dt.datetime
    read_at: dt.datetime | None


class ContactRow(msgspec.Struct, frozen=True):
    """Where email and SMS reach an account (either may be missing)."""

    email: str | None
    phone: str | None


class OutgoingRow(NoticeRow, frozen=True):
    """A due notification claimed for delivery, with where its recipient can be reached."""

    account_id: int
    attempts: int
    locale: str
    disabled: bool
    email: str | None
    phone: str | None


_Notice = TypeVar("_Notice", bound=NoticeRow)
# The columns of NoticeRow, over notifications n LEFT JOIN shifts s.
_NOTICE_COLUMNS = """
n.id, n.kind, n.shift_id, s.title AS shift_title, s.starts_at AS shift_starts_at, s.place_name AS shift_place,
n.params::text AS params
"""


INSERT_NOTIFICATION = """
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key, due_at, next_attempt_at)
VALUES ($1, $2, $3, $4::jsonb, $5, coalesce($6, now()), coalesce($6, now()))
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""
# Every live account of the shift's publisher (organisation or committee) hears of it; the key names the account.
INSERT_FOR_PUBLISHER = """
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key)
SELECT m.account_id, $2, s.id, $3::jsonb, $4 || ':account:' || m.account_id
FROM shifts s
JOIN memberships m ON m.organisation_id = s.organisation_id OR m.committee_id = s.committee_id
JOIN accounts a ON a.id = m.account_id AND a.disabled_at IS NULL
WHERE s.id = $1
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


def _insert_for_signup(kind: str, where: str) -> str:
    """A notice of `kind` to the volunteer of the sign-up `where` picks (none without an account), once a sign-up."""
    return f"""
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key)
SELECT v.account_id, '{kind}', g.shift_id, jsonb_build_object('signup_id', g.id), '{kind}:signup:' || g.id
FROM signups g JOIN volunteers v ON v.id = g.volunteer_id
WHERE {where} AND v.account_id IS NOT NULL
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


# The person promoted from the waitlist, found by their now active sign-up.
INSERT_PROMOTED = _insert_for_signup(
    "waitlist_promoted", "g.shift_id = $1 AND g.volunteer_id = $2 AND g.status = 'active'"
)
# The person whose unconfirmed place was released at the cut-off (migration 0028).
INSERT_RELEASED = _insert_for_signup("place_released", "g.id = $1 AND g.status = 'released'")
# One notice per volunteer (with an account) who got new proposals from a roster run, however often it is written.
INSERT_ROSTER_PROPOSED = """
INSERT INTO notifications (account_id, kind, params, dedupe_key)
SELECT v.account_id, 'roster_proposal', jsonb_build_object('count', count(*)),
       'roster_proposal:run:' || p.run_id || ':volunteer:' || v.id
FROM roster_proposals p JOIN volunteers v ON v.id = p.volunteer_id
WHERE p.run_id = $1 AND p.status = 'proposed' AND v.account_id IS NOT NULL
GROUP BY p.run_id, v.id, v.account_id
ON CONFLICT (dedupe_key) DO NOTHING
"""
# Reminders fall due at 09:00 Shanghai time on the day before the shift; the cron writes each once it is due (a
# sign-up made later than that is reminded at once) and only for shifts still to come, so none is ever stale.
INSERT_DUE_REMINDERS = """
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key, due_at, next_attempt_at)
SELECT v.account_id, 'shift_reminder', s.id, jsonb_build_object('signup_id', g.id),
       'shift_reminder:signup:' || g.id, r.due, r.due
FROM shifts s
JOIN signups g ON g.shift_id = s.id AND g.status = 'active'
JOIN volunteers v ON v.id = g.volunteer_id
CROSS JOIN LATERAL (
    SELECT ((((s.starts_at AT TIME ZONE 'Asia/Shanghai')::date - 1) + time '09:00') AT TIME ZONE 'Asia/Shanghai') AS due
) r
WHERE s.status <> 'cancelled' AND s.starts_at > $1 AND s.starts_at <= $1 + interval '2 days'
  AND r.due <= $1 AND v.account_id IS NOT NULL
ON CONFLICT (dedupe_key) DO NOTHING
"""
# A reminder not yet delivered whose sign-up was given up, or whose shift was cancelled or has begun, is dropped.
WITHDRAW_STALE_REMINDERS = """
UPDATE notifications n SET status = 'withdrawn'
WHERE n.status = 'pending' AND n.kind = 'shift_reminder'
  AND NOT EXISTS (
      SELECT 1 FROM signups g JOIN shifts s ON s.id = g.shift_id
      WHERE g.id = (n.params ->> 'signup_id')::bigint AND g.status = 'active'
        AND s.status <> 'cancelled' AND s.starts_at > $1
  )
"""
# SKIP LOCKED: two deliveries at once (a slow cron and the next one) take different rows, never the same one.
CLAIM_DUE = f"""
SELECT {_NOTICE_COLUMNS}, n.account_id, n.attempts, a.locale, a.disabled_at IS NOT NULL AS disabled, c.email,
       coalesce(c.phone, nullif(v.phone, ''), nullif(o.contact_phone, '')) AS phone
FROM notifications n
JOIN accounts a ON a.id = n.account_id
LEFT JOIN shifts s ON s.id = n.shift_id
LEFT JOIN notification_contacts c ON c.account_id = n.account_id
LEFT JOIN volunteers v ON v.account_id = n.account_id
LEFT JOIN memberships m ON m.account_id = n.account_id
LEFT JOIN organisations o ON o.id = m.organisation_id
WHERE n.status = 'pending' AND n.next_attempt_at <= $1
ORDER BY n.next_attempt_at, n.id
LIMIT $2
FOR UPDATE OF n SKIP LOCKED
"""
MARK_SENT = """
UPDATE notifications SET status = 'sent', sent_at = $2, channel = $3, attempts = attempts + 1, last_error = NULL
WHERE id = $1 AND status = 'pending'
"""
# A failed attempt waits longer each time; after the last one the notification stays failed (still in the inbox).
MARK_ATTEMPT_FAILED = """
UPDATE notifications
SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
    status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'pending' END
WHERE id = $1 AND status = 'pending'
RETURNING status
"""
MARK_WITHDRAWN = "UPDATE notifications SET status = 'withdrawn' WHERE id = $1 AND status = 'pending'"
# The inbox shows what has fallen due, whatever became of its delivery by email or SMS.
SELECT_INBOX = f"""
SELECT {_NOTICE_COLUMNS}, n.due_at, n.read_at
FROM notifications n LEFT JOIN shifts s ON s.id = n.shift_id
WHERE n.account_id = $1 AND n.status <> 'withdrawn' AND n.due_at <= now()
  AND (NOT $2 OR n.read_at IS NULL)
ORDER BY n.due_at DESC, n.id DESC
LIMIT $3 OFFSET $4
"""
COUNT_UNREAD = """
SELECT count(*) FROM notifications
WHERE account_id = $1 AND read_at IS NULL AND status <> 'withdrawn' AND due_at <= now()
"""
# Another account's notification is "not found", the same answer as one that does not exist.
MARK_READ = """
UPDATE notifications SET read_at = coalesce(read_at, now())
WHERE id = $1 AND account_id = $2 AND status <> 'withdrawn' AND due_at <= now()
RETURNING id
"""
MARK_ALL_READ = """
UPDATE notifications SET read_at = now()
WHERE account_id = $1 AND read_at IS NULL AND status <> 'withdrawn' AND due_at <= now()
"""

# Where the email and SMS senders reach an account; NULLs where it gave none.
SELECT_CONTACT = "SELECT email, phone FROM notification_contacts WHERE account_id = $1"
UPSERT_CONTACT = """
INSERT INTO notification_contacts (account_id, email, phone) VALUES ($1, $2, $3)
ON CONFLICT (account_id) DO UPDATE SET email = EXCLUDED.email, phone = EXCLUDED.phone, updated_at = now()
"""

# Demo data (api/demo/notifications.py): the cancellations already in the seeded sign-ups, told to their publishers.
SEED_CANCELLATIONS = """
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key, due_at, next_attempt_at)
SELECT m.account_id, 'signup_cancelled', s.id,
       jsonb_build_object('signup_id', g.id, 'late', g.status = 'late_cancelled', 'promoted', false),
       'signup_cancelled:signup:' || g.id || ':account:' || m.account_id, g.cancelled_at, g.cancelled_at
FROM signups g
JOIN shifts s ON s.id = g.shift_id
JOIN memberships m ON m.organisation_id = s.organisation_id OR m.committee_id = s.committee_id
WHERE g.status IN ('cancelled', 'late_cancelled') AND g.cancelled_at <= $1
ON CONFLICT (dedupe_key) DO NOTHING
"""
# What fell due before the seed's moment went out through the log sender; most of the older ones were read.
SEED_MARK_DELIVERED = """
UPDATE notifications
SET status = 'sent', sent_at = due_at, channel = 'log', attempts = 1,
    read_at = CASE WHEN due_at < $1 - interval '2 days' AND abs(hashtext(id::text || $2)) % 10 < 7
                   THEN due_at + interval '3 hours' END
WHERE status = 'pending' AND due_at <= $1
"""


def _params(text: str) -> dict[str, Any]:
    value = msgspec.json.decode(text)
    return value if isinstance(value, dict) else {}


def _row(record: asyncpg.Record, cls: type[_Notice]) -> _Notice:
    fields = {k: record[k] for k in cls.__struct_fields__}
    fields["params"] = _params(record["params"])
    return msgspec.convert(fields, cls)


def _affected(status: str) -> int:
    """The row count of an asyncpg command tag such as 'UPDATE 3' or 'INSERT 0 3'."""
    return int(status.rsplit(" ", 1)[-1])


async def insert(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    kind: str,
    shift_id: int | None,
    params: dict[str, Any],
    dedupe_key: str,
    due_at: dt.datetime | None = None,
) -> int | None:
    """Queue one notification; None when one with the same key exists already."""
    found = await conn.fetchval(
        INSERT_NOTIFICATION, account_id, kind, shift_id, msgspec.json.encode(params).decode(), dedupe_key, due_at
    )
    return None if found is None else int(found)


async def insert_for_publisher(
    conn: asyncpg.Connection, *, shift_id: int, kind: str, params: dict[str, Any], dedupe_key: str
) -> list[int]:
    """Queue one notification for each live account of the shift's organisation or committee."""
    rows = await conn.fetch(INSERT_FOR_PUBLISHER, shift_id, kind, msgspec.json.encode(params).decode(), dedupe_key)
    return [int(r["id"]) for r in rows]


async def insert_released(conn: asyncpg.Connection, signup_id: int) -> int | None:
    """Tell a volunteer their unconfirmed place was released; None if told already or without an account."""
    found = await conn.fetchval(INSERT_RELEASED, signup_id)
    return None if found is None else int(found)


async def insert_promoted(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> int | None:
    """Queue the promotion notice of the volunteer who now holds a place on the shift."""
    found = await conn.fetchval(INSERT_PROMOTED, shift_id, volunteer_id)
    return None if found is None else int(found)


async def insert_roster_proposed(conn: asyncpg.Connection, run_id: int) -> int:
    """Tell each volunteer with new proposals from this run; how many notices were new."""
    return _affected(await conn.execute(INSERT_ROSTER_PROPOSED, run_id))


async def insert_due_reminders(conn: asyncpg.Connection, now: dt.datetime) -> int:
    """Write the day-before reminders that have fallen due; how many were new."""
    return _affected(await conn.execute(INSERT_DUE_REMINDERS, now))


async def withdraw_stale_reminders(conn: asyncpg.Connection, now: dt.datetime) -> int:
    """Drop undelivered reminders of given-up places, cancelled or started shifts; how many."""
    return _affected(await conn.execute(WITHDRAW_STALE_REMINDERS, now))


async def claim_due(conn: asyncpg.Connection, now: dt.datetime, limit: int) -> list[OutgoingRow]:
    """Lock up to `limit` due notifications for delivery (call inside a transaction)."""
    return [_row(r, OutgoingRow) for r in await conn.fetch(CLAIM_DUE, now, limit)]


async def mark_sent(conn: asyncpg.Connection, notification_id: int, at: dt.datetime, channel: str) -> None:
    """Record a delivery and the channel that made it."""
    await conn.execute(MARK_SENT, notification_id, at, channel)


async def mark_attempt_failed(
    conn: asyncpg.Connection, notification_id: int, error: str, retry_at: dt.datetime, max_attempts: int
) -> str | None:
    """Record a failed attempt; the status after it ('pending' to retry, or 'failed')."""
    return await conn.fetchval(MARK_ATTEMPT_FAILED, notification_id, error, retry_at, max_attempts)  # type: ignore[no-any-return]


async def mark_withdrawn(conn: asyncpg.Connection, notification_id: int) -> None:
    """Drop a pending notification (its recipient's account was disabled)."""
    await conn.execute(MARK_WITHDRAWN, notification_id)


async def inbox(
    conn: asyncpg.Connection, account_id: int, *, unread_only: bool, limit: int, offset: int
) -> list[NotificationRow]:
    """An account's due notifications, newest first."""
    rows = await conn.fetch(SELECT_INBOX, account_id, unread_only, limit, offset)
    return [_row(r, NotificationRow) for r in rows]


async def count_unread(conn: asyncpg.Connection, account_id: int) -> int:
    """How many due notifications the account has not read."""
    return int(await conn.fetchval(COUNT_UNREAD, account_id))


async def mark_read(conn: asyncpg.Connection, notification_id: int, account_id: int) -> bool:
    """Mark one of the account's notifications read; False when it has no such notification."""
    return await conn.fetchval(MARK_READ, notification_id, account_id) is not None


async def mark_all_read(conn: asyncpg.Connection, account_id: int) -> int:
    """Mark every due notification of the account read; how many."""
    return _affected(await conn.execute(MARK_ALL_READ, account_id))


async def seed_demo(conn: asyncpg.Connection, now: dt.datetime, salt: str) -> int:
    """Demo notifications from the seeded shifts: due reminders, past cancellations; older ones delivered, some read."""
    reminders = await insert_due_reminders(conn, now)
    cancellations = _affected(await conn.execute(SEED_CANCELLATIONS, now))
    await conn.execute(SEED_MARK_DELIVERED, now, salt)
    return reminders + cancellations


async def get_contact(conn: asyncpg.Connection, account_id: int) -> ContactRow:
    """The account's email address and phone number for notifications (None where not given)."""
    row = await conn.fetchrow(SELECT_CONTACT, account_id)
    return ContactRow(email=None, phone=None) if row is None else ContactRow(email=row["email"], phone=row["phone"])


async def set_contact(conn: asyncpg.Connection, account_id: int, email: str | None, phone: str | None) -> None:
    """Record where email and SMS reach the account."""
    await conn.execute(UPSERT_CONTACT, account_id, email, phone)


# A notification to a volunteer's account (none for a volunteer without one), once per dedupe key.
INSERT_NOTICE_TO_VOLUNTEER = """
INSERT INTO notifications (account_id, kind, shift_id, params, dedupe_key)
SELECT v.account_id, $2, $3, $4::jsonb, $5 FROM volunteers v WHERE v.id = $1 AND v.account_id IS NOT NULL
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


async def notify_volunteer(
    conn: asyncpg.Connection, volunteer_id: int, kind: str, shift_id: int, params: dict[str, Any], dedupe_key: str
) -> None:
    """Queue a notification to a volunteer's account, once per dedupe key."""
    await conn.execute(INSERT_NOTICE_TO_VOLUNTEER, volunteer_id, kind, shift_id, msgspec.json.encode(params).decode(),
                       dedupe_key)  # fmt: skip
