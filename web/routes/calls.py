"""Call pages (公益创投征集): browse, a foundation opens one, an organisation submits a sealed proposal."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import MultiDict
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, login_required, roles
from api.i18n import SHANGHAI
from api.i18n import gettext as _
from api.services import calls, directory
from api.services.calls import CallCommand, ProposalCommand, ProposalTerms
from web.forms import parse_form, submit
from web.routes._common import PAGE_SIZE, FormData, Pager, PageRedirect, local_time, multi, offset_of, redisplay
from web.routes.tenders import fen_of

POOL_SLOTS = 3


def parse_call_form(form: MultiDict[str]) -> tuple[CallCommand | None, dict[str, str]]:
    """The call command from the page's fields (yuan, Shanghai time, fixed pool slots)."""
    errors: dict[str, str] = {}
    close = local_time(form.get("proposals_close_at", ""))
    if close is None:
        errors["proposals_close_at"] = _("Enter a date and time")
    amounts: dict[str, int | None] = {}
    for name in ("grant_min_yuan", "grant_max_yuan"):
        amounts[name] = fen_of(form.get(name, ""))
        if amounts[name] is None:
            errors[name] = _("Enter an amount in yuan")
    pools = []
    for i in range(1, POOL_SLOTS + 1):
        area, budget = form.get(f"pool{i}_area", "").strip(), form.get(f"pool{i}_budget_yuan", "").strip()
        if area or budget:
            fen = fen_of(budget)
            if fen is None:
                errors[f"pool{i}_budget_yuan"] = _("Enter an amount in yuan")
            pools.append({"area_of_giving": area, "budget_fen": fen or 0})
    per_org = form.get("max_proposals_per_org", "").strip()
    if not per_org.isdigit() or len(per_org) > 3:
        errors["max_proposals_per_org"] = _("Enter a number")
    if errors or close is None:
        return None, errors
    values = {
        "title": form.get("title", "").strip(),
        "description": form.get("description", ""),
        "proposals_close_at": close,
        "grant_min_fen": amounts["grant_min_yuan"],
        "grant_max_fen": amounts["grant_max_yuan"],
        "max_proposals_per_org": int(per_org),
        "pools": pools,
    }
    try:
        return msgspec.convert(values, CallCommand), {}
    except msgspec.ValidationError:
        return None, {"title": _("This field is required or too short")}


def _page_errors(fields: dict[str, str]) -> dict[str, str]:
    renamed = {"grant_min_fen": "grant_min_yuan", "grant_max_fen": "grant_max_yuan", "amount_fen": "amount_yuan"}
    mapped = {}
    for key, message in fields.items():
        if key.startswith("pools[") and "]." in key:
            index = int(key[6:].split("]")[0])
            mapped[f"pool{index + 1}_budget_yuan"] = message
        else:
            mapped[renamed.get(key, key)] = message
    return mapped


def _proposal_terms(form: MultiDict[str]) -> tuple[ProposalTerms | None, dict[str, str]]:
    fen = fen_of(form.get("amount_yuan", ""))
    terms, errors = parse_form(ProposalTerms, form, {"amount_fen": fen or 0})
    if fen is None:
        return None, {**errors, "amount_yuan": _("Enter an amount in yuan")}
    return terms, errors


