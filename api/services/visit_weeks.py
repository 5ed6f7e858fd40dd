"""A week of home-visit day plans (issue 14, step 3): the organisation holding a home-care or respite contract starts
the plans of every day of a week still to come in one action, and sees the week at a glance.

A week is not a second way to plan: each of its days is the day's own run in the one optimiser-run pipeline, started
by the day's rule (`visits.plan_subject`, as `visits.start_plan`) and solved, written and re-planned as any day is.
What the week adds: one transaction that starts the runs of all its days from today on (or none), days already past
skipped, days with nothing to plan (no household takes a visit, no carer works) reported rather than refused, one
audit row for the week; and the week's figures, read from the days' runs and their planned visits: each day's state,
visits planned, left out and late, travel, and each carer's stops and hours per day (over their working hours marked).
A carer's phone shows their own week from the same figures.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec

from api.services import audit_log, horizon, runs, visits
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound
from api.services.rosters import monday_of
from api.services.runs import JobQueue
from api.services.types import SHANGHAI
from api.services.visits import PlanDay, TravelSpeeds
from sql import visit_weeks as weeks_sql
from sql import visits as visits_sql
from sql.match_runs import RunRow
from sql.visit_weeks import WeekVisitRow
from sql.visits import ContractRow

# How far ahead a week can be planned: the households' slots and the carers' rosters are not known further out.
WEEKS_AHEAD = 4
DAYS = 7
LIVE = ("unsigned", "active")
# The code of a day skipped for a refusal that names none (a rule added without one).
OTHER = "other"
# The pipeline's subject hook of one day (its id, made on first use).
DaySubject = Callable[[asyncpg.Connection], Awaitable[int]]
# A day's state from its newest run.
STATES = {"queued": "planning", "running": "planning", "succeeded": "planned", "failed": "failed"}


class PlanWeek(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The week to plan, by its Monday (Shanghai)."""

    start: dt.date


class DayStarted(msgspec.Struct, frozen=True):
    """A day of the week whose plan was started (or is the run already standing for the same inputs)."""

    day: dt.date
    run: RunRow


class DaySkipped(msgspec.Struct, frozen=True):
    """A day of the week with nothing to plan, and why: a stable code ('no_carer', 'no_household',
    'no_respite_carer', 'no_request', 'as_shifts'; 'other' for a refusal without one) and an English message."""

    day: dt.date
    code: str
    why: str


class DaysStarted(msgspec.Struct, frozen=True):
    """What planning a week did: the days started, the days with nothing to plan (and why), the days already past."""

    start: dt.date
    started: list[DayStarted]
    skipped: list[DaySkipped]
    past: list[dt.date]


class WeekStarted(DaysStarted, frozen=True):
    """What planning a contract's week did."""

    contract_id: int


def days_of(monday: dt.date) -> list[dt.date]:
    """The seven days of the week from `monday`."""
    return [monday + dt.timedelta(days=k) for k in range(DAYS)]


def _week_rules(monday: dt.date, today: dt.date) -> None:
    """A week to plan starts on a Monday, is not over, and is at most WEEKS_AHEAD weeks after this one."""
    if monday.isoweekday() != 1:
        raise Invalid("The week is not valid", fields={"start": "A week starts on a Monday"})
    # Too far ahead first: year 9999's last week runs past the last date there is.
    if monday > monday_of(today) + dt.timedelta(weeks=WEEKS_AHEAD):
        raise Invalid("The week is not valid", fields={"start": "A week can be planned up to four weeks ahead"})
    if monday + dt.timedelta(days=DAYS - 1) < today:
        raise Invalid("The week is not valid", fields={"start": "This week is over"})


async def _live_contract(conn: asyncpg.Connection, who: Identity, contract_id: int) -> None:
    """The organisation's own home-care or respite contract, still live: else 404 (not theirs) or 409 (ended)."""
    organisation_id = who.organisation_id_or_refuse(visits.ONLY_ORGANISATIONS)
    status = await weeks_sql.contract_status(conn, organisation_id, contract_id)
    if status is None:
        raise NotFound("No such home-care contract")
    if status not in LIVE:
        raise Conflict("The contract is no longer live: its visits are not planned any more")


