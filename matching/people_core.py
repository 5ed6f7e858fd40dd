"""Shared machinery of the people models (roster, teams): sparse 0-1 models, CP-SAT built from the proto, LP bounds."""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import highspy
import msgspec
import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from matching.common import (
    EARTH_RADIUS_KM,
    BoolArray,
    BoundSource,
    Budget,
    Conflict,
    FloatArray,
    IntArray,
    ProgressFn,
    ProgressReporter,
    ResultHeader,
    Timings,
    cpsat_solver,
    infeasible,
    relative_gap,
    solve_budget,
)
from matching.highs import new_highs

INF = math.inf
# HiGHS simplex work in reference seconds per (iteration x nonzero), loading included (measured 0.44-0.89 ns on
# roster LPs of 45k-93k nonzeros and 2.6k-7.3k iterations; the upper end, so budgets hold on slower rounds).
LP_S_PER_ITER_NNZ = 8e-10
PlanT = TypeVar("PlanT")
ProblemT = TypeVar("ProblemT", bound=msgspec.Struct)
ResultT = TypeVar("ResultT", bound=ResultHeader)


def repeated_ids(**ids: Sequence[object]) -> list[Conflict]:
    """A conflict for each kind of record (the keyword) whose ids repeat."""
    return [
        Conflict(f"unique {kind} ids", f"{kind} ids repeat")
        for kind, values in ids.items()
        if len(set(values)) != len(values)
    ]


class NeighbourhoodSolver(ABC, Generic[PlanT, ResultT]):
    """One solve of a people model: start, bound, improve by neighbourhoods, explain, check — inside one budget.

    A model says how to start, bound, improve, value and explain its plans; the order of the phases, the best plan
    and bound so far, their progress reports, the timings and the checker's last word are the same for all.
    """

    start: PlanT

    def __init__(
        self, budget: Budget, seed: int, on_progress: ProgressFn | None, *, repairing: bool, empty: PlanT, bound: float
    ) -> None:
        self.budget = budget
        self.deadline = budget.deadline
        self.seed = seed
        self.reporter = ProgressReporter(budget.deadline, on_progress, maximise=True)
        self.repairing = repairing
        self.phases: list[str] = []
        self.bound = bound
        self.source: BoundSource = "trivial"
        self.best = empty
        self.best_value = 0

    @abstractmethod
    def first_plan(self) -> PlanT:
        """The start: the last plan repaired, or a greedy one."""

    @abstractmethod
    def prove_bound(self) -> None:
        """Tighten the bound (and maybe offer better plans) before the neighbourhood rounds."""

    @abstractmethod
    def improve(self) -> None:
        """Large-neighbourhood rounds until the work or the gap is spent."""

    @abstractmethod
    def value(self, plan: PlanT) -> int:
        """The objective of a plan."""

    @abstractmethod
    def copy(self, plan: PlanT) -> PlanT:
        """A plan the caller may change without touching the best one."""

    @abstractmethod
    def final_plan(self, plan: PlanT) -> PlanT:
        """The best plan made ready to return."""

    @abstractmethod
    def empty_plan(self) -> PlanT:
        """No plan at all: always valid."""

    @abstractmethod
    def result_of(self, plan: PlanT) -> ResultT:
        """The result for a plan, with its reasons (timings and phases are set by run)."""

    def result(self, make: Callable[..., ResultT], objective: int, **fields: object) -> ResultT:
        """A result (`make`: the model's result struct) for a plan of this objective, with the bound so far."""
        bound = max(self.bound, float(objective))
        gap = relative_gap(objective, bound)
        return make(
            status="optimal" if gap == 0 else "feasible",
            objective=objective,
            bound=bound,
            bound_source=self.source,
            gap=gap,
            timings=Timings(),
            **fields,
        )

    @abstractmethod
    def errors(self, result: ResultT) -> list[str]:
        """Every rule the result breaks, by the model's independent checker."""

    def offer(self, plan: PlanT, phase: str) -> None:
        """Take a plan if it is better than the best so far."""
        value = self.value(plan)
        if value > self.best_value or not self.phases:
            self.best, self.best_value = self.copy(plan), value
            if not self.phases or self.phases[-1] != phase:
                self.phases.append(phase)
        self.reporter.report(self.best_value, self.bound, phase)

    def tighten(self, bound: float | None, source: BoundSource) -> None:
        """Take a proven bound if it is tighter."""
        if bound is not None and bound < self.bound:
            self.bound, self.source = bound, source
            self.reporter.report(self.best_value, self.bound, source)

    def run(self) -> ResultT:
        """Solve and return the checked result."""
        deadline = self.deadline
        self.start = self.first_plan()
        self.offer(self.start, "repair" if self.repairing else "greedy")
        start_s = deadline.elapsed()
        t_bound = deadline.elapsed()
        self.prove_bound()
        bound_s = deadline.elapsed() - t_bound
        t_improve = deadline.elapsed()
        self.improve()
        improve_s = deadline.elapsed() - t_improve
        t_check = deadline.elapsed()
        result = self.result_of(self.final_plan(self.best))
        errors = self.errors(result)
        if errors:
            # A solver bug must never reach the user: fall back to the start plan, then to no plan.
            self.phases.append(f"checker rejected the improved plan: {errors[0]}")
            result = self.result_of(self.start)
            if self.errors(result):
                result = self.result_of(self.empty_plan())
        timings = Timings(
            start_s=round(start_s, 3),
            improve_s=round(improve_s, 3),
            bound_s=round(bound_s, 3),
            check_s=round(deadline.elapsed() - t_check, 3),
            total_s=round(deadline.elapsed(), 3),
        )
        self.reporter.report(result.objective, result.bound, "checked")
        return msgspec.structs.replace(
            result, timings=timings, phases=tuple(self.phases), reproducible=not self.budget.cut_by_clock
        )


