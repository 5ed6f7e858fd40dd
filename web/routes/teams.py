"""311 team pages: an organisation's projects and runs, a team's page (members, visits, the month's minimum),
refusals and visit records, my teams, and a household's details for the volunteer serving it or its own committee."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, login_required, roles
from api.services import household_access, team_steering, teams, visit_notes
from api.services.accounts import Identity
from api.services.teams import RefusalCreate, VisitCreate
from api.services.types import SHANGHAI
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, read_local_times, redisplay

DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(started|refused|recorded)$")]


async def _team_page(
    conn: Conn,
    user: Identity,
    team_id: int,
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    view = await teams.team_view(conn, user, team_id)
    now_local = dt.datetime.now(SHANGHAI).replace(second=0, microsecond=0, tzinfo=None)
    return Template(
        template_name="teams/team.html",
        context={
            "who": user,
            "team": view,
            "done": done,
            "errors": errors or {},
            "values": values or {"at": now_local.isoformat(timespec="minutes"), "minutes": "60"},
            "contact_kinds": teams.CONTACT_KINDS,
            "now": dt.datetime.now(dt.UTC),
        },
        status_code=status,
    )


async def _run_page(
    conn: Conn, user: Identity, run_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> Template:
    run = await teams.get_run(conn, user, run_id)
    steering = await team_steering.steering(conn, user, run_id)
    return Template(
        template_name="teams/run.html",
        context={
            "who": user,
            "run": run,
            "result": run.result or {},
            "steering": steering,
            # pin id -> pin, for the conflicts the run lists.
            "pins_by_id": {p.id: p for p in steering.pins},
            # household id -> its masked form, to name the pins' households.
            "households": {t.household.id: t.household for t in steering.teams},
            "errors": errors or {},
        },
        status_code=status,
    )


class TeamPages(Controller):
    """311类家庭小组: projects and runs for organisations, team pages, my teams, household details."""

    include_in_schema = False

    @get("/teams", name="teams", guards=[login_required])
    async def index(self, conn: Conn, user: User) -> Response[Any]:
        """An organisation's 311 projects; a committee's teams serving its households; a volunteer's own teams."""
        if user.role == "volunteer":
            return PageRedirect("my_teams")
        if user.role == "committee":
            items = await teams.committee_teams(conn, user)
            return Template(template_name="teams/committee.html", context={"who": user, "items": items})
        projects = await teams.list_projects(conn, user)
        return Template(template_name="teams/projects.html", context={"who": user, "projects": projects})

    @get("/teams/projects/{contract_id:int}", name="team_project", guards=[roles("organisation")])
    async def project(self, conn: Conn, user: User, contract_id: FromPath[int], done: DoneQuery = None) -> Template:
        """A project's households (committee, masked address), their teams, and the teams run."""
        view = await teams.project_view(conn, user, contract_id)
        return Template(template_name="teams/project.html", context={"who": user, "view": view, "done": done})

    @post("/teams/projects/{contract_id:int}/run", name="team_project_run", guards=[roles("organisation")])
    async def start_run(self, conn: Conn, user: User, state: State, contract_id: FromPath[int]) -> PageRedirect:
        """Start (or find) the teams run of the project and show the project with its progress."""
        await teams.start_run(conn, state.redis, user, contract_id)
        return PageRedirect("team_project", contract_id=contract_id, query={"done": "started"})

    @get("/teams/runs/{run_id:int}", name="team_run", guards=[roles("organisation")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> Template:
        """A teams run: progress, what it covered, the pins it kept and could not keep, and each live team's
        members with a pin or unpin button; the button to re-plan around the pins."""
        return await _run_page(conn, user, run_id)

    @post("/teams/runs/{run_id:int}/pins", name="team_pin", guards=[roles("organisation")])
    async def pin(self, conn: Conn, user: User, run_id: FromPath[int], data: FormData) -> Response[Any]:
        """Pin a carer to their household's team: the next plans keep them."""
        return await submit(
            parse_form(team_steering.TeamPinCreate, multi(data)),
            lambda command: team_steering.pin(conn, user, run_id, command),
            lambda _: PageRedirect("team_run", run_id=run_id),
            lambda errors, status: _run_page(conn, user, run_id, errors, status),
            refusal="member_id",
        )

    @post("/teams/runs/{run_id:int}/pins/{pin_id:int}/delete", name="team_unpin", guards=[roles("organisation")])
    async def unpin(self, conn: Conn, user: User, run_id: FromPath[int], pin_id: FromPath[int]) -> Response[Any]:
        """Remove a pin."""
        await team_steering.unpin(conn, user, run_id, pin_id)
        return PageRedirect("team_run", run_id=run_id)

    @post("/teams/runs/{run_id:int}/replan", name="team_replan", guards=[roles("organisation")])
    async def replan(self, conn: Conn, user: User, state: State, run_id: FromPath[int]) -> PageRedirect:
        """Re-plan the project's teams around the pins, and show the new run."""
        run = await team_steering.replan(conn, state.redis, user, run_id)
        return PageRedirect("team_run", run_id=run.id)

    @get("/teams/mine", name="my_teams", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User) -> Template:
        """The teams I belong to, households masked; the next visit of each."""
        items = await teams.my_teams(conn, user)
        return Template(template_name="teams/mine.html", context={"who": user, "items": items})

    @get("/teams/{team_id:int}", name="team", guards=[login_required])
    async def team(self, conn: Conn, user: User, team_id: FromPath[int], done: DoneQuery = None) -> Template:
        """A team: members, visits done and planned, this month's minimum met or not."""
        return await _team_page(conn, user, team_id, done=done)

    @post("/teams/{team_id:int}/refuse", name="team_refuse", guards=[roles("organisation")])
    async def refuse(self, conn: Conn, user: User, team_id: FromPath[int], data: FormData) -> Response[Any]:
        """Record the household's refusal of a carer; the team is completed around the others."""
        return await submit(
            parse_form(RefusalCreate, multi(data), {}),
            lambda command: teams.refuse(conn, user, team_id, command),
            lambda _row: PageRedirect("team", team_id=team_id, query={"done": "refused"}),
            lambda errors, _status: _team_page(conn, user, team_id, errors=errors, status=422),
        )

    @post("/teams/{team_id:int}/visits", name="team_visit", guards=[roles("volunteer")])
    async def record_visit(self, conn: Conn, user: User, team_id: FromPath[int], data: FormData) -> Response[Any]:
        """A member records a visit or call; the form comes back with each field's error."""
        form = multi(data)
        extra: dict[str, Any] = {}
        errors: dict[str, str] = {}
        read_local_times(form, ("at",), extra, errors)
        command, parse_errors = parse_form(VisitCreate, form, extra)
        return await submit(
            (command, {**parse_errors, **errors}),
            lambda command: teams.record_visit(conn, user, team_id, command),
            lambda _row: PageRedirect("team", team_id=team_id, query={"done": "recorded"}),
            lambda errors, status: _team_page(
                conn, user, team_id, errors=errors, values=redisplay(form), status=status
            ),
            refusal="at",
            refusal_statuses=(409,),
        )

    @get("/households/{household_id:int}", name="household", guards=[login_required])
    async def household(
        self,
        state: State,
        conn: Conn,
        user: User,
        household_id: FromPath[int],
        saved: Annotated[str | None, QueryParameter(pattern=r"^1$")] = None,
    ) -> Template:
        """A household's exact address and care notes for the volunteer serving it now or its own committee (logged);
        the committee also sees who opened the file and when; all see its latest visit notes and incidents, staff its
        ratings (each read audited)."""
        view = await household_access.view_household(
            conn, user, household_id, daily_cap=int(state.settings.household_daily_cap)
        )
        openings = (
            await household_access.openings(conn, user, household_id, limit=50, offset=0)
            if view.basis == "committee"
            else []
        )
        record = await visit_notes.household_record(conn, user, household_id, limit=visit_notes.RECORD_LATEST)
        context = {"who": user, "view": view, "saved": bool(saved), "openings": openings, "record": record}
        return Template(template_name="teams/household.html", context=context)
