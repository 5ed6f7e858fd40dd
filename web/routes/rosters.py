"""Pages of optimised rosters (排班), a volunteer's roster proposals (排班建议) and respite visits (喘息服务)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import respite, roster_steering, rosters, shifts
from api.services.accounts import Identity
from api.services.errors import Conflict, DomainError
from api.services.types import today
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay, run_page

DoneQuery = Annotated[
    str | None, QueryParameter(pattern=r"^(accepted|declined|recorded|requested|scheduled|cancelled|carers)$")
]
WeekQuery = Annotated[dt.date | None, QueryParameter()]


async def _rosters_page(
    conn: Conn, user: Identity, errors: dict[str, str], values: dict[str, Any], status: int = 200
) -> Template:
    context = {"who": user, "rosters": await rosters.list_rosters(conn, user), "errors": errors, "values": values}
    return Template(template_name="rosters/index.html", context=context, status_code=status)


async def _run_page(
    conn: Conn, user: Identity, run_id: int, errors: dict[str, str], values: dict[str, str], status: int = 200
) -> Template:
    view = await rosters.get_run(conn, user, run_id)
    steering = await roster_steering.steering(conn, user, run_id)
    page = run_page("rosters/run.html", user, view)
    page.context.update(
        steering=steering,
        # (volunteer, shift) -> pin id, for each proposal's pin or unpin button; pin id -> pin, for the conflicts.
        pinned={(p.volunteer_id, p.shift_id): p.id for p in steering.pins},
        pins_by_id={p.id: p for p in steering.pins},
        # This plan's places filled and Gini of hours beside those of the week's plan with another spread weight.
        spread_comparison=await rosters.compare_spread(conn, view),
        errors=errors,
        values=values or {"spread": str(steering.spread)},
    )
    page.status_code = status
    return page


async def _proposals_page(
    conn: Conn, user: Identity, *, refusal: DomainError | None = None, refused_id: int | None = None, done: str | None
) -> Template:
    context = {
        "who": user,
        "items": await rosters.my_proposals(conn, user),
        "refusal": refusal,
        "refused_id": refused_id,
        "done": done,
    }
    return Template(
        template_name="rosters/proposals.html", context=context, status_code=refusal.status if refusal else 200
    )


async def _answer(conn: Conn, user: Identity, proposal_id: int, step: Awaitable[Any], done: str) -> Response[Any]:
    """Accept or decline a proposal, then the list says so; or the list again with why the shift refused it (409)."""
    try:
        await step
    except Conflict as exc:
        return await _proposals_page(conn, user, refusal=exc, refused_id=proposal_id, done=None)
    return PageRedirect("my_roster_proposals", query={"done": done})


async def _respite_page(
    conn: Conn,
    user: Identity,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Template:
    context = {
        "who": user,
        "households": await respite.households(conn, user),
        "entitlements": await respite.entitlements(conn, user),
        "errors": errors or {},
        "values": values or {"kind": "care_level", "period": "week", "starts": "09:00"},
        "done": done,
        "today_date": today(),
        "this_week": rosters.monday_of(today()),
        "next_week": rosters.monday_of(today()) + dt.timedelta(days=7),
    }
    return Template(template_name="rosters/respite.html", context=context, status_code=status)


async def _schedule_page(
    conn: Conn, user: Identity, week: dt.date, *, errors: dict[str, str] | None = None, status: int = 200,
    done: str | None = None,
) -> Template:  # fmt: skip
    monday = rosters.monday_of(week)
    summaries = [s for s in await rosters.list_rosters(conn, user) if s.roster.kind == "respite"]
    latest = next((s.latest for s in summaries if s.roster.week_starts == monday), None)
    context = {
        "who": user,
        "monday": monday,
        "sunday": monday + dt.timedelta(days=6),
        "previous_week": monday - dt.timedelta(days=7),
        "following_week": monday + dt.timedelta(days=7),
        "requests": await respite.week_requests(conn, user, monday),
        "latest": latest,
        "errors": errors or {},
        "done": done,
    }
    return Template(template_name="rosters/schedule.html", context=context, status_code=status)


def _week_of(week: str) -> dt.date | None:
    """The week a schedule form came from (its Monday as given), or None when it is not a date."""
    try:
        return dt.date.fromisoformat(week) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", week) else None
    except ValueError:
        return None


def _schedule_again(done: str, week: dt.date | None) -> PageRedirect:
    """Back to the schedule of the week a form came from (this week's when it named none), saying what was done."""
    return PageRedirect("respite_schedule", query={"done": done, **({"week": week.isoformat()} if week else {})})


class RosterPages(Controller):
    """排班: publishers staff a week with the optimiser; volunteers accept or decline their proposals."""

    include_in_schema = False

    @get("/rosters", name="rosters", guards=[roles("organisation", "committee")])
    async def index(self, conn: Conn, user: User) -> Template:
        """Our roster weeks and the form to staff a week."""
        next_week = rosters.monday_of(today()) + dt.timedelta(days=7)
        return await _rosters_page(conn, user, {}, {"week_starts": next_week.isoformat(), "spread": "0"})

    @post("/rosters", name="roster_start", guards=[roles("organisation", "committee")])
    async def start(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Start the optimiser on a week and show its run, or the form again with the error beside the field."""
        form = multi(data)
        return await submit(
            parse_form(rosters.RosterStart, form),
            lambda command: rosters.start_run(conn, state.redis, user, command),
            lambda run: PageRedirect("roster_run", run_id=run.id),
            lambda errors, status: _rosters_page(conn, user, errors, redisplay(form), status),
            refusal="week_starts",
        )

    @get("/roster-runs/{run_id:int}", name="roster_run", guards=[roles("organisation", "committee")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> Template:
        """A run: live progress, then each proposal with its reasons and status, and what stayed unfilled; the
        pins and the spread weight to steer the next plan."""
        return await _run_page(conn, user, run_id, {}, {})

    @post("/roster-runs/{run_id:int}/pins", name="roster_pin", guards=[roles("organisation", "committee")])
    async def pin(self, conn: Conn, user: User, run_id: FromPath[int], data: FormData) -> Response[Any]:
        """Pin a proposal: the next plans keep it."""
        form = multi(data)
        return await submit(
            parse_form(roster_steering.PinCreate, form),
            lambda command: roster_steering.pin(conn, user, run_id, command),
            lambda _: PageRedirect("roster_run", run_id=run_id),
            lambda errors, status: _run_page(conn, user, run_id, errors, redisplay(form), status),
            refusal="proposal_id",
        )

    @post(
        "/roster-runs/{run_id:int}/pins/{pin_id:int}/delete",
        name="roster_unpin",
        guards=[roles("organisation", "committee")],
    )
    async def unpin(self, conn: Conn, user: User, run_id: FromPath[int], pin_id: FromPath[int]) -> Response[Any]:
        """Remove a pin."""
        await roster_steering.unpin(conn, user, run_id, pin_id)
        return PageRedirect("roster_run", run_id=run_id)

    @post("/roster-runs/{run_id:int}/replan", name="roster_replan", guards=[roles("organisation", "committee")])
    async def replan(
        self, conn: Conn, user: User, state: State, run_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Re-plan the week around the pins with the spread weight given, and show the new run."""
        form = multi(data)
        return await submit(
            parse_form(roster_steering.Replan, form),
            lambda command: roster_steering.replan(conn, state.redis, user, run_id, command),
            lambda run: PageRedirect("roster_run", run_id=run.id),
            lambda errors, status: _run_page(conn, user, run_id, errors, redisplay(form), status),
            refusal="spread",
        )

    @get("/shifts/{shift_id:int}/why-not-me", name="why_not_me", guards=[roles("volunteer")])
    async def why_not_me(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Template:
        """Why the roster plan did not propose this shift to me: the reason for me, never anyone else's data."""
        why = await roster_steering.why_not_me(conn, user, shift_id)
        view = await shifts.view_for_volunteer(conn, user, shift_id)
        context = {"who": user, "why": why, "shift": view.shift if view else None}
        return Template(template_name="rosters/why_not.html", context=context)

    @get("/proposals", name="my_roster_proposals", guards=[roles("volunteer")])
    async def proposals(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """My roster proposals with their reasons, and the buttons to accept or decline."""
        return await _proposals_page(conn, user, done=done)

    @post("/proposals/{proposal_id:int}/accept", name="roster_proposal_accept", guards=[roles("volunteer")])
    async def accept(self, conn: Conn, user: User, proposal_id: FromPath[int]) -> Response[Any]:
        """Take the proposed place, or show why the shift refused it."""
        return await _answer(conn, user, proposal_id, rosters.accept(conn, user, proposal_id), "accepted")

    @post("/proposals/{proposal_id:int}/decline", name="roster_proposal_decline", guards=[roles("volunteer")])
    async def decline(self, conn: Conn, user: User, state: State, proposal_id: FromPath[int]) -> Response[Any]:
        """Decline: someone else is found for that shift."""
        return await _answer(conn, user, proposal_id, rosters.decline(conn, state.redis, user, proposal_id), "declined")


class RespitePages(Controller):
    """喘息服务: a committee's entitlements, visit requests and the week's schedule."""

    include_in_schema = False

    @get("/respite", name="respite", guards=[roles("committee")])
    async def index(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """Entitlements of our households, the form to record one, and links to the schedule."""
        return await _respite_page(conn, user, done=done)

    @post("/respite/entitlements", name="respite_entitlement", guards=[roles("committee")])
    async def record(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Record an entitlement, or show the form again with each field's error."""
        form = multi(data)
        if form.get("kind") == "care_level":
            # The amount and the period come from the rule; what the boxes still hold does not count.
            form = multi({k: v for k, v in data.items() if k not in ("amount", "period")})
        extra: dict[str, Any] = {}
        if typed := re.fullmatch(r"(\d{1,2}):(\d{2})", form.get("starts", "").strip()):
            extra["starts"] = f"{int(typed[1]):02d}:{typed[2]}:00"  # a time box gives HH:MM
        rules = state.settings.respite_visits_by_care_level
        return await submit(
            parse_form(respite.EntitlementCreate, form, extra),
            lambda command: respite.record_entitlement(conn, user, command, rule=respite.parse_rule(rules)),
            lambda _row: PageRedirect("respite", query={"done": "recorded"}),
            lambda errors, status: _respite_page(
                conn, user, errors={"new": errors}, values=redisplay(form), status=status
            ),
        )

    @post("/respite/entitlements/{entitlement_id:int}/requests", name="respite_requests", guards=[roles("committee")])
    async def make_requests(
        self, conn: Conn, user: User, entitlement_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Turn an entitlement into visit requests for a period."""

        async def make(command: respite.RequestsCreate) -> dt.date:
            await respite.make_requests(conn, user, entitlement_id, command)
            return command.period_from

        return await submit(
            parse_form(respite.RequestsCreate, multi(data)),
            make,
            lambda week: PageRedirect("respite_schedule", query={"week": week.isoformat()}),
            lambda errors, status: _respite_page(conn, user, errors={str(entitlement_id): errors}, status=status),
        )

    @get("/respite/schedule", name="respite_schedule", guards=[roles("committee")])
    async def schedule(self, conn: Conn, user: User, week: WeekQuery = None, done: DoneQuery = None) -> Template:
        """A week's visit requests: scheduled, routed or waiting, who holds each visit and who is proposed."""
        day = week or today()
        if abs((day - today()).days) > 3660:
            day = today()  # a week the calendar cannot reach shows this week instead
        return await _schedule_page(conn, user, day, done=done)

    @post("/respite/requests/{request_id:int}/carers", name="respite_request_carers", guards=[roles("committee")])
    async def request_carers(self, conn: Conn, user: User, request_id: FromPath[int], data: FormData) -> Response[Any]:
        """Mark a visit as needing one or two carers at once, and show its week again (saying so); a visit checked
        in, or no such request, comes back beside its row."""
        form = multi(data)
        day = _week_of(form.get("week", ""))
        command, errors = parse_form(respite.RequestChange, form)
        return await submit(
            (command, {f"carers-{request_id}": e for e in errors.values()}),
            lambda command: respite.set_carers_needed(conn, user, request_id, command),
            lambda _row: _schedule_again("carers", day),
            lambda errors, status: _schedule_page(conn, user, day or today(), errors=errors, status=status),
            refusal=f"carers-{request_id}",
            refusal_statuses=(404, 409),
        )

    @post("/respite/requests/{request_id:int}/cancel", name="respite_request_cancel", guards=[roles("committee")])
    async def cancel_request(self, conn: Conn, user: User, request_id: FromPath[int], data: FormData) -> Response[Any]:
        """Cancel a visit waiting or on a carer's route, and show its week again (saying so); a visit checked in, or
        no such request, comes back beside its row."""
        day = _week_of(multi(data).get("week", ""))
        return await submit(
            (request_id, {}),
            lambda r: respite.cancel_request(conn, user, r),
            lambda _none: _schedule_again("cancelled", day),
            lambda errors, status: _schedule_page(conn, user, day or today(), errors=errors, status=status),
            refusal=f"request-{request_id}",
            refusal_statuses=(404, 409),
        )

    @post("/respite/schedule", name="respite_schedule_submit", guards=[roles("committee")])
    async def schedule_submit(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Schedule the week's pending visits and propose carers for them."""
        command, errors = parse_form(respite.ScheduleWeek, multi(data))
        week = command.week_starts if command is not None else today()
        return await submit(
            (command, errors),
            lambda command: respite.schedule(
                conn, state.redis, user, command, certificate=state.settings.respite_certificate
            ),
            lambda done: PageRedirect("roster_run", run_id=done.run.id),
            lambda errors, status: _schedule_page(conn, user, week, errors=errors, status=status),
            refusal="week_starts",
        )