def solve_people(
    solver: Callable[[ProblemT, Budget, int, ProgressFn | None], NeighbourhoodSolver[Any, ResultT]],
    validate: Callable[[ProblemT], list[Conflict]],
    make: Callable[..., ResultT],
    problem: ProblemT,
    previous: Sequence[object] | None,
    time_limit_s: float,
    seed: int,
    on_progress: ProgressFn | None,
    work: float | None,
) -> ResultT:
    """A people model's solve: the conflicts (`validate`) of data no plan can satisfy, else the `solver`'s checked
    result from the `previous` plan (in the problem's own form) or afresh, both inside one budget (`make`: the model's
    result struct)."""
    budget = solve_budget(time_limit_s, work)
    conflicts = validate(problem)
    if conflicts:
        return infeasible(make, conflicts, budget)
    if previous is not None:
        problem = msgspec.structs.replace(problem, previous=tuple(previous))
    return solver(problem, budget, seed, on_progress).run()


@dataclass
class SparseModel:
    """A maximisation over 0-1 variables with sparse linear rows and at-most-one groups.

    Written straight into the CP-SAT proto and into HiGHS, because building 10^5 terms through the Python
    expression API costs seconds (measured 4.1 s against 0.75 s for the proto at 10k x 20k).
    """

    values: IntArray
    row_vars: list[IntArray] = field(default_factory=list)
    row_coeffs: list[IntArray] = field(default_factory=list)
    row_lo: list[float] = field(default_factory=list)
    row_hi: list[float] = field(default_factory=list)
    cliques: list[IntArray] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of variables."""
        return int(self.values.shape[0])

    def add_row(self, variables: IntArray, coeffs: IntArray, lo: float, hi: float) -> None:
        """Add lo <= sum(coeffs * x[variables]) <= hi."""
        self.row_vars.append(variables)
        self.row_coeffs.append(coeffs)
        self.row_lo.append(lo)
        self.row_hi.append(hi)

    def add_at_most_one(self, variables: IntArray) -> None:
        """Add sum(x[variables]) <= 1 (kept apart: CP-SAT propagates these natively)."""
        if variables.shape[0] >= 2:
            self.cliques.append(variables)

    def all_rows(self) -> tuple[list[IntArray], list[IntArray], list[float], list[float]]:
        """Linear rows followed by the at-most-one groups written as rows."""
        ones = [np.ones(c.shape[0], dtype=np.int64) for c in self.cliques]
        return (
            self.row_vars + self.cliques,
            self.row_coeffs + ones,
            self.row_lo + [-INF] * len(self.cliques),
            self.row_hi + [1.0] * len(self.cliques),
        )

    def objective(self, x: npt.NDArray[np.integer] | BoolArray) -> int:
        """Objective value of a 0-1 vector."""
        return int(np.dot(self.values, x.astype(np.int64)))


def build_cpsat(model: SparseModel, hint: BoolArray | None) -> cp_model.CpModel:
    """The CP-SAT model (minimising the negated value), written directly into the proto."""
    cp = cp_model.CpModel()
    proto = cp.proto
    for _ in range(model.n):
        proto.variables.add().domain.extend((0, 1))
    for variables, coeffs, lo, hi in zip(model.row_vars, model.row_coeffs, model.row_lo, model.row_hi, strict=True):
        linear = proto.constraints.add().linear
        linear.vars.extend(variables.tolist())
        linear.coeffs.extend(coeffs.tolist())
        lo_i = -(2**62) if lo == -INF else math.ceil(lo)
        hi_i = 2**62 if hi == INF else math.floor(hi)
        linear.domain.extend((lo_i, hi_i))
    for clique in model.cliques:
        proto.constraints.add().at_most_one.literals.extend(clique.tolist())
    nz = np.nonzero(model.values)[0]
    proto.objective.vars.extend(nz.tolist())
    proto.objective.coeffs.extend((-model.values[nz]).tolist())
    if hint is not None:
        proto.solution_hint.vars.extend(range(model.n))
        proto.solution_hint.values.extend(hint.astype(np.int64).tolist())
    return cp


@dataclass
class CpsatOutcome:
    """What one CP-SAT run returned: a 0-1 vector (or None), its value, CP-SAT's bound and whether optimal."""

    x: BoolArray | None
    value: int | None
    bound: float | None
    optimal: bool
    det_s: float = 0.0  # CP-SAT's deterministic time
    wall_s: float = 0.0
    work: float = 0.0  # reference seconds charged to a budget (budgeted_cpsat only)


