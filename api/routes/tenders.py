"""Tenders (招标项目) and sealed bids (投标)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from api.auth import READS, Conn, User, Who, login_required, roles
from api.routes.downloads import file_response, locale_of
from api.routes.paging import Limit, Offset
from api.schemas.common import out, outs
from api.schemas.tendering import (
    BidOut,
    BidsOpenedOut,
    EligibilityOut,
    ReasonOut,
    TenderOut,
    TenderPageOut,
    TendersForOrgOut,
)
from api.services import bids, tenders
from api.services.bids import BidCommand, BidTerms, BidView
from api.services.tenders import TenderCommand, TenderFilters

StatusQuery = Annotated[
    str | None, QueryParameter(pattern=r"^(open|review|awarding|awarded|notice|contracting|closed|cancelled)$")
]
CategoryQuery = Annotated[str | None, QueryParameter(pattern=r"^[a-z0-9_]{2,40}$")]


def tender_filters(
    status: StatusQuery = None, category: CategoryQuery = None, mine: Annotated[bool, QueryParameter()] = False
) -> TenderFilters:
    """The tenders' filters from the query string, the same for the list and its export."""
    return TenderFilters(status=status, category=category, mine=mine)


# The list and its export take the same filters.
# The lists and their exports only read: a replica may answer them (api.auth.READS).
_FILTERS = {"filters": Provide(tender_filters, sync_to_thread=False), **READS}


def bid_out(view: BidView) -> BidOut:
    """A bid and its history as the API shows it."""
    return out(view.bid, BidOut, id=view.bid.public_id, events=view.events)


class TenderController(Controller):
    """Tenders: funders open them over needs; organisations see which they may bid on."""

    path = "/api/tenders"
    tags = ("tenders",)

    @get("/", operation_id="listTenders", guards=[login_required], dependencies=_FILTERS)
    async def list_tenders(
        self,
        conn: Conn,
        who: Who,
        filters: NamedDependency[TenderFilters],
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> TenderPageOut:
        """Tenders by status and catalogue code; `mine` for a funder's own."""
        page = await tenders.list_tenders(conn, who, filters, limit=limit, offset=offset)
        return out(page, TenderPageOut)

    @get(
        "/export.csv",
        operation_id="exportTenders",
        guards=[login_required],
        dependencies=_FILTERS,
        media_type="text/csv",
    )
    async def export(
        self, conn: Conn, who: Who, request: Request[Any, Any, Any], filters: NamedDependency[TenderFilters]
    ) -> Stream:
        """One row per lot of the filtered tenders, as CSV (headers in the reader's language; formulas disarmed)."""
        locale = locale_of(request)
        return file_response(await tenders.tenders_table(conn, who, filters, locale), "csv", locale)

    @get("/for-me", operation_id="listTendersForOrganisation", guards=[roles("organisation")])
    async def for_me(
        self,
        conn: Conn,
        user: User,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> TendersForOrgOut:
        """Tenders open for bids, each with whether the caller's organisation is eligible and why not."""
        page = await tenders.tenders_for_organisation(conn, user, limit=limit, offset=offset)
        return out(page, TendersForOrgOut)

    @get("/{tender_id:int}", operation_id="getTender", guards=[login_required])
    async def get_tender(self, conn: Conn, who: Who, tender_id: FromPath[int]) -> TenderOut:
        """One tender with its lots and rules."""
        return out(await tenders.get_tender(conn, who, tender_id), TenderOut)

    @get("/{tender_id:int}/eligibility", operation_id="getTenderEligibility", guards=[roles("organisation")])
    async def eligibility(self, conn: Conn, user: User, tender_id: FromPath[int]) -> EligibilityOut:
        """Whether the caller's organisation may bid on this tender, and each rule it fails."""
        tender = await tenders.get_tender(conn, user, tender_id)
        reasons = await tenders.eligibility_for(conn, user, tender)
        return EligibilityOut(tender_id=tender.id, eligible=not reasons, reasons=outs(reasons, ReasonOut))

    @post("/", operation_id="openTender", guards=[roles("funder")], status_code=201)
    async def open_tender(self, conn: Conn, user: User, data: JSONBody[TenderCommand]) -> TenderOut:
        """A funder opens a tender over open needs of its area."""
        return out(await tenders.open_tender(conn, user, data), TenderOut)

    @post("/{tender_id:int}/cancel", operation_id="cancelTender", guards=[roles("funder")], status_code=200)
    async def cancel(self, conn: Conn, user: User, tender_id: FromPath[int]) -> TenderOut:
        """The funder cancels its own open tender."""
        return out(await tenders.cancel_tender(conn, user, tender_id), TenderOut)

    @get("/{tender_id:int}/bids", operation_id="listOpenedBids", guards=[roles("funder")])
    async def opened_bids(self, conn: Conn, user: User, tender_id: FromPath[int]) -> list[BidOut]:
        """The funder's tender's bids, after the deadline only (409 before it, whatever the bids)."""
        return [bid_out(BidView(bid=b, events=[])) for b in await bids.opened_bids_for_funder(conn, user, tender_id)]

    @post("/{tender_id:int}/open-bids", operation_id="openBids", guards=[roles("funder", "admin")], status_code=200)
    async def open_bids(self, conn: Conn, user: User, tender_id: FromPath[int]) -> BidsOpenedOut:
        """Open the bids at or after the deadline (idempotent; the worker does it too)."""
        await tenders.open_bids_as(conn, user, tender_id)
        return out(await bids.open_bids(conn, tender_id), BidsOpenedOut)


class BidController(Controller):
    """Sealed bids: only the bidder reads its bid before the deadline."""

    path = "/api/bids"
    tags = ("bids",)

    @get("/", operation_id="listMyBids", guards=[roles("organisation")])
    async def mine(
        self, conn: Conn, user: User, tender_id: Annotated[int | None, QueryParameter(ge=1, le=2**62)] = None
    ) -> list[BidOut]:
        """The caller's organisation's own bids."""
        return [bid_out(BidView(bid=b, events=[])) for b in await bids.my_bids(conn, user, tender_id)]

    @post("/", operation_id="placeBid", guards=[roles("organisation")], status_code=201)
    async def place(self, conn: Conn, user: User, data: JSONBody[BidCommand]) -> BidOut:
        """Submit a sealed bid on a lot; the answer carries the receipt."""
        return bid_out(await bids.place_bid(conn, user, data))

    @get("/{bid_id:uuid}", operation_id="getBid", guards=[login_required])
    async def get_bid(self, conn: Conn, user: User, bid_id: FromPath[uuid.UUID]) -> BidOut:
        """A bid: for its bidder, or for the funder after the deadline; 404 for anyone else."""
        return bid_out(await bids.get_bid(conn, user, bid_id))

    @put("/{bid_id:uuid}", operation_id="reviseBid", guards=[roles("organisation")])
    async def revise(self, conn: Conn, user: User, bid_id: FromPath[uuid.UUID], data: JSONBody[BidTerms]) -> BidOut:
        """Revise the caller's own bid before the deadline; a new receipt."""
        return bid_out(await bids.revise_bid(conn, user, bid_id, data))

    @post("/{bid_id:uuid}/withdraw", operation_id="withdrawBid", guards=[roles("organisation")], status_code=200)
    async def withdraw(self, conn: Conn, user: User, bid_id: FromPath[uuid.UUID]) -> BidOut:
        """Withdraw the caller's own bid before the deadline."""
        return bid_out(await bids.withdraw_bid(conn, user, bid_id))
