"""Home-visit routing: carers' day routes (regret insertion, adaptive large-neighbourhood search, CP-SAT, checker).

Each required service of an elder is a task; a carer's route is a sequence of tasks. Given the sequences, the
earliest start of every task is the longest path in a graph of difference constraints (route order with service
and travel, window openings, the links' delays in both directions), found by label correcting; since tardiness only
grows with the starts, the earliest starts are the best times for those sequences. The search changes sequences:
it removes requests (an elder's one task, or both halves of a two-carer visit together) and inserts them again.

Travel is each carer's own (the matrix's times their factor); a carer leaves no earlier than their hours open, and
being back after they close is overtime; a visit given by someone other than its preferred carer costs the
continuity weight. With none of these used, the tight loops do the same work as with one matrix for everyone.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Sequence

import msgspec
from ortools.sat.python import cp_model

from matching.common import (
    BoundSource,
    Budget,
    Conflict,
    ProgressFn,
    ProgressReporter,
    Timings,
    infeasible,
    relative_gap,
    solve_budget,
)
from matching.visits_bound import travel_bound
from matching.visits_check import check
from matching.visits_format import (
    Carer,
    Id,
    Link,
    Pin,
    Route,
    Stop,
    Visit,
    VisitReason,
    VisitsProblem,
    VisitsResult,
)

__all__ = ["Carer", "Link", "Pin", "Visit", "VisitsProblem", "VisitsResult", "check", "solve"]

# Work in reference seconds (matching.common.Budget) per counted step, in CPU time: one insertion evaluated (its
# overlay and its share of the loop), one label-correcting update of a start. First measured on B and C on a machine
# loaded 8-16 deep (3.8e-6, 5e-7); then scaled by 0.71 from runs that ended their search at 0.62-0.70 of the limit,
# which proved too far: with those, a reference second cost 1.24-1.41 CPU seconds on B1-G1 (work 25, seed 1), so
# every target-time run of B-F ran into the clock. Now 1.3 times that: about 0.95-1.1 CPU seconds a reference second
# on this shared machine, less when it is quiet (docs/optimiser-visits.md, "Measured").
S_PER_EVAL = 3.5e-6
S_PER_UPDATE = 4.5e-7
CPSAT_DET_PER_S = 0.5  # CP-SAT deterministic seconds per reference second on the exact model (set A)
EXACT_MAX_ARCS = 600  # carer-arcs up to which the exact CP-SAT model is tried (set A: 150-230; B1 1,309 stalls)
EXACT_SEARCH_WORK = 0.15  # the search before the exact model: a good hint, then CP-SAT proves (set A: ~0.1 s)
SCALE = 1000  # the exact model's integer unit: the benchmark's data have three decimals
INF = math.inf
PAIR_EVALS = 8  # two-carer combinations timed per request and step, once two are known (E1: they took 70% of the CPU)
SCOUTS = 4  # short searches from the start plan before the long one, when the work allows
SCOUT_SHARE = 0.4
SCOUT_MIN_WORK = 20.0  # below it one continuous search does better (B3 at 3.4 CPU s: scouts +5.4%)
# Noise in the costs of the two scouts' own starts (0.2 tried: 15 paired runs at 30 reference seconds, seeds 1-2, better
# on 9, worse on 4, equal on 2: D3 -8% on both seeds, C1 and E4 -5 to -7% on seed 2, C1 and E4 +1.7% on seed 1;
# docs/optimiser-visits.md).
SCOUT_NOISE = 0.2
# The most a scout's own start may cost, as a share of the scout's work (by the construction's cost: B-E at their
# target times 0.2-5 %, F 12-64 %, G 39-127 % — G7's construction costs more than a scout's whole share; with own
# starts G was worse on 7 of 9 instances, F on 4 of 10).
OWN_START_MAX = 0.1
# Simulated-annealing acceptance: the start temperature as a share of the start plan's cost (0.2% and 0.6% were
# tried on B1, C1, C4 at 5 reference seconds, seeds 1-2: 0.6% was as good or better on 4 of 6), cooling to zero.
T0_SHARE = 0.006
EPS = 1e-9
_NO_HOURS: dict[int, float] = {}  # never written: the insertion's overtime counts when no carer has hours


class _Data:
    """The problem as flat lists indexed by task and carer, for the tight loops."""

    def __init__(self, problem: VisitsProblem) -> None:
        self.problem = problem
        self.d = [list(map(float, row)) for row in problem.travel]
        visits = problem.visits
        self.n = len(visits)
        self.index = {v.id: i for i, v in enumerate(visits)}
        self.loc = [v.location for v in visits]
        self.dur = [float(v.duration) for v in visits]
        self.e = [float(v.window[0]) for v in visits]
        self.l = [float(v.window[1]) for v in visits]
        self.m = len(problem.carers)
        self.cstart = [c.start for c in problem.carers]
        self.cend = [c.end for c in problem.carers]
        self.carer_index = {c.id: k for k, c in enumerate(problem.carers)}
        # Each carer's travel matrix (the shared one itself when their factor is 1), and their hours.
        self.uniform = all(c.travel_factor == 1.0 for c in problem.carers)
        self.dk = [
            self.d if c.travel_factor == 1.0 else [[x * c.travel_factor for x in row] for row in self.d]
            for c in problem.carers
        ]
        self.hours = any(c.hours is not None for c in problem.carers)
        self.opens = [float(c.hours[0]) if c.hours is not None else 0.0 for c in problem.carers]
        self.closes = [float(c.hours[1]) if c.hours is not None else INF for c in problem.carers]
        # miss[t][k]: what giving task t to carer k costs in continuity (None when no preference counts).
        weight = float(problem.continuity_weight)
        self.pref = [self.carer_index.get(v.preferred, -1) if v.preferred is not None else -1 for v in visits]
        self.weight = weight
        self.miss: list[list[float]] | None = None
        if weight > 0 and any(k >= 0 for k in self.pref):
            self.miss = [[0.0 if p < 0 or k == p else weight for k in range(self.m)] for p in self.pref]
        self.extras = self.hours or self.miss is not None  # overtime or continuity to count at all
        # What the insertion reads of these, in one attribute (it runs for every evaluated insertion).
        self.terms = (self.dk, self.uniform, self.hours, self.extras)
        self.able = [[k for k, c in enumerate(problem.carers) if v.service in c.abilities] for v in visits]
        # partner[t] and w[t]: start[t] >= start[partner[t]] + w[t] (the link read from t's side).
        self.partner = [-1] * self.n
        self.w = [0.0] * self.n
        self.first = [False] * self.n
        for link in problem.links:
            a, b = self.index[link.first], self.index[link.second]
            lo, hi = (0.0, 0.0) if link.kind == "simultaneous" else (float(link.min_delay), float(link.max_delay))
            self.partner[a], self.partner[b] = b, a
            self.w[b], self.w[a] = lo, -hi
            self.first[a] = True
        self.pinned = [-1] * self.n
        for pin in problem.pinned:
            self.pinned[self.index[pin.visit]] = self.carer_index[pin.carer]
        # Requests: what the search removes and inserts as one (a single task, or a link's two tasks).
        self.requests: list[tuple[int, ...]] = []
        self.request_of = [0] * self.n
        for t in range(self.n):
            j = self.partner[t]
            if j >= 0 and j < t:
                continue
            self.request_of[t] = len(self.requests)
            if j >= 0:
                self.request_of[j] = len(self.requests)
                self.requests.append((t, j) if self.first[t] else (j, t))
            else:
                self.requests.append((t,))
        self.free_requests = [r for r, ts in enumerate(self.requests) if all(self.pinned[t] < 0 for t in ts)]
        # Label-correcting updates beyond these mean a positive cycle (the links make the sequences impossible).
        self.cap = 6 * self.n + 50
        self.full_cap = (self.n + 1) * (2 * len(problem.links) + 4)
        scale = max((max(row) for row in self.d if row), default=1.0)
        self.dist_scale = max(scale, 1.0)
        self.time_scale = max(1.0, max(self.l, default=1.0) - min(self.e, default=0.0))


class _State:
    """Routes, the earliest starts they allow, and the objective's parts (cost = 3 x objective)."""

    __slots__ = (
        "carer",
        "cont",
        "data",
        "max_t",
        "nxt",
        "over",
        "over_k",
        "prev",
        "routes",
        "start",
        "sum_t",
        "travel",
        "updates",
    )

    def __init__(self, data: _Data, routes: list[list[int]]) -> None:
        self.data = data
        self.routes = routes
        n = data.n
        self.prev = [-1] * n
        self.nxt = [-1] * n
        self.carer = [-1] * n
        self.start = [0.0] * n
        self.travel = 0.0
        self.sum_t = 0.0
        self.max_t = 0.0
        self.over = 0.0  # overtime, and per route
        self.over_k = [0.0] * data.m
        self.cont = 0.0  # continuity cost
        self.updates = 0

    def copy(self) -> _State:
        """An independent copy."""
        s = _State.__new__(_State)
        s.data = self.data
        s.routes = [list(r) for r in self.routes]
        s.prev, s.nxt, s.carer, s.start = list(self.prev), list(self.nxt), list(self.carer), list(self.start)
        s.travel, s.sum_t, s.max_t, s.updates = self.travel, self.sum_t, self.max_t, 0
        s.over, s.over_k, s.cont = self.over, list(self.over_k), self.cont
        return s

    @property
    def cost(self) -> float:
        """travel + total tardiness + largest tardiness + overtime + continuity cost."""
        return self.travel + self.sum_t + self.max_t + self.over + self.cont

    def link(self) -> None:
        """prev/next/carer from the routes."""
        for t in range(self.data.n):
            self.carer[t] = -1
        for k, r in enumerate(self.routes):
            last = -1
            for t in r:
                self.prev[t] = last
                self.carer[t] = k
                if last >= 0:
                    self.nxt[last] = t
                last = t
            if last >= 0:
                self.nxt[last] = -1

    def time(self) -> bool:
        """Earliest starts for the routes (label correcting from scratch); False if the links make them cyclic."""
        data = self.data
        d, loc, dur, e, partner, w, cstart = data.d, data.loc, data.dur, data.e, data.partner, data.w, data.cstart
        dk, opens, uniform = data.dk, data.opens, data.uniform
        self.link()
        prev, nxt, carer, start = self.prev, self.nxt, self.carer, self.start
        known = [False] * data.n
        queue: deque[int] = deque(t for r in self.routes for t in r)
        updates = 0
        cap = data.full_cap
        while queue:
            t = queue.popleft()
            updates += 1
            if updates > cap:
                self.updates += updates
                return False
            a = prev[t]
            if a < 0:
                k = carer[t]
                s = opens[k] + dk[k][cstart[k]][loc[t]]
            else:
                if not known[a]:
                    continue
                s = start[a] + dur[a] + (d if uniform else dk[carer[t]])[loc[a]][loc[t]]
            if s < e[t]:
                s = e[t]
            j = partner[t]
            if j >= 0 and known[j] and start[j] + w[t] > s:
                s = start[j] + w[t]
            if known[t] and s <= start[t] + EPS:
                continue
            start[t] = s
            known[t] = True
            b = nxt[t]
            if b >= 0:
                queue.append(b)
            if j >= 0 and known[j]:
                queue.append(j)
        self.updates += updates
        travel = 0.0
        close = data.l
        sum_t = max_t = over = 0.0
        over_k, hours, closes = self.over_k, data.hours, data.closes
        for k, r in enumerate(self.routes):
            dd = dk[k]
            here = cstart[k]
            for t in r:
                travel += dd[here][loc[t]]
                here = loc[t]
                late = start[t] - close[t]
                if late > 0:
                    sum_t += late
                    if late > max_t:
                        max_t = late
            leg = dd[here][data.cend[k]]
            travel += leg
            if hours:
                o = (start[r[-1]] + dur[r[-1]] if r else opens[k]) + leg - closes[k]
                over_k[k] = o if o > 0 else 0.0
                over += over_k[k]
        self.travel, self.sum_t, self.max_t, self.over = travel, sum_t, max_t, over
        miss = data.miss
        if miss is not None:
            self.cont = sum(miss[t][k] for t, k in enumerate(carer) if k >= 0)
        return True

    def insertion(
        self, moves: Sequence[tuple[int, int, int]], limit: float = INF
    ) -> tuple[float, dict[int, float]] | None:
        """The cost after inserting tasks (task, carer, position), and the starts that change; None if cyclic or
        if the cost reaches `limit`.

        Starts only grow when tasks are inserted, so label correcting from the new tasks is exact, and the cost
        counted so far (added travel and continuity, then each start's added tardiness and each route's added
        overtime) is a lower bound that may stop it early. A route that gets a new last task has its overtime taken
        out first and counted again from that task (without the triangle inequality its return may be earlier).
        """
        data = self.data
        d, loc, dur, e, close, partner, w = data.d, data.loc, data.dur, data.e, data.l, data.partner, data.w
        dk, uniform, hours, extras = data.terms
        prev, nxt, carer, start, routes = self.prev, self.nxt, self.carer, self.start, self.routes
        p_over: dict[int, int] = {}
        n_over: dict[int, int] = {}
        c_over: dict[int, int] = {}
        # Each route's overtime as counted so far in this insertion (only read and written when carers have hours).
        ot: dict[int, float] = {} if hours else _NO_HOURS
        dtravel = dextra = 0.0
        for t, k, p in moves:
            r = routes[k]
            dd = dk[k]
            a = r[p - 1] if p > 0 else -1
            b = r[p] if p < len(r) else -1
            la = loc[a] if a >= 0 else data.cstart[k]
            lb = loc[b] if b >= 0 else data.cend[k]
            dtravel += dd[la][loc[t]] + dd[loc[t]][lb] - dd[la][lb]
            p_over[t], n_over[t], c_over[t] = a, b, k
            if a >= 0:
                n_over[a] = t
            if b >= 0:
                p_over[b] = t
            if extras:
                if b < 0 and hours:
                    ot[k] = 0.0
                    dextra -= self.over_k[k]
                if data.miss is not None:
                    dextra += data.miss[t][k]
        fixed = self.travel + dtravel + self.sum_t
        if extras:
            fixed += self.over + self.cont + dextra
        mx = self.max_t
        if fixed + mx >= limit:
            return None
        dsum = 0.0
        new: dict[int, float] = {}
        queue: deque[int] = deque(t for t, _, _ in moves)
        updates = 0
        cap = data.cap
        while queue:
            t = queue.popleft()
            updates += 1
            if updates > cap:
                self.updates += updates
                return None
            a = p_over[t] if t in p_over else prev[t]
            if a < 0:
                k = c_over[t] if t in c_over else carer[t]
                s = data.opens[k] + dk[k][data.cstart[k]][loc[t]]
            else:
                sa = new.get(a)
                if sa is None:
                    if a in c_over:
                        continue  # a new task not timed yet: it will push t when it is
                    sa = start[a]
                if uniform:
                    s = sa + dur[a] + d[loc[a]][loc[t]]
                else:
                    s = sa + dur[a] + dk[c_over[t] if t in c_over else carer[t]][loc[a]][loc[t]]
            if s < e[t]:
                s = e[t]
            j = partner[t]
            if j >= 0:
                sj = new.get(j)
                if sj is None and j not in c_over and carer[j] >= 0:
                    sj = start[j]
                if sj is not None and sj + w[t] > s:
                    s = sj + w[t]
            old = new.get(t)
            if old is None and t not in c_over:
                old = start[t]
            if old is not None and s <= old + EPS:
                continue
            new[t] = s
            late = s - close[t]
            if late > 0:
                dsum += late if old is None or old <= close[t] else s - old
                if late > mx:
                    mx = late
                if fixed + dsum + mx >= limit:
                    self.updates += updates
                    return None
            b = n_over[t] if t in n_over else nxt[t]
            if b >= 0:
                queue.append(b)
            elif hours:
                # t ends its route: its return, later than before, may add overtime.
                k = c_over[t] if t in c_over else carer[t]
                o = s + dur[t] + dk[k][loc[t]][data.cend[k]] - data.closes[k]
                was = ot.get(k, self.over_k[k])
                if o > was:
                    fixed += o - was
                    ot[k] = o
                    if fixed + dsum + mx >= limit:
                        self.updates += updates
                        return None
            if j >= 0:
                queue.append(j)
        self.updates += updates
        return fixed + dsum + mx, new

    def insert(self, moves: Sequence[tuple[int, int, int]]) -> bool:
        """Insert tasks at (carer, position) and re-time; False if the links make the routes cyclic."""
        for t, k, p in sorted(moves, key=lambda m: -m[2]):
            self.routes[k].insert(p, t)
        return self.time()

    def remove(self, tasks: Sequence[int]) -> None:
        """Take tasks out of their routes (re-time afterwards)."""
        gone = set(tasks)
        for k in {self.carer[t] for t in tasks if self.carer[t] >= 0}:
            self.routes[k] = [t for t in self.routes[k] if t not in gone]
        for t in tasks:
            self.carer[t] = -1


