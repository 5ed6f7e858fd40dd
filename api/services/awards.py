"""Award runs (中标): the funder starts a run, a worker solves matching.award, the result is written once.

The run is a `match_runs` row before it is a job; the job id comes from the run, so a double click or a redelivery
after a crash finds the same job; the result is written in one transaction guarded by the run's status.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import asyncpg
import msgspec
import structlog

from api.services import audit_log, runs
from api.services import reviews as reviews_service
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, NotFound, found
from api.services.runs import JobQueue
from matching import award as award_model
from sql import awards as awards_sql
from sql import reviews as reviews_sql
from sql.match_runs import RunRow
from sql.reviews import ReviewTenderRow

log = structlog.get_logger("linli.awards")
MODEL = "award"
SUBJECT = "tender"
TIME_LIMIT_S = 10.0
# A run can start while the panel's work is done and nothing is published, or again for lots reopened during notice.
STARTABLE = ("review", "awarding", "awarded", "notice")
_CONSTRAINT = re.compile(r"^(org|funder) (\S+) (capacity_hours|max_lots|budget_fen)(?: \((-?\d+) > (-?\d+)\))?$")


class Excluded(msgspec.Struct, frozen=True):
    """A live bid kept out of the optimiser, and why."""

    bid_id: int
    reason: str


class AwardInputs(msgspec.Struct, frozen=True):
    """Everything a run decides from, loaded by id."""

    tender_id: int
    problem: award_model.AwardProblem
    lots: list[awards_sql.AwardLotRow]
    bids: list[awards_sql.AwardBidRow]
    scores: list[reviews_service.BidScore]
    excluded: list[Excluded]

    def digest(self) -> str:
        """A fingerprint of the inputs: equal inputs, equal digest."""
        payload = msgspec.json.encode([self.problem, self.excluded, [s.total for s in self.scores]])
        return hashlib.sha256(payload).hexdigest()


class RunView(msgspec.Struct, frozen=True):
    """A run as its funder sees it: the row, the tender, and the awards it wrote."""

    run: RunRow
    tender: ReviewTenderRow
    awards: list[awards_sql.AwardRow]


async def load_inputs(conn: asyncpg.Connection, tender: ReviewTenderRow) -> AwardInputs:
    """Build the award problem of a tender from its lots, live bids, the panel's scores and the bidders' limits."""
    lots = await awards_sql.award_lots(conn, tender.id)
    lot_ids = [lot.id for lot in lots]
    bids = await awards_sql.award_bids(conn, tender.id, lot_ids)
    review_bids = [b for b in await reviews_sql.review_bids(conn, tender.id) if b.lot_id in set(lot_ids)]
    panel = await reviews_sql.reviews(conn, tender.id, None)
    scores = reviews_service.bid_scores(tender, review_bids, panel)
    score_of = {s.bid_id: s for s in scores}
    excluded: list[Excluded] = []
    problem_bids: list[award_model.Bid] = []
    orgs: dict[int, award_model.Org] = {}
    max_lots = tender.max_lots_per_bidder or max(1, len(lots))
    for bid in bids:
        score = score_of.get(bid.id)
        reason = None
        if bid.overturned:
            reason = "overturned"
        elif score is None:
            reason = "not_reviewed"
        elif score.invalid_reason is not None and score.invalid_reason != "over_budget":
            # Over-budget bids go to the optimiser, which names them ineligible with the figures.
            reason = score.invalid_reason
        elif score.single_bidder and not score.single_bidder_passes:
            reason = "single_bidder_rejected"
        elif not bid.capacity_verified:
            # Only a verified capacity counts (docs/optimiser-assignment.md): the funder verifies it, then runs again.
            reason = "capacity_unverified"
        if reason is not None:
            excluded.append(Excluded(bid.id, reason))
            continue
        assert score is not None
        orgs[bid.organisation_id] = award_model.Org(
            id=str(bid.organisation_id),
            capacity_hours=max(0, bid.capacity_hours - bid.committed_hours),
            max_lots=max(0, max_lots - bid.lots_won_in_tender),
        )
        problem_bids.append(
            award_model.Bid(
                id=str(bid.public_id),
                lot=str(bid.lot_id),
                org=str(bid.organisation_id),
                price_fen=bid.price_fen,
                hours=bid.hours,
                score=score.total,
            )
        )
    # The schema keeps no budget of the funder apart from the lots' caps, so the tender's total is its budget.
    funder = award_model.Funder(
        id=str(tender.funder_id), budget_fen=sum(lot.budget_fen for lot in lots), lots=tuple(str(x) for x in lot_ids)
    )
    problem = award_model.AwardProblem(
        lots=tuple(award_model.Lot(id=str(lot.id), budget_fen=lot.budget_fen) for lot in lots),
        orgs=tuple(orgs[k] for k in sorted(orgs)),
        bids=tuple(problem_bids),
        funders=(funder,),
    )
    return AwardInputs(tender.id, problem, lots, bids, scores, excluded)


async def start_run(conn: asyncpg.Connection, queue: JobQueue, who: Identity, tender_id: int) -> RunRow:
    """The funder starts an award run; starting again with the same inputs returns the same run."""
    if who.role != "funder" or who.funder_id is None:
        raise Forbidden("Only the tender's funder may do this")
    funder_id = who.funder_id

    async def ready_tender(conn: asyncpg.Connection) -> int:
        tender = await reviews_sql.get_tender_of_funder(conn, tender_id, funder_id)
        if tender is None:
            raise NotFound("No such tender")
        if tender.status not in STARTABLE or not tender.closed:
            raise Conflict("The tender is not ready for an award run")
        if not (await reviews_sql.completeness(conn, tender_id)).complete:
            raise Conflict("Every assigned reviewer must score every bid before the award run")
        return tender_id

    return await runs.start(conn, queue, RUNS, who.account_id, ready_tender)


async def get_run(conn: asyncpg.Connection, who: Identity, run_id: int) -> RunView:
    """A run of one of the funder's tenders, with the awards it wrote."""
    if who.role != "funder" or who.funder_id is None:
        raise Forbidden("Only the tender's funder may do this")
    funder_id = who.funder_id

    async def own(conn: asyncpg.Connection, tender_id: int) -> ReviewTenderRow | None:
        return await reviews_sql.get_tender_of_funder(conn, tender_id, funder_id)

    run, tender = found(await runs.find_run(conn, RUNS, run_id, own), "No such award run")
    return RunView(run=run, tender=tender, awards=await awards_sql.run_awards(conn, run_id))


