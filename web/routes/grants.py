"""Pages of portfolio runs (公益创投资助): the foundation scores opened proposals, starts a run, reads the result."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import grants
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, run_page


async def _scores_page(conn: Any, user: Any, call_id: int, errors: dict[str, Any], status: int = 200) -> Template:
    call, proposals = await grants.call_proposals(conn, user, call_id)
    context = {
        "who": user,
        "call": call,
        "proposals": proposals,
        "runs": await grants.list_runs(conn, user, call_id),
        "errors": errors,
    }
    return Template(template_name="grants/scores.html", context=context, status_code=status)


class GrantPages(Controller):
    """公益创投资助: proposal scores, portfolio runs and their results with reasons."""

    include_in_schema = False

    @get("/calls/{call_id:int}/portfolio", name="call_portfolio", guards=[roles("funder")])
    async def scores(self, conn: Conn, user: User, call_id: FromPath[int]) -> Template:
        """The call's opened proposals with score forms, and its portfolio runs."""
        return await _scores_page(conn, user, call_id, {})

    @post("/calls/{call_id:int}/proposals/{public_id:uuid}/score", name="proposal_score", guards=[roles("funder")])
    async def score(
        self, conn: Conn, user: User, call_id: FromPath[int], public_id: FromPath[uuid.UUID], data: FormData
    ) -> Response[Any]:
        """Save the foundation's score of one proposal."""
        return await submit(
            parse_form(grants.ProposalScore, multi(data)),
            lambda command: grants.score_proposal(conn, user, public_id, command),
            lambda _row: PageRedirect("call_portfolio", call_id=call_id, fragment=f"p-{public_id}"),
            lambda errors, _status: _scores_page(conn, user, call_id, {str(public_id): errors}, status=422),
        )

    @post("/calls/{call_id:int}/portfolio-runs", name="portfolio_run_start", guards=[roles("funder")])
    async def start_run(self, conn: Conn, user: User, state: State, call_id: FromPath[int]) -> PageRedirect:
        """Start the portfolio run and show its page."""
        run = await grants.start_run(conn, state.redis, user, call_id)
        return PageRedirect("portfolio_run", run_id=run.id)

    @get("/portfolio-runs/{run_id:int}", name="portfolio_run", guards=[roles("funder")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> Template:
        """A run's live progress, then the funded proposals with reasons and why each other one was left out."""
        view = await grants.get_run(conn, user, run_id)
        return run_page("grants/run.html", user, view)
