"""Review panels: reviewers assigned to tenders, the bids they read after the deadline, and their scores.

Every query that reads bids here also demands `bids_close_at <= now()`: sealed bids stay sealed until the deadline,
whoever asks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import asyncpg
import msgspec

from sql.bids import BidTermsFields
from sql.rows import fetch_all, with_json


class Criterion(msgspec.Struct, frozen=True):
    """A published evaluation criterion and its relative weight."""

    name: str
    weight: float


class ReviewTenderRow(msgspec.Struct, frozen=True):
    """What a review needs to know of a tender."""

    id: int
    funder_id: int
    title: str
    status: str
    bids_close_at: dt.datetime
    closed: bool
    price_weight_pct: int
    criteria: list[Criterion]
    max_lots_per_bidder: int | None


class ReviewerRow(msgspec.Struct, frozen=True):
    """A reviewer assigned to a tender and how many of its bids they have scored."""

    account_id: int
    display_name: str
    assigned_at: dt.datetime
    scored: int


class ReviewerChoiceRow(msgspec.Struct, frozen=True):
    """A reviewer account a funder may assign."""

    id: int
    username: str
    display_name: str


class AssignedTenderRow(msgspec.Struct, frozen=True):
    """A tender on a reviewer's list, with how far their own scoring has come."""

    id: int
    title: str
    status: str
    bids_close_at: dt.datetime
    bids: int
    scored_by_me: int


class ReviewBidPublic(BidTermsFields, frozen=True):
    """What the API may show the panel of an opened bid, besides its public id: the terms, the lot and the bidder."""

    lot_id: int
    lot_number: int
    lot_title: str
    lot_budget_fen: int
    organisation_id: int
    organisation_name: str


class ReviewBidRow(ReviewBidPublic, frozen=True):
    """An opened bid as the panel reads it (public_id is the id people see: sequential ids would tell counts)."""

    id: int
    public_id: uuid.UUID
    organisation_verified: bool
    bids_in_lot: int


class ReviewPublic(msgspec.Struct, frozen=True):
    """What the API may show of one reviewer's scores for one bid, besides the bid's public id."""

    reviewer_id: int
    reviewer_name: str
    scores: dict[str, float]
    quality_score: float
    necessary: bool | None
    feasible: bool | None
    comment: str
    submitted_at: dt.datetime


class ReviewRow(ReviewPublic, frozen=True):
    """One reviewer's scores for one bid."""

    bid_id: int
    bid_public_id: uuid.UUID


class Completeness(msgspec.Struct, frozen=True):
    """Whether every assigned reviewer has scored every live bid."""

    reviewers: int
    bids: int
    reviews: int

    @property
    def complete(self) -> bool:
        """All scores are in (and there was something to score)."""
        return self.reviewers > 0 and self.bids > 0 and self.reviews >= self.reviewers * self.bids