class _Insertion:
    """Best insertions of a request: a single task at (carer, position), a link's halves at two different carers.

    Within one repair the cheapest positions of each task in each route are cached and recomputed only for the
    routes whose sequence or times the last insertion changed.
    """

    def __init__(self, data: _Data, rng: random.Random, *, pair_width: int) -> None:
        self.data = data
        self.rng = rng
        self.pair_width = pair_width
        self.evals = 0
        # Within one repair: a two-carer request's best insertions and the routes they depend on.
        self.pair_cache: dict[int, tuple[list[tuple[float, tuple[tuple[int, int, int], ...]]], set[int]]] | None = None

    def _positions(self, state: _State, t: int, k: int) -> list[tuple[float, int, float]]:
        """The cheapest (added cost, position, added travel) of task t alone in route k, if any (its partner ignored).

        Only the best position per route: a request's options are per carer, and a linked half's best routes are
        what is paired with its partner's. (Keeping the best four per route, as until stop 17, spent most of G's
        evaluations without a limit to stop them early: G3, G7, G8 at 108 reference seconds were +5.9 to +7.2 % over
        the best known with four per route; docs/optimiser-visits.md, "One position per route".) An insertion adds
        at least its travel (starts, hence tardiness, only grow), so positions are tried in order of added travel
        and the rest skipped once that alone reaches the best found.
        """
        data = self.data
        d, loc = data.dk[k], data.loc
        r = state.routes[k]
        lt = loc[t]
        here = data.cstart[k]
        detours = []
        for p in range(len(r) + 1):
            there = loc[r[p]] if p < len(r) else data.cend[k]
            detours.append((d[here][lt] + d[lt][there] - d[here][there], p))
            here = there
        detours.sort()
        best: tuple[float, int, float] | None = None
        base = state.cost
        for dt, p in detours:
            if best is not None and dt >= best[0]:
                break
            self.evals += 1
            out = state.insertion(((t, k, p),), INF if best is None else base + best[0])
            if out is not None:  # below the limit: better than the best so far
                best = (out[0] - base, p, dt)
        return [] if best is None else [best]

    def options(
        self,
        state: _State,
        request: tuple[int, ...],
        noise: float,
        limit: int = 2,
        cache: dict[tuple[int, int], list[tuple[float, int, float]]] | None = None,
    ) -> list[tuple[float, tuple[tuple[int, int, int], ...]]]:
        """Up to `limit` cheapest insertions (cost after, moves) at distinct carers, best first."""
        data, rng = self.data, self.rng
        if cache is None:
            cache = {}
        base = state.cost
        per_task: list[list[tuple[float, int, int, float]]] = []
        for t in request:
            ks = [data.pinned[t]] if data.pinned[t] >= 0 else data.able[t]
            found: list[tuple[float, int, int, float]] = []
            for k in ks:
                got = cache.get((t, k))
                if got is None:
                    got = cache[(t, k)] = self._positions(state, t, k)
                found.extend((c, k, p, dt) for c, p, dt in got)
            found.sort()
            per_task.append(found)
        best: dict[object, tuple[float, tuple[tuple[int, int, int], ...]]] = {}
        if len(request) == 1:
            (t,) = request
            for delta, k, p, _ in per_task[0]:
                c = base + delta + (noise * rng.random() if noise else 0.0)
                if k not in best or c < best[k][0]:
                    best[k] = (c, ((t, k, p),))
        else:
            t1, t2 = request
            pair_cache = self.pair_cache
            kept = pair_cache.get(t1) if pair_cache is not None else None
            if kept is not None:
                return [(base + delta, moves) for delta, moves in kept[0]][:limit]
            width = self.pair_width
            a_opts, b_opts = per_task
            combos = []
            for i, (ca, ka, pa, da) in enumerate(a_opts[: width * 2]):
                for j, (cb, kb, pb, db) in enumerate(b_opts[: width * 2]):
                    if ka == kb or (i >= width and j >= width):
                        continue
                    # Both together cost at least each alone, and at least both detours.
                    combos.append((max(ca, cb, da + db), ca + cb, ka, pa, kb, pb))
            combos.sort(key=lambda x: x[1])
            exact: list[float] = []  # exact added costs found so far, best first
            tried = 0
            for low, _, ka, pa, kb, pb in combos:
                if len(exact) >= limit and (low >= exact[limit - 1] or tried >= PAIR_EVALS):
                    continue
                tried += 1
                cut = base + exact[limit - 1] if len(exact) >= limit else INF
                after = self._pair(state, ((t1, ka, pa), (t2, kb, pb)), noise, best, cut)
                if after is not None:
                    exact.append(after - base)
                    exact.sort()
            fallback = not best
            if fallback:
                # Every pruned combination was cyclic or on one carer (rare): each half's own best positions on every
                # route it may take, and the routes' ends, where a request closes no cycle, so one always fits. (Every
                # position of every pair of routes took minutes an iteration on G7, past the time limit.)
                spots_a, spots_b = _spots(state, data, t1, a_opts), _spots(state, data, t2, b_opts)
                for ka, pas in spots_a.items():
                    for kb, pbs in spots_b.items():
                        if ka == kb:
                            continue
                        for pa in pas:
                            for pb in pbs:
                                self._pair(state, ((t1, ka, pa), (t2, kb, pb)), noise, best)
            if pair_cache is not None and not fallback:
                # Kept until an insertion changes a route it looked at (its halves' candidate routes).
                looked = {k for _, k, _, _ in a_opts[: width * 2]} | {k for _, k, _, _ in b_opts[: width * 2]}
                ranked = sorted(best.values(), key=lambda x: x[0])
                pair_cache[t1] = ([(c - base, m) for c, m in ranked[:limit]], looked)
        ranked = sorted(best.values(), key=lambda x: x[0])
        return ranked[:limit]

    def _pair(
        self,
        state: _State,
        moves: tuple[tuple[int, int, int], ...],
        noise: float,
        best: dict[object, tuple[float, tuple[tuple[int, int, int], ...]]],
        limit: float = INF,
    ) -> float | None:
        self.evals += 1
        out = state.insertion(moves, limit)
        if out is None:
            return None
        c = out[0] + (noise * self.rng.random() if noise else 0.0)
        key = (moves[0][1], moves[1][1])
        if key not in best or c < best[key][0]:
            best[key] = (c, moves)
        return out[0]

    def repair(self, state: _State, requests: list[int], *, regret: int, noise: float) -> bool:
        """Insert every request (regret-k order, or cheapest first when regret is 1); False if one cannot go in."""
        left = list(requests)
        cache: dict[tuple[int, int], list[tuple[float, int, float]]] = {}
        self.pair_cache = {}
        while left:
            chosen = -1
            chosen_key = -INF
            chosen_moves: tuple[tuple[int, int, int], ...] = ()
            base = state.cost
            for r in left:
                opts = self.options(state, self.data.requests[r], noise, limit=max(regret, 1), cache=cache)
                if not opts:
                    self.pair_cache = None
                    return False
                if regret <= 1:
                    key = -(opts[0][0] - base)
                else:
                    worst = opts[-1][0] if len(opts) >= regret else INF
                    key = (worst - opts[0][0]) if worst < INF else 1e18 - opts[0][0]
                if key > chosen_key:
                    chosen, chosen_key, chosen_moves = r, key, opts[0][1]
            before = list(state.start)
            if not state.insert(chosen_moves):
                # A cached insertion went stale into a cycle: undo it and look again with nothing cached.
                state.remove([t for t, _, _ in chosen_moves])
                state.time()
                cache, self.pair_cache = {}, {}
                continue
            left.remove(chosen)
            changed = {k for _, k, _ in chosen_moves}
            carer, start = state.carer, state.start
            for t in range(self.data.n):
                if carer[t] >= 0 and start[t] != before[t]:
                    changed.add(carer[t])
            if changed:
                cache = {key: v for key, v in cache.items() if key[1] not in changed}
                self.pair_cache = {t: v for t, v in self.pair_cache.items() if not (v[1] & changed)}
        self.pair_cache = None
        return True


