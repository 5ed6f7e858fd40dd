"""A committee plans a day of its respite visits (喘息服务) as its carers' routes (issue 14, step 3).

The committee's carers are its respite roster (api.services.carers: volunteers holding the verified certificate respite
asks for, who accepted on their phone). A day's respite requests become the visits of a `matching.visits` problem,
planned through the same pipeline as a contract's day (api.services.visits: match_runs model 'visits', subject the
committee's visit day): each request a visit of its household, as long as asked, starting from
visits.RESPITE_EARLY minutes before the start the committee told the family to visits.RESPITE_LATE minutes after
it. Planning the day routes its pending requests (status 'routed', linked to the day), so the week's shift
scheduling leaves them alone; a day with requests already scheduled as shifts is refused (409), and so is a week to
schedule as shifts whose requests are all routed. The committee plans a week of such days in one action as an
organisation plans its contract's (api.services.visit_weeks.start_days), each day by this day's rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec

from api.services import audit_log, household_access, respite, runs, visit_weeks, visits
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid
from api.services.household_access import MaskedHousehold
from api.services.runs import JobQueue
from api.services.visit_weeks import PlanWeek, RespiteWeek
from api.services.visits import Board, PlanDay, TravelSpeeds
from sql import respite as respite_sql
from sql import visits as visits_sql
from sql.match_runs import RunRow
from sql.respite import RequestStates

ONLY_COMMITTEES = "Only a residents' committee plans its respite visits as routes"
NEEDS_A_CERTIFICATE = "Respite routes need a certificate: the respite requirement names a skill"
AS_SHIFTS = "Respite visits of that day are already scheduled as shifts; a day is planned as shifts or as routes"
NO_REQUEST = "No respite visit is requested that day"


def route_certificate(certificate: str) -> str:
    """The certificate a committee's respite carers must hold (LINLI_RESPITE_CERTIFICATE); a skill requirement
    cannot be planned as routes (a carer's abilities are verified certificates), refused as a conflict."""
    if certificate.startswith(respite.SKILL):
        raise Conflict(NEEDS_A_CERTIFICATE)
    return certificate


class CancelledVisit(msgspec.Struct, frozen=True):
    """A request routed on the day and cancelled since (the family called), its household masked, with the carer and
    time its last plan gave it (none if it was never planned)."""

    request_id: int
    household: MaskedHousehold
    starts_at: dt.datetime
    minutes: int
    carer_name: str | None
    planned_at: dt.datetime | None
    # The other carer of a two-carer visit.
    partner_name: str | None = None


class RespiteBoard(msgspec.Struct, frozen=True):
    """The committee's board of a day: the carers' routes, how many of the day's requests wait, are scheduled as
    shifts or are routed, and the routed ones cancelled since (shown as cancelled, not silently gone)."""

    board: Board
    requests: RequestStates
    cancelled: list[CancelledVisit] = []


def plan_subject(
    who: Identity, form: PlanDay, speeds: TravelSpeeds, certificate: str
) -> Callable[[asyncpg.Connection], Awaitable[int]]:
    """The rule for a committee's respite day (the pipeline's subject hook): a day not past, no request of it
    scheduled as a shift, at least one to plan; its pending requests are routed on the day (audited)."""

    async def day_id(conn: asyncpg.Connection) -> int:
        committee_id = who.committee_id_or_refuse(ONLY_COMMITTEES)
        needed = route_certificate(certificate)
        if form.day < visits.today():
            raise Invalid("The day is not valid", fields={"day": "A past day cannot be planned"})
        states = await respite_sql.day_request_states(conn, committee_id, form.day)
        if states.scheduled:
            raise visits.NothingToPlan(AS_SHIFTS, code="as_shifts")
        if not states.pending and not states.routed:
            raise visits.NothingToPlan(NO_REQUEST, code="no_request")
        day_id = await respite_sql.upsert_committee_day(
            conn, committee_id, form.day, speeds.detour_factor, speeds.ebike_kmh, speeds.walk_kmh,
            speeds.continuity_weight, needed,
        )  # fmt: skip
        routed = await respite_sql.route_requests(conn, committee_id, form.day, day_id)
        if routed:
            await audit_log.record(
                conn, who, "respite.route", "visit_day", day_id,
                detail={"day": form.day.isoformat(), "requests": routed},
            )  # fmt: skip
        return day_id

    return day_id


async def start_plan(
    conn: asyncpg.Connection, queue: JobQueue, who: Identity, form: PlanDay, speeds: TravelSpeeds,
    *, certificate: str = respite.DEFAULT_CERTIFICATE,
) -> RunRow:  # fmt: skip
    """The committee plans (or re-plans) a day of its respite visits as routes, its carers holding `certificate` (the
    day keeps the one it was first planned with); the same inputs give the same run."""
    return await runs.start(conn, queue, visits.RUNS, who.account_id, plan_subject(who, form, speeds, certificate))


class RespiteWeekStarted(visit_weeks.DaysStarted, frozen=True):
    """What planning the committee's respite week did (a day scheduled as shifts is among those skipped)."""

    committee_id: int


async def start_week(
    conn: asyncpg.Connection, queue: JobQueue, who: Identity, form: PlanWeek, speeds: TravelSpeeds,
    *, certificate: str = respite.DEFAULT_CERTIFICATE,
) -> RespiteWeekStarted:  # fmt: skip
    """The committee plans every respite day of a week from today on as routes in one transaction (all the days'
    runs or none), each day by the day's rule (its pending requests routed; a day with none, or scheduled as shifts,
    reported); audited once as `respite_week.plan` on the committee."""
    committee_id = who.committee_id_or_refuse(ONLY_COMMITTEES)

    async def owner() -> int:
        # A skill requirement refuses the whole week, not each day.
        route_certificate(certificate)
        return committee_id

    started, skipped, past = await visit_weeks.start_days(
        conn, queue, who, form.start, owner=owner, action="respite_week.plan", object_type="committee",
        subject_of=lambda day: plan_subject(who, PlanDay(day=day), speeds, certificate),
    )  # fmt: skip
    return RespiteWeekStarted(committee_id=committee_id, start=form.start, started=started, skipped=skipped, past=past)


async def week(conn: asyncpg.Connection, who: Identity, start: dt.date) -> RespiteWeek:
    """The committee's own respite week from the Monday of `start`: each day's state and figures, each carer's stops
    and hours per day."""
    return await visit_weeks.respite_week(conn, who.committee_id_or_refuse(ONLY_COMMITTEES), start)


async def board(conn: asyncpg.Connection, who: Identity, day: dt.date) -> RespiteBoard:
    """The committee's board of a respite day: each carer's stops with times, travel, lateness and continuity."""
    committee_id = who.committee_id_or_refuse(ONLY_COMMITTEES)
    row = await visits_sql.committee_day(conn, committee_id, day)
    everyone = await visits_sql.day_carers(conn, None, day, row.id if row else 0, committee_id)
    cancelled = []
    for c in await respite_sql.cancelled_on_day(conn, row.id) if row else []:
        household = await household_access.masked_household(conn, c.household_id)
        if household is not None:
            cancelled.append(
                CancelledVisit(request_id=c.request_id, household=household, starts_at=c.starts_at, minutes=c.minutes,
                               carer_name=c.carer_name, planned_at=c.planned_at,
                               partner_name=c.partner_name)
            )  # fmt: skip
    return RespiteBoard(
        board=await visits.day_board(conn, row, everyone, day, committee_id=committee_id),
        requests=await respite_sql.day_request_states(conn, committee_id, day),
        cancelled=cancelled,
    )
