"""Tender and bid pages (招标项目, 投标): browse, open a tender, see eligibility, bid, revise, withdraw."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import MultiDict
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, login_required, roles
from api.i18n import SHANGHAI
from api.i18n import gettext as _
from api.services import bids, directory, needs, tenders
from api.services.bids import BidTerms
from api.services.errors import NotFound
from api.services.tenders import TenderCommand
from web.forms import parse_form, submit
from web.routes._common import (
    PAGE_SIZE,
    SAVED,
    FormData,
    Pager,
    PageRedirect,
    confirm_page,
    local_time,
    multi,
    offset_of,
    redisplay,
)

LOT_SLOTS = 3
CRITERIA_SLOTS = 3
TENDER_LISTS = tuple(f"lot{i}_needs" for i in range(1, LOT_SLOTS + 1))
StatusQuery = Annotated[
    str | None, QueryParameter(pattern=r"^(open|review|awarding|awarded|notice|contracting|closed|cancelled)?$")
]
# Where a use case's field names land on the tender form.
_LOT_FIELDS = {
    "title": "title",
    "budget_fen": "budget_yuan",
    "staff_hours": "staff_hours",
    "contract_months": "contract_months",
    "deliverables": "deliverables",
    "long_contract_reason": "reason",
    "need_ids": "needs",
}


def fen_of(text: str) -> int | None:
    """An amount typed in yuan (up to two decimals) as fen; None if it is not a number."""
    try:
        value = Decimal(text.replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")) or abs(value) > Decimal(10) ** 15:
        return None
    return int(value * 100)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 16 else None


def parse_tender_form(form: MultiDict[str]) -> tuple[TenderCommand | None, dict[str, str]]:
    """The tender command from the page's fields (yuan, local times, fixed lot and criterion slots)."""
    errors: dict[str, str] = {}
    close = local_time(form.get("bids_close_at", ""))
    if close is None:
        errors["bids_close_at"] = _("Enter a date and time")
    opens = local_time(form.get("bids_open_at", "")) if form.get("bids_open_at", "").strip() else None
    if form.get("bids_open_at", "").strip() and opens is None:
        errors["bids_open_at"] = _("Enter a date and time")
    numbers: dict[str, int | None] = {}
    for name in ("price_weight_pct", "min_years_registered", "max_lots_per_bidder", "min_rating"):
        raw = form.get(name, "").strip()
        numbers[name] = _int(raw) if raw else None
        if raw and numbers[name] is None:
            errors[name] = _("Enter a number")
    criteria = []
    for i in range(1, CRITERIA_SLOTS + 1):
        name, weight = form.get(f"criterion{i}_name", "").strip(), form.get(f"criterion{i}_weight", "").strip()
        if name or weight:
            if _int(weight) is None:
                errors["criteria"] = _("Enter a number")
            criteria.append({"name": name, "weight": _int(weight) or 0})
    lots = []
    for i in range(1, LOT_SLOTS + 1):
        title, budget = form.get(f"lot{i}_title", "").strip(), form.get(f"lot{i}_budget_yuan", "").strip()
        if not title and not budget:
            continue
        fen = fen_of(budget)
        if fen is None:
            errors[f"lot{i}_budget_yuan"] = _("Enter an amount in yuan")
        hours, months = _int(form.get(f"lot{i}_staff_hours", "")), _int(form.get(f"lot{i}_contract_months", ""))
        for key, value in ((f"lot{i}_staff_hours", hours), (f"lot{i}_contract_months", months)):
            if value is None:
                errors[key] = _("Enter a number")
        lots.append(
            {
                "title": title,
                "budget_fen": fen or 0,
                "staff_hours": hours or 0,
                "contract_months": months or 0,
                "deliverables": form.get(f"lot{i}_deliverables", ""),
                "long_contract_reason": form.get(f"lot{i}_reason", ""),
                "need_ids": [int(v) for v in form.getall(f"lot{i}_needs", []) if v.isdigit()],
            }
        )
    if errors or close is None:
        return None, errors
    values: dict[str, Any] = {
        "title": form.get("title", "").strip(),
        "catalogue_code": form.get("catalogue_code", "").strip() or None,
        "description": form.get("description", ""),
        "bids_close_at": close,
        "bids_open_at": opens,
        "min_rating": numbers["min_rating"],
        "rating_must_be_valid": form.get("rating_must_be_valid") in ("on", "true", "1"),
        "min_years_registered": numbers["min_years_registered"] or 0,
        "price_weight_pct": numbers["price_weight_pct"] if numbers["price_weight_pct"] is not None else -1,
        "criteria": criteria,
        "max_lots_per_bidder": numbers["max_lots_per_bidder"],
        "lots": lots,
    }
    try:
        return msgspec.convert(values, TenderCommand), {}
    except msgspec.ValidationError as exc:
        path = str(exc).rsplit("at `$.", 1)[-1].rstrip("`")
        field = path.split(".")[0].split("[")[0] if "at `$." in str(exc) else "__all__"
        return None, {field: _("This value is not valid")}


