"""Awards: the inputs of an award run, its result per lot, publication and the public notice."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one, with_json


class AwardLotRow(msgspec.Struct, frozen=True):
    """A lot an award run decides (it has no published award yet)."""

    id: int
    number: int
    title: str
    budget_fen: int
    status: str


class AwardBidRow(msgspec.Struct, frozen=True):
    """A live bid of a lot the run decides, with what the optimiser needs of its organisation."""

    id: int
    public_id: uuid.UUID
    lot_id: int
    organisation_id: int
    organisation_name: str
    organisation_verified: bool
    capacity_hours: int
    capacity_verified: bool
    committed_hours: int
    lots_won_in_tender: int
    price_fen: int
    hours: int
    conflict_of_interest: bool
    overturned: bool


class AwardPublic(msgspec.Struct, frozen=True):
    """What the API may show of an award of a lot, besides its bid's public id: the winner, price, score, reasons."""

    id: int
    lot_id: int
    lot_number: int
    organisation_id: int
    organisation_name: str
    price_fen: int
    score: float
    reasons: dict[str, Any]
    status: str


class AwardRow(AwardPublic, frozen=True):
    """An award of a lot, with the names the pages show, its bid and its run."""

    lot_title: str
    lot_status: str
    bid_id: int
    bid_public_id: uuid.UUID
    run_id: int
    created_at: dt.datetime


class FunderRulesRow(msgspec.Struct, frozen=True):
    """The funder's notice and objection periods."""

    notice_days: int
    objection_reply_days: int


class NoticeRow(msgspec.Struct, frozen=True):
    """A tender whose award has been published, as the public sees it."""

    tender_id: int
    title: str
    funder_name: str
    status: str
    notice_starts_at: dt.datetime
    notice_ends_at: dt.datetime
    in_period: bool
    lots: int
    awarded_lots: int


