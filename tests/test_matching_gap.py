"""GAP: the OR-Library reader, the award conversion, known optima of gap1-12, brute force, determinism, limits."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli.solving_assign import bench_gap, read_bounds, solve_file
from matching import award, gap
from matching.assign_core import solve_core
from matching.common import Progress

GAP_DIR = Path(__file__).resolve().parent / "data" / "gap"
BOUNDS = read_bounds(GAP_DIR)
# gap1..gap12 are the c05xx..c10xx files, five instances each; two of each set keep the suite quick.
SMALL = [f"{prefix}_{k}" for prefix in ("c0515", "c0520", "c0525", "c0530", "c0824", "c0832", "c0840", "c0848",
                                        "c1030", "c1040", "c1050", "c1060") for k in (1, 4)]  # fmt: skip


def test_parse_reads_the_or_library_layout() -> None:
    inst = gap.parse("2 3\n1 2 3\n4 5 6\n7 8 9\n1 1 1\n10 2\n", "tiny")
    assert inst.agents == 2 and inst.jobs == 3
    assert inst.cost == ((1, 2, 3), (4, 5, 6))
    assert inst.weight == ((7, 8, 9), (1, 1, 1))
    assert inst.capacity == (10, 2)


def test_parse_rejects_a_short_file() -> None:
    with pytest.raises(ValueError, match="expected"):
        gap.parse("2 3\n1 2 3\n")


def test_to_award_and_back_keep_cost_and_capacity() -> None:
    inst = gap.parse("2 2\n3 9\n4 1\n5 5\n5 5\n5 5\n", "t")
    problem = gap.to_award(inst)
    assert problem.award_all and len(problem.bids) == 4
    r = gap.solve(inst, time_limit_s=5, seed=0)
    # Each agent can take one job: job 0 to agent 0 (3) and job 1 to agent 1 (1).
    assert r.status == "optimal" and r.objective == 4 and r.assignments == (0, 1)
    assert gap.check(inst, r.assignments) == []


@pytest.mark.parametrize("name", SMALL)
def test_gap1_to_gap12_reach_their_known_optima(name: str) -> None:
    inst = gap.read(GAP_DIR / name)
    r = gap.solve(inst, time_limit_s=10, seed=1)
    assert gap.check(inst, r.assignments) == []
    assert gap.cost(inst, r.assignments) == r.objective
    assert r.objective == BOUNDS[name]
    assert r.status == "optimal" and r.bound == r.objective
    # Proven within the work budget, not cut by the clock (how fast is `linli bench gap`'s business: < 1 s idle).
    assert r.reproducible and r.timings.total_s <= 10


@st.composite
def tiny_gaps(draw: st.DrawFn) -> gap.GapInstance:
    m = draw(st.integers(1, 3))
    n = draw(st.integers(1, 5))
    cost = tuple(tuple(draw(st.integers(0, 30)) for _ in range(n)) for _ in range(m))
    weight = tuple(tuple(draw(st.integers(1, 9)) for _ in range(n)) for _ in range(m))
    capacity = tuple(draw(st.integers(0, 20)) for _ in range(m))
    return gap.GapInstance("h", cost, weight, capacity)


def brute_gap(inst: gap.GapInstance) -> int | None:
    best: int | None = None
    for agents in itertools.product(range(inst.agents), repeat=inst.jobs):
        if not gap.check(inst, agents):
            c = gap.cost(inst, agents)
            best = c if best is None else min(best, c)
    return best


@settings(max_examples=40, deadline=None)
@given(tiny_gaps())
def test_tiny_gaps_match_brute_force(inst: gap.GapInstance) -> None:
    r = gap.solve(inst, time_limit_s=5, seed=0)
    best = brute_gap(inst)
    if best is None:
        assert r.status == "infeasible" and r.conflicts
    else:
        assert gap.check(inst, r.assignments) == []
        assert r.status == "optimal" and r.objective == best


def test_same_seed_same_answer_when_solved_to_proof() -> None:
    inst = gap.read(GAP_DIR / "c1060_2")
    a = gap.solve(inst, time_limit_s=10, seed=7)
    b = gap.solve(inst, time_limit_s=10, seed=7)
    assert a.assignments == b.assignments and a.objective == b.objective


@pytest.mark.slow
def test_lns_rounds_are_reproducible_for_a_seed() -> None:
    # d20200 is solved by LP dives (rounds = dives); capping the rounds takes machine speed out of the result.
    core = award._Model(gap.to_award(gap.read(GAP_DIR / "d20200"))).core
    runs = [solve_core(core, time_limit_s=60, seed=11, max_rounds=6) for _ in range(2)]
    assert runs[0].choice is not None and runs[1].choice is not None
    assert runs[0].lns_rounds == 6
    assert np.array_equal(runs[0].choice, runs[1].choice)
    assert runs[0].objective == runs[1].objective


@pytest.mark.slow
def test_time_limit_is_honoured_and_progress_reported() -> None:
    inst = gap.read(GAP_DIR / "e20200")
    seen: list[Progress] = []
    t0 = time.perf_counter()
    r = gap.solve(inst, time_limit_s=2.0, seed=3, on_progress=seen.append)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.5
    assert gap.check(inst, r.assignments) == []
    assert seen, "on_progress was never called"
    costs = [p.objective for p in seen]
    assert costs == sorted(costs, reverse=True)  # each report improves the cost
    assert min(costs) == r.objective
    assert r.bound <= BOUNDS["e20200"] <= r.objective
    assert r.status == "feasible" and r.gap > 0


def test_solve_file_prints_agent_indexes(tmp_path: Path) -> None:
    import json

    out = json.loads(solve_file("gap", GAP_DIR / "c0515_1", time_limit_s=5, seed=0))
    assert out["status"] == "optimal" and out["objective"] == BOUNDS["c0515_1"]
    assert len(out["assignments"]) == 15 and all(0 <= a < 5 for a in out["assignments"])


def test_bench_gap_prints_a_line_per_instance_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("c0515_1", "c0520_2"):
        (tmp_path / name).write_text((GAP_DIR / name).read_text())
    (tmp_path / "bounds.txt").write_text((GAP_DIR / "bounds.txt").read_text())
    bench_gap(tmp_path, time_limit_s=5, seed=0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].split()[:5] == ["c0515_1", "optimal", "261", "261", "0.000"]
    assert lines[2].split()[:4] == ["c0520_2", "optimal", "269", "269"]
    assert lines[-1].startswith("summary: 2 instances, 2 proven optimal")