def page_errors(fields: dict[str, str]) -> dict[str, str]:
    """A use case's field errors under the names of the page's fields (lots[0].budget_fen → lot1_budget_yuan)."""
    mapped: dict[str, str] = {}
    for key, message in fields.items():
        if key.startswith("lots[") and "]." in key:
            index, _dot, name = key[5:].partition("].")
            mapped[f"lot{int(index) + 1}_{_LOT_FIELDS.get(name, name)}"] = message
        else:
            mapped[key] = message
    return mapped


def _tender_defaults() -> dict[str, Any]:
    close = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=14)).replace(hour=17, minute=0, second=0, microsecond=0)
    return {
        "bids_close_at": close.strftime("%Y-%m-%dT%H:%M"),
        "price_weight_pct": "30",
        "min_rating": "3",
        "min_years_registered": "2",
        "rating_must_be_valid": "on",
        "max_lots_per_bidder": "1",
        "criterion1_name": _("Service plan"),
        "criterion1_weight": "50",
        "criterion2_name": _("Team and experience"),
        "criterion2_weight": "20",
        "lot1_contract_months": "12",
        **{name: [] for name in TENDER_LISTS},
    }


def _bid_terms(form: MultiDict[str]) -> tuple[BidTerms | None, dict[str, str]]:
    fen = fen_of(form.get("price_yuan", ""))
    if fen is None:
        _command, errors = parse_form(BidTerms, form, {"price_fen": 0})
        return None, {**errors, "price_yuan": _("Enter an amount in yuan")}
    return parse_form(BidTerms, form, {"price_fen": fen})


def _bid_errors(fields: dict[str, str]) -> dict[str, str]:
    return {("price_yuan" if k == "price_fen" else k): v for k, v in fields.items()}


