"""Response structs of a home-care contract's week of day plans: what planning the week started, and the week's
figures (households are not named here at all)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.schemas.runs import RunOut, run_out
from api.schemas.visits import VisitContractOut
from api.services.respite_days import RespiteWeekStarted
from api.services.visit_weeks import CarerWeek, DaySkipped, DayStarted, MyWeekDay, Week, WeekDay, WeekStarted


class VisitDayStartedOut(msgspec.Struct, frozen=True):
    """A day of the week whose plan was started: its run (the standing one when the inputs did not change)."""

    day: dt.date
    run: RunOut


class DaysStartedOut(msgspec.Struct, frozen=True):
    """What planning a week did: the days started, the days with nothing to plan and why, the days already past."""

    start: dt.date
    started: list[VisitDayStartedOut]
    skipped: list[DaySkipped]
    past: list[dt.date]


class VisitWeekStartedOut(DaysStartedOut, frozen=True):
    """What planning a contract's week did."""

    contract_id: int


class RespiteWeekStartedOut(DaysStartedOut, frozen=True):
    """What planning the committee's respite week did (a day scheduled as shifts is among those skipped)."""

    committee_id: int


class VisitWeekOut(msgspec.Struct, frozen=True):
    """A contract's week: each day's state and figures, each carer's stops and hours per day."""

    contract: VisitContractOut
    start: dt.date
    days: list[WeekDay]
    carers: list[CarerWeek]
    plannable: bool


def _days_started(started: list[DayStarted]) -> list[VisitDayStartedOut]:
    """The days started, their runs without seed and starter."""
    return [VisitDayStartedOut(day=s.day, run=run_out(s.run)) for s in started]


def week_started_out(started: WeekStarted) -> VisitWeekStartedOut:
    """What planning a week did, in its public shape (the runs without their seed and starter)."""
    return out(started, VisitWeekStartedOut, started=_days_started(started.started))


class RespiteWeekOut(msgspec.Struct, frozen=True):
    """A committee's respite week: each day's state and figures, each carer's stops and hours per day."""

    committee_id: int
    start: dt.date
    days: list[WeekDay]
    carers: list[CarerWeek]
    plannable: bool


def respite_week_started_out(started: RespiteWeekStarted) -> RespiteWeekStartedOut:
    """What planning the committee's respite week did, in its public shape (the runs without seed and starter)."""
    return out(started, RespiteWeekStartedOut, started=_days_started(started.started))


def week_out(week: Week) -> VisitWeekOut:
    """A contract's week in its public shape."""
    return out(week, VisitWeekOut, contract=out(week.contract, VisitContractOut))


class MyVisitWeekDayOut(MyWeekDay, frozen=True):
    """A day of the carer's week with stops: how many and when the first starts."""
