"""Roster and 311 teams: the same seed and work give the same plan on a loaded machine; the clock is a safety net."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest
from click.testing import CliRunner

from api.cli import cli
from matching import generate, roster, teams
from tests.cpu_load import busy_cores

R = TypeVar("R")


def idle_and_loaded(solve: Callable[[], R]) -> tuple[R, R]:
    """The same solve on a quiet machine, then beside busy loops on every core."""
    idle = solve()
    with busy_cores():
        loaded = solve()
    return idle, loaded


def roster_pairs(result: roster.RosterResult) -> list[tuple[str, str]]:
    """The plan as sorted (volunteer, shift) pairs."""
    return sorted((str(a.volunteer), str(a.shift)) for a in result.assignments)


@pytest.mark.slow
def test_roster_same_seed_and_work_give_the_same_plan_under_load() -> None:
    problem = generate.roster(500, 1000, 3)
    idle, loaded = idle_and_loaded(lambda: roster.solve(problem, time_limit_s=60, seed=5, work=2.0))
    # Several neighbourhood rounds ran, so their number and sizes had to come from the work, not the clock.
    assert "lns" in idle.phases
    assert idle.reproducible and loaded.reproducible
    assert loaded.objective == idle.objective
    assert roster_pairs(loaded) == roster_pairs(idle)
    assert loaded.phases == idle.phases


@pytest.mark.slow
def test_roster_clock_cuts_a_budget_the_time_limit_cannot_hold() -> None:
    problem = generate.roster(500, 1000, 3)
    t0 = time.perf_counter()
    result = roster.solve(problem, time_limit_s=1.5, seed=5, work=100.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.5 + 0.5
    assert not result.reproducible
    assert roster.check(problem, result.assignments) == []


def team_sets(result: teams.TeamsResult) -> list[tuple[str, tuple[str, ...]]]:
    """The teams as sorted (household, carers) tuples."""
    return sorted((str(t.household), tuple(sorted(map(str, t.carers)))) for t in result.assignments)


@pytest.mark.slow
def test_teams_same_seed_and_work_give_the_same_teams_under_load() -> None:
    problem = generate.teams(1500, 500, 2)
    idle, loaded = idle_and_loaded(lambda: teams.solve(problem, time_limit_s=60, seed=7, work=2.5))
    assert any(p.startswith("lns rounds") for p in idle.phases)
    assert idle.reproducible and loaded.reproducible
    assert loaded.objective == idle.objective
    assert team_sets(loaded) == team_sets(idle)


@pytest.mark.slow
def test_teams_clock_cuts_a_budget_the_time_limit_cannot_hold() -> None:
    problem = generate.teams(1500, 500, 2)
    t0 = time.perf_counter()
    result = teams.solve(problem, time_limit_s=1.5, seed=7, work=100.0)
    assert time.perf_counter() - t0 < 1.5 + 0.5
    assert not result.reproducible
    assert teams.check(problem, result.assignments) == []


@pytest.mark.slow
def test_linli_solve_with_the_same_seed_and_work_prints_the_same_plan(tmp_path: Path) -> None:
    path = tmp_path / "teams.json"
    path.write_bytes(msgspec.json.encode(generate.teams(600, 200, 5)))
    args = ["solve", "teams", str(path), "--time-limit", "60", "--seed", "4", "--work", "1.5"]
    runs = [CliRunner().invoke(cli, args) for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0]
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["reproducible"] is True
    assert first["assignments"] == second["assignments"]
    assert first["objective"] == second["objective"]