class TenderPages(Controller):
    """招标项目 and 投标."""

    include_in_schema = False

    @get("/tenders", name="tenders", guards=[login_required])
    async def list_tenders(
        self,
        conn: Conn,
        who: Who,
        status: StatusQuery = None,
        mine: Annotated[str | None, QueryParameter(pattern=r"^1?$")] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """Tenders; an organisation sees the open ones with whether it may bid and why not."""
        assert who is not None
        for_org = None
        if who.role == "organisation" and not status and not mine:
            for_org = await tenders.tenders_for_organisation(conn, who, limit=PAGE_SIZE, offset=offset_of(page))
            result = None
            pager = Pager("tenders", {}, page, for_org.total)
        else:
            filters = tenders.TenderFilters(status=status or None, category=None, mine=bool(mine))
            result = await tenders.list_tenders(conn, who, filters, limit=PAGE_SIZE, offset=offset_of(page))
            pager = Pager("tenders", {"status": status, "mine": mine}, page, result.total)
        return Template(
            template_name="tenders/list.html",
            context={"who": who, "page": result, "for_org": for_org, "status": status or "", "mine": bool(mine),
                     "pager": pager},
        )  # fmt: skip

    @get("/tenders/new", name="tender_new", guards=[roles("funder")])
    async def new_form(self, conn: Conn, user: User) -> Template:
        """The funder's form for a new tender over open needs of its area."""
        return Template(
            template_name="tenders/form.html", context=await _tender_context(conn, user, _tender_defaults(), {})
        )

    @post("/tenders/new", name="tender_new_submit", guards=[roles("funder")])
    async def new_submit(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Open the tender and show it."""
        form = multi(data)

        async def again(errors: dict[str, str], status: int) -> Template:
            context = await _tender_context(conn, user, redisplay(form, TENDER_LISTS), errors)
            return Template(template_name="tenders/form.html", context=context, status_code=status)

        return await submit(
            parse_tender_form(form),
            lambda command: tenders.open_tender(conn, user, command),
            lambda row: PageRedirect("tender", tender_id=row.id, query=SAVED),
            again,
            fields=page_errors,
        )

    @get("/tenders/{tender_id:int}", name="tender", guards=[login_required])
    async def detail(
        self,
        conn: Conn,
        who: Who,
        tender_id: FromPath[int],
        saved: Annotated[str | None, QueryParameter(pattern=r"^1$")] = None,
    ) -> Template:
        """One tender: lots, rules, window; the bidder's own bids; the funder's bids after the deadline."""
        assert who is not None
        tender = await tenders.get_tender(conn, who, tender_id)
        reasons = None
        lot_reasons: dict[int, Any] = {}
        own_bids: list[Any] = []
        opened: list[Any] | None = None
        if who.role == "organisation":
            reasons = await tenders.eligibility_for(conn, who, tender)
            lot_reasons = await tenders.lot_eligibility(conn, who, tender)
            own_bids = await bids.my_bids(conn, who, tender_id)
        now = dt.datetime.now(SHANGHAI)
        if who.role == "funder" and who.funder_id == tender.funder_id and tender.bids_close_at <= now:
            opened = await bids.opened_bids_for_funder(conn, who, tender_id)
            tender = await tenders.get_tender(conn, who, tender_id)
        need_rows = {}
        for lot in tender.lots:
            for need_id in lot.need_ids:
                need_rows[need_id] = (await needs.get_need(conn, who, need_id)).need
        return Template(
            template_name="tenders/detail.html",
            context={
                "who": who, "tender": tender, "reasons": reasons, "own_bids": own_bids, "opened": opened,
                "needs": need_rows, "saved": bool(saved), "deadline_passed": tender.bids_close_at <= now,
                "lot_reasons": lot_reasons,
                "live_bid_lots": {b.lot_id: b for b in own_bids if b.status == "submitted"},
            },
        )  # fmt: skip

    @post("/tenders/{tender_id:int}/cancel", name="tender_cancel", guards=[roles("funder")])
    async def cancel(self, conn: Conn, user: User, tender_id: FromPath[int]) -> PageRedirect:
        """Cancel the funder's own open tender."""
        await tenders.cancel_tender(conn, user, tender_id)
        return PageRedirect("tender", tender_id=tender_id, query=SAVED)

    @get("/tenders/{tender_id:int}/lots/{lot_id:int}/bid", name="bid_new", guards=[roles("organisation")])
    async def bid_form(self, conn: Conn, user: User, tender_id: FromPath[int], lot_id: FromPath[int]) -> Template:
        """The sealed-bid form for one lot."""
        tender, lot = await _tender_lot(conn, user, tender_id, lot_id)
        return await _bid_form(conn, user, tender, lot, {}, {}, 200)

    @post("/tenders/{tender_id:int}/lots/{lot_id:int}/bid", name="bid_new_submit", guards=[roles("organisation")])
    async def bid_submit(
        self, conn: Conn, user: User, tender_id: FromPath[int], lot_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Submit the sealed bid and show its receipt."""
        tender, lot = await _tender_lot(conn, user, tender_id, lot_id)
        form = multi(data)
        return await submit(
            _bid_terms(form),
            lambda terms: bids.place_bid(conn, user, bids.BidCommand(lot_id=lot.id, **msgspec.structs.asdict(terms))),
            lambda view: PageRedirect("bid", bid_id=view.bid.public_id, query=SAVED),
            lambda errors, status: _bid_form(conn, user, tender, lot, errors, redisplay(form), status),
            fields=_bid_errors,
            refusal="__all__",
        )


class BidPages(Controller):
    """The bidder's own bids (投标): receipts, history, revision and withdrawal until the deadline."""

    include_in_schema = False

    @get("/bids", name="bids", guards=[roles("organisation")])
    async def mine(self, conn: Conn, user: User) -> Template:
        """The organisation's own bids."""
        return Template(template_name="bids/list.html", context={"who": user, "bids": await bids.my_bids(conn, user)})

    @get("/bids/{bid_id:uuid}", name="bid", guards=[login_required])
    async def detail(
        self,
        conn: Conn,
        user: User,
        bid_id: FromPath[uuid.UUID],
        saved: Annotated[str | None, QueryParameter(pattern=r"^1$")] = None,
        done: Annotated[str | None, QueryParameter(pattern=r"^withdrawn$")] = None,
    ) -> Template:
        """A bid with its receipt and history (its bidder; the funder after the deadline)."""
        view = await bids.get_bid(conn, user, bid_id)
        context = _bid_context(user, view, {}, {}, bool(saved))
        return Template(template_name="bids/detail.html", context={**context, "done": done})

    @post("/bids/{bid_id:uuid}/revise", name="bid_revise", guards=[roles("organisation")])
    async def revise(self, conn: Conn, user: User, bid_id: FromPath[uuid.UUID], data: FormData) -> Response[Any]:
        """Revise the bid; a new receipt."""
        form = multi(data)

        async def again(errors: dict[str, str], status: int) -> Template:
            view = await bids.get_bid(conn, user, bid_id)
            context = _bid_context(user, view, errors, redisplay(form), False)
            return Template(template_name="bids/detail.html", context=context, status_code=status)

        return await submit(
            _bid_terms(form),
            lambda terms: bids.revise_bid(conn, user, bid_id, terms),
            lambda _row: PageRedirect("bid", bid_id=bid_id, query=SAVED),
            again,
            fields=_bid_errors,
        )

    @get("/bids/{bid_id:uuid}/withdraw", name="bid_withdraw_confirm", guards=[roles("organisation")])
    async def withdraw_confirm(self, conn: Conn, user: User, bid_id: FromPath[uuid.UUID]) -> Response[Any]:
        """Ask before withdrawing: what withdrawal means, for which bid."""
        view = await bids.get_bid(conn, user, bid_id)
        if not _bid_context(user, view, {}, {}, False)["editable"]:
            return PageRedirect("bid", bid_id=bid_id)
        params = {"bid_id": bid_id}
        return confirm_page("bid_withdraw", user, action="bid_withdraw", back="bid", params=params, view=view)

    @post("/bids/{bid_id:uuid}/withdraw", name="bid_withdraw", guards=[roles("organisation")])
    async def withdraw(self, conn: Conn, user: User, bid_id: FromPath[uuid.UUID]) -> PageRedirect:
        """Withdraw the bid."""
        await bids.withdraw_bid(conn, user, bid_id)
        return PageRedirect("bid", bid_id=bid_id, query={"done": "withdrawn"})


def _bid_context(
    user: User, view: bids.BidView, errors: dict[str, str], values: dict[str, Any], saved: bool
) -> dict[str, Any]:
    b = view.bid
    own = user.organisation_id == b.organisation_id
    editable = own and b.status == "submitted" and b.bids_close_at > dt.datetime.now(SHANGHAI)
    if not values:
        values = {
            "price_yuan": f"{Decimal(b.price_fen) / 100:.2f}", "hours": b.hours, "plan": b.plan, "team": b.team,
            "conflict_detail": b.conflict_detail, "conflict_of_interest": b.conflict_of_interest,
        }  # fmt: skip
    return {"who": user, "view": view, "own": own, "editable": editable, "errors": errors, "values": values,
            "saved": saved}  # fmt: skip


async def _bid_form(
    conn: Conn, user: User, tender: Any, lot: Any, errors: dict[str, str], values: dict[str, Any], status: int
) -> Template:
    """The sealed-bid form for one lot, with whether the organisation may bid."""
    reasons = await tenders.eligibility_for(conn, user, tender, lot.id)
    return Template(
        template_name="bids/form.html",
        context={"who": user, "tender": tender, "lot": lot, "reasons": reasons, "errors": errors, "values": values,
                 "bid": None},
        status_code=status,
    )  # fmt: skip


async def _tender_lot(conn: Conn, user: User, tender_id: int, lot_id: int) -> tuple[Any, Any]:
    tender = await tenders.get_tender(conn, user, tender_id)
    lot = next((lot for lot in tender.lots if lot.id == lot_id), None)
    if lot is None:
        raise NotFound("No such lot")
    return tender, lot


async def _tender_context(conn: Conn, user: User, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "who": user,
        "values": values,
        "errors": errors,
        "catalogue": (await directory.organisation_choices(conn)).categories,
        "open_needs": await needs.open_needs_for_funder(conn, user),
        "lot_slots": range(1, LOT_SLOTS + 1),
        "criteria_slots": range(1, CRITERIA_SLOTS + 1),
    }
