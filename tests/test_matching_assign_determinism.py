"""Assignment solves (GAP, award): the same seed and work give the same plan under load; the clock is a safety net."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from matching import award, gap
from matching.award import AwardProblem, Bid, Funder, Lot, Org
from tests.cpu_load import busy_cores

GAP_DIR = Path(__file__).resolve().parent / "data" / "gap"


def bidding_round(seed: int) -> AwardProblem:
    """A tender too large for one CP-SAT model and not GAP-shaped (lot limits, funders): solved by LNS rounds."""
    rng = np.random.default_rng(seed)
    lots = tuple(Lot(f"L{i}", int(rng.integers(50, 120))) for i in range(160))
    orgs = tuple(Org(f"O{i}", int(rng.integers(30, 60)), int(rng.integers(4, 12))) for i in range(24))
    bids = tuple(
        Bid(
            f"B{i}/{k}",
            lot.id,
            f"O{int(o)}",
            int(rng.integers(30, 110)),
            int(rng.integers(2, 9)),
            float(rng.integers(1, 90)),
        )
        for i, lot in enumerate(lots)
        for k, o in enumerate(rng.choice(len(orgs), size=6, replace=False))
    )
    funders = tuple(Funder(f"F{f}", 2500, tuple(lot.id for lot in lots[f::4])) for f in range(4))
    return AwardProblem(lots, orgs, bids, funders)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "work"),
    [("d10100", 2.5), ("d10400", 3.0)],
    ids=["dives", "tabu-and-lns"],
)
def test_gap_same_seed_and_work_give_the_same_plan_under_load(name: str, work: float) -> None:
    # d10100 is solved by LP dives, d10400 (40 jobs per agent) by tabu search and LNS rounds.
    inst = gap.read(GAP_DIR / name)
    quiet = gap.solve(inst, time_limit_s=60, seed=5, work=work)
    with busy_cores():
        loaded = gap.solve(inst, time_limit_s=60, seed=5, work=work)
    assert quiet.reproducible and loaded.reproducible
    assert quiet.lns_rounds >= 3, "the work should pay for several dives or LNS rounds"
    assert loaded.lns_rounds == quiet.lns_rounds
    assert loaded.assignments == quiet.assignments and loaded.objective == quiet.objective


@pytest.mark.slow
def test_award_same_seed_and_work_give_the_same_plan_under_load() -> None:
    problem = bidding_round(3)
    quiet = award.solve(problem, time_limit_s=60, seed=2, work=2.0)
    with busy_cores():
        loaded = award.solve(problem, time_limit_s=60, seed=2, work=2.0)
    assert quiet.reproducible and loaded.reproducible
    assert quiet.status == "feasible" and quiet.lns_rounds >= 3
    assert loaded.lns_rounds == quiet.lns_rounds
    assert loaded.assignments == quiet.assignments and loaded.objective == quiet.objective


@pytest.mark.slow
def test_the_clock_cuts_a_search_whose_work_does_not_fit_the_limit() -> None:
    inst = gap.read(GAP_DIR / "d20200")
    t0 = time.perf_counter()
    r = gap.solve(inst, time_limit_s=1.0, seed=0, work=100.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.4
    assert gap.check(inst, r.assignments) == []
    assert not r.reproducible


@pytest.mark.slow
def test_award_cut_by_the_clock_says_so() -> None:
    t0 = time.perf_counter()
    r = award.solve(bidding_round(4), time_limit_s=0.5, seed=0, work=100.0)
    assert time.perf_counter() - t0 < 0.9
    assert r.status == "feasible" and not r.reproducible