def run_cpsat(
    model: SparseModel,
    hint: BoolArray | None,
    *,
    time_limit_s: float,
    seed: int,
    workers: int = 2,
    deterministic_s: float | None = None,
) -> CpsatOutcome:
    """Solve a SparseModel with CP-SAT within the time limit."""
    cp = build_cpsat(model, hint)
    solver = cpsat_solver(time_limit_s, seed, workers=workers)
    if workers == 1:
        # One worker without interleaving runs the plain LP-guided search: it closes the small neighbourhoods of
        # LNS in a tenth of a second where interleaved search (made for parallel determinism) takes seconds.
        solver.parameters.interleave_search = False
        # Neighbourhoods are small and re-solved hundreds of times: probing and symmetry detection cost more
        # than they save there (measured: ~35% less CPU per neighbourhood closed).
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
    # The LP relaxation is tight for these models; the stronger linearisation proves neighbourhoods 2-4x faster.
    solver.parameters.linearization_level = 2
    if deterministic_s is not None:
        # A deterministic limit keeps a round's result independent of machine load; the wall limit is the safety.
        solver.parameters.max_deterministic_time = deterministic_s
    status = solver.solve(cp)
    det_s, wall_s = solver.response_proto.deterministic_time, solver.wall_time
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatOutcome(None, None, None, False, det_s, wall_s)
    x = np.array(solver.response_proto.solution, dtype=np.int64).astype(bool)
    return CpsatOutcome(x, model.objective(x), -solver.best_objective_bound, status == cp_model.OPTIMAL, det_s, wall_s)


