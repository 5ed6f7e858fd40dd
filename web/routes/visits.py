"""Home-visit pages: the organisation's roster of carers, the planner's board of a contract's day (each carer's route
as a timeline and on the map, the reasons per visit, the sick call), and the carer's phone page (their stops in
order, the address and a navigation link while they serve the household, check-in at each stop)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import carers, respite, respite_days, travel_times, visit_steering, visit_weeks, visits
from api.services.accounts import Identity
from api.services.carers import CarerCreate, CarerUpdate
from api.services.register_imports import Issue
from api.services.respite_days import RespiteBoard
from api.services.rosters import monday_of
from api.services.types import SHANGHAI
from api.services.visit_weeks import OTHER, DaySkipped, DaysStarted, PlanWeek, WeekFigures
from api.services.visits import AbsenceCreate, Board, CarerChoice, PlanDay
from web import maps
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay

DoneQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^(added|saved|started|sick|checked_in|joined|pinned|repinned|unpinned|week|travel|travel_removed|cancelled)$"
    ),
]
DayQuery = Annotated[dt.date | None, QueryParameter()]
# The days a week's plan skipped, and why, carried to the week page after the plan ('2026-12-08:no_carer,…').
SkippedQuery = Annotated[
    str | None, QueryParameter(pattern=r"^\d{4}-\d{2}-\d{2}:[a-z_]{1,20}(,\d{4}-\d{2}-\d{2}:[a-z_]{1,20}){0,6}$")
]
# Why a day of a week had nothing to plan, by the code the services give it (DaySkipped.code, carried in that address):
# the services' msgids, translated on the page.
SKIP_REASONS = {
    "no_carer": visits.NO_CARER_WORKS, "no_household": visits.NO_HOUSEHOLD_VISIT,
    "no_respite_carer": visits.NO_RESPITE_CARER, "no_request": respite_days.NO_REQUEST,
    "as_shifts": respite_days.AS_SHIFTS,
}  # fmt: skip
# A refusal without a code of its own (a rule added later) still names the day.
NOTHING_TO_PLAN = "Nothing to plan that day"
# The board's timeline runs over the working day, 07:00 to 19:00 Shanghai (longer when a route runs past it).
TIMELINE_FROM = dt.time(7, 0)
TIMELINE_TO = dt.time(19, 0)
ROUTE_COLOURS = 8
CARER_DEFAULTS = {"work_days": ["1", "2", "3", "4", "5"], "work_starts": "08:00", "work_ends": "17:00",
                  "travel_mode": "ebike", "active": "on"}  # fmt: skip


# The routes of a day's board, plan form, week page and week plan form, and their path parameters: a contract's, or
# the committee's respite days (no parameters: the committee is the caller's).
RESPITE_ROUTES: dict[str, Any] = {
    "board_route": "respite_visit_board", "plan_route": "respite_visit_plan", "week_route": "respite_visit_week",
    "plan_week_route": "respite_visit_plan_week", "route_params": {},
}  # fmt: skip


def _contract_routes(contract_id: int) -> dict[str, Any]:
    return {
        "board_route": "visit_board", "plan_route": "visit_plan", "week_route": "visit_week",
        "plan_week_route": "visit_plan_week", "route_params": {"contract_id": contract_id},
    }  # fmt: skip


def week_done(started: DaysStarted) -> dict[str, str]:
    """The week page's address after its plan started: the week, and the days skipped with their reason's code."""
    query = {"start": started.start.isoformat(), "done": "week"}
    if started.skipped:
        query["skipped"] = ",".join(f"{s.day.isoformat()}:{s.code}" for s in started.skipped)
    return query


def skipped_days(text: str | None, days: list[dt.date]) -> list[DaySkipped]:
    """The skipped days of that address that are days of the shown week, each with its code and that code's msgid
    (an unknown code: NOTHING_TO_PLAN)."""
    out = []
    for part in (text or "").split(","):
        day, _, code = part.partition(":")
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            continue
        if when in days:
            known = code in SKIP_REASONS
            out.append(DaySkipped(day=when, code=code if known else OTHER, why=SKIP_REASONS.get(code, NOTHING_TO_PLAN)))
    return out


def _tomorrow() -> dt.date:
    return visits.today() + dt.timedelta(days=1)


def timeline(board: Board) -> dict[str, Any]:
    """Each route as bars on one time axis: travel before each stop, the visit itself (late ones marked), in percent
    of the axis, and the hour ticks."""
    starts = [s.leave_at for r in board.routes for s in r.stops]
    ends = [s.ends_at for r in board.routes for s in r.stops]
    first = dt.datetime.combine(board.day, TIMELINE_FROM, tzinfo=SHANGHAI)
    last = dt.datetime.combine(board.day, TIMELINE_TO, tzinfo=SHANGHAI)
    first = min([first, *(s.replace(minute=0, second=0, microsecond=0) for s in starts)])
    last = max([last, *ends])
    span = (last - first).total_seconds()

    def pct(at: dt.datetime) -> float:
        return round(100 * (at - first).total_seconds() / span, 2)

    rows = []
    for k, route in enumerate(board.routes):
        bars = []
        for s in route.stops:
            leave = s.arrives_at - dt.timedelta(minutes=s.travel_minutes)
            if s.travel_minutes > 0:
                bars.append(
                    {
                        "kind": "travel",
                        "left": pct(leave),
                        "width": max(0.3, pct(s.arrives_at) - pct(leave)),
                        "stop": None,
                    }
                )
            bars.append(
                {"kind": "late" if s.late_minutes > 0 else "visit", "left": pct(s.starts_at),
                 "width": max(0.5, pct(s.ends_at) - pct(s.starts_at)), "stop": s}
            )  # fmt: skip
        rows.append({"route": route, "bars": bars, "colour": k % ROUTE_COLOURS})
    hour = first
    ticks = []
    # A label every hour over a working day, every two over a longer one (they must fit a phone's width).
    every = 1 if span <= 13 * 3600 else 2
    while hour <= last:
        local = hour.astimezone(SHANGHAI)
        ticks.append({"left": pct(hour), "label": local.strftime("%H:00") if local.hour % every == 0 else ""})
        hour += dt.timedelta(hours=1)
    return {"rows": rows, "ticks": ticks}


class PinChoice(msgspec.Struct, frozen=True):
    """A carer in a stop's pin form: why the next plan could not give them the visit (None: it could)."""

    carer: CarerChoice
    why: str | None


