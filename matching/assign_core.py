"""Shared engine of the assignment models (award, portfolio, GAP): a multiple-choice knapsack core.

Every assignment-type model is reduced to the same shape: *items* (lots, proposals, jobs) each take
at most one of their *options* (bids, "fund it", agents), exactly one when the item is a must; each
option has an integer value (maximised) and uses amounts of shared *resources* (staff-hours, lots won,
budgets, area counts) whose totals must lie within [lo, hi]. On that shape live the greedy start, the
repair of a previous plan, the LP bound (HiGHS), CP-SAT from a complete hint, large-neighbourhood
rounds over groups of options (an organisation's bids, an agent's jobs) and the conflict finder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast, get_args

import highspy
import numpy as np
from ortools.sat.python import cp_model

from matching import gap_dive
from matching.common import (
    BoolArray,
    BoundSource,
    Budget,
    Conflict,
    Deadline,
    FloatArray,
    IntArray,
    ProgressFn,
    ProgressReporter,
    ResultHeader,
    Status,
    Timings,
    relative_gap,
)
from matching.highs import new_highs

NONE = -1
# Problems of at most this many options, or with this few groups, are solved as one CP-SAT model (measured on
# GAP: there one model beats LNS rounds, whose neighbourhoods would be half the problem anyway); larger ones by LNS.
FULL_MODEL_MAX_OPTIONS = 600
FULL_MODEL_MAX_GROUPS = 5
# Tabu steps per item before the single CP-SAT model of a small GAP-shaped problem.
SMALL_TABU_STEPS = 20

# Share of the improvement time given to tabu search on GAP-shaped cores before the LNS rounds: more where swap
# moves run (up to SWAP_MAX_ITEMS items; better on GAP 20x100), less on large ones, where LNS rounds gain more.
TABU_SHARE = 0.3
TABU_SHARE_WITH_SWAPS = 0.6
# Tabu search: all-pairs swap moves cost n^2 per step, so only up to this many items.
SWAP_MAX_ITEMS = 400
# Tabu search: how fast the penalty on excess load falls while feasible and rises while not.
TABU_ALPHA_DOWN = 0.97
TABU_ALPHA_UP = 1.05
# Tabu search: tenure drawn between these shares of the item count (short tenures measured best on d/e GAP).
TABU_TENURE = (1 / 100, 1 / 20)
# Tabu search: restart after this many steps (per item) without a new best, kicking this share of items.
TABU_RESTART = 2
TABU_KICK = 0.03
# LNS: first neighbourhood size (items freed) and CP-SAT work per round (deterministic seconds).
LNS_START_ITEMS = 30.0
LNS_DET_TIME = 0.1
LNS_WALL_CAP = 5.0  # a safety net: the deterministic-time cap normally ends a round first
# GAP-shaped cores (every item must take one option, one capacity per group) of at most this many items are
# improved by LP dives over the column-generation LP (matching/gap_dive.py) instead of tabu search and LNS:
# on the type d/e GAP files of 100-200 jobs the dives land 0.2-0.5 % above the best known where tabu search
# and LNS stay near 1 %. Larger ones (80x1600) keep tabu search and LNS, whose pricing would not pay.
DIVE_MAX_ITEMS = 400
# ... and at most this many items per group (GAP 10x200 has 20; its root LP takes ~160 pricing rounds, 5 s).
DIVE_MAX_ITEMS_PER_GROUP = 20
# Share of the time left that the root LP may take (d10200's needs 5 s on a quiet machine, more under load);
# if it has not converged by then, tabu search and LNS run.
DIVE_ROOT_SHARE = 0.85
# ... unless by then the root LP is within this share of its Lagrangian bound: dives from a nearly converged LP
# still beat the fallback.
DIVE_ROOT_GAP = 0.002
# Column-generation iterations at the root and after each fixing step of a dive (work caps, deterministic).
DIVE_ROOT_ITERS = 300
DIVE_STEP_ITERS = 5
# Columns per group kept from the root LP for the dives.
DIVE_POOL_PER_GROUP = 30
DIVE_POOL_MIN = 1200
# Tabu steps per item that repair a dive that left jobs unplaced.
DIVE_POLISH_STEPS = 10

# Work (matching.common.Budget, in reference seconds): every phase is started, sized and stopped by the work
# left, and charges what it did through these constants, so that the same seed gives the same plan under any
# load. Each was measured with time.process_time() (CPU seconds of this single-threaded process, little affected
# by the other sessions on this 2-core machine) by timing the phase on GAP files of every size, 28 Nov 2026
# (docs/optimiser-assignment.md, "Determinism").
# Default work per second of time limit: below 1 so that an idle run ends on its work, not the wall clock;
# the rest covers what is not charged (building the model, checking, explaining) and a little load.
WORK_PER_SECOND = 0.8
# CP-SAT deterministic seconds per CPU second, one worker: 0.61-0.84 over 25 LNS rounds on d20200, d10400,
# d40400, e201600, d801600, e801600 (the low end, so that e801600's 60 s solve does not outrun its clock).
CPSAT_DET_PER_S = 0.65
# ... and for one model of a whole small problem, whose long solves count deterministic time faster: 1.28 and
# 1.29 on d05100 and e05100 (7-14 s solves), 0.8-1.0 on gap1-12 files proved in 0.2-0.5 s.
CPSAT_FULL_DET_PER_S = 1.1
# Building a CP-SAT model and picking an LNS neighbourhood: CPU seconds per candidate option and per item
# (3-11 ms a round on those files).
MODEL_S_PER_OPTION = 1.5e-5
MODEL_S_PER_ITEM = 4e-6
# HiGHS on the LP relaxation: CPU seconds per simplex iteration per row and column (3.5e-9 on d40400, 4.8e-9 on
# d10400, more on small LPs where building dominates), per interior-point iteration per nonzero, crossover
# included (0.96-1.06e-7 on e201600, d801600, e801600).
SIMPLEX_S_PER_ITER_ENTRY = 5e-9
IPM_S_PER_ITER_NONZERO = 1e-7
# Tabu search: CPU seconds per step, fixed and per cell of the group x item (and item x item swap) matrices
# (84 us a step on c0848_2, 0.44 ms on d20200, 1.3-1.7 ms on d10400, d40400, d801600, e801600).
TABU_S_PER_STEP = 6e-5
TABU_S_PER_CELL = 1e-8
# place_missing: CPU seconds per candidate move looked at (2.6e-6 over 40 random award_all tenders of 120 lots,
# 15 organisations and 4 bids a lot whose greedy start left lots unplaced).
PLACE_S_PER_MOVE = 3e-6
# What always runs and is not charged step by step (greedy, the one-item passes, the dense form, the LP's
# matrix), reserved at the start: CPU seconds per option (0.6-1.9e-6 for greedy, polish and the dense form on
# d20200 to e801600, the LP's matrix about as much again).
FIXED_S_PER_OPTION = 3e-6
# A phase step (LNS round, dive) starts only with at least this much work left.
MIN_STEP_WORK = 0.01

ReportFn = Callable[[int, int, str], None]


class CoreOptions:
    """A model's options as it lays them onto the core, one add() an option, in item order."""

    def __init__(self) -> None:
        self.item: list[int] = []
        self.value: list[int] = []
        self.group: list[int] = []
        self.res: list[list[tuple[int, int]]] = []

    def add(self, item: int, value: int, group: int, res: list[tuple[int, int]]) -> int:
        """An option of `item` worth `value`, in `group`, using `res` (resource, amount) pairs; its index."""
        self.item.append(item)
        self.value.append(value)
        self.group.append(group)
        self.res.append(res)
        return len(self.item) - 1


