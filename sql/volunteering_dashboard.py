"""Volunteering figures of one committee or organisation: needs covered, places filled, hours, 311 households.

Every statement takes $1 = the organisation and $2 = the committee (exactly one of them set by the caller), and
reads only that publisher's shifts, contracts and needs; $3 and $4 bound the period (shifts starting in [$3, $4)).
"""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import msgspec

from sql.rows import fetch_all

CATALOGUE_311 = "companionship_311"


class CoverageByItem(msgspec.Struct, frozen=True):
    """Needs of one catalogue item: listed, and covered by a shift or a 311 team serving one of their households."""

    code: str
    name_zh: str
    name_en: str
    listed: int
    covered: int


class WeekFigures(msgspec.Struct, frozen=True):
    """One week (Monday, Shanghai): shifts, places offered and taken, minutes confirmed and awaiting confirmation."""

    week: dt.date
    shifts: int
    headcount: int
    taken: int
    confirmed_minutes: int
    pending_minutes: int


class VolunteerHours(msgspec.Struct, frozen=True):
    """A volunteer who served the publisher in the period, with their confirmed minutes."""

    volunteer_id: int
    display_name: str
    shifts_signed: int
    shifts_confirmed: int
    confirmed_minutes: int
    first_shift: dt.datetime
    last_shift: dt.datetime


class HouseholdCoverage(msgspec.Struct, frozen=True):
    """311 households named on the publisher's needs, those with a live team, and team visits in the period."""

    listed: int
    covered: int
    live_teams: int
    visits_done: int
    visit_minutes: int


class HoursLine(msgspec.Struct, frozen=True):
    """One attendance on one of the publisher's shifts (the export of hours)."""

    shift_starts_at: dt.datetime
    shift_title: str
    volunteer_name: str
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    minutes: int | None
    status: str
    confirmed_at: dt.datetime | None


# The needs the publisher answers for: a committee's own needs; an organisation's, those of its live contracts' lots
# ({needs}, written for each kind of publisher by _for_publisher below). The texts with these marks are named in
# lower case: they become statements only once written for a publisher (tests/test_sql.py prepares the others).
_SCOPE_NEEDS = """
scope_needs AS (
    SELECT n.id, n.catalogue_item_id FROM needs n
    WHERE n.status <> 'closed' AND {needs}
)
"""
_NEEDS_OF_COMMITTEE = "n.committee_id = $2 AND $1::bigint IS NULL"
_NEEDS_OF_ORGANISATION = """
n.id IN (SELECT ln.need_id FROM contracts k JOIN awards a ON a.id = k.award_id JOIN lot_needs ln ON ln.lot_id = a.lot_id
         WHERE k.organisation_id = $1 AND k.status IN ('unsigned', 'active'))
AND $2::bigint IS NULL
"""


def _for_publisher(text: str, organisation: bool) -> str:
    """TEXT written for one kind of publisher: {needs} its needs; each {own:x}, x's provider is the organisation ($1),
    or any provider for a committee."""
    # One text for both kinds ("$1 IS NULL OR …") was planned anew at every view: PostgreSQL's plan made for the
    # values (a committee's, where the organisation's branch falls away) looked cheaper than the generic one, so it
    # never settled on the latter; 0.46 ms of planning for 0.07 ms of work on the demo district.
    text = text.replace("{needs}", _NEEDS_OF_ORGANISATION if organisation else _NEEDS_OF_COMMITTEE)
    return re.sub(r"\{own:(\w+)\}", r"\1.organisation_id = $1" if organisation else "true", text)