def pin_choices(board: Board) -> dict[int, list[PinChoice]]:
    """Each stop's carers for its pin form: those the next plan could give the visit to first, then the others
    with why (still choosable: the planner may know better, and the re-plan reports the pin if it cannot hold)."""
    out = {}
    for route in board.routes:
        for s in route.stops:
            why = {u.carer_id: u.why for u in s.unable_carers}
            choices = [PinChoice(carer=c, why=why.get(c.id)) for c in board.carers]
            out[s.id] = sorted(choices, key=lambda x: x.why is not None)
    return out


def _map_json(state: State, board: Board) -> str:
    """The board's map: each route as a line from the carer's base through their stops, the stops as markers."""
    markers = []
    routes = []
    for k, route in enumerate(board.routes):
        points = [[route.base_lat, route.base_lon]] + [[s.lat, s.lon] for s in route.stops]
        routes.append({"points": points, "colour": k % ROUTE_COLOURS, "label": route.carer_name})
        markers.append(maps.marker(route.base_lat, route.base_lon, route.carer_name, "place", None))
        for s in route.stops:
            at = s.starts_at.astimezone(SHANGHAI)
            label = f"{route.carer_name} · {s.seq} · {at:%H:%M} · {s.household.masked_address}"
            kind = "late" if s.late_minutes > 0 else f"route-{k % ROUTE_COLOURS}"
            markers.append(maps.marker(s.lat, s.lon, label, kind, None))
    document = maps.map_document(maps.tiles_of(state), [], markers)
    document["routes"] = routes
    return maps.to_json(document)


def _board_of(form: Mapping[str, str]) -> tuple[int, dt.date]:
    """The board a day's form came from (its contract and date), to go back to."""
    try:
        return int(form.get("contract_id", "0") or 0), dt.date.fromisoformat(form.get("day", ""))
    except ValueError:
        return 0, visits.today()


def _to_board(contract_id: int, day: dt.date, done: str) -> PageRedirect:
    """Back to the day's board, saying what was done."""
    return PageRedirect("visit_board", contract_id=contract_id, query={"day": day.isoformat(), "done": done})


