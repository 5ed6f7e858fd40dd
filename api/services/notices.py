"""The public award notice (公示) and objections (质疑): anyone reads it, anyone logged in objects during it.

The public sees what a procurement result notice carries: the number of bids received, every bidder's name and total
score (the winners' and the others'), the winning prices, when objections close and whom they go to — never personal
data, losing prices or any bid's plan; an objection's text is seen by its filer and the tender's funder only. A
notice exists only once its awards are published, and the bids it counts are read by statements that demand the
tender's deadline has passed, so sealed bids stay sealed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services import reviews as reviews_service
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.types import Id, Page
from sql import awards as awards_sql
from sql import objections as objections_sql
from sql import reviews as reviews_sql
from sql.awards import AwardRow, NoticeRow
from sql.objections import ObjectionRow

Body = Annotated[str, Meta(min_length=1, max_length=20000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
PUBLIC_AWARD_STATUSES = ["published", "final", "reopened"]


class ObjectionFiling(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A written objection to a published award, about one lot or the whole notice."""

    body: Body
    lot_id: Id | None = None


class ObjectionAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The funder's answer: uphold (the lot is reopened) or reject, with the written reply."""

    outcome: Literal["upheld", "rejected"]
    reply: Body


class PublicAward(msgspec.Struct, frozen=True):
    """What the public notice shows of an award."""

    lot_id: int
    lot_number: int
    lot_title: str
    organisation_id: int
    organisation_name: str
    price_fen: int
    score: float
    status: str


class NoticeBidder(msgspec.Struct, frozen=True):
    """A bidder on a lot as the result notice shows it: its name and total score, whether it won or was invalid."""

    lot_id: int
    lot_number: int
    organisation_id: int
    organisation_name: str
    score: float
    rank: int | None
    won: bool
    valid: bool
    invalid_reason: str | None


class NoticeView(msgspec.Struct, frozen=True):
    """One notice: the awards, every bidder's score, when objections close, and the objections the viewer may read."""

    notice: NoticeRow
    awards: list[PublicAward]
    bids_received: int
    bidders: list[NoticeBidder]
    objections_close_at: dt.datetime
    objections: list[ObjectionRow]
    objections_total: int
    can_object: bool
    is_funder: bool
    notice_days: int
    objection_reply_days: int


def _public(award: AwardRow) -> PublicAward:
    return PublicAward(
        lot_id=award.lot_id,
        lot_number=award.lot_number,
        lot_title=award.lot_title,
        organisation_id=award.organisation_id,
        organisation_name=award.organisation_name,
        price_fen=award.price_fen,
        score=award.score,
        status=award.status,
    )


def notice_bidders(
    bids: list[reviews_sql.ReviewBidRow], scores: list[reviews_service.BidScore], winning_bid_ids: set[int]
) -> list[NoticeBidder]:
    """Every bid as its lot ranks it: valid bids by total score (ties share a rank), invalid ones last."""
    score_of = {s.bid_id: s for s in scores}
    ordered = sorted(bids, key=lambda b: (b.lot_number, not score_of[b.id].valid, -score_of[b.id].total, b.id))
    out: list[NoticeBidder] = []
    for bid in ordered:
        score = score_of[bid.id]
        rank = None
        if score.valid:
            rank = 1 + sum(1 for s in scores if s.lot_id == bid.lot_id and s.valid and s.total > score.total)
        out.append(
            NoticeBidder(
                lot_id=bid.lot_id,
                lot_number=bid.lot_number,
                organisation_id=bid.organisation_id,
                organisation_name=bid.organisation_name,
                score=score.total,
                rank=rank,
                won=bid.id in winning_bid_ids,
                valid=score.valid,
                invalid_reason=score.invalid_reason,
            )
        )
    return out


async def list_notices(conn: asyncpg.Connection, *, include_past: bool, limit: int, offset: int) -> Page[NoticeRow]:
    """Published notices, the current ones unless past ones are asked for."""
    rows, total = await awards_sql.list_notices(conn, include_past=include_past, limit=limit, offset=offset)
    return Page(items=rows, total=total, limit=limit, offset=offset)


async def _funder_owns(who: Identity | None, conn: asyncpg.Connection, tender_id: int) -> bool:
    if who is None or who.role != "funder" or who.funder_id is None:
        return False
    return await awards_sql.tender_of_funder(conn, tender_id, who.funder_id)