# A need is covered when one of its households is served: by a shift in the period or a live 311 team. For a
# committee any provider's shift or team counts (it wants its residents served); for an organisation only its own.
_coverage = f"""
WITH {_SCOPE_NEEDS},
judged AS (
    SELECT sn.catalogue_item_id,
           EXISTS (SELECT 1 FROM need_households nh JOIN shifts s ON s.household_id = nh.household_id
                   WHERE nh.need_id = sn.id AND s.status <> 'cancelled' AND s.starts_at >= $3 AND s.starts_at < $4
                     AND {{own:s}})
           OR EXISTS (SELECT 1 FROM need_households nh JOIN teams t ON t.household_id = nh.household_id
                      WHERE nh.need_id = sn.id AND t.status = 'live' AND {{own:t}}) AS covered
    FROM scope_needs sn
)
SELECT ci.code, ci.name_zh, ci.name_en, count(*)::int AS listed, (count(*) FILTER (WHERE j.covered))::int AS covered
FROM judged j JOIN catalogue_items ci ON ci.id = j.catalogue_item_id
GROUP BY ci.id, ci.code, ci.name_zh, ci.name_en, ci.sort_order
ORDER BY ci.sort_order, ci.code
"""
SELECT_COVERAGE_OF_COMMITTEE = _for_publisher(_coverage, organisation=False)
SELECT_COVERAGE_OF_ORGANISATION = _for_publisher(_coverage, organisation=True)
_SCOPE_SHIFTS = """
(s.organisation_id = $1 OR s.committee_id = $2) AND s.status <> 'cancelled' AND s.starts_at >= $3 AND s.starts_at < $4
"""
SELECT_WEEKS = f"""
SELECT date_trunc('week', s.starts_at AT TIME ZONE 'Asia/Shanghai')::date AS week,
       count(*)::int AS shifts, sum(s.headcount)::int AS headcount, sum(s.taken)::int AS taken,
       coalesce(sum(h.confirmed), 0)::int AS confirmed_minutes, coalesce(sum(h.pending), 0)::int AS pending_minutes
FROM shifts s
LEFT JOIN LATERAL (
    SELECT sum(a.minutes) FILTER (WHERE a.status = 'confirmed') AS confirmed,
           sum(a.minutes) FILTER (WHERE a.status = 'pending') AS pending
    FROM attendance a WHERE a.shift_id = s.id
) h ON true
WHERE {_SCOPE_SHIFTS}
GROUP BY 1
ORDER BY 1
"""
# The publisher's volunteers in the period: everyone who held a place on one of its shifts or has an attendance
# there; those with nothing confirmed count too (with zero), since the spread of hours is about everyone who served.
SELECT_VOLUNTEER_HOURS = f"""
WITH served AS (
    SELECT g.volunteer_id, g.shift_id, s.starts_at FROM signups g JOIN shifts s ON s.id = g.shift_id
    WHERE g.status = 'active' AND {_SCOPE_SHIFTS}
    UNION
    SELECT a.volunteer_id, a.shift_id, s.starts_at FROM attendance a JOIN shifts s ON s.id = a.shift_id
    WHERE {_SCOPE_SHIFTS}
),
-- Counted per volunteer first, then named: a join to the district's volunteers before the count had the planner
-- hash all of them (20,000 in the demo) for the hundred or so who served.
per_volunteer AS (
    SELECT sv.volunteer_id, count(*)::int AS shifts_signed,
           (count(a.id) FILTER (WHERE a.status = 'confirmed'))::int AS shifts_confirmed,
           coalesce(sum(a.minutes) FILTER (WHERE a.status = 'confirmed'), 0)::int AS confirmed_minutes,
           min(sv.starts_at) AS first_shift, max(sv.starts_at) AS last_shift
    FROM served sv
    LEFT JOIN attendance a ON a.shift_id = sv.shift_id AND a.volunteer_id = sv.volunteer_id
    GROUP BY sv.volunteer_id
)
SELECT p.volunteer_id, v.display_name, p.shifts_signed, p.shifts_confirmed, p.confirmed_minutes, p.first_shift,
       p.last_shift
FROM per_volunteer p
JOIN volunteers v ON v.id = p.volunteer_id
ORDER BY p.confirmed_minutes DESC, p.volunteer_id
"""
# Only their confirmed minutes, most first, for the page's spread of hours: without their names and dates, which
# only the service records (above) need. Every attendance row belongs to a (volunteer, shift) that served, so a
# volunteer's confirmed minutes are those of their attendance on the publisher's shifts, counted once per row as
# SELECT_VOLUNTEER_HOURS counts them; who served is who held a place or has an attendance there.
SELECT_SERVED_MINUTES = f"""
WITH own AS MATERIALIZED (SELECT s.id FROM shifts s WHERE {_SCOPE_SHIFTS}),
attended AS (
    SELECT a.volunteer_id, sum(a.minutes) FILTER (WHERE a.status = 'confirmed') AS minutes
    FROM attendance a WHERE a.shift_id IN (SELECT id FROM own)
    GROUP BY a.volunteer_id
)
SELECT coalesce(t.minutes, 0)::int AS confirmed_minutes
FROM (SELECT g.volunteer_id FROM signups g WHERE g.status = 'active' AND g.shift_id IN (SELECT id FROM own)
      UNION
      SELECT volunteer_id FROM attended) served
LEFT JOIN attended t ON t.volunteer_id = served.volunteer_id
ORDER BY 1 DESC
"""
_households_311 = f"""
WITH {_SCOPE_NEEDS},
listed AS (
    -- A household that has left the service is no longer one to cover.
    SELECT DISTINCT nh.household_id
    FROM scope_needs sn
    JOIN catalogue_items ci ON ci.id = sn.catalogue_item_id AND ci.code = '{CATALOGUE_311}'
    JOIN need_households nh ON nh.need_id = sn.id
    JOIN households h ON h.id = nh.household_id AND h.archived_at IS NULL
),
own_teams AS (
    SELECT t.id, t.household_id FROM teams t WHERE t.status = 'live' AND {{own_teams}}
)
SELECT (SELECT count(*) FROM listed)::int AS listed,
       (SELECT count(*) FROM listed l
        WHERE EXISTS (SELECT 1 FROM teams t WHERE t.household_id = l.household_id AND t.status = 'live'
                      AND {{own:t}}))::int AS covered,
       (SELECT count(*) FROM own_teams)::int AS live_teams,
       (SELECT count(*) FROM team_visits tv WHERE tv.team_id IN (SELECT id FROM own_teams)
          AND tv.status = 'done' AND tv.at >= $3 AND tv.at < $4)::int AS visits_done,
       (SELECT coalesce(sum(tv.minutes), 0) FROM team_visits tv WHERE tv.team_id IN (SELECT id FROM own_teams)
          AND tv.status = 'done' AND tv.at >= $3 AND tv.at < $4)::int AS visit_minutes
"""
# A committee's own teams: those of its households, whichever provider runs them.
_TEAMS_OF_COMMITTEE = "t.household_id IN (SELECT h.id FROM households h WHERE h.committee_id = $2)"
SELECT_HOUSEHOLDS_311_OF_COMMITTEE = _for_publisher(
    _households_311.replace("{own_teams}", _TEAMS_OF_COMMITTEE), organisation=False
)
SELECT_HOUSEHOLDS_311_OF_ORGANISATION = _for_publisher(
    _households_311.replace("{own_teams}", "t.organisation_id = $1"), organisation=True
)
SELECT_HOURS_LINES = f"""
SELECT s.starts_at AS shift_starts_at, s.title AS shift_title, v.display_name AS volunteer_name,
       a.checked_in_at, a.checked_out_at, a.minutes, a.status, a.confirmed_at
FROM attendance a
JOIN shifts s ON s.id = a.shift_id
JOIN volunteers v ON v.id = a.volunteer_id
WHERE {_SCOPE_SHIFTS}
ORDER BY s.starts_at, s.id, a.id
LIMIT $5
"""