_TENDER_COLUMNS = """
t.id, t.funder_id, t.title, t.status, t.bids_close_at, t.bids_close_at <= now() AS closed, t.price_weight_pct,
t.criteria::text AS criteria, t.max_lots_per_bidder
"""
SELECT_TENDER_OF_FUNDER = f"SELECT {_TENDER_COLUMNS} FROM tenders t WHERE t.id = $1 AND t.funder_id = $2"
SELECT_TENDER = f"SELECT {_TENDER_COLUMNS} FROM tenders t WHERE t.id = $1"
# A reviewer reaches a tender only once assigned to it and only after its deadline.
SELECT_TENDER_FOR_REVIEWER = f"""
SELECT {_TENDER_COLUMNS} FROM tenders t JOIN tender_reviewers r ON r.tender_id = t.id AND r.account_id = $2
WHERE t.id = $1 AND t.bids_close_at <= now()
"""
SELECT_REVIEWER_CHOICES = """
SELECT id, username, display_name FROM accounts WHERE role = 'reviewer' AND disabled_at IS NULL
ORDER BY display_name, id
"""
INSERT_TENDER_REVIEWERS = """
INSERT INTO tender_reviewers (tender_id, account_id)
SELECT $1, a.id FROM accounts a WHERE a.id = ANY($2::bigint[]) AND a.role = 'reviewer' AND a.disabled_at IS NULL
ON CONFLICT DO NOTHING
RETURNING account_id
"""
COUNT_REVIEWER_ACCOUNTS = """
SELECT count(*) FROM accounts WHERE id = ANY($1::bigint[]) AND role = 'reviewer' AND disabled_at IS NULL
"""
# A reviewer leaves the panel only while they have scored nothing of the tender (their scores would otherwise be
# orphaned in the totals); the row back says it happened.
REMOVE_REVIEWER = """
DELETE FROM tender_reviewers r
WHERE r.tender_id = $1 AND r.account_id = $2
  AND NOT EXISTS (SELECT 1 FROM reviews v JOIN bids b ON b.id = v.bid_id JOIN lots l ON l.id = b.lot_id
                  WHERE v.reviewer_id = r.account_id AND l.tender_id = r.tender_id)
RETURNING r.account_id
"""
SELECT_TENDER_REVIEWERS = """
SELECT a.id AS account_id, a.display_name, r.assigned_at,
       (SELECT count(*) FROM reviews v JOIN bids b ON b.id = v.bid_id JOIN lots l ON l.id = b.lot_id
        WHERE v.reviewer_id = a.id AND l.tender_id = r.tender_id AND b.status = 'submitted')::int AS scored
FROM tender_reviewers r JOIN accounts a ON a.id = r.account_id
WHERE r.tender_id = $1 ORDER BY r.assigned_at, a.id
"""
SELECT_ASSIGNED_TENDERS = """
SELECT t.id, t.title, t.status, t.bids_close_at,
       (SELECT count(*) FROM bids b JOIN lots l ON l.id = b.lot_id
        WHERE l.tender_id = t.id AND b.status = 'submitted')::int AS bids,
       (SELECT count(*) FROM reviews v JOIN bids b ON b.id = v.bid_id JOIN lots l ON l.id = b.lot_id
        WHERE l.tender_id = t.id AND b.status = 'submitted' AND v.reviewer_id = $1)::int AS scored_by_me
FROM tenders t JOIN tender_reviewers r ON r.tender_id = t.id AND r.account_id = $1
WHERE t.bids_close_at <= now()
ORDER BY t.bids_close_at DESC, t.id
"""
SELECT_REVIEW_BIDS = """
SELECT b.id, b.public_id, l.id AS lot_id, l.number AS lot_number, l.title AS lot_title, l.budget_fen AS lot_budget_fen,
       o.id AS organisation_id, o.name AS organisation_name, o.status = 'verified' AS organisation_verified,
       b.price_fen, b.hours, b.plan, b.team, b.conflict_of_interest, b.conflict_detail,
       (count(*) OVER (PARTITION BY l.id))::int AS bids_in_lot
FROM bids b
JOIN lots l ON l.id = b.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN organisations o ON o.id = b.organisation_id
WHERE t.id = $1 AND t.bids_close_at <= now() AND b.status = 'submitted'
ORDER BY l.number, b.id
"""
SELECT_REVIEWS = """
SELECT v.bid_id, b.public_id AS bid_public_id, v.reviewer_id, a.display_name AS reviewer_name, v.scores::text AS scores,
       v.quality_score::float8 AS quality_score, v.necessary, v.feasible, v.comment, v.submitted_at
FROM reviews v
JOIN bids b ON b.id = v.bid_id
JOIN lots l ON l.id = b.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN accounts a ON a.id = v.reviewer_id
WHERE t.id = $1 AND t.bids_close_at <= now() AND b.status = 'submitted'
  AND ($2::bigint IS NULL OR v.reviewer_id = $2)
  AND v.reviewer_id IN (SELECT account_id FROM tender_reviewers WHERE tender_id = t.id)
ORDER BY b.id, v.reviewer_id
"""
# Before the deadline the bids are not counted at all: a count would tell how many bids there are.
SELECT_COMPLETENESS = """
SELECT (SELECT count(*) FROM tender_reviewers WHERE tender_id = $1)::int AS reviewers,
       (SELECT count(*) FROM bids b JOIN lots l ON l.id = b.lot_id JOIN tenders t ON t.id = l.tender_id
        WHERE l.tender_id = $1 AND b.status = 'submitted' AND t.bids_close_at <= now())::int AS bids,
       (SELECT count(*) FROM reviews v JOIN bids b ON b.id = v.bid_id JOIN lots l ON l.id = b.lot_id
        JOIN tender_reviewers r ON r.tender_id = l.tender_id AND r.account_id = v.reviewer_id
        WHERE l.tender_id = $1 AND b.status = 'submitted')::int AS reviews
"""
# The guard is in the statement: the bid's tender is assigned to this reviewer, past its deadline and in review.
UPSERT_REVIEW = """
INSERT INTO reviews (bid_id, reviewer_id, scores, quality_score, necessary, feasible, comment)
SELECT b.id, $2, $3::jsonb, $4, $5, $6, $7
FROM bids b
JOIN lots l ON l.id = b.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN tender_reviewers r ON r.tender_id = t.id AND r.account_id = $2
WHERE b.id = $1 AND t.id = $8 AND b.status = 'submitted' AND t.bids_close_at <= now() AND t.status = 'review'
ON CONFLICT (bid_id, reviewer_id) DO UPDATE
SET scores = EXCLUDED.scores, quality_score = EXCLUDED.quality_score, necessary = EXCLUDED.necessary,
    feasible = EXCLUDED.feasible, comment = EXCLUDED.comment, submitted_at = now()
RETURNING bid_id
"""


