"""Portfolio: which proposals a foundation call funds, within pool budgets, per-organisation limits and area quotas."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

from matching.assign_core import NONE, AssignResult, Core, CoreOptions, duplicate_ids, score_scale, solve_assignment
from matching.common import NonNegative, ProgressFn


class Pool(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A pot of money: the proposals funded from it cost at most its budget."""

    id: str
    budget_fen: NonNegative


class Proposal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An organisation's proposal to one pool, in one area, with its cost and evaluated score."""

    id: str
    pool: str
    org: str
    cost_fen: NonNegative
    score: float
    area: str


class AreaQuota(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How many proposals of an area must be and may be funded."""

    area: str
    min: NonNegative = 0
    max: NonNegative | None = None


class PortfolioProblem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pools, proposals, the per-organisation limit (None: no limit) and area quotas."""

    pools: tuple[Pool, ...]
    proposals: tuple[Proposal, ...]
    max_per_org: NonNegative | None = None
    area_quota: tuple[AreaQuota, ...] = ()


class PortfolioPick(msgspec.Struct, frozen=True):
    """A funded proposal (the shape of a previous plan)."""

    proposal: str


class PortfolioAssignment(msgspec.Struct, frozen=True):
    """A funded proposal with its reasons: score components, rank in its pool, and the limits that bound it."""

    proposal: str
    pool: str
    org: str
    area: str
    score: float
    cost_fen: int
    rank: int = 1
    binding: tuple[str, ...] = ()


PortfolioReason = Literal["ineligible", "outscored", "blocked", "unprofitable", "not_reached"]


class PortfolioLeftOut(msgspec.Struct, frozen=True):
    """A proposal not funded, and why: the limit that stopped it and who took the room."""

    proposal: str
    reason: PortfolioReason
    detail: str
    by: tuple[str, ...] = ()


class PortfolioResult(AssignResult[PortfolioAssignment, PortfolioLeftOut], frozen=True):
    """The funded set, its total score, a proven bound and what proved it, and reasons."""


def validate(problem: PortfolioProblem) -> list[str]:
    """Structural errors: duplicate ids, proposals to unknown pools, repeated area quotas."""
    errors = duplicate_ids("pool", [p.id for p in problem.pools])
    errors += duplicate_ids("proposal", [p.id for p in problem.proposals])
    pools = {p.id for p in problem.pools}
    errors.extend(f"proposal {p.id!r} names unknown pool {p.pool!r}" for p in problem.proposals if p.pool not in pools)
    areas = [q.area for q in problem.area_quota]
    errors.extend(f"area {a!r} has more than one quota" for a in sorted({a for a in areas if areas.count(a) > 1}))
    errors.extend(
        f"area {q.area!r} quota min {q.min} is above max {q.max}"
        for q in problem.area_quota
        if q.max is not None and q.min > q.max
    )
    return errors


def check(problem: PortfolioProblem, assignments: Sequence[PortfolioAssignment | PortfolioPick]) -> list[str]:
    """Every rule a funded set breaks (empty when it is valid); independent of the solver."""
    out: list[str] = []
    props = {p.id: p for p in problem.proposals}
    pools = {p.id: p for p in problem.pools}
    chosen: list[Proposal] = []
    seen: set[str] = set()
    for a in assignments:
        p = props.get(a.proposal)
        if p is None:
            out.append(f"unknown proposal {a.proposal!r}")
        elif a.proposal in seen:
            out.append(f"proposal {a.proposal!r} funded twice")
        else:
            seen.add(a.proposal)
            chosen.append(p)
    spent: dict[str, int] = defaultdict(int)
    per_org: dict[str, int] = defaultdict(int)
    per_area: dict[str, int] = defaultdict(int)
    for p in chosen:
        spent[p.pool] += p.cost_fen
        per_org[p.org] += 1
        per_area[p.area] += 1
    for pool_id, total in spent.items():
        pool = pools.get(pool_id)
        if pool is None:
            out.append(f"unknown pool {pool_id!r}")
        elif total > pool.budget_fen:
            out.append(f"pool {pool_id!r} spends {total} fen, over its budget {pool.budget_fen}")
    if problem.max_per_org is not None:
        out.extend(
            f"org {org!r} has {n} proposals funded, over the limit {problem.max_per_org}"
            for org, n in per_org.items()
            if n > problem.max_per_org
        )
    for q in problem.area_quota:
        n = per_area.get(q.area, 0)
        if n < q.min:
            out.append(f"area {q.area!r} has {n} proposals funded, under its minimum {q.min}")
        if q.max is not None and n > q.max:
            out.append(f"area {q.area!r} has {n} proposals funded, over its maximum {q.max}")
    return out


class _Model:
    """The portfolio problem laid onto the shared core."""

    def __init__(self, problem: PortfolioProblem) -> None:
        self.problem = problem
        pools = {p.id: i for i, p in enumerate(problem.pools)}
        orgs = sorted({p.org for p in problem.proposals})
        org_index = {o: i for i, o in enumerate(orgs)}
        quota = {q.area: i for i, q in enumerate(problem.area_quota)}
        self.scale = score_scale(p.score for p in problem.proposals)
        n_pools, n_orgs = len(problem.pools), len(orgs)
        res_lo = [0] * (n_pools + n_orgs) + [q.min for q in problem.area_quota]
        big = len(problem.proposals) + 1
        org_cap = problem.max_per_org if problem.max_per_org is not None else big
        res_hi = [p.budget_fen for p in problem.pools] + [org_cap] * n_orgs
        res_hi += [q.max if q.max is not None else big for q in problem.area_quota]
        res_names = [f"pool {p.id} budget_fen" for p in problem.pools] + [f"org {o} max_per_org" for o in orgs]
        res_names += [f"area {q.area} quota" for q in problem.area_quota]
        self.ineligible: dict[int, str] = {}
        options = CoreOptions()
        self.opt_of: dict[int, int] = {}
        for pi, p in enumerate(problem.proposals):
            pool = problem.pools[pools[p.pool]]
            q = quota.get(p.area)
            if p.cost_fen > pool.budget_fen:
                self.ineligible[pi] = f"cost {p.cost_fen} fen is over pool {pool.id} budget {pool.budget_fen} fen"
                continue
            if org_cap == 0:
                self.ineligible[pi] = "max_per_org is 0"
                continue
            if q is not None and problem.area_quota[q].max == 0:
                self.ineligible[pi] = f"area {p.area} may have no proposals funded"
                continue
            res = [(pools[p.pool], p.cost_fen), (n_pools + org_index[p.org], 1)]
            if q is not None:
                res.append((n_pools + n_orgs + q, 1))
            self.opt_of[pi] = options.add(pi, round(p.score * self.scale), org_index[p.org], res)
        self.core = Core(
            options,
            must=[False] * len(problem.proposals),
            res_lo=res_lo,
            res_hi=res_hi,
            res_names=res_names,
            item_names=[f"proposal {p.id}" for p in problem.proposals],
        )

    def choice_from(self, picks: Sequence[PortfolioAssignment | PortfolioPick]) -> np.ndarray:
        """A core choice vector from previously funded proposals that can still be funded."""
        index = {p.id: i for i, p in enumerate(self.problem.proposals)}
        choice = np.full(self.core.n_items, NONE, dtype=np.int64)
        for a in picks:
            pi = index.get(a.proposal)
            if pi is not None and pi in self.opt_of:
                choice[pi] = self.opt_of[pi]
        return choice

    def picks(self, choice: np.ndarray) -> list[PortfolioPick]:
        """The funded proposals of a choice vector."""
        return [PortfolioPick(self.problem.proposals[j].id) for j in np.flatnonzero(choice >= 0).tolist()]


def solve(
    problem: PortfolioProblem,
    *,
    time_limit_s: float,
    seed: int,
    previous: Sequence[PortfolioAssignment | PortfolioPick] | None = None,
    on_progress: ProgressFn | None = None,
    work: float | None = None,
) -> PortfolioResult:
    """Fund proposals to maximise the total score; always a checked plan, or the conflicting constraints."""
    # Leave part of the budget for checking and explaining, which grow with the number of proposals.
    checking = 0.02 + len(problem.proposals) * 40e-6
    return solve_assignment(
        PortfolioResult,
        validate(problem),
        lambda: _Model(problem),
        previous,
        time_limit_s,
        seed,
        on_progress,
        work,
        checking=checking,
        check=lambda picks: check(problem, picks),
        explain=lambda m, choice: _explain(problem, m, choice),
        empty_allowed=True,
    )


def _explain(
    problem: PortfolioProblem, m: _Model, choice: np.ndarray
) -> tuple[tuple[PortfolioAssignment, ...], tuple[PortfolioLeftOut, ...]]:
    """Reasons: each funded proposal's rank and binding limits; each left-out one's blocking limit and rivals."""
    core = m.core
    props = problem.proposals
    use = core.usage(choice)
    funded = set(np.flatnonzero(choice >= 0).tolist())
    holders: dict[int, list[int]] = defaultdict(list)
    for j in funded:
        for r, _ in core.opt_nz[int(choice[j])]:
            holders[r].append(j)
    amount_of: dict[tuple[int, int], int] = {}
    for j in funded:
        for r, a in core.opt_nz[int(choice[j])]:
            amount_of[(j, r)] = a

    # Per limit, its holders from the weakest claim (score per unit of the limit) up: the first to give way.
    def claim(jj: int, r: int) -> tuple[float, int]:
        return (props[jj].score / max(amount_of[(jj, r)], 1), jj)

    weakest = {r: sorted(js, key=lambda jj: claim(jj, r)) for r, js in holders.items()}
    left_out: list[PortfolioLeftOut] = []
    binding_of: dict[int, set[str]] = defaultdict(set)
    for j, p in enumerate(props):
        if j in funded:
            continue
        if j in m.ineligible:
            left_out.append(PortfolioLeftOut(p.id, "ineligible", m.ineligible[j]))
            continue
        k = m.opt_of[j]
        over = [(r, a) for r, a in core.opt_nz[k] if use[r] + a > core.res_hi[r]]
        if not over:
            if p.score <= 0:
                left_out.append(PortfolioLeftOut(p.id, "unprofitable", f"score {p.score} adds nothing"))
            else:
                left_out.append(PortfolioLeftOut(p.id, "not_reached", "the search ended before funding it"))
            continue
        names = tuple(core.res_names[r] for r, _ in over)
        # Who holds the room: the weakest funded proposals that would have to go to make it fit.
        displaced: list[int] = []
        for r, a in over:
            need = int(use[r] + a - core.res_hi[r])
            for jj in weakest[r]:
                if need <= 0:
                    break
                if jj not in displaced:
                    displaced.append(jj)
                need -= amount_of[(jj, r)]
        rivals = tuple(props[jj].id for jj in displaced)
        rival_score = sum(props[jj].score for jj in displaced)
        for jj in displaced:
            binding_of[jj].update(names)
        detail = f"{'; '.join(names)} full; funding it means dropping {', '.join(rivals)} (score {rival_score:g})"
        reason: PortfolioReason = "outscored" if rival_score >= p.score else "blocked"
        left_out.append(PortfolioLeftOut(p.id, reason, detail, rivals))
    by_pool: dict[str, list[float]] = defaultdict(list)
    for j in m.opt_of:
        by_pool[props[j].pool].append(-props[j].score)
    for scores in by_pool.values():
        scores.sort()
    assignments: list[PortfolioAssignment] = []
    for j in sorted(funded):
        p = props[j]
        rank = 1 + bisect.bisect_left(by_pool[p.pool], -p.score)
        binding = set(binding_of.get(j, set()))
        for r, _ in core.opt_nz[int(choice[j])]:
            if use[r] == core.res_lo[r] and core.res_lo[r] > 0:
                binding.add(f"{core.res_names[r]} (minimum)")
        assignments.append(
            PortfolioAssignment(p.id, p.pool, p.org, p.area, p.score, p.cost_fen, rank, tuple(sorted(binding)))
        )
    return tuple(assignments), tuple(left_out)
