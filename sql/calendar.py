"""Commitments: every place a volunteer holds (shift sign-ups, 311 team visits) in one calendar, never overlapping
(the table and its triggers are in migration 0022)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all


class CommitmentRow(msgspec.Struct, frozen=True):
    """One active commitment with what the calendar shows of it (the household's address is masked by the caller)."""

    id: int
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    shift_id: int | None
    shift_title: str | None
    place_name: str | None
    serves_household: bool
    team_id: int | None
    household_id: int | None
    committee_id: int | None
    committee_name: str | None
    address: str | None
    publisher_name: str
    planned_visit_id: int | None = None


class Span(msgspec.Struct, frozen=True):
    """A volunteer's committed time."""

    volunteer_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


SELECT_COMMITMENTS = """
SELECT c.id, c.kind, lower(c.during) AS starts_at, upper(c.during) AS ends_at,
       s.id AS shift_id, s.title AS shift_title, s.place_name, (s.household_id IS NOT NULL) AS serves_household,
       tm.id AS team_id, h.id AS household_id, h.committee_id, hc.name AS committee_name, h.address,
       coalesce(o.name, sc.name, cc.name, '') AS publisher_name, pv.id AS planned_visit_id
FROM commitments c
LEFT JOIN signups g ON g.id = c.signup_id
LEFT JOIN shifts s ON s.id = g.shift_id
LEFT JOIN committees sc ON sc.id = s.committee_id
LEFT JOIN team_visits tv ON tv.id = c.team_visit_id
LEFT JOIN teams tm ON tm.id = tv.team_id
LEFT JOIN planned_visits pv ON pv.id = c.planned_visit_id
LEFT JOIN carers ca ON ca.id = pv.carer_id
-- A committee's respite carer: the committee planned the visit.
LEFT JOIN committees cc ON cc.id = ca.committee_id
LEFT JOIN households h ON h.id = coalesce(tm.household_id, pv.household_id)
LEFT JOIN committees hc ON hc.id = h.committee_id
LEFT JOIN organisations o ON o.id = coalesce(tm.organisation_id, s.organisation_id, ca.organisation_id)
WHERE c.volunteer_id = $1 AND c.status = 'active' AND upper(c.during) > $2 AND lower(c.during) < $3
ORDER BY lower(c.during), c.id
LIMIT $4
"""
# The time a roster may not give a volunteer: what they hold, and what other rosters propose to them and they have
# not answered yet (so two publishers' proposals never overlap for one person).
SELECT_ROSTER_BLOCKED = """
SELECT c.volunteer_id, lower(c.during) AS starts_at, upper(c.during) AS ends_at
FROM commitments c
WHERE c.volunteer_id = ANY($1::bigint[]) AND c.status = 'active' AND c.during && tstzrange($2, $3, '[)')
UNION ALL
SELECT p.volunteer_id, s.starts_at, s.ends_at
FROM roster_proposals p JOIN shifts s ON s.id = p.shift_id
WHERE p.volunteer_id = ANY($1::bigint[]) AND p.status = 'proposed' AND p.roster_id <> $4
  AND s.status = 'open' AND s.starts_at < $3 AND s.ends_at > $2
ORDER BY 1, 2, 3
"""
# The time a 311 project's teams may not take: commitments other than the visits of this project's own live teams
# (those are the plan being repaired).
SELECT_TEAMS_BLOCKED = """
SELECT c.volunteer_id, lower(c.during) AS starts_at, upper(c.during) AS ends_at
FROM commitments c
LEFT JOIN team_visits tv ON tv.id = c.team_visit_id
LEFT JOIN teams tm ON tm.id = tv.team_id
WHERE c.volunteer_id = ANY($1::bigint[]) AND c.status = 'active' AND c.during && tstzrange($2, $3, '[)')
  AND (tm.id IS NULL OR tm.contract_id <> $4)
ORDER BY 1, 2, 3
"""
# Present members of live teams whose planned visits to come have no commitment for them: a visit they cannot make
# because they hold another place then (the trigger skipped the clash).
SELECT_UNCOMMITTED_VISITS = """
SELECT m.volunteer_id, tv.at AS starts_at, upper(team_visit_during(tv.at)) AS ends_at
FROM team_visits tv
JOIN teams tm ON tm.id = tv.team_id AND tm.status = 'live'
JOIN team_members m ON m.team_id = tv.team_id AND m.until IS NULL
WHERE tv.status = 'planned' AND tv.at > now()
  AND NOT EXISTS (SELECT 1 FROM commitments c
                  WHERE c.team_visit_id = tv.id AND c.volunteer_id = m.volunteer_id AND c.status = 'active')
ORDER BY 1, 2
"""
# Two active commitments of one person that overlap (the exclusion constraint makes this empty; a check for seeds).
SELECT_OVERLAPS = """
SELECT a.volunteer_id, lower(a.during) AS starts_at, upper(a.during) AS ends_at
FROM commitments a JOIN commitments b
  ON b.volunteer_id = a.volunteer_id AND b.id > a.id AND b.during && a.during AND b.status = 'active'
WHERE a.status = 'active'
ORDER BY 1, 2
"""


def _spans(rows: list[asyncpg.Record]) -> list[Span]:
    return [Span(int(r["volunteer_id"]), r["starts_at"], r["ends_at"]) for r in rows]


async def commitments(
    conn: asyncpg.Connection, volunteer_id: int, since: dt.datetime, until: dt.datetime, *, limit: int
) -> list[CommitmentRow]:
    """A volunteer's active commitments that end after `since` and start before `until`, in date order."""
    return await fetch_all(conn, SELECT_COMMITMENTS, CommitmentRow, volunteer_id, since, until, limit)


async def roster_blocked(
    conn: asyncpg.Connection, volunteer_ids: list[int], since: dt.datetime, until: dt.datetime, roster_id: int
) -> list[Span]:
    """Time in [since, until) each volunteer holds, or is proposed by another roster."""
    return _spans(await conn.fetch(SELECT_ROSTER_BLOCKED, volunteer_ids, since, until, roster_id))


async def teams_blocked(
    conn: asyncpg.Connection, volunteer_ids: list[int], since: dt.datetime, until: dt.datetime, contract_id: int
) -> list[Span]:
    """Time in [since, until) each volunteer holds, other than their visits for this 311 project's teams."""
    return _spans(await conn.fetch(SELECT_TEAMS_BLOCKED, volunteer_ids, since, until, contract_id))


async def uncommitted_visits(conn: asyncpg.Connection) -> list[Span]:
    """Planned team visits a present member has no commitment for (they hold another place then)."""
    return _spans(await conn.fetch(SELECT_UNCOMMITTED_VISITS))


async def overlaps(conn: asyncpg.Connection) -> list[Span]:
    """Active commitments overlapping another of the same person's (none, while the constraint holds)."""
    return _spans(await conn.fetch(SELECT_OVERLAPS))