class Core:
    """Items choosing at most (or exactly) one option each, under resource ranges; maximise value."""

    def __init__(
        self,
        options: CoreOptions,
        *,
        must: Sequence[bool] | BoolArray,
        res_lo: Sequence[int] | IntArray,
        res_hi: Sequence[int] | IntArray,
        res_names: Sequence[str],
        item_names: Sequence[str],
    ) -> None:
        self.n_items = len(item_names)
        self.must = np.asarray(must, dtype=np.bool_)
        self.opt_item = np.asarray(options.item, dtype=np.int64)
        if len(self.opt_item) and np.any(np.diff(self.opt_item) < 0):
            raise ValueError("options must be sorted by item")
        self.opt_value = np.asarray(options.value, dtype=np.int64)
        self.opt_group = np.asarray(options.group, dtype=np.int64)
        opt_res = options.res
        self.n_opts = len(self.opt_item)
        lens = np.fromiter((len(r) for r in opt_res), dtype=np.int64, count=self.n_opts)
        self.res_ptr = np.zeros(self.n_opts + 1, dtype=np.int64)
        np.cumsum(lens, out=self.res_ptr[1:])
        flat = [pair for r in opt_res for pair in r]
        pairs = np.asarray(flat, dtype=np.int64).reshape(-1, 2)
        self.res_idx = pairs[:, 0].copy()
        self.res_amt = pairs[:, 1].copy()
        self.opt_nz: list[tuple[tuple[int, int], ...]] = [tuple(r) for r in opt_res]
        self.res_lo = np.asarray(res_lo, dtype=np.int64)
        self.res_hi = np.asarray(res_hi, dtype=np.int64)
        self.n_res = len(self.res_lo)
        self.res_names = list(res_names)
        self.item_names = list(item_names)
        self.item_ptr = np.searchsorted(self.opt_item, np.arange(self.n_items + 1)).astype(np.int64)
        self.n_groups = int(self.opt_group.max()) + 1 if self.n_opts else 0

    def options_of(self, item: int) -> range:
        """Indexes of the options of one item."""
        return range(int(self.item_ptr[item]), int(self.item_ptr[item + 1]))

    def usage(self, choice: IntArray) -> IntArray:
        """Total use of every resource by a choice vector."""
        chosen = choice[choice >= 0]
        pos, _ = expand(self.res_ptr, chosen)
        out = np.zeros(self.n_res, dtype=np.int64)
        np.add.at(out, self.res_idx[pos], self.res_amt[pos])
        return out

    def value(self, choice: IntArray) -> int:
        """Total value of a choice vector."""
        return int(self.opt_value[choice[choice >= 0]].sum())

    def violations(self, choice: IntArray) -> list[str]:
        """Internal feasibility check of a choice vector (the models also check independently)."""
        out: list[str] = []
        chosen_items = np.flatnonzero(choice >= 0)
        if np.any(self.opt_item[choice[chosen_items]] != chosen_items):
            out.append("an option chosen for the wrong item")
        missing = np.flatnonzero(self.must & (choice < 0))
        out.extend(f"{self.item_names[j]} must be assigned" for j in missing[:20])
        use = self.usage(choice)
        for r in np.flatnonzero((use > self.res_hi) | (use < self.res_lo))[:20]:
            out.append(f"{self.res_names[r]}: {use[r]} outside [{self.res_lo[r]}, {self.res_hi[r]}]")
        return out

    def fits(self, k: int, use: list[int]) -> bool:
        """Whether option k can be added on top of the current use without passing any upper limit."""
        hi = self.res_hi
        return all(use[r] + a <= hi[r] for r, a in self.opt_nz[k])


def duplicate_ids(kind: str, ids: Sequence[str]) -> list[str]:
    """An error for each id that repeats an earlier one."""
    seen: set[str] = set()
    errors: list[str] = []
    for i in ids:
        if i in seen:
            errors.append(f"duplicate {kind} id {i!r}")
        seen.add(i)
    return errors


def score_scale(scores: Iterable[float]) -> int:
    """The factor that turns a model's scores into the core's integer values: scores are compared in thousandths
    unless they are whole numbers already."""
    return 1 if all(float(s).is_integer() for s in scores) else 1000


