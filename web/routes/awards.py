"""Pages of the review panel, award runs and the public award notice (公示) with objections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, login_required, roles
from api.services import awards, notices, reviews
from api.services.errors import Invalid
from web.forms import parse_form, submit
from web.routes._common import (
    PAGE_SIZE,
    FormData,
    Pager,
    PageRedirect,
    confirm_page,
    multi,
    offset_of,
    run_page,
)


async def _sheet_page(
    conn: Any, user: Any, tender_id: int, errors: dict[str, Any], status: int = 200, done: str | None = None
) -> Template:
    sheet = await reviews.review_sheet(conn, user, tender_id)
    context: dict[str, Any] = {"who": user, "sheet": sheet, "errors": errors, "done": done}
    if user.role == "funder":
        context["choices"] = await reviews.reviewer_choices(conn, user)
        context["runs"] = await awards.list_runs(conn, user, tender_id)
    mine = {r.bid_id: r for r in sheet.reviews if r.reviewer_id == user.account_id}
    context["mine"] = mine
    context["score_of"] = {s.bid_id: s for s in sheet.scores}
    return Template(template_name="reviews/sheet.html", context=context, status_code=status)


# What the review sheet says after the funder's last panel step, from the redirect's ?done=.
PanelDone = Annotated[str | None, QueryParameter(pattern=r"^(assigned|removed)$")]


class ReviewPages(Controller):
    """评审: the reviewer's list and score sheets; the funder's panel and award runs."""

    include_in_schema = False

    @get("/reviews", name="reviews", guards=[roles("reviewer")])
    async def assigned(self, conn: Conn, user: User) -> Template:
        """The reviewer's tenders past their deadline."""
        rows = await reviews.assigned_tenders(conn, user)
        return Template(template_name="reviews/list.html", context={"who": user, "tenders": rows})

    @get("/reviews/{tender_id:int}", name="review_sheet", guards=[roles("reviewer", "funder")])
    async def sheet(self, conn: Conn, user: User, tender_id: FromPath[int], done: PanelDone = None) -> Template:
        """The bids of a tender and the scores the caller may see (and what the funder's last panel step did)."""
        return await _sheet_page(conn, user, tender_id, {}, done=done)

    @post("/reviews/{tender_id:int}/bids/{bid_id:uuid}", name="review_score", guards=[roles("reviewer")])
    async def score(
        self, conn: Conn, user: User, tender_id: FromPath[int], bid_id: FromPath[uuid.UUID], data: FormData
    ) -> Response[Any]:
        """Save a reviewer's scores for one bid."""
        form = multi(data)
        sheet = await reviews.review_sheet(conn, user, tender_id)
        values: dict[str, Any] = {"scores": {}, "comment": form.get("comment", "")}
        errors: dict[str, str] = {}
        for i, criterion in enumerate(sheet.criteria):
            raw = form.get(f"score_{i}", "").strip()
            try:
                values["scores"][criterion.name] = float(raw)
            except ValueError:
                errors["scores"] = "Give a score from 0 to 100 for every published criterion, and only for those"
        for name in ("necessary", "feasible"):
            if form.get(name) in ("yes", "no"):
                values[name] = form.get(name) == "yes"
        command, parse_errors = parse_form(reviews.ReviewScores, form, extra=values) if not errors else (None, {})
        return await submit(
            (command, {**errors, **parse_errors}),
            lambda command: reviews.score_bid(conn, user, tender_id, bid_id, command),
            lambda _row: PageRedirect("review_sheet", tender_id=tender_id, fragment=f"bid-{bid_id}"),
            lambda errors, _status: _sheet_page(conn, user, tender_id, {str(bid_id): errors}, status=422),
        )

    @post("/reviews/{tender_id:int}/reviewers", name="review_assign", guards=[roles("funder")])
    async def assign(self, conn: Conn, user: User, tender_id: FromPath[int], data: FormData) -> Response[Any]:
        """The funder puts reviewers on the panel."""
        return await submit(
            parse_form(reviews.ReviewerAssignment, multi(data)),
            lambda command: reviews.assign_reviewers(conn, user, tender_id, command),
            lambda _row: PageRedirect("review_sheet", tender_id=tender_id, query={"done": "assigned"}),
            lambda errors, _status: _sheet_page(conn, user, tender_id, {"assign": errors}, status=422),
        )

    @post("/reviews/{tender_id:int}/reviewers/{account_id:int}/remove", name="review_remove", guards=[roles("funder")])
    async def remove(self, conn: Conn, user: User, tender_id: FromPath[int], account_id: FromPath[int]) -> PageRedirect:
        """The funder takes a reviewer who has scored nothing off the panel."""
        await reviews.remove_reviewer(conn, user, tender_id, account_id)
        return PageRedirect("review_sheet", tender_id=tender_id, query={"done": "removed"})

    @post("/reviews/{tender_id:int}/award-runs", name="award_run_start", guards=[roles("funder")])
    async def start_run(self, conn: Conn, user: User, state: State, tender_id: FromPath[int]) -> PageRedirect:
        """Start the award run and show its page."""
        run = await awards.start_run(conn, state.redis, user, tender_id)
        return PageRedirect("award_run", run_id=run.id)

    @get("/award-runs/{run_id:int}", name="award_run", guards=[roles("funder")])
    async def run(self, conn: Conn, user: User, run_id: FromPath[int]) -> Template:
        """A run's live progress, then per lot the winner and reasons and why each other bid lost."""
        view = await awards.get_run(conn, user, run_id)
        return run_page("awards/run.html", user, view)

    @get("/award-runs/{run_id:int}/publish", name="award_publish_confirm", guards=[roles("funder")])
    async def publish_confirm(self, conn: Conn, user: User, run_id: FromPath[int]) -> Response[Any]:
        """Ask before publishing: the results that become public, the notice period and what it means."""
        preview = await awards.publish_preview(conn, user, run_id)
        if not preview.proposed:
            return PageRedirect("award_run", run_id=run_id)
        return confirm_page(
            "award_publish",
            user,
            action="award_publish",
            back="award_run",
            params={"run_id": run_id},
            view=preview.view,
            proposed=preview.proposed,
            rules=preview.rules,
            total_fen=sum(a.price_fen for a in preview.proposed),
        )

    @post("/award-runs/{run_id:int}/publish", name="award_publish", guards=[roles("funder")])
    async def publish(self, conn: Conn, user: User, run_id: FromPath[int]) -> PageRedirect:
        """Publish the run's tender's awards and show the public notice."""
        view = await awards.get_run(conn, user, run_id)
        await awards.publish(conn, user, view.tender.id)
        return PageRedirect("notice", tender_id=view.tender.id)


