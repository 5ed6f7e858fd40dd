"""Visit notes, incidents and ratings of home visits (a 311 team's contact, or a shift serving a household)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class VisitRow(msgspec.Struct, frozen=True):
    """A home visit that happened or is under way: whom it served, who did it, for whom (no personal data)."""

    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    household_id: int
    committee_id: int
    organisation_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    # The carers who did it: the team member who recorded the contact, or the shift's place holders.
    carers: list[int]
    archived: bool
    has_phone: bool
    # How the carer met the household: team_visits.contact_kind ('home_visit' for a shift); a phone or video call is
    # noted without the home-safety signal and never rated.
    contact_kind: str


class NoteRow(msgspec.Struct, frozen=True):
    """A carer's structured notes on one visit (elders' data: household_access decides who reads them)."""

    id: int
    household_id: int
    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    volunteer_id: int
    carer_name: str
    mood: int
    signals: list[str]
    needs: list[str]
    needs_other: str
    remarks: str
    created_at: dt.datetime


class IncidentSummaryRow(msgspec.Struct, frozen=True):
    """An incident as the committee's list shows it: what kind, how grave, how old, for which household (no text)."""

    id: int
    household_id: int
    head_name: str
    address: str
    visit_kind: str
    kind: str
    severity: str
    status: str
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    # Still unacknowledged after the end of the (Shanghai) day it was raised on.
    overdue: bool


class IncidentRow(msgspec.Struct, frozen=True):
    """One incident with what happened and what was done (elders' data)."""

    id: int
    household_id: int
    committee_id: int
    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    organisation_id: int | None
    volunteer_id: int
    carer_name: str
    kind: str
    severity: str
    what_happened: str
    status: str
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    action_taken: str | None
    overdue: bool


class RatingRow(msgspec.Struct, frozen=True):
    """A visit's rating (1–5) and who gave it: the elder or family by link, or staff on their behalf."""

    id: int
    household_id: int
    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    score: int
    comment: str
    source: str
    created_at: dt.datetime


class LinkRow(msgspec.Struct, frozen=True):
    """A rating link as its page shows it: which kind of visit, when, which committee, and whether it still works."""

    id: int
    visit_kind: str
    visited_at: dt.datetime
    committee_name: str
    expires_at: dt.datetime
    used_at: dt.datetime | None
    expired: bool


class OutgoingLinkRow(msgspec.Struct, frozen=True):
    """A rating link due to go out by SMS, with the token and the household's phone (never logged)."""

    id: int
    token: str
    phone: str
    visit_kind: str
    visited_at: dt.datetime
    committee_name: str
    sms_attempts: int


class MyVisitRow(msgspec.Struct, frozen=True):
    """A visit the carer did lately, and whether they noted it already."""

    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    contact_kind: str
    household_id: int
    committee_name: str
    address: str
    starts_at: dt.datetime
    note_id: int | None


class UnratedVisitRow(msgspec.Struct, frozen=True):
    """A recent visit to one of the committee's households that nobody has rated yet."""

    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    household_id: int
    head_name: str
    address: str
    starts_at: dt.datetime


class VisitFigures(msgspec.Struct, frozen=True):
    """Ratings and incidents of the visits an organisation's (or a committee's households') carers made."""

    ratings: int
    mean_rating: float | None
    incidents_low: int
    incidents_medium: int
    incidents_high: int


class CommitteeIncidentFigures(msgspec.Struct, frozen=True):
    """What the committee's dashboard shows of its incidents."""

    live: int
    overdue: int