_LIVE_PUBLISHED = "a.status IN ('published', 'final')"
# Lots the run decides: not cancelled and without a published award (a reopened lot is decided again).
SELECT_AWARD_LOTS = f"""
SELECT l.id, l.number, l.title, l.budget_fen, l.status
FROM lots l
WHERE l.tender_id = $1 AND l.status <> 'cancelled'
  AND NOT EXISTS (SELECT 1 FROM awards a WHERE a.lot_id = l.id AND {_LIVE_PUBLISHED})
ORDER BY l.number
"""
# Hours an organisation has already committed through published awards of other lots count against its capacity;
# lots it has already won in this tender count against the lots-won limit. The capacity is the verified one (0 and
# capacity_verified false when only declared: nothing self-declared opens restricted work).
SELECT_AWARD_BIDS = f"""
SELECT b.id, b.public_id, b.lot_id, o.id AS organisation_id, o.name AS organisation_name,
       o.status = 'verified' AS organisation_verified,
       coalesce(cc.staff_hours_capacity, 0) AS capacity_hours, cc.id IS NOT NULL AS capacity_verified,
       coalesce((SELECT sum(ob.hours) FROM awards a JOIN bids ob ON ob.id = a.bid_id
                 WHERE a.organisation_id = o.id AND {_LIVE_PUBLISHED} AND a.lot_id <> ALL($2::bigint[])), 0)::int
           AS committed_hours,
       (SELECT count(*) FROM awards a JOIN lots ol ON ol.id = a.lot_id
        WHERE a.organisation_id = o.id AND ol.tender_id = $1 AND {_LIVE_PUBLISHED})::int AS lots_won_in_tender,
       b.price_fen, b.hours, b.conflict_of_interest,
       EXISTS (SELECT 1 FROM awards a WHERE a.bid_id = b.id AND a.status = 'reopened') AS overturned
FROM bids b
JOIN lots l ON l.id = b.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN organisations o ON o.id = b.organisation_id
LEFT JOIN organisation_checks cc ON cc.id = o.capacity_check_id AND cc.state = 'verified'
WHERE t.id = $1 AND t.bids_close_at <= now() AND b.status = 'submitted' AND b.lot_id = ANY($2::bigint[])
ORDER BY b.lot_id, b.id
"""
SET_TENDER_STATUS = """
UPDATE tenders SET status = $3 WHERE id = $1 AND status = ANY($2::text[]) RETURNING id
"""
SUPERSEDE_PROPOSED = """
UPDATE awards SET status = 'superseded' WHERE lot_id = ANY($1::bigint[]) AND status = 'proposed' AND run_id <> $2
"""
INSERT_AWARD = """
INSERT INTO awards (lot_id, bid_id, run_id, organisation_id, price_fen, score, reasons)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
ON CONFLICT (run_id, lot_id) DO NOTHING
RETURNING id
"""
SET_LOT_STATUS = """
UPDATE lots SET status = $2 WHERE id = ANY($1::bigint[]) AND status <> 'cancelled'
"""
_AWARD_SELECT = """
SELECT a.id, a.lot_id, l.number AS lot_number, l.title AS lot_title, l.status AS lot_status, a.bid_id,
       (SELECT b.public_id FROM bids b WHERE b.id = a.bid_id) AS bid_public_id, a.run_id,
       a.organisation_id, o.name AS organisation_name, a.price_fen, a.score::float8 AS score,
       a.reasons::text AS reasons, a.status, a.created_at
FROM awards a JOIN lots l ON l.id = a.lot_id JOIN organisations o ON o.id = a.organisation_id
"""
SELECT_TENDER_AWARDS = _AWARD_SELECT + " WHERE l.tender_id = $1 AND a.status = ANY($2::text[]) ORDER BY l.number, a.id"
SELECT_RUN_AWARDS = _AWARD_SELECT + " WHERE a.run_id = $1 ORDER BY l.number"
SELECT_AWARD = _AWARD_SELECT + " WHERE a.id = $1"
SELECT_FUNDER_RULES = """
SELECT coalesce(r.notice_days, 15) AS notice_days, coalesce(r.objection_reply_days, 5) AS objection_reply_days
FROM tenders t LEFT JOIN funder_rules r ON r.funder_id = t.funder_id WHERE t.id = $1
"""
PUBLISH_AWARDS = """
UPDATE awards a SET status = 'published'
FROM lots l WHERE l.id = a.lot_id AND l.tender_id = $1 AND a.status = 'proposed'
RETURNING a.id
"""
# The notice period starts again with each publication (a re-awarded lot gets a full period of its own).
START_NOTICE = """
UPDATE tenders SET status = 'notice', notice_starts_at = now(), notice_ends_at = now() + make_interval(days => $3)
WHERE id = $1 AND funder_id = $2 AND status IN ('awarded', 'notice')
RETURNING notice_ends_at
"""
REOPEN_AWARD = """
UPDATE awards SET status = 'reopened' WHERE lot_id = $1 AND status = 'published' RETURNING id
"""
REOPEN_LOT = "UPDATE lots SET status = 'reopened' WHERE id = $1 AND status <> 'cancelled' RETURNING id"
_NOTICE_SELECT = """
SELECT t.id AS tender_id, t.title, f.name AS funder_name, t.status, t.notice_starts_at, t.notice_ends_at,
       now() BETWEEN t.notice_starts_at AND t.notice_ends_at AS in_period,
       (SELECT count(*) FROM lots l WHERE l.tender_id = t.id AND l.status <> 'cancelled')::int AS lots,
       (SELECT count(*) FROM awards a JOIN lots l ON l.id = a.lot_id
        WHERE l.tender_id = t.id AND a.status IN ('published', 'final'))::int AS awarded_lots
FROM tenders t JOIN funders f ON f.id = t.funder_id
WHERE t.notice_starts_at IS NOT NULL
"""
SELECT_NOTICES = (
    _NOTICE_SELECT
    + " AND ($1 OR now() BETWEEN t.notice_starts_at AND t.notice_ends_at)"
    + " ORDER BY t.notice_starts_at DESC, t.id DESC LIMIT $2 OFFSET $3"
)
COUNT_NOTICES = """
SELECT count(*) FROM tenders t
WHERE t.notice_starts_at IS NOT NULL AND ($1 OR now() BETWEEN t.notice_starts_at AND t.notice_ends_at)
"""
SELECT_NOTICE = _NOTICE_SELECT + " AND t.id = $1"
TENDER_OF_FUNDER = "SELECT EXISTS (SELECT 1 FROM tenders WHERE id = $1 AND funder_id = $2)"
SELECT_LOT_OF_TENDER = "SELECT id FROM lots WHERE id = $1 AND tender_id = $2"


def _award(record: asyncpg.Record) -> AwardRow:
    return with_json(record, AwardRow, "reasons")


async def award_lots(conn: asyncpg.Connection, tender_id: int) -> list[AwardLotRow]:
    """The lots an award run of this tender decides."""
    return await fetch_all(conn, SELECT_AWARD_LOTS, AwardLotRow, tender_id)


async def award_bids(conn: asyncpg.Connection, tender_id: int, lot_ids: list[int]) -> list[AwardBidRow]:
    """The live bids of those lots, after the deadline only."""
    return await fetch_all(conn, SELECT_AWARD_BIDS, AwardBidRow, tender_id, lot_ids)