async def list_runs(conn: asyncpg.Connection, who: Identity, tender_id: int) -> list[RunRow]:
    """The funder's award runs of a tender, newest first."""
    if who.role != "funder" or who.funder_id is None:
        raise Forbidden("Only the tender's funder may do this")
    if await reviews_sql.get_tender_of_funder(conn, tender_id, who.funder_id) is None:
        raise NotFound("No such tender")
    return await runs.list_runs(conn, RUNS, tender_id)


def _constraint(text: str, names: dict[str, str]) -> dict[str, Any]:
    """matching's limit name ("org 7 capacity_hours (2100 > 2000)") as a structured reason."""
    match = _CONSTRAINT.match(text.strip())
    if match is None:
        return {"kind": "other", "text": text}
    owner, ident, kind, used, limit = match.groups()
    out: dict[str, Any] = {"kind": kind}
    if owner == "org":
        out["organisation_id"] = int(ident)
        out["organisation_name"] = names.get(ident, ident)
    if used is not None:
        out["used"] = int(used)
        out["limit"] = int(limit)
    return out


def build_result(inputs: AwardInputs, result: award_model.AwardResult) -> dict[str, Any]:
    """The run's result for pages: per lot the winner with its reasons, per bid why it won or lost."""
    names = {str(b.organisation_id): b.organisation_name for b in inputs.bids}
    score_of = {s.bid_id: s for s in inputs.scores}
    # matching knows bids by their public ids, which are also what pages and the API show.
    bid_of = {str(b.public_id): b for b in inputs.bids}
    won = {bid_of[a.bid].id: a for a in result.assignments}
    left = {(x.kind, x.id): x for x in result.unassigned}
    lots: list[dict[str, Any]] = []
    for lot in inputs.lots:
        winner = next((a for a in result.assignments if int(a.lot) == lot.id), None)
        entry: dict[str, Any] = {"lot_id": lot.id, "number": lot.number, "title": lot.title, "winner_bid": None}
        if winner is not None:
            entry["winner_bid"] = winner.bid
            entry["organisation_name"] = bid_of[winner.bid].organisation_name
            entry["price_fen"] = winner.price_fen
            entry["reasons"] = winner_reasons(winner, score_of[bid_of[winner.bid].id], names)
        else:
            why = left.get(("lot", str(lot.id)))
            entry["reason"] = why.reason if why else "no_bids"
            entry["detail"] = why.detail if why else ""
            entry["by"] = [_constraint(c, names) for c in (why.by if why else ())]
        lots.append(entry)
    bids: list[dict[str, Any]] = []
    excluded = {x.bid_id: x.reason for x in inputs.excluded}
    for bid in inputs.bids:
        score = score_of.get(bid.id)
        entry = {
            "bid": str(bid.public_id),
            "lot_id": bid.lot_id,
            "organisation_id": bid.organisation_id,
            "organisation_name": bid.organisation_name,
            "price_fen": bid.price_fen,
            "score": score.total if score else 0.0,
            "outcome": "won" if bid.id in won else "lost",
        }
        if bid.id in won:
            entry["reason"] = "won"
        elif bid.id in excluded:
            entry["reason"] = excluded[bid.id]
        else:
            why = left.get(("bid", str(bid.public_id)))
            entry["reason"] = why.reason if why else "not_reached"
            entry["detail"] = why.detail if why else ""
            if why and why.reason == "outscored" and why.by and why.by[0] in bid_of:
                other = bid_of[why.by[0]]
                entry["beaten_by"] = {
                    "bid": why.by[0],
                    "organisation_name": other.organisation_name,
                    "score": score_of[other.id].total if other.id in score_of else 0.0,
                }
            elif why:
                entry["by"] = [_constraint(c, names) for c in why.by]
        bids.append(entry)
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "bound_source": result.bound_source,
        "lots": lots,
        "bids": bids,
    }