# A visit by its reference: a team's recorded contact ($1) or a shift serving a household ($2).
SELECT_VISIT = """
SELECT tv.id AS team_visit_id, NULL::bigint AS shift_id, 'team' AS visit_kind, t.household_id, h.committee_id,
       t.organisation_id, tv.at AS starts_at, tv.at + make_interval(mins => tv.minutes) AS ends_at,
       ARRAY[tv.recorded_by] AS carers, h.archived_at IS NOT NULL AS archived, h.phone IS NOT NULL AS has_phone,
       tv.contact_kind
FROM team_visits tv JOIN teams t ON t.id = tv.team_id JOIN households h ON h.id = t.household_id
WHERE tv.id = $1 AND tv.status = 'done'
UNION ALL
SELECT NULL::bigint, s.id,
       CASE WHEN EXISTS (SELECT 1 FROM respite_requests r WHERE r.shift_id = s.id) THEN 'respite' ELSE 'home_care' END,
       s.household_id, h.committee_id, s.organisation_id, s.starts_at, s.ends_at,
       ARRAY(SELECT g.volunteer_id FROM signups g WHERE g.shift_id = s.id AND g.status = 'active'
             ORDER BY g.volunteer_id),
       h.archived_at IS NOT NULL, h.phone IS NOT NULL, 'home_visit'
FROM shifts s JOIN households h ON h.id = s.household_id
WHERE s.id = $2 AND s.status <> 'cancelled'
"""

# The carer's name: their account's, or the register's for a team member staff recorded the contact for.
_NOTE_COLUMNS = """
n.id, n.household_id, n.team_visit_id, n.shift_id, n.visit_kind, n.volunteer_id,
coalesce(a.display_name, v.display_name, '') AS carer_name, n.mood, n.signals, n.needs, n.needs_other, n.remarks,
n.created_at
"""

INSERT_NOTE = f"""
WITH n AS (
    INSERT INTO visit_notes (household_id, team_visit_id, shift_id, visit_kind, volunteer_id, mood, signals, needs,
                             needs_other, remarks)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT DO NOTHING
    RETURNING *
)
SELECT {_NOTE_COLUMNS}
FROM n LEFT JOIN volunteers v ON v.id = n.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
"""

SELECT_NOTE = f"""
SELECT {_NOTE_COLUMNS}
FROM visit_notes n LEFT JOIN volunteers v ON v.id = n.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE n.id = $1
"""

SELECT_HOUSEHOLD_NOTES = f"""
SELECT {_NOTE_COLUMNS}
FROM visit_notes n LEFT JOIN volunteers v ON v.id = n.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE n.household_id = $1
ORDER BY n.created_at DESC, n.id DESC
LIMIT $2 OFFSET $3
"""

# One link per visit: a second carer's note on the same shift makes no second SMS.
INSERT_LINK = """
INSERT INTO visit_rating_links (token_hash, token, household_id, team_visit_id, shift_id, visit_kind, expires_at,
                                sms_status)
SELECT $1, CASE WHEN h.phone IS NULL THEN NULL ELSE $2 END, h.id, $3, $4, $5, now() + make_interval(days => $6),
       CASE WHEN h.phone IS NULL THEN 'no_phone' ELSE 'pending' END
FROM households h WHERE h.id = $7
ON CONFLICT DO NOTHING
RETURNING id
"""

INSERT_INCIDENT = """
INSERT INTO visit_incidents (household_id, committee_id, team_visit_id, shift_id, visit_kind, organisation_id,
                             volunteer_id, kind, severity, what_happened)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""

# Unacknowledged after the end of the Shanghai day it was raised on.
_OVERDUE = """(i.status = 'open' AND i.raised_at < date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                                                 AT TIME ZONE 'Asia/Shanghai')"""

SELECT_INCIDENT = f"""
SELECT i.id, i.household_id, i.committee_id, i.team_visit_id, i.shift_id, i.visit_kind, i.organisation_id,
       i.volunteer_id, coalesce(a.display_name, v.display_name, '') AS carer_name, i.kind, i.severity,
       i.what_happened, i.status, i.raised_at, i.acknowledged_at, i.closed_at, i.action_taken, {_OVERDUE} AS overdue
