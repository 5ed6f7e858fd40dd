"""Tenders (招标项目) with their lots (标段), the needs each lot bundles, and the funder's rules.

Nothing here counts or reads bids: a tender's public face says nothing about how many bids it has.
Deadlines are compared with clock_timestamp(), not now(): a long transaction must not stretch a bid window.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_one, with_json


class FunderRulesRow(msgspec.Struct, frozen=True):
    """A funder's settings for the rules from practice."""

    funder_id: int
    funder_kind: str
    funder_name: str
    area_id: int
    notice_days: int
    objection_reply_days: int
    evaluation_days: int
    contract_sign_days: int
    min_price_weight_pct: int
    max_contract_months: int
    max_continuous_contract_months: int
    unqualified_bar_years: int
    rating_valid_years: int


class LotPublic(msgspec.Struct, frozen=True):
    """What the API may show of a lot: its terms and the needs it bundles."""

    id: int
    number: int
    title: str
    budget_fen: int
    staff_hours: int
    deliverables: str
    contract_months: int
    long_contract_reason: str
    status: str
    need_ids: list[int]


class LotRow(LotPublic, frozen=True):
    """One lot of a tender and the needs it bundles."""

    tender_id: int
    # Per need of the lot: the areas it lies in (its committee's, that one's sub-district and district), for the
    # eligibility rule on the areas an organisation serves.
    need_areas: list[list[int | None]] = []


class Criterion(msgspec.Struct, frozen=True):
    """An evaluation criterion and its weight in percent."""

    name: str
    weight: int


class TenderPublic(msgspec.Struct, frozen=True):
    """What the API may show of a tender, besides its criteria and lots: funder, catalogue item, window, rules."""

    id: int
    funder_id: int
    funder_name: str
    funder_kind: str
    catalogue_code: str
    catalogue_name_zh: str
    catalogue_name_en: str
    title: str
    description: str
    status: str
    bids_open_at: dt.datetime
    bids_close_at: dt.datetime
    min_rating: int | None
    rating_must_be_valid: bool
    min_years_registered: int
    price_weight_pct: int
    max_lots_per_bidder: int | None
    total_budget_fen: int


class TenderRow(TenderPublic, frozen=True):
    """A tender with its funder, catalogue item and lots."""

    catalogue_item_id: int
    created_at: dt.datetime
    unqualified_bar_years: int
    criteria: list[Criterion]
    lots: list[LotRow]


