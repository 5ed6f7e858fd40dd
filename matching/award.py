"""Award: which bid wins each lot, within organisations' staff-hours and lot limits and funders' budgets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

from matching.assign_core import NONE, AssignResult, Core, CoreOptions, duplicate_ids, score_scale, solve_assignment
from matching.common import Conflict, NonNegative, ProgressFn


class Lot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A project put out to tender; a bid priced above its budget is ineligible."""

    id: str
    budget_fen: NonNegative


class Org(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A bidding organisation: its winning bids' hours stay within capacity, and it wins at most max_lots."""

    id: str
    capacity_hours: NonNegative
    max_lots: NonNegative


class Funder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A funder paying for some lots: the winning prices of its lots stay within its budget."""

    id: str
    budget_fen: NonNegative
    lots: tuple[str, ...]


class Bid(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An organisation's offer for a lot: its price, the staff-hours it commits, and its evaluated score."""

    id: str
    lot: str
    org: str
    price_fen: NonNegative
    hours: NonNegative
    score: float


class AwardProblem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Lots, bidders, funders and bids; award_all demands a winner for every lot."""

    lots: tuple[Lot, ...]
    orgs: tuple[Org, ...]
    bids: tuple[Bid, ...]
    funders: tuple[Funder, ...] = ()
    award_all: bool = False


class AwardPick(msgspec.Struct, frozen=True):
    """A lot and the bid that wins it (the shape of a previous plan)."""

    lot: str
    bid: str


class PassedOver(msgspec.Struct, frozen=True):
    """A better-scored bid of the same lot that did not win, and the limits that stood in its way."""

    bid: str
    org: str
    score: float
    blocked_by: tuple[str, ...]


class AwardAssignment(msgspec.Struct, frozen=True):
    """A winning bid with its reasons: score components, rank in its lot, and the limits that bound the choice."""

    lot: str
    bid: str
    org: str
    score: float
    price_fen: int
    hours: int
    rank: int = 1
    eligible_bids: int = 1
    binding: tuple[str, ...] = ()
    passed_over: tuple[PassedOver, ...] = ()


LeftOutReason = Literal["no_bids", "ineligible", "outscored", "blocked", "unprofitable", "not_reached"]


class AwardLeftOut(msgspec.Struct, frozen=True):
    """A lot left unawarded or a bid that did not win, and why."""

    kind: Literal["lot", "bid"]
    id: str
    lot: str
    reason: LeftOutReason
    detail: str
    by: tuple[str, ...] = ()


class AwardResult(AssignResult[AwardAssignment, AwardLeftOut], frozen=True):
    """The awarded plan, its objective (total score), a proven bound and what proved it, and reasons."""


def validate(problem: AwardProblem) -> list[str]:
    """Structural errors that make a problem meaningless: duplicate ids and references to nothing."""
    errors = duplicate_ids("lot", [x.id for x in problem.lots])
    errors += duplicate_ids("org", [x.id for x in problem.orgs])
    errors += duplicate_ids("funder", [x.id for x in problem.funders])
    errors += duplicate_ids("bid", [x.id for x in problem.bids])
    lots = {x.id for x in problem.lots}
    orgs = {x.id for x in problem.orgs}
    for b in problem.bids:
        if b.lot not in lots:
            errors.append(f"bid {b.id!r} names unknown lot {b.lot!r}")
        if b.org not in orgs:
            errors.append(f"bid {b.id!r} names unknown org {b.org!r}")
    for f in problem.funders:
        errors.extend(f"funder {f.id!r} names unknown lot {x!r}" for x in f.lots if x not in lots)
    return errors


def check(problem: AwardProblem, assignments: Sequence[AwardAssignment | AwardPick]) -> list[str]:
    """Every rule an award plan breaks (empty when the plan is valid); independent of the solver."""
    out: list[str] = []
    lots = {x.id: x for x in problem.lots}
    orgs = {x.id: x for x in problem.orgs}
    bids = {x.id: x for x in problem.bids}
    won: dict[str, Bid] = {}
    for a in assignments:
        bid = bids.get(a.bid)
        if bid is None:
            out.append(f"unknown bid {a.bid!r}")
            continue
        if bid.lot != a.lot:
            out.append(f"bid {bid.id!r} is for lot {bid.lot!r}, not {a.lot!r}")
            continue
        if a.lot in won:
            out.append(f"lot {a.lot!r} has more than one winner")
            continue
        won[a.lot] = bid
        lot = lots.get(a.lot)
        if lot is None:
            out.append(f"unknown lot {a.lot!r}")
        elif bid.price_fen > lot.budget_fen:
            out.append(f"bid {bid.id!r} costs {bid.price_fen} fen, over lot {lot.id!r} budget {lot.budget_fen}")
    hours: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for bid in won.values():
        hours[bid.org] += bid.hours
        count[bid.org] += 1
    for org_id in hours:
        org = orgs.get(org_id)
        if org is None:
            out.append(f"unknown org {org_id!r}")
            continue
        if hours[org_id] > org.capacity_hours:
            out.append(f"org {org_id!r} wins {hours[org_id]} hours, over its capacity {org.capacity_hours}")
        if count[org_id] > org.max_lots:
            out.append(f"org {org_id!r} wins {count[org_id]} lots, over its limit {org.max_lots}")
    for f in problem.funders:
        spent = sum(won[x].price_fen for x in set(f.lots) if x in won)
        if spent > f.budget_fen:
            out.append(f"funder {f.id!r} pays {spent} fen, over its budget {f.budget_fen}")
    if problem.award_all:
        out.extend(f"lot {x.id!r} has no winner but award_all is set" for x in problem.lots if x.id not in won)
    return out


class _Model:
    """The award problem laid onto the shared core, with the maps back to ids."""

    def __init__(self, problem: AwardProblem) -> None:
        self.problem = problem
        self.lot_index = {x.id: i for i, x in enumerate(problem.lots)}
        self.org_index = {x.id: i for i, x in enumerate(problem.orgs)}
        n_orgs = len(problem.orgs)
        funders_of_lot: dict[str, list[int]] = defaultdict(list)
        for fi, f in enumerate(problem.funders):
            for lot_id in dict.fromkeys(f.lots):
                funders_of_lot[lot_id].append(fi)
        self.funders_of_lot = funders_of_lot
        self.scale = score_scale(b.score for b in problem.bids)
        by_lot: list[list[int]] = [[] for _ in problem.lots]
        self.ineligible: dict[int, str] = {}
        for bi, b in enumerate(problem.bids):
            why = self._ineligible_why(b)
            if why:
                self.ineligible[bi] = why
            else:
                by_lot[self.lot_index[b.lot]].append(bi)
        self.bids_of_lot = by_lot
        options = CoreOptions()
        self.opt_bid: list[int] = []
        for li, bis in enumerate(by_lot):
            fund = funders_of_lot.get(problem.lots[li].id, [])
            for bi in bis:
                b = problem.bids[bi]
                o = self.org_index[b.org]
                res = [(2 * o, b.hours), (2 * o + 1, 1)]
                res.extend((2 * n_orgs + f, b.price_fen) for f in fund)
                options.add(li, round(b.score * self.scale), o, res)
                self.opt_bid.append(bi)
        res_hi: list[int] = []
        res_names: list[str] = []
        for org in problem.orgs:
            res_hi += [org.capacity_hours, org.max_lots]
            res_names += [f"org {org.id} capacity_hours", f"org {org.id} max_lots"]
        for f in problem.funders:
            res_hi.append(f.budget_fen)
            res_names.append(f"funder {f.id} budget_fen")
        self.core = Core(
            options,
            must=[problem.award_all] * len(problem.lots),
            res_lo=[0] * len(res_hi),
            res_hi=res_hi,
            res_names=res_names,
            item_names=[f"lot {x.id}" for x in problem.lots],
        )
        self.opt_of_bid = {bi: k for k, bi in enumerate(self.opt_bid)}

    def _ineligible_why(self, b: Bid) -> str:
        lot = self.problem.lots[self.lot_index[b.lot]]
        org = self.problem.orgs[self.org_index[b.org]]
        if b.price_fen > lot.budget_fen:
            return f"price {b.price_fen} fen is over lot {lot.id} budget {lot.budget_fen} fen"
        if b.hours > org.capacity_hours:
            return f"needs {b.hours} hours, more than org {org.id} capacity {org.capacity_hours}"
        if org.max_lots == 0:
            return f"org {org.id} may win no lots"
        for fi in self.funders_of_lot.get(b.lot, []):
            f = self.problem.funders[fi]
            if b.price_fen > f.budget_fen:
                return f"price {b.price_fen} fen is over funder {f.id} budget {f.budget_fen} fen"
        return ""

    def choice_from(self, picks: Sequence[AwardAssignment | AwardPick]) -> np.ndarray:
        """A core choice vector from lot/bid pairs, keeping only pairs that still make sense."""
        choice = np.full(self.core.n_items, NONE, dtype=np.int64)
        bid_index = {b.id: i for i, b in enumerate(self.problem.bids)}
        for p in picks:
            bi = bid_index.get(p.bid)
            li = self.lot_index.get(p.lot)
            if bi is None or li is None or bi not in self.opt_of_bid or self.problem.bids[bi].lot != p.lot:
                continue
            if choice[li] == NONE:
                choice[li] = self.opt_of_bid[bi]
        return choice

    def picks(self, choice: np.ndarray) -> list[AwardPick]:
        """Lot/bid pairs of a choice vector."""
        out = []
        for li, k in enumerate(choice.tolist()):
            if k >= 0:
                out.append(AwardPick(self.problem.lots[li].id, self.problem.bids[self.opt_bid[k]].id))
        return out


def solve(
    problem: AwardProblem,
    *,
    time_limit_s: float,
    seed: int,
    previous: Sequence[AwardAssignment | AwardPick] | None = None,
    on_progress: ProgressFn | None = None,
    work: float | None = None,
    explain: bool = True,
) -> AwardResult:
    """Award lots to maximise the total score; always returns a checked plan or the conflicting constraints."""
    # Leave part of the budget for checking and explaining, which grow with the number of bids.
    checking = 0.02 + len(problem.bids) * (40e-6 if explain else 3e-6)
    return solve_assignment(
        AwardResult,
        validate(problem),
        lambda: _Model(problem),
        previous,
        time_limit_s,
        seed,
        on_progress,
        work,
        checking=checking,
        check=lambda picks: check(problem, picks),
        explain=lambda m, choice: _explain(problem, m, choice, explain),
        empty_allowed=not problem.award_all,
        known_conflicts=(Conflict("award_all", "every lot must be awarded"),) if problem.award_all else (),
    )


def _explain(
    problem: AwardProblem, m: _Model, choice: np.ndarray, explain: bool
) -> tuple[list[AwardAssignment], list[AwardLeftOut]]:
    """Reasons for every decision: the winner's rank and what blocked better bids; why the rest lost."""
    bids = problem.bids
    core = m.core
    use = core.usage(choice)
    hi = core.res_hi
    winner_opt = {li: int(k) for li, k in enumerate(choice.tolist()) if k >= 0}

    def blockers(bi: int, li: int) -> tuple[str, ...]:
        """Limits that would be broken if bid bi replaced the lot's current winner."""
        k = m.opt_of_bid[bi]
        delta: dict[int, int] = defaultdict(int)
        for r, a in core.opt_nz[k]:
            delta[r] += a
        w = winner_opt.get(li)
        if w is not None:
            for r, a in core.opt_nz[w]:
                delta[r] -= a
        return tuple(
            f"{core.res_names[r]} ({int(use[r]) + d} > {int(hi[r])})"
            for r, d in sorted(delta.items())
            if use[r] + d > hi[r]
        )

    assignments: list[AwardAssignment] = []
    unassigned: list[AwardLeftOut] = []
    for li, lot in enumerate(problem.lots):
        eligible = sorted(m.bids_of_lot[li], key=lambda bi: (-bids[bi].score, bi))
        w_opt = winner_opt.get(li)
        if w_opt is not None:
            wb = bids[m.opt_bid[w_opt]]
            if not explain:
                assignments.append(AwardAssignment(lot.id, wb.id, wb.org, wb.score, wb.price_fen, wb.hours))
                continue
            better = [bi for bi in eligible if bids[bi].score > wb.score]
            passed = tuple(PassedOver(bids[bi].id, bids[bi].org, bids[bi].score, blockers(bi, li)) for bi in better)
            binding = tuple(dict.fromkeys(c.split(" (")[0] for p in passed for c in p.blocked_by))
            assignments.append(
                AwardAssignment(
                    lot.id,
                    wb.id,
                    wb.org,
                    wb.score,
                    wb.price_fen,
                    wb.hours,
                    len(better) + 1,
                    len(eligible),
                    binding,
                    passed,
                )
            )
        elif explain:
            unassigned.append(_lot_left_out(problem, m, li, eligible, blockers))
    if explain:
        winners = {m.opt_bid[k] for k in winner_opt.values()}
        for bi, b in enumerate(bids):
            if bi in winners:
                continue
            li = m.lot_index[b.lot]
            if bi in m.ineligible:
                unassigned.append(AwardLeftOut("bid", b.id, b.lot, "ineligible", m.ineligible[bi]))
                continue
            w_opt = winner_opt.get(li)
            blocked = blockers(bi, li)
            if w_opt is not None:
                wb = bids[m.opt_bid[w_opt]]
                if wb.score >= b.score:
                    detail = f"bid {wb.id} of org {wb.org} scored {wb.score} against {b.score}"
                    unassigned.append(AwardLeftOut("bid", b.id, b.lot, "outscored", detail, (wb.id,)))
                elif blocked:
                    unassigned.append(AwardLeftOut("bid", b.id, b.lot, "blocked", "; ".join(blocked), blocked))
                else:
                    unassigned.append(AwardLeftOut("bid", b.id, b.lot, "not_reached", "search ended before this swap"))
            elif blocked:
                unassigned.append(AwardLeftOut("bid", b.id, b.lot, "blocked", "; ".join(blocked), blocked))
            elif b.score <= 0:
                unassigned.append(AwardLeftOut("bid", b.id, b.lot, "unprofitable", f"score {b.score} adds nothing"))
            else:
                unassigned.append(AwardLeftOut("bid", b.id, b.lot, "not_reached", "search ended before adding it"))
    return assignments, unassigned


def _lot_left_out(problem: AwardProblem, m: _Model, li: int, eligible: list[int], blockers: object) -> AwardLeftOut:
    """Why a lot has no winner."""
    lot = problem.lots[li]
    assert callable(blockers)
    if not any(b.lot == lot.id for b in problem.bids):
        return AwardLeftOut("lot", lot.id, lot.id, "no_bids", "no organisation bid for it")
    if not eligible:
        return AwardLeftOut("lot", lot.id, lot.id, "ineligible", "every bid is over budget or cannot fit on its own")
    blocked_all: dict[str, None] = {}
    free = []
    for bi in eligible:
        bl = blockers(bi, li)
        if bl:
            blocked_all.update(dict.fromkeys(c.split(" (")[0] for c in bl))
        else:
            free.append(bi)
    if not free:
        by = tuple(blocked_all)
        return AwardLeftOut("lot", lot.id, lot.id, "blocked", "every eligible bid would break: " + "; ".join(by), by)
    if all(problem.bids[bi].score <= 0 for bi in free):
        return AwardLeftOut("lot", lot.id, lot.id, "unprofitable", "the bids that fit score nothing")
    return AwardLeftOut("lot", lot.id, lot.id, "not_reached", "the search ended before awarding it")