def _back_to_board(
    conn: Conn, user: Identity, state: State, form: Mapping[str, str], done: str,
    values: Mapping[str, str] | None = None,
) -> tuple[PageRedirect, Callable[[dict[str, str], int], Awaitable[Template]]]:  # fmt: skip
    """Where a form of a day's board goes back to, saying what was done, and the board again with its errors (and
    the form's `values`): the contract's board, or the committee's respite board (which has no contract)."""
    contract_id, day = _board_of(form)
    if user.role == "committee":
        back = PageRedirect("respite_visit_board", query={"day": day.isoformat(), "done": done})
        return back, _respite_board_again(conn, user, state, day, values)
    return _to_board(contract_id, day, done), _board_again(conn, user, state, contract_id, day, values)


def _board_again(
    conn: Conn, user: Identity, state: State, contract_id: int, day: dt.date, values: Mapping[str, str] | None = None
) -> Callable[[dict[str, str], int], Awaitable[Template]]:
    """The day's board shown again with a form's errors (what `submit` calls on a refusal)."""
    return lambda errors, status: _board_page(
        conn, user, state, contract_id, day, errors=errors, status=status, values=values
    )


async def _board_page(
    conn: Conn, user: Identity, state: State, contract_id: int, day: dt.date, *, done: str | None = None,
    errors: dict[str, str] | None = None, status: int = 200, values: Mapping[str, str] | None = None,
) -> Template:  # fmt: skip
    board = await visits.board(conn, user, contract_id, day)
    return _board_template(
        user, state, board, _contract_routes(contract_id), day, done=done, errors=errors, status=status,
        values=values,
    )  # fmt: skip


def _board_template(
    user: Identity, state: State, board: Board, routes: dict[str, Any], day: dt.date, *, done: str | None,
    errors: dict[str, str] | None, status: int, respite_day: RespiteBoard | None = None,
    values: Mapping[str, str] | None = None,
) -> Template:  # fmt: skip
    """A day's board: a contract's, or a committee's respite day (then the day's requests by state);
    `routes` names the board's and the plan form's routes and their path parameters."""
    stops = [s for r in board.routes for s in r.stops if s.respite_request_id is not None]
    return Template(
        template_name="visit_plans/board.html",
        context={
            **routes,
            "requests": respite_day.requests if respite_day else None,
            "cancelled": respite_day.cancelled if respite_day else [],
            # The respite requests on the routes, and those whose visit is checked in (either half of a two-carer
            # visit): their stops offer no cancel, and a refused cancel of a request not on the board goes on top.
            "routed_requests": {s.respite_request_id for s in stops},
            "checked_in_requests": {s.respite_request_id for s in stops if s.status == "checked_in"},
            "who": user,
            "board": board,
            "timeline": timeline(board),
            "pin_choices": pin_choices(board),
            "map_json": _map_json(state, board),
            "tiles": maps.tiles_of(state),
            "done": done,
            "errors": errors or {},
            # The pin form that was refused (its visit_id, carer_id and start), to show again with its errors; or the
            # request whose cancel was refused (cancel_request_id).
            "values": values or {},
            "today": visits.today(),
            "week_start": monday_of(day),
        },
        status_code=status,
    )


async def _respite_board_page(
    conn: Conn, user: Identity, state: State, day: dt.date, *, done: str | None = None,
    errors: dict[str, str] | None = None, status: int = 200, values: Mapping[str, str] | None = None,
) -> Template:  # fmt: skip
    respite_day = await respite_days.board(conn, user, day)
    return _board_template(
        user, state, respite_day.board, RESPITE_ROUTES, day, done=done, errors=errors, status=status,
        respite_day=respite_day, values=values,
    )  # fmt: skip


def _respite_board_again(
    conn: Conn, user: Identity, state: State, day: dt.date, values: Mapping[str, str] | None = None
) -> Callable[[dict[str, str], int], Awaitable[Template]]:
    """The committee's respite board shown again with a form's errors (what `submit` calls on a refusal)."""
    return lambda errors, status: _respite_board_page(
        conn, user, state, day, errors=errors, status=status, values=values
    )


async def _carers_page(
    conn: Conn, user: Identity, *, done: str | None = None, errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None, status: int = 200, travel_issues: list[Issue] | None = None,
) -> Template:  # fmt: skip
    return Template(
        template_name="visit_plans/carers.html",
        context={
            "who": user,
            "carers": await carers.roster(conn, user),
            "done": done,
            "errors": errors or {},
            "values": values or CARER_DEFAULTS,
            "travel": (await travel_times.supplied(conn, user)).matrix,
            "travel_issues": travel_issues or [],
        },
        status_code=status,
    )