SELECT_FUNDER_RULES = """
SELECT f.id AS funder_id, f.kind AS funder_kind, f.name AS funder_name, f.area_id,
       r.notice_days, r.objection_reply_days, r.evaluation_days, r.contract_sign_days, r.min_price_weight_pct,
       r.max_contract_months, r.max_continuous_contract_months, r.unqualified_bar_years, r.rating_valid_years
FROM funders f JOIN funder_rules r ON r.funder_id = f.id WHERE f.id = $1
"""
# Lots are nested in PostgreSQL so one row comes back per tender.
_TENDER_SELECT = """
SELECT t.id, t.funder_id, f.name AS funder_name, f.kind AS funder_kind,
       t.catalogue_item_id, ci.code AS catalogue_code, ci.name_zh AS catalogue_name_zh,
       ci.name_en AS catalogue_name_en, t.title, t.description, t.status, t.bids_open_at, t.bids_close_at,
       t.min_rating, t.rating_must_be_valid, t.min_years_registered, t.price_weight_pct, t.criteria::text AS criteria,
       t.max_lots_per_bidder, t.created_at, r.unqualified_bar_years,
       coalesce((SELECT sum(l.budget_fen) FROM lots l WHERE l.tender_id = t.id), 0)::bigint AS total_budget_fen,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', l.id, 'tender_id', l.tender_id, 'number', l.number, 'title', l.title,
                   'budget_fen', l.budget_fen, 'staff_hours', l.staff_hours, 'deliverables', l.deliverables,
                   'contract_months', l.contract_months, 'long_contract_reason', l.long_contract_reason,
                   'status', l.status,
                   'need_ids', coalesce((SELECT jsonb_agg(ln.need_id ORDER BY ln.need_id) FROM lot_needs ln
                                         WHERE ln.lot_id = l.id), '[]'::jsonb),
                   'need_areas', coalesce((SELECT jsonb_agg(jsonb_build_array(a.id, a.parent_id, p.parent_id)
                                                            ORDER BY ln.need_id)
                                           FROM lot_needs ln JOIN needs n ON n.id = ln.need_id
                                           JOIN committees c ON c.id = n.committee_id JOIN areas a ON a.id = c.area_id
                                           LEFT JOIN areas p ON p.id = a.parent_id
                                           WHERE ln.lot_id = l.id), '[]'::jsonb))
                   ORDER BY l.number)
                 FROM lots l WHERE l.tender_id = t.id), '[]'::jsonb)::text AS lots
FROM tenders t
JOIN funders f ON f.id = t.funder_id
JOIN funder_rules r ON r.funder_id = t.funder_id
JOIN catalogue_items ci ON ci.id = t.catalogue_item_id
"""
SELECT_TENDER = _TENDER_SELECT + " WHERE t.id = $1"
_TENDER_FILTER = """
WHERE ($1::text IS NULL OR t.status = $1)
  AND ($2::bigint IS NULL OR t.funder_id = $2)
  AND ($3::text IS NULL OR ci.code = $3)
"""
SELECT_TENDERS = _TENDER_SELECT + _TENDER_FILTER + " ORDER BY t.bids_close_at DESC, t.id DESC LIMIT $4 OFFSET $5"
COUNT_TENDERS = "SELECT count(*) FROM tenders t JOIN catalogue_items ci ON ci.id = t.catalogue_item_id" + _TENDER_FILTER
# Tenders an organisation could bid on now: open, window open, deadline ahead.
SELECT_BIDDABLE_TENDERS = (
    _TENDER_SELECT
    + """
WHERE t.status = 'open' AND t.bids_close_at > clock_timestamp()
ORDER BY t.bids_close_at, t.id LIMIT $1 OFFSET $2
"""
)
COUNT_BIDDABLE_TENDERS = (
    "SELECT count(*) FROM tenders t WHERE t.status = 'open' AND t.bids_close_at > clock_timestamp()"
)
SELECT_CATALOGUE_ITEM = "SELECT id FROM catalogue_items WHERE code = $1"
INSERT_TENDER = """
INSERT INTO tenders (funder_id, catalogue_item_id, title, description, bids_open_at, bids_close_at, min_rating,
                     rating_must_be_valid, min_years_registered, price_weight_pct, criteria, max_lots_per_bidder,
                     created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13) RETURNING id
"""
INSERT_LOT = """
INSERT INTO lots (tender_id, number, title, budget_fen, staff_hours, deliverables, contract_months,
                  long_contract_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
"""
INSERT_LOT_NEEDS = "INSERT INTO lot_needs (lot_id, need_id) SELECT $1, unnest($2::bigint[])"
# Needs join a tender only if they are open, of the tender's catalogue item, and at or under the funder's area.
TAKE_NEEDS = """
UPDATE needs n SET status = 'in_tender', updated_at = now()
FROM committees c JOIN areas ca ON ca.id = c.area_id JOIN areas s ON s.id = ca.parent_id
WHERE n.id = ANY($1::bigint[]) AND c.id = n.committee_id AND n.status = 'open'
  AND n.catalogue_item_id = $2 AND $3 IN (ca.id, s.id, s.parent_id)
RETURNING n.id
"""
# The deadline has passed and the tender is still open: seal broken once, the tender goes to review.
MOVE_TO_REVIEW = """
UPDATE tenders SET status = 'review'
WHERE id = $1 AND status = 'open' AND bids_close_at <= clock_timestamp() RETURNING id
"""
SELECT_DUE_TENDERS = "SELECT id FROM tenders WHERE status = 'open' AND bids_close_at <= clock_timestamp() ORDER BY id"
CANCEL_TENDER = """
UPDATE tenders SET status = 'cancelled' WHERE id = $1 AND funder_id = $2 AND status = 'open' RETURNING id
"""
RELEASE_TENDER_NEEDS = """
UPDATE needs SET status = 'open', updated_at = now()
WHERE status = 'in_tender' AND id IN (SELECT ln.need_id FROM lot_needs ln JOIN lots l ON l.id = ln.lot_id
                                      WHERE l.tender_id = $1)
"""
CANCEL_TENDER_LOTS = "UPDATE lots SET status = 'cancelled' WHERE tender_id = $1"


def _tender(record: asyncpg.Record) -> TenderRow:
    return with_json(record, TenderRow, "criteria", "lots")


