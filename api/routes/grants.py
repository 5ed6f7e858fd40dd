"""Portfolio runs of foundation calls: proposal scores, runs, and the grants they propose with reasons."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, roles
from api.schemas.common import outs
from api.schemas.grants import (
    PortfolioRunViewOut,
    ScoredProposalOut,
    portfolio_run_view_out,
)
from api.schemas.runs import RunOut, RunProgressOut, progress_out, run_out
from api.services import grants


class GrantController(Controller):
    """Portfolio runs (公益创投资助): the foundation scores opened proposals and runs matching.portfolio."""

    path = "/api/grants"
    tags = ("grants",)

    @get("/calls/{call_id:int}/proposals", operation_id="listScoredProposals", guards=[roles("funder")])
    async def proposals(self, conn: Conn, user: User, call_id: FromPath[int]) -> list[ScoredProposalOut]:
        """A call's opened proposals with the foundation's scores (409 before the deadline)."""
        _, rows = await grants.call_proposals(conn, user, call_id)
        return outs(rows, ScoredProposalOut)

    @put("/proposals/{public_id:uuid}/score", operation_id="scoreProposal", guards=[roles("funder")])
    async def score(
        self, conn: Conn, user: User, public_id: FromPath[uuid.UUID], data: JSONBody[grants.ProposalScore]
    ) -> list[ScoredProposalOut]:
        """The foundation scores an opened proposal of its call (0-100)."""
        return outs(await grants.score_proposal(conn, user, public_id, data), ScoredProposalOut)

    @post("/calls/{call_id:int}/runs", operation_id="startPortfolioRun", guards=[roles("funder")], status_code=202)
    async def start(self, conn: Conn, user: User, state: State, call_id: FromPath[int]) -> RunOut:
        """Start (or find, when the inputs are unchanged) the portfolio run of a call."""
        return run_out(await grants.start_run(conn, state.redis, user, call_id))

    @get("/calls/{call_id:int}/runs", operation_id="listPortfolioRuns", guards=[roles("funder")])
    async def runs(self, conn: Conn, user: User, call_id: FromPath[int]) -> list[RunOut]:
        """A call's portfolio runs, newest first."""
        return [run_out(r) for r in await grants.list_runs(conn, user, call_id)]

    @get("/runs/{run_id:int}", operation_id="getPortfolioRun", guards=[roles("funder")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> PortfolioRunViewOut:
        """A run, its result with reasons for funded and left-out proposals, and the grants it wrote."""
        return portfolio_run_view_out(await grants.get_run(conn, user, run_id))

    @get("/runs/{run_id:int}/progress", operation_id="getPortfolioRunProgress", guards=[roles("funder")])
    async def progress(self, conn: Conn, user: User, run_id: FromPath[int]) -> RunProgressOut:
        """A run's status, best score and bound so far (polled by the run page)."""
        return progress_out((await grants.get_run(conn, user, run_id)).run)
