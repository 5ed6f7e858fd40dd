"""Column generation and LP diving for GAP-shaped problems (every item takes exactly one of its groups).

The set-covering reformulation (choose one feasible job set per agent, cover every job) has the LP bound of
the Lagrangian relaxation of the assignment constraints: on the type d/e GAP files it is within 0.1-0.2 % of
the optimum, where the plain LP relaxation is 0.7 % below. Its columns are priced by one knapsack per agent,
solved by a dynamic programme vectorised over the agents. From the LP, a *dive* fixes the column with the
largest LP value (jobs whose LP value is 1 go with it), re-solves the LP over the jobs left with the
capacities left, and repeats; a little noise on the choice makes every dive a different one. The dive lands
where local search does not: on GAP d20100 tabu search settles about 1 % above the best known, dives about
0.2-0.5 % above.

Pure numpy and HiGHS; deterministic for a seed (HiGHS simplex is, and so are the ties), and every step is
started and sized by the work left in a matching.common.Budget, never by the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from matching.common import BoolArray, Budget, FloatArray, IntArray
from matching.highs import new_highs


@dataclass
class Pool:
    """Columns: each an agent and the set of jobs it takes (a row of a boolean agent-by-job membership matrix)."""

    agent: IntArray  # (k,)
    member: BoolArray  # (k, n)

    @staticmethod
    def empty(n: int) -> Pool:
        return Pool(np.zeros(0, dtype=np.int64), np.zeros((0, n), dtype=np.bool_))

    def __len__(self) -> int:
        return len(self.agent)

    def take(self, rows: IntArray) -> Pool:
        """The columns at the given rows."""
        return Pool(self.agent[rows], self.member[rows])

    def __add__(self, other: Pool) -> Pool:
        return Pool(np.concatenate([self.agent, other.agent]), np.concatenate([self.member, other.member]))


# Wentges smoothing of the duals the knapsacks are priced at, around the best dual point so far (starting
# from the plain LP's job prices): fewer column-generation rounds at 0.9 than at 0.5 (d20200: 118 -> 82,
# d10200: 300+ -> 163).
SMOOTHING = 0.9
# The dive picks the column whose LP value plus this much uniform noise is largest (0 for the first dive).
DIVE_NOISE = 0.3
# Column generation stops when the LP and the Lagrangian bound agree this closely (relative): a dive needs no
# more, and the last 0.01 % of a root LP can take as many pricing rounds as the rest.
CG_TOLERANCE = 1e-4
# Dense knapsack tables are job x agent x capacity booleans; beyond this many cells the dive is not used.
MAX_TABLE_CELLS = 20_000_000
# Work charged per column-generation round, in reference seconds: CPU seconds (time.process_time()) fitted by
# least squares (relative error) over the root LPs and four dives of each d/e GAP file of 100-200 jobs, 28 Nov
# 2026 — per simplex iteration and row or column of the LP, per knapsack table cell, per free job, and per
# round. The fit is within 12 % on 19 of the 20 runs (d10100's root: 23 % over).
CG_S_PER_SIMPLEX_ENTRY = 4.1e-8
CG_S_PER_CELL = 7.1e-9
CG_S_PER_JOB = 1.6e-5
CG_S_PER_ROUND = 2.4e-4
# Ejection chains: CPU seconds per chain searched, per step of the chain and job x job cell (4-7e-9 on the same
# files).
CHAIN_S_PER_CELL = 6e-9
# A dive step or a pricing round starts only with at least this much work left.
MIN_STEP_WORK = 1e-3


def knapsacks(d: FloatArray, w: IntArray, cap: IntArray, spread: int = 1) -> tuple[FloatArray, BoolArray]:
    """For every agent i, the cheapest job set within its capacity: min sum d[i,j] x_j, sum w[i,j] x_j <= cap[i].

    Only jobs with a negative price can be in an optimal set; the empty set (value 0) is always allowed.
    Returns each agent's optimal value and, for k < spread, the k-th set of a chain: the cheapest set, then
    the cheapest set lighter than it, and so on (more columns per pricing round, fewer rounds).
    """
    m, nj = d.shape
    cap = np.maximum(cap, 0)
    top = int(cap.max()) if m else 0
    value = np.zeros((m, top + 1))
    useful = (d < -1e-9) & (w <= cap[:, None])
    jobs = np.flatnonzero(useful.any(axis=0))
    take = np.zeros((len(jobs), m, top + 1), dtype=np.bool_)
    rows = np.arange(m)[:, None]
    room = np.arange(top + 1)[None, :]
    for t, j in enumerate(jobs.tolist()):
        src = room - w[:, j][:, None]
        ok = (src >= 0) & useful[:, j][:, None]
        cand = np.where(ok, value[rows, np.maximum(src, 0)] + d[:, j][:, None], np.inf)
        better = cand < value - 1e-12
        take[t] = better
        value = np.where(better, cand, value)
    agents = np.arange(m)
    xs = np.zeros((spread, m, nj), dtype=np.bool_)
    start = cap.astype(np.int64).copy()
    for k in range(spread):
        left = start.copy()
        for t in range(len(jobs) - 1, -1, -1):
            j = int(jobs[t])
            took = take[t, agents, left]
            xs[k, took, j] = True
            left -= np.where(took, w[:, j], 0)
        # The next set in the chain must weigh less than this one.
        start = np.maximum(start - left, 0) - 1
        if np.all(start < 0):
            return value[agents, cap], xs[: k + 1]
        start = np.maximum(start, 0)
    return value[agents, cap], xs


@dataclass
class LpResult:
    """The LP over the jobs still free: fractional assignment, its columns, their values and a dual bound."""

    x: FloatArray  # agent x job: LP share of job j at agent i
    columns: Pool
    values: FloatArray  # LP value of each column
    lp: float
    bound: float  # Lagrangian bound on the cost of the free jobs (valid whether or not the LP converged)
    iterations: int = 0
    converged: bool = False
    reduced: FloatArray = field(default_factory=lambda: np.zeros(0))  # each column's reduced cost at the last duals


@dataclass
class ColumnGeneration:
    """Set-covering LP of a GAP (min cost; cost may be +inf where a job cannot go), grown by knapsack pricing."""

    cost: FloatArray
    weight: IntArray
    cap: IntArray
    big_m: float = field(init=False)

    def __post_init__(self) -> None:
        finite = self.cost[np.isfinite(self.cost)]
        self.big_m = float(np.abs(finite).max() if len(finite) else 1.0) * 20.0 + 1.0

    def usable(self, pool: Pool, free: BoolArray, resid: IntArray) -> Pool:
        """The pool's columns cut down to the free jobs, that fit the residual capacities, without duplicates."""
        member = pool.member & free[None, :]
        agent = pool.agent
        w_sum = np.where(member, self.weight[agent], 0).sum(axis=1)
        with np.errstate(invalid="ignore"):
            c_sum = np.where(member, self.cost[agent], 0.0).sum(axis=1)
        keep = member.any(axis=1) & (w_sum <= resid[agent]) & np.isfinite(c_sum)
        member, agent = member[keep], agent[keep]
        if len(agent) == 0:
            return Pool(agent, member)
        agent_bytes = agent.astype(np.int64).view(np.uint8).reshape(len(agent), 8)
        keys = np.concatenate([agent_bytes, np.packbits(member, axis=1)], axis=1)
        _, first = np.unique(keys, axis=0, return_index=True)
        first.sort()
        return Pool(agent[first], member[first])

    def solve(
        self,
        free: BoolArray,
        resid: IntArray,
        pool: Pool,
        *,
        max_iters: int,
        budget: Budget,
        work: float | None = None,
        smoothing: float = SMOOTHING,
        centre: FloatArray | None = None,
        spread: int = 1,
    ) -> LpResult | None:
        """Column generation over the free jobs with the residual capacities, starting from the pool's columns.

        Pricing rounds run while this call has used less than `work` units (None: while the budget has work left).
        """
        cost, weight = self.cost, self.weight
        m, n = cost.shape
        jobs = np.flatnonzero(free)
        nj = len(jobs)
        if nj == 0:
            return None
        inf = highspy.kHighsInf
        h = new_highs()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", "simplex")
        # Columns only ever join, so the last basis stays primal feasible: primal simplex restarts from it.
        h.setOptionValue("simplex_strategy", 4)
        empty_i = np.array([], dtype=np.int32)
        empty_f = np.array([], dtype=np.float64)
        h.addRows(nj, np.ones(nj), np.full(nj, inf), 0, empty_i, empty_i, empty_f)
        h.addRows(m, np.full(m, -inf), np.ones(m), 0, empty_i, empty_i, empty_f)
        # One costly artificial column per job keeps the LP feasible when the capacities left cannot cover it.
        art = np.arange(nj, dtype=np.int32)
        h.addCols(nj, np.full(nj, self.big_m), np.zeros(nj), np.full(nj, inf), nj, art, art, np.ones(nj))
        agents = np.eye(m, dtype=np.bool_)

        def add(block: Pool) -> None:
            if len(block) == 0:
                return
            sub = np.concatenate([block.member[:, jobs], agents[block.agent]], axis=1)
            _, col_idx = np.nonzero(sub)
            start = np.zeros(len(block) + 1, dtype=np.int32)
            np.cumsum(sub.sum(axis=1), out=start[1:])
            with np.errstate(invalid="ignore"):
                c_sum = np.where(block.member, cost[block.agent], 0.0).sum(axis=1)
            h.addCols(
                len(block),
                c_sum,
                np.zeros(len(block)),
                np.full(len(block), inf),
                len(col_idx),
                start,
                col_idx.astype(np.int32),
                np.ones(len(col_idx)),
            )

        columns = self.usable(pool, free, resid)
        add(columns)
        seen: set[tuple[int, bytes]] = {
            (int(i), row.tobytes())
            for i, row in zip(columns.agent.tolist(), np.packbits(columns.member, axis=1), strict=True)
        }
        sub_cost = cost[:, jobs]
        sub_w = weight[:, jobs]
        best_bound = -np.inf
        centre_at: FloatArray | None = None
        pricing = CG_S_PER_CELL * table_cells(nj, m, resid)
        spent = 0.0
        cap = float("inf") if work is None else work
        if centre is not None:
            # Good duals to start from (the job prices of the plain LP relaxation): price there first.
            centre_at = np.maximum(centre[jobs], 0.0)
            val0, _ = knapsacks(cost[:, jobs] - centre_at[None, :], weight[:, jobs], resid)
            best_bound = float(centre_at.sum() + val0.sum())
            spent += pricing
            budget.charge(pricing)
        iterations = 0
        converged = False
        lp_value = np.inf
        while iterations < max_iters and spent < cap and budget.fits(MIN_STEP_WORK):
            iterations += 1
            h.setOptionValue("time_limit", budget.clock_left())
            h.run()
            status = h.getModelStatus()
            size = h.getNumRow() + h.getNumCol()
            round_work = (
                CG_S_PER_ROUND
                + CG_S_PER_JOB * nj
                + CG_S_PER_SIMPLEX_ENTRY * size * max(0, h.getInfo().simplex_iteration_count)
            )
            spent += round_work
            budget.charge(round_work)
            if status != highspy.HighsModelStatus.kOptimal:
                budget.note_clock_stop(status == highspy.HighsModelStatus.kTimeLimit)
                return None
            dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)
            pi = np.maximum(dual[:nj], 0.0)
            mu = dual[nj:]
            lp_value = float(h.getInfo().objective_function_value)
            new_agents: list[int] = []
            new_rows: list[BoolArray] = []
            smooth = smoothing if centre_at is not None else 0.0
            while True:
                at = smooth * centre_at + (1.0 - smooth) * pi if centre_at is not None and smooth > 0 else pi
                val, xs = knapsacks(sub_cost - at[None, :], sub_w, resid, spread)
                spent += pricing
                budget.charge(pricing)
                # Lagrangian bound: every job covered at least once, each agent one job set (or none).
                bound = float(at.sum() + val.sum())
                if bound > best_bound:
                    best_bound, centre_at = bound, at.copy()
                for x in xs:
                    with np.errstate(invalid="ignore"):
                        reduced = np.where(x, sub_cost - pi[None, :], 0.0).sum(axis=1) - mu
                    for i in np.flatnonzero(x.any(axis=1) & (reduced < -1e-6)).tolist():
                        row = np.zeros(n, dtype=np.bool_)
                        row[jobs[x[i]]] = True
                        key = (int(i), np.packbits(row).tobytes())
                        if key not in seen:
                            seen.add(key)
                            new_agents.append(int(i))
                            new_rows.append(row)
                if new_agents or smooth == 0.0:
                    break
                smooth = 0.0  # mispricing at the smoothed duals: price at the LP duals themselves
            if new_agents:
                block = Pool(np.asarray(new_agents, dtype=np.int64), np.asarray(new_rows, dtype=np.bool_))
                add(block)
                columns = columns + block
            if not new_agents or lp_value - best_bound <= CG_TOLERANCE * max(1.0, abs(lp_value)):
                converged = True
                break
        if not np.isfinite(lp_value):
            return None
        values = np.asarray(h.getSolution().col_value, dtype=np.float64)[nj:]
        values = values[: len(columns)]
        share = np.zeros((m, n))
        used = np.flatnonzero(values > 1e-9)
        np.add.at(share, columns.agent[used], columns.member[used] * values[used, None])
        with np.errstate(invalid="ignore"):
            c_sum = np.where(columns.member, cost[columns.agent], 0.0).sum(axis=1)
        reduced = c_sum - columns.member[:, jobs].astype(np.float64) @ pi - mu[columns.agent]
        return LpResult(share, columns, values, lp_value, best_bound, iterations, converged, reduced)