async def start_days(
    conn: asyncpg.Connection, queue: JobQueue, who: Identity, start: dt.date, *,
    owner: Callable[[], Awaitable[int]], subject_of: Callable[[dt.date], DaySubject],
    action: str, object_type: str,
) -> tuple[list[DayStarted], list[DaySkipped], list[dt.date]]:  # fmt: skip
    """Start the plan of every day of the week from `start` (a Monday) from today on in one transaction, all the
    days' runs or none, each day by its own rule (`subject_of(day)`, the pipeline's subject hook; a day it refuses
    as a conflict has nothing to plan and is reported); `owner` checks the caller's subject first (its id). Audited
    once as `action` on (`object_type`, the owner's id); the runs are queued after the commit. What was started,
    skipped and past."""
    today = visits.today()
    _week_rules(start, today)
    started: list[DayStarted] = []
    skipped: list[DaySkipped] = []
    past: list[dt.date] = []
    async with conn.transaction():
        object_id = await owner()
        for day in days_of(start):
            if day < today:
                past.append(day)
                continue
            subject = subject_of(day)
            try:
                # A day with nothing to plan leaves nothing behind (not even its day row); any other failure ends
                # the whole week's transaction.
                async with conn.transaction():
                    day_id = await subject(conn)
                    run = await runs.open_run(
                        conn, visits.RUNS, day_id, who.account_id, detail={"week": start.isoformat()}
                    )
            except Conflict as exc:
                code = exc.code if isinstance(exc, visits.NothingToPlan) else OTHER
                skipped.append(DaySkipped(day=day, code=code, why=exc.detail))
                continue
            started.append(DayStarted(day=day, run=run))
        await audit_log.record(
            conn, who, action, object_type, object_id,
            detail={"start": start.isoformat(), "runs": [s.run.id for s in started],
                    "skipped": [s.day.isoformat() for s in skipped], "past": [d.isoformat() for d in past]},
        )  # fmt: skip
    for s in started:
        await runs.enqueue(queue, visits.RUNS, s.run)
    return started, skipped, past


async def start_week(
    conn: asyncpg.Connection, queue: JobQueue, who: Identity, contract_id: int, form: PlanWeek, speeds: TravelSpeeds
) -> WeekStarted:
    """The organisation plans every day of a week from today on in one transaction (all the days' runs or none),
    each day its own run by the day's rule; the runs are queued after the commit. Audited once for the week."""

    async def owner() -> int:
        await _live_contract(conn, who, contract_id)
        return contract_id

    started, skipped, past = await start_days(
        conn, queue, who, form.start, owner=owner, action="visit_week.plan", object_type="contract",
        subject_of=lambda day: visits.plan_subject(who, contract_id, PlanDay(day=day), speeds),
    )  # fmt: skip
    return WeekStarted(contract_id=contract_id, start=form.start, started=started, skipped=skipped, past=past)


# --------------------------------------------------------------------------------------------- the week's figures


class WeekCell(msgspec.Struct, frozen=True):
    """One carer's day in the week: stops, when they leave for the first and finish the last, the time between
    (minutes), lateness, and whether it runs outside their working hours."""

    stops: int
    first_start: dt.datetime
    leaves_at: dt.datetime
    ends_at: dt.datetime
    minutes: int
    late: int
    over: bool


class WeekDay(msgspec.Struct, frozen=True):
    """A day of the week on the contract: its state (not_planned, planning, planned, failed) and newest run, and the
    figures of the plan that stands."""

    day: dt.date
    state: str
    day_id: int | None
    run_id: int | None
    error: str | None
    visits: int
    left_out: int
    late: int
    travel_minutes: float
    past: bool


class CarerWeek(msgspec.Struct, frozen=True):
    """A carer's row of the week: for each day whether they work it and their stops (None: no stop)."""

    carer_id: int
    name: str
    works: list[bool]
    cells: list[WeekCell | None]


class WeekFigures(msgspec.Struct, frozen=True):
    """A week of visit days: the days across, the carers by day, and whether it can still be planned."""

    start: dt.date
    days: list[WeekDay]
    carers: list[CarerWeek]
    plannable: bool


class Week(WeekFigures, frozen=True):
    """A contract's week."""

    contract: ContractRow


class RespiteWeek(WeekFigures, frozen=True):
    """A committee's week of respite days."""

    committee_id: int


def cell_of(rows: list[WeekVisitRow], hours: tuple[dt.time, dt.time] | None) -> WeekCell:
    """A carer's day from their visits of it (in time order): stops, first leave, last end and lateness; outside
    working hours (`hours`, Shanghai) when they leave before the start or finish after the end."""
    leaves = min(r.starts_at - dt.timedelta(minutes=math.ceil(r.travel_minutes)) for r in rows)
    ends = max(r.ends_at for r in rows)
    over = False
    if hours is not None:
        day = rows[0].day
        over = leaves < dt.datetime.combine(day, hours[0], tzinfo=SHANGHAI) or ends > dt.datetime.combine(
            day, hours[1], tzinfo=SHANGHAI
        )
    return WeekCell(
        stops=len(rows), first_start=min(r.starts_at for r in rows), leaves_at=leaves, ends_at=ends,
        minutes=round((ends - leaves).total_seconds() / 60), late=sum(1 for r in rows if r.late_minutes > 0),
        over=over,
    )  # fmt: skip