FROM visit_incidents i LEFT JOIN volunteers v ON v.id = i.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE i.id = $1
"""

# The committee's incidents: the live ones (overdue first, then oldest first), or the closed ones newest first.
SELECT_COMMITTEE_INCIDENTS = f"""
SELECT i.id, i.household_id, h.head_name, h.address, i.visit_kind, i.kind, i.severity, i.status, i.raised_at,
       i.acknowledged_at, i.closed_at, {_OVERDUE} AS overdue
FROM visit_incidents i JOIN households h ON h.id = i.household_id
WHERE i.committee_id = $1 AND (i.status = 'closed') = $2
ORDER BY CASE WHEN $2 THEN NULL ELSE {_OVERDUE} END DESC NULLS LAST,
         CASE WHEN $2 THEN i.closed_at END DESC, i.raised_at, i.id
LIMIT $3 OFFSET $4
"""

COUNT_COMMITTEE_INCIDENTS = f"""
SELECT count(*) AS live, count(*) FILTER (WHERE {_OVERDUE}) AS overdue
FROM visit_incidents i
WHERE i.committee_id = $1 AND i.status <> 'closed'
"""

ACKNOWLEDGE_INCIDENT = """
UPDATE visit_incidents SET status = 'acknowledged', acknowledged_by = $3, acknowledged_at = now()
WHERE id = $1 AND committee_id = $2 AND status = 'open'
RETURNING id
"""

# Closing an incident nobody acknowledged acknowledges it too: whoever closes it has seen it.
CLOSE_INCIDENT = """
UPDATE visit_incidents
SET status = 'closed', closed_by = $3, closed_at = now(), action_taken = $4,
    acknowledged_by = coalesce(acknowledged_by, $3), acknowledged_at = coalesce(acknowledged_at, now())