async def coverage(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    committee_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[CoverageByItem]:
    """Needs listed and covered, per catalogue item."""
    statement = SELECT_COVERAGE_OF_COMMITTEE if organisation_id is None else SELECT_COVERAGE_OF_ORGANISATION
    return await fetch_all(conn, statement, CoverageByItem, organisation_id, committee_id, start, end)


async def weeks(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    committee_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[WeekFigures]:
    """Shifts, places and minutes per week of the period."""
    return await fetch_all(conn, SELECT_WEEKS, WeekFigures, organisation_id, committee_id, start, end)


async def volunteer_hours(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    committee_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[VolunteerHours]:
    """Each volunteer who served the publisher in the period, most confirmed minutes first."""
    return await fetch_all(conn, SELECT_VOLUNTEER_HOURS, VolunteerHours, organisation_id, committee_id, start, end)


async def served_minutes(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    committee_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[int]:
    """The confirmed minutes of each volunteer who served the publisher in the period (zero too), most first."""
    rows = await conn.fetch(SELECT_SERVED_MINUTES, organisation_id, committee_id, start, end)
    return [int(row["confirmed_minutes"]) for row in rows]


async def households_311(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    committee_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
) -> HouseholdCoverage:
    """311 households listed and covered, live teams, and visits done in the period."""
    statement = SELECT_HOUSEHOLDS_311_OF_COMMITTEE if organisation_id is None else SELECT_HOUSEHOLDS_311_OF_ORGANISATION
    row = await conn.fetchrow(statement, organisation_id, committee_id, start, end)
    assert row is not None
    return msgspec.convert(dict(row), HouseholdCoverage)


async def hours_lines(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    committee_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    limit: int,
) -> list[HoursLine]:
    """Every attendance on the publisher's shifts of the period, in time order."""
    return await fetch_all(conn, SELECT_HOURS_LINES, HoursLine, organisation_id, committee_id, start, end, limit)