@dataclass(frozen=True)
class CpsatCost:
    """What a CP-SAT round costs in reference seconds: its deterministic time, scaled, plus a share per nonzero.

    CP-SAT's deterministic time leaves out part of the work that grows with the model (its LP and presolve), so
    a round of a large neighbourhood costs more per deterministic second than a small one; both terms are fitted
    by least squares to the CPU time of the rounds of a bench solve.
    """

    det_per_s: float  # deterministic seconds per reference second
    s_per_nnz: float  # reference seconds per nonzero of the round's model
    s_per_round: float = 0.0  # reference seconds every round costs, however small

    def of(self, det: float, nnz: int) -> float:
        """Reference seconds a round with this deterministic time and size costs."""
        return det / self.det_per_s + self.s_per_nnz * nnz + self.s_per_round


def budgeted_cpsat(
    model: SparseModel,
    hint: BoolArray | None,
    budget: Budget,
    *,
    work: float,
    cost: CpsatCost,
    seed: int,
    clock_reserve: float,
) -> CpsatOutcome:
    """One single-worker CP-SAT run limited to `work` reference seconds (through its deterministic time).

    The work it did is charged to the budget, and `outcome.work` is set to it in reference seconds. The wall
    limit is only the safety net; a run it stops is recorded, since its plan depends on the machine's speed.
    """
    nnz = nonzeros(model)
    det = max(0.005, (work - cost.s_per_nnz * nnz - cost.s_per_round) * cost.det_per_s)
    wall = budget.clock_left(clock_reserve)
    outcome = run_cpsat(model, hint, time_limit_s=wall, seed=seed, workers=1, deterministic_s=det)
    stopped_by_clock = not outcome.optimal and outcome.wall_s >= 0.98 * wall and outcome.det_s < 0.98 * det
    outcome.work = cost.of(outcome.det_s, nnz)
    budget.charge(outcome.work)
    budget.note_clock_stop(stopped_by_clock)
    return outcome


def _highs_rows(model: SparseModel) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    row_vars, row_coeffs, lo, hi = model.all_rows()
    lengths = np.array([v.shape[0] for v in row_vars], dtype=np.int64)
    starts = np.zeros(len(row_vars), dtype=np.int64)
    if len(row_vars) > 1:
        starts[1:] = np.cumsum(lengths)[:-1]
    index = np.concatenate(row_vars) if row_vars else np.zeros(0, dtype=np.int64)
    value = np.concatenate(row_coeffs).astype(np.float64) if row_coeffs else np.zeros(0)
    return starts, index, value, np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)


def _load(highs: highspy.Highs, model: SparseModel, integer: bool) -> None:
    n = model.n
    inf = highspy.kHighsInf
    highs.addVars(n, np.zeros(n), np.ones(n))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), model.values.astype(np.float64))
    starts, index, value, lo, hi = _highs_rows(model)
    lo = np.where(np.isinf(lo), -inf, lo)
    hi = np.where(np.isinf(hi), inf, hi)
    highs.addRows(len(lo), lo, hi, len(index), starts.astype(np.int32), index.astype(np.int32), value)
    highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
    if integer:
        highs.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger))


def dual_bound(model: SparseModel, row_duals: FloatArray) -> float:
    """An upper bound valid for any multipliers: sum(y_i * rhs_i) + sum_j max(0, c_j - a_j . y) over 0 <= x <= 1.

    Because the formula holds for every y, an LP stopped by the time limit still yields a proven bound.
    """
    starts, index, value, lo, hi = _highs_rows(model)
    m = lo.shape[0]
    y = np.asarray(row_duals, dtype=np.float64)[:m]
    # The multiplier of a row may only push against a finite side: positive against hi, negative against lo.
    y = np.where((y > 0) & np.isinf(hi), 0.0, y)
    y = np.where((y < 0) & np.isinf(lo), 0.0, y)
    lengths = np.diff(np.append(starts, index.shape[0]))
    row_of_entry = np.repeat(np.arange(m), lengths)
    reduced = model.values.astype(np.float64) - np.bincount(index, weights=value * y[row_of_entry], minlength=model.n)
    rhs = np.where(y > 0, y * np.where(np.isinf(hi), 0.0, hi), y * np.where(np.isinf(lo), 0.0, lo))
    return float(rhs.sum() + np.maximum(reduced, 0.0).sum())