def winner_reasons(
    winner: award_model.AwardAssignment, score: reviews_service.BidScore, names: dict[str, str]
) -> dict[str, Any]:
    """Why a bid won: its score and rank, and which limits kept better-scored bids out."""
    return {
        "score": winner.score,
        "price_score": score.price_score,
        "quality_score": score.quality_score,
        "rank": winner.rank,
        "eligible_bids": winner.eligible_bids,
        "single_bidder": score.single_bidder,
        "binding": [_constraint(c, names) for c in winner.binding],
        "passed_over": [
            {
                "bid": p.bid,
                "organisation_name": names.get(p.org, p.org),
                "score": p.score,
                "blocked_by": [_constraint(c, names) for c in p.blocked_by],
            }
            for p in winner.passed_over
        ],
    }


def _check(inputs: AwardInputs) -> None:
    if not inputs.lots:
        raise Conflict("Every lot of this tender already has a published award")


async def write_awards(
    conn: asyncpg.Connection,
    run_id: int,
    inputs: AwardInputs,
    result: award_model.AwardResult,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """A run's awards as proposed (superseding the lots' earlier proposals), and the lots' and tender's status."""
    lot_ids = [lot.id for lot in inputs.lots]
    await awards_sql.supersede_proposed(conn, lot_ids, run_id)
    by_bid = {str(b.public_id): b for b in inputs.bids}
    reasons = {e["winner_bid"]: e.get("reasons", {}) for e in summary["lots"] if e["winner_bid"]}
    awarded: list[int] = []
    for a in result.assignments:
        bid = by_bid[a.bid]
        await awards_sql.insert_award(
            conn,
            lot_id=bid.lot_id,
            bid_id=bid.id,
            run_id=run_id,
            organisation_id=bid.organisation_id,
            price_fen=bid.price_fen,
            score=a.score,
            reasons=reasons.get(a.bid, {}),
        )
        awarded.append(bid.lot_id)
    await awards_sql.set_lot_status(conn, awarded, "awarded")
    await awards_sql.set_lot_status(conn, [x for x in lot_ids if x not in awarded], "unawarded")
    await awards_sql.set_tender_status(conn, inputs.tender_id, ["awarding"], "awarded")
    return {"tender_id": inputs.tender_id, "awarded_lots": len(awarded), "status": result.status}


# The award model as the run pipeline (api.services.runs) is told it.
RUNS: runs.RunKind[AwardInputs, award_model.AwardResult] = runs.RunKind(
    model=MODEL,
    subject=SUBJECT,
    time_limit_s=TIME_LIMIT_S,
    load=runs.inputs_by_id(reviews_sql.get_tender, load_inputs, "No such tender"),
    solve=award_model.solve,
    result_type=award_model.AwardResult,
    check=_check,
    describe=lambda inputs: {"tender_id": inputs.tender_id, "lots": len(inputs.lots)},
    summarise=runs.summary_of(build_result),
    apply=write_awards,
    on_start=lambda conn, tender_id: awards_sql.set_tender_status(conn, tender_id, ["review", "awarded"], "awarding"),
)


class PublishPreview(msgspec.Struct, frozen=True):
    """What publishing a run's awards would make public, and the periods that then start."""

    view: RunView
    proposed: list[awards_sql.AwardRow]
    rules: awards_sql.FunderRulesRow


async def publish_preview(conn: asyncpg.Connection, who: Identity, run_id: int) -> PublishPreview:
    """The run's proposed awards and the funder's notice rules, for the funder to read before publishing."""
    view = await get_run(conn, who, run_id)
    proposed = [a for a in view.awards if a.status == "proposed"] if view.tender.status in ("awarded", "notice") else []
    return PublishPreview(view, proposed, await awards_sql.funder_rules(conn, view.tender.id))


async def publish(conn: asyncpg.Connection, who: Identity, tender_id: int) -> awards_sql.NoticeRow:
    """The funder publishes the proposed awards: the public notice period (公示) starts."""
    funder_id = who.funder_id_or_refuse("Only the tender's funder may do this")
    async with conn.transaction():
        tender = found(await reviews_sql.get_tender_of_funder(conn, tender_id, funder_id), "No such tender")
        if tender.status not in ("awarded", "notice"):
            raise Conflict("The tender has no award result to publish")
        published = await awards_sql.publish_awards(conn, tender_id)
        if not published and tender.status == "notice":
            raise Conflict("The tender has no award result to publish")
        rules = await awards_sql.funder_rules(conn, tender_id)
        ends = await awards_sql.start_notice(conn, tender_id, funder_id, rules.notice_days)
        if ends is None:
            raise Conflict("The tender has no award result to publish")
        await audit_log.record(
            conn, who, "award.publish", "tender", tender_id,
            detail={"awards": published, "notice_days": rules.notice_days},
        )  # fmt: skip
        notice = await awards_sql.get_notice(conn, tender_id)
    assert notice is not None
    return notice
