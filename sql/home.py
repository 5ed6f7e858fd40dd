"""The to-do lists of the home pages: per role, one statement of small aggregates, each an item with its count.

Each branch of a UNION ALL is one item: its key, how many things wait, and the id of the most urgent one (the page
links straight to it when it is the only one). Branches are plain aggregates over the caller's own rows, with no
subquery per row, so a home page stays one round trip however much data the tenant has.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_one


class TodoRow(msgspec.Struct, frozen=True):
    """One item of a to-do list: what waits (key), how many, and the most urgent one's id (None when none)."""

    key: str
    count: int
    target: int | None = None


class NextShiftRow(msgspec.Struct, frozen=True):
    """A volunteer's next shift: when, where, and whether they have checked in."""

    shift_id: int
    title: str
    place_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    checked_in: bool


_UNREAD = """
SELECT 'unread', count(*)::int, NULL::bigint FROM notifications
WHERE account_id = $1 AND read_at IS NULL AND status <> 'withdrawn' AND due_at <= now()
"""

# $1 account, $2 committee, $3 days without a visit that make a household "quiet".
SELECT_COMMITTEE_TODO = f"""
SELECT 'hours_pending' AS key, count(*)::int AS count, min(a.shift_id) AS target
FROM attendance a JOIN shifts s ON s.id = a.shift_id
WHERE a.status = 'pending' AND s.committee_id = $2
UNION ALL
SELECT 'needs_without_tender', count(*)::int, (array_agg(n.id ORDER BY n.starts_on, n.id))[1]
FROM needs n WHERE n.committee_id = $2 AND n.status = 'open' AND n.ends_on >= current_date
UNION ALL
(WITH contact AS (
    SELECT t.household_id, max(v.at) AS at
    FROM team_visits v JOIN teams t ON t.id = v.team_id JOIN households h ON h.id = t.household_id
    WHERE v.status = 'done' AND h.committee_id = $2 GROUP BY t.household_id
    UNION ALL
    SELECT s.household_id, max(s.starts_at) FROM shifts s
    WHERE s.committee_id = $2 AND s.household_id IS NOT NULL AND s.status <> 'cancelled' AND s.starts_at <= now()
    GROUP BY s.household_id
), last_contact AS (
    SELECT h.id, coalesce(max(c.at), h.created_at) AS at
    FROM households h LEFT JOIN contact c ON c.household_id = h.id
    WHERE h.committee_id = $2 AND h.archived_at IS NULL GROUP BY h.id, h.created_at
)
SELECT 'households_quiet', count(*)::int, (array_agg(id ORDER BY at, id))[1]
FROM last_contact WHERE at < now() - make_interval(days => $3))
UNION ALL
SELECT 'proposals_declined', count(*)::int, min(r.id)
FROM roster_proposals p JOIN rosters r ON r.id = p.roster_id JOIN shifts s ON s.id = p.shift_id
WHERE r.committee_id = $2 AND p.status = 'declined' AND s.status = 'open' AND s.starts_at > now()
  AND s.taken < s.headcount
UNION ALL {_UNREAD}
"""

# $1 account, $2 funder.
SELECT_FUNDER_TODO = f"""
SELECT 'milestones_reported' AS key, count(*)::int AS count,
       (array_agg(c.id ORDER BY m.reported_at, m.id))[1] AS target
FROM milestones m JOIN contracts c ON c.id = m.contract_id
WHERE c.funder_id = $2 AND m.status = 'reported'
UNION ALL
SELECT 'tenders_to_review', count(*)::int, (array_agg(t.id ORDER BY t.bids_close_at, t.id))[1]
FROM tenders t
WHERE t.funder_id = $2 AND (t.status = 'review' OR (t.status = 'open' AND t.bids_close_at <= now()))
UNION ALL
SELECT 'objections_open', count(*)::int, (array_agg(o.tender_id ORDER BY o.reply_due_at, o.id))[1]
FROM objections o JOIN tenders t ON t.id = o.tender_id
WHERE t.funder_id = $2 AND o.outcome = 'pending'
UNION ALL {_UNREAD}
"""

# $1 account, $2 organisation, $3 days ahead that count as "soon". The tenders are those of the organisation's
# service categories whose rating and age rules it meets, and on which it has no bid yet (the tenders page has
# the full eligibility, with reasons).
SELECT_ORGANISATION_TODO = f"""
SELECT 'tenders_closing' AS key, count(*)::int AS count,
       (array_agg(t.id ORDER BY t.bids_close_at, t.id))[1] AS target
FROM tenders t
JOIN organisation_categories oc ON oc.catalogue_item_id = t.catalogue_item_id AND oc.organisation_id = $2
JOIN organisations o ON o.id = oc.organisation_id AND o.status = 'verified'
LEFT JOIN (SELECT DISTINCT l.tender_id FROM bids b JOIN lots l ON l.id = b.lot_id
           WHERE b.organisation_id = $2 AND b.status = 'submitted') mine ON mine.tender_id = t.id
WHERE t.status = 'open' AND mine.tender_id IS NULL
  AND now() BETWEEN t.bids_open_at AND t.bids_close_at AND t.bids_close_at <= now() + make_interval(days => $3)
  AND (t.min_rating IS NULL OR o.rating >= t.min_rating)
  AND (NOT t.rating_must_be_valid OR o.rating IS NULL OR o.rating_expires_on >= current_date)
  AND o.registered_on <= current_date - make_interval(years => t.min_years_registered)
UNION ALL
SELECT 'milestones_due', count(*)::int, (array_agg(c.id ORDER BY m.due_on, m.id))[1]
FROM milestones m JOIN contracts c ON c.id = m.contract_id
WHERE c.organisation_id = $2 AND c.status = 'active' AND m.status IN ('planned', 'rejected')
  AND m.due_on <= current_date + $3::int
UNION ALL
SELECT 'shifts_short', count(*)::int, (array_agg(s.id ORDER BY s.starts_at, s.id))[1]
FROM shifts s
WHERE s.organisation_id = $2 AND s.status = 'open' AND s.taken < s.headcount
  AND s.starts_at > now() AND s.starts_at <= now() + make_interval(days => $3)
UNION ALL
SELECT 'hours_pending', count(*)::int, min(a.shift_id)
FROM attendance a JOIN shifts s ON s.id = a.shift_id
WHERE a.status = 'pending' AND s.organisation_id = $2
UNION ALL {_UNREAD}
"""