class _Search:
    """Adaptive large-neighbourhood search over the routes, on the work budget."""

    DESTROYS = ("random", "worst", "related", "route", "late")
    REPAIRS = ("greedy", "regret2", "regret3", "greedy-noise", "regret2-noise")

    def __init__(self, data: _Data, budget: Budget, seed: int, reporter: ProgressReporter) -> None:
        self.data = data
        self.budget = budget
        self.rng = random.Random(seed)  # noqa: S311 - a seeded search, not a secret
        self.reporter = reporter
        self.ins = _Insertion(data, self.rng, pair_width=3)
        self.iterations = 0
        self.clock_reserve = 0.05  # wall seconds kept for the reasons and the checker (the clock's safety net only)
        self.keep_start = False  # every scout starts from the start plan (a re-plan from the standing one)
        self.construct_work = 0.0  # what the construction cost: the price of a scout's own start

    def charged(self, before_evals: int, before_updates: int, state: _State) -> float:
        """Reference seconds spent since the counts given."""
        return S_PER_EVAL * (self.ins.evals - before_evals) + S_PER_UPDATE * (state.updates - before_updates)

    def construct(self, previous: list[list[int]] | None) -> _State | None:
        """Regret insertion from the pins (and the previous plan's surviving sequences); None if pins forbid a plan."""
        data = self.data
        routes: list[list[int]] = [[] for _ in range(data.m)]
        placed: set[int] = set()
        if previous is not None:
            for k, r in enumerate(previous):
                for t in r:
                    ok = k in data.able[t] and (data.pinned[t] < 0 or data.pinned[t] == k)
                    if ok:
                        routes[k].append(t)
                        placed.add(t)
        for t in range(data.n):
            if data.pinned[t] >= 0 and t not in placed:
                routes[data.pinned[t]].append(t)
                placed.add(t)
        if previous is None:
            for r in routes:
                r.sort(key=lambda t: (data.e[t], t))
        # A request stays only if all its tasks survived on different carers.
        state = _State(data, routes)
        for ts in data.requests:
            if not all(t in placed for t in ts) or (len(ts) == 2 and _same_carer(routes, ts)):
                state.routes = [[t for t in r if t not in ts] for r in state.routes]
                placed.difference_update(ts)
        if not state.time():
            # The kept sequences are cyclic: start from the pins alone, ordered by window.
            state.routes = [sorted((t for t in r if data.pinned[t] >= 0), key=lambda t: (data.e[t], t)) for r in routes]
            placed = {t for r in state.routes for t in r}
            state.time()
        todo = [r for r, ts in enumerate(data.requests) if not all(t in placed for t in ts)]
        before = (self.ins.evals, state.updates)
        ok = self.ins.repair(state, todo, regret=2, noise=0.0)
        self.construct_work = self.charged(*before, state)
        self.budget.charge(self.construct_work)
        # Appending a request at the ends of routes closes no cycle, so only pins can leave one with no place: its
        # two halves pinned to one carer, or one half pinned to the only carer able to give the other.
        return state if ok else None

    def destroy(self, state: _State, how: str, q: int) -> list[int]:
        """Remove q free requests chosen by `how`; returns them."""
        data, rng = self.data, self.rng
        free = data.free_requests
        if not free:
            return []
        q = min(q, len(free))
        if how == "random":
            chosen = rng.sample(free, q)
        elif how == "worst" or how == "late":
            scores = []
            for r in free:
                ts = data.requests[r]
                gain = 0.0
                for t in ts:
                    late = max(0.0, state.start[t] - data.l[t])
                    if how == "late":
                        gain += late
                    else:
                        gain += _detour(state, t) + late
                        if data.miss is not None:
                            gain += data.miss[t][state.carer[t]]
                scores.append((gain, r))
            scores.sort(reverse=True)
            chosen = []
            pool = [r for _, r in scores]
            while len(chosen) < q and pool:
                i = int(len(pool) * rng.random() ** 4)
                chosen.append(pool.pop(i))
        elif how == "related":
            seed_r = rng.choice(free)
            chosen = [seed_r]
            pool = [r for r in free if r != seed_r]
            while len(chosen) < q and pool:
                ref = data.requests[rng.choice(chosen)][0]
                pool.sort(key=lambda r: _relatedness(data, state, ref, data.requests[r][0]))
                i = int(len(pool) * rng.random() ** 6)
                chosen.append(pool.pop(i))
        else:  # route: one carer's requests, then the nearest others
            ks = [k for k in range(data.m) if state.routes[k]]
            k = rng.choice(ks) if ks else 0
            free_set = set(free)
            chosen = sorted({data.request_of[t] for t in state.routes[k] if data.request_of[t] in free_set})
            if len(chosen) > q:
                chosen = rng.sample(chosen, q)
            if not chosen:
                chosen = [rng.choice(free)]
            pool = [r for r in free if r not in set(chosen)]
            while len(chosen) < q and pool:
                ref = data.requests[chosen[0]][0]
                pool.sort(key=lambda r: _relatedness(data, state, ref, data.requests[r][0]))
                chosen.append(pool.pop(0))
        tasks = [t for r in chosen for t in data.requests[r]]
        state.remove(tasks)
        state.time()
        return chosen

    def scout_and_run(self, start: _State, work: float, seed: int) -> _State:
        """A few short searches (SCOUT_SHARE of the work), then the rest from the best of them.

        The search can settle in a poor basin from its first moves or from its start (C1: +5% after 15 reference
        seconds on one seed, -0.9% on two others; D8: 661-676 from the regret construction, 643-646 from any other
        start). So two scouts start from the start plan with their own random streams, and two from starts of
        their own — cheapest-first and regret-3 insertion with noise — deterministically.
        """
        scouts = SCOUTS if work >= SCOUT_MIN_WORK else 1
        if scouts == 1:
            return self.run(start, work)
        share = SCOUT_SHARE * work / scouts
        # An own start that costs more than a tenth of the scout's search leaves it too little to find a basin worth
        # comparing (G at 120 s: mean +4.89 % with them on 9 instances, +3.22 % without).
        own = self.construct_work <= OWN_START_MAX * share
        found = []
        for i in range(scouts):
            self.rng.seed(seed * 7919 + i)
            found.append(self.run((self._other_start(start, i) if own else None) or start.copy(), share))
        best = min(found, key=lambda s: s.cost)
        self.rng.seed(seed * 7919 + scouts)
        return self.run(best, work - scouts * share)

    def _other_start(self, start: _State, scout: int) -> _State | None:
        """Scout 2's and 3's own start: the free requests inserted again from the pins alone, cheapest first or
        regret-3, with noise (charged as work); None for the other scouts, when the start is a previous plan (a
        re-plan's fewest changes come from starting there), or if a request found no place."""
        if scout < 2 or self.keep_start:
            return None
        data = self.data
        state = start.copy()
        state.remove([t for r in data.free_requests for t in data.requests[r]])
        state.time()
        before = (self.ins.evals, state.updates)
        ok = self.ins.repair(state, list(data.free_requests), regret=1 if scout == 2 else 3, noise=SCOUT_NOISE)
        self.budget.charge(self.charged(*before, state))
        return state if ok else None

    def run(self, state: _State, work: float) -> _State:
        """Search until `work` reference seconds are spent; returns the best state found."""
        data, rng, budget = self.data, self.rng, self.budget
        best = state.copy()
        current = state
        n_req = len(data.free_requests)
        if n_req == 0:
            return best
        dw = [1.0] * len(self.DESTROYS)
        rw = [1.0] * len(self.REPAIRS)
        ds = [0.0] * len(self.DESTROYS)
        rs = [0.0] * len(self.REPAIRS)
        dn = [0] * len(self.DESTROYS)
        rn = [0] * len(self.REPAIRS)
        stop_at = budget.spent + work
        t0 = T0_SHARE * current.cost + 1e-6  # start temperature, cooling to zero as the work is spent
        q_max = max(2, min(40, int(0.3 * n_req) + 1))
        q_min = 1 if n_req < 8 else 2
        patience = max(100, 4 * n_req)  # iterations without a new best before the search returns to the best
        since_best = 0
        est = 0.0
        while True:
            left = stop_at - budget.spent
            if left <= 0 or not budget.fits(min(est, left), clock_reserve=self.clock_reserve):
                break
            progress = 1.0 - left / max(work, 1e-9)
            temperature = t0 * (1.0 - progress) ** 2 + 1e-9
            di = _roulette(rng, dw)
            ri = _roulette(rng, rw)
            q = rng.randint(q_min, q_max)
            before = (self.ins.evals, current.updates)
            trial = current.copy()
            trial.updates = current.updates
            removed = self.destroy(trial, self.DESTROYS[di], q)
            how = self.REPAIRS[ri]
            noise = 0.1 * data.dist_scale if how.endswith("noise") else 0.0
            regret = 3 if how.startswith("regret3") else 2 if how.startswith("regret2") else 1
            ok = self.ins.repair(trial, removed, regret=regret, noise=noise)
            spent = self.charged(before[0], before[1], trial)
            budget.charge(spent)
            est = 0.8 * est + 0.2 * spent if est else spent
            current.updates = trial.updates
            self.iterations += 1
            score = 0.0
            if ok:
                delta = trial.cost - current.cost
                if trial.cost < best.cost - 1e-7:
                    best = trial.copy()
                    score = 10.0
                    self.reporter.report(best.cost / 3, 0.0, "alns")
                if delta < -1e-7:
                    score = max(score, 4.0)
                    current = trial
                elif delta <= 1e-7 or rng.random() < math.exp(-delta / temperature):
                    score = max(score, 1.0)
                    current = trial
            ds[di] += score
            rs[ri] += score
            dn[di] += 1
            rn[ri] += 1
            if self.iterations % 50 == 0:
                for ws, ss, ns in ((dw, ds, dn), (rw, rs, rn)):
                    for i in range(len(ws)):
                        if ns[i]:
                            ws[i] = max(0.05, 0.8 * ws[i] + 0.2 * ss[i] / ns[i])
                        ss[i], ns[i] = 0.0, 0
            if score >= 10.0:
                since_best = 0
            else:
                since_best += 1
                if since_best >= patience:
                    current = best.copy()  # no new best for a while: back to the best plan
                    since_best = 0
        return best


