"""The volunteering dashboard of a committee or an organisation: needs covered, places filled, hours confirmed,
311 households covered, how evenly hours are spread among volunteers; hours and service records as files."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Literal

import asyncpg
import msgspec

from api.services.accounts import Identity
from api.services.errors import Forbidden, Invalid
from api.services.exports import Column, Table
from api.services.types import SHANGHAI, today
from sql import volunteering_dashboard as board_sql
from sql.volunteering_dashboard import CoverageByItem, HouseholdCoverage, WeekFigures

ExportTable = Literal["hours", "records", "weeks", "coverage"]
DEFAULT_WEEKS_BACK = 12
DEFAULT_DAYS_AHEAD = 14
MAX_PERIOD_DAYS = 366
# Dates outside these cannot be volunteering records (and the far ends would overflow when turned into moments).
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
EXPORT_LIMIT = 100_000
# Bands of confirmed hours for the spread chart: [lower, upper) in minutes; the last is open-ended.
HOUR_BANDS: tuple[tuple[int, int | None], ...] = ((0, 1), (1, 120), (120, 300), (300, 600), (600, 1200), (1200, None))


class Spread(msgspec.Struct, frozen=True):
    """How evenly confirmed hours are spread: the Gini coefficient (0 = everyone equal, towards 1 = one person
    does everything) and the share of all hours done by the top tenth of volunteers; None without any hours."""

    volunteers: int
    gini: float | None
    top_decile_share: float | None
    top_decile_size: int
    bands: list[int]


class Totals(msgspec.Struct, frozen=True):
    """The period's headline figures."""

    needs_listed: int
    needs_covered: int
    shifts: int
    headcount: int
    taken: int
    confirmed_minutes: int
    pending_minutes: int


class Board(msgspec.Struct, frozen=True):
    """Everything the volunteering dashboard shows for one publisher and period."""

    organisation_id: int | None
    committee_id: int | None
    since: dt.date
    until: dt.date
    totals: Totals
    coverage: list[CoverageByItem]
    weeks: list[WeekFigures]
    households_311: HouseholdCoverage
    spread: Spread
    # The confirmed minutes of each volunteer who served (zero too), most first: what the spread is worked out from.
    served_minutes: list[int]


def gini(values: list[int]) -> float | None:
    """The Gini coefficient of non-negative values: sum of |xi - xj| over all pairs / (2 n² mean); None if all 0."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return None
    ordered = sorted(values)
    # The sorted form of the pairwise definition: (2 Σ i·x_i) / (n Σ x) − (n + 1) / n, with i from 1.
    weighted = sum(i * x for i, x in enumerate(ordered, start=1))
    return 2 * weighted / (n * total) - (n + 1) / n


def top_share(values: list[int], fraction: float = 0.1) -> tuple[float | None, int]:
    """The share of the total held by the top `fraction` of people (at least one person), and how many that is."""
    n = len(values)
    total = sum(values)
    size = max(1, math.ceil(n * fraction)) if n else 0
    if total == 0:
        return None, size
    return sum(sorted(values, reverse=True)[:size]) / total, size


def bands(values: list[int]) -> list[int]:
    """How many volunteers fall in each band of confirmed minutes (HOUR_BANDS)."""
    counts = [0] * len(HOUR_BANDS)
    for value in values:
        for index, (low, high) in enumerate(HOUR_BANDS):
            if value >= low and (high is None or value < high):
                counts[index] += 1
                break
    return counts


def spread(minutes: list[int]) -> Spread:
    """The fairness figures of a list of confirmed minutes, one per volunteer."""
    share, size = top_share(minutes)
    return Spread(
        volunteers=len(minutes), gini=gini(minutes), top_decile_share=share, top_decile_size=size, bands=bands(minutes)
    )


def _scope(who: Identity) -> tuple[int | None, int | None]:
    """(organisation, committee) whose figures the caller sees: only their own."""
    if who.role == "organisation" and who.organisation_id is not None:
        return who.organisation_id, None
    if who.role == "committee" and who.committee_id is not None:
        return None, who.committee_id
    raise Forbidden("Only a residents' committee or an organisation has a volunteering dashboard")


def period(since: dt.date | None, until: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period shown (both days included): by default the last twelve weeks and the next two."""
    now = today()
    since = since or now - dt.timedelta(weeks=DEFAULT_WEEKS_BACK)
    until = until or now + dt.timedelta(days=DEFAULT_DAYS_AHEAD)
    if not (EARLIEST <= since <= LATEST and EARLIEST <= until <= LATEST):
        raise Invalid("The period is not valid", fields={"since": "Dates go from 2000 to 2100"})
    if until < since:
        raise Invalid("The period is not valid", fields={"until": "The end date must not be before the start date"})
    if (until - since).days >= MAX_PERIOD_DAYS:
        raise Invalid("The period is not valid", fields={"until": "A period spans at most 366 days"})
    return since, until


def _bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period as moments: from the first day's midnight to the midnight after the last day, in Shanghai."""
    start = dt.datetime.combine(since, dt.time(), tzinfo=SHANGHAI)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    return start, end


