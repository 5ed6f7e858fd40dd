"""Home visits: an organisation's roster of carers, its contracts' day plans (the planner's board, sick calls), and a
carer's own day with check-in at each stop."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.schemas.common import out, outs
from api.schemas.runs import RunOut, run_out
from api.schemas.visit_weeks import (
    MyVisitWeekDayOut,
    RespiteWeekOut,
    RespiteWeekStartedOut,
    VisitWeekOut,
    VisitWeekStartedOut,
    respite_week_started_out,
    week_out,
    week_started_out,
)
from api.schemas.visits import (
    BoardOut,
    CarerOut,
    CheckInOut,
    PhoneDayOut,
    RespiteBoardOut,
    VisitContractOut,
    VisitPinOut,
    board_out,
    phone_day_out,
    respite_board_out,
    visit_pin_out,
)
from api.services import carers, respite_days, visit_steering, visit_weeks, visits
from api.services.carers import CarerCreate, CarerUpdate
from api.services.visit_weeks import PlanWeek
from api.services.visits import AbsenceCreate, PlanDay


class CarerController(Controller):
    """The organisation's roster of carers; a volunteer joins a roster they were put on."""

    path = "/api/carers"
    tags = ("visits",)

    @get("/", operation_id="listCarers", guards=[roles("organisation", "committee")])
    async def list_carers(self, conn: Conn, user: User) -> list[CarerOut]:
        """The organisation's carers, active first, with their verified abilities."""
        return outs(await carers.roster(conn, user), CarerOut)

    @post("/", operation_id="addCarer", guards=[roles("organisation", "committee")], status_code=201)
    async def add(self, conn: Conn, user: User, state: State, data: JSONBody[CarerCreate]) -> CarerOut:
        """Put a volunteer (by username) on the roster with base, working days and hours, travel mode (a committee's
        respite carer must hold the verified certificate respite visits need)."""
        certificate = state.settings.respite_certificate
        return out(await carers.add_carer(conn, user, data, certificate=certificate), CarerOut)

    @get("/{carer_id:int}", operation_id="getCarer", guards=[roles("organisation", "committee")])
    async def get_carer(self, conn: Conn, user: User, carer_id: FromPath[int]) -> CarerOut:
        """One carer of the organisation."""
        return out(await carers.get_carer(conn, user, carer_id), CarerOut)

    @put("/{carer_id:int}", operation_id="updateCarer", guards=[roles("organisation", "committee")])
    async def update(self, conn: Conn, user: User, carer_id: FromPath[int], data: JSONBody[CarerUpdate]) -> CarerOut:
        """Change a carer's name, base, working days and hours, travel mode or whether they are active."""
        return out(await carers.update_carer(conn, user, carer_id, data), CarerOut)

    @post("/{carer_id:int}/join", operation_id="joinCarers", guards=[roles("volunteer")], status_code=204)
    async def join(self, conn: Conn, user: User, carer_id: FromPath[int]) -> None:
        """The calling volunteer accepts being on the organisation's roster of carers."""
        await carers.join(conn, user, carer_id)