def dive(
    cg: ColumnGeneration,
    pool: Pool,
    rng: np.random.Generator,
    *,
    noise: float,
    step_iters: int,
    budget: Budget,
) -> IntArray:
    """One LP dive: fix a column (and every job the LP places whole), re-solve, repeat; -1 for jobs not placed."""
    weight = cg.weight
    n = cg.cost.shape[1]
    free = np.ones(n, dtype=np.bool_)
    resid = cg.cap.astype(np.int64).copy()
    agent = np.full(n, -1, dtype=np.int64)
    while free.any() and budget.fits(MIN_STEP_WORK):
        # Dives price at the LP duals: smoothing saves iterations only when the LP is solved to the end.
        lp = cg.solve(free, resid, pool, max_iters=step_iters, budget=budget, smoothing=0.0)
        if lp is None:
            break
        pool = lp.columns
        share = lp.x
        share[:, ~free] = 0.0
        best_i = np.argmax(share, axis=0)
        best_x = share[best_i, np.arange(n)]
        fix = {int(j): int(best_i[j]) for j in np.flatnonzero(free & (best_x >= 0.999)).tolist()}
        vals = lp.values
        if len(vals) and float(vals.max()) > 1e-6:
            pick = int(np.argmax(vals + noise * rng.random(len(vals)) * (vals > 1e-6)))
            i0 = int(pool.agent[pick])
            for j in np.flatnonzero(pool.member[pick] & free).tolist():
                fix[j] = i0
        if not fix:
            break
        for j, i in sorted(fix.items()):
            if free[j] and weight[i, j] <= resid[i]:
                agent[j] = i
                free[j] = False
                resid[i] -= weight[i, j]
    return agent


