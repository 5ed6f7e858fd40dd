"""311 teams: every result passes the independent checker, tiny instances reach the brute-force optimum."""

from __future__ import annotations

import itertools
import pickle
import time
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import generate
from matching.common import Progress, haversine_km
from matching.teams import (
    Carer,
    Household,
    Id,
    PreviousTeam,
    Team,
    TeamsData,
    TeamsProblem,
    TeamsResult,
    check,
    evaluate,
    repair,
    solve,
)
from tests.helpers import assert_schema_committed, solve_through_file

SLOTS = ("mon-am", "tue-pm", "sat-am")


def near(dx_m: float, dy_m: float) -> tuple[float, float]:
    """A point dx/dy metres east/north of a Shanghai estate."""
    return (31.23 + dy_m / 111_195, 121.47 + dx_m / 95_070)


@st.composite
def tiny_teams(draw: st.DrawFn) -> TeamsProblem:
    """Up to 6 carers and 3 households within walking distance of each other."""
    carers = tuple(
        Carer(
            id=f"c{i}",
            home=near(draw(st.floats(0, 1500)), draw(st.floats(0, 1500))),
            trained=draw(st.booleans()),
            max_teams=draw(st.integers(1, 2)),
            slots=tuple(draw(st.sets(st.sampled_from(SLOTS), min_size=1))),
            busy=tuple(draw(st.sets(st.sampled_from(SLOTS), max_size=1))),
        )
        for i in range(draw(st.integers(1, 6)))
    )
    households = tuple(
        Household(
            id=f"h{k}",
            home=near(draw(st.floats(0, 1500)), draw(st.floats(0, 1500))),
            max_km=draw(st.sampled_from([0.5, 1.0, 2.0])),
            slots=tuple(draw(st.sets(st.sampled_from(SLOTS), min_size=1))),
        )
        for k in range(draw(st.integers(1, 3)))
    )
    size = draw(st.integers(1, 3))
    previous = tuple(
        PreviousTeam(h.id, tuple(draw(st.sets(st.sampled_from([c.id for c in carers]), max_size=size))))
        for h in households
        if draw(st.booleans())
    )
    return TeamsProblem(carers, households, team_size=size, min_trained=draw(st.integers(0, 1)), previous=previous)


def brute_force(problem: TeamsProblem) -> int:
    """Best total value over every choice of one valid team (or none) per household, checked by the checker."""
    options: list[list[tuple[Id, tuple[Id, ...]] | None]] = []
    for h in problem.households:
        valid: list[tuple[Id, tuple[Id, ...]] | None] = [None]
        for members in itertools.combinations([c.id for c in problem.carers], problem.team_size):
            team = Team(h.id, members, evaluate(problem, [(h.id, members)]))
            if not check(problem, [team]):
                valid.append((h.id, members))
        options.append(valid)
    best = 0
    for choice in itertools.product(*options):
        chosen = [c for c in choice if c is not None]
        value = evaluate(problem, chosen)
        if value > best and not check(problem, [Team(h, m, evaluate(problem, [(h, m)])) for h, m in chosen]):
            best = value
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_teams())
def test_every_result_passes_the_checker_and_matches_brute_force(problem: TeamsProblem) -> None:
    result = solve(problem, time_limit_s=5, seed=1)
    assert check(problem, result.assignments) == []
    assert result.objective == sum(t.value for t in result.assignments)
    assert result.objective <= result.bound
    assert result.objective == brute_force(problem)
    assert result.covered + len(result.uncovered) == len(problem.households)


def _three_carers() -> TeamsProblem:
    carers = (
        Carer("a", near(100, 0), True, 1, ("mon-am", "tue-pm")),
        Carer("b", near(0, 200), False, 1, ("mon-am",)),
        Carer("c", near(300, 0), False, 2, ("mon-am", "sat-am")),
        Carer("far", near(5000, 0), True, 1, ("mon-am",)),
    )
    households = (
        Household("h1", near(0, 0), 1.0, ("mon-am", "sat-am")),
        Household("h2", near(50, 0), 1.0, ("mon-am",)),
        Household("lonely", near(9000, 9000), 1.0, ("mon-am",)),
    )
    return TeamsProblem(carers, households, team_size=3, min_trained=1)


def test_a_team_carries_its_reasons_and_the_rest_say_why_not() -> None:
    problem = _three_carers()
    result = solve(problem, time_limit_s=3, seed=1)
    assert result.status == "optimal"
    (team,) = result.assignments
    assert set(team.carers) == {"a", "b", "c"}
    assert team.shared_slots == ("mon-am",)
    house = next(h for h in problem.households if h.id == team.household)
    by_id = {c.id: c for c in problem.carers}
    assert team.value == 10_000 - sum(int(haversine_km(by_id[c].home, house.home) * 1000 / 10) for c in team.carers)
    assert {m.carer: m.trained for m in team.members} == {"a": True, "b": False, "c": False}
    why = {u.household: u for u in result.uncovered}
    other = "h2" if team.household == "h1" else "h1"
    assert why[other].why == "outscored"
    assert {b.carer for b in why[other].busy} == {"a", "b"}
    assert why["lonely"].why == "nobody-eligible"
    assert why["lonely"].excluded_by == {"distance": 4}


def test_a_carer_busy_in_the_only_shared_slot_is_never_teamed_there() -> None:
    problem = _three_carers()
    busy = msgspec.structs.replace(
        problem,
        carers=tuple(msgspec.structs.replace(c, busy=("mon-am",)) if c.id == "b" else c for c in problem.carers),
    )
    result = solve(busy, time_limit_s=3, seed=1)
    assert check(busy, result.assignments) == []
    assert all("b" not in t.carers for t in result.assignments)
    # The same team, claimed anyway, breaks the rule the checker knows.
    team = solve(problem, time_limit_s=3, seed=1).assignments[0]
    assert any("shares no slot" in e for e in check(busy, [team]))