def _carer_values(row: Any) -> dict[str, Any]:
    return {
        "name": row.name, "lat": row.lat, "lon": row.lon, "work_days": [str(d) for d in row.work_days],
        "work_starts": row.work_starts.strftime("%H:%M"), "work_ends": row.work_ends.strftime("%H:%M"),
        "travel_mode": row.travel_mode, "active": "on" if row.active else "",
    }  # fmt: skip


async def _carer_page(
    conn: Conn, user: Identity, carer_id: int, *, errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None, status: int = 200,
) -> Template:  # fmt: skip
    row = await carers.get_carer(conn, user, carer_id)
    return Template(
        template_name="visit_plans/carer.html",
        context={"who": user, "carer": row, "errors": errors or {}, "values": values or _carer_values(row)},
        status_code=status,
    )


async def _my_day_page(
    conn: Conn, user: Identity, state: State, day: dt.date, *, done: str | None = None,
    errors: dict[str, str] | None = None, status: int = 200,
) -> Template:  # fmt: skip
    view = await visits.my_day(conn, user, day, daily_cap=int(state.settings.household_daily_cap))
    return Template(
        template_name="visit_plans/mine.html",
        context={"who": user, "view": view, "done": done, "errors": errors or {}, "today": visits.today(),
                 "next_day": day + dt.timedelta(days=1) if day < dt.date.max else None,
                 "week": await visit_weeks.my_week(conn, user, visits.today())},
        status_code=status,
    )  # fmt: skip


async def _week_page(
    conn: Conn, user: Identity, contract_id: int, start: dt.date, *, done: str | None = None,
    errors: dict[str, str] | None = None, status: int = 200, skipped: str | None = None,
) -> Template:  # fmt: skip
    week = await visit_weeks.week(conn, user, contract_id, start)
    return _week_template(user, week, _contract_routes(contract_id), week.contract.title, done, errors, status, skipped)


async def _respite_week_page(
    conn: Conn, user: Identity, start: dt.date, *, done: str | None = None, errors: dict[str, str] | None = None,
    status: int = 200, skipped: str | None = None,
) -> Template:  # fmt: skip
    week = await respite_days.week(conn, user, start)
    return _week_template(user, week, RESPITE_ROUTES, None, done, errors, status, skipped)


def _week_template(
    user: Identity, week: WeekFigures, routes: dict[str, Any], title: str | None, done: str | None,
    errors: dict[str, str] | None, status: int, skipped: str | None = None,
) -> Template:  # fmt: skip
    """A week page: a contract's (its title), or the committee's respite week (no title); `routes` as the board's."""
    planning = [d.run_id for d in week.days if d.state == "planning" and d.run_id is not None]
    return Template(
        template_name="visit_plans/week.html",
        context={
            **routes, "title": title,
            "who": user, "week": week, "done": done, "errors": errors or {}, "today": visits.today(),
            # What the week's plan just skipped, and why (from the address it came back to).
            "skipped": skipped_days(skipped, [d.day for d in week.days]) if done == "week" else [],
            # The page reloads when the last day still planning is done (the worker takes the days in order).
            "waiting_run": planning[-1] if planning else None,
            "previous": week.start - dt.timedelta(weeks=1), "next": week.start + dt.timedelta(weeks=1),
        },
        status_code=status,
    )  # fmt: skip


