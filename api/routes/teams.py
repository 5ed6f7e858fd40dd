"""311 teams (311类家庭小组): projects, runs, teams, refusals, visits (households: api/routes/households.py)."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, login_required, roles
from api.schemas.common import out, outs
from api.schemas.runs import RunOut, run_out
from api.schemas.teams import (
    CommitteeTeamOut,
    MyTeamOut,
    ProjectDetailOut,
    ProjectOut,
    RefusalOut,
    TeamOut,
    TeamPinOut,
    VisitOut,
    project_detail_out,
    team_pin_out,
)
from api.services import team_steering, teams
from api.services.teams import RefusalCreate, VisitCreate


class TeamController(Controller):
    """311 projects of an organisation, their teams runs, teams, refusals and visits."""

    path = "/api/teams"
    tags = ("teams",)

    @get("/projects", operation_id="listTeamProjects", guards=[roles("organisation")])
    async def projects(self, conn: Conn, user: User) -> list[ProjectOut]:
        """The organisation's 311 projects (contracts covering 311 needs) with households and live teams."""
        return outs(await teams.list_projects(conn, user), ProjectOut)

    @get("/projects/{contract_id:int}", operation_id="getTeamProject", guards=[roles("organisation")])
    async def project(self, conn: Conn, user: User, contract_id: FromPath[int]) -> ProjectDetailOut:
        """A 311 project: its households (committee and masked address), their teams, the latest run."""
        return project_detail_out(await teams.project_view(conn, user, contract_id))

    @post(
        "/projects/{contract_id:int}/runs",
        operation_id="startTeamsRun",
        guards=[roles("organisation")],
        status_code=202,
    )
    async def start_run(self, conn: Conn, user: User, state: State, contract_id: FromPath[int]) -> RunOut:
        """Form or refresh the project's teams with the optimiser (the same inputs give the same run)."""
        return run_out(await teams.start_run(conn, state.redis, user, contract_id))

    @get("/runs/{run_id:int}", operation_id="getTeamsRun", guards=[roles("organisation")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> RunOut:
        """A teams run: status, progress, figures and summary."""
        return run_out(await teams.get_run(conn, user, run_id))

    @get("/runs/{run_id:int}/steering", operation_id="getTeamsSteering", guards=[roles("organisation")])
    async def steering(self, conn: Conn, user: User, run_id: FromPath[int]) -> team_steering.TeamSteeringView:
        """The run's project as its organisation steers it: live teams with their members, and the pins."""
        return await team_steering.steering(conn, user, run_id)

    @post("/runs/{run_id:int}/pins", operation_id="pinTeamCarer", guards=[roles("organisation")], status_code=201)
    async def pin(
        self, conn: Conn, user: User, run_id: FromPath[int], data: JSONBody[team_steering.TeamPinCreate]
    ) -> TeamPinOut:
        """Pin a live member to their household's team: every later plan keeps them, or says why not (audited)."""
        return team_pin_out(await team_steering.pin(conn, user, run_id, data))

    @delete("/runs/{run_id:int}/pins/{pin_id:int}", operation_id="unpinTeamCarer", guards=[roles("organisation")])
    async def unpin(self, conn: Conn, user: User, run_id: FromPath[int], pin_id: FromPath[int]) -> None:
        """Remove a pin (audited)."""
        await team_steering.unpin(conn, user, run_id, pin_id)

    @post("/runs/{run_id:int}/replan", operation_id="replanTeams", guards=[roles("organisation")], status_code=202)
    async def replan(self, conn: Conn, user: User, state: State, run_id: FromPath[int]) -> RunOut:
        """Re-plan the project's teams around the pins; the same inputs give the same run."""
        return run_out(await team_steering.replan(conn, state.redis, user, run_id))

    @get("/mine", operation_id="listMyTeams", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User) -> list[MyTeamOut]:
        """The teams the calling volunteer belongs to."""
        return outs(await teams.my_teams(conn, user), MyTeamOut)

    @get("/committee", operation_id="listCommitteeTeams", guards=[roles("committee")])
    async def committee(self, conn: Conn, user: User) -> list[CommitteeTeamOut]:
        """The 311 teams serving the committee's households (masked), with this month's figures."""
        return outs(await teams.committee_teams(conn, user), CommitteeTeamOut)

    @get("/{team_id:int}", operation_id="getTeam", guards=[login_required])
    async def team(self, conn: Conn, user: User, team_id: FromPath[int]) -> TeamOut:
        """A team: members, visits, and whether this month's minimum (4 hours, 2 contacts) is met."""
        return out(await teams.team_view(conn, user, team_id), TeamOut)

    @post("/{team_id:int}/refusals", operation_id="refuseTeamCarer", guards=[roles("organisation")], status_code=201)
    async def refuse(self, conn: Conn, user: User, team_id: FromPath[int], data: JSONBody[RefusalCreate]) -> RefusalOut:
        """Record that the household refuses a carer; that team alone is re-planned, keeping its other members."""
        return out(await teams.refuse(conn, user, team_id, data), RefusalOut)

    @post("/{team_id:int}/visits", operation_id="recordTeamVisit", guards=[roles("volunteer")], status_code=201)
    async def record_visit(
        self, conn: Conn, user: User, team_id: FromPath[int], data: JSONBody[VisitCreate]
    ) -> VisitOut:
        """A member records a contact: when (with offset), minutes, kind (home_visit, phone, video, outing)."""
        return out(await teams.record_visit(conn, user, team_id, data), VisitOut)
