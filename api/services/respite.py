"""Respite visits (喘息服务): a committee records a household's entitlement, turns it into visit requests for a
period, and schedules a week's requests as one-place shifts serving the household, staffed by a respite roster
(matching.roster) that keeps last week's carer where it can.

The default rules follow PRODUCT.md: a fixed number of days a month (Beijing's pilot: 4), or visits a week by care
level (Shanghai's long-term-care insurance: levels 2-3 three one-hour visits, level 4 five, levels 5-6 seven). The
care-level table is a setting (LINLI_RESPITE_VISITS_BY_CARE_LEVEL) passed in by the caller.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, household_access, notifications, rosters, runs
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.runs import JobQueue
from api.services.types import SHANGHAI, Id, today
from sql import respite as respite_sql
from sql import visits as visits_sql
from sql.match_runs import RunRow
from sql.respite import EntitlementRow, HouseholdRow, RequestRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_COMMITTEES = "Only a residents' committee manages its households' respite care"
NO_SUCH_REQUEST = "No such request waiting or planned on a route"
CHECKED_IN = "The carer has already checked in at this visit: it can no longer be cancelled"
CHANGE_CHECKED_IN = "The carer has already checked in at this visit: it can no longer be changed"

DEFAULT_CARE_LEVEL_RULE = "2:3,3:3,4:5,5:7,6:7"
# A respite day is a day's care at home; a visit an hour, unless the committee says otherwise.
DEFAULT_MINUTES = {"days": 480, "visits": 60}
DEFAULT_CERTIFICATE = "elderly_carer"
# The carers' requirement is a certificate kind, or "skill:<code>" where a skill on the profile is enough.
SKILL = "skill:"
# The visit's shift names the service and where, never the household's address (seen only once confirmed).
SHIFT_TITLE = "喘息服务上门"
SHIFT_PLACE = "服务对象家中（确认后可见地址）"
MAX_PERIOD_DAYS = 92


class EntitlementCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A household's entitlement: 'days' or 'visits' per week or month, or 'care_level' (visits a week from the
    household's care level by the rule); dates inclusive; a visit's start time in Shanghai and its minutes."""

    household_id: Id
    kind: Literal["days", "visits", "care_level"]
    valid_from: dt.date
    valid_until: dt.date
    amount: Annotated[int, Meta(ge=1, le=31)] | None = None
    period: Literal["week", "month"] = "month"
    starts: dt.time = dt.time(9)
    visit_minutes: Annotated[int, Meta(ge=30, le=720)] | None = None


# How many carers a respite visit needs at once: one, or two (a bedridden elder who must be lifted, an elder with
# dementia who cannot be left alone while the other carer helps). Mirrors respite_requests_carers_needed.
CarersNeeded = Annotated[int, Meta(ge=1, le=2)]


class RequestsCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The period (dates inclusive) to turn an entitlement into visit requests for, and how many carers each visit
    needs at once."""

    period_from: dt.date
    period_until: dt.date
    carers_needed: CarersNeeded = 1


class RequestChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How many carers a visit request needs at once (2: "需要两名护理员")."""

    carers_needed: CarersNeeded