def _spots(state: _State, data: _Data, t: int, opts: list[tuple[float, int, int, float]]) -> dict[int, list[int]]:
    """Per route a task may take: its best positions alone there (`opts`) and the route's end."""
    out = {k: [len(state.routes[k])] for k in ([data.pinned[t]] if data.pinned[t] >= 0 else data.able[t])}
    for _, k, p, _ in opts:
        if k in out and p not in out[k]:
            out[k].append(p)
    return out


def _same_carer(routes: list[list[int]], ts: tuple[int, ...]) -> bool:
    ks = [k for k, r in enumerate(routes) for t in ts if t in r]
    return len(set(ks)) < len(ks)


def _roulette(rng: random.Random, weights: list[float]) -> int:
    x = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x <= 0:
            return i
    return len(weights) - 1


def _detour(state: _State, t: int) -> float:
    data = state.data
    k = state.carer[t]
    d, loc = data.dk[k], data.loc
    a, b = state.prev[t], state.nxt[t]
    la = loc[a] if a >= 0 else data.cstart[k]
    lb = loc[b] if b >= 0 else data.cend[k]
    return d[la][loc[t]] + d[loc[t]][lb] - d[la][lb]


def _relatedness(data: _Data, state: _State, a: int, b: int) -> float:
    return data.d[data.loc[a]][data.loc[b]] / data.dist_scale + abs(state.start[a] - state.start[b]) / data.time_scale


