"""Review panels, award runs and the public award notice with objections."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, Who, login_required, roles
from api.routes.paging import Limit, Offset
from api.schemas.awards import (
    AssignedTenderOut,
    NoticeOut,
    NoticePageOut,
    NoticeViewOut,
    ObjectionOut,
    ReviewerOut,
    ReviewOut,
    ReviewSheetOut,
    RunViewOut,
    notice_view_out,
    review_out,
    run_view_out,
    sheet_out,
)
from api.schemas.common import out, outs
from api.schemas.runs import RunOut, RunProgressOut, progress_out, run_out
from api.services import awards, notices, reviews


class ReviewController(Controller):
    """Review panels (评审): reviewers score opened bids; nobody sees others' scores until all are in."""

    path = "/api/reviews"
    tags = ("reviews",)

    @get("/", operation_id="listMyReviews", guards=[roles("reviewer")])
    async def assigned(self, conn: Conn, user: User) -> list[AssignedTenderOut]:
        """The tenders past their deadline that the reviewer is assigned to."""
        return outs(await reviews.assigned_tenders(conn, user), AssignedTenderOut)

    @get("/{tender_id:int}", operation_id="getReviewSheet", guards=[roles("reviewer", "funder")])
    async def sheet(self, conn: Conn, user: User, tender_id: FromPath[int]) -> ReviewSheetOut:
        """A tender's opened bids and the scores the caller may see."""
        return sheet_out(await reviews.review_sheet(conn, user, tender_id))

    @post("/{tender_id:int}/reviewers", operation_id="assignReviewers", guards=[roles("funder")], status_code=200)
    async def assign(
        self, conn: Conn, user: User, tender_id: FromPath[int], data: JSONBody[reviews.ReviewerAssignment]
    ) -> list[ReviewerOut]:
        """The funder puts reviewers on the tender's panel after the deadline."""
        return outs(await reviews.assign_reviewers(conn, user, tender_id, data), ReviewerOut)

    @put("/{tender_id:int}/bids/{bid_id:uuid}", operation_id="scoreBid", guards=[roles("reviewer")])
    async def score(
        self,
        conn: Conn,
        user: User,
        tender_id: FromPath[int],
        bid_id: FromPath[uuid.UUID],
        data: JSONBody[reviews.ReviewScores],
    ) -> ReviewOut:
        """An assigned reviewer scores a bid on the published criteria."""
        return review_out(await reviews.score_bid(conn, user, tender_id, bid_id, data))


class AwardController(Controller):
    """Award runs (中标): a run row, an arq job, live progress, the result with reasons; publication."""

    path = "/api/awards"
    tags = ("awards",)

    @post("/tenders/{tender_id:int}/runs", operation_id="startAwardRun", guards=[roles("funder")], status_code=202)
    async def start(self, conn: Conn, user: User, state: State, tender_id: FromPath[int]) -> RunOut:
        """Start (or find, when the inputs are unchanged) the award run of a tender."""
        return run_out(await awards.start_run(conn, state.redis, user, tender_id))

    @get("/tenders/{tender_id:int}/runs", operation_id="listAwardRuns", guards=[roles("funder")])
    async def runs(self, conn: Conn, user: User, tender_id: FromPath[int]) -> list[RunOut]:
        """A tender's award runs, newest first."""
        return [run_out(r) for r in await awards.list_runs(conn, user, tender_id)]

    @get("/runs/{run_id:int}", operation_id="getAwardRun", guards=[roles("funder")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> RunViewOut:
        """A run, its result and reasons, and the awards it wrote."""
        return run_view_out(await awards.get_run(conn, user, run_id))

    @get("/runs/{run_id:int}/progress", operation_id="getAwardRunProgress", guards=[roles("funder")])
    async def progress(self, conn: Conn, user: User, run_id: FromPath[int]) -> RunProgressOut:
        """A run's status, best score and bound so far (polled by the run page)."""
        return progress_out((await awards.get_run(conn, user, run_id)).run)

    @post("/tenders/{tender_id:int}/publish", operation_id="publishAward", guards=[roles("funder")], status_code=200)
    async def publish(self, conn: Conn, user: User, tender_id: FromPath[int]) -> NoticeOut:
        """Publish the proposed awards: the notice period starts."""
        return out(await awards.publish(conn, user, tender_id), NoticeOut)


class NoticeController(Controller):
    """Public award notices (公示) and objections (质疑)."""

    path = "/api/notices"
    tags = ("notices",)

    @get("/", operation_id="listNotices")
    async def list_notices(
        self,
        conn: Conn,
        past: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> NoticePageOut:
        """Award notices in their period (and past ones when asked); no login needed."""
        page = await notices.list_notices(conn, include_past=past, limit=limit, offset=offset)
        return out(page, NoticePageOut)

    @get("/{tender_id:int}", operation_id="getNotice")
    async def notice(self, conn: Conn, who: Who, tender_id: FromPath[int]) -> NoticeViewOut:
        """One award notice: winners, winning prices and scores; no login needed."""
        return notice_view_out(await notices.get_notice(conn, who, tender_id))

    @post("/{tender_id:int}/objections", operation_id="fileObjection", guards=[login_required], status_code=201)
    async def file(
        self, conn: Conn, user: User, tender_id: FromPath[int], data: JSONBody[notices.ObjectionFiling]
    ) -> ObjectionOut:
        """File a written objection during the notice period."""
        return out(await notices.file_objection(conn, user, tender_id, data), ObjectionOut)

    @post(
        "/objections/{objection_id:int}/answer",
        operation_id="answerObjection",
        guards=[roles("funder")],
        status_code=200,
    )
    async def answer(
        self, conn: Conn, user: User, objection_id: FromPath[int], data: JSONBody[notices.ObjectionAnswer]
    ) -> ObjectionOut:
        """The funder answers an objection; upholding it reopens the lot."""
        return out(await notices.answer_objection(conn, user, objection_id, data), ObjectionOut)
