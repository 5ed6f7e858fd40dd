"""The visits model's travel bound (the assignment relaxation): never above any plan's travel, exact when the
relaxation's best is a route, positive where CP-SAT proves nothing, and reported by solve() and `linli bench visits`."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings

from api.cli import solving_visits
from matching.common import Budget, relative_gap
from matching.visits import Carer, Link, Pin, Visit, VisitsProblem, solve
from matching.visits_bound import travel_bound
from tests.test_matching_visits import HHC, best_known, brute_force, tiny_problems


def least_travel(problem: VisitsProblem) -> float | None:
    """The least travel of any plan by its structure alone (able carers, a link's halves on two carers, any order),
    timing ignored: a set of plans that holds every feasible one, so the bound must not exceed its least travel."""
    d, visits, carers = problem.travel, problem.visits, problem.carers
    ids = {v.id: i for i, v in enumerate(visits)}
    best: float | None = None
    for owners in itertools.product(range(len(carers)), repeat=len(visits)):
        if any(visits[i].service not in carers[k].abilities for i, k in enumerate(owners)):
            continue
        if any(owners[ids[link.first]] == owners[ids[link.second]] for link in problem.links):
            continue
        total = 0.0
        for k, carer in enumerate(carers):
            mine = [visits[i].location for i in range(len(visits)) if owners[i] == k]
            total += min(
                sum(d[a][b] for a, b in itertools.pairwise([carer.start, *order, carer.end])) * carer.travel_factor
                for order in itertools.permutations(mine)
            )
        best = total if best is None else min(best, total)
    return best


@settings(max_examples=60, deadline=None)
@given(tiny_problems())
def test_the_bound_is_never_above_the_least_travel_nor_the_brute_force_optimum(problem: VisitsProblem) -> None:
    bound = travel_bound(problem)
    travel = least_travel(problem)
    optimum = brute_force(problem)
    if travel is None:
        assert optimum is None
        return
    assert bound <= travel + 1e-9
    if optimum is not None:
        assert bound / 3 <= optimum + 1e-9


def test_the_bound_is_below_the_proven_optimum_of_every_a_instance() -> None:
    for path in sorted(HHC.glob("A*.json.gz")):
        name = path.name.split(".")[0]
        bound = travel_bound(solving_visits.read_problem(path))
        assert 0 < bound / 3 <= best_known(name), name


def line(points: list[float]) -> tuple[tuple[float, ...], ...]:
    """Travel times between points on a line."""
    return tuple(tuple(abs(a - b) for b in points) for a in points)


def test_one_carer_on_a_one_way_loop_is_proven_optimal_by_the_assignment() -> None:
    # A one-way ring road: every cycle of the assignment, subtours too, costs a whole lap, and one route is one lap.
    # Sixteenths: exact in binary and at the 1e-6 scale, but four decimals, so the exact CP-SAT model is not tried.
    lap, places = 4.25, [0.0, 1.0625, 2.125, 3.1875]
    ring = tuple(tuple((b - a) % lap for b in places) for a in places)
    visits = tuple(Visit(f"v{i}", f"p{i}", "care", 1.0, (0.0, 100.0), i) for i in (3, 1, 2))
    problem = VisitsProblem((Carer("c0", ("care",), 0, 0),), visits, ring)
    assert travel_bound(problem) == lap
    result = solve(problem, time_limit_s=10, seed=1, work=0.05)
    assert [s.visit for s in result.routes[0].visits] == ["v1", "v2", "v3"]
    assert result.objective == pytest.approx(lap / 3)
    assert (result.status, result.bound_source, result.gap) == ("optimal", "assignment", 0.0)
    assert result.bound == pytest.approx(result.objective)


def test_a_links_halves_never_follow_each_other_and_a_pin_keeps_its_carer() -> None:
    carers = (Carer("c0", ("care",), 0, 0), Carer("c1", ("care",), 0, 0, travel_factor=3.0))
    both = (Visit("p/1", "p", "care", 10.0, (0.0, 50.0), 1), Visit("p/2", "p", "care", 10.0, (0.0, 50.0), 1))
    linked = VisitsProblem(carers, both, line([0.0, 5.0]), (Link("p/1", "p/2"),))
    # Two carers go there and back (5 + 5 at factor 1, 15 + 15 at 3), not one carer for both halves.
    assert travel_bound(linked) == 40.0
    # Unlinked, the two halves close a subtour of their own at no cost (the relaxation's weakness), and both carers
    # stay at home.
    assert travel_bound(VisitsProblem(carers, both, line([0.0, 5.0]))) == 0.0
    pinned = VisitsProblem(carers, both[:1], line([0.0, 5.0]), pinned=(Pin("p/1", "c1"),))
    assert travel_bound(pinned) == 30.0


def test_the_bound_is_charged_as_work_and_skipped_when_the_work_cannot_pay() -> None:
    problem = solving_visits.read_problem(HHC / "B1.json.gz")
    budget = Budget(10, work=1.0)
    assert travel_bound(problem, budget) > 0
    assert 0 < budget.spent < 0.01
    assert travel_bound(problem, Budget(10, work=0.0)) == 0.0


def test_b1_gets_a_positive_bound_from_the_assignment_and_a_gap_against_it() -> None:
    problem = solving_visits.read_problem(HHC / "B1.json.gz")
    result = solve(problem, time_limit_s=30, seed=1, work=0.3)
    assert result.bound_source == "assignment"
    assert result.bound == pytest.approx(travel_bound(problem) / 3)
    assert 0 < result.bound < best_known("B1")
    assert result.gap == pytest.approx(relative_gap(result.objective, result.bound))


def test_bench_prints_the_bound_and_its_gap_to_the_best_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(HHC / "A1.json.gz", tmp_path / "A1.json.gz")
    (tmp_path / "best_known.tsv").write_text("instance\tbest_known\nA1\t218.20\n", encoding="utf-8")
    solving_visits.bench(tmp_path, time_limit_s=1, seed=1, sets=None)
    out = capsys.readouterr().out
    # inst, linli, best known, gap, bound, its gap, its source, ...
    cells = next(row for row in out.splitlines() if row.split()[:1] == ["A1"]).split()
    bound = float(cells[4])
    assert 0 < bound <= 218.20
    assert float(cells[5].rstrip("%")) == pytest.approx(100 * (bound - 218.20) / 218.20, abs=0.01)
    assert cells[6] in ("cp-sat", "assignment")
    assert "bound mean gap" in out


def test_a_carer_without_visits_is_bounded_by_their_empty_route_and_an_empty_day_by_nothing() -> None:
    walker = Carer("c0", ("care",), 0, 1, travel_factor=2.0)
    result = solve(VisitsProblem((walker,), (), ((0.0, 2.5), (1.0, 0.0))), time_limit_s=10, seed=1, work=0.1)
    assert (result.objective, result.bound, result.status, result.bound_source) == (
        5 / 3,
        5 / 3,
        "optimal",
        "assignment",
    )
    assert travel_bound(VisitsProblem((), (), ())) == 0.0