async def set_tender_status(conn: asyncpg.Connection, tender_id: int, from_statuses: list[str], status: str) -> bool:
    """Move a tender to a status if it is in one of the given ones."""
    return await conn.fetchval(SET_TENDER_STATUS, tender_id, from_statuses, status) is not None


async def supersede_proposed(conn: asyncpg.Connection, lot_ids: list[int], run_id: int) -> None:
    """Older runs' unpublished awards of these lots give way to this run's."""
    await conn.execute(SUPERSEDE_PROPOSED, lot_ids, run_id)


async def insert_award(
    conn: asyncpg.Connection,
    *,
    lot_id: int,
    bid_id: int,
    run_id: int,
    organisation_id: int,
    price_fen: int,
    score: float,
    reasons: dict[str, Any],
) -> int | None:
    """A proposed award; None if this run already awarded the lot."""
    found = await conn.fetchval(
        INSERT_AWARD,
        lot_id,
        bid_id,
        run_id,
        organisation_id,
        price_fen,
        Decimal(str(round(score, 3))),
        msgspec.json.encode(reasons).decode(),
    )
    return None if found is None else int(found)


async def set_lot_status(conn: asyncpg.Connection, lot_ids: list[int], status: str) -> None:
    """Mark lots awarded or unawarded."""
    await conn.execute(SET_LOT_STATUS, lot_ids, status)


async def tender_awards(conn: asyncpg.Connection, tender_id: int, statuses: list[str]) -> list[AwardRow]:
    """A tender's awards in the given statuses."""
    return [_award(r) for r in await conn.fetch(SELECT_TENDER_AWARDS, tender_id, statuses)]


async def run_awards(conn: asyncpg.Connection, run_id: int) -> list[AwardRow]:
    """The awards a run wrote."""
    return [_award(r) for r in await conn.fetch(SELECT_RUN_AWARDS, run_id)]


async def get_award(conn: asyncpg.Connection, award_id: int) -> AwardRow | None:
    """One award."""
    record = await conn.fetchrow(SELECT_AWARD, award_id)
    return None if record is None else _award(record)


async def funder_rules(conn: asyncpg.Connection, tender_id: int) -> FunderRulesRow:
    """The notice and reply periods of the tender's funder (defaults when it has no rules row)."""
    return msgspec.convert(await conn.fetchrow(SELECT_FUNDER_RULES, tender_id), FunderRulesRow)


async def publish_awards(conn: asyncpg.Connection, tender_id: int) -> list[int]:
    """Publish a tender's proposed awards; returns their ids."""
    return [int(r["id"]) for r in await conn.fetch(PUBLISH_AWARDS, tender_id)]


async def start_notice(conn: asyncpg.Connection, tender_id: int, funder_id: int, days: int) -> dt.datetime | None:
    """Start the notice period; None if the tender is not this funder's or not awarded."""
    ends: dt.datetime | None = await conn.fetchval(START_NOTICE, tender_id, funder_id, days)
    return ends


async def reopen_lot(conn: asyncpg.Connection, lot_id: int) -> int | None:
    """Reopen a lot and its published award; returns the award's id (None if it had none)."""
    award_id = await conn.fetchval(REOPEN_AWARD, lot_id)
    await conn.execute(REOPEN_LOT, lot_id)
    return None if award_id is None else int(award_id)


async def list_notices(
    conn: asyncpg.Connection, *, include_past: bool, limit: int, offset: int
) -> tuple[list[NoticeRow], int]:
    """Published award notices, current ones only unless include_past."""
    rows = await conn.fetch(SELECT_NOTICES, include_past, limit, offset)
    total = await conn.fetchval(COUNT_NOTICES, include_past)
    return [msgspec.convert(r, NoticeRow) for r in rows], int(total)


async def get_notice(conn: asyncpg.Connection, tender_id: int) -> NoticeRow | None:
    """One tender's notice, if it has been published."""
    return await fetch_one(conn, SELECT_NOTICE, NoticeRow, tender_id)


async def lot_in_tender(conn: asyncpg.Connection, lot_id: int, tender_id: int) -> bool:
    """Whether a lot belongs to a tender."""
    return await conn.fetchval(SELECT_LOT_OF_TENDER, lot_id, tender_id) is not None


async def tender_of_funder(conn: asyncpg.Connection, tender_id: int, funder_id: int) -> bool:
    """Whether the tender belongs to this funder."""
    return bool(await conn.fetchval(TENDER_OF_FUNDER, tender_id, funder_id))