class VisitController(Controller):
    """Day plans of home-care and respite contracts, and the carer's own day."""

    path = "/api/visits"
    tags = ("visits",)

    @get("/contracts", operation_id="listVisitContracts", guards=[roles("organisation")])
    async def contracts(self, conn: Conn, user: User) -> list[VisitContractOut]:
        """The organisation's live home-care and respite contracts."""
        return outs(await visits.contracts(conn, user), VisitContractOut)

    @post(
        "/contracts/{contract_id:int}/plans", operation_id="planVisitDay", guards=[roles("organisation")],
        status_code=202,
    )  # fmt: skip
    async def plan(
        self, conn: Conn, user: User, state: State, contract_id: FromPath[int], data: JSONBody[PlanDay]
    ) -> RunOut:
        """Plan (or re-plan) a day of the contract's visits with the optimiser (the same inputs give the same run)."""
        speeds = visits.speeds_of(state.settings)
        return run_out(await visits.start_plan(conn, state.redis, user, contract_id, data, speeds))

    @post(
        "/contracts/{contract_id:int}/weeks", operation_id="planVisitWeek", guards=[roles("organisation")],
        status_code=202,
    )  # fmt: skip
    async def plan_week(
        self, conn: Conn, user: User, state: State, contract_id: FromPath[int], data: JSONBody[PlanWeek]
    ) -> VisitWeekStartedOut:
        """Plan every day of a week (by its Monday) from today on: each day its own run, all started or none; days
        with nothing to plan are reported, days past skipped."""
        speeds = visits.speeds_of(state.settings)
        return week_started_out(await visit_weeks.start_week(conn, state.redis, user, contract_id, data, speeds))

    @get("/contracts/{contract_id:int}/weeks/{start:date}", operation_id="getVisitWeek", guards=[roles("organisation")])
    async def week(self, conn: Conn, user: User, contract_id: FromPath[int], start: FromPath[dt.date]) -> VisitWeekOut:
        """The week of a day: each day's state and figures, each carer's stops and hours per day."""
        return week_out(await visit_weeks.week(conn, user, contract_id, start))

    @get("/contracts/{contract_id:int}/days/{day:date}", operation_id="getVisitBoard", guards=[roles("organisation")])
    async def board(self, conn: Conn, user: User, contract_id: FromPath[int], day: FromPath[dt.date]) -> BoardOut:
        """The planner's board: each carer's stops with times, travel and lateness (households masked)."""
        return board_out(await visits.board(conn, user, contract_id, day))

    @get("/runs/{run_id:int}", operation_id="getVisitsRun", guards=[roles("organisation", "committee")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> RunOut:
        """A visits run: status, progress, figures and summary."""
        return run_out(await visits.get_run(conn, user, run_id))

    @post("/respite/plans", operation_id="planRespiteDay", guards=[roles("committee")], status_code=202)
    async def plan_respite(self, conn: Conn, user: User, state: State, data: JSONBody[PlanDay]) -> RunOut:
        """The committee plans (or re-plans) a day of its respite requests as its carers' routes (409 when the
        day's requests are scheduled as shifts)."""
        speeds = visits.speeds_of(state.settings)
        certificate = state.settings.respite_certificate
        return run_out(await respite_days.start_plan(conn, state.redis, user, data, speeds, certificate=certificate))

    @post("/respite/weeks", operation_id="planRespiteWeek", guards=[roles("committee")], status_code=202)
    async def plan_respite_week(
        self, conn: Conn, user: User, state: State, data: JSONBody[PlanWeek]
    ) -> RespiteWeekStartedOut:
        """The committee plans every respite day of a week (by its Monday) from today on as routes: each day its own
        run, all started or none; days with no request or scheduled as shifts are reported, days past skipped."""
        speeds = visits.speeds_of(state.settings)
        certificate = state.settings.respite_certificate
        started = await respite_days.start_week(conn, state.redis, user, data, speeds, certificate=certificate)
        return respite_week_started_out(started)

    @get("/respite/weeks/{start:date}", operation_id="getRespiteWeek", guards=[roles("committee")])
    async def respite_week(self, conn: Conn, user: User, start: FromPath[dt.date]) -> RespiteWeekOut:
        """The committee's respite week of a day: each day's state and figures, each carer's stops and hours."""
        return out(await respite_days.week(conn, user, start), RespiteWeekOut)

    @get("/respite/days/{day:date}", operation_id="getRespiteBoard", guards=[roles("committee")])
    async def respite_board(self, conn: Conn, user: User, day: FromPath[dt.date]) -> RespiteBoardOut:
        """The committee's board of a respite day: each carer's stops (households masked), the requests by state."""
        return respite_board_out(await respite_days.board(conn, user, day))

    @post(
        "/days/{day_id:int}/absences", operation_id="callInSick", guards=[roles("organisation", "committee")],
        status_code=202,
    )  # fmt: skip
    async def absence(
        self, conn: Conn, user: User, state: State, day_id: FromPath[int], data: JSONBody[AbsenceCreate]
    ) -> RunOut:
        """A carer is off for the rest of the day: the day is re-planned, checked-in visits kept (a contract's day,
        or a committee's own respite day and carer)."""
        return run_out(await visits.call_in_sick(conn, state.redis, user, day_id, data))

    @get("/days/{day_id:int}/pins", operation_id="listVisitPins", guards=[roles("organisation", "committee")])
    async def pins(self, conn: Conn, user: User, day_id: FromPath[int]) -> list[VisitPinOut]:
        """The day's visits pinned to their carers."""
        return [visit_pin_out(p) for p in await visit_steering.pins(conn, user, day_id)]

    @post(
        "/days/{day_id:int}/pins", operation_id="pinVisit", guards=[roles("organisation", "committee")], status_code=201
    )
    async def pin(
        self, conn: Conn, user: User, day_id: FromPath[int], data: JSONBody[visit_steering.VisitPinCreate]
    ) -> VisitPinOut:
        """Pin a planned visit to its carer: every later plan of the day keeps it, or says why not (audited)."""
        return visit_pin_out(await visit_steering.pin(conn, user, day_id, data))

    @delete(
        "/days/{day_id:int}/pins/{pin_id:int}", operation_id="unpinVisit", guards=[roles("organisation", "committee")]
    )
    async def unpin(self, conn: Conn, user: User, day_id: FromPath[int], pin_id: FromPath[int]) -> None:
        """Remove a pin (audited)."""
        await visit_steering.unpin(conn, user, day_id, pin_id)

    @post(
        "/days/{day_id:int}/replan",
        operation_id="replanVisitDay",
        guards=[roles("organisation", "committee")],
        status_code=202,
    )
    async def replan(self, conn: Conn, user: User, state: State, day_id: FromPath[int]) -> RunOut:
        """Re-plan the day keeping its pins; the same inputs give the same run."""
        return run_out(await visit_steering.replan(conn, state.redis, user, day_id))

    @get("/day", operation_id="getMyVisitDay", guards=[roles("volunteer")])
    async def mine(
        self, conn: Conn, user: User, state: State, day: Annotated[dt.date | None, QueryParameter()] = None
    ) -> PhoneDayOut:
        """The calling carer's stops of a day (today by default), in order; each address opening is logged."""
        cap = int(state.settings.household_daily_cap)
        return phone_day_out(await visits.my_day(conn, user, day or visits.today(), daily_cap=cap))

    @get("/week", operation_id="getMyVisitWeek", guards=[roles("volunteer")])
    async def my_week(
        self, conn: Conn, user: User, day: Annotated[dt.date | None, QueryParameter()] = None
    ) -> list[MyVisitWeekDayOut]:
        """The calling carer's days with stops in the week of a day (this week by default)."""
        return outs(await visit_weeks.my_week(conn, user, day or visits.today()), MyVisitWeekDayOut)

    @post("/{visit_id:int}/check-in", operation_id="checkInVisit", guards=[roles("volunteer")], status_code=200)
    async def check_in(self, conn: Conn, user: User, visit_id: FromPath[int]) -> CheckInOut:
        """Check in at one of the carer's stops of today (from two hours before it starts)."""
        return out(await visits.check_in(conn, user, visit_id), CheckInOut)