async def get_notice(conn: asyncpg.Connection, who: Identity | None, tender_id: int) -> NoticeView:
    """One tender's published notice."""
    notice = found(await awards_sql.get_notice(conn, tender_id), "No such award notice")
    is_funder = await _funder_owns(who, conn, tender_id)
    everyone = await objections_sql.list_objections(conn, tender_id, None)
    if is_funder:
        visible = everyone
    elif who is not None:
        visible = [x for x in everyone if x.filed_by == who.account_id]
    else:
        visible = []
    rules = await awards_sql.funder_rules(conn, tender_id)
    awards = await awards_sql.tender_awards(conn, tender_id, PUBLIC_AWARD_STATUSES)
    tender = found(await reviews_sql.get_tender(conn, tender_id), "No such award notice")
    # Both statements read bids only once the tender's deadline has passed: a notice never unseals a bid.
    bids = await reviews_sql.review_bids(conn, tender_id)
    scores = reviews_service.bid_scores(tender, bids, await reviews_sql.reviews(conn, tender_id, None))
    live = {a.bid_id for a in awards if a.status in ("published", "final")}
    return NoticeView(
        notice=notice,
        awards=[_public(a) for a in awards],
        bids_received=len(bids),
        bidders=notice_bidders(bids, scores, live),
        # Objections are taken while the notice runs (the funder's notice_days from publication): the SQL that
        # files one holds the same rule.
        objections_close_at=notice.notice_ends_at,
        objections=visible,
        objections_total=len(everyone),
        # The funder answers objections; it does not file them against its own notice.
        can_object=who is not None and not is_funder and notice.in_period and notice.status == "notice",
        is_funder=is_funder,
        # The period this notice was given when it was published (the funder's rule may have changed since).
        notice_days=round((notice.notice_ends_at - notice.notice_starts_at) / dt.timedelta(days=1)),
        objection_reply_days=rules.objection_reply_days,
    )


async def file_objection(
    conn: asyncpg.Connection, who: Identity, tender_id: int, filing: ObjectionFiling
) -> ObjectionRow:
    """Anyone logged in files a written objection while the notice period runs."""
    async with conn.transaction():
        found(await awards_sql.get_notice(conn, tender_id), "No such award notice")
        if await _funder_owns(who, conn, tender_id):
            raise Conflict("The funder answers objections to its own notice; it does not file them")
        if filing.lot_id is not None and not await awards_sql.lot_in_tender(conn, filing.lot_id, tender_id):
            raise Invalid("No such lot in this tender", fields={"lot_id": "No such lot in this tender"})
        objection_id = await objections_sql.insert_objection(
            conn, tender_id=tender_id, lot_id=filing.lot_id, filed_by=who.account_id, body=filing.body.strip()
        )
        if objection_id is None:
            raise Conflict("The objection period of this notice has ended")
        await audit_log.record(
            conn, who, "objection.file", "objection", objection_id,
            detail={"tender_id": tender_id, "lot_id": filing.lot_id},
        )  # fmt: skip
        row = await objections_sql.get_objection(conn, objection_id)
    assert row is not None
    return row


async def answer_objection(
    conn: asyncpg.Connection, who: Identity, objection_id: int, answer: ObjectionAnswer
) -> ObjectionRow:
    """The tender's funder answers an objection; upholding it reopens the lot (or every awarded lot)."""
    funder_id = who.funder_id_or_refuse("Only the tender's funder may do this")
    async with conn.transaction():
        if not await objections_sql.objection_of_funder(conn, objection_id, funder_id):
            raise NotFound("No such objection")
        if not await objections_sql.answer_objection(
            conn, objection_id, funder_id, answer.reply.strip(), answer.outcome
        ):
            raise Conflict("This objection has already been answered")
        row = await objections_sql.get_objection(conn, objection_id)
        assert row is not None
        await audit_log.record(
            conn, who, f"objection.{answer.outcome}", "objection", objection_id,
            detail={"tender_id": row.tender_id, "lot_id": row.lot_id,
                    "late": row.replied_at is not None and row.replied_at > row.reply_due_at},
        )  # fmt: skip
        if answer.outcome == "upheld":
            if row.lot_id is not None:
                lot_ids = [row.lot_id]
            else:
                lot_ids = [a.lot_id for a in await awards_sql.tender_awards(conn, row.tender_id, ["published"])]
            for lot_id in lot_ids:
                award_id = await awards_sql.reopen_lot(conn, lot_id)
                await audit_log.record(
                    conn, who, "lot.reopen", "lot", lot_id, detail={"objection_id": objection_id, "award_id": award_id}
                )
    return row