def _day_of(day: dt.date, row: weeks_sql.WeekDayRow | None, rows: list[WeekVisitRow], today: dt.date) -> WeekDay:
    state = "not_planned" if row is None or row.run_status is None else STATES.get(row.run_status, "planning")
    return WeekDay(
        day=day, state=state, day_id=None if row is None else row.day_id, run_id=None if row is None else row.run_id,
        error=row.run_error if row is not None and state == "failed" else None, visits=len(rows),
        left_out=0 if row is None else row.left_out, late=sum(1 for r in rows if r.late_minutes > 0),
        travel_minutes=round(sum(r.travel_minutes for r in rows), 1), past=day < today,
    )  # fmt: skip


def _figures(
    rows: list[weeks_sql.WeekDayRow], planned: list[WeekVisitRow], roster: list[visits_sql.CarerRow],
    monday: dt.date, today: dt.date,
) -> WeekFigures:  # fmt: skip
    """A week's figures from its days' rows, its live visits and the roster (its active, joined carers and any with a
    visit that week)."""
    days = days_of(monday)
    by_day = {r.day: r for r in rows}
    people = {c.id: c for c in roster}
    by_cell: dict[tuple[int, dt.date], list[WeekVisitRow]] = {}
    for v in planned:
        by_cell.setdefault((v.carer_id, v.day), []).append(v)
    shown = {c.id for c in roster if c.active and c.joined_at is not None} | {v.carer_id for v in planned}
    carers = []
    for c in sorted((people[i] for i in shown if i in people), key=lambda c: (c.name, c.id)):
        hours = (c.work_starts, c.work_ends)
        cells = [cell_of(by_cell[(c.id, d)], hours) if (c.id, d) in by_cell else None for d in days]
        works = [c.active and d.isoweekday() in c.work_days for d in days]
        carers.append(CarerWeek(carer_id=c.id, name=c.name, works=works, cells=cells))
    return WeekFigures(
        start=monday,
        days=[_day_of(d, by_day.get(d), [v for v in planned if v.day == d], today) for d in days],
        carers=carers,
        plannable=days[-1] >= today and monday <= monday_of(today) + dt.timedelta(weeks=WEEKS_AHEAD),
    )


def _shown_monday(start: dt.date) -> dt.date:
    """The Monday of the week to show, within the dates' horizon: the week of year 9999's last days (or the one
    before year 1's) is past the calendar."""
    if (error := horizon.date_error(start)) is not None:
        raise Invalid("The week is not valid", fields={"start": error})
    return monday_of(start)


async def week(conn: asyncpg.Connection, who: Identity, contract_id: int, start: dt.date) -> Week:
    """The organisation's contract's week from the Monday of `start`: each day's state and figures, and each carer's
    stops and hours per day."""
    organisation_id = who.organisation_id_or_refuse(visits.ONLY_ORGANISATIONS)
    contract = await visits_sql.get_contract(conn, organisation_id, contract_id)
    if contract is None:
        raise NotFound("No such home-care contract")
    today = visits.today()
    monday = _shown_monday(start)
    figures = _figures(
        await weeks_sql.week_days(conn, contract_id, monday, visits.MODEL, visits.SUBJECT),
        await weeks_sql.week_visits(conn, contract_id, monday),
        await visits_sql.carers(conn, organisation_id, today), monday, today,
    )  # fmt: skip
    return Week(**msgspec.structs.asdict(figures), contract=contract)


async def respite_week(conn: asyncpg.Connection, committee_id: int, start: dt.date) -> RespiteWeek:
    """A committee's respite week from the Monday of `start`, counted as a contract's week is (the caller checks the
    committee is theirs: respite_days.week)."""
    today = visits.today()
    monday = _shown_monday(start)
    figures = _figures(
        await weeks_sql.committee_week_days(conn, committee_id, monday, visits.MODEL, visits.SUBJECT),
        await weeks_sql.committee_week_visits(conn, committee_id, monday),
        await visits_sql.carers(conn, None, today, committee_id), monday, today,
    )  # fmt: skip
    return RespiteWeek(**msgspec.structs.asdict(figures), committee_id=committee_id)


class MyWeekDay(msgspec.Struct, frozen=True):
    """A day of the carer's week with stops: how many and when the first starts."""

    day: dt.date
    stops: int
    first_start: dt.datetime


async def my_week(conn: asyncpg.Connection, who: Identity, day: dt.date) -> list[MyWeekDay]:
    """The calling carer's days with stops in the week of `day` (whatever contract planned them)."""
    volunteer_id = who.volunteer_id_or_refuse("Only carers have a day of visits")
    by_day: dict[dt.date, list[WeekVisitRow]] = {}
    for v in await weeks_sql.my_week_visits(conn, volunteer_id, monday_of(day)):
        by_day.setdefault(v.day, []).append(v)
    out = []
    for d, rows in sorted(by_day.items()):
        cell = cell_of(rows, None)
        out.append(MyWeekDay(day=d, stops=cell.stops, first_start=cell.first_start))
    return out
