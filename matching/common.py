"""What every model shares: status, progress, timings, distances, deadlines and CP-SAT plumbing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

Status = Literal["optimal", "feasible", "infeasible"]
BoundSource = Literal["cp-sat", "lp-relaxation", "lagrangian", "assignment", "greedy-equals-bound", "trivial", "none"]

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

EARTH_RADIUS_KM = 6371.0
# The share of the time limit the work budget buys by default, so that an idle machine ends inside the limit.
WORK_SHARE = 0.9


class Progress(msgspec.Struct, frozen=True):
    """Best objective and proven bound so far, reported while a model solves."""

    elapsed_s: float
    objective: float
    bound: float
    phase: str


ProgressFn = Callable[[Progress], None]


class Timings(msgspec.Struct, frozen=True):
    """Where the time went, in seconds."""

    start_s: float = 0.0
    improve_s: float = 0.0
    bound_s: float = 0.0
    check_s: float = 0.0
    total_s: float = 0.0


class Conflict(msgspec.Struct, frozen=True):
    """A constraint that takes part in making a problem infeasible."""

    constraint: str
    detail: str


class _ResultFields(msgspec.Struct, frozen=True):
    status: Status
    objective: float
    bound: float
    bound_source: BoundSource
    gap: float
    timings: Timings


class ResultHeader(_ResultFields, frozen=True, kw_only=True):
    """What every model's result starts with: how it ended, its objective, a proven bound and what proved it, the
    relative gap between them, where the time went, the conflicts of an infeasible problem, and whether the same
    inputs give the same answer again.

    A model's result struct adds its plan and reasons after these fields (`conflicts` and `reproducible` come last).
    """

    conflicts: tuple[Conflict, ...] = ()
    reproducible: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "True when the work budget, not the wall clock, ended the search: the same problem, seed and limits "
                "then give the same answer on any machine load. False when the machine was too slow to spend the "
                "work inside the time limit and the clock cut the search short."
            )
        ),
    ] = True


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in kilometres."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def relative_gap(objective: float, bound: float) -> float:
    """|bound - objective| / max(|bound|, 1): 0 means proven optimal."""
    return abs(bound - objective) / max(abs(bound), 1.0)


class Deadline:
    """A wall-clock budget that every phase of a solve draws from."""

    def __init__(self, seconds: float) -> None:
        self.started = time.perf_counter()
        self.seconds = max(0.0, seconds)

    def elapsed(self) -> float:
        """Seconds since the solve began."""
        return time.perf_counter() - self.started

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.seconds - self.elapsed())

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self.remaining() <= 0.0


class Budget:
    """How much search a solve may do, counted in work units so that the same seed gives the same answer.

    A work unit is a *reference second*: about one second of wall time on the reference machine (2 idle cores).
    Each phase charges what it did, converted by constants measured per model — CP-SAT by its deterministic time,
    HiGHS by its simplex iterations, our own loops by their step counts — never by the clock. Every decision to
    start, size or stop a phase reads the work left, so a loaded machine takes longer but lands on the same plan.
    The wall clock is only a safety net: when a machine is so slow that it would break the time limit, the clock
    ends the search and the result says it may not be reproducible (`cut_by_clock`).
    """

    def __init__(self, seconds: float, *, work: float | None = None) -> None:
        self.deadline = Deadline(seconds)
        self.total = self.deadline.seconds if work is None else max(0.0, work)
        self.spent = 0.0
        self.cut_by_clock = False

    def charge(self, units: float) -> None:
        """Record work done."""
        self.spent += max(0.0, units)

    def left(self) -> float:
        """Work units left, never negative (deterministic)."""
        return max(0.0, self.total - self.spent)

    def fits(self, units: float, *, clock_reserve: float = 0.0) -> bool:
        """Whether a step of `units` may start: decided by the work left, unless the clock is nearly out."""
        if self.left() < units:
            return False
        if self.deadline.remaining() <= clock_reserve + 0.02:
            self.cut_by_clock = True
            return False
        return True

    def clock_left(self, reserve: float = 0.0) -> float:
        """Wall seconds a solver may run as a safety limit (its work limit normally stops it first)."""
        return max(0.01, self.deadline.remaining() - reserve)

    def note_clock_stop(self, stopped_by_clock: bool) -> None:
        """Record that a solver ended on its wall-clock safety limit rather than its work limit."""
        if stopped_by_clock:
            self.cut_by_clock = True


def solve_budget(time_limit_s: float, work: float | None) -> Budget:
    """The budget of one solve: `work` reference seconds, by default WORK_SHARE of the time limit."""
    return Budget(time_limit_s, work=time_limit_s * WORK_SHARE if work is None else work)


ResultT = TypeVar("ResultT", bound=ResultHeader)


def infeasible(
    make: Callable[..., ResultT], conflicts: list[Conflict], budget: Budget, *, objective: float = 0
) -> ResultT:
    """The result (`make`: the model's result struct, `objective` its zero) for data that no plan can satisfy."""
    return make(
        status="infeasible",
        objective=objective,
        bound=0.0,
        bound_source="none",
        gap=0.0,
        timings=Timings(total_s=round(budget.deadline.elapsed(), 3)),
        conflicts=tuple(conflicts),
    )


class ProgressReporter:
    """Forwards improvements only, so the service is not flooded with equal values."""

    def __init__(self, deadline: Deadline, on_progress: ProgressFn | None, *, maximise: bool) -> None:
        self.deadline = deadline
        self.on_progress = on_progress
        self.maximise = maximise
        self.best: float | None = None
        self.bound: float | None = None

    def report(self, objective: float, bound: float, phase: str) -> None:
        """Record a new incumbent and bound; call back if either improved."""
        better = self._better_objective(objective)
        tighter = self.bound is None or (bound < self.bound if self.maximise else bound > self.bound)
        if not (better or tighter):
            return
        if better:
            self.best = objective
        if tighter:
            self.bound = bound
        if self.on_progress is not None:
            assert self.best is not None
            assert self.bound is not None
            self.on_progress(Progress(round(self.deadline.elapsed(), 3), self.best, self.bound, phase))

    def _better_objective(self, objective: float) -> bool:
        if self.best is None:
            return True
        return objective > self.best if self.maximise else objective < self.best


class _SolutionCallback(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
    def __init__(self, reporter: ProgressReporter, offset: float, phase: str) -> None:
        super().__init__()
        self.reporter = reporter
        self.offset = offset
        self.phase = phase

    def on_solution_callback(self) -> None:
        self.reporter.report(self.ObjectiveValue() + self.offset, self.BestObjectiveBound() + self.offset, self.phase)


def cpsat_solver(time_limit_s: float, seed: int, *, workers: int = 2) -> cp_model.CpSolver:
    """A CP-SAT solver set up to be reproducible for a given seed within a time limit."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = workers
    # Determinism for a fixed seed: interleaved search makes the parallel portfolio reproducible.
    solver.parameters.interleave_search = True
    solver.parameters.log_search_progress = False
    return solver


def solve_with_progress(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    reporter: ProgressReporter,
    *,
    offset: float = 0.0,
    phase: str = "cp-sat",
) -> int:
    """Solve and forward each improving solution to the reporter; returns the CP-SAT status."""
    return int(solver.Solve(model, _SolutionCallback(reporter, offset, phase)))
