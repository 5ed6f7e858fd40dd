"""311 teams people can steer: pinned (household, carer) pairs are in every plan, `check` rejects a plan that drops
one, pins no plan can hold are conflicts with their reason, and on tiny instances the pinned solve reaches the
brute-force optimum among the plans that keep every pin (or every such plan is impossible and the solve says so)."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import generate
from matching.common import haversine_km
from matching.people_core import run_cpsat
from matching.teams import (
    Carer,
    Household,
    TeamsData,
    TeamsProblem,
    check,
    column_model,
    free_slots,
    full_model,
    pin_conflicts,
    solve,
)
from tests.test_matching_teams import SLOTS, brute_force, near, tiny_teams


@st.composite
def pinned_teams(draw: st.DrawFn) -> TeamsProblem:
    """A tiny teams problem with one or two pins drawn from its (household, carer) pairs."""
    problem = draw(tiny_teams())
    pairs = [(h.id, c.id) for h in problem.households for c in problem.carers]
    # Mostly pairs the rules allow (near enough, a free slot in common), so most draws have a plan to find.
    eligible = [
        (h.id, c.id)
        for h in problem.households
        for c in problem.carers
        if haversine_km(c.home, h.home) <= h.max_km and set(h.slots) & free_slots(c)
    ]
    if eligible and draw(st.integers(0, 3)):
        pairs = eligible
    pins = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=2, unique=True))
    return msgspec.structs.replace(problem, pinned=tuple(pins))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pinned_teams())
def test_a_pinned_solve_keeps_every_pin_and_reaches_the_pinned_optimum(problem: TeamsProblem) -> None:
    optimum = brute_force(problem)
    result = solve(problem, time_limit_s=5, seed=1)
    if optimum is None:
        assert result.status == "infeasible"
        assert result.conflicts and all(c.constraint == "pinned" for c in result.conflicts)
        return
    assert pin_conflicts(problem) == []
    assert check(problem, result.assignments) == []
    planned = {(t.household, c) for t in result.assignments for c in t.carers}
    assert set(problem.pinned) <= planned
    assert result.objective == optimum <= result.bound


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pinned_teams())
def test_the_full_and_column_models_keep_the_pins(problem: TeamsProblem) -> None:
    optimum = brute_force(problem)
    if optimum is None:
        return
    data = TeamsData(problem)
    model, _ = full_model(data)
    cp = run_cpsat(model, None, time_limit_s=5, seed=1, workers=1)
    assert cp.optimal and cp.value == optimum
    packing, _ = column_model(data, {}, list(range(data.nh)))
    best = run_cpsat(packing, None, time_limit_s=5, seed=1, workers=1)
    assert best.optimal and best.value == optimum


def _three_households() -> TeamsProblem:
    carers = tuple(Carer(f"c{i}", near(100 * i, 0), trained=i % 2 == 0, max_teams=1, slots=SLOTS) for i in range(6))
    households = tuple(Household(f"h{k}", near(300 * k, 50), 2.0, SLOTS) for k in range(2))
    return TeamsProblem(carers, households, team_size=2, min_trained=1)


def test_check_rejects_a_plan_that_drops_a_pin() -> None:
    problem = _three_households()
    free = solve(problem, time_limit_s=5, seed=1)
    placed = {(t.household, c) for t in free.assignments for c in t.carers}
    # A pair the unsteered optimum does not make: pinning it changes the plan.
    pair = next((h.id, c.id) for h in problem.households for c in problem.carers if (h.id, c.id) not in placed)
    pinned = msgspec.structs.replace(problem, pinned=(pair,))
    assert any("drops the pinned pair" in e for e in check(pinned, free.assignments))
    steered = solve(pinned, time_limit_s=5, seed=1)
    assert check(pinned, steered.assignments) == []
    assert pair in {(t.household, c) for t in steered.assignments for c in t.carers}


def test_pins_no_plan_can_hold_say_why() -> None:
    problem = _three_households()
    far = Carer("far", near(9000, 9000), trained=True, max_teams=1, slots=SLOTS)
    busy = Carer("busy", near(0, 0), trained=True, max_teams=2, slots=("mon-am",), busy=("mon-am",))
    wide = msgspec.structs.replace(problem, carers=(*problem.carers, far, busy), refused=(("h0", "c1"),))

    def why(*pins: tuple[str, str]) -> list[str]:
        return [c.detail.rsplit(": ", 1)[1] for c in pin_conflicts(msgspec.structs.replace(wide, pinned=pins))]

    assert why(("h0", "c1")) == ["refused"]
    assert why(("h0", "far")) == ["distance"]
    assert why(("h0", "busy")) == ["no-shared-slot"]
    assert why(("gone", "c0")) == ["unknown"]
    assert why(("h0", "c0"), ("h0", "c2"), ("h0", "c3")) == ["team-full"]
    assert why(("h0", "c0"), ("h1", "c0")) == ["carer-full"]
    # Two untrained carers fill a team of two with nobody trained.
    assert why(("h0", "c1"), ("h1", "c1")) == ["refused"]
    assert why(("h1", "c1"), ("h1", "c3")) == ["no-team"]
    assert why(("h0", "c0"), ("h1", "c2")) == []
    result = solve(msgspec.structs.replace(wide, pinned=(("h0", "far"),)), time_limit_s=5, seed=1)
    assert result.status == "infeasible" and result.conflicts[0].constraint == "pinned"


def test_a_carer_pinned_to_two_households_with_one_shared_slot_is_a_clash() -> None:
    carers = (
        Carer("a", near(0, 0), trained=True, max_teams=2, slots=("mon-am",)),
        Carer("b", near(50, 0), trained=True, max_teams=2, slots=("mon-am", "tue-pm")),
    )
    households = (Household("h0", near(0, 50), 2.0, SLOTS), Household("h1", near(50, 50), 2.0, SLOTS))
    problem = TeamsProblem(carers, households, team_size=1, min_trained=1, pinned=(("h0", "a"), ("h1", "a")))
    assert [c.detail for c in pin_conflicts(problem)] == ["pins together: pins-clash"]
    ok = msgspec.structs.replace(problem, pinned=(("h0", "a"), ("h1", "b")))
    assert pin_conflicts(ok) == []


def test_a_pinned_solve_is_deterministic_and_keeps_the_pins_at_scale() -> None:
    problem = generate.teams(60, 20, seed=4)
    free = solve(problem, time_limit_s=5, seed=3, work=0.5)
    # Pin one member of three teams elsewhere where the rules allow it: the plan must move around them.
    pins = []
    for team in free.assignments[:3]:
        pins.append((team.household, team.carers[0]))
    steered_problem = msgspec.structs.replace(problem, pinned=tuple(pins))
    a = solve(steered_problem, time_limit_s=5, seed=3, work=0.5)
    b = solve(steered_problem, time_limit_s=5, seed=3, work=0.5)
    assert a.assignments == b.assignments
    assert check(steered_problem, a.assignments) == []
    assert set(pins) <= {(t.household, c) for t in a.assignments for c in t.carers}