class VisitPages(Controller):
    """上门服务: carers, the planner's board, the carer's day."""

    include_in_schema = False

    @get("/carers", name="carers", guards=[roles("organisation", "committee")])
    async def carers(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """The organisation's roster of carers and the form to add one."""
        return await _carers_page(conn, user, done=done)

    @post("/carers", name="carer_add", guards=[roles("organisation", "committee")])
    async def add_carer(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Add a carer by their username; the form comes back with each field's error."""
        form = multi(data)
        return await submit(
            parse_form(CarerCreate, form, {}),
            lambda command: carers.add_carer(conn, user, command, certificate=state.settings.respite_certificate),
            lambda _row: PageRedirect("carers", query={"done": "added"}),
            lambda errors, status: _carers_page(
                conn, user, errors=errors, values=redisplay(form, ("work_days",)), status=status
            ),
            refusal="username",
            refusal_statuses=(409,),
        )

    @post(
        "/carers/travel-times", name="travel_times_upload", guards=[roles("organisation", "committee")],
        request_max_body_size=travel_times.MAX_BYTES + 64 * 1024,
    )  # fmt: skip
    async def upload_travel_times(
        self, conn: Conn, user: User, data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> Response[Any]:
        """Replace the measured travel times by the uploaded CSV; a wrong file comes back with every row's errors."""
        upload = data.get("file")
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        filename = upload.filename if isinstance(upload, UploadFile) else ""
        try:
            await travel_times.replace(conn, user, filename or "", content)
        except travel_times.Refused as refused:
            return await _carers_page(conn, user, travel_issues=refused.issues, status=refused.status)
        return PageRedirect("carers", query={"done": "travel"})

    @post(
        "/carers/travel-times/{matrix_id:int}/delete", name="travel_times_remove",
        guards=[roles("organisation", "committee")],
    )  # fmt: skip
    async def remove_travel_times(self, conn: Conn, user: User, matrix_id: FromPath[int]) -> PageRedirect:
        """Remove the measured travel times (after the page's confirmation): later plans estimate every trip."""
        await travel_times.remove(conn, user, matrix_id)
        return PageRedirect("carers", query={"done": "travel_removed"})

    @get("/carers/travel-points.csv", name="travel_points", guards=[roles("organisation", "committee")])
    async def travel_points(self, conn: Conn, user: User) -> Response[bytes]:
        """The points the travel times may name (carers' bases, households) with their coordinates, as CSV."""
        return Response(
            ("\ufeff" + await travel_times.points_csv(conn, user)).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="travel-points.csv"', "cache-control": "no-store"},
        )

    @get("/carers/{carer_id:int}", name="carer", guards=[roles("organisation", "committee")])
    async def carer(self, conn: Conn, user: User, carer_id: FromPath[int]) -> Template:
        """One carer: base, working days and hours, travel mode, abilities."""
        return await _carer_page(conn, user, carer_id)

    @post("/carers/{carer_id:int}", name="carer_update", guards=[roles("organisation", "committee")])
    async def update_carer(self, conn: Conn, user: User, carer_id: FromPath[int], data: FormData) -> Response[Any]:
        """Save a carer's changes."""
        form = multi(data)
        return await submit(
            parse_form(CarerUpdate, form, {}),
            lambda command: carers.update_carer(conn, user, carer_id, command),
            lambda _row: PageRedirect("carers", query={"done": "saved"}),
            lambda errors, status: _carer_page(
                conn, user, carer_id, errors=errors, values=redisplay(form, ("work_days",)), status=status
            ),
        )

    @get("/visit-plans", name="visit_plans", guards=[roles("organisation")])
    async def index(self, conn: Conn, user: User) -> Response[Any]:
        """An organisation's home-care and respite contracts to plan (a carer's visits are at /visits)."""
        items = await visits.contracts(conn, user)
        return Template(
            template_name="visit_plans/contracts.html",
            context={"who": user, "items": items, "tomorrow": _tomorrow(), "today": visits.today()},
        )

    @get("/visits/contracts/{contract_id:int}", name="visit_board", guards=[roles("organisation")])
    async def board(
        self, conn: Conn, user: User, state: State, contract_id: FromPath[int], day: DayQuery = None,
        done: DoneQuery = None,
    ) -> Template:  # fmt: skip
        """The planner's board of a day (tomorrow by default)."""
        return await _board_page(conn, user, state, contract_id, day or _tomorrow(), done=done)

    @post("/visits/contracts/{contract_id:int}/plan", name="visit_plan", guards=[roles("organisation")])
    async def plan(
        self, conn: Conn, user: User, state: State, contract_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Plan (or re-plan) the day and show the board with the run's progress."""
        form = multi(data)
        command, errors = parse_form(PlanDay, form, {})
        day = command.day if command else _tomorrow()
        return await submit(
            (command, errors),
            lambda c: visits.start_plan(conn, state.redis, user, contract_id, c, visits.speeds_of(state.settings)),
            lambda _run: _to_board(contract_id, day, "started"),
            _board_again(conn, user, state, contract_id, day),
            refusal="day",
            refusal_statuses=(409,),
        )

    @get("/visits/contracts/{contract_id:int}/week", name="visit_week", guards=[roles("organisation")])
    async def week(
        self, conn: Conn, user: User, contract_id: FromPath[int], start: DayQuery = None, done: DoneQuery = None,
        skipped: SkippedQuery = None,
    ) -> Template:  # fmt: skip
        """The contract's week (this week by default): each day's state and figures, the carers by day, and after
        its plan the days skipped and why."""
        return await _week_page(conn, user, contract_id, start or visits.today(), done=done, skipped=skipped)

    @post("/visits/contracts/{contract_id:int}/weeks", name="visit_plan_week", guards=[roles("organisation")])
    async def plan_week(
        self, conn: Conn, user: User, state: State, contract_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Plan every day of the week from today on, and show the week with the days' progress."""
        form = multi(data)
        command, errors = parse_form(PlanWeek, form, {})
        start = command.start if command else visits.today()
        return await submit(
            (command, errors),
            lambda c: visit_weeks.start_week(conn, state.redis, user, contract_id, c, visits.speeds_of(state.settings)),
            lambda started: PageRedirect("visit_week", contract_id=contract_id, query=week_done(started)),
            lambda errors, status: _week_page(conn, user, contract_id, start, errors=errors, status=status),
            refusal="start",
            refusal_statuses=(409,),
        )

    @post("/visits/days/{day_id:int}/sick", name="visit_sick", guards=[roles("organisation", "committee")])
    async def sick(self, conn: Conn, user: User, state: State, day_id: FromPath[int], data: FormData) -> Response[Any]:
        """A carer called in sick: off for the rest of the day, the day re-planned (a committee's: its respite day)."""
        form = multi(data)
        back_to, again = _back_to_board(conn, user, state, form, "sick")
        return await submit(
            parse_form(AbsenceCreate, form, {}),
            lambda c: visits.call_in_sick(conn, state.redis, user, day_id, c),
            lambda _run: back_to,
            again,
            refusal="carer_id",
            refusal_statuses=(409,),
        )

    @post("/visits/days/{day_id:int}/pins", name="visit_pin", guards=[roles("organisation", "committee")])
    async def pin(self, conn: Conn, user: User, state: State, day_id: FromPath[int], data: FormData) -> Response[Any]:
        """Pin a planned visit to its carer (or another of the day's carers, or a start): the next plans keep it."""
        form = multi(data)
        back_to, again = _back_to_board(conn, user, state, form, "pinned", values=form)
        # A pin to another carer or start takes effect when the day is re-planned: the board says so.
        later, _ = _back_to_board(conn, user, state, form, "repinned")
        return await submit(
            parse_form(visit_steering.VisitPinCreate, form, {}),
            lambda c: visit_steering.pin(conn, user, day_id, c),
            lambda pin: later if pin.starts_at is None or form.get("start") else back_to,
            again,
            refusal="pin",
        )

    @post(
        "/visits/days/{day_id:int}/pins/{pin_id:int}/delete",
        name="visit_unpin",
        guards=[roles("organisation", "committee")],
    )
    async def unpin(
        self, conn: Conn, user: User, state: State, day_id: FromPath[int], pin_id: FromPath[int], data: FormData
    ) -> Any:
        """Remove a pin."""
        back_to, _again = _back_to_board(conn, user, state, multi(data), "unpinned")
        await visit_steering.unpin(conn, user, day_id, pin_id)
        return back_to

    @post("/visits/days/{day_id:int}/replan", name="visit_replan", guards=[roles("organisation", "committee")])
    async def replan(
        self, conn: Conn, user: User, state: State, day_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Re-plan the day keeping its pins, and show the board with the run's progress."""
        back_to, again = _back_to_board(conn, user, state, multi(data), "started")
        return await submit(
            (day_id, {}),
            lambda d: visit_steering.replan(conn, state.redis, user, d),
            lambda _run: back_to,
            again,
            refusal="day",
            refusal_statuses=(409,),
        )

    @get("/visits/respite", name="respite_visit_board", guards=[roles("committee")])
    async def respite_board(
        self, conn: Conn, user: User, state: State, day: DayQuery = None, done: DoneQuery = None
    ) -> Template:
        """The committee's board of a respite day (tomorrow by default): its carers' routes."""
        return await _respite_board_page(conn, user, state, day or _tomorrow(), done=done)

    @post("/visits/respite/plan", name="respite_visit_plan", guards=[roles("committee")])
    async def respite_plan(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Plan (or re-plan) the committee's respite day as routes; refusals beside the day."""
        form = multi(data)
        command, errors = parse_form(PlanDay, form, {})
        day = command.day if command else _tomorrow()
        return await submit(
            (command, errors),
            lambda c: respite_days.start_plan(
                conn,
                state.redis,
                user,
                c,
                visits.speeds_of(state.settings),
                certificate=state.settings.respite_certificate,
            ),
            lambda _run: PageRedirect("respite_visit_board", query={"day": day.isoformat(), "done": "started"}),
            _respite_board_again(conn, user, state, day),
            refusal="day",
            refusal_statuses=(409,),
        )

    @post("/visits/respite/requests/{request_id:int}/cancel", name="respite_visit_cancel", guards=[roles("committee")])
    async def respite_cancel(
        self, conn: Conn, user: User, state: State, request_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """The family called: cancel a visit on a carer's route from its stop (as the respite schedule does) and show
        the day's board again, saying so; a visit checked in, or no such request, comes back beside its stop."""
        back_to, again = _back_to_board(
            conn, user, state, multi(data), "cancelled", values={"cancel_request_id": str(request_id)}
        )
        return await submit(
            (request_id, {}),
            lambda r: respite.cancel_request(conn, user, r),
            lambda _none: back_to,
            again,
            refusal="cancel",
            refusal_statuses=(404, 409),
        )

    @get("/visits/respite/week", name="respite_visit_week", guards=[roles("committee")])
    async def respite_week(
        self, conn: Conn, user: User, start: DayQuery = None, done: DoneQuery = None, skipped: SkippedQuery = None
    ) -> Template:
        """The committee's respite week (this week by default): each day's state and figures, the carers by day, and
        after its plan the days skipped and why."""
        return await _respite_week_page(conn, user, start or visits.today(), done=done, skipped=skipped)

    @post("/visits/respite/weeks", name="respite_visit_plan_week", guards=[roles("committee")])
    async def respite_plan_week(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Plan every respite day of the week from today on as routes, and show the week with the days' progress."""
        form = multi(data)
        command, errors = parse_form(PlanWeek, form, {})
        start = command.start if command else visits.today()
        return await submit(
            (command, errors),
            lambda c: respite_days.start_week(
                conn, state.redis, user, c, visits.speeds_of(state.settings),
                certificate=state.settings.respite_certificate,
            ),
            lambda started: PageRedirect("respite_visit_week", query=week_done(started)),
            lambda errors, status: _respite_week_page(conn, user, start, errors=errors, status=status),
            refusal="start",
            refusal_statuses=(409,),
        )  # fmt: skip

    @get("/visits/today", name="my_visit_day", guards=[roles("volunteer")])
    async def mine(
        self, conn: Conn, user: User, state: State, day: DayQuery = None, done: DoneQuery = None
    ) -> Template:
        """The carer's stops of the day in order: times, address and navigation while they serve it, check-in."""
        return await _my_day_page(conn, user, state, day or visits.today(), done=done)

    @post("/visits/stops/{visit_id:int}/check-in", name="visit_check_in", guards=[roles("volunteer")])
    async def check_in(
        self, conn: Conn, user: User, state: State, visit_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Check in at a stop; the day comes back with the refusal beside the stop if it cannot be done yet."""
        try:
            day = dt.date.fromisoformat(multi(data).get("day", ""))
        except ValueError:
            day = visits.today()
        return await submit(
            (visit_id, {}),
            lambda v: visits.check_in(conn, user, v),
            lambda _row: PageRedirect("my_visit_day", query={"done": "checked_in"}),
            lambda errors, status: _my_day_page(
                conn, user, state, day, errors={str(visit_id): next(iter(errors.values()), "")}, status=status
            ),
            refusal="visit",
            refusal_statuses=(404, 409),
        )

    @post("/carers/{carer_id:int}/join", name="carer_join", guards=[roles("volunteer")])
    async def join(self, conn: Conn, user: User, carer_id: FromPath[int]) -> PageRedirect:
        """Accept being on an organisation's roster of carers."""
        await carers.join(conn, user, carer_id)
        return PageRedirect("my_visit_day", query={"done": "joined"})
