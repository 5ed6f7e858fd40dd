"""Optimised rosters (排班), roster proposals and respite visits (喘息服务): thin controllers over the use cases."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.schemas.rosters import (
    DeclineOut,
    EntitlementOut,
    PinOut,
    ProposalOut,
    RespiteRequestOut,
    RosterOut,
    RosterRunViewOut,
    ScheduledOut,
    SteeringOut,
    decline_out,
    entitlements_out,
    pin_out,
    proposal_out,
    proposals_out,
    requests_out,
    roster_out,
    run_view_out,
    scheduled_out,
)
from api.schemas.runs import RunOut, RunProgressOut, progress_out, run_out
from api.services import respite, roster_steering, rosters


class RosterController(Controller):
    """An organisation or committee asks the optimiser to staff a week of its open shifts."""

    path = "/api/rosters"
    tags = ("rosters",)

    @get("/", operation_id="listRosters", guards=[roles("organisation", "committee")])
    async def list_rosters(self, conn: Conn, user: User) -> list[RosterOut]:
        """The caller's roster weeks, latest first, each with its newest run."""
        return [roster_out(r) for r in await rosters.list_rosters(conn, user)]

    @post("/runs", operation_id="startRosterRun", guards=[roles("organisation", "committee")], status_code=202)
    async def start(self, conn: Conn, user: User, state: State, data: JSONBody[rosters.RosterStart]) -> RunOut:
        """Staff a week (any day of it) of the caller's open shifts; the same inputs give the same run."""
        return run_out(await rosters.start_run(conn, state.redis, user, data))

    @get("/runs/{run_id:int}", operation_id="getRosterRun", guards=[roles("organisation", "committee")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> RosterRunViewOut:
        """A run, its result and the proposals it wrote with their reasons and statuses."""
        return run_view_out(await rosters.get_run(conn, user, run_id))

    @get(
        "/runs/{run_id:int}/progress", operation_id="getRosterRunProgress", guards=[roles("organisation", "committee")]
    )
    async def progress(self, conn: Conn, user: User, run_id: FromPath[int]) -> RunProgressOut:
        """A run's status, best value and bound so far (polled by the run page)."""
        return progress_out((await rosters.get_run(conn, user, run_id)).run)

    @get("/runs/{run_id:int}/steering", operation_id="getRosterSteering", guards=[roles("organisation", "committee")])
    async def steering(self, conn: Conn, user: User, run_id: FromPath[int]) -> SteeringOut:
        """The pins and the spread weight of the run's week."""
        view = await roster_steering.steering(conn, user, run_id)
        return SteeringOut(view.roster_id, view.spread, [pin_out(p) for p in view.pins])

    @post(
        "/runs/{run_id:int}/pins",
        operation_id="pinRosterProposal",
        guards=[roles("organisation", "committee")],
        status_code=201,
    )
    async def pin(
        self, conn: Conn, user: User, run_id: FromPath[int], data: JSONBody[roster_steering.PinCreate]
    ) -> PinOut:
        """Pin a proposal: every later plan of the week keeps it, or reports why it cannot (audited)."""
        return pin_out(await roster_steering.pin(conn, user, run_id, data))

    @delete(
        "/runs/{run_id:int}/pins/{pin_id:int}",
        operation_id="unpinRosterProposal",
        guards=[roles("organisation", "committee")],
    )
    async def unpin(self, conn: Conn, user: User, run_id: FromPath[int], pin_id: FromPath[int]) -> None:
        """Remove a pin (audited)."""
        await roster_steering.unpin(conn, user, run_id, pin_id)

    @post(
        "/runs/{run_id:int}/replan",
        operation_id="replanRoster",
        guards=[roles("organisation", "committee")],
        status_code=202,
    )
    async def replan(
        self, conn: Conn, user: User, state: State, run_id: FromPath[int], data: JSONBody[roster_steering.Replan]
    ) -> RunOut:
        """Re-plan the week around its pins with the spread weight given; the same inputs give the same run."""
        return run_out(await roster_steering.replan(conn, state.redis, user, run_id, data))


class RosterProposalController(Controller):
    """A volunteer's own roster proposals (排班建议): accept (takes the place) or decline (re-plans)."""

    path = "/api/roster-proposals"
    tags = ("rosters",)

    @get("/mine", operation_id="listMyRosterProposals", guards=[roles("volunteer")])
    async def mine(
        self, conn: Conn, user: User, include_past: Annotated[bool, QueryParameter()] = False
    ) -> list[ProposalOut]:
        """The calling volunteer's proposals with reasons, open ones first."""
        return proposals_out(await rosters.my_proposals(conn, user, include_past=include_past))

    @get("/{roster_proposal_id:int}", operation_id="getMyRosterProposal", guards=[roles("volunteer")])
    async def one(self, conn: Conn, user: User, roster_proposal_id: FromPath[int]) -> ProposalOut:
        """One of the calling volunteer's proposals (another's is not found)."""
        return proposal_out(await rosters.my_proposal(conn, user, roster_proposal_id))

    @get("/why-not/{shift_id:int}", operation_id="whyNotProposed", guards=[roles("volunteer")])
    async def why_not(self, conn: Conn, user: User, shift_id: FromPath[int]) -> roster_steering.WhyNot:
        """Why the newest plan did not propose this shift to the caller: not eligible because …, or outscored
        because … (never naming who was chosen)."""
        return await roster_steering.why_not_me(conn, user, shift_id)

    @post("/{roster_proposal_id:int}/accept", operation_id="acceptRosterProposal", guards=[roles("volunteer")])
    async def accept(self, conn: Conn, user: User, roster_proposal_id: FromPath[int]) -> ProposalOut:
        """Take the proposed place through the shift's pick-up; 409 with the reason (full, overlap, …) if refused."""
        return proposal_out(await rosters.accept(conn, user, roster_proposal_id))

    @post("/{roster_proposal_id:int}/decline", operation_id="declineRosterProposal", guards=[roles("volunteer")])
    async def decline(self, conn: Conn, user: User, state: State, roster_proposal_id: FromPath[int]) -> DeclineOut:
        """Decline: the caller is kept off that shift and the week is re-planned with the least change."""
        return decline_out(await rosters.decline(conn, state.redis, user, roster_proposal_id))


class RespiteController(Controller):
    """Respite care (喘息服务): a committee's entitlements, visit requests and their schedule."""

    path = "/api/respite"
    tags = ("respite",)

    @get("/entitlements", operation_id="listRespiteEntitlements", guards=[roles("committee")])
    async def entitlements(self, conn: Conn, user: User) -> list[EntitlementOut]:
        """The committee's households' entitlements."""
        return entitlements_out(await respite.entitlements(conn, user))

    @post("/entitlements", operation_id="recordRespiteEntitlement", guards=[roles("committee")], status_code=201)
    async def record(
        self, conn: Conn, user: User, state: State, data: JSONBody[respite.EntitlementCreate]
    ) -> EntitlementOut:
        """Record a household's entitlement: days or visits a week or month, or visits a week by care level."""
        rule = respite.parse_rule(state.settings.respite_visits_by_care_level)
        return entitlements_out([await respite.record_entitlement(conn, user, data, rule=rule)])[0]

    @post(
        "/entitlements/{entitlement_id:int}/requests",
        operation_id="makeRespiteRequests",
        guards=[roles("committee")],
        status_code=201,
    )
    async def make_requests(
        self, conn: Conn, user: User, entitlement_id: FromPath[int], data: JSONBody[respite.RequestsCreate]
    ) -> list[RespiteRequestOut]:
        """Turn an entitlement into visit requests for a period (repeating it adds nothing)."""
        return requests_out(await respite.make_requests(conn, user, entitlement_id, data))

    @get("/requests", operation_id="listRespiteRequests", guards=[roles("committee")])
    async def requests(
        self, conn: Conn, user: User, week: Annotated[dt.date | None, QueryParameter()] = None
    ) -> list[RespiteRequestOut]:
        """The visit requests of a week (this week by default), with carers and proposals."""
        return requests_out(await respite.week_requests(conn, user, week))

    @put("/requests/{request_id:int}", operation_id="updateRespiteRequest", guards=[roles("committee")])
    async def change(
        self, conn: Conn, user: User, request_id: FromPath[int], data: JSONBody[respite.RequestChange]
    ) -> RespiteRequestOut:
        """Mark a visit request waiting or on a route as needing one or two carers at once (a routed one takes it at
        its day's next plan); a visit already checked in is a 409, another committee's request a 404."""
        return requests_out([await respite.set_carers_needed(conn, user, request_id, data)])[0]

    @delete(
        "/requests/{request_id:int}", operation_id="cancelRespiteRequest", guards=[roles("committee")], status_code=204
    )
    async def cancel(self, conn: Conn, user: User, request_id: FromPath[int]) -> None:
        """Cancel a visit request waiting or on a carer's route (its visit leaves the route and the carer is told);
        a visit already checked in is a 409, another committee's request a 404."""
        await respite.cancel_request(conn, user, request_id)

    @post("/schedule", operation_id="scheduleRespiteWeek", guards=[roles("committee")], status_code=202)
    async def schedule(
        self, conn: Conn, user: User, state: State, data: JSONBody[respite.ScheduleWeek]
    ) -> ScheduledOut:
        """Schedule a week's pending visits as shifts and start the roster run proposing certified carers."""
        certificate = state.settings.respite_certificate
        return scheduled_out(await respite.schedule(conn, state.redis, user, data, certificate=certificate))
