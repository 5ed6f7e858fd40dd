"""The generalised assignment problem (OR-Library format) as an award problem: the award solver's yardstick."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from matching.assign_core import work_budget
from matching.award import AwardProblem, AwardResult, Bid, Lot, Org
from matching.award import solve as solve_award
from matching.common import Progress, ProgressFn, ResultHeader, relative_gap


class GapInstance(msgspec.Struct, frozen=True):
    """m agents, n jobs: cost[i][j], weight[i][j] and capacity[i]; every job goes to exactly one agent."""

    name: str
    cost: tuple[tuple[int, ...], ...]
    weight: tuple[tuple[int, ...], ...]
    capacity: tuple[int, ...]

    @property
    def agents(self) -> int:
        """Number of agents."""
        return len(self.capacity)

    @property
    def jobs(self) -> int:
        """Number of jobs."""
        return len(self.cost[0]) if self.cost else 0


class GapResult(ResultHeader, frozen=True):
    """A GAP solution: total cost (minimised), a proven lower bound, and the agent of each job."""

    objective: int
    bound: int
    assignments: tuple[int, ...]
    lns_rounds: int = 0


def parse(text: str, name: str = "") -> GapInstance:
    """Read the OR-Library format: m n, m rows of costs, m rows of weights, m capacities."""
    nums = [int(t) for t in text.split()]
    if len(nums) < 2:
        raise ValueError("a GAP file starts with the number of agents and jobs")
    m, n = nums[0], nums[1]
    need = 2 + 2 * m * n + m
    if m <= 0 or n <= 0 or len(nums) < need:
        raise ValueError(f"expected {need} numbers for {m} agents and {n} jobs, found {len(nums)}")
    body = nums[2:]
    cost = tuple(tuple(body[i * n : (i + 1) * n]) for i in range(m))
    off = m * n
    weight = tuple(tuple(body[off + i * n : off + (i + 1) * n]) for i in range(m))
    capacity = tuple(body[2 * off : 2 * off + m])
    return GapInstance(name, cost, weight, capacity)


def read(path: Path) -> GapInstance:
    """Parse a GAP file, naming the instance after the file."""
    return parse(path.read_text(), path.name)


def to_award(inst: GapInstance) -> AwardProblem:
    """The award problem whose best plan is the cheapest GAP assignment: score = -cost, every lot awarded."""
    m, n = inst.agents, inst.jobs
    lots = tuple(Lot(str(j), 0) for j in range(n))
    orgs = tuple(Org(str(i), inst.capacity[i], n) for i in range(m))
    bids = tuple(
        Bid(f"{j}/{i}", str(j), str(i), 0, inst.weight[i][j], float(-inst.cost[i][j]))
        for j in range(n)
        for i in range(m)
    )
    return AwardProblem(lots=lots, orgs=orgs, bids=bids, award_all=True)


def from_award(inst: GapInstance, result: AwardResult) -> GapResult:
    """The GAP reading of an award result on to_award(inst)."""
    agent_of = {int(a.lot): int(a.org) for a in result.assignments}
    assignments = tuple(agent_of[j] for j in range(inst.jobs)) if result.status != "infeasible" else ()
    objective = round(-result.objective)
    bound = round(-result.bound)
    return GapResult(
        status=result.status,
        objective=objective,
        bound=bound,
        bound_source=result.bound_source,
        gap=relative_gap(objective, bound),
        timings=result.timings,
        assignments=assignments,
        conflicts=result.conflicts,
        lns_rounds=result.lns_rounds,
        reproducible=result.reproducible,
    )


def check(inst: GapInstance, assignments: tuple[int, ...] | list[int]) -> list[str]:
    """Every rule a GAP assignment breaks: one valid agent per job, loads within capacity."""
    out: list[str] = []
    if len(assignments) != inst.jobs:
        return [f"{len(assignments)} jobs assigned, expected {inst.jobs}"]
    load = [0] * inst.agents
    for j, i in enumerate(assignments):
        if not 0 <= i < inst.agents:
            out.append(f"job {j} has no valid agent ({i})")
            continue
        load[i] += inst.weight[i][j]
    out.extend(
        f"agent {i} load {load[i]} over capacity {inst.capacity[i]}"
        for i in range(inst.agents)
        if load[i] > inst.capacity[i]
    )
    return out


def cost(inst: GapInstance, assignments: tuple[int, ...] | list[int]) -> int:
    """Total cost of an assignment."""
    return sum(inst.cost[i][j] for j, i in enumerate(assignments))


def solve(
    inst: GapInstance,
    *,
    time_limit_s: float,
    seed: int,
    on_progress: ProgressFn | None = None,
    work: float | None = None,
) -> GapResult:
    """Cheapest assignment found within the work budget (reference seconds) and time limit, via the award solver."""

    def relay(p: Progress) -> None:
        if on_progress is not None:
            on_progress(Progress(p.elapsed_s, -p.objective, -p.bound, p.phase))

    started = time.perf_counter()
    problem = to_award(inst)
    left = max(0.0, time_limit_s - (time.perf_counter() - started))
    # The work follows from the limit asked for, not from the time the conversion happened to take.
    work = work_budget(time_limit_s, work)
    award = solve_award(problem, time_limit_s=left, seed=seed, on_progress=relay, explain=False, work=work)
    result = from_award(inst, award)
    if result.status != "infeasible":
        problems = check(inst, result.assignments)
        if problems:
            raise AssertionError("award solver returned an invalid GAP plan: " + "; ".join(problems[:5]))
    return result