def test_kept_members_earn_their_bonus_and_survive_repair() -> None:
    problem = msgspec.structs.replace(_three_carers(), previous=(PreviousTeam("h2", ("a", "b", "c")),))
    result = solve(problem, time_limit_s=3, seed=1)
    (team,) = result.assignments
    assert team.household == "h2"
    assert team.kept == 3
    assert result.previous_kept == 3
    without = evaluate(msgspec.structs.replace(problem, previous=()), [("h2", team.carers)])
    assert team.value == without + 3 * 500


@pytest.mark.slow
def test_repair_keeps_what_still_holds_after_churn() -> None:
    problem = generate.teams(300, 100, seed=2)
    first = solve(problem, time_limit_s=3, seed=1)
    plan = [(t.household, list(t.carers)) for t in first.assignments]
    churned = generate.churn_teams(problem, plan, rate=0.03, seed=5)
    data = TeamsData(churned)
    start = repair(data)
    surviving = {(p.household, c) for p in churned.previous for c in p.carers}
    intact = {(p.household, c) for p in churned.previous if len(p.carers) == 3 for c in p.carers}
    kept = {(churned.households[h].id, churned.carers[c].id) for h, m in start.items() for c in m}
    # Teams that lost nobody are kept whole; the others keep their members wherever a replacement fits.
    assert intact <= kept
    assert len(surviving & kept) >= 0.95 * len(surviving)
    again = solve(churned, time_limit_s=3, seed=1)
    assert check(churned, again.assignments) == []
    assert again.previous_kept >= 0.95 * len(surviving)


def test_checker_catches_each_broken_rule() -> None:
    problem = _three_carers()
    good = solve(problem, time_limit_s=3, seed=1).assignments[0]
    assert any("not 3 distinct" in e for e in check(problem, [msgspec.structs.replace(good, carers=("a", "a", "b"))]))
    assert any("beyond" in e for e in check(problem, [msgspec.structs.replace(good, carers=("a", "b", "far"))]))
    assert any("trained" in e for e in check(problem, [msgspec.structs.replace(good, carers=("b", "c", "b"))]))
    assert any("two teams" in e for e in check(problem, [good, good]))
    assert any("max_teams" in e for e in check(problem, [good, msgspec.structs.replace(good, household="h2")]))
    assert any("claims value" in e for e in check(problem, [msgspec.structs.replace(good, value=1)]))
    no_slot = msgspec.structs.replace(
        problem,
        carers=tuple(msgspec.structs.replace(c, slots=("tue-pm",)) if c.id == "b" else c for c in problem.carers),
    )
    assert any("shares no slot" in e for e in check(no_slot, [good]))


def test_bad_rules_are_reported_infeasible() -> None:
    problem = msgspec.structs.replace(_three_carers(), team_size=0, min_trained=-1)
    result = solve(problem, time_limit_s=1, seed=1)
    assert result.status == "infeasible"
    assert {c.constraint for c in result.conflicts} == {"team_size", "min_trained"}


@pytest.mark.slow
def test_same_seed_same_teams_progress_and_time_limit() -> None:
    problem = generate.teams(600, 200, seed=4)
    seen: list[Progress] = []
    t0 = time.perf_counter()
    a = solve(problem, time_limit_s=2.0, seed=7, on_progress=seen.append)
    assert time.perf_counter() - t0 < 2.0 + 0.6
    assert check(problem, a.assignments) == []
    assert seen and seen[-1].objective == a.objective
    assert [p.objective for p in seen] == sorted(p.objective for p in seen)
    small = generate.teams(60, 20, seed=4)
    b1 = solve(small, time_limit_s=5, seed=3)
    b2 = solve(small, time_limit_s=5, seed=3)
    assert b1.assignments == b2.assignments


@pytest.mark.slow
def test_json_round_trip_through_solve_file(tmp_path: Path) -> None:
    problem = generate.teams(60, 20, seed=1)
    path = tmp_path / "teams.json"
    raw, text = solve_through_file("teams", problem, path)
    assert all({"household", "carers"} <= t.keys() and len(t["carers"]) == 3 for t in raw["assignments"])
    result = msgspec.json.decode(text, type=TeamsResult)
    assert check(problem, result.assignments) == []


def test_committed_schema_matches_the_structs() -> None:
    assert_schema_committed("teams")


def test_too_few_trained_among_the_nearest_swaps_in_the_nearest_trained() -> None:
    carers = (
        Carer("u1", near(100, 0), False, 1, ("mon-am",)),
        Carer("u2", near(200, 0), False, 1, ("mon-am",)),
        Carer("u3", near(300, 0), False, 1, ("mon-am",)),
        Carer("t-far", near(900, 0), True, 1, ("mon-am",)),
        Carer("t-near", near(600, 0), True, 1, ("mon-am",)),
    )
    problem = TeamsProblem(carers, (Household("h", near(0, 0), 1.0, ("mon-am",)),), team_size=3, min_trained=1)
    data = TeamsData(problem)
    found = data.best_team(0, None)
    assert found is not None
    assert {problem.carers[c].id for c in found[1]} == {"u1", "u2", "t-near"}
    (team,) = solve(problem, time_limit_s=3, seed=1).assignments
    assert set(team.carers) == {"u1", "u2", "t-near"}


def test_problem_and_result_survive_pickling_for_the_process_pool() -> None:
    problem = generate.teams(30, 10, seed=2)
    result = solve(problem, time_limit_s=2, seed=1)
    assert pickle.loads(pickle.dumps(problem)) == problem  # noqa: S301 - our own bytes, as a process pool sends them
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 - our own bytes