async def funder_rules(conn: asyncpg.Connection, funder_id: int) -> FunderRulesRow | None:
    """A funder's rules, with its kind and area."""
    return await fetch_one(conn, SELECT_FUNDER_RULES, FunderRulesRow, funder_id)


async def get_tender(conn: asyncpg.Connection, tender_id: int) -> TenderRow | None:
    """One tender with its lots."""
    record = await conn.fetchrow(SELECT_TENDER, tender_id)
    return None if record is None else _tender(record)


async def list_tenders(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    funder_id: int | None,
    category: str | None,
    limit: int,
    offset: int,
) -> tuple[list[TenderRow], int]:
    """A page of tenders matching the filters, and the total."""
    rows = await conn.fetch(SELECT_TENDERS, status, funder_id, category, limit, offset)
    total = await conn.fetchval(COUNT_TENDERS, status, funder_id, category)
    return [_tender(r) for r in rows], int(total)


async def list_biddable_tenders(conn: asyncpg.Connection, limit: int, offset: int) -> tuple[list[TenderRow], int]:
    """Open tenders whose deadline is ahead, soonest first, and their number."""
    rows = await conn.fetch(SELECT_BIDDABLE_TENDERS, limit, offset)
    return [_tender(r) for r in rows], int(await conn.fetchval(COUNT_BIDDABLE_TENDERS))


async def catalogue_item_id(conn: asyncpg.Connection, code: str) -> int | None:
    """The id of a catalogue item by code."""
    value = await conn.fetchval(SELECT_CATALOGUE_ITEM, code)
    return None if value is None else int(value)


async def insert_tender(
    conn: asyncpg.Connection,
    *,
    funder_id: int,
    catalogue_item_id: int,
    title: str,
    description: str,
    bids_open_at: dt.datetime,
    bids_close_at: dt.datetime,
    min_rating: int | None,
    rating_must_be_valid: bool,
    min_years_registered: int,
    price_weight_pct: int,
    criteria: list[Criterion],
    max_lots_per_bidder: int | None,
    created_by: int,
) -> int:
    """Store an open tender; returns its id."""
    return int(
        await conn.fetchval(
            INSERT_TENDER,
            funder_id,
            catalogue_item_id,
            title,
            description,
            bids_open_at,
            bids_close_at,
            min_rating,
            rating_must_be_valid,
            min_years_registered,
            price_weight_pct,
            msgspec.json.encode(criteria).decode(),
            max_lots_per_bidder,
            created_by,
        )
    )


async def insert_lot(
    conn: asyncpg.Connection,
    tender_id: int,
    *,
    number: int,
    title: str,
    budget_fen: int,
    staff_hours: int,
    deliverables: str,
    contract_months: int,
    long_contract_reason: str,
    need_ids: list[int],
) -> int:
    """Store a lot and the needs it bundles; returns its id."""
    lot_id = int(
        await conn.fetchval(
            INSERT_LOT,
            tender_id,
            number,
            title,
            budget_fen,
            staff_hours,
            deliverables,
            contract_months,
            long_contract_reason,
        )
    )
    if need_ids:
        await conn.execute(INSERT_LOT_NEEDS, lot_id, need_ids)
    return lot_id


async def take_needs(conn: asyncpg.Connection, need_ids: list[int], catalogue_item_id: int, area_id: int) -> list[int]:
    """Move open needs of the item and area into a tender; returns the ids that moved."""
    return [int(r["id"]) for r in await conn.fetch(TAKE_NEEDS, need_ids, catalogue_item_id, area_id)]


async def move_to_review(conn: asyncpg.Connection, tender_id: int) -> bool:
    """Close bidding on a tender past its deadline; False if it was not open or the deadline is ahead."""
    return await conn.fetchval(MOVE_TO_REVIEW, tender_id) is not None


async def due_tenders(conn: asyncpg.Connection) -> list[int]:
    """Open tenders whose deadline has passed."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_DUE_TENDERS)]


async def cancel_tender(conn: asyncpg.Connection, tender_id: int, funder_id: int) -> bool:
    """Cancel the funder's own open tender and give its needs back; False otherwise."""
    if await conn.fetchval(CANCEL_TENDER, tender_id, funder_id) is None:
        return False
    await conn.execute(RELEASE_TENDER_NEEDS, tender_id)
    await conn.execute(CANCEL_TENDER_LOTS, tender_id)
    return True