def expand(ptr: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Positions of the CSR entries of the given rows, and which of the rows each belongs to."""
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    total = int(lens.sum())
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), lens)
    offsets = np.cumsum(lens) - lens
    pos = np.arange(total, dtype=np.int64) - np.repeat(offsets, lens) + np.repeat(starts, lens)
    return pos, owner


# ----------------------------------------------------------------------------------------------------------------------
# LP relaxation (HiGHS): a bound, reduced costs for fixing, and duals that guide greedy and neighbourhoods.


@dataclass
class LpInfo:
    """What the LP relaxation tells us."""

    bound: float
    x: FloatArray
    reduced: FloatArray  # value minus priced resources minus item dual; <= 0 at the lower bound
    adjusted: FloatArray  # value minus priced resources: comparable across items


def lp_relaxation(core: Core, budget: Budget, work: float) -> LpInfo | None:
    """Solve the LP relaxation with HiGHS within `work` units (iteration limits); None when it does not finish."""
    if core.n_opts == 0 or work <= 0.05:
        return None
    k = core.n_opts
    n_rows = core.n_items + core.n_res
    lens = np.diff(core.res_ptr) + 1
    simplex_iter = SIMPLEX_S_PER_ITER_ENTRY * (n_rows + k)
    ipm_iter = IPM_S_PER_ITER_NONZERO * float(lens.sum())
    h = new_highs(time_limit_s=budget.clock_left())
    # Iteration limits, not the clock, end an LP that takes too long: the same LP is dropped under any load.
    h.setOptionValue("simplex_iteration_limit", _iteration_limit(work, simplex_iter))
    if k > 20_000:
        # On wide models (e801600: 128k columns) interior point with crossover is 3x faster than simplex.
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("ipm_iteration_limit", _iteration_limit(work, ipm_iter))
    start = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(lens, out=start[1:])
    index = np.empty(int(start[-1]), dtype=np.int32)
    value = np.empty(int(start[-1]), dtype=np.float64)
    index[start[:-1]] = core.opt_item
    value[start[:-1]] = 1.0
    pos, owner = expand(core.res_ptr, np.arange(k, dtype=np.int64))
    # Each column: its item row first, then its resource rows in order.
    within = pos - core.res_ptr[owner]
    dest = start[owner] + 1 + within
    index[dest] = core.n_items + core.res_idx[pos]
    value[dest] = core.res_amt[pos]
    lp = highspy.HighsLp()
    lp.num_col_ = k
    lp.num_row_ = n_rows
    lp.col_cost_ = core.opt_value.astype(np.float64)
    lp.col_lower_ = np.zeros(k)
    lp.col_upper_ = np.ones(k)
    inf = highspy.kHighsInf
    row_lo = np.concatenate([np.where(core.must, 1.0, -inf), np.where(core.res_lo > 0, core.res_lo, -inf)])
    row_hi = np.concatenate([np.ones(core.n_items), core.res_hi.astype(np.float64)])
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    # Interior point's charge covers its crossover.
    budget.charge(max(0, info.simplex_iteration_count) * simplex_iter + max(0, info.ipm_iteration_count) * ipm_iter)
    status = h.getModelStatus()
    budget.note_clock_stop(status == highspy.HighsModelStatus.kTimeLimit)
    if status != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64)
    reduced = np.asarray(sol.col_dual, dtype=np.float64)
    row_dual = np.asarray(sol.row_dual, dtype=np.float64)
    adjusted = reduced + row_dual[core.opt_item]
    bound = float(info.objective_function_value)
    return LpInfo(bound=bound, x=x, reduced=reduced, adjusted=adjusted)


def _iteration_limit(work: float, per_iteration: float) -> int:
    """How many iterations of this cost the work pays for, within HiGHS's integer option range."""
    return int(min(work / per_iteration, 2**31 - 1))


def lp_int_bound(lp: LpInfo) -> int:
    """The LP optimum rounded down to an integer, with a little slack against floating-point error."""
    return int(np.floor(lp.bound + 1e-6))


def trivial_bound(core: Core) -> int:
    """Every item takes its best option, ignoring resources."""
    total = 0
    for j in range(core.n_items):
        vals = core.opt_value[core.item_ptr[j] : core.item_ptr[j + 1]]
        if len(vals) == 0:
            continue
        best = int(vals.max())
        total += best if core.must[j] else max(best, 0)
    return total


# ----------------------------------------------------------------------------------------------------------------------
# Greedy start, repair of a previous plan, and a one-item improvement pass.


def _preference(core: Core, lp: LpInfo | None) -> FloatArray:
    """How attractive each option is: its LP-priced value when the LP is known, else its plain value."""
    if lp is not None:
        return lp.adjusted + 1e-3 * core.opt_value
    return core.opt_value.astype(np.float64)


def greedy(core: Core, lp: LpInfo | None, start: IntArray | None = None) -> IntArray:
    """Complete a (possibly empty) plan greedily; must-items first by regret, then the best-priced options."""
    choice = np.full(core.n_items, NONE, dtype=np.int64) if start is None else start.copy()
    use = core.usage(choice).tolist()
    pref = _preference(core, lp)

    def take(k: int) -> None:
        choice[core.opt_item[k]] = k
        for r, a in core.opt_nz[k]:
            use[r] += a

    if lp is not None:
        # Options the LP takes whole fit together (the LP respects every upper limit), so take them first.
        for whole in np.flatnonzero(lp.x > 1 - 1e-6).tolist():
            if choice[core.opt_item[whole]] == NONE and core.fits(whole, use):
                take(whole)
    # Must-items by regret: the item that loses most if its best option is taken by others goes first.
    pending = np.flatnonzero(core.must & (choice == NONE)).tolist()
    regret: list[tuple[float, int]] = []
    for j in pending:
        p = np.sort(pref[core.item_ptr[j] : core.item_ptr[j + 1]])[::-1]
        regret.append((float(p[0] - p[1]) if len(p) > 1 else 1e18, int(j)))
    regret.sort(key=lambda t: (-t[0], t[1]))
    for _, j in regret:
        opts = core.options_of(j)
        order = sorted(opts, key=lambda k: (-pref[k], k))
        for k in order:
            if core.fits(k, use):
                take(k)
                break
    # Optional items: best-priced options with a positive value, while they fit.
    free = np.flatnonzero(choice[core.opt_item] == NONE)
    free = free[core.opt_value[free] > 0]
    for k in free[np.lexsort((free, -pref[free]))]:
        if choice[core.opt_item[k]] == NONE and core.fits(int(k), use):
            take(int(k))
    return choice


def place_missing(core: Core, choice: IntArray, lp: LpInfo | None, budget: Budget, work: float) -> IntArray:
    """Place unassigned must-items by ejection: move one blocking item to another option to make room."""
    choice = choice.copy()
    use = core.usage(choice).tolist()
    pref = _preference(core, lp)
    hi = core.res_hi
    holders: dict[int, set[int]] = {}
    for j in np.flatnonzero(choice >= 0).tolist():
        for r, _ in core.opt_nz[choice[j]]:
            holders.setdefault(r, set()).add(j)

    def move(j: int, k: int) -> None:
        old = int(choice[j])
        if old >= 0:
            for r, a in core.opt_nz[old]:
                use[r] -= a
                holders[r].discard(j)
        choice[j] = k
        for r, a in core.opt_nz[k]:
            use[r] += a
            holders.setdefault(r, set()).add(j)

    # Counted in candidate moves looked at, so that the same items are placed under any load.
    moves_left = int(work / PLACE_S_PER_MOVE)
    looked = 0
    for j in np.flatnonzero(core.must & (choice < 0)).tolist():
        if looked > moves_left or not budget.fits(0.0):
            break
        best: tuple[float, int, int, int] | None = None  # (loss, option for j, item moved, its new option)
        for k in sorted(core.options_of(j), key=lambda k: (-pref[k], k)):
            looked += 1
            if core.fits(k, use):
                best = (0.0, k, -1, -1)
                break
            blocked = [r for r, a in core.opt_nz[k] if use[r] + a > hi[r]]
            for j2 in sorted(set().union(*(holders.get(r, set()) for r in blocked))):
                looked += 1
                k2 = int(choice[j2])
                for r, a in core.opt_nz[k2]:
                    use[r] -= a
                if core.fits(k, use):
                    for r, a in core.opt_nz[k]:
                        use[r] += a
                    for k3 in core.options_of(j2):
                        if k3 != k2 and core.fits(k3, use):
                            loss = float(pref[k2] - pref[k3] - pref[k])
                            if best is None or loss < best[0]:
                                best = (loss, k, j2, k3)
                    for r, a in core.opt_nz[k]:
                        use[r] -= a
                for r, a in core.opt_nz[k2]:
                    use[r] += a
        if best is None:
            continue
        _, k, j2, k3 = best
        if j2 >= 0:
            move(j2, k3)
        move(j, k)
    budget.charge(looked * PLACE_S_PER_MOVE)
    return choice


def repair(core: Core, previous: IntArray) -> IntArray:
    """Keep what still holds of a previous plan: drop the least valuable choices until every upper limit is met."""
    choice = previous.copy()
    use = core.usage(choice)
    over = np.flatnonzero(use > core.res_hi)
    while len(over):
        r = int(over[0])
        holders = [j for j in np.flatnonzero(choice >= 0) if any(rr == r for rr, _ in core.opt_nz[choice[j]])]
        worst = min(holders, key=lambda j: (core.opt_value[choice[j]], j))
        choice[worst] = NONE
        use = core.usage(choice)
        over = np.flatnonzero(use > core.res_hi)
    return choice


def polish(core: Core, choice: IntArray, allowed: BoolArray | None = None) -> IntArray:
    """Move each item to its best option that fits with everything else fixed, until nothing improves."""
    choice = choice.copy()
    use = core.usage(choice).tolist()
    lo = core.res_lo
    improved = True
    rounds = 0
    while improved and rounds < 5:
        improved = False
        rounds += 1
        for j in range(core.n_items):
            cur = int(choice[j])
            # An unassigned must-item takes any option that fits; an optional one only a positive value.
            cur_val = int(core.opt_value[cur]) if cur >= 0 else (-(2**62) if core.must[j] else 0)
            if cur >= 0:
                for r, a in core.opt_nz[cur]:
                    use[r] -= a
            best = cur
            best_val = cur_val
            for k in core.options_of(j):
                v = int(core.opt_value[k])
                if v > best_val and (allowed is None or allowed[k]) and core.fits(k, use):
                    best, best_val = k, v
            if best != cur and cur >= 0:
                # Leaving a resource with a lower limit must not take it below that limit.
                new_res = {r for r, _ in core.opt_nz[best]}
                if any(use[r] < lo[r] and r not in new_res for r, _ in core.opt_nz[cur]):
                    best = cur
            if best >= 0:
                for r, a in core.opt_nz[best]:
                    use[r] += a
            if best != cur:
                choice[j] = best
                improved = True
    return choice


# ----------------------------------------------------------------------------------------------------------------------
# Tabu search with strategic oscillation for GAP-shaped cores (one binding capacity per group).


class DenseGap:
    """A core whose only binding limits are one capacity per group, as dense group x item matrices."""

    def __init__(
        self, core: Core, value: FloatArray, weight: IntArray, cap: IntArray, opt_at: IntArray, optional: bool
    ):
        self.core = core
        self.value = value  # rows: groups (+1 "unassigned" row when items are optional); -inf where no option
        self.weight = weight
        self.cap = cap
        self.opt_at = opt_at  # option index at (group, item), -1 where none
        self.optional = optional


def dense_gap(core: Core) -> DenseGap | None:
    """The dense form of a core when every option uses exactly one binding capacity, that of its group."""
    if core.n_opts == 0 or np.any(core.res_lo > 0) or core.n_groups * core.n_items > 4_000_000:
        return None
    pos, owner = expand(core.res_ptr, np.arange(core.n_opts, dtype=np.int64))
    rid = core.res_idx[pos]
    amt = core.res_amt[pos]
    pos_total = np.zeros(core.n_res, dtype=np.int64)
    np.add.at(pos_total, rid, np.maximum(amt, 0))
    binding = (pos_total > core.res_hi) | np.any(amt < 0)
    bind_entries = binding[rid]
    per_opt = np.bincount(owner[bind_entries], minlength=core.n_opts)
    if np.any(per_opt > 1):
        return None
    res_of_group = np.full(core.n_groups, -1, dtype=np.int64)
    groups_b = core.opt_group[owner[bind_entries]]
    res_b = rid[bind_entries]
    res_of_group[groups_b] = res_b
    if np.any(res_of_group[groups_b] != res_b):
        return None  # a group whose options bind different resources
    if len(np.unique(res_b)) != len(np.unique(groups_b)):
        return None  # a resource shared by several groups
    must_all = bool(np.all(core.must))
    if not must_all and np.any(core.must):
        return None
    optional = not must_all
    rows = core.n_groups + (1 if optional else 0)
    value = np.full((rows, core.n_items), -np.inf)
    weight = np.zeros((rows, core.n_items), dtype=np.int64)
    opt_at = np.full((rows, core.n_items), -1, dtype=np.int64)
    if np.any(np.bincount(core.opt_group * core.n_items + core.opt_item, minlength=1) > 1):
        return None  # two options of one item in one group
    value[core.opt_group, core.opt_item] = core.opt_value
    opt_at[core.opt_group, core.opt_item] = np.arange(core.n_opts)
    w_opt = np.zeros(core.n_opts, dtype=np.int64)
    w_opt[owner[bind_entries]] = amt[bind_entries]
    weight[core.opt_group, core.opt_item] = w_opt
    cap = np.full(rows, 2**40, dtype=np.int64)
    has = res_of_group >= 0
    cap[: core.n_groups][has] = core.res_hi[res_of_group[has]]
    if optional:
        value[-1, :] = 0.0
    return DenseGap(core, value, weight, cap, opt_at, optional)


def tabu_search(
    dg: DenseGap,
    choice: IntArray,
    budget: Budget,
    seed: int,
    st: _State | None = None,
    *,
    max_iters: int | None = None,
    work: float | None = None,
) -> IntArray:
    """Shift moves under a penalty for excess load that adapts, so the search oscillates around feasibility.

    Runs for max_iters steps or as many as `work` units pay for (all the work left when None), whichever is less.
    """
    core = dg.core
    rng = np.random.default_rng(seed)
    n = core.n_items
    rows = dg.value.shape[0]
    cols = np.arange(n)
    unassigned_row = rows - 1
    a = np.where(choice >= 0, core.opt_group[np.maximum(choice, 0)], unassigned_row if dg.optional else 0)
    cost = -dg.value  # minimise cost; +inf where impossible
    w = dg.weight.astype(np.float64)
    cap = dg.cap.astype(np.float64)
    load = np.zeros(rows)
    np.add.at(load, a, w[a, cols])
    cur_cost = float(cost[a, cols].sum())
    best_a = a.copy()
    best_cost = cur_cost if np.all(load <= cap) else np.inf
    finite = cost[np.isfinite(cost)]
    alpha0 = max(1.0, float(np.abs(finite).mean()) / max(1.0, float(w[w > 0].mean()) if np.any(w > 0) else 1.0))
    alpha = alpha0
    tabu = np.zeros((rows, n), dtype=np.int64)
    tenure_lo, tenure_hi = max(3, int(n * TABU_TENURE[0])), max(8, int(n * TABU_TENURE[1]))
    noise = rng.random((rows, n)) * 1e-6
    it = 0
    since_best = 0
    # All-pairs swaps cost n^2 per step; worth it on small and medium instances only.
    swaps = n <= SWAP_MAX_ITEMS
    step_work = TABU_S_PER_STEP + TABU_S_PER_CELL * (rows * n + (n * n if swaps else 0))
    limit = (budget.left() if work is None else work) / step_work
    if max_iters is not None:
        limit = min(limit, float(max_iters))
    while True:
        it += 1
        if it > limit or (it % 64 == 0 and not budget.fits(0.0)):
            break
        excess_now = np.maximum(load - cap, 0.0)
        src_load = load[a] - w[a, cols]
        src_gain = np.maximum(src_load - cap[a], 0.0) - excess_now[a]
        dst = np.maximum(load[:, None] + w - cap[:, None], 0.0) - excess_now[:, None]
        dcost = cost - cost[a, cols]
        delta = dcost + alpha * (dst + src_gain) + noise
        delta[a, cols] = np.inf
        total_excess = float(excess_now.sum())
        new_excess = total_excess + dst + src_gain
        aspire = (new_excess <= 1e-9) & (cur_cost + dcost < best_cost - 1e-9)
        blocked = (tabu > it) & ~aspire
        delta[blocked] = np.inf
        flat = int(np.argmin(delta))
        best_move = float(delta.flat[flat])
        swap: tuple[int, int] | None = None
        if swaps:
            # Swap moves: j1 goes to j2's agent and j2 to j1's; evaluated for all pairs at once, in place where
            # possible (this is the hot loop: half the time of the straightforward version).
            cur_c = cost[a, cols]
            ca = cost[a]  # row j: the cost of every job at j's agent
            sdc = ca + ca.T
            sdc -= cur_c[:, None]
            sdc -= cur_c[None, :]
            pen = w[a]  # [j1, j2]: excess change at j1's agent when j2 replaces j1 there
            pen += (load[a] - w[a, cols] - cap[a])[:, None]
            np.maximum(pen, 0.0, out=pen)
            pen -= excess_now[a][:, None]
            both = pen + pen.T
            s_aspire = both <= 1e-9 - total_excess
            s_aspire &= sdc < best_cost - cur_cost - 1e-9
            sdelta = both
            sdelta *= alpha
            sdelta += sdc
            s_block = tabu[a] > it  # [j2, j1]: moving j1 to j2's agent is tabu
            s_block |= s_block.T  # either half of the swap being tabu blocks it
            s_block &= ~s_aspire
            s_block |= a[:, None] == a[None, :]
            sdelta[s_block] = np.inf
            sflat = int(np.argmin(sdelta))
            if float(sdelta.flat[sflat]) < best_move:
                swap = divmod(sflat, n)
                best_move = float(sdelta.flat[sflat])
        if not np.isfinite(best_move):
            tabu[:] = 0
            continue
        if swap is not None:
            j1, j2 = swap
            a1, a2 = int(a[j1]), int(a[j2])
            load[a1] += w[a1, j2] - w[a1, j1]
            load[a2] += w[a2, j1] - w[a2, j2]
            cur_cost += float(cost[a2, j1] + cost[a1, j2] - cost[a1, j1] - cost[a2, j2])
            a[j1], a[j2] = a2, a1
            tabu[a1, j1] = it + int(rng.integers(tenure_lo, tenure_hi + 1))
            tabu[a2, j2] = it + int(rng.integers(tenure_lo, tenure_hi + 1))
        else:
            i, j = divmod(flat, n)
            old = int(a[j])
            load[old] -= w[old, j]
            load[i] += w[i, j]
            cur_cost += float(cost[i, j] - cost[old, j])
            a[j] = i
            tabu[old, j] = it + int(rng.integers(tenure_lo, tenure_hi + 1))
        feasible = bool(np.all(load <= cap))
        if feasible and cur_cost < best_cost - 1e-9:
            best_cost = cur_cost
            best_a = a.copy()
            since_best = 0
            if st is not None:
                st.offer(_choice_of(dg, best_a), "tabu")
        else:
            since_best += 1
        # Strategic oscillation: a feasible walk grows bolder, an infeasible one is pushed back.
        alpha = alpha * TABU_ALPHA_DOWN if feasible else alpha * TABU_ALPHA_UP
        alpha = min(max(alpha, 1e-3), 1e9)
        if since_best > TABU_RESTART * n and best_cost < np.inf:
            # The walk has drifted too long: restart from the best plan, kicked by a few random shifts so that
            # it does not retrace the same cycle.
            a = best_a.copy()
            kick = rng.choice(n, size=max(2, int(n * TABU_KICK)), replace=False)
            for j in kick.tolist():
                options = np.flatnonzero(np.isfinite(cost[:, j]))
                a[j] = int(options[rng.integers(len(options))])
            load = np.zeros(rows)
            np.add.at(load, a, w[a, cols])
            cur_cost = float(cost[a, cols].sum())
            tabu[:] = 0
            since_best = 0
            # A fresh tie-break and penalty, so the restarted walk is a new one (measured: chained restarts
            # with new tie-breaks beat one long walk on GAP d20200, 0.84 % against 1.08 %).
            noise = rng.random((rows, n)) * 1e-6
            alpha = alpha0
    budget.charge((it - 1) * step_work)
    return _choice_of(dg, best_a) if best_cost < np.inf else choice


def _choice_of(dg: DenseGap, a: IntArray) -> IntArray:
    """The core choice vector of a dense assignment (the "unassigned" row maps to none)."""
    out = dg.opt_at[a, np.arange(len(a))]
    return out.astype(np.int64)


# ----------------------------------------------------------------------------------------------------------------------
# CP-SAT models: the whole problem, or a neighbourhood with the rest fixed.


def _build(
    core: Core,
    items: IntArray,
    cand: IntArray,
    hi: IntArray,
    lo: IntArray,
    hint: IntArray | None,
) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """A CP-SAT model over the candidate options of the given items, within resource ranges [lo, hi]."""
    model = cp_model.CpModel()
    xs = [model.new_bool_var("") for _ in range(len(cand))]
    item_of = core.opt_item[cand]
    has = np.zeros(core.n_items, dtype=np.bool_)
    has[item_of] = True
    for j in items:
        if core.must[j] and not has[j]:
            model.add_bool_or([])  # a must-item without any candidate: the neighbourhood is infeasible
    if len(cand):
        cuts = np.flatnonzero(np.diff(item_of)) + 1
        bounds = np.concatenate([[0], cuts, [len(cand)]])
        for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            group = xs[s:e]
            if core.must[item_of[s]]:
                model.add_exactly_one(group)
            elif e - s > 1:
                model.add_at_most_one(group)
    pos, owner = expand(core.res_ptr, cand)
    rid = core.res_idx[pos]
    amt = core.res_amt[pos]
    order = np.argsort(rid, kind="stable")
    rid, amt, owner = rid[order], amt[order], owner[order]
    touched = np.zeros(core.n_res, dtype=np.bool_)
    if len(rid):
        cuts = np.flatnonzero(np.diff(rid)) + 1
        bounds = np.concatenate([[0], cuts, [len(rid)]])
        for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            r = int(rid[s])
            touched[r] = True
            coefs = amt[s:e]
            need_hi = int(coefs[coefs > 0].sum()) > hi[r] or int(coefs[coefs < 0].sum()) < lo[r]
            need_lo = lo[r] > int(coefs[coefs < 0].sum())
            if not (need_hi or need_lo):
                continue
            expr = cp_model.LinearExpr.weighted_sum([xs[o] for o in owner[s:e].tolist()], coefs.tolist())
            model.add_linear_constraint(expr, int(max(lo[r], -(2**62))), int(min(hi[r], 2**62)))
    if np.any(~touched & ((lo > 0) | (hi < 0))):
        model.add_bool_or([])  # an untouched resource whose range excludes zero cannot be satisfied
    model.maximize(cp_model.LinearExpr.weighted_sum(xs, core.opt_value[cand].tolist()))
    if hint is not None:
        chosen = set(hint[items][hint[items] >= 0].tolist())
        for x, k in zip(xs, cand.tolist(), strict=True):
            model.add_hint(x, k in chosen)
    return model, xs


def _read(
    solver: cp_model.CpSolver, xs: list[cp_model.IntVar], cand: IntArray, items: IntArray, core: Core
) -> IntArray:
    """The options chosen for the given items in a solved model (NONE where none)."""
    out = np.full(len(items), NONE, dtype=np.int64)
    pos_of = {int(j): i for i, j in enumerate(items.tolist())}
    for x, k in zip(xs, cand.tolist(), strict=True):
        if solver.boolean_value(x):
            out[pos_of[int(core.opt_item[k])]] = k
    return out


class _Callback(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
    def __init__(self, report: ReportFn, offset: int) -> None:
        super().__init__()
        self.report = report
        self.offset = offset

    def on_solution_callback(self) -> None:
        obj = round(self.objective_value) + self.offset
        self.report(obj, int(np.floor(self.best_objective_bound + 1e-6)) + self.offset, "cp-sat")


def _solver(budget: Budget, seed: int, det_time: float, *, wall_cap: float = float("inf")) -> cp_model.CpSolver:
    """A one-worker CP-SAT solver, reproducible for a seed: a deterministic-time limit, the clock as a safety."""
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = min(budget.clock_left(), wall_cap)
    p.max_deterministic_time = max(det_time, 1e-3)
    p.random_seed = seed
    p.num_workers = 1
    p.log_search_progress = False
    return solver


def _run(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    budget: Budget,
    callback: cp_model.CpSolverSolutionCallback | None = None,
    det_per_s: float = CPSAT_DET_PER_S,
) -> int:
    """Solve; charge CP-SAT's deterministic time to the budget and note a stop on the wall-clock safety limit."""
    status = int(solver.solve(model, callback))
    det = solver.response_proto.deterministic_time
    budget.charge(det / det_per_s)
    proven = status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
    budget.note_clock_stop(not proven and det < solver.parameters.max_deterministic_time)
    return status


# ----------------------------------------------------------------------------------------------------------------------
# The solve: start, bound, improve, and say how it ended.


@dataclass
class CoreOutcome:
    """The end of a core solve: a plan (checked by the core), how it ended, and where time went."""

    choice: IntArray | None
    status: str  # optimal | feasible | infeasible | unknown (no plan and no proof)
    objective: int
    bound: int
    bound_source: str
    history: list[IntArray] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    start_s: float = 0.0
    improve_s: float = 0.0
    bound_s: float = 0.0
    lns_rounds: int = 0
    reproducible: bool = True  # the work budget, not the wall clock, ended every phase


class _State:
    """The incumbent and the bound while a solve runs."""

    def __init__(self, core: Core, report: ReportFn | None) -> None:
        self.core = core
        self.report_fn = report
        self.choice: IntArray | None = None
        self.value = -(2**62)
        self.bound = 2**62
        self.bound_source = "none"
        self.history: list[IntArray] = []

    def offer(self, choice: IntArray, phase: str) -> bool:
        """Take a plan if it is feasible and better; keeps a short history of accepted plans."""
        if self.core.violations(choice):
            return False
        v = self.core.value(choice)
        if self.choice is not None and v < self.value:
            return False
        better = self.choice is None or v > self.value
        self.choice = choice.copy()
        self.value = v
        if better:
            self.history.append(self.choice)
            del self.history[:-20]
            self._report(phase)
        return better

    def tighten(self, bound: int, source: str) -> None:
        """Take a bound if it is tighter."""
        if bound < self.bound:
            self.bound = bound
            self.bound_source = source
            self._report(source)

    def _report(self, phase: str) -> None:
        if self.report_fn is not None and self.choice is not None:
            self.report_fn(self.value, max(self.bound, self.value) if self.bound < 2**62 else self.value, phase)


def solve_core(
    core: Core,
    *,
    time_limit_s: float,
    seed: int,
    previous: IntArray | None = None,
    report: ReportFn | None = None,
    max_rounds: int | None = None,
    work: float | None = None,
) -> CoreOutcome:
    """Best plan found within the work budget and the time limit, with a proven bound, or the conflicting constraints.

    `work` (reference seconds, default time_limit_s x WORK_PER_SECOND) sizes and ends every phase, so the same
    core and seed give the same plan under any machine load; the time limit is a safety net that ends the search
    only on a machine too slow for the work (then `reproducible` is False). max_rounds caps the dives or LNS
    rounds (and tabu steps) on top.
    """
    t0 = time.perf_counter()
    budget = Budget(time_limit_s, work=work_budget(time_limit_s, work))
    st = _State(core, report)
    # An item that must be assigned but has no option at all is a conflict no search can remove.
    bare = [j for j in np.flatnonzero(core.must) if core.item_ptr[j] == core.item_ptr[j + 1]]
    if bare:
        bare_conflicts = [
            ("must", f"{core.item_names[j]} must be assigned but has no eligible option") for j in bare[:10]
        ]
        return CoreOutcome(
            None, "infeasible", 0, 0, "trivial", conflicts=bare_conflicts, start_s=time.perf_counter() - t0
        )
    # Greedy, the one-item passes and the LP's matrix always run; reserve their work by size.
    budget.charge(FIXED_S_PER_OPTION * core.n_opts)
    st.tighten(trivial_bound(core), "trivial")
    lp = lp_relaxation(core, budget, min(budget.left() * 0.25, 30.0)) if core.n_opts > 0 else None
    t_bound = time.perf_counter() - t0
    if lp is not None:
        st.tighten(lp_int_bound(lp), "lp-relaxation")
    ts = time.perf_counter()
    start = greedy(core, lp, repair(core, previous)) if previous is not None else greedy(core, lp)
    if np.any(core.must & (start < 0)):
        start = place_missing(core, start, lp, budget, min(2.0, budget.left() * 0.1))
    st.offer(start, "greedy")
    if st.choice is not None:
        st.offer(polish(core, st.choice), "local-search")
    start_s = time.perf_counter() - ts
    ti = time.perf_counter()
    rounds = 0
    cp_status = "unknown"
    if st.value >= st.bound:
        cp_status = "optimal"
    elif core.n_opts <= FULL_MODEL_MAX_OPTIONS or core.n_groups <= FULL_MODEL_MAX_GROUPS or st.choice is None:
        dg = dense_gap(core) if st.choice is not None else None
        if dg is not None and st.choice is not None:
            # A short tabu run first: a near-optimal hint lets reduced-cost fixing shrink the model, and the
            # proof comes 2-5x sooner (measured on gap1-12).
            tabu = tabu_search(
                dg, st.choice, budget, seed, st, max_iters=SMALL_TABU_STEPS * core.n_items, work=budget.left() * 0.2
            )
            st.offer(tabu, "tabu")
        cp_status = _full(core, st, lp, budget, seed)
    else:
        dg = dense_gap(core)
        dived = dg is not None and _dive_fits(core, dg)
        if dg is not None and dived:
            dives = _dive_search(core, dg, st, lp, budget, seed, max_rounds)
            dived = dives is not None
            rounds = dives or 0
        if not dived:
            if dg is not None:
                share = TABU_SHARE_WITH_SWAPS if core.n_items <= SWAP_MAX_ITEMS else TABU_SHARE
                iters = None if max_rounds is None else 200 * max_rounds
                tabu = tabu_search(dg, st.choice, budget, seed, st, max_iters=iters, work=budget.left() * share)
                st.offer(tabu, "tabu")
            rounds = _lns(core, st, lp, budget, seed, max_rounds)
        if st.choice is not None:
            st.offer(polish(core, st.choice), "local-search")
    improve_s = time.perf_counter() - ti
    if st.choice is None:
        conflicts: list[tuple[str, str]] = []
        if cp_status == "infeasible":
            # Naming the conflict is part of the answer: it may take up to a second past a spent budget.
            naming = Budget(max(budget.deadline.remaining(), min(1.0, time_limit_s)), work=max(budget.left(), 1.0))
            conflicts = find_conflicts(core, naming, seed)
            budget.note_clock_stop(naming.cut_by_clock)
            status = "infeasible"
        else:
            status = "unknown"
        return CoreOutcome(
            None,
            status,
            0,
            0,
            "none",
            conflicts=conflicts,
            start_s=start_s,
            improve_s=improve_s,
            bound_s=t_bound,
            reproducible=not budget.cut_by_clock,
        )
    if cp_status == "optimal":
        st.tighten(st.value, "cp-sat")
    status = "optimal" if st.value >= st.bound else "feasible"
    return CoreOutcome(
        st.choice,
        status,
        st.value,
        max(st.bound, st.value),
        st.bound_source,
        history=st.history,
        start_s=start_s,
        improve_s=improve_s,
        bound_s=t_bound,
        lns_rounds=rounds,
        reproducible=not budget.cut_by_clock,
    )


def work_budget(time_limit_s: float, work: float | None, reserve: float = 0.0) -> float:
    """The work of a solve: `work` (default time_limit_s x WORK_PER_SECOND) less a reserve, in reference seconds."""
    total = time_limit_s * WORK_PER_SECOND if work is None else work
    return max(0.0, total - reserve)


def solve_reserving(
    core: Core,
    deadline: Deadline,
    time_limit_s: float,
    work: float | None,
    checking: float,
    seed: int,
    previous: IntArray | None,
    on_progress: ProgressFn | None,
    scale: int,
) -> CoreOutcome:
    """solve_core for a model's solve(): what is left of its time and work once checking and explaining are set aside.

    `checking` is that reserve, in seconds of the clock and in work units alike (3 % of the limit more on the clock).
    Progress is reported in the model's scores: the core's integer values divided by `scale`.
    """
    reporter = ProgressReporter(deadline, on_progress, maximise=True)

    def report(obj: int, bound: int, phase: str) -> None:
        reporter.report(obj / scale, bound / scale, phase)

    core_limit = max(0.0, deadline.remaining() - 0.03 * time_limit_s - checking)
    core_work = work_budget(time_limit_s, work, checking)
    return solve_core(core, time_limit_s=core_limit, seed=seed, previous=previous, report=report, work=core_work)


Assignment = TypeVar("Assignment")
LeftOut = TypeVar("LeftOut")


class AssignResult(ResultHeader, Generic[Assignment, LeftOut], frozen=True):
    """An assignment model's result: the header, the plan with its reasons, what was left out and why."""

    assignments: tuple[Assignment, ...]
    unassigned: tuple[LeftOut, ...] = ()
    lns_rounds: int = 0


ResultT = TypeVar("ResultT", bound=AssignResult[Any, Any])


def checked_result(
    make: type[ResultT],
    out: CoreOutcome,
    deadline: Deadline,
    core: Core,
    scale: int,
    *,
    passes: Callable[[IntArray], bool],
    explain: Callable[[IntArray], tuple[Sequence[object], Sequence[object]]],
    empty_allowed: bool,
    known_conflicts: tuple[Conflict, ...] = (),
) -> ResultT:
    """An assignment model's result (`make`: its result struct) from the core's outcome.

    The plan is the newest one the model's independent checker `passes` (the core's, then earlier ones, then no
    plan at all where `empty_allowed`), with its objective and bound in scores and the model's reasons (`explain`
    gives its assignments and what was left out). No plan: the conflicts found, and `known_conflicts` (rules of
    the problem that demand a plan).
    """
    t_check = time.perf_counter()
    if out.choice is None:
        conflicts = tuple(Conflict(c, d) for c, d in out.conflicts)
        if out.status != "infeasible":
            conflicts = (Conflict("time_limit", "no plan found within the time limit; infeasibility not proven"),)
        return _infeasible(make, out, conflicts + known_conflicts, _timings(out, 0.0, deadline))
    candidates = [out.choice, *reversed(out.history)]
    if empty_allowed:
        candidates.append(np.full(core.n_items, NONE, dtype=np.int64))
    chosen = next((c for c in candidates if passes(c)), None)
    check_s = time.perf_counter() - t_check
    if chosen is None:
        conflict = Conflict("checker", "no plan found by the solver passed the independent check")
        return _infeasible(make, out, (conflict,), _timings(out, check_s, deadline))
    value = core.value(chosen)
    status: Status = "optimal" if value >= out.bound else "feasible"
    objective = value / scale
    bound = max(out.bound, value) / scale
    source = cast(BoundSource, out.bound_source) if out.bound_source in get_args(BoundSource) else "none"
    if status == "optimal" and source == "trivial" and value == out.bound:
        source = "greedy-equals-bound"
    assignments, left_out = explain(chosen)
    return make(
        status=status,
        objective=objective,
        bound=bound,
        bound_source=source,
        gap=relative_gap(objective, bound),
        # The total includes checking and explaining.
        timings=_timings(out, check_s, deadline),
        assignments=tuple(assignments),
        unassigned=tuple(left_out),
        lns_rounds=out.lns_rounds,
        reproducible=out.reproducible,
    )


class CoreModel(Protocol):
    """A model's problem laid onto the core: the core, the scale of its scores, and the maps to and from its plans."""

    core: Core
    scale: int

    def choice_from(self, picks: Sequence[Any]) -> IntArray:
        """A core choice vector from a previous plan, keeping only what still makes sense."""
        ...

    def picks(self, choice: IntArray) -> Sequence[Any]:
        """The model's plan of a choice vector."""
        ...


ModelT = TypeVar("ModelT", bound=CoreModel)


def solve_assignment(
    make: type[ResultT],
    errors: list[str],
    build: Callable[[], ModelT],
    previous: Sequence[Any] | None,
    time_limit_s: float,
    seed: int,
    on_progress: ProgressFn | None,
    work: float | None,
    *,
    checking: float,
    check: Callable[[Sequence[Any]], list[str]],
    explain: Callable[[ModelT, IntArray], tuple[Sequence[object], Sequence[object]]],
    empty_allowed: bool,
    known_conflicts: tuple[Conflict, ...] = (),
) -> ResultT:
    """An assignment model's solve (`make`: its result struct): refuse a malformed problem (`errors`), lay it onto the
    core (`build`, inside the time limit), solve with `checking` set aside (solve_reserving), and return the newest
    plan the model's independent `check` passes, with its reasons (`explain`; see checked_result)."""
    if errors:
        raise ValueError("; ".join(errors[:10]))
    deadline = Deadline(time_limit_s)
    m = build()
    prev = m.choice_from(previous) if previous is not None else None
    out = solve_reserving(m.core, deadline, time_limit_s, work, checking, seed, prev, on_progress, m.scale)
    return checked_result(
        make,
        out,
        deadline,
        m.core,
        m.scale,
        passes=lambda choice: not check(m.picks(choice)),
        explain=lambda choice: explain(m, choice),
        empty_allowed=empty_allowed,
        known_conflicts=known_conflicts,
    )


def _infeasible(make: type[ResultT], out: CoreOutcome, conflicts: tuple[Conflict, ...], timings: Timings) -> ResultT:
    return make(
        status="infeasible",
        objective=0.0,
        bound=0.0,
        bound_source="none",
        gap=0.0,
        timings=timings,
        assignments=(),
        conflicts=conflicts,
        reproducible=out.reproducible,
    )


def _timings(out: CoreOutcome, check_s: float, deadline: Deadline) -> Timings:
    return Timings(
        round(out.start_s, 4),
        round(out.improve_s, 4),
        round(out.bound_s, 4),
        round(check_s, 4),
        round(deadline.elapsed(), 4),
    )


def _dive_capacities(dg: DenseGap, m: int) -> IntArray:
    """Each group's capacity, clipped to the most its options could ever use (a clipped limit never binds)."""
    most = np.where(dg.opt_at[:m] >= 0, dg.weight[:m], 0).sum(axis=1)
    return np.asarray(np.minimum(dg.cap[:m], most), dtype=np.int64)


def _dive_fits(core: Core, dg: DenseGap) -> bool:
    """Whether LP dives suit this core: every item a must, few enough items, knapsack tables of modest size."""
    if dg.optional or core.n_items > DIVE_MAX_ITEMS or core.n_items > DIVE_MAX_ITEMS_PER_GROUP * core.n_groups:
        return False
    cap = _dive_capacities(dg, core.n_groups)
    return gap_dive.table_cells(core.n_items, core.n_groups, cap) <= gap_dive.MAX_TABLE_CELLS


def _dive_search(
    core: Core, dg: DenseGap, st: _State, lp: LpInfo | None, budget: Budget, seed: int, max_rounds: int | None
) -> int | None:
    """Column generation at the root (a Lagrangian bound), then LP dives, each polished by a short tabu run.

    Returns the number of dives, or None when the root LP did not finish in its share of the time (the caller
    then falls back to tabu search and LNS).
    """
    assert st.choice is not None
    m = core.n_groups
    with np.errstate(invalid="ignore"):
        cost = np.where(dg.opt_at[:m] >= 0, -dg.value[:m], np.inf)
    cg = gap_dive.ColumnGeneration(cost, dg.weight[:m].astype(np.int64), _dive_capacities(dg, m))
    rng = np.random.default_rng(seed)
    all_free = np.ones(core.n_items, dtype=np.bool_)

    def agents_of(choice: IntArray) -> IntArray:
        return np.asarray(core.opt_group[choice], dtype=np.int64)

    centre = None
    if lp is not None:
        # Each job's price in the plain LP relaxation: its cheapest LP-priced option, in cost terms.
        centre = np.full(core.n_items, np.inf)
        np.minimum.at(centre, core.opt_item, -lp.adjusted)
        centre[~np.isfinite(centre)] = 0.0
    root = cg.solve(
        all_free,
        cg.cap,
        gap_dive.columns_of(agents_of(st.choice), m),
        max_iters=DIVE_ROOT_ITERS,
        budget=budget,
        work=DIVE_ROOT_SHARE * budget.left(),
        centre=centre,
    )
    if root is None:
        return None
    # The Lagrangian bound holds for any duals, converged or not; values are integers, so round it down.
    st.tighten(int(np.floor(-root.bound + 1e-6 * max(1.0, abs(root.bound)))), "lagrangian")
    if not root.converged and root.lp - root.bound > DIVE_ROOT_GAP * max(1.0, abs(root.lp)):
        return None
    # Dives start from the root's most promising columns only (the smallest reduced costs): a smaller LP to
    # rebuild at every fixing step (d20200: 2,700 root columns, the dives' LPs were 60 % of their time).
    keep = np.argsort(root.reduced, kind="stable")[: max(DIVE_POOL_PER_GROUP * m, DIVE_POOL_MIN)]
    dive_pool = root.columns.take(np.sort(keep))
    dives = 0
    while budget.fits(MIN_STEP_WORK) and (max_rounds is None or dives < max_rounds) and st.value < st.bound:
        pool = dive_pool + gap_dive.columns_of(agents_of(st.choice), m)
        agent = gap_dive.dive(
            cg, pool, rng, noise=0.0 if dives == 0 else gap_dive.DIVE_NOISE, step_iters=DIVE_STEP_ITERS, budget=budget
        )
        dives += 1
        missing = np.flatnonzero(agent < 0)
        if len(missing):
            # Jobs the dive could not place go to their cheapest agent; the tabu search repairs any overload.
            agent[missing] = np.argmin(cost[:, missing], axis=0)
            # The repair always runs its steps (charged), even on a spent budget: a dive's plan is not left broken.
            repaired = tabu_search(
                dg,
                _choice_of(dg, agent),
                budget,
                seed + dives,
                st,
                max_iters=DIVE_POLISH_STEPS * core.n_items,
                work=float("inf"),
            )
            agent = agents_of(repaired)
        # Ejection chains polish a dive's plan far better than tabu steps (d20100: 6214 -> 6191 in 5 ms, where
        # 1000 tabu steps reach 6207).
        agent = gap_dive.ejection_chains(cost, cg.weight, cg.cap, agent, budget)
        st.offer(_choice_of(dg, agent), "dive")
    return dives


def _model_work(n_options: int, n_items: int) -> float:
    """Work of building a CP-SAT model over this many candidate options and items."""
    return MODEL_S_PER_OPTION * n_options + MODEL_S_PER_ITEM * n_items


def _keep_mask(core: Core, lp: LpInfo | None, incumbent: int | None) -> BoolArray:
    """Options that may appear in a plan at least as good as the incumbent (LP reduced-cost fixing)."""
    if lp is None or incumbent is None:
        return np.ones(core.n_opts, dtype=np.bool_)
    # Forcing option k into the LP costs at least -reduced[k]; if that drops the LP below the incumbent,
    # no plan as good as the incumbent uses k.
    return lp.bound + lp.reduced + 1e-6 >= incumbent


def _full(core: Core, st: _State, lp: LpInfo | None, budget: Budget, seed: int) -> str:
    """One CP-SAT model of the whole problem from the incumbent as a complete hint."""
    if not budget.fits(MIN_STEP_WORK):
        return "unknown"
    keep = _keep_mask(core, lp, st.value if st.choice is not None else None)
    cand = np.flatnonzero(keep).astype(np.int64)
    items = np.arange(core.n_items, dtype=np.int64)
    model, xs = _build(core, items, cand, core.res_hi, core.res_lo, st.choice)
    # Building a large model takes real time; the solver gets what is left of the budget.
    budget.charge(_model_work(len(cand), len(items)))
    if not budget.fits(MIN_STEP_WORK):
        return "unknown"
    solver = _solver(budget, seed, budget.left() * CPSAT_FULL_DET_PER_S)
    report_fn = st.report_fn

    def relay(obj: int, bound: int, phase: str) -> None:
        if report_fn is not None and obj > st.value:
            report_fn(obj, min(max(bound, obj), st.bound), phase)

    status = _run(solver, model, budget, _Callback(relay, 0), CPSAT_FULL_DET_PER_S)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        got = _read(solver, xs, cand, items, core)
        saved = st.report_fn
        st.report_fn = None  # already reported by the callback
        st.offer(got, "cp-sat")
        st.report_fn = saved
        # Any plan better than the incumbent lies inside the reduced model, so its bound holds for the whole.
        st.tighten(max(int(np.floor(solver.best_objective_bound + 1e-6)), st.value), "cp-sat")
        return "optimal" if status == cp_model.OPTIMAL else "feasible"
    if status == cp_model.INFEASIBLE:
        return "infeasible" if st.choice is None else "optimal"
    return "unknown"


def _lns(core: Core, st: _State, lp: LpInfo | None, budget: Budget, seed: int, max_rounds: int | None = None) -> int:
    """Large-neighbourhood rounds: free the items of a few related groups, re-optimise them with CP-SAT."""
    assert st.choice is not None
    rng = np.random.default_rng(seed)
    pref = _preference(core, lp)
    keep = _keep_mask(core, lp, st.value)
    n_groups = core.n_groups
    # Each item's favourite groups (by LP-priced value) relate the groups to one another.
    fav: list[list[int]] = []
    for j in range(core.n_items):
        opts = np.arange(core.item_ptr[j], core.item_ptr[j + 1])
        top = opts[np.argsort(-pref[opts], kind="stable")[:4]]
        fav.append(core.opt_group[top].tolist())
    target = LNS_START_ITEMS
    rounds = 0
    while True:
        if not budget.fits(MIN_STEP_WORK) or (max_rounds is not None and rounds >= max_rounds):
            break
        rounds += 1
        choice = st.choice
        assert choice is not None
        group_of_item = np.where(choice >= 0, core.opt_group[np.maximum(choice, 0)], -1)
        chosen = _pick_groups(rng, n_groups, group_of_item, fav, target, random_only=rounds % 4 == 0)
        in_s = np.zeros(n_groups + 1, dtype=np.bool_)
        in_s[list(chosen)] = True
        free_mask = in_s[group_of_item]  # -1 indexes the extra False slot
        # Unassigned optional items that could use a chosen group join the neighbourhood.
        unassigned = np.flatnonzero(choice < 0)
        if len(unassigned):
            could = [j for j in unassigned.tolist() if any(in_s[g] for g in fav[j])]
            free_mask[could] = True
        items = np.flatnonzero(free_mask).astype(np.int64)
        if len(items) == 0:
            continue
        fixed = choice.copy()
        fixed[items] = NONE
        fixed_use = core.usage(fixed)
        hi = core.res_hi - fixed_use
        lo = core.res_lo - fixed_use
        pos, _ = expand(core.item_ptr, items)
        cand = pos[keep[pos]]
        # Options that alone exceed a resource's room can never be taken; leave them out of the model.
        rpos, rowner = expand(core.res_ptr, cand)
        bad = np.zeros(len(cand), dtype=np.bool_)
        over = core.res_amt[rpos] > hi[core.res_idx[rpos]]
        bad[rowner[over]] = True
        cur = choice[items]
        cur = cur[cur >= 0]
        cand = np.union1d(cand[~bad], cur).astype(np.int64)
        cand = cand[np.argsort(core.opt_item[cand], kind="stable")]
        model, xs = _build(core, items, cand, hi, lo, choice)
        # Picking the neighbourhood walks every item; building the model, every candidate option.
        budget.charge(_model_work(len(cand), core.n_items))
        if not budget.fits(MIN_STEP_WORK):
            break
        det_time = min(LNS_DET_TIME, budget.left() * CPSAT_DET_PER_S)
        solver = _solver(budget, seed + rounds, det_time, wall_cap=LNS_WALL_CAP)
        status = _run(solver, model, budget)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            got = _read(solver, xs, cand, items, core)
            new = choice.copy()
            new[items] = got
            st.offer(new, "lns")
            if status == cp_model.OPTIMAL and len(items) == core.n_items:
                st.tighten(st.value, "cp-sat")
                break
        # Grow the neighbourhood while CP-SAT proves its rounds, shrink it when it runs out of work.
        target = min(target * 1.15, float(core.n_items)) if status == cp_model.OPTIMAL else max(target * 0.9, 8.0)
        if st.value >= st.bound:
            break
    return rounds


def _pick_groups(
    rng: np.random.Generator,
    n_groups: int,
    group_of_item: IntArray,
    fav: list[list[int]],
    target: float,
    *,
    random_only: bool,
) -> set[int]:
    """A seeded choice of related groups whose items number about the target."""
    counts = np.bincount(group_of_item[group_of_item >= 0], minlength=n_groups)
    chosen: set[int] = set()
    size = 0
    first = int(rng.integers(n_groups))
    chosen.add(first)
    size += int(counts[first])
    while size < target and len(chosen) < n_groups:
        if random_only:
            nxt = int(rng.integers(n_groups))
        else:
            votes = np.full(n_groups, 0.05)
            members = np.flatnonzero(np.isin(group_of_item, list(chosen)))
            for j in members.tolist():
                for rank, g in enumerate(fav[j]):
                    votes[g] += 1.0 / (1 + rank)
            votes[list(chosen)] = 0.0
            if votes.sum() <= 0:
                break
            nxt = int(rng.choice(n_groups, p=votes / votes.sum()))
        if nxt not in chosen:
            chosen.add(nxt)
            size += int(counts[nxt])
    return chosen


# ----------------------------------------------------------------------------------------------------------------------
# Infeasibility: a small set of constraints that cannot hold together.


def find_conflicts(core: Core, budget: Budget, seed: int) -> list[tuple[str, str]]:
    """A small set of constraints that together admit no plan, from CP-SAT assumptions, then shrunk."""
    labels: list[tuple[str, str]] = []
    model = cp_model.CpModel()
    xs = [model.new_bool_var("") for _ in range(core.n_opts)]
    lits: list[cp_model.IntVar] = []
    for j in np.flatnonzero(core.must).tolist():
        lit = model.new_bool_var("")
        model.add(sum(xs[k] for k in core.options_of(j)) >= 1).only_enforce_if(lit)
        lits.append(lit)
        labels.append(("must", f"{core.item_names[j]} must be assigned"))
    for j in range(core.n_items):
        opts = [xs[k] for k in core.options_of(j)]
        if len(opts) > 1:
            model.add_at_most_one(opts)
    per_res: list[list[tuple[int, int]]] = [[] for _ in range(core.n_res)]
    for k in range(core.n_opts):
        for r, a in core.opt_nz[k]:
            per_res[r].append((k, a))
    for r in range(core.n_res):
        terms = per_res[r]
        expr = cp_model.LinearExpr.weighted_sum([xs[k] for k, _ in terms], [a for _, a in terms])
        if int(core.res_hi[r]) < sum(a for _, a in terms if a > 0):
            lit = model.new_bool_var("")
            model.add(expr <= int(core.res_hi[r])).only_enforce_if(lit)
            lits.append(lit)
            labels.append(("max", f"{core.res_names[r]} at most {int(core.res_hi[r])}"))
        if int(core.res_lo[r]) > sum(a for _, a in terms if a < 0):
            lit = model.new_bool_var("")
            model.add(expr >= int(core.res_lo[r])).only_enforce_if(lit)
            lits.append(lit)
            labels.append(("min", f"{core.res_names[r]} at least {int(core.res_lo[r])}"))
    index = {lit.index: i for i, lit in enumerate(lits)}

    def infeasible_with(subset: list[int]) -> tuple[bool, list[int]]:
        model.clear_assumptions()
        model.add_assumptions([lits[i] for i in subset])
        solver = _solver(budget, seed, max(budget.left(), MIN_STEP_WORK) * CPSAT_DET_PER_S)
        status = _run(solver, model, budget)
        if status == cp_model.INFEASIBLE:
            core_idx = [index[v] for v in solver.sufficient_assumptions_for_infeasibility()]
            return True, sorted(core_idx) if core_idx else subset
        return False, subset

    ok, conflict = infeasible_with(list(range(len(lits))))
    if not ok:
        return [("unknown", "no plan was found, but infeasibility was not proven within the time limit")]
    # Deletion filter: drop every constraint whose removal keeps the rest infeasible.
    i = 0
    while i < len(conflict) and budget.fits(MIN_STEP_WORK):
        trial = conflict[:i] + conflict[i + 1 :]
        still, smaller = infeasible_with(trial)
        if still:
            conflict = [c for c in trial if c in set(smaller)] or trial
        else:
            i += 1
    return [labels[i] for i in conflict]
