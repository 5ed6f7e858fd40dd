"""Funders' figures: budget committed, awarded and paid on the same lots, per funder and catalogue item; stages."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.rows import fetch_all


class MoneyByFunder(msgspec.Struct, frozen=True):
    """One funder's committed, awarded and paid money in fen."""

    funder_id: int
    funder_name: str
    committed_fen: int
    awarded_fen: int
    paid_fen: int


class MoneyByItem(msgspec.Struct, frozen=True):
    """The same figures for one catalogue item."""

    catalogue_item_id: int
    code: str
    name_zh: str
    name_en: str
    committed_fen: int
    awarded_fen: int
    paid_fen: int


class StageCount(msgspec.Struct, frozen=True):
    """How many tenders are at one stage."""

    status: str
    tenders: int


# One row per lot with its three figures; $1 is the funder, NULL for the whole platform (admins).
# All three are counted on one basis, the same lots: every lot not cancelled, of a tender not cancelled, open or
# long closed. Committed: their budgets. Awarded: the prices of their live awards (a reopened one no longer counts).
# Paid: the instalments paid on their contracts. A price never exceeds its lot's budget, so awarded never exceeds
# committed in any row (before, committed left closed tenders out while awarded kept them: ¥625,600 awarded
# against ¥500,000 budgeted).
_with_per_lot = """
WITH per_lot AS (
    SELECT t.funder_id, t.catalogue_item_id, l.budget_fen AS committed_fen,
           coalesce((SELECT sum(a.price_fen) FROM awards a
                     WHERE a.lot_id = l.id AND a.status NOT IN ('reopened', 'superseded')), 0) AS awarded_fen,
           coalesce((SELECT sum(p.amount_fen) FROM awards a JOIN contracts c ON c.award_id = a.id
                     JOIN milestones m ON m.contract_id = c.id JOIN payments p ON p.milestone_id = m.id
                     WHERE a.lot_id = l.id), 0) AS paid_fen
    FROM lots l JOIN tenders t ON t.id = l.tender_id
    WHERE ($1::bigint IS NULL OR t.funder_id = $1) AND t.status <> 'cancelled' AND l.status <> 'cancelled'
)
"""
SELECT_BY_FUNDER = (
    _with_per_lot
    + """
SELECT f.id AS funder_id, f.name AS funder_name,
       coalesce(sum(p.committed_fen), 0)::bigint AS committed_fen,
       coalesce(sum(p.awarded_fen), 0)::bigint AS awarded_fen,
       coalesce(sum(p.paid_fen), 0)::bigint AS paid_fen
FROM funders f JOIN per_lot p ON p.funder_id = f.id
GROUP BY f.id, f.name
ORDER BY coalesce(sum(p.committed_fen), 0) + coalesce(sum(p.awarded_fen), 0) DESC, f.id
"""
)
SELECT_BY_ITEM = (
    _with_per_lot
    + """
SELECT ci.id AS catalogue_item_id, ci.code, ci.name_zh, ci.name_en,
       coalesce(sum(p.committed_fen), 0)::bigint AS committed_fen,
       coalesce(sum(p.awarded_fen), 0)::bigint AS awarded_fen,
       coalesce(sum(p.paid_fen), 0)::bigint AS paid_fen
FROM catalogue_items ci JOIN per_lot p ON p.catalogue_item_id = ci.id
GROUP BY ci.id, ci.code, ci.name_zh, ci.name_en, ci.sort_order
ORDER BY ci.sort_order, ci.id
"""
)
# Every stage appears, with 0 where no tender is at it, in the order a tender passes through them.
SELECT_STAGES = """
SELECT s.status, count(t.id)::int AS tenders
FROM unnest(ARRAY['open', 'review', 'awarding', 'awarded', 'notice', 'contracting', 'closed', 'cancelled'])
     WITH ORDINALITY AS s(status, position)
LEFT JOIN tenders t ON t.status = s.status AND ($1::bigint IS NULL OR t.funder_id = $1)
GROUP BY s.status, s.position
ORDER BY s.position
"""


async def money_by_funder(conn: asyncpg.Connection, funder_id: int | None) -> list[MoneyByFunder]:
    """Committed, awarded and paid per funder (one funder, or all when None)."""
    return await fetch_all(conn, SELECT_BY_FUNDER, MoneyByFunder, funder_id)


async def money_by_item(conn: asyncpg.Connection, funder_id: int | None) -> list[MoneyByItem]:
    """Committed, awarded and paid per catalogue item (one funder's tenders, or all when None)."""
    return await fetch_all(conn, SELECT_BY_ITEM, MoneyByItem, funder_id)


async def tenders_by_stage(conn: asyncpg.Connection, funder_id: int | None) -> list[StageCount]:
    """How many tenders are at each stage (one funder's, or all when None)."""
    return await fetch_all(conn, SELECT_STAGES, StageCount, funder_id)
