"""Portfolio: brute-force optima on generated calls, the checker, reasons, quota conflicts and the JSON format."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli.solving_assign import solve_file
from matching import portfolio
from matching.common import Progress
from matching.portfolio import AreaQuota, Pool, PortfolioPick, PortfolioProblem, Proposal

AREAS = ("elderly", "children", "disability")


@st.composite
def portfolio_problems(draw: st.DrawFn) -> PortfolioProblem:
    pools = tuple(Pool(f"P{i}", draw(st.integers(0, 300))) for i in range(draw(st.integers(1, 2))))
    proposals = tuple(
        Proposal(
            f"R{i}",
            draw(st.sampled_from(pools)).id,
            draw(st.sampled_from(("o1", "o2", "o3"))),
            draw(st.integers(0, 150)),
            draw(st.integers(-2, 40)) / 2,
            draw(st.sampled_from(AREAS)),
        )
        for i in range(draw(st.integers(0, 7)))
    )
    max_per_org = draw(st.one_of(st.none(), st.integers(0, 3)))
    quotas = []
    for area in draw(st.sets(st.sampled_from(AREAS))):
        lo = draw(st.integers(0, 2))
        hi = draw(st.one_of(st.none(), st.integers(lo, lo + 2)))
        quotas.append(AreaQuota(area, lo, hi))
    return PortfolioProblem(pools, proposals, max_per_org, tuple(quotas))


def brute_portfolio(problem: PortfolioProblem) -> float | None:
    best: float | None = None
    for mask in itertools.product((False, True), repeat=len(problem.proposals)):
        chosen = [p for p, on in zip(problem.proposals, mask, strict=True) if on]
        if not portfolio.check(problem, [PortfolioPick(p.id) for p in chosen]):
            total = sum(p.score for p in chosen)
            best = total if best is None else max(best, total)
    return best


@settings(max_examples=60, deadline=None)
@given(portfolio_problems())
def test_generated_portfolios_are_valid_and_optimal(problem: PortfolioProblem) -> None:
    r = portfolio.solve(problem, time_limit_s=5, seed=0)
    best = brute_portfolio(problem)
    if best is None:
        assert r.status == "infeasible" and r.conflicts
        return
    assert portfolio.check(problem, r.assignments) == []
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best)
    funded = {a.proposal for a in r.assignments}
    assert {u.proposal for u in r.unassigned} == {p.id for p in problem.proposals} - funded


def small_call() -> PortfolioProblem:
    return PortfolioProblem(
        pools=(Pool("P", 100),),
        proposals=(
            Proposal("big", "P", "o1", 90, 50, "elderly"),
            Proposal("s1", "P", "o2", 50, 30, "children"),
            Proposal("s2", "P", "o3", 50, 30, "elderly"),
            Proposal("dear", "P", "o4", 150, 99, "elderly"),
        ),
    )


def test_reasons_say_who_took_the_room() -> None:
    r = portfolio.solve(small_call(), time_limit_s=5, seed=0)
    assert r.status == "optimal" and r.objective == 60
    assert {a.proposal for a in r.assignments} == {"s1", "s2"}
    why = {u.proposal: u for u in r.unassigned}
    assert why["dear"].reason == "ineligible" and "over pool P budget" in why["dear"].detail
    assert why["big"].reason == "outscored" and set(why["big"].by) <= {"s1", "s2"} and why["big"].by
    assert all(a.binding == ("pool P budget_fen",) for a in r.assignments)


def test_quotas_and_org_limit_shape_the_choice() -> None:
    problem = PortfolioProblem(
        pools=(Pool("P", 1000),),
        proposals=(
            Proposal("a", "P", "o1", 10, 9, "elderly"),
            Proposal("b", "P", "o1", 10, 8, "elderly"),
            Proposal("c", "P", "o2", 10, 1, "children"),
            Proposal("d", "P", "o3", 10, 7, "elderly"),
        ),
        max_per_org=1,
        area_quota=(AreaQuota("children", 1, 1), AreaQuota("elderly", 0, 1)),
    )
    r = portfolio.solve(problem, time_limit_s=5, seed=0)
    assert r.status == "optimal" and {a.proposal for a in r.assignments} == {"a", "c"}
    c = next(a for a in r.assignments if a.proposal == "c")
    assert "area children quota (minimum)" in c.binding


def test_unreachable_quota_is_reported_as_a_conflict() -> None:
    problem = PortfolioProblem(
        pools=(Pool("P", 100),),
        proposals=(Proposal("a", "P", "o1", 60, 5, "elderly"), Proposal("b", "P", "o2", 60, 5, "elderly")),
        area_quota=(AreaQuota("elderly", 2, None),),
    )
    r = portfolio.solve(problem, time_limit_s=5, seed=0)
    assert r.status == "infeasible"
    details = {c.detail for c in r.conflicts}
    assert details == {"area elderly quota at least 2", "pool P budget_fen at most 100"}


def larger_call() -> PortfolioProblem:
    """3,000 proposals: beyond the single-model size, so the LNS rounds run."""
    pools = tuple(Pool(f"P{i}", 2_000_000) for i in range(5))
    proposals = tuple(
        Proposal(f"R{i}", f"P{i % 5}", f"o{i % 400}", 10_000 + (i * 7919) % 90_000, float((i * 31) % 97), AREAS[i % 3])
        for i in range(3000)
    )
    return PortfolioProblem(pools, proposals, 3, (AreaQuota("children", 20, 400),))


@pytest.mark.slow
def test_larger_call_goes_through_lns_within_the_time_limit() -> None:
    problem = larger_call()
    seen: list[Progress] = []
    t0 = time.perf_counter()
    r = portfolio.solve(problem, time_limit_s=3, seed=2, on_progress=seen.append)
    assert time.perf_counter() - t0 < 3.6
    assert portfolio.check(problem, r.assignments) == []
    assert r.status in ("optimal", "feasible") and r.objective <= r.bound and seen
    assert r.gap < 0.01


@pytest.mark.slow
def test_same_seed_and_work_give_the_same_funded_set() -> None:
    # The work budget, not the clock, sizes the LNS rounds: two runs agree round for round.
    a, b = (portfolio.solve(larger_call(), time_limit_s=30, seed=5, work=1.5) for _ in range(2))
    assert a.reproducible and b.reproducible and a.lns_rounds >= 3
    assert (a.assignments, a.objective, a.lns_rounds) == (b.assignments, b.objective, b.lns_rounds)


def test_repair_and_checker() -> None:
    problem = small_call()
    r = portfolio.solve(problem, time_limit_s=5, seed=0, previous=[PortfolioPick("big"), PortfolioPick("gone")])
    assert portfolio.check(problem, r.assignments) == [] and r.objective == 60
    assert portfolio.check(problem, [PortfolioPick("big"), PortfolioPick("s1")]) == [
        "pool 'P' spends 140 fen, over its budget 100"
    ]


def test_solve_file_reads_the_documented_json(tmp_path: Path) -> None:
    doc = {
        "pools": [{"id": "P", "budget_fen": 100}],
        "proposals": [{"id": "r1", "pool": "P", "org": "o", "cost_fen": 80, "score": 3, "area": "elderly"}],
        "max_per_org": 2,
        "area_quota": [{"area": "elderly", "min": 0, "max": 5}],
    }
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps(doc))
    out = json.loads(solve_file("portfolio", path, time_limit_s=2, seed=0))
    assert out["status"] == "optimal" and out["objective"] == 3
    assert out["assignments"][0]["proposal"] == "r1"
