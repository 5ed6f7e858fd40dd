"""Use cases for sealed bids (投标): place, revise, withdraw before the deadline; open them at the deadline.

The seal: before a tender's deadline a bid is read only by its bidder. Nothing here writes an audit row about a
single bid, logs an amount, or answers differently for "a bid exists" and "no bid": a funder or another bidder
asking for a bid gets the same 404 as for an id that was never issued. The bidder's own history goes to
bid_events, which only it can read. At the deadline `open_bids` moves the tender to review and writes one
audit row with the number of bids and their receipts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import eligibility
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.tenders import open_sealed, org_facts, tender_rules
from api.services.types import SHANGHAI, Id, Text, today
from sql import bids as bids_sql
from sql import tenders as tenders_sql

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_ORGANISATIONS = "Only a social organisation may bid"

Amount = Annotated[int, Meta(ge=-(2**62), le=2**62)]
RequiredText = Annotated[str, Meta(min_length=1, max_length=20000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]


class BidTerms(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A bid's sealed terms: price in fen, committed staff-hours, plan, team, conflict-of-interest declaration."""

    price_fen: Amount
    hours: Amount
    plan: RequiredText
    team: Text = ""
    conflict_of_interest: bool = False
    conflict_detail: Text = ""


class BidCommand(BidTerms, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A new bid on one lot."""

    lot_id: Id

    def terms(self) -> BidTerms:
        """The sealed terms without the lot."""
        return BidTerms(**{name: getattr(self, name) for name in BidTerms.__struct_fields__})


class BidView(msgspec.Struct, frozen=True):
    """A bid with its history (the history only for its bidder)."""

    bid: bids_sql.BidRow
    events: list[bids_sql.BidEventRow]


class BidsOpened(msgspec.Struct, frozen=True):
    """What opening a tender's bids did: whether this call opened them, and how many live bids there are."""

    tender_id: int
    opened: bool
    count: int


class SealedContent(bids_sql.BidTermsFields, frozen=True):
    """The canonical content of a sealed bid: its terms, which bid of whom on which lot, and when it was sealed. Its
    receipt is the SHA-256 of this as JSON with sorted keys (so the order of the fields here does not matter)."""

    bid: str
    tender_id: int
    lot_id: int
    organisation_id: int
    sealed_at: str


def receipt_of(content: msgspec.Struct) -> str:
    """The receipt of a sealed bid or proposal: a hex SHA-256 of its canonical JSON."""
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


def _check_terms(terms: BidTerms, budget_fen: int) -> None:
    errors: dict[str, str] = {}
    if terms.price_fen < 100:
        errors["price_fen"] = "The price must be at least 1 yuan"
    elif terms.price_fen > budget_fen:
        errors["price_fen"] = "The price is above the lot's budget cap"
    if not 1 <= terms.hours <= 1_000_000:
        errors["hours"] = "Committed staff-hours must be between 1 and 1,000,000"
    if errors:
        raise Invalid("The bid is not valid", fields=errors)


async def _eligible_or_refuse(
    conn: asyncpg.Connection, organisation_id: int, tender_id: int, lot_id: int, conflict_of_interest: bool
) -> None:
    tender = await tenders_sql.get_tender(conn, tender_id)
    facts = await bids_sql.org_facts(conn, organisation_id)
    if tender is None or facts is None:
        raise NotFound("No such lot")
    rules, org = tender_rules(tender), org_facts(facts)
    found = eligibility.reasons(org, rules, today=today(), conflict_of_interest=conflict_of_interest)
    found += eligibility.lot_reasons(org, rules, lot_id)
    if found:
        raise Forbidden(
            "Your organisation is not eligible for this tender",
            fields={f"eligibility.{r.code}": r.message for r in found},
        )


async def place_bid(conn: asyncpg.Connection, who: Identity, form: BidCommand) -> BidView:
    """An eligible organisation submits a sealed bid on a lot of an open tender."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        lot = found(await bids_sql.lot_for_bid(conn, form.lot_id), "No such lot")
        if lot.tender_status == "cancelled" or lot.lot_status == "cancelled":
            raise Conflict("This tender is not taking bids")
        if lot.tender_status != "open" or lot.deadline_passed:
            raise Conflict("The bid deadline has passed; bids can no longer be placed or changed")
        if not lot.window_open:
            raise Conflict("The bid window has not opened yet")
        await _eligible_or_refuse(conn, organisation_id, lot.tender_id, lot.lot_id, form.conflict_of_interest)
        terms = form.terms()
        _check_terms(terms, lot.budget_fen)
        if await bids_sql.own_live_bid_on_lot(conn, lot.lot_id, organisation_id) is not None:
            raise Conflict("You already have a bid on this lot; revise it instead")
        public_id = uuid.uuid4()
        sealed = _seal(public_id, lot.tender_id, lot.lot_id, organisation_id, terms)
        bid_id = await bids_sql.insert_bid(conn, public_id, lot.lot_id, organisation_id, sealed)
        # The history stays with the bidder; the shared audit log hears of bids only when they are opened.
        await bids_sql.add_event(conn, bid_id, organisation_id, who.account_id, "submitted", sealed.receipt)
    return await get_bid(conn, who, public_id)


def _seal(
    public_id: uuid.UUID, tender_id: int, lot_id: int, organisation_id: int, terms: BidTerms
) -> bids_sql.SealedTerms:
    """The terms as stored: sealed now, with the receipt of their canonical content."""
    sealed_at = _now()
    stored = {name: getattr(terms, name) for name in bids_sql.BidTermsFields.__struct_fields__}
    content = SealedContent(
        **stored,
        bid=str(public_id),
        tender_id=tender_id,
        lot_id=lot_id,
        organisation_id=organisation_id,
        sealed_at=sealed_at.isoformat(),
    )
    return bids_sql.SealedTerms(**stored, receipt=receipt_of(content), sealed_at=sealed_at)


async def _own_open_bid(conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int) -> bids_sql.BidRow:
    bid = found(await bids_sql.get_own_bid(conn, public_id, organisation_id), "No such bid")
    lot = await bids_sql.lot_for_bid(conn, bid.lot_id)
    if lot is None or lot.tender_status != "open" or lot.deadline_passed:
        raise Conflict("The bid deadline has passed; bids can no longer be placed or changed")
    if bid.status != "submitted":
        raise Conflict("This bid was withdrawn; place a new one instead")
    return bid


async def revise_bid(conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID, terms: BidTerms) -> BidView:
    """The bidder changes its own bid before the deadline; the receipt changes with it."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        bid = await _own_open_bid(conn, public_id, organisation_id)
        await _eligible_or_refuse(conn, organisation_id, bid.tender_id, bid.lot_id, terms.conflict_of_interest)
        _check_terms(terms, bid.lot_budget_fen)
        sealed = _seal(public_id, bid.tender_id, bid.lot_id, organisation_id, terms)
        bid_id = await bids_sql.update_own_bid(conn, public_id, organisation_id, sealed)
        if bid_id is None:
            raise Conflict("The bid deadline has passed; bids can no longer be placed or changed")
        await bids_sql.add_event(conn, bid_id, organisation_id, who.account_id, "revised", sealed.receipt)
    return await get_bid(conn, who, public_id)


async def withdraw_bid(conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID) -> BidView:
    """The bidder withdraws its own bid before the deadline."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        await _own_open_bid(conn, public_id, organisation_id)
        withdrawn = await bids_sql.withdraw_own_bid(conn, public_id, organisation_id)
        if withdrawn is None:
            raise Conflict("The bid deadline has passed; bids can no longer be placed or changed")
        await bids_sql.add_event(conn, withdrawn[0], organisation_id, who.account_id, "withdrawn", withdrawn[1])
    return await get_bid(conn, who, public_id)


async def get_bid(conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID) -> BidView:
    """A bid: its bidder always; the tender's funder once the bids are opened; anyone else never (404)."""
    if who.role == "organisation" and who.organisation_id is not None:
        bid = await bids_sql.get_own_bid(conn, public_id, who.organisation_id)
        if bid is not None:
            return BidView(bid=bid, events=await bids_sql.own_bid_events(conn, public_id, who.organisation_id))
    if who.role == "funder" and who.funder_id is not None:
        bid = await bids_sql.get_opened_bid_for_funder(conn, public_id, who.funder_id)
        if bid is not None:
            return BidView(bid=bid, events=[])
    raise NotFound("No such bid")


async def my_bids(conn: asyncpg.Connection, who: Identity, tender_id: int | None = None) -> list[bids_sql.BidRow]:
    """The organisation's own bids."""
    return await bids_sql.list_own_bids(conn, who.organisation_id_or_refuse(_ONLY_ORGANISATIONS), tender_id)


async def open_bids(conn: asyncpg.Connection, tender_id: int) -> BidsOpened:
    """At or after the deadline: move the tender to review and write one audit row; repeat calls do nothing."""
    opened, count = await open_sealed(
        conn,
        tender_id,
        subject="tender",
        action="tender.bids_opened",
        get=tenders_sql.get_tender,
        move_to_review=tenders_sql.move_to_review,
        receipts=_receipts,
        missing="No such tender",
        still_sealed="Bids stay sealed until the deadline",
    )
    return BidsOpened(tender_id=tender_id, opened=opened, count=count)


async def _receipts(conn: asyncpg.Connection, tender_id: int) -> list[str]:
    return [r.receipt for r in await bids_sql.opened_receipts(conn, tender_id)]


async def open_due_bids(conn: asyncpg.Connection) -> list[BidsOpened]:
    """Open the bids of every tender whose deadline has passed (for the worker's cron)."""
    return [await open_bids(conn, tender_id) for tender_id in await tenders_sql.due_tenders(conn)]


async def opened_bids_for_funder(conn: asyncpg.Connection, who: Identity, tender_id: int) -> list[bids_sql.BidRow]:
    """The funder reads its tender's bids once the deadline has passed (opening them if nobody has yet)."""
    funder_id = who.funder_id_or_refuse("Only the tender's funder may read its bids")
    tender = await tenders_sql.get_tender(conn, tender_id)
    if tender is None or tender.funder_id != funder_id:
        raise NotFound("No such tender")
    if tender.status == "open":
        # Same answer whether there are bids or not: the count is sealed too.
        await open_bids(conn, tender_id)
    return await bids_sql.list_opened_bids_for_funder(conn, tender_id, funder_id)