class ScheduleWeek(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Any day of the week whose pending visits to schedule."""

    week_starts: dt.date


class Scheduled(msgspec.Struct, frozen=True):
    """A scheduled week: how many visits became shifts, and the roster run that proposes carers for them."""

    scheduled: int
    run: RunRow


def parse_rule(text: str) -> dict[int, int]:
    """'2:3,3:3,4:5' as {care level: visits a week}."""
    rule: dict[int, int] = {}
    for part in text.split(","):
        if part.strip():
            level, visits = part.split(":")
            rule[int(level)] = int(visits)
    return rule


async def households(conn: asyncpg.Connection, who: Identity) -> list[HouseholdRow]:
    """The committee's households (name and care level only)."""
    return await respite_sql.households(conn, who.committee_id_or_refuse(_ONLY_COMMITTEES))


async def record_entitlement(
    conn: asyncpg.Connection, who: Identity, form: EntitlementCreate, *, rule: Mapping[int, int] | None = None
) -> EntitlementRow:
    """The committee records a respite entitlement for one of its households."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    rule = rule if rule is not None else parse_rule(DEFAULT_CARE_LEVEL_RULE)
    errors: dict[str, str] = {}
    if abs((form.valid_from - today()).days) > 3660:
        errors["valid_from"] = "Choose a date within ten years of today"
    if form.valid_until < form.valid_from:
        errors["valid_until"] = "The end must not be before the start"
    elif (form.valid_until - form.valid_from).days > 366:
        errors["valid_until"] = "An entitlement lasts at most a year; record the next one then"
    household = await respite_sql.household(conn, form.household_id, committee_id)
    if household is None:
        raise Invalid("No such household", fields={"household_id": "Choose one of your committee's households"})
    kind, period, basis, amount = form.kind, form.period, "fixed", form.amount
    if form.kind == "care_level":
        kind, period, basis = "visits", "week", "care_level"
        amount = rule.get(household.care_level or 0)
        if amount is None:
            errors["kind"] = "The care-level rule gives this household's care level no visits; enter an amount"
    elif amount is None:
        errors["amount"] = "Enter how many days or visits"
    minutes = form.visit_minutes or DEFAULT_MINUTES[kind]
    if form.starts.hour * 60 + form.starts.minute + minutes > 24 * 60:
        errors["visit_minutes"] = "A visit must end on the day it starts"
    if errors:
        raise Invalid("The entitlement is not valid", fields=errors)
    assert amount is not None
    async with conn.transaction():
        entitlement_id = found(
            await respite_sql.insert_entitlement(
                conn,
                household_id=household.id,
                committee_id=committee_id,
                kind=kind,
                amount=amount,
                period=period,
                basis=basis,
                visit_minutes=minutes,
                starts=form.starts,
                valid_from=form.valid_from,
                valid_until=form.valid_until,
                created_by=who.account_id,
            ),
            "No such household",
        )
        await audit_log.record(
            conn, who, "respite.entitlement", "respite_entitlement", entitlement_id,
            detail={"kind": kind, "amount": amount, "period": period},
        )  # fmt: skip
        row = await respite_sql.entitlement(conn, entitlement_id, committee_id)
    assert row is not None
    return row


async def entitlements(conn: asyncpg.Connection, who: Identity) -> list[EntitlementRow]:
    """The committee's households' entitlements."""
    return await respite_sql.entitlements(conn, who.committee_id_or_refuse(_ONLY_COMMITTEES))


def spread(n: int, days: int) -> list[int]:
    """n day offsets spread evenly over `days` days (3 in a week: Monday, Wednesday, Friday)."""
    return sorted({(i * days) // n for i in range(min(n, days))})


def visit_days(e: EntitlementRow, first: dt.date, last: dt.date) -> list[dt.date]:
    """The dates of an entitlement's visits between two dates (inclusive), within its validity."""
    lo, hi = max(first, e.valid_from), min(last, e.valid_until)
    out: list[dt.date] = []
    if e.period == "week":
        monday = rosters.monday_of(lo)
        while monday <= hi:
            out += [monday + dt.timedelta(days=k) for k in spread(e.amount, 7)]
            monday += dt.timedelta(days=7)
    else:
        month = lo.replace(day=1)
        while month <= hi:
            length = calendar.monthrange(month.year, month.month)[1]
            out += [month + dt.timedelta(days=k) for k in spread(e.amount, length)]
            month = (month + dt.timedelta(days=32)).replace(day=1)
    return [d for d in out if lo <= d <= hi]


async def make_requests(
    conn: asyncpg.Connection, who: Identity, entitlement_id: int, form: RequestsCreate
) -> list[RequestRow]:
    """Turn an entitlement into visit requests for a period (again for the same period adds nothing)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    entitlement = found(await respite_sql.entitlement(conn, entitlement_id, committee_id), "No such entitlement")
    if form.period_until < form.period_from:
        raise Invalid("The period is not valid", fields={"period_until": "The end must not be before the start"})
    if (form.period_until - form.period_from).days > MAX_PERIOD_DAYS:
        raise Invalid("The period is too long", fields={"period_until": "Make requests for at most three months"})
    if form.period_until > today() + dt.timedelta(days=730):
        raise Invalid(
            "The period is too far ahead", fields={"period_until": "Make requests for the next two years only"}
        )
    now = dt.datetime.now(SHANGHAI)
    starts = [
        moment
        for d in visit_days(entitlement, max(form.period_from, today()), form.period_until)
        if (moment := dt.datetime.combine(d, entitlement.starts, tzinfo=SHANGHAI)) > now
    ]
    try:
        async with conn.transaction():
            made = await respite_sql.insert_requests(conn, entitlement_id, starts, who.account_id, form.carers_needed)
            await audit_log.record(
                conn, who, "respite.requests", "respite_entitlement", entitlement_id,
                detail={"made": len(made), "from": form.period_from.isoformat(),
                        "until": form.period_until.isoformat(), "carers_needed": form.carers_needed},
            )  # fmt: skip
    except asyncpg.ExclusionViolationError as exc:
        raise Conflict("Another visit of this household was requested at the same time; try again") from exc
    lo = dt.datetime.combine(form.period_from, dt.time(0), tzinfo=SHANGHAI)
    hi = dt.datetime.combine(form.period_until + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI)
    return [r for r in await respite_sql.requests(conn, committee_id, lo, hi) if r.entitlement_id == entitlement_id]


async def week_requests(conn: asyncpg.Connection, who: Identity, day: dt.date | None) -> list[RequestRow]:
    """The committee's visit requests of a week (this week when no day is given), with carers and proposals."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    day = day or today()
    if abs((day - today()).days) > 3660:
        raise Invalid("No such week", fields={"week": "Choose a week within ten years of today"})
    lo, hi = rosters.week_bounds(rosters.monday_of(day))
    return await respite_sql.requests(conn, committee_id, lo, hi)


async def cancel_request(conn: asyncpg.Connection, who: Identity, request_id: int) -> None:
    """Cancel a visit request waiting or on a carer's route, until its visit is checked in (409), in one transaction
    (audited): a routed one's visit leaves its carer's route and the carer is told. Another committee's request, or
    one scheduled as a shift or cancelled already, is a 404."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        cancelled = found(await respite_sql.cancel_request(conn, request_id, committee_id), NO_SUCH_REQUEST)
        released: list[respite_sql.ReleasedVisitRow] = []
        if cancelled.visit_day_id is not None:
            # Only this visit leaves the route (both carers' halves of a two-carer visit): the stops after it keep
            # their order and times, which stay feasible (the carer arrives earlier and waits). A sick call's re-plan
            # is a solver run over the whole day (a queued job of up to visits.TIME_LIMIT_S, "fewest changes" only
            # as its starting point), too much for one removal; the committee re-plans the day from its board when
            # it wants the gap closed.
            released = await respite_sql.release_request_visits(conn, request_id)
            if await respite_sql.request_checked_in(conn, request_id):
                # A check-in by either carer of a two-carer visit keeps the visit (and its other half) going.
                raise Conflict(CHECKED_IN)
        await audit_log.record(
            conn, who, "respite.request_cancel", "respite_request", request_id,
            detail={"household_id": cancelled.household_id, "visit_day_id": cancelled.visit_day_id,
                    "planned_visit_id": released[0].id if released else None,
                    "carer_id": released[0].carer_id if released else None,
                    **({"partner_visit_id": released[1].id, "partner_carer_id": released[1].carer_id}
                       if len(released) > 1 else {})},
        )  # fmt: skip
        for visit in released:
            await _tell_carer(conn, cancelled.household_id, visit)


async def set_carers_needed(
    conn: asyncpg.Connection, who: Identity, request_id: int, form: RequestChange
) -> RequestRow:
    """Mark a visit request waiting or on a route as needing one or two carers at once (audited), until its visit is
    checked in (409); a routed one takes it at its day's next plan. Another committee's request, or one scheduled as a
    shift or cancelled, is a 404."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        changed = await respite_sql.set_carers_needed(conn, request_id, committee_id, form.carers_needed)
        if changed is None:
            own = await respite_sql.request(conn, request_id, committee_id)
            if own is not None and own.visit_status == "checked_in":
                raise Conflict(CHANGE_CHECKED_IN)
            raise NotFound(NO_SUCH_REQUEST)
        await audit_log.record(
            conn, who, "respite.request_carers", "respite_request", request_id,
            detail={"household_id": changed.household_id, "visit_day_id": changed.visit_day_id,
                    "carers_needed": form.carers_needed},
        )  # fmt: skip
        row = await respite_sql.request(conn, request_id, committee_id)
    assert row is not None
    return row


async def _tell_carer(conn: asyncpg.Connection, household_id: int, visit: respite_sql.ReleasedVisitRow) -> None:
    """The carer whose route lost the visit is told which one (the household masked), as a re-plan tells them."""
    account_id = (await visits_sql.accounts_of(conn, [visit.volunteer_id])).get(visit.volunteer_id)
    shown = await household_access.masked_household(conn, household_id)
    if account_id is None or shown is None:
        return
    at = visit.starts_at.astimezone(SHANGHAI)
    await notifications.enqueue(
        conn, account_id=account_id, kind="visit_cancelled", dedupe_key=f"visit_cancelled:visit:{visit.id}",
        params={"day": at.date().isoformat(), "at": f"{at:%H:%M}",
                "household": f"{shown.committee_name} · {shown.masked_address}"},
    )  # fmt: skip


async def schedule(
    conn: asyncpg.Connection,
    queue: JobQueue,
    who: Identity,
    form: ScheduleWeek,
    *,
    certificate: str = DEFAULT_CERTIFICATE,
) -> Scheduled:
    """Schedule a week: pending visits become shifts serving the household, and a respite roster run proposes
    certified carers for them (the same carer as last week where possible). Again later, it re-plans the week. Days
    the committee plans as routes (api.services.respite_days) are left to their routes; a week with nothing else to
    schedule is refused (409)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    monday = rosters.check_week(form.week_starts)
    lo, hi = rosters.week_bounds(monday)
    async with conn.transaction():
        made = await respite_sql.schedule_week(
            conn,
            committee_id=committee_id,
            week_from=lo,
            week_until=hi,
            title=SHIFT_TITLE,
            place_name=SHIFT_PLACE,
            certificates=[certificate] if certificate and not certificate.startswith(SKILL) else [],
            skills=[certificate.removeprefix(SKILL)] if certificate.startswith(SKILL) else [],
            created_by=who.account_id,
        )
        if not made and await respite_sql.routed_between(conn, committee_id, lo, hi):
            raise Conflict("The respite visits of that week are planned as carers' routes, not as shifts")
        await audit_log.record(
            conn, who, "respite.schedule", "committee", committee_id,
            detail={"week": monday.isoformat(), "visits": len(made)},
        )  # fmt: skip
        roster = await rosters.ensure_roster(
            conn, who, organisation_id=None, committee_id=committee_id, monday=monday, kind="respite"
        )
        try:
            run = await rosters.plan(conn, roster, who, reason="respite")
        except Conflict:
            raise Conflict("No visit of that week is waiting for a carer") from None
    await runs.enqueue(queue, rosters.RUNS, run)
    return Scheduled(scheduled=len(made), run=run)