# --------------------------------------------------------------------------------------------- exact model (CP-SAT)


def _distinct(matrices: list[list[list[float]]]) -> list[list[list[float]]]:
    """Each matrix once (carers with factor 1 share the problem's)."""
    return list({id(dd): dd for dd in matrices}.values())


def _exact_arcs(data: _Data) -> int:
    return sum((len(ts) + 1) ** 2 for ts in _eligible_by_carer(data))


def _eligible_by_carer(data: _Data) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(data.m)]
    for t in range(data.n):
        for k in [data.pinned[t]] if data.pinned[t] >= 0 else data.able[t]:
            out[k].append(t)
    return out


def _integral(data: _Data) -> bool:
    values = [x for dd in _distinct(data.dk) for row in dd for x in row] + data.dur + data.e + data.l
    values += [abs(w) for w in data.w] + data.opens + [x for x in data.closes if x < INF] + [data.weight]
    return all(abs(x * SCALE - round(x * SCALE)) < 1e-6 for x in values)


def _exact(
    data: _Data, hint: _State, budget: Budget, work: float, seed: int, reporter: ProgressReporter
) -> tuple[list[list[int]] | None, float, bool]:
    """The whole problem as one CP-SAT model (a circuit per carer with their own travel, starts from their hours,
    tardiness, overtime, continuity) from the hint.

    Returns (routes of a better plan or None, proven lower bound on 3 x objective, proven optimal).
    """
    S = SCALE
    scaled = {id(dd): [[round(x * S) for x in row] for row in dd] for dd in _distinct(data.dk)}
    model = cp_model.CpModel()
    eligible = _eligible_by_carer(data)
    longest = max((sum(max(row) for row in dd) for dd in _distinct(data.dk)), default=0.0)
    horizon = round(S * (max(data.l + data.e + data.opens) + sum(data.dur) + longest + 1))
    horizon = max(horizon, round(max(hint.start, default=0.0) * S) + 1)
    start = [model.new_int_var(round(data.e[t] * S), horizon, f"s{t}") for t in range(data.n)]
    late = [model.new_int_var(0, horizon, f"late{t}") for t in range(data.n)]
    worst = model.new_int_var(0, horizon, "worst")
    visited: dict[tuple[int, int], cp_model.IntVar] = {}
    travel_terms = []
    arcs_of: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for k in range(data.m):
        d = scaled[id(data.dk[k])]
        opens = round(data.opens[k] * S)
        arcs: list[tuple[int, int, cp_model.LiteralT]] = []
        nodes = eligible[k]
        empty = model.new_bool_var(f"empty{k}")
        arcs.append((0, 0, empty))
        if d[data.cstart[k]][data.cend[k]]:
            travel_terms.append(d[data.cstart[k]][data.cend[k]] * empty)
        over = None
        if data.closes[k] < INF:
            # Overtime: back at the end point after the hours close (an empty route goes straight back).
            over = model.new_int_var(0, horizon, f"over{k}")
            closes = round(data.closes[k] * S)
            travel_terms.append(over)
            model.add(over >= opens + d[data.cstart[k]][data.cend[k]] - closes).only_enforce_if(empty)
        for t in nodes:
            v = model.new_bool_var(f"v{k}_{t}")
            visited[(k, t)] = v
            arcs.append((t + 1, t + 1, ~v))
            out_arc = model.new_bool_var(f"x{k}_{t}_end")
            in_arc = model.new_bool_var(f"x{k}_start_{t}")
            arcs.append((t + 1, 0, out_arc))
            arcs.append((0, t + 1, in_arc))
            arcs_of[(k, -1, t)] = in_arc
            arcs_of[(k, t, -1)] = out_arc
            travel_terms.append(d[data.loc[t]][data.cend[k]] * out_arc)
            travel_terms.append(d[data.cstart[k]][data.loc[t]] * in_arc)
            model.add(start[t] >= opens + d[data.cstart[k]][data.loc[t]]).only_enforce_if(in_arc)
            if over is not None:
                back = start[t] + round(data.dur[t] * S) + d[data.loc[t]][data.cend[k]]
                model.add(over >= back - closes).only_enforce_if(out_arc)
            if data.miss is not None and data.miss[t][k]:
                travel_terms.append(round(data.miss[t][k] * S) * v)
            for u in nodes:
                if u == t:
                    continue
                x = model.new_bool_var(f"x{k}_{t}_{u}")
                arcs.append((t + 1, u + 1, x))
                arcs_of[(k, t, u)] = x
                travel_terms.append(d[data.loc[t]][data.loc[u]] * x)
                gap = round(data.dur[t] * S) + d[data.loc[t]][data.loc[u]]
                model.add(start[u] >= start[t] + gap).only_enforce_if(x)
        model.add_circuit(arcs)
    for t in range(data.n):
        model.add_exactly_one(visited[(k, t)] for k in range(data.m) if (k, t) in visited)
        model.add(late[t] >= start[t] - round(data.l[t] * S))
        model.add(worst >= late[t])
        j = data.partner[t]
        if j >= 0 and data.first[t]:
            model.add(start[j] - start[t] >= round(data.w[j] * S))
            model.add(start[j] - start[t] <= round(-data.w[t] * S))
            for k in range(data.m):
                if (k, t) in visited and (k, j) in visited:
                    model.add_bool_or([~visited[(k, t)], ~visited[(k, j)]])
    model.minimize(sum(travel_terms) + sum(late) + worst)
    # The hint: the search's plan.
    for k, r in enumerate(hint.routes):
        used = set(itertools.pairwise([-1, *r, -1]))
        for (kk, a, b), x in arcs_of.items():
            if kk == k:
                model.add_hint(x, (a, b) in used)
    for (k, t), v in visited.items():
        model.add_hint(v, hint.carer[t] == k)
    lates = [max(0, round(hint.start[t] * S) - round(data.l[t] * S)) for t in range(data.n)]
    for t in range(data.n):
        model.add_hint(start[t], round(hint.start[t] * S))
        model.add_hint(late[t], lates[t])
    model.add_hint(worst, max(lates, default=0))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = max(0.01, work * CPSAT_DET_PER_S)
    solver.parameters.max_time_in_seconds = budget.clock_left(0.05)
    status = solver.solve(model)
    budget.charge(solver.deterministic_time / CPSAT_DET_PER_S)
    name = solver.status_name(status)
    if name not in ("OPTIMAL", "FEASIBLE"):
        budget.note_clock_stop(solver.wall_time >= 0.98 * budget.clock_left(0.05))
        return None, 0.0, False
    if name != "OPTIMAL" and solver.wall_time >= 0.95 * solver.parameters.max_time_in_seconds:
        budget.note_clock_stop(True)
    lower = solver.best_objective_bound / S
    routes: list[list[int]] = []
    for k in range(data.m):
        seq: list[int] = []
        at = -1
        while True:
            nxt = next((b for (kk, a, b), x in arcs_of.items() if kk == k and a == at and solver.boolean_value(x)), -1)
            if nxt < 0:
                break
            seq.append(nxt)
            at = nxt
        routes.append(seq)
    reporter.report(solver.objective_value / S / 3, lower / 3, "cp-sat")
    return routes, lower, name == "OPTIMAL"