WHERE id = $1 AND committee_id = $2 AND status <> 'closed'
RETURNING id
"""

INSERT_RATING = """
INSERT INTO visit_ratings (household_id, team_visit_id, shift_id, visit_kind, organisation_id, score, comment, source,
                           entered_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING
RETURNING id, household_id, team_visit_id, shift_id, visit_kind, score, comment, source, created_at
"""

# The visit's serving organisation comes from the visit itself, so a link's rating counts for the right one.
_LINK_VISIT = """
LEFT JOIN team_visits tv ON tv.id = l.team_visit_id LEFT JOIN teams t ON t.id = tv.team_id
LEFT JOIN shifts s ON s.id = l.shift_id
"""

SELECT_LINK = f"""
SELECT l.id, l.visit_kind, coalesce(tv.at, s.starts_at) AS visited_at, c.name AS committee_name, l.expires_at,
       l.used_at, l.expires_at <= now() AS expired
FROM visit_rating_links l {_LINK_VISIT}
JOIN households h ON h.id = l.household_id JOIN committees c ON c.id = h.committee_id
WHERE l.token_hash = $1
"""

# The one-use claim: the row lock makes a concurrent second submit wait, then find the link used.
CLAIM_LINK = f"""
SELECT l.id, l.household_id, l.team_visit_id, l.shift_id, l.visit_kind,
       coalesce(t.organisation_id, s.organisation_id) AS organisation_id
FROM visit_rating_links l {_LINK_VISIT}
WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()
FOR UPDATE OF l
"""

USE_LINK = """
UPDATE visit_rating_links SET used_at = now(), rating_id = $2,
       sms_status = CASE WHEN sms_status = 'pending' THEN 'expired' ELSE sms_status END, token = NULL
WHERE id = $1 AND used_at IS NULL
RETURNING id
"""

# Links due to go out: their tokens and the households' phones, locked so two workers never send one twice.
CLAIM_OUTGOING = """
SELECT l.id, l.token, h.phone, l.visit_kind, coalesce(tv.at, s.starts_at) AS visited_at, c.name AS committee_name,
       l.sms_attempts
FROM visit_rating_links l
LEFT JOIN team_visits tv ON tv.id = l.team_visit_id LEFT JOIN shifts s ON s.id = l.shift_id
JOIN households h ON h.id = l.household_id JOIN committees c ON c.id = h.committee_id
WHERE l.sms_status = 'pending' AND l.next_attempt_at <= $1 AND l.expires_at > $1 AND h.phone IS NOT NULL
ORDER BY l.next_attempt_at, l.id
LIMIT $2
FOR UPDATE OF l SKIP LOCKED
"""

# A pending link that can no longer go out (expired, or the household's phone was erased) keeps no token.
EXPIRE_OUTGOING = """
UPDATE visit_rating_links l SET sms_status = CASE WHEN l.expires_at <= $1 THEN 'expired' ELSE 'no_phone' END,
       token = NULL
FROM households h
WHERE h.id = l.household_id AND l.sms_status = 'pending' AND (l.expires_at <= $1 OR h.phone IS NULL)
"""

MARK_LINK_SENT = "UPDATE visit_rating_links SET sms_status = 'sent', sent_at = $2, token = NULL WHERE id = $1"

MARK_LINK_FAILED = """
UPDATE visit_rating_links
SET sms_attempts = sms_attempts + 1, next_attempt_at = $2,
    sms_status = CASE WHEN sms_attempts + 1 >= $3 THEN 'failed' ELSE 'pending' END,
    token = CASE WHEN sms_attempts + 1 >= $3 THEN NULL ELSE token END
WHERE id = $1
RETURNING sms_status
"""

SELECT_MY_VISITS = """
SELECT tv.id AS team_visit_id, NULL::bigint AS shift_id, 'team' AS visit_kind, tv.contact_kind, t.household_id,
       c.name AS committee_name, h.address, tv.at AS starts_at,
       (SELECT n.id FROM visit_notes n WHERE n.team_visit_id = tv.id) AS note_id
FROM team_visits tv JOIN teams t ON t.id = tv.team_id JOIN households h ON h.id = t.household_id
JOIN committees c ON c.id = h.committee_id
WHERE tv.recorded_by = $1 AND tv.status = 'done' AND tv.at > $2 AND h.archived_at IS NULL
UNION ALL
SELECT NULL::bigint, s.id,
       CASE WHEN EXISTS (SELECT 1 FROM respite_requests r WHERE r.shift_id = s.id) THEN 'respite' ELSE 'home_care' END,
       'home_visit', s.household_id, c.name, h.address, s.starts_at,
       (SELECT n.id FROM visit_notes n WHERE n.shift_id = s.id AND n.volunteer_id = $1)
FROM signups g JOIN shifts s ON s.id = g.shift_id JOIN households h ON h.id = s.household_id
JOIN committees c ON c.id = h.committee_id
WHERE g.volunteer_id = $1 AND g.status = 'active' AND s.status <> 'cancelled' AND s.starts_at <= $3
  AND s.ends_at > $2 AND h.archived_at IS NULL
ORDER BY starts_at DESC
LIMIT $4
"""

SELECT_UNRATED = """
SELECT tv.id AS team_visit_id, NULL::bigint AS shift_id, 'team' AS visit_kind, t.household_id, h.head_name,
       h.address, tv.at AS starts_at
FROM team_visits tv JOIN teams t ON t.id = tv.team_id JOIN households h ON h.id = t.household_id
WHERE h.committee_id = $1 AND tv.status = 'done' AND tv.at > $2 AND h.archived_at IS NULL
  AND tv.contact_kind NOT IN ('phone', 'video')
  AND NOT EXISTS (SELECT 1 FROM visit_ratings r WHERE r.team_visit_id = tv.id)
UNION ALL
SELECT NULL::bigint, s.id,
       CASE WHEN EXISTS (SELECT 1 FROM respite_requests r WHERE r.shift_id = s.id) THEN 'respite' ELSE 'home_care' END,
       s.household_id, h.head_name, h.address, s.starts_at
FROM shifts s JOIN households h ON h.id = s.household_id
WHERE h.committee_id = $1 AND s.status <> 'cancelled' AND s.starts_at > $2 AND s.starts_at <= $3
  AND h.archived_at IS NULL AND NOT EXISTS (SELECT 1 FROM visit_ratings r WHERE r.shift_id = s.id)
  AND EXISTS (SELECT 1 FROM signups g WHERE g.shift_id = s.id AND g.status = 'active')
ORDER BY starts_at DESC
LIMIT $4
"""

# Over the visits an organisation's carers made ($1) or to a committee's households ($2), since $3.
SELECT_FIGURES = """
SELECT (SELECT count(*) FROM visit_ratings r JOIN households h ON h.id = r.household_id
        WHERE (r.organisation_id = $1 OR h.committee_id = $2) AND r.created_at >= $3) AS ratings,
       (SELECT round(avg(r.score), 2)::float8 FROM visit_ratings r JOIN households h ON h.id = r.household_id
        WHERE (r.organisation_id = $1 OR h.committee_id = $2) AND r.created_at >= $3) AS mean_rating,
       count(*) FILTER (WHERE i.severity = 'low') AS incidents_low,
       count(*) FILTER (WHERE i.severity = 'medium') AS incidents_medium,
       count(*) FILTER (WHERE i.severity = 'high') AS incidents_high
FROM visit_incidents i
WHERE (i.organisation_id = $1 OR i.committee_id = $2) AND i.raised_at >= $3
"""


def _visit(record: asyncpg.Record | None) -> VisitRow | None:
    return None if record is None else msgspec.convert(dict(record), VisitRow)


async def visit(conn: asyncpg.Connection, *, team_visit_id: int | None, shift_id: int | None) -> VisitRow | None:
    """The visit a reference names (a team's done contact, or a live shift serving a household), if any."""
    return _visit(await conn.fetchrow(SELECT_VISIT, team_visit_id, shift_id))


async def insert_note(
    conn: asyncpg.Connection,
    visit: VisitRow,
    *,
    volunteer_id: int,
    mood: int,
    signals: list[str],
    needs: list[str],
    needs_other: str,
    remarks: str,
) -> NoteRow | None:
    """Record a carer's note on a visit; None when they noted this visit already."""
    return await fetch_one(
        conn, INSERT_NOTE, NoteRow,
        visit.household_id, visit.team_visit_id, visit.shift_id, visit.visit_kind, volunteer_id, mood,
        signals, needs, needs_other, remarks,
    )  # fmt: skip


async def get_note(conn: asyncpg.Connection, note_id: int) -> NoteRow | None:
    """One note (the caller decides whether the reader may see it)."""
    return await fetch_one(conn, SELECT_NOTE, NoteRow, note_id)


async def household_notes(conn: asyncpg.Connection, household_id: int, *, limit: int, offset: int) -> list[NoteRow]:
    """A household's visit notes, the newest first."""
    return await fetch_all(conn, SELECT_HOUSEHOLD_NOTES, NoteRow, household_id, limit, offset)


async def insert_link(
    conn: asyncpg.Connection, visit: VisitRow, *, token: str, token_hash: bytes, days: int
) -> int | None:
    """The visit's rating link (to go out by SMS if the household has a phone); None if the visit has one."""
    value = await conn.fetchval(
        INSERT_LINK, token_hash, token, visit.team_visit_id, visit.shift_id, visit.visit_kind, days, visit.household_id
    )
    return None if value is None else int(value)


async def insert_incident(
    conn: asyncpg.Connection, visit: VisitRow, *, volunteer_id: int, kind: str, severity: str, what_happened: str
) -> int:
    """Record an incident raised on a visit; its id."""
    value = await conn.fetchval(
        INSERT_INCIDENT, visit.household_id, visit.committee_id, visit.team_visit_id, visit.shift_id,
        visit.visit_kind, visit.organisation_id, volunteer_id, kind, severity, what_happened,
    )  # fmt: skip
    return int(value)


async def get_incident(conn: asyncpg.Connection, incident_id: int) -> IncidentRow | None:
    """One incident with its text (the caller decides whether the reader may see it)."""
    return await fetch_one(conn, SELECT_INCIDENT, IncidentRow, incident_id)


async def committee_incidents(
    conn: asyncpg.Connection, committee_id: int, *, closed: bool, limit: int, offset: int
) -> list[IncidentSummaryRow]:
    """The committee's live incidents (overdue first, then oldest), or its closed ones (newest first)."""
    return await fetch_all(conn, SELECT_COMMITTEE_INCIDENTS, IncidentSummaryRow, committee_id, closed, limit, offset)


async def committee_incident_figures(conn: asyncpg.Connection, committee_id: int) -> CommitteeIncidentFigures:
    """How many of the committee's incidents are live, and how many of those are overdue."""
    row = await conn.fetchrow(COUNT_COMMITTEE_INCIDENTS, committee_id)
    return msgspec.convert(dict(row or {}), CommitteeIncidentFigures)


async def acknowledge_incident(conn: asyncpg.Connection, incident_id: int, committee_id: int, account_id: int) -> bool:
    """Mark the committee's open incident acknowledged; False when it is not an open incident of the committee."""
    return await conn.fetchval(ACKNOWLEDGE_INCIDENT, incident_id, committee_id, account_id) is not None


async def close_incident(
    conn: asyncpg.Connection, incident_id: int, committee_id: int, account_id: int, action_taken: str
) -> bool:
    """Close the committee's live incident with what was done; False when there is none such."""
    return await conn.fetchval(CLOSE_INCIDENT, incident_id, committee_id, account_id, action_taken) is not None


async def insert_rating(
    conn: asyncpg.Connection,
    *,
    household_id: int,
    team_visit_id: int | None,
    shift_id: int | None,
    visit_kind: str,
    organisation_id: int | None,
    score: int,
    comment: str,
    source: str,
    entered_by: int | None,
) -> RatingRow | None:
    """Record a visit's rating; None when the visit is rated already."""
    return await fetch_one(
        conn, INSERT_RATING, RatingRow,
        household_id, team_visit_id, shift_id, visit_kind, organisation_id, score, comment, source,
        entered_by,
    )  # fmt: skip


async def link(conn: asyncpg.Connection, token_hash: bytes) -> LinkRow | None:
    """The rating link with this token's hash, used or not."""
    return await fetch_one(conn, SELECT_LINK, LinkRow, token_hash)


class ClaimedLinkRow(msgspec.Struct, frozen=True):
    """A usable rating link, locked for this transaction, and the visit it rates."""

    id: int
    household_id: int
    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    organisation_id: int | None


async def claim_link(conn: asyncpg.Connection, token_hash: bytes) -> ClaimedLinkRow | None:
    """Lock the unused, unexpired link with this token's hash (None if there is none such)."""
    return await fetch_one(conn, CLAIM_LINK, ClaimedLinkRow, token_hash)


async def use_link(conn: asyncpg.Connection, link_id: int, rating_id: int) -> bool:
    """Mark the claimed link used by this rating."""
    return await conn.fetchval(USE_LINK, link_id, rating_id) is not None


async def claim_outgoing(conn: asyncpg.Connection, now: dt.datetime, limit: int) -> list[OutgoingLinkRow]:
    """Lock the rating links due to go out by SMS (after dropping those that can no longer go out)."""
    await conn.execute(EXPIRE_OUTGOING, now)
    return await fetch_all(conn, CLAIM_OUTGOING, OutgoingLinkRow, now, limit)


async def mark_link_sent(conn: asyncpg.Connection, link_id: int, sent_at: dt.datetime) -> None:
    """The link's SMS went out: its token is dropped."""
    await conn.execute(MARK_LINK_SENT, link_id, sent_at)


async def mark_link_failed(
    conn: asyncpg.Connection, link_id: int, next_attempt_at: dt.datetime, max_attempts: int
) -> str:
    """A failed attempt: retry later, or give up after max_attempts; the link's SMS status."""
    return str(await conn.fetchval(MARK_LINK_FAILED, link_id, next_attempt_at, max_attempts))


async def my_visits(
    conn: asyncpg.Connection, volunteer_id: int, *, since: dt.datetime, now: dt.datetime, limit: int
) -> list[MyVisitRow]:
    """The visits the carer did since `since` (started by `now`), newest first, with their notes' ids."""
    return await fetch_all(conn, SELECT_MY_VISITS, MyVisitRow, volunteer_id, since, now, limit)


async def unrated_visits(
    conn: asyncpg.Connection, committee_id: int, *, since: dt.datetime, now: dt.datetime, limit: int
) -> list[UnratedVisitRow]:
    """Recent visits to the committee's households that nobody rated yet, newest first."""
    return await fetch_all(conn, SELECT_UNRATED, UnratedVisitRow, committee_id, since, now, limit)


async def figures(
    conn: asyncpg.Connection, *, organisation_id: int | None, committee_id: int | None, since: dt.datetime
) -> VisitFigures:
    """Ratings (count, mean) and incidents by severity since `since`, for an organisation or a committee."""
    row = await conn.fetchrow(SELECT_FIGURES, organisation_id, committee_id, since)
    return msgspec.convert(dict(row or {}), VisitFigures)


class HouseholdIncidentRow(msgspec.Struct, frozen=True):
    """One of a household's incidents as its record lists it: what kind, how grave, who raised it, its state."""

    id: int
    visit_kind: str
    carer_name: str
    kind: str
    severity: str
    status: str
    raised_at: dt.datetime
    closed_at: dt.datetime | None
    overdue: bool


class HouseholdRatingRow(msgspec.Struct, frozen=True):
    """One of a household's visit ratings: the visit's kind and day, the score, the comment and who gave it."""

    id: int
    visit_kind: str
    visited_at: dt.datetime
    score: int
    comment: str
    source: str
    created_at: dt.datetime


SELECT_HOUSEHOLD_INCIDENTS = f"""
SELECT i.id, i.visit_kind, coalesce(a.display_name, v.display_name, '') AS carer_name, i.kind, i.severity, i.status,
       i.raised_at, i.closed_at, {_OVERDUE} AS overdue
FROM visit_incidents i LEFT JOIN volunteers v ON v.id = i.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE i.household_id = $1
ORDER BY i.raised_at DESC, i.id DESC
LIMIT $2
"""

SELECT_HOUSEHOLD_RATINGS = """
SELECT r.id, r.visit_kind, coalesce(tv.at, s.starts_at, r.created_at) AS visited_at, r.score, r.comment, r.source,
       r.created_at
FROM visit_ratings r LEFT JOIN team_visits tv ON tv.id = r.team_visit_id LEFT JOIN shifts s ON s.id = r.shift_id
WHERE r.household_id = $1
ORDER BY r.created_at DESC, r.id DESC
LIMIT $2
"""


async def household_incidents(conn: asyncpg.Connection, household_id: int, *, limit: int) -> list[HouseholdIncidentRow]:
    """A household's latest incidents, the newest first (without what happened)."""
    return await fetch_all(conn, SELECT_HOUSEHOLD_INCIDENTS, HouseholdIncidentRow, household_id, limit)


async def household_ratings(conn: asyncpg.Connection, household_id: int, *, limit: int) -> list[HouseholdRatingRow]:
    """A household's latest visit ratings, the newest first."""
    return await fetch_all(conn, SELECT_HOUSEHOLD_RATINGS, HouseholdRatingRow, household_id, limit)
