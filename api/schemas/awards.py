"""Response structs of the review, award-run and notice API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from api.schemas.common import PageOut, out
from api.schemas.runs import RunOut, run_out
from api.services.awards import RunView
from api.services.notices import NoticeBidder, NoticeView, PublicAward
from api.services.reviews import BidScorePublic, ReviewSheet
from sql.awards import AwardPublic, NoticeRow
from sql.objections import ObjectionPublic
from sql.reviews import AssignedTenderRow, Criterion, ReviewBidPublic, ReviewerRow, ReviewPublic


class CriterionOut(Criterion, frozen=True):
    """A published evaluation criterion."""


class ReviewerOut(ReviewerRow, frozen=True):
    """A member of a tender's panel and how many bids they have scored."""


class AssignedTenderOut(AssignedTenderRow, frozen=True):
    """A tender on a reviewer's list."""


class ReviewBidOut(ReviewBidPublic, frozen=True):
    """An opened bid as the panel reads it (by its public id)."""

    id: uuid.UUID
    single_bidder: bool


class ReviewOut(ReviewPublic, frozen=True):
    """One reviewer's scores for one bid."""

    bid: uuid.UUID


class BidScoreOut(BidScorePublic, frozen=True):
    """A bid's evaluated score once every review is in."""


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


class AwardOut(AwardPublic, frozen=True):
    """An award of a lot with its reasons."""

    bid: uuid.UUID


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


class NoticeBidderOut(NoticeBidder, frozen=True):
    """A bidder on a lot as the result notice shows it: name, total score, rank, whether it won or was invalid."""


class ObjectionOut(ObjectionPublic, frozen=True):
    """An objection, shown to its filer and the tender's funder."""


class NoticeViewOut(msgspec.Struct, frozen=True):
    """One notice with its awards, the bids received and their scores, and the objections the caller may read."""

    notice: NoticeOut
    awards: list[PublicAwardOut]
    bids_received: int
    bidders: list[NoticeBidderOut]
    objections_close_at: dt.datetime
    objection_reply_days: int
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
        awards=[out(a, AwardOut, bid=a.bid_public_id) for a in view.awards],
    )


def notice_view_out(view: NoticeView) -> NoticeViewOut:
    """A notice's public shape."""
    return out(view, NoticeViewOut)
