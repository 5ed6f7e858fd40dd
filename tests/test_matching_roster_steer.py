"""Plans people can steer, in the roster model: pins every plan keeps, and spreading hours across volunteers."""

from __future__ import annotations

import itertools

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import generate
from matching.roster import (
    RosterProblem,
    Shift,
    Volunteer,
    check,
    evaluate,
    exclusion,
    gini,
    solve,
    spread_penalty,
)
from tests.test_matching_roster import _feasible, at, place, tiny_rosters


def brute_force(problem: RosterProblem) -> int:
    """The best objective over every feasible subset of eligible pairs that holds every pin."""
    by_id = {s.id: s for s in problem.shifts}
    eligible = [(v, s) for v in problem.volunteers for s in problem.shifts if exclusion(v, s) is None]
    pins = set(problem.pinned)
    best: int | None = None
    for k in range(len(eligible) + 1):
        for subset in itertools.combinations(eligible, k):
            pairs = [(v.id, s.id) for v, s in subset]
            if not pins <= set(pairs):
                continue
            value = evaluate(problem, pairs)
            if best is not None and value <= best:
                continue
            if _feasible(problem, subset, by_id):
                best = value
    assert best is not None
    return best


@st.composite
def steered(draw: st.DrawFn) -> RosterProblem:
    """A tiny roster with a spreading weight and up to two pins among its eligible pairs."""
    problem = draw(tiny_rosters())
    eligible = [(v.id, s.id) for v in problem.volunteers for s in problem.shifts if exclusion(v, s) is None]
    pins = tuple(draw(st.lists(st.sampled_from(eligible), max_size=2, unique=True))) if eligible else ()
    return msgspec.structs.replace(problem, pinned=pins, spread=draw(st.sampled_from([0, 40, 100])))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steered())
def test_a_steered_plan_keeps_its_pins_and_reaches_the_brute_force_optimum(problem: RosterProblem) -> None:
    result = solve(problem, time_limit_s=5, seed=1, work=1.0)
    if result.status == "infeasible":
        # Pins that together break a rule are named, never dropped silently.
        assert result.conflicts and all(c.constraint == "pinned" for c in result.conflicts)
        return
    assert check(problem, result.assignments) == []
    taken = {(a.volunteer, a.shift) for a in result.assignments}
    assert set(problem.pinned) <= taken
    assert result.objective == evaluate(problem, sorted(taken, key=str)) == brute_force(problem)


def _two_volunteers() -> RosterProblem:
    near = Volunteer("near", place(0, 0), 5.0, 600, available=((at(0), at(24)),))
    far = Volunteer("far", place(2, 0), 5.0, 600, available=((at(0), at(24)),))
    shifts = (
        Shift("morning", at(8), at(10), place(0, 0), 1),
        Shift("noon", at(10), at(12), place(0, 0), 1),
        Shift("evening", at(12), at(14), place(0, 0), 1),
    )
    return RosterProblem((near, far), shifts)


def test_a_pin_holds_against_a_better_valued_pair_and_the_checker_reports_a_dropped_pin() -> None:
    problem = msgspec.structs.replace(_two_volunteers(), pinned=(("far", "morning"),))
    result = solve(problem, time_limit_s=5, seed=1, work=0.5)
    assert ("far", "morning") in {(a.volunteer, a.shift) for a in result.assignments}
    without = [a for a in result.assignments if (a.volunteer, a.shift) != ("far", "morning")]
    assert check(problem, without) == ["the plan drops the pinned pair 'far' -> 'morning'"]


def test_impossible_pins_are_conflicts_not_silently_dropped() -> None:
    base = _two_volunteers()
    beyond = Volunteer("beyond", place(30, 0), 5.0, 600, available=((at(0), at(24)),))
    cases = {
        "no such volunteer": (("nobody", "morning"),),
        "distance": (("beyond", "morning"),),
        "headcount 1": (("near", "morning"), ("far", "morning")),
    }
    for words, pins in cases.items():
        problem = msgspec.structs.replace(base, volunteers=(*base.volunteers, beyond), pinned=pins)
        result = solve(problem, time_limit_s=2, seed=1, work=0.2)
        assert result.status == "infeasible"
        assert [c.constraint for c in result.conflicts] == ["pinned"]
        assert words in result.conflicts[0].detail


def test_spreading_is_convex_and_evaluate_charges_it() -> None:
    costs = [spread_penalty(100, m) for m in range(0, 600, 60)]
    steps = [b - a for a, b in itertools.pairwise(costs)]
    assert costs[:3] == [0, 0, 0] and steps == sorted(steps) and max(steps) == 40
    problem = msgspec.structs.replace(_two_volunteers(), spread=100)
    pairs = [("near", "morning"), ("near", "noon"), ("near", "evening")]
    assert evaluate(problem, pairs) == evaluate(msgspec.structs.replace(problem, spread=0), pairs) - (10 + 20 + 30 + 40)


def test_spreading_lowers_the_gini_of_hours_and_fills_nearly_as_many_places() -> None:
    problem = generate.roster(150, 100, seed=1)
    off = solve(problem, time_limit_s=8, seed=1, work=1.0)
    on = solve(msgspec.structs.replace(problem, spread=100), time_limit_s=8, seed=1, work=1.0)
    assert off.eligible_volunteers == on.eligible_volunteers > 100
    assert on.hours_gini <= 0.8 * off.hours_gini
    assert len(on.assignments) >= 0.97 * len(off.assignments)
    assert on.spread_penalty > 0 and on.objective == evaluate(
        msgspec.structs.replace(problem, spread=100), [(a.volunteer, a.shift) for a in on.assignments]
    )


def test_gini() -> None:
    assert gini([]) == gini([0, 0]) == gini([5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 12]) == 0.75


def test_a_steered_solve_is_deterministic_on_its_work_budget() -> None:
    problem = msgspec.structs.replace(generate.roster(60, 50, seed=4), spread=70)
    pins = ((problem.volunteers[0].id, problem.shifts[0].id),)
    eligible = exclusion(problem.volunteers[0], problem.shifts[0]) is None
    problem = msgspec.structs.replace(problem, pinned=pins if eligible else ())
    a = solve(problem, time_limit_s=30, seed=2, work=0.6)
    b = solve(problem, time_limit_s=30, seed=2, work=0.6)
    assert a.reproducible and b.reproducible
    assert [(x.volunteer, x.shift) for x in a.assignments] == [(x.volunteer, x.shift) for x in b.assignments]
    assert a.objective == b.objective