class CallPages(Controller):
    """公益创投征集 and 项目申报书."""

    include_in_schema = False

    @get("/calls", name="calls", guards=[login_required])
    async def list_calls(
        self, conn: Conn, who: Who, page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1
    ) -> Template:
        """Calls for proposals."""
        result = await calls.list_calls(conn, who, status=None, mine=False, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="calls/list.html",
            context={"who": who, "page": result, "pager": Pager("calls", {}, page, result.total)},
        )

    @get("/calls/new", name="call_new", guards=[roles("funder")])
    async def new_form(self, user: User) -> Template:
        """The foundation's form for a new call."""
        close = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=30)).strftime("%Y-%m-%dT17:00")
        values = {"proposals_close_at": close, "grant_min_yuan": "10000", "grant_max_yuan": "100000",
                  "max_proposals_per_org": "2"}  # fmt: skip
        return await _call_form(user, values, {}, 200)

    @post("/calls/new", name="call_new_submit", guards=[roles("funder")])
    async def new_submit(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Open the call and show it."""
        form = multi(data)
        return await submit(
            parse_call_form(form),
            lambda command: calls.open_call(conn, user, command),
            lambda row: PageRedirect("call", call_id=row.id),
            lambda errors, status: _call_form(user, redisplay(form), errors, status),
            fields=_page_errors,
        )

    @get("/calls/{call_id:int}", name="call", guards=[login_required])
    async def detail(self, conn: Conn, who: Who, call_id: FromPath[int]) -> Template:
        """One call; the proposal form for organisations; proposals for the foundation after the deadline."""
        return Template(template_name="calls/detail.html", context=await _call_context(conn, who, call_id, {}, {}))

    @post("/calls/{call_id:int}/propose", name="call_propose", guards=[roles("organisation")])
    async def propose(self, conn: Conn, user: User, call_id: FromPath[int], data: FormData) -> Response[Any]:
        """Submit a sealed proposal."""
        form = multi(data)

        async def again(errors: dict[str, str], status: int) -> Template:
            context = await _call_context(conn, user, call_id, errors, redisplay(form))
            return Template(template_name="calls/detail.html", context=context, status_code=status)

        return await submit(
            _proposal_terms(form),
            lambda terms: calls.submit_proposal(
                conn, user, ProposalCommand(call_id=call_id, **msgspec.structs.asdict(terms))
            ),
            lambda row: PageRedirect("proposal", proposal_id=row.public_id),
            again,
            fields=_page_errors,
            refusal="__all__",
        )

    @get("/proposals/{proposal_id:uuid}", name="proposal", guards=[login_required])
    async def proposal(self, conn: Conn, user: User, proposal_id: FromPath[uuid.UUID]) -> Template:
        """A proposal with its receipt (its proposer; the foundation after the deadline)."""
        row = await calls.get_proposal(conn, user, proposal_id)
        editable = row.organisation_id == user.organisation_id and row.status == "submitted" and (
            row.proposals_close_at > dt.datetime.now(SHANGHAI))  # fmt: skip
        return Template(template_name="calls/proposal.html", context={"who": user, "p": row, "editable": editable})

    @post("/proposals/{proposal_id:uuid}/withdraw", name="proposal_withdraw", guards=[roles("organisation")])
    async def withdraw(self, conn: Conn, user: User, proposal_id: FromPath[uuid.UUID]) -> PageRedirect:
        """Withdraw the proposal."""
        await calls.withdraw_proposal(conn, user, proposal_id)
        return PageRedirect("proposal", proposal_id=proposal_id)


async def _call_form(user: User, values: dict[str, Any], errors: dict[str, str], status: int) -> Template:
    """The foundation's form for a new call."""
    return Template(
        template_name="calls/form.html",
        context={"who": user, "values": values, "errors": errors, "pool_slots": range(1, POOL_SLOTS + 1)},
        status_code=status,
    )


async def _call_context(
    conn: Conn, who: Who, call_id: int, errors: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    assert who is not None
    call = await calls.get_call(conn, who, call_id)
    now = dt.datetime.now(SHANGHAI)
    opened = None
    if who.role == "funder" and who.funder_id == call.funder_id and call.proposals_close_at <= now:
        opened = await calls.opened_proposals_for_funder(conn, who, call_id)
        call = await calls.get_call(conn, who, call_id)
    own = [p for p in await calls.my_proposals(conn, who) if p.call_id == call_id] if who.role == "organisation" else []
    return {
        "who": who, "call": call, "opened": opened, "own": own, "errors": errors, "values": values,
        "open_now": call.status == "open" and call.proposals_open_at <= now < call.proposals_close_at,
        "subdistricts": (await directory.organisation_choices(conn)).subdistricts,
    }  # fmt: skip