# --------------------------------------------------------------------------------------------- result


def validate(problem: VisitsProblem) -> list[Conflict]:
    """Data that no plan can satisfy: unknown ids, a visit nobody can give, a link with no two able carers, a travel
    factor that is not positive, hours that close before they open."""
    out: list[Conflict] = []
    size = len(problem.travel)
    if any(len(row) != size for row in problem.travel):
        out.append(Conflict("travel", "the travel matrix is not square"))
        return out
    ids = [v.id for v in problem.visits]
    if len(set(ids)) != len(ids):
        out.append(Conflict("visit-ids", "two visits share an id"))
    carer_ids = [c.id for c in problem.carers]
    if len(set(carer_ids)) != len(carer_ids):
        out.append(Conflict("carer-ids", "two carers share an id"))
    for c in problem.carers:
        if c.start >= size or c.end >= size:
            out.append(Conflict("carer-location", f"carer {c.id!r} starts or ends outside the travel matrix"))
        if not 0 < c.travel_factor < INF:
            out.append(Conflict("travel-factor", f"carer {c.id!r}'s travel factor is not a positive number"))
        if c.hours is not None and c.hours[1] < c.hours[0]:
            out.append(Conflict("hours", f"carer {c.id!r}'s hours close before they open"))
    known_carers = set(carer_ids)
    by_id = {v.id: v for v in problem.visits}
    for v in problem.visits:
        if v.location >= size:
            out.append(Conflict("visit-location", f"visit {v.id!r} is outside the travel matrix"))
        if v.window[1] < v.window[0]:
            out.append(Conflict("window", f"visit {v.id!r}'s window closes before it opens"))
        if not any(v.service in c.abilities for c in problem.carers):
            out.append(Conflict("ability", f"no carer can give {v.service!r} (visit {v.id!r})"))
        if v.preferred is not None and v.preferred not in known_carers:
            out.append(Conflict("preferred", f"visit {v.id!r} prefers an unknown carer {v.preferred!r}"))
    linked: set[Id] = set()
    for link in problem.links:
        a, b = by_id.get(link.first), by_id.get(link.second)
        if a is None or b is None or a.id == b.id:
            out.append(Conflict("link", f"link {link.first!r}-{link.second!r} names an unknown visit"))
            continue
        if a.id in linked or b.id in linked:
            out.append(Conflict("link", f"visit {a.id!r} or {b.id!r} is in two links"))
        linked.update((a.id, b.id))
        if link.kind == "sequential" and link.max_delay < link.min_delay:
            out.append(Conflict("link", f"link {a.id!r}-{b.id!r}: max_delay below min_delay"))
        ka = [c.id for c in problem.carers if a.service in c.abilities]
        kb = [c.id for c in problem.carers if b.service in c.abilities]
        if not any(x != y for x in ka for y in kb):
            out.append(Conflict("link", f"visits {a.id!r} and {b.id!r} need two different able carers"))
    carers = {c.id: c for c in problem.carers}
    for pin in problem.pinned:
        pv, pc = by_id.get(pin.visit), carers.get(pin.carer)
        if pv is None or pc is None:
            out.append(Conflict("pin", f"pin {pin.visit!r}->{pin.carer!r} names an unknown visit or carer"))
        elif pv.service not in pc.abilities:
            out.append(Conflict("pin", f"visit {pv.id!r} is pinned to {pc.id!r}, who cannot give {pv.service!r}"))
    return out


