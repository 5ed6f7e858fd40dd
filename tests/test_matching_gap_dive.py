"""GAP LP dives: the knapsack pricing against brute force, the Lagrangian bound, dives and ejection chains."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli.solving_assign import read_bounds
from matching import gap, gap_dive
from matching.common import Budget

GAP_DIR = Path(__file__).resolve().parent / "data" / "gap"
BOUNDS = read_bounds(GAP_DIR)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda m: st.integers(1, 7).flatmap(
            lambda n: st.tuples(
                st.lists(st.lists(st.integers(-20, 10), min_size=n, max_size=n), min_size=m, max_size=m),
                st.lists(st.lists(st.integers(1, 9), min_size=n, max_size=n), min_size=m, max_size=m),
                st.lists(st.integers(0, 25), min_size=m, max_size=m),
            )
        )
    )
)
def test_knapsacks_match_brute_force(data: tuple[list[list[int]], list[list[int]], list[int]]) -> None:
    d = np.array(data[0], dtype=np.float64)
    w = np.array(data[1], dtype=np.int64)
    cap = np.array(data[2], dtype=np.int64)
    val, xs = gap_dive.knapsacks(d, w, cap)
    x = xs[0]  # the cheapest set of each agent (the first of the chain)
    for i in range(d.shape[0]):
        best = 0.0
        for pick in itertools.product((0, 1), repeat=d.shape[1]):
            p = np.array(pick, dtype=bool)
            if w[i, p].sum() <= cap[i]:
                best = min(best, float(d[i, p].sum()))
        assert abs(val[i] - best) < 1e-9
        assert w[i, x[i]].sum() <= cap[i]
        assert abs(d[i, x[i]].sum() - best) < 1e-9
    # A chain of sets: each feasible, each lighter than the one before (or empty).
    _, chain = gap_dive.knapsacks(d, w, cap, spread=3)
    for i in range(d.shape[0]):
        loads = [int(w[i, c[i]].sum()) for c in chain]
        assert all(load <= cap[i] for load in loads)
        assert all(b < a or b == 0 for a, b in itertools.pairwise(loads))


def _arrays(name: str) -> tuple[gap.GapInstance, np.ndarray, np.ndarray, np.ndarray]:
    inst = gap.read(GAP_DIR / name)
    cost = np.array(inst.cost, dtype=np.float64)
    weight = np.array(inst.weight, dtype=np.int64)
    cap = np.array(inst.capacity, dtype=np.int64)
    return inst, cost, weight, cap


@pytest.mark.slow
def test_root_bound_is_valid_and_dives_give_checked_plans() -> None:
    inst, cost, weight, cap = _arrays("d20100")
    n = cost.shape[1]
    cg = gap_dive.ColumnGeneration(cost, weight, cap)
    budget = Budget(60, work=60)
    root = cg.solve(np.ones(n, dtype=bool), cap, gap_dive.Pool.empty(n), max_iters=300, budget=budget)
    assert root is not None and root.converged
    # The Lagrangian bound of the set-covering LP: at most the best-known lower bound, above the plain LP (6143).
    assert 6143 < root.bound <= BOUNDS["d20100"] + 1e-6
    rng = np.random.default_rng(0)
    agent = gap_dive.dive(cg, root.columns, rng, noise=0.0, step_iters=5, budget=budget)
    if np.all(agent >= 0):
        assert gap.check(inst, agent.tolist()) == []
        polished = gap_dive.ejection_chains(cost, weight, cap, agent, budget)
        assert gap.check(inst, polished.tolist()) == []
        assert gap.cost(inst, polished.tolist()) <= gap.cost(inst, agent.tolist())


def test_ejection_chains_keep_plans_feasible_and_never_worsen() -> None:
    inst, cost, weight, cap = _arrays("e10100")
    r = gap.solve(inst, time_limit_s=0.5, seed=0)
    start = np.array(r.assignments, dtype=np.int64)
    out = gap_dive.ejection_chains(cost, weight, cap, start, Budget(10))
    assert gap.check(inst, out.tolist()) == []
    assert gap.cost(inst, out.tolist()) <= r.objective


@pytest.mark.slow
def test_gap_solve_reports_the_lagrangian_bound() -> None:
    r = gap.solve(gap.read(GAP_DIR / "e20100"), time_limit_s=3, seed=0)
    assert r.bound_source == "lagrangian"
    assert r.bound <= BOUNDS["e20100"] <= r.objective