async def dashboard(
    conn: asyncpg.Connection, who: Identity, *, since: dt.date | None = None, until: dt.date | None = None
) -> Board:
    """The caller's own committee's or organisation's volunteering figures for a period."""
    organisation_id, committee_id = _scope(who)
    since, until = period(since, until)
    start, end = _bounds(since, until)
    coverage = await board_sql.coverage(conn, organisation_id, committee_id, start, end)
    weeks = await board_sql.weeks(conn, organisation_id, committee_id, start, end)
    minutes = await board_sql.served_minutes(conn, organisation_id, committee_id, start, end)
    totals = Totals(
        needs_listed=sum(c.listed for c in coverage),
        needs_covered=sum(c.covered for c in coverage),
        shifts=sum(w.shifts for w in weeks),
        headcount=sum(w.headcount for w in weeks),
        taken=sum(w.taken for w in weeks),
        confirmed_minutes=sum(w.confirmed_minutes for w in weeks),
        pending_minutes=sum(w.pending_minutes for w in weeks),
    )
    return Board(
        organisation_id=organisation_id,
        committee_id=committee_id,
        since=since,
        until=until,
        totals=totals,
        coverage=coverage,
        weeks=weeks,
        households_311=await board_sql.households_311(conn, organisation_id, committee_id, start, end),
        spread=spread(minutes),
        served_minutes=minutes,
    )


def _hours(minutes: int | None) -> Decimal | None:
    return None if minutes is None else (Decimal(minutes) / 60).quantize(Decimal("0.01"))


_STATUS_ZH = {"open": "未签退", "pending": "待确认", "confirmed": "已确认", "rejected": "未通过"}


async def export_table(
    conn: asyncpg.Connection,
    who: Identity,
    table: ExportTable,
    locale: str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Table:
    """One of the dashboard's lists as a table to export: hours (each attendance), service records (each
    volunteer's confirmed service), weeks, or needs coverage."""
    organisation_id, committee_id = _scope(who)
    since, until = period(since, until)
    start, end = _bounds(since, until)
    stem = f"{since:%Y%m%d}-{until:%Y%m%d}"
    if table == "hours":
        lines = await board_sql.hours_lines(conn, organisation_id, committee_id, start, end, EXPORT_LIMIT)
        return Table(
            name=f"volunteer-hours-{stem}",
            columns=[
                Column("Shift starts", "班次开始时间", "datetime"),
                Column("Shift", "服务班次"),
                Column("Volunteer", "志愿者"),
                Column("Checked in", "签到时间", "datetime"),
                Column("Checked out", "签退时间", "datetime"),
                Column("Hours", "服务时长（小时）"),
                Column("Status", "状态"),
                Column("Confirmed at", "确认时间", "datetime"),
            ],
            rows=[
                (
                    r.shift_starts_at,
                    r.shift_title,
                    r.volunteer_name,
                    r.checked_in_at,
                    r.checked_out_at,
                    _hours(r.minutes),
                    r.status if locale == "en" else _STATUS_ZH.get(r.status, r.status),
                    r.confirmed_at,
                )
                for r in lines
            ],
        )
    if table == "records":
        volunteers = await board_sql.volunteer_hours(conn, organisation_id, committee_id, start, end)
        return Table(
            name=f"service-records-{stem}",
            columns=[
                Column("Volunteer", "志愿者"),
                Column("Shifts signed up", "报名班次数", "int"),
                Column("Shifts confirmed", "已确认班次数", "int"),
                Column("Confirmed hours", "已确认服务时长（小时）"),
                Column("First shift", "首次服务", "datetime"),
                Column("Last shift", "最近服务", "datetime"),
            ],
            rows=[
                (
                    v.display_name,
                    v.shifts_signed,
                    v.shifts_confirmed,
                    _hours(v.confirmed_minutes),
                    v.first_shift,
                    v.last_shift,
                )
                for v in volunteers
            ],
        )
    if table == "weeks":
        weeks = await board_sql.weeks(conn, organisation_id, committee_id, start, end)
        return Table(
            name=f"volunteering-weeks-{stem}",
            columns=[
                Column("Week of", "周（起始日）", "date"),
                Column("Shifts", "班次数", "int"),
                Column("Places", "名额", "int"),
                Column("Places taken", "已报名", "int"),
                Column("Hours confirmed", "已确认时长（小时）"),
                Column("Hours awaiting confirmation", "待确认时长（小时）"),
            ],
            rows=[
                (w.week, w.shifts, w.headcount, w.taken, _hours(w.confirmed_minutes), _hours(w.pending_minutes))
                for w in weeks
            ],
        )
    coverage = await board_sql.coverage(conn, organisation_id, committee_id, start, end)
    return Table(
        name=f"needs-coverage-{stem}",
        columns=[
            Column("Catalogue item", "政府购买服务目录项"),
            Column("Needs listed", "需求数", "int"),
            Column("Needs covered", "已覆盖需求数", "int"),
        ],
        rows=[(c.name_en if locale == "en" else c.name_zh, c.listed, c.covered) for c in coverage],
    )