class NoticePages(Controller):
    """公示: public award notices; objections by anyone logged in; the funder's answers."""

    include_in_schema = False

    @get("/notices", name="notices")
    async def list_notices(
        self,
        conn: Conn,
        who: Who,
        past: Annotated[str | None, QueryParameter(pattern=r"^1?$")] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """Award notices in their period (or all of them)."""
        result = await notices.list_notices(conn, include_past=bool(past), limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="notices/list.html",
            context={
                "who": who,
                "page": result,
                "past": bool(past),
                "pager": Pager("notices", {"past": past}, page, result.total),
            },
        )

    @get("/notices/{tender_id:int}", name="notice")
    async def notice(self, conn: Conn, who: Who, tender_id: FromPath[int]) -> Template:
        """One award notice: winners, winning prices, scores; the objection form while it runs."""
        return Template(
            template_name="notices/notice.html",
            context={"who": who, "view": await notices.get_notice(conn, who, tender_id), "errors": {}, "values": {}},
        )

    @post("/notices/{tender_id:int}/objections", name="objection_file", guards=[login_required])
    async def file(self, conn: Conn, user: User, tender_id: FromPath[int], data: FormData) -> Response[Any]:
        """File a written objection."""
        form = multi(data)

        async def again(errors: dict[str, str], _status: int) -> Template:
            view = await notices.get_notice(conn, user, tender_id)
            return Template(
                template_name="notices/notice.html",
                context={"who": user, "view": view, "errors": errors, "values": {"body": form.get("body", "")}},
                status_code=422,
            )

        return await submit(
            parse_form(notices.ObjectionFiling, form),
            lambda command: notices.file_objection(conn, user, tender_id, command),
            lambda _row: PageRedirect("notice", tender_id=tender_id, query={"filed": "1"}),
            again,
        )

    @post("/notices/objections/{objection_id:int}/answer", name="objection_answer", guards=[roles("funder")])
    async def answer(self, conn: Conn, user: User, objection_id: FromPath[int], data: FormData) -> Response[Any]:
        """The funder answers an objection (upholding it reopens the lot)."""
        form = multi(data)
        command, errors = parse_form(notices.ObjectionAnswer, form)
        if command is None:
            raise Invalid("Write a reply and choose uphold or reject", fields=errors)
        row = await notices.answer_objection(conn, user, objection_id, command)
        return PageRedirect("notice", tender_id=row.tender_id)