def _routes_out(data: _Data, state: _State) -> tuple[Route, ...]:
    problem = data.problem
    out = []
    for k, r in enumerate(state.routes):
        stops = []
        here = data.cstart[k]
        free_at = data.opens[k]
        travel = 0.0
        d = data.dk[k]
        for t in r:
            v = problem.visits[t]
            leg = d[here][data.loc[t]]
            travel += leg
            s = state.start[t]
            stops.append(
                Stop(
                    visit=v.id,
                    patient=v.patient,
                    service=v.service,
                    start=s,
                    end=s + data.dur[t],
                    arrival=free_at + leg,
                    tardiness=max(0.0, s - data.l[t]),
                )
            )
            free_at = s + data.dur[t]
            here = data.loc[t]
        leg = d[here][data.cend[k]]
        back = free_at + leg
        overtime = max(0.0, back - data.closes[k])
        out.append(Route(problem.carers[k].id, tuple(stops), travel + leg, back, overtime))
    return tuple(out)


def _reasons(data: _Data, state: _State, ins: _Insertion, budget: Budget) -> tuple[VisitReason, ...]:
    problem = data.problem
    carers = problem.carers
    alternatives: dict[int, tuple[Id, float]] = {}
    for ts in data.requests:
        if budget.deadline.remaining() < 0.1:
            budget.cut_by_clock = True  # the clock cut the explanations short: the rest have no alternative
            break
        if any(data.pinned[t] >= 0 for t in ts):
            continue
        mine = tuple(state.carer[t] for t in ts)
        trial = state.copy()
        trial.remove(list(ts))
        trial.time()
        for cost, moves in ins.options(trial, ts, 0.0, limit=3):
            ks = tuple(m[1] for m in moves)
            if ks != mine:
                for t in ts:
                    other = ks[ts.index(t)] if len(ts) > 1 else ks[0]
                    alternatives[t] = (carers[other].id, round(max(0.0, cost - state.cost) / 3, 6))
                break
    out = []
    for t, v in enumerate(problem.visits):
        k = state.carer[t]
        s = state.start[t]
        a = state.prev[t]
        d = data.dk[k]
        arrival = (
            data.opens[k] + d[data.cstart[k]][data.loc[t]]
            if a < 0
            else state.start[a] + data.dur[a] + d[data.loc[a]][data.loc[t]]
        )
        j = data.partner[t]
        why: str
        if j >= 0 and s > max(arrival, data.e[t]) + EPS:
            why = "partner"
        elif arrival > data.e[t] + EPS:
            why = "arrival"
        else:
            why = "window-opens"
        alt = alternatives.get(t)
        out.append(
            VisitReason(
                visit=v.id,
                caregiver=carers[k].id,
                able=tuple(carers[c].id for c in data.able[t]),
                start_set_by=why,  # type: ignore[arg-type]
                late_by=max(0.0, s - data.l[t]),
                alternative=None if alt is None else alt[0],
                alternative_extra=None if alt is None else alt[1],
                partner=None if j < 0 else problem.visits[j].id,
                preferred=v.preferred if data.pref[t] >= 0 else None,
            )
        )
    return tuple(out)


