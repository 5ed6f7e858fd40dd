"""A home-care or respite contract's (or a committee's respite) week of day plans (issue 14): its days with the plan
that stands and the newest run, the week's live visits by carer and day, a carer's own week (migration 0039's tables,
read only)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all
from sql.visits import VISIT_CATALOGUE


class WeekDayRow(msgspec.Struct, frozen=True):
    """A contract's day of the week that was ever planned: its newest run and how many visits the standing plan left
    out."""

    day_id: int
    day: dt.date
    standing_run_id: int | None
    run_id: int | None
    run_status: str | None
    run_error: str | None
    left_out: int


class WeekVisitRow(msgspec.Struct, frozen=True):
    """A live visit of the week, as the week's figures count it."""

    day: dt.date
    carer_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    travel_minutes: float
    late_minutes: float


# A home-care or respite contract of the organisation whatever its status (a week is refused on one no longer live).
SELECT_CONTRACT_STATUS = f"""
SELECT c.status FROM contracts c JOIN awards a ON a.id = c.award_id
WHERE c.organisation_id = $1 AND c.id = $2
  AND EXISTS (SELECT 1 FROM lot_needs ln JOIN needs n ON n.id = ln.need_id
              JOIN catalogue_items ci ON ci.id = n.catalogue_item_id
              WHERE ln.lot_id = a.lot_id AND ci.code IN {VISIT_CATALOGUE!r})
"""
# The statement for a subject column (a template, not a statement itself).
_week_days = """
SELECT d.id AS day_id, d.day, d.run_id AS standing_run_id, r.id AS run_id, r.status AS run_status,
       r.error AS run_error, coalesce(jsonb_array_length(s.result->'left_out'), 0)::int AS left_out
FROM visit_days d
LEFT JOIN LATERAL (SELECT id, status, error FROM match_runs
                   WHERE model = $3 AND subject_type = $4 AND subject_id = d.id
                   ORDER BY inputs_version DESC LIMIT 1) r ON true
LEFT JOIN match_runs s ON s.id = d.run_id
WHERE d.{subject} = $1 AND d.day BETWEEN $2::date AND $2::date + 6
ORDER BY d.day
"""
SELECT_WEEK_DAYS = _week_days.format(subject="contract_id")
# The same for a committee's respite days.
SELECT_COMMITTEE_WEEK_DAYS = _week_days.format(subject="committee_id")
_WEEK_VISITS = """
SELECT d.day, pv.carer_id, lower(pv.during) AS starts_at, upper(pv.during) AS ends_at,
       pv.travel_minutes::float8 AS travel_minutes, pv.late_minutes::float8 AS late_minutes
FROM planned_visits pv JOIN visit_days d ON d.id = pv.visit_day_id
WHERE pv.status <> 'released'
"""
_OF_THE_WEEK = " AND d.day BETWEEN $2::date AND $2::date + 6"
_BY_DAY = " ORDER BY d.day, pv.carer_id, lower(pv.during)"
SELECT_WEEK_VISITS = _WEEK_VISITS + _OF_THE_WEEK + " AND d.contract_id = $1" + _BY_DAY
SELECT_COMMITTEE_WEEK_VISITS = _WEEK_VISITS + _OF_THE_WEEK + " AND d.committee_id = $1" + _BY_DAY
# The carer's own visits of the week, whatever contract planned them.
SELECT_MY_WEEK_VISITS = _WEEK_VISITS + _OF_THE_WEEK + " AND pv.volunteer_id = $1 ORDER BY d.day, lower(pv.during)"


async def contract_status(conn: asyncpg.Connection, organisation_id: int, contract_id: int) -> str | None:
    """The status of the organisation's home-care or respite contract, live or not; None when it has no such one."""
    value = await conn.fetchval(SELECT_CONTRACT_STATUS, organisation_id, contract_id)
    return None if value is None else str(value)


async def week_days(
    conn: asyncpg.Connection, contract_id: int, monday: dt.date, model: str, subject: str
) -> list[WeekDayRow]:
    """The contract's days of the week from `monday` that were ever planned, with their newest run."""
    return await fetch_all(conn, SELECT_WEEK_DAYS, WeekDayRow, contract_id, monday, model, subject)


async def week_visits(conn: asyncpg.Connection, contract_id: int, monday: dt.date) -> list[WeekVisitRow]:
    """The contract's live visits of the week from `monday`, by day, carer and time."""
    return await fetch_all(conn, SELECT_WEEK_VISITS, WeekVisitRow, contract_id, monday)


async def committee_week_days(
    conn: asyncpg.Connection, committee_id: int, monday: dt.date, model: str, subject: str
) -> list[WeekDayRow]:
    """The committee's respite days of the week from `monday` that were ever planned, with their newest run."""
    return await fetch_all(conn, SELECT_COMMITTEE_WEEK_DAYS, WeekDayRow, committee_id, monday, model, subject)


async def committee_week_visits(conn: asyncpg.Connection, committee_id: int, monday: dt.date) -> list[WeekVisitRow]:
    """The committee's live respite visits of the week from `monday`, by day, carer and time."""
    return await fetch_all(conn, SELECT_COMMITTEE_WEEK_VISITS, WeekVisitRow, committee_id, monday)


async def my_week_visits(conn: asyncpg.Connection, volunteer_id: int, monday: dt.date) -> list[WeekVisitRow]:
    """A carer's own live visits of the week from `monday`, by day and time."""
    return await fetch_all(conn, SELECT_MY_WEEK_VISITS, WeekVisitRow, volunteer_id, monday)