def nonzeros(model: SparseModel) -> int:
    """Nonzero coefficients of the model's rows, at-most-one groups included."""
    return int(sum(v.shape[0] for v in model.row_vars) + sum(c.shape[0] for c in model.cliques))


def lp_relaxation(
    model: SparseModel, budget: Budget, *, work: float, seed: int, clock_reserve: float = 0.0
) -> tuple[float | None, FloatArray | None]:
    """A proven upper bound from the LP relaxation (HiGHS) and the LP's x; None where HiGHS gave nothing.

    HiGHS stops after the simplex iterations `work` reference seconds buy (deterministic); the wall limit is only
    the safety net. The iterations done are charged to the budget.
    """
    if model.n == 0:
        return 0.0, np.zeros(0)
    wall = budget.clock_left(clock_reserve)
    highs = new_highs(time_limit_s=wall, seed=seed)
    _load(highs, model, integer=False)
    per_iteration = LP_S_PER_ITER_NNZ * max(1, nonzeros(model))
    highs.setOptionValue("simplex_iteration_limit", max(1, int(work / per_iteration)))
    highs.run()
    budget.charge(highs.getInfo().simplex_iteration_count * per_iteration)
    budget.note_clock_stop(highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit)
    solution = highs.getSolution()
    x = np.array(solution.col_value, dtype=np.float64) if solution.value_valid else None
    if not solution.dual_valid:
        return None, x
    bound = dual_bound(model, np.array(solution.row_dual, dtype=np.float64))
    # The objective is integral, so a fractional bound rounds down (the epsilon absorbs float noise).
    return float(math.floor(bound + 1e-6)), x


def mip_optimum(model: SparseModel, *, time_limit_s: float, seed: int) -> tuple[float, float] | None:
    """HiGHS MIP on the whole model: (best objective, proven bound), for benchmark figures only."""
    highs = new_highs(time_limit_s=time_limit_s, seed=seed)
    _load(highs, model, integer=True)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.run()
    info = highs.getInfo()
    if info.primal_solution_status != 2:
        return None
    return float(info.objective_function_value), float(info.mip_dual_bound)


def lat_lon(points: Sequence[tuple[float, float]]) -> tuple[FloatArray, FloatArray]:
    """The latitudes and the longitudes of (lat, lon) points, as arrays."""
    lat = np.array([p[0] for p in points], dtype=np.float64).reshape(-1)
    lon = np.array([p[1] for p in points], dtype=np.float64).reshape(-1)
    return lat, lon


