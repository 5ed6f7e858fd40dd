"""Response structs of the review, award-run and notice API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from api.schemas.common import PageOut, out
from api.schemas.runs import RunOut, run_out
from api.services.awards import RunView
from api.services.notices import NoticeView, PublicAward
from api.services.reviews import ReviewSheet
from sql.awards import NoticeRow
from sql.reviews import AssignedTenderRow, Criterion, ReviewerRow


class CriterionOut(Criterion, frozen=True):
    """A published evaluation criterion."""


class ReviewerOut(ReviewerRow, frozen=True):
    """A member of a tender's panel and how many bids they have scored."""


class AssignedTenderOut(AssignedTenderRow, frozen=True):
    """A tender on a reviewer's list."""


class ReviewBidOut(msgspec.Struct, frozen=True):
    """An opened bid as the panel reads it (by its public id)."""

    id: uuid.UUID
    lot_id: int
    lot_number: int
    lot_title: str
    lot_budget_fen: int
    organisation_id: int
    organisation_name: str
    price_fen: int
    hours: int
    plan: str
    team: str
    conflict_of_interest: bool
    conflict_detail: str
    single_bidder: bool


class ReviewOut(msgspec.Struct, frozen=True):
    """One reviewer's scores for one bid."""

    bid: uuid.UUID
    reviewer_id: int
    reviewer_name: str
    scores: dict[str, float]
    quality_score: float
    necessary: bool | None
    feasible: bool | None
    comment: str
    submitted_at: dt.datetime


class BidScoreOut(msgspec.Struct, frozen=True):
    """A bid's evaluated score once every review is in."""

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


class ReviewSheetOut(msgspec.Struct, frozen=True):
    """A tender's review: others' scores appear only when every score is in."""

    tender_id: int
    title: str
    status: str
    price_weight_pct: int
    criteria: list[CriterionOut]
    reviewers: list[ReviewerOut]
    bids: list[ReviewBidOut]
    reviews: list[ReviewOut]
    complete: bool
    reviews_in: int
    reviews_needed: int
    scores: list[BidScoreOut]


class AwardOut(msgspec.Struct, frozen=True):
    """An award of a lot with its reasons."""

    id: int
    lot_id: int
    lot_number: int
    bid: uuid.UUID
    organisation_id: int
    organisation_name: str
    price_fen: int
    score: float
    reasons: dict[str, Any]
    status: str


class RunViewOut(msgspec.Struct, frozen=True):
    """A run and the awards it wrote."""

    run: RunOut
    awards: list[AwardOut]


class NoticeOut(NoticeRow, frozen=True):
    """A published award notice (公示)."""


class NoticePageOut(PageOut, frozen=True):
    """A page of notices."""

    items: list[NoticeOut]


class PublicAwardOut(PublicAward, frozen=True):
    """What the public sees of an award: the organisation, the winning price and the score."""


class ObjectionOut(msgspec.Struct, frozen=True):
    """An objection, shown to its filer and the tender's funder."""

    id: int
    tender_id: int
    lot_id: int | None
    filed_at: dt.datetime
    body: str
    reply_due_at: dt.datetime
    reply: str | None
    outcome: str
    replied_at: dt.datetime | None
    overdue: bool


class NoticeViewOut(msgspec.Struct, frozen=True):
    """One notice with its awards and the objections the caller may read."""

    notice: NoticeOut
    awards: list[PublicAwardOut]
    objections: list[ObjectionOut]
    objections_total: int
    can_object: bool


def sheet_out(sheet: ReviewSheet) -> ReviewSheetOut:
    """The review sheet's public shape (bids by public id)."""
    t = sheet.tender
    return out(
        sheet,
        ReviewSheetOut,
        tender_id=t.id,
        title=t.title,
        status=t.status,
        price_weight_pct=t.price_weight_pct,
        bids=[out(b, ReviewBidOut, id=b.public_id, single_bidder=b.bids_in_lot == 1) for b in sheet.bids],
        reviews=[review_out(r) for r in sheet.reviews],
    )


def review_out(r: Any) -> ReviewOut:
    """One review by the bid's public id."""
    return out(r, ReviewOut, bid=r.bid_public_id)


def run_view_out(view: RunView) -> RunViewOut:
    """A run with its awards."""
    return RunViewOut(
        run=run_out(view.run),
        awards=[
            AwardOut(
                id=a.id,
                lot_id=a.lot_id,
                lot_number=a.lot_number,
                bid=a.bid_public_id,
                organisation_id=a.organisation_id,
                organisation_name=a.organisation_name,
                price_fen=a.price_fen,
                score=a.score,
                reasons=a.reasons,
                status=a.status,
            )
            for a in view.awards
        ],
    )


def notice_view_out(view: NoticeView) -> NoticeViewOut:
    """A notice's public shape."""
    return out(view, NoticeViewOut)
