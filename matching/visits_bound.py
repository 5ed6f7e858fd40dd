"""A proven lower bound on the visits model's travel: the assignment relaxation of the carers' routes.

In any plan each task has one predecessor (another task, or the start of a carer able to give it) and one successor
(another task, or that carer's end), and an unused carer goes from its start straight to its end. Matching "out"
nodes (the carers' starts and the tasks) to "in" nodes (the tasks and the carers' ends) at the cheapest leg any
carer able for both ends could travel, and dropping the rest (one carer per route, no subtours, the links' two
carers), leaves a linear assignment problem whose optimum is at most the travel of every plan. The objective times
3 is travel plus terms that are never negative, so the same number bounds 3 x the objective.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import linear_sum_assignment

from matching.common import Budget, FloatArray
from matching.visits_format import VisitsProblem

# The integer unit of the assignment's costs: each leg is scaled and rounded down, so the integer optimum / SCALE is
# still at most the travel (it loses less than (tasks + carers) / SCALE).
SCALE = 1_000_000
# Work in reference seconds (matching.common.Budget) per possible arc (n^2 + 2mn + m), in CPU time: building the arcs
# with numpy and OR-Tools' cost-scaling assignment, 0.02 CPU s on G1 (400 tasks, 40 carers: 192,040 possible arcs,
# 97,910 used), 1.0-1.2e-7 an arc on C1-G1 (machine load 2.5-3.6).
S_PER_ARC = 1.2e-7


def travel_bound(problem: VisitsProblem, budget: Budget | None = None) -> float:
    """A lower bound on the travel of every plan (so on 3 x the objective); 0 when the budget cannot pay for it.

    The work is charged to `budget` by the number of possible arcs, never by the clock.
    """
    n, m = len(problem.visits), len(problem.carers)
    units = S_PER_ARC * (n * n + 2 * m * n + m)
    if budget is not None:
        if not budget.fits(units):
            return 0.0
        budget.charge(units)
    tails, heads, costs = _arcs(problem)
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(tails, heads, costs)
    if solver.solve() != solver.OPTIMAL:  # no perfect assignment (only invalid data) or a cost too large to scale
        return 0.0
    return float(solver.optimal_cost()) / SCALE


def _arcs(problem: VisitsProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The assignment's arcs: out nodes are carer starts 0..m-1 then tasks m..m+n-1; in nodes are tasks 0..n-1 then
    carer ends n..n+m-1; costs are the legs in units of 1 / SCALE, rounded down."""
    carers, visits = problem.carers, problem.visits
    n, m = len(visits), len(carers)
    size = len(problem.travel)  # square: validate() refuses any other matrix
    d: FloatArray = np.array(problem.travel, dtype=np.float64).reshape(size, size)
    loc = np.array([v.location for v in visits], dtype=np.int64)
    # able[t, k]: carer k may give task t (a pinned task only its carer).
    able = np.array([[v.service in c.abilities for c in carers] for v in visits], dtype=np.bool_).reshape(n, m)
    carer_index = {c.id: k for k, c in enumerate(carers)}
    visit_index = {v.id: t for t, v in enumerate(visits)}
    for pin in problem.pinned:
        t = visit_index[pin.visit]
        able[t] = False
        able[t, carer_index[pin.carer]] = True
    legs = d[np.ix_(loc, loc)]
    # task i -> task j: the cheapest of the carers able for both (carers alike in abilities and factor counted once).
    between = np.full((n, n), np.inf)
    for column, factor in {(able[:, k].tobytes(), carers[k].travel_factor): None for k in range(m)}:
        mask = np.frombuffer(column, dtype=np.bool_)
        if mask.any():
            idx = np.flatnonzero(mask)
            block = between[np.ix_(idx, idx)]
            between[np.ix_(idx, idx)] = np.minimum(block, legs[np.ix_(idx, idx)] * factor)
    np.fill_diagonal(between, np.inf)
    # A link's two halves are given by two different carers, so neither ever follows the other on a route.
    for link in problem.links:
        a, b = visit_index[link.first], visit_index[link.second]
        between[a, b] = between[b, a] = np.inf
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    costs: list[FloatArray] = []
    i, j = np.nonzero(np.isfinite(between))
    tails.append(m + i)
    heads.append(j)
    costs.append(between[i, j])
    for k, c in enumerate(carers):
        ts = np.flatnonzero(able[:, k])
        f = c.travel_factor
        tails += [np.full(len(ts), k), m + ts, np.array([k])]
        heads += [ts, np.full(len(ts), n + k), np.array([n + k])]
        costs += [d[c.start, loc[ts]] * f, d[loc[ts], c.end] * f, np.array([d[c.start, c.end] * f])]
    scaled = np.floor(np.concatenate(costs) * SCALE).astype(np.int64)
    return (
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        scaled,
    )
