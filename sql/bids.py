"""Sealed bids (投标) and their bidder-only history.

Before a tender's deadline every read here is scoped to the bidding organisation (`AND b.organisation_id = $n`);
reads for the funder require the tender to have left 'open' (bids opened at the deadline).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class BidTermsFields(msgspec.Struct, frozen=True):
    """A bid's sealed terms as stored: price in fen, committed staff-hours, plan, team, conflict-of-interest
    declaration."""

    price_fen: int
    hours: int
    plan: str
    team: str
    conflict_of_interest: bool
    conflict_detail: str


class BidPublic(BidTermsFields, frozen=True):
    """What the API may show of a bid to its bidder (and the funder once opened), besides its public id: its terms,
    its tender, lot and bidder, and its state."""

    tender_id: int
    tender_title: str
    lot_id: int
    lot_number: int
    lot_title: str
    organisation_id: int
    organisation_name: str
    status: str
    receipt: str
    submitted_at: dt.datetime
    updated_at: dt.datetime
    bids_close_at: dt.datetime


class BidRow(BidPublic, frozen=True):
    """A bid with its lot and tender: the id people see (the API's `id`) and the lot's budget for the checks."""

    public_id: uuid.UUID
    lot_budget_fen: int
    # What became of the bid, from its lot's award: submitted (bids still open), in_review, won, lost, withdrawn,
    # cancelled. A proposed award is not a result yet: bidders learn it when the notice is published.
    result: str = "submitted"


class BidEventRow(msgspec.Struct, frozen=True):
    """One step of a bid's history."""

    event: str
    receipt: str
    at: dt.datetime


class LotForBidRow(msgspec.Struct, frozen=True):
    """What a bid is checked against: the lot, its tender's window and rules."""

    lot_id: int
    lot_number: int
    lot_status: str
    budget_fen: int
    tender_id: int
    tender_status: str
    bids_open_at: dt.datetime
    bids_close_at: dt.datetime
    window_open: bool
    deadline_passed: bool


class OrgFactsRow(msgspec.Struct, frozen=True):
    """What eligibility looks at: status, the verified rating, registration, and the last 'unqualified' grade."""

    id: int
    name: str
    status: str
    rating: int | None
    rating_expires_on: dt.date | None
    declared_rating: int | None
    registered_on: dt.date
    last_unqualified_at: dt.datetime | None
    category_ids: list[int]
    area_ids: list[int]


class SealedTerms(BidTermsFields, frozen=True):
    """What a bidder stores of its bid: the terms, the receipt that seals them and when they were sealed."""

    receipt: str
    sealed_at: dt.datetime


class OpenedBidRow(msgspec.Struct, frozen=True):
    """A bid read at or after the deadline."""

    public_id: uuid.UUID
    lot_id: int
    organisation_id: int
    receipt: str


_BID_SELECT = """
SELECT b.public_id, t.id AS tender_id, t.title AS tender_title, l.id AS lot_id, l.number AS lot_number,
       l.title AS lot_title, l.budget_fen AS lot_budget_fen, b.organisation_id, o.name AS organisation_name,
       b.price_fen, b.hours, b.plan, b.team, b.conflict_of_interest, b.conflict_detail, b.status, b.receipt,
       b.submitted_at, b.updated_at, t.bids_close_at,
       CASE WHEN b.status = 'withdrawn' THEN 'withdrawn'
            WHEN t.status = 'cancelled' OR l.status = 'cancelled' THEN 'cancelled'
            WHEN t.status = 'open' THEN 'submitted'
            WHEN EXISTS (SELECT 1 FROM awards a WHERE a.lot_id = l.id AND a.bid_id = b.id
                         AND a.status IN ('published', 'final')) THEN 'won'
            WHEN l.status = 'unawarded' OR EXISTS (SELECT 1 FROM awards a WHERE a.lot_id = l.id
                                                   AND a.status IN ('published', 'final')) THEN 'lost'
            ELSE 'in_review' END AS result
FROM bids b
JOIN lots l ON l.id = b.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN organisations o ON o.id = b.organisation_id
"""
SELECT_OWN_BID = _BID_SELECT + " WHERE b.public_id = $1 AND b.organisation_id = $2"
SELECT_OWN_BIDS = (
    _BID_SELECT
    + """
WHERE b.organisation_id = $1 AND ($2::bigint IS NULL OR t.id = $2)
ORDER BY t.bids_close_at DESC, l.number, b.submitted_at DESC LIMIT $3
"""
)
# The funder reads a bid only once its tender is out of 'open' (opened at the deadline).
SELECT_OPENED_BID_FOR_FUNDER = (
    _BID_SELECT
    + " WHERE b.public_id = $1 AND t.funder_id = $2 AND t.status <> 'open' AND t.bids_close_at <= clock_timestamp()"
)
SELECT_OPENED_BIDS_FOR_FUNDER = (
    _BID_SELECT
    + """
WHERE t.id = $1 AND t.funder_id = $2 AND t.status <> 'open' AND t.bids_close_at <= clock_timestamp()
  AND b.status = 'submitted'
ORDER BY l.number, b.price_fen, b.submitted_at
"""
)
# The share lock on the tender makes a bid in flight and the opening at the deadline wait for each other, so no
# bid lands after its tender's bids were counted.
SELECT_LOT_FOR_BID = """
SELECT l.id AS lot_id, l.number AS lot_number, l.status AS lot_status, l.budget_fen, t.id AS tender_id,
       t.status AS tender_status, t.bids_open_at, t.bids_close_at,
       t.bids_open_at <= clock_timestamp() AS window_open, t.bids_close_at <= clock_timestamp() AS deadline_passed
FROM lots l JOIN tenders t ON t.id = l.tender_id WHERE l.id = $1
FOR SHARE OF t
"""
SELECT_ORG_FACTS = """
SELECT o.id, o.name, o.status, rc.rating, rc.rating_expires_on, o.rating AS declared_rating, o.registered_on,
       (SELECT max(c.graded_at) FROM contracts c WHERE c.organisation_id = o.id AND c.grade = 'unqualified')
           AS last_unqualified_at,
       ARRAY(SELECT oc.catalogue_item_id FROM organisation_categories oc WHERE oc.organisation_id = o.id
             ORDER BY 1) AS category_ids,
       ARRAY(SELECT oa.area_id FROM organisation_areas oa WHERE oa.organisation_id = o.id ORDER BY 1) AS area_ids
FROM organisations o
LEFT JOIN organisation_checks rc ON rc.id = o.rating_check_id AND rc.state = 'verified'
WHERE o.id = $1
"""
SELECT_OWN_LIVE_BID_ON_LOT = (
    "SELECT public_id FROM bids WHERE lot_id = $1 AND organisation_id = $2 AND status = 'submitted'"
)
INSERT_BID = """
INSERT INTO bids (lot_id, organisation_id, price_fen, hours, plan, team, conflict_of_interest, conflict_detail,
                  receipt, public_id, submitted_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id
"""
# Revisions and withdrawals: the bidder's own live bid, and only while its tender is open and before the deadline.
_OWN_LIVE_BID_BEFORE_DEADLINE = """
FROM lots l JOIN tenders t ON t.id = l.tender_id
WHERE b.public_id = $1 AND b.organisation_id = $2 AND b.status = 'submitted' AND l.id = b.lot_id
  AND t.status = 'open' AND t.bids_close_at > clock_timestamp()
"""
UPDATE_OWN_BID = f"""
UPDATE bids b SET price_fen = $3, hours = $4, plan = $5, team = $6, conflict_of_interest = $7, conflict_detail = $8,
                  receipt = $9, updated_at = $10
{_OWN_LIVE_BID_BEFORE_DEADLINE}
RETURNING b.id
"""
WITHDRAW_OWN_BID = f"""
UPDATE bids b SET status = 'withdrawn', updated_at = now()
{_OWN_LIVE_BID_BEFORE_DEADLINE}
RETURNING b.id, b.receipt
"""
INSERT_BID_EVENT = """
INSERT INTO bid_events (bid_id, organisation_id, actor_account_id, event, receipt) VALUES ($1, $2, $3, $4, $5)
"""
SELECT_OWN_BID_EVENTS = """
SELECT e.event, e.receipt, e.at FROM bid_events e JOIN bids b ON b.id = e.bid_id
WHERE b.public_id = $1 AND e.organisation_id = $2 AND b.organisation_id = $2
ORDER BY e.id
"""
# Used by open_bids only, after the tender has moved out of 'open' in the same transaction.
SELECT_OPENED_RECEIPTS = """
SELECT b.public_id, b.lot_id, b.organisation_id, b.receipt
FROM bids b JOIN lots l ON l.id = b.lot_id JOIN tenders t ON t.id = l.tender_id
WHERE l.tender_id = $1 AND b.status = 'submitted' AND t.status <> 'open' AND t.bids_close_at <= clock_timestamp()
ORDER BY l.number, b.receipt
"""


async def get_own_bid(conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int) -> BidRow | None:
    """The organisation's own bid by public id."""
    return await fetch_one(conn, SELECT_OWN_BID, BidRow, public_id, organisation_id)


async def list_own_bids(
    conn: asyncpg.Connection, organisation_id: int, tender_id: int | None, limit: int = 200
) -> list[BidRow]:
    """The organisation's own bids, newest tenders first, optionally of one tender."""
    return await fetch_all(conn, SELECT_OWN_BIDS, BidRow, organisation_id, tender_id, limit)


async def get_opened_bid_for_funder(conn: asyncpg.Connection, public_id: uuid.UUID, funder_id: int) -> BidRow | None:
    """A bid of the funder's tender, once its bids have been opened."""
    return await fetch_one(conn, SELECT_OPENED_BID_FOR_FUNDER, BidRow, public_id, funder_id)


async def list_opened_bids_for_funder(conn: asyncpg.Connection, tender_id: int, funder_id: int) -> list[BidRow]:
    """The live bids of the funder's tender, once opened."""
    return await fetch_all(conn, SELECT_OPENED_BIDS_FOR_FUNDER, BidRow, tender_id, funder_id)


async def lot_for_bid(conn: asyncpg.Connection, lot_id: int) -> LotForBidRow | None:
    """The lot a bid is for, with its tender's window."""
    return await fetch_one(conn, SELECT_LOT_FOR_BID, LotForBidRow, lot_id)


async def org_facts(conn: asyncpg.Connection, organisation_id: int) -> OrgFactsRow | None:
    """What eligibility needs to know about an organisation."""
    return await fetch_one(conn, SELECT_ORG_FACTS, OrgFactsRow, organisation_id)


async def own_live_bid_on_lot(conn: asyncpg.Connection, lot_id: int, organisation_id: int) -> uuid.UUID | None:
    """The public id of the organisation's live bid on a lot, if any."""
    value = await conn.fetchval(SELECT_OWN_LIVE_BID_ON_LOT, lot_id, organisation_id)
    return None if value is None else uuid.UUID(str(value))


async def insert_bid(
    conn: asyncpg.Connection, public_id: uuid.UUID, lot_id: int, organisation_id: int, sealed: SealedTerms
) -> int:
    """Store a sealed bid; returns its internal id."""
    bid_id = await conn.fetchval(
        INSERT_BID, lot_id, organisation_id, sealed.price_fen, sealed.hours, sealed.plan, sealed.team,
        sealed.conflict_of_interest, sealed.conflict_detail, sealed.receipt, public_id, sealed.sealed_at,
    )  # fmt: skip
    return int(bid_id)


async def update_own_bid(
    conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int, sealed: SealedTerms
) -> int | None:
    """Revise the organisation's own live bid before the deadline; its internal id, or None."""
    value = await conn.fetchval(
        UPDATE_OWN_BID, public_id, organisation_id, sealed.price_fen, sealed.hours, sealed.plan, sealed.team,
        sealed.conflict_of_interest, sealed.conflict_detail, sealed.receipt, sealed.sealed_at,
    )  # fmt: skip
    return None if value is None else int(value)


async def withdraw_own_bid(
    conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int
) -> tuple[int, str] | None:
    """Withdraw the organisation's own live bid before the deadline; (internal id, receipt) or None."""
    record = await conn.fetchrow(WITHDRAW_OWN_BID, public_id, organisation_id)
    return None if record is None else (int(record["id"]), str(record["receipt"]))


async def add_event(
    conn: asyncpg.Connection, bid_id: int, organisation_id: int, actor_account_id: int, event: str, receipt: str
) -> None:
    """Record one step of a bid's history (seen by its bidder only)."""
    await conn.execute(INSERT_BID_EVENT, bid_id, organisation_id, actor_account_id, event, receipt)


async def own_bid_events(conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int) -> list[BidEventRow]:
    """The history of the organisation's own bid."""
    return await fetch_all(conn, SELECT_OWN_BID_EVENTS, BidEventRow, public_id, organisation_id)


async def opened_receipts(conn: asyncpg.Connection, tender_id: int) -> list[OpenedBidRow]:
    """The live bids of a tender whose bids are open: lot, bidder, receipt."""
    return await fetch_all(conn, SELECT_OPENED_RECEIPTS, OpenedBidRow, tender_id)