# $1 account (the reviewer): submitted bids on tenders under review whose panel they sit on, not yet scored.
SELECT_REVIEWER_TODO = f"""
SELECT 'bids_to_score' AS key, count(*)::int AS count, (array_agg(t.id ORDER BY t.bids_close_at, t.id))[1] AS target
FROM tender_reviewers tr JOIN tenders t ON t.id = tr.tender_id
JOIN lots l ON l.tender_id = t.id JOIN bids b ON b.lot_id = l.id AND b.status = 'submitted'
LEFT JOIN reviews r ON r.bid_id = b.id AND r.reviewer_id = tr.account_id
WHERE tr.account_id = $1 AND t.status = 'review' AND r.bid_id IS NULL
UNION ALL {_UNREAD}
"""

# $1 account, $2 volunteer, $3 minutes before the start that check-in opens.
SELECT_VOLUNTEER_TODO = f"""
SELECT 'proposals_open' AS key, count(*)::int AS count, min(p.id) AS target
FROM roster_proposals p JOIN shifts s ON s.id = p.shift_id
WHERE p.volunteer_id = $2 AND p.status = 'proposed' AND s.status = 'open' AND s.starts_at > now()
UNION ALL
SELECT 'checkins_due', count(*)::int, min(s.id)
FROM signups g JOIN shifts s ON s.id = g.shift_id LEFT JOIN attendance a ON a.signup_id = g.id
WHERE g.volunteer_id = $2 AND g.status = 'active' AND s.status <> 'cancelled'
  AND ((a.id IS NULL AND now() BETWEEN s.starts_at - make_interval(mins => $3) AND s.ends_at) OR a.status = 'open')
UNION ALL {_UNREAD}
"""

# $1 account.
SELECT_ADMIN_TODO = f"""
SELECT 'organisations_pending' AS key, count(*)::int AS count, min(id) AS target
FROM organisations WHERE status = 'pending'
UNION ALL
SELECT 'audit_unsealed', count(*)::int, NULL::bigint FROM audit_log WHERE seq IS NULL
UNION ALL {_UNREAD}
"""

# The volunteer's next place: the first active sign-up whose shift has not ended.
SELECT_NEXT_SHIFT = """
SELECT s.id AS shift_id, s.title, s.place_name, s.starts_at, s.ends_at, a.id IS NOT NULL AS checked_in
FROM signups g JOIN shifts s ON s.id = g.shift_id LEFT JOIN attendance a ON a.signup_id = g.id
WHERE g.volunteer_id = $1 AND g.status = 'active' AND s.status <> 'cancelled' AND s.ends_at > now()
ORDER BY s.starts_at, s.id
LIMIT 1
"""


def _items(rows: list[asyncpg.Record]) -> list[TodoRow]:
    return [TodoRow(key=r["key"], count=r["count"], target=r["target"]) for r in rows]


async def committee_todo(
    conn: asyncpg.Connection, account_id: int, committee_id: int, quiet_days: int
) -> list[TodoRow]:
    """A committee's to-do items."""
    return _items(await conn.fetch(SELECT_COMMITTEE_TODO, account_id, committee_id, quiet_days))


async def funder_todo(conn: asyncpg.Connection, account_id: int, funder_id: int) -> list[TodoRow]:
    """A funder's to-do items."""
    return _items(await conn.fetch(SELECT_FUNDER_TODO, account_id, funder_id))


async def organisation_todo(
    conn: asyncpg.Connection, account_id: int, organisation_id: int, soon_days: int
) -> list[TodoRow]:
    """An organisation's to-do items."""
    return _items(await conn.fetch(SELECT_ORGANISATION_TODO, account_id, organisation_id, soon_days))


async def reviewer_todo(conn: asyncpg.Connection, account_id: int) -> list[TodoRow]:
    """A reviewer's to-do items."""
    return _items(await conn.fetch(SELECT_REVIEWER_TODO, account_id))


async def volunteer_todo(
    conn: asyncpg.Connection, account_id: int, volunteer_id: int, checkin_window_minutes: int
) -> list[TodoRow]:
    """A volunteer's to-do items."""
    return _items(await conn.fetch(SELECT_VOLUNTEER_TODO, account_id, volunteer_id, checkin_window_minutes))


async def admin_todo(conn: asyncpg.Connection, account_id: int) -> list[TodoRow]:
    """The platform administrator's to-do items."""
    return _items(await conn.fetch(SELECT_ADMIN_TODO, account_id))


async def next_shift(conn: asyncpg.Connection, volunteer_id: int) -> NextShiftRow | None:
    """The volunteer's next shift that has not ended, or None."""
    return await fetch_one(conn, SELECT_NEXT_SHIFT, NextShiftRow, volunteer_id)