def solve(
    problem: VisitsProblem,
    *,
    time_limit_s: float,
    seed: int,
    work: float | None = None,
    previous: VisitsResult | None = None,
    pinned: Sequence[Pin] = (),
    on_progress: ProgressFn | None = None,
) -> VisitsResult:
    """Plan every carer's route to minimise (travel + total tardiness + largest tardiness + overtime + continuity
    cost) / 3; always checked.

    `work` is the search budget in reference seconds (matching.common.Budget), by default a share of the time
    limit; the same problem, seed and work give the same plan. `previous` (a result for this problem) is the start:
    its sequences are kept where they still hold. `pinned` adds to the problem's pins (a visit kept on a carer).
    """
    budget = solve_budget(time_limit_s, work)
    if pinned:
        problem = msgspec.structs.replace(problem, pinned=tuple(problem.pinned) + tuple(pinned))
    conflicts = validate(problem)
    if conflicts:
        return infeasible(VisitsResult, conflicts, budget, objective=0.0)
    data = _Data(problem)
    # The assignment relaxation's bound on travel (so on 3 x the objective), charged to the work. First, because the
    # construction can spend all the work of a short solve on a large instance (G1 at 5 s), and it costs little (G1:
    # 0.02 CPU s).
    assignment_s = budget.deadline.elapsed()
    travel_lower = travel_bound(problem, budget)
    assignment_s = budget.deadline.elapsed() - assignment_s
    reporter = ProgressReporter(budget.deadline, on_progress, maximise=False)
    search = _Search(data, budget, seed, reporter)
    old: list[list[int]] | None = None
    if previous is not None:
        old = [[] for _ in range(data.m)]
        for route in previous.routes:
            k = data.carer_index.get(route.caregiver)
            if k is not None:
                old[k] = [data.index[s.visit] for s in route.visits if s.visit in data.index]
    start = search.construct(old)
    search.keep_start = old is not None
    if start is None:
        detail = "the pins leave a two-carer visit without two different able carers"
        return infeasible(VisitsResult, [Conflict("pin", detail)], budget, objective=0.0)
    start_s = budget.deadline.elapsed() - assignment_s
    # The reasons re-insert every request once, a fifth of what the construction did (E1: 0.10 and 0.49 CPU s), and
    # the checker and the result about as much again: keep that much wall time, measured on this machine's load.
    search.clock_reserve = 0.1 + 0.5 * start_s
    phases = ["regret insertion"]
    reporter.report(start.cost / 3, travel_lower / 3, "start")
    # The reasons re-insert every request once: about every task's able routes, each position (before pruning).
    end_work = 0.01 + 2 * S_PER_EVAL * sum(len(a) for a in data.able) * (data.n / max(1, data.m) + 2)
    exact = data.n > 0 and _exact_arcs(data) <= EXACT_MAX_ARCS and _integral(data)
    best = start
    lower = 0.0
    optimal = False
    search_work = budget.left() - end_work
    if exact:
        search_work = min(0.3 * search_work, EXACT_SEARCH_WORK)
    if search_work > 0:
        best = search.scout_and_run(start, search_work, seed)
        phases.append(f"alns {search.iterations} iterations")
    improve_s = budget.deadline.elapsed() - start_s - assignment_s
    if exact and budget.left() > end_work:
        routes, lower, optimal = _exact(data, best, budget, budget.left() - end_work, seed, reporter)
        phases.append("cp-sat " + ("optimal" if optimal else "stopped"))
        if routes is not None:
            trial = _State(data, routes)
            if trial.time() and trial.cost < best.cost - 1e-9:
                best = trial
    bound_s = budget.deadline.elapsed() - start_s - improve_s
    source: BoundSource = "assignment" if travel_lower > lower else "cp-sat" if lower > 0 else "trivial"
    lower = max(lower, travel_lower)
    for candidate in (best, start):
        result = _result(
            data, candidate, search, (lower, source), optimal, budget, phases, (start_s, improve_s, bound_s)
        )
        claims = (result.continuity_kept, result.continuity_missed)
        if not check(problem, result.routes, result.objective, overtime=result.overtime, continuity=claims):
            return result
        phases.append("checker refused the plan")
    raise AssertionError(f"no plan passed the checker: {check(problem, result.routes, result.objective)}")


def _result(
    data: _Data,
    state: _State,
    search: _Search,
    proof: tuple[float, BoundSource],
    optimal: bool,
    budget: Budget,
    phases: list[str],
    times: tuple[float, float, float],
) -> VisitsResult:
    check_from = budget.deadline.elapsed()
    routes = _routes_out(data, state)
    travel = sum(r.travel for r in routes)
    lates = [s.tardiness for r in routes for s in r.visits]
    overtime = sum(r.overtime for r in routes)
    kept = sum(1 for t, k in enumerate(state.carer) if data.pref[t] >= 0 and k == data.pref[t])
    missed = sum(1 for k in data.pref if k >= 0) - kept
    objective = (travel + sum(lates) + max(lates, default=0.0) + overtime + data.weight * missed) / 3
    lower, source = proof  # on 3 x the objective; "optimal" when it meets the plan (CP-SAT closed, or the travel)
    bound = min(lower / 3, objective)
    proven = (optimal or source == "assignment") and abs(objective - lower / 3) <= 1e-6 * max(1.0, objective)
    reasons = _reasons(data, state, search.ins, budget)
    return VisitsResult(
        status="optimal" if proven else "feasible",
        objective=objective,
        bound=bound,
        bound_source=source,
        gap=0.0 if proven else relative_gap(objective, bound),
        timings=Timings(
            start_s=round(times[0], 3),
            improve_s=round(times[1], 3),
            bound_s=round(times[2], 3),
            check_s=round(budget.deadline.elapsed() - check_from, 3),
            total_s=round(budget.deadline.elapsed(), 3),
        ),
        travel=travel,
        total_tardiness=sum(lates),
        max_tardiness=max(lates, default=0.0),
        overtime=overtime,
        continuity_kept=kept,
        continuity_missed=missed,
        routes=routes,
        reasons=reasons,
        phases=tuple(phases),
        iterations=search.iterations,
        reproducible=not budget.cut_by_clock,
    )


def evaluate_routes(problem: VisitsProblem, routes: Sequence[Sequence[int]]) -> float | None:
    """The objective of routes given as visit indexes per carer, timed at their earliest starts (None if cyclic)."""
    state = _State(_Data(problem), [list(r) for r in routes])
    return state.cost / 3 if state.time() else None
