"""Use cases of the review panel (评审): assign reviewers after the deadline, score bids, and compute bid scores.

A reviewer sees only the tenders assigned to them, only after the deadline, and nobody's scores but their own
until every assigned reviewer has scored every live bid. Score of a bid = price score (lowest valid price ÷ this
price × price weight) + quality (mean of the reviewers' quality scores × (100 − price weight) / 100).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services import bids as bids_service
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.types import Id, Text
from sql import reviews as reviews_sql
from sql.reviews import Criterion, ReviewBidRow, ReviewRow, ReviewTenderRow

Score = Annotated[float, Meta(ge=0, le=100)]
# With no published criteria the panel gives one overall quality score.
OVERALL = Criterion(name="overall", weight=1.0)


class ReviewerAssignment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The reviewer accounts a funder puts on a tender's panel."""

    reviewer_ids: Annotated[list[Id], Meta(min_length=1, max_length=50)]


class ReviewScores(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A reviewer's scores for one bid: 0–100 per published criterion; for a single-bidder lot also yes/no."""

    scores: dict[Annotated[str, Meta(min_length=1, max_length=200)], Score]
    necessary: bool | None = None
    feasible: bool | None = None
    comment: Text = ""


class BidScorePublic(msgspec.Struct, frozen=True):
    """What the API may show of a bid's evaluated score (by the bid's public id), or why it is not valid."""

    bid: uuid.UUID
    lot_id: int
    valid: bool
    invalid_reason: str | None
    single_bidder: bool
    price_score: float
    quality_score: float
    total: float
    necessary_yes: int
    feasible_yes: int
    single_bidder_passes: bool | None


class BidScore(BidScorePublic, frozen=True):
    """A bid's evaluated score, or why it is not valid, with its id and how many reviews it has."""

    bid_id: int
    reviews: int


class ReviewSheet(msgspec.Struct, frozen=True):
    """A tender's review as one person may see it: scores of others only once all are in."""

    tender: ReviewTenderRow
    criteria: list[Criterion]
    reviewers: list[reviews_sql.ReviewerRow]
    bids: list[ReviewBidRow]
    reviews: list[ReviewRow]
    complete: bool
    reviews_in: int
    reviews_needed: int
    scores: list[BidScore]


def criteria_of(tender: ReviewTenderRow) -> list[Criterion]:
    """The published criteria, or the single overall criterion when none were published."""
    return [c for c in tender.criteria if c.weight > 0] or [OVERALL]


def quality_of(criteria: list[Criterion], scores: dict[str, float]) -> float:
    """The weighted mean of one reviewer's criterion scores (0–100)."""
    total_weight = sum(c.weight for c in criteria)
    return round(sum(scores[c.name] * c.weight for c in criteria) / total_weight, 2)


def invalid_reason(bid: ReviewBidRow) -> str | None:
    """Why a bid cannot be awarded whatever its score (None when it can)."""
    if bid.conflict_of_interest:
        return "conflict_of_interest"
    if not bid.organisation_verified:
        return "organisation_not_verified"
    if bid.price_fen > bid.lot_budget_fen:
        return "over_budget"
    return None


def single_bidder_passes(necessary_yes: int, feasible_yes: int, reviews: int) -> bool:
    """A single-bidder lot goes ahead when a strict majority of the panel finds it necessary and feasible."""
    return reviews > 0 and 2 * necessary_yes > reviews and 2 * feasible_yes > reviews


def bid_scores(tender: ReviewTenderRow, bids: list[ReviewBidRow], reviews: list[ReviewRow]) -> list[BidScore]:
    """Every bid's price score, quality score and total, by the published formula."""
    weight = tender.price_weight_pct
    lowest: dict[int, int] = {}
    for bid in bids:
        if invalid_reason(bid) is None:
            lowest[bid.lot_id] = min(lowest.get(bid.lot_id, bid.price_fen), bid.price_fen)
    by_bid: dict[int, list[ReviewRow]] = {}
    for review in reviews:
        by_bid.setdefault(review.bid_id, []).append(review)
    out: list[BidScore] = []
    for bid in bids:
        why = invalid_reason(bid)
        mine = by_bid.get(bid.id, [])
        quality = sum(r.quality_score for r in mine) / len(mine) if mine else 0.0
        price_score = lowest[bid.lot_id] / bid.price_fen * weight if why is None else 0.0
        quality_part = quality * (100 - weight) / 100
        necessary = sum(1 for r in mine if r.necessary)
        feasible = sum(1 for r in mine if r.feasible)
        single = bid.bids_in_lot == 1
        out.append(
            BidScore(
                bid_id=bid.id,
                bid=bid.public_id,
                lot_id=bid.lot_id,
                valid=why is None,
                invalid_reason=why,
                single_bidder=single,
                price_score=round(price_score, 3),
                quality_score=round(quality_part, 3),
                total=round(price_score + quality_part, 3) if why is None else 0.0,
                reviews=len(mine),
                necessary_yes=necessary,
                feasible_yes=feasible,
                single_bidder_passes=single_bidder_passes(necessary, feasible, len(mine)) if single else None,
            )
        )
    return out


async def _funder_tender(conn: asyncpg.Connection, who: Identity, tender_id: int) -> ReviewTenderRow:
    funder_id = who.funder_id_or_refuse("Only the tender's funder may do this")
    tender = found(await reviews_sql.get_tender_of_funder(conn, tender_id, funder_id), "No such tender")
    return tender


async def reviewer_choices(conn: asyncpg.Connection, who: Identity) -> list[reviews_sql.ReviewerChoiceRow]:
    """The reviewer accounts a funder may put on a panel."""
    if who.role != "funder":
        raise Forbidden("Only the tender's funder may do this")
    return await reviews_sql.reviewer_choices(conn)


async def assign_reviewers(
    conn: asyncpg.Connection, who: Identity, tender_id: int, command: ReviewerAssignment
) -> list[reviews_sql.ReviewerRow]:
    """The funder puts reviewers on the tender's panel, once its bids are open."""
    wanted = sorted(set(command.reviewer_ids))
    async with conn.transaction():
        tender = await _funder_tender(conn, who, tender_id)
        if not tender.closed:
            raise Conflict("Reviewers are assigned after the bid deadline")
        if tender.status == "open":
            # Past the deadline but not yet opened by the cron job: open the bids now.
            await bids_service.open_bids(conn, tender_id)
            tender = await _funder_tender(conn, who, tender_id)
        if tender.status != "review":
            raise Conflict("The tender is not in review")
        if await reviews_sql.count_reviewer_accounts(conn, wanted) != len(wanted):
            raise Invalid(
                "Every reviewer must be an active account with the reviewer role",
                fields={"reviewer_ids": "Every reviewer must be an active account with the reviewer role"},
            )
        added = await reviews_sql.assign_reviewers(conn, tender_id, wanted)
        for account_id in added:
            await audit_log.record(
                conn, who, "tender.reviewer_assign", "tender", tender_id, detail={"reviewer_id": account_id}
            )
        return await reviews_sql.tender_reviewers(conn, tender_id)


async def remove_reviewer(
    conn: asyncpg.Connection, who: Identity, tender_id: int, account_id: int
) -> list[reviews_sql.ReviewerRow]:
    """The funder takes a reviewer off the panel while the tender is in review and the reviewer has scored nothing."""
    async with conn.transaction():
        tender = await _funder_tender(conn, who, tender_id)
        if tender.status != "review":
            raise Conflict("The tender is not in review")
        on_panel = {r.account_id: r for r in await reviews_sql.tender_reviewers(conn, tender_id)}
        if account_id not in on_panel:
            raise NotFound("No such reviewer on the panel")
        if not await reviews_sql.remove_reviewer(conn, tender_id, account_id):
            raise Conflict("A reviewer who has scored bids stays on the panel")
        await audit_log.record(
            conn, who, "tender.reviewer_remove", "tender", tender_id, detail={"reviewer_id": account_id}
        )
        return await reviews_sql.tender_reviewers(conn, tender_id)


async def assigned_tenders(conn: asyncpg.Connection, who: Identity) -> list[reviews_sql.AssignedTenderRow]:
    """A reviewer's tenders past their deadline."""
    if who.role != "reviewer":
        raise Forbidden("Only reviewers have a review list")
    return await reviews_sql.assigned_tenders(conn, who.account_id)


async def review_sheet(conn: asyncpg.Connection, who: Identity, tender_id: int) -> ReviewSheet:
    """The tender's bids and scores for an assigned reviewer or its funder; others' scores only once all are in."""
    if who.role == "reviewer":
        tender = found(await reviews_sql.get_tender_for_reviewer(conn, tender_id, who.account_id), "No such tender")
    else:
        tender = await _funder_tender(conn, who, tender_id)
        if not tender.closed:
            raise Conflict("Bids stay sealed until the deadline")
    state = await reviews_sql.completeness(conn, tender_id)
    bids = await reviews_sql.review_bids(conn, tender_id)
    complete = state.complete
    if complete:
        visible = await reviews_sql.reviews(conn, tender_id, None)
    elif who.role == "reviewer":
        visible = await reviews_sql.reviews(conn, tender_id, who.account_id)
    else:
        visible = []
    return ReviewSheet(
        tender=tender,
        criteria=criteria_of(tender),
        reviewers=await reviews_sql.tender_reviewers(conn, tender_id),
        bids=bids,
        reviews=visible,
        complete=complete,
        reviews_in=state.reviews,
        reviews_needed=state.reviewers * state.bids,
        scores=bid_scores(tender, bids, visible) if complete else [],
    )


def _check_scores(
    criteria: list[Criterion], command: ReviewScores, single_bidder: bool
) -> tuple[dict[str, float], dict[str, str]]:
    errors: dict[str, str] = {}
    names = {c.name for c in criteria}
    if set(command.scores) != names:
        errors["scores"] = "Give a score from 0 to 100 for every published criterion, and only for those"
    if single_bidder and (command.necessary is None or command.feasible is None):
        errors["necessary"] = "A single-bidder lot is judged on necessity and feasibility: answer both"
    if not single_bidder and (command.necessary is not None or command.feasible is not None):
        errors["necessary"] = "Necessity and feasibility are judged only for single-bidder lots"
    return {c.name: float(command.scores.get(c.name, 0.0)) for c in criteria}, errors


async def score_bid(
    conn: asyncpg.Connection, who: Identity, tender_id: int, bid_public_id: uuid.UUID, command: ReviewScores
) -> ReviewRow:
    """An assigned reviewer scores (or re-scores) a bid until every score is in."""
    if who.role != "reviewer":
        raise Forbidden("Only reviewers score bids")
    async with conn.transaction():
        tender = found(await reviews_sql.get_tender_for_reviewer(conn, tender_id, who.account_id), "No such tender")
        bid = found(
            next((b for b in await reviews_sql.review_bids(conn, tender_id) if b.public_id == bid_public_id), None),
            "No such bid",
        )
        bid_id = bid.id
        if tender.status != "review":
            raise Conflict("The tender is not in review")
        if (await reviews_sql.completeness(conn, tender_id)).complete:
            raise Conflict("Every score is in; scores can no longer be changed")
        criteria = criteria_of(tender)
        scores, errors = _check_scores(criteria, command, bid.bids_in_lot == 1)
        if errors:
            raise Invalid("The scores are not complete", fields=errors)
        single = bid.bids_in_lot == 1
        if not await reviews_sql.upsert_review(
            conn,
            tender_id=tender_id,
            bid_id=bid_id,
            reviewer_id=who.account_id,
            scores=scores,
            quality_score=quality_of(criteria, scores),
            necessary=command.necessary if single else None,
            feasible=command.feasible if single else None,
            comment=command.comment,
        ):
            raise Conflict("The tender is not in review")
        await audit_log.record(conn, who, "bid.review", "bid", bid_id, detail={"tender_id": tender_id})
        mine = await reviews_sql.reviews(conn, tender_id, who.account_id)
    return next(r for r in mine if r.bid_id == bid_id)