def unit_xyz(lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """Points on the Earth's sphere in kilometres (x, y, z): chord length never exceeds great-circle distance."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    return EARTH_RADIUS_KM * np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


def haversine_np(lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray) -> FloatArray:
    """Vectorised haversine in kilometres, the same formula as matching.common.haversine_km."""
    la1, lo1, la2, lo2 = np.radians(lat1), np.radians(lon1), np.radians(lat2), np.radians(lon2)
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


class SpatialGrid:
    """Buckets points on a 3-D grid so a radius query only looks at nearby cells."""

    def __init__(self, xyz: FloatArray, cell_km: float) -> None:
        self.cell_km = cell_km
        cells = np.floor(xyz / cell_km).astype(np.int64)
        order = np.lexsort((cells[:, 2], cells[:, 1], cells[:, 0]))
        self.buckets: dict[tuple[int, int, int], IntArray] = {}
        self._keys: IntArray | None = None
        self._members: list[IntArray] = []
        if order.shape[0] == 0:
            return
        sorted_cells = cells[order]
        change = np.any(np.diff(sorted_cells, axis=0) != 0, axis=1)
        bounds = np.concatenate([[0], np.nonzero(change)[0] + 1, [order.shape[0]]])
        for a, b in itertools.pairwise(bounds.tolist()):
            key = sorted_cells[a]
            self.buckets[(int(key[0]), int(key[1]), int(key[2]))] = order[a:b]

    def near(self, cell: tuple[int, int, int], radius_km: float) -> IntArray:
        """Indices of points in cells that may hold a point within radius_km of any point of the given cell."""
        if not self.buckets:
            return np.zeros(0, dtype=np.int64)
        if self._keys is None:
            self._keys = np.array(list(self.buckets), dtype=np.int64).reshape(-1, 3)
            self._members = list(self.buckets.values())
        r = math.ceil(radius_km / self.cell_km)
        hit = np.nonzero(np.all(np.abs(self._keys - np.array(cell, dtype=np.int64)) <= r, axis=1))[0]
        if hit.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate([self._members[k] for k in hit.tolist()]))


def near_pairs(
    a_xyz: FloatArray, a_radius: FloatArray, b_xyz: FloatArray, *, cell_km: float = 4.0
) -> tuple[IntArray, IntArray]:
    """All (i, j) with chord(a_i, b_j) <= a_radius_i (+ slack): a superset of the pairs within great-circle radius."""
    grid_b = SpatialGrid(b_xyz, cell_km)
    grid_a = SpatialGrid(a_xyz, cell_km)
    out_i: list[IntArray] = []
    out_j: list[IntArray] = []
    for cell, members in grid_a.buckets.items():
        radius = float(a_radius[members].max()) + 1e-6
        cands = grid_b.near(cell, radius)
        if cands.shape[0] == 0:
            continue
        diff = a_xyz[members][:, None, :] - b_xyz[cands][None, :, :]
        d2 = np.einsum("ijk,ijk->ij", diff, diff)
        lim = (a_radius[members] + 1e-6) ** 2
        ii, jj = np.nonzero(d2 <= lim[:, None])
        out_i.append(members[ii])
        out_j.append(cands[jj])
    if not out_i:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


# Reference seconds per subgradient step and nonzero (numpy bincounts over the rows; measured ~6 ns at 10k x 20k).
SUBGRADIENT_S_PER_NNZ = 8e-9


def subgradient_bound(
    model: SparseModel, budget: Budget, *, incumbent: float, work: float, clock_reserve: float, iterations: int = 400
) -> float | None:
    """A proven upper bound from Lagrangian multipliers found by projected subgradient steps.

    For models whose rows are all `<= hi` (the roster). Every multiplier vector y >= 0 gives the valid bound
    sum(y * hi) + sum(max(0, c - A'y)), so stopping early (work, iterations) still yields a proof; it is used where
    HiGHS cannot finish the LP in time. Polyak steps aim at the incumbent's value.
    """
    starts, index, value, lo, hi = _highs_rows(model)
    if np.any(np.isfinite(lo)) or model.n == 0:
        return None
    m = hi.shape[0]
    per_step = SUBGRADIENT_S_PER_NNZ * max(1, index.shape[0])
    steps = min(iterations, max(1, int(work / per_step)))
    lengths = np.diff(np.append(starts, index.shape[0]))
    row_of_entry = np.repeat(np.arange(m), lengths)
    c = model.values.astype(np.float64)
    # Scale every row to a largest coefficient of 1 (the same constraints): without it, minute rows (weights in
    # the hundreds) and headcount rows (weights 1) make the subgradient stall far above the LP value.
    row_max = np.ones(m)
    np.maximum.at(row_max, row_of_entry, np.abs(value))
    value = value / row_max[row_of_entry]
    hi = hi / row_max
    y = np.zeros(m)
    best = math.inf
    theta = 2.0
    stall = 0
    for _ in range(steps):
        budget.charge(per_step)
        reduced = c - np.bincount(index, weights=value * y[row_of_entry], minlength=model.n)
        positive = reduced > 0
        bound = float(y @ hi + reduced[positive].sum())
        if bound < best - 1e-9:
            best, stall = bound, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        if theta < 1e-4 or not budget.fits(0.0, clock_reserve=clock_reserve):
            break
        g = hi - np.bincount(row_of_entry, weights=value * positive[index], minlength=m)
        norm = float(g @ g)
        if norm <= 0:
            break
        y = np.maximum(0.0, y - theta * (bound - incumbent) / norm * g)
    return float(math.floor(best + 1e-6))