def _tender(record: asyncpg.Record | None) -> ReviewTenderRow | None:
    return None if record is None else with_json(record, ReviewTenderRow, "criteria")


async def get_tender_of_funder(conn: asyncpg.Connection, tender_id: int, funder_id: int) -> ReviewTenderRow | None:
    """A tender if it belongs to this funder."""
    return _tender(await conn.fetchrow(SELECT_TENDER_OF_FUNDER, tender_id, funder_id))


async def get_tender(conn: asyncpg.Connection, tender_id: int) -> ReviewTenderRow | None:
    """A tender by id (for the worker and the public notice, which check its state themselves)."""
    return _tender(await conn.fetchrow(SELECT_TENDER, tender_id))


async def get_tender_for_reviewer(conn: asyncpg.Connection, tender_id: int, reviewer_id: int) -> ReviewTenderRow | None:
    """A tender if this reviewer is assigned to it and its deadline has passed."""
    return _tender(await conn.fetchrow(SELECT_TENDER_FOR_REVIEWER, tender_id, reviewer_id))


async def reviewer_choices(conn: asyncpg.Connection) -> list[ReviewerChoiceRow]:
    """Every active reviewer account."""
    return await fetch_all(conn, SELECT_REVIEWER_CHOICES, ReviewerChoiceRow)


async def count_reviewer_accounts(conn: asyncpg.Connection, account_ids: list[int]) -> int:
    """How many of these ids are active reviewer accounts."""
    return int(await conn.fetchval(COUNT_REVIEWER_ACCOUNTS, account_ids))


async def assign_reviewers(conn: asyncpg.Connection, tender_id: int, account_ids: list[int]) -> list[int]:
    """Add reviewers to a tender's panel; returns the ones newly added."""
    return [int(r["account_id"]) for r in await conn.fetch(INSERT_TENDER_REVIEWERS, tender_id, account_ids)]


async def tender_reviewers(conn: asyncpg.Connection, tender_id: int) -> list[ReviewerRow]:
    """A tender's panel and each member's progress."""
    return await fetch_all(conn, SELECT_TENDER_REVIEWERS, ReviewerRow, tender_id)


async def remove_reviewer(conn: asyncpg.Connection, tender_id: int, account_id: int) -> bool:
    """Take a reviewer who has scored nothing off the tender's panel; False when not on it or already scoring."""
    return await conn.fetchval(REMOVE_REVIEWER, tender_id, account_id) is not None


async def assigned_tenders(conn: asyncpg.Connection, reviewer_id: int) -> list[AssignedTenderRow]:
    """The tenders past their deadline that this reviewer is assigned to."""
    return await fetch_all(conn, SELECT_ASSIGNED_TENDERS, AssignedTenderRow, reviewer_id)


async def review_bids(conn: asyncpg.Connection, tender_id: int) -> list[ReviewBidRow]:
    """The live bids of a tender past its deadline (none before it)."""
    return await fetch_all(conn, SELECT_REVIEW_BIDS, ReviewBidRow, tender_id)


async def reviews(conn: asyncpg.Connection, tender_id: int, reviewer_id: int | None) -> list[ReviewRow]:
    """The panel's scores for a tender's live bids: one reviewer's, or everyone's when reviewer_id is None."""
    return [with_json(r, ReviewRow, "scores") for r in await conn.fetch(SELECT_REVIEWS, tender_id, reviewer_id)]


async def completeness(conn: asyncpg.Connection, tender_id: int) -> Completeness:
    """How many reviewers, live bids and reviews a tender has."""
    record = await conn.fetchrow(SELECT_COMPLETENESS, tender_id)
    return msgspec.convert(record, Completeness)


async def upsert_review(
    conn: asyncpg.Connection,
    *,
    tender_id: int,
    bid_id: int,
    reviewer_id: int,
    scores: dict[str, float],
    quality_score: float,
    necessary: bool | None,
    feasible: bool | None,
    comment: str,
) -> bool:
    """Store or replace a reviewer's scores; False when the bid is not one they may score now."""
    found = await conn.fetchval(
        UPSERT_REVIEW,
        bid_id,
        reviewer_id,
        msgspec.json.encode(scores).decode(),
        Decimal(str(round(quality_score, 2))),
        necessary,
        feasible,
        comment,
        tender_id,
    )
    return found is not None