def columns_of(agent: IntArray, m: int) -> Pool:
    """The job set of every agent in a complete assignment, as columns."""
    used = np.unique(agent[agent >= 0])
    member = agent[None, :] == used[:, None]
    return Pool(used.astype(np.int64), member)


def table_cells(n_jobs: int, m: int, cap: IntArray) -> int:
    """Size of the knapsack tables one pricing round builds."""
    return n_jobs * m * (int(cap.max()) + 1 if len(cap) else 1)


def best_chain(
    cost: FloatArray, weight: IntArray, cap: IntArray, agent: IntArray, load: IntArray
) -> tuple[float, list[tuple[int, int]]]:
    """The cheapest ejection chain from a feasible assignment, and its moves [(job, new agent), ...].

    A chain moves job j1 into agent a(j2) while j2 leaves it, j2 into a(j3), ..., and ends with the last job
    in an agent that has room, or back in the first job's agent (a cycle); each agent is visited once, every
    step keeps its capacity. Labels are extended a step at a time for all jobs at once (one label per job:
    a heuristic, not an exact search); the chain never leaves the feasible region.
    """
    m, n = cost.shape
    jobs = np.arange(n)
    cur = cost[agent, jobs]
    # arc[j1, j2]: j1 enters a(j2) as j2 leaves it.
    fits = (load[agent] - weight[agent, jobs])[None, :] + weight[agent, :].T <= cap[agent][None, :]
    with np.errstate(invalid="ignore"):
        arc = np.where(fits, cost[agent, :].T - cur[:, None], np.inf)
    arc[agent[:, None] == agent[None, :]] = np.inf
    room = load[:, None] + weight <= cap[:, None]
    with np.errstate(invalid="ignore"):
        shift = np.where(room, cost - cur[None, :], np.inf)
    shift[agent, jobs] = np.inf
    label = np.zeros(n)  # cost so far with job j in hand (not yet placed)
    visited = np.zeros((n, m), dtype=np.bool_)
    visited[jobs, agent] = True
    first = jobs.copy()  # the job that started each label's chain
    preds: list[IntArray] = []
    best_delta = -1e-9
    best: tuple[str, int, int, int] | None = None
    for step in range(m + 1):
        ends = np.where(visited.T, np.inf, shift)
        target = np.argmin(ends, axis=0)
        end_cost = label + ends[target, jobs]
        j = int(np.argmin(end_cost))
        if end_cost[j] < best_delta:
            best_delta, best = float(end_cost[j]), ("end", step, j, int(target[j]))
        if step > 0:
            home = agent[first]
            back = load[home] - weight[home, first] + weight[home, jobs] <= cap[home]
            with np.errstate(invalid="ignore"):
                close = np.where(back, label + cost[home, jobs] - cur, np.inf)
            j = int(np.argmin(close))
            if close[j] < best_delta:
                best_delta, best = float(close[j]), ("close", step, j, int(home[j]))
        if step == m:
            break
        cand = np.where(visited[:, agent], np.inf, label[:, None] + arc)
        pred = np.argmin(cand, axis=0)
        new_label = cand[pred, jobs]
        if not np.any(np.isfinite(new_label)):
            break
        preds.append(pred)
        visited = visited[pred]
        visited[jobs, agent] = True
        first = first[pred]
        label = new_label
    if best is None:
        return 0.0, []
    _, step, j, to = best
    moves = [(j, to)]
    for k in range(step - 1, -1, -1):
        j_prev = int(preds[k][j])
        moves.append((j_prev, int(agent[j])))
        j = j_prev
    return best_delta, moves


def ejection_chains(
    cost: FloatArray, weight: IntArray, cap: IntArray, agent: IntArray, budget: Budget, max_moves: int = 1000
) -> IntArray:
    """Apply the cheapest improving ejection chain until none is left (or max_moves): a feasible plan stays so.

    A polish that always runs to its end (each chain charged to the budget): it takes a few chains per plan.
    """
    m, n = cost.shape
    agent = agent.copy()
    load = np.zeros(m, dtype=np.int64)
    np.add.at(load, agent, weight[agent, np.arange(n)])
    if np.any(load > cap):
        return agent
    for _ in range(max_moves):
        budget.charge(CHAIN_S_PER_CELL * (m + 1) * n * n)
        delta, moves = best_chain(cost, weight, cap, agent, load)
        if not moves or delta >= -1e-9:
            break
        for j, to in moves:
            load[agent[j]] -= weight[agent[j], j]
            load[to] += weight[to, j]
            agent[j] = to
        if np.any(load > cap):  # cannot happen: every step of a chain keeps its agent's capacity
            raise AssertionError("an ejection chain overloaded an agent")
    return agent
