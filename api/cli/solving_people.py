"""`linli solve roster|teams` and `linli bench roster|teams|churn`: the people models from the command line."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec
import numpy as np
from ortools.sat.python import cp_model

from matching import generate, roster, teams
from matching.common import cpsat_solver
from matching.people_core import build_cpsat

DEFAULT_SIZES = {"roster": "500x1000", "teams": "3000x1000"}
T = TypeVar("T")


def solve_file(model: str, path: Path, *, time_limit_s: float, seed: int, work: float | None = None) -> str:
    """Solve a roster or teams JSON file; returns the result as JSON text (`work`: see the models' solve())."""
    raw = path.read_bytes()
    try:
        if model == "roster":
            problem = msgspec.json.decode(raw, type=roster.RosterProblem)
            return msgspec.json.encode(roster.solve(problem, time_limit_s=time_limit_s, seed=seed, work=work)).decode()
        if model == "teams":
            houses = msgspec.json.decode(raw, type=teams.TeamsProblem)
            return msgspec.json.encode(teams.solve(houses, time_limit_s=time_limit_s, seed=seed, work=work)).decode()
    except msgspec.ValidationError as err:
        raise SystemExit(f"{path}: not a valid {model} problem: {err}") from err
    except msgspec.DecodeError as err:
        raise SystemExit(f"{path}: not JSON: {err}") from err
    raise SystemExit(f"unknown people model {model!r}: use roster or teams")


def parse_size(size: str) -> tuple[int, int]:
    """'500x1000' -> (500, 1000)."""
    a, sep, b = size.lower().partition("x")
    if not sep or not a.strip().isdigit() or not b.strip().isdigit():
        raise SystemExit(f"--size must look like 500x1000, not {size!r}")
    return int(a), int(b)


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = fn()
    global _last_cpu_s
    _last_cpu_s = time.process_time() - c0
    return out, time.perf_counter() - t0


_last_cpu_s = 0.0  # CPU seconds of the last _timed call: on a shared machine wall time alone misleads


def _pct(value: float | None, bound: float) -> str:
    if value is None:
        return "-"
    return f"{100 * value / bound:.2f}%" if bound > 0 else "-"


def _row(name: str, objective: float | None, bound: float, seconds: float, extra: str = "") -> None:
    shown = "no solution" if objective is None else f"{objective:,.0f}"
    print(f"  {name:<22} {shown:>14} {_pct(objective, bound):>9} {seconds:>8.2f} s  {extra}")


def _header(title: str) -> None:
    load = os.getloadavg()[0]
    print(f"{title}  (load average {load:.1f} on {os.cpu_count()} cores)")
    print(f"  {'method':<22} {'objective':>14} {'of bound':>9} {'time':>10}")


def _timings(t: object) -> str:
    return " ".join(f"{k.removesuffix('_s')} {v:.2f}s" for k, v in msgspec.structs.asdict(t).items())  # type: ignore[arg-type]


def bench(kind: str, *, size: str | None, time_limit_s: float, seed: int) -> None:
    """Generate an instance and print objective, greedy, plain CP-SAT, bound, gap and timings side by side."""
    if kind == "roster":
        _bench_roster(*parse_size(size or DEFAULT_SIZES["roster"]), time_limit_s=time_limit_s, seed=seed)
    elif kind == "teams":
        _bench_teams(*parse_size(size or DEFAULT_SIZES["teams"]), time_limit_s=time_limit_s, seed=seed)
    elif kind == "churn":
        which, _, dims = (size or "").rpartition(":")
        if which in ("", "roster"):
            n = parse_size(dims or DEFAULT_SIZES["roster"])
            _churn_roster(*n, time_limit_s=time_limit_s, seed=seed)
        if which in ("", "teams"):
            n = parse_size(dims if which == "teams" else DEFAULT_SIZES["teams"])
            _churn_teams(*n, time_limit_s=time_limit_s, seed=seed)
    elif kind == "spread":
        _bench_spread(*parse_size(size or "300x200"), time_limit_s=time_limit_s, seed=seed)
    else:
        raise SystemExit(f"unknown bench {kind!r}: use roster, teams, churn or spread")


def _bench_spread(nv: int, ns: int, *, time_limit_s: float, seed: int) -> None:
    """A generated roster week with spreading hours off and at 100, side by side: places filled and the Gini of
    hours (over the volunteers proposed, and over every eligible volunteer with zeros included)."""
    problem = generate.roster(nv, ns, seed)
    print(f"spread roster {nv}x{ns}, seed {seed}, time limit {time_limit_s:g} s")
    print(f"  {'spread':>6} {'filled':>7} {'Gini proposed':>14} {'Gini eligible':>14} {'objective':>10} {'penalty':>8}")
    for spread in (0, 100):
        r = roster.solve(msgspec.structs.replace(problem, spread=spread), time_limit_s=time_limit_s, seed=seed)
        print(
            f"  {spread:>6} {len(r.assignments):>7} {r.hours_gini_assigned:>14.4f} {r.hours_gini:>14.4f}"
            f" {r.objective:>10,} {r.spread_penalty:>8,}  {_ended(r)}"
        )


def _ended(result: roster.RosterResult | teams.TeamsResult) -> str:
    """What ended the search: the work budget (the plan is reproducible) or the wall clock."""
    return "work budget spent, reproducible" if result.reproducible else "cut by the clock, not reproducible"


def _bench_roster(nv: int, ns: int, *, time_limit_s: float, seed: int) -> None:
    problem = generate.roster(nv, ns, seed)
    result, ours_s = _timed(lambda: roster.solve(problem, time_limit_s=time_limit_s, seed=seed))
    ours_cpu = _last_cpu_s
    data, data_s = _timed(lambda: roster.RosterData(problem))
    start, greedy_s = _timed(lambda: roster.greedy(data))
    plain, plain_s = _timed(lambda: _plain_roster(data, time_limit_s, seed))
    bound = result.bound
    _header(f"roster {nv}x{ns}, {data.np_:,} eligible pairs, seed {seed}, time limit {time_limit_s:g} s")
    _row("greedy", start.objective(), bound, data_s + greedy_s)
    _row("plain CP-SAT (no hint)", plain[0], bound, data_s + plain_s, f"its bound {plain[1]}")
    detail = f"cpu {ours_cpu:.2f} s; {result.status}; {_ended(result)}; {', '.join(result.phases)}"
    _row("linli", result.objective, bound, ours_s, detail)
    _row("bound", bound, bound, 0.0, f"from {result.bound_source}; gap {100 * result.gap:.2f}%")
    gain = 100 * (result.objective / start.objective() - 1) if start.objective() else math.nan
    print(f"  linli vs greedy: {gain:+.2f}%;  timings: {_timings(result.timings)}")
    print(f"  filled {len(result.assignments):,} places; {len(result.unfilled):,} shifts with open places")


def _plain_solve(
    build: Callable[[], tuple[cp_model.CpModel, T]], time_limit_s: float, seed: int
) -> tuple[cp_model.CpSolver | None, T]:
    """The monolithic model (and what `build` gives with it), built and solved inside the same time limit with no
    hint: the baseline to beat; the solver is None when it found no plan."""
    t0 = time.perf_counter()
    model, extra = build()
    solver = cpsat_solver(max(0.01, time_limit_s - (time.perf_counter() - t0)), seed)
    status = solver.solve(model)
    return (solver if solver.status_name(status) in ("OPTIMAL", "FEASIBLE") else None), extra


def _plain_roster(data: roster.RosterData, time_limit_s: float, seed: int) -> tuple[float | None, str]:
    solver, _ = _plain_solve(lambda: (build_cpsat(data.full_model(), None), None), time_limit_s, seed)
    if solver is None:
        return None, "none"
    return -solver.objective_value, f"{-solver.best_objective_bound:,.0f}"


def _bench_teams(nc: int, nh: int, *, time_limit_s: float, seed: int) -> None:
    problem = generate.teams(nc, nh, seed)
    result, ours_s = _timed(lambda: teams.solve(problem, time_limit_s=time_limit_s, seed=seed))
    ours_cpu = _last_cpu_s
    data, data_s = _timed(lambda: teams.TeamsData(problem))
    start, greedy_s = _timed(lambda: teams.greedy(data))
    plain, plain_s = _timed(lambda: _plain_teams(data, time_limit_s, seed))
    bound = result.bound
    _header(f"teams {nc}x{nh}, {data.np_:,} eligible pairs, seed {seed}, time limit {time_limit_s:g} s")
    greedy_value = sum(data.team_value(h, m) for h, (m, _) in start.items())
    _row("greedy", greedy_value, bound, data_s + greedy_s, f"{len(start)} households covered")
    _row("plain CP-SAT (no hint)", plain[0], bound, data_s + plain_s, f"{plain[1]} covered; its bound {plain[2]}")
    _row(
        "linli",
        result.objective,
        bound,
        ours_s,
        f"{result.covered} covered; cpu {ours_cpu:.2f} s; {_ended(result)}; {', '.join(result.phases)}",
    )
    _row("bound", bound, bound, 0.0, f"from {result.bound_source}; gap {100 * result.gap:.2f}%")
    reasons: dict[str, int] = {}
    for u in result.uncovered:
        reasons[u.why] = reasons.get(u.why, 0) + 1
    print(f"  uncovered: {reasons};  timings: {_timings(result.timings)}")


def _plain_teams(data: teams.TeamsData, time_limit_s: float, seed: int) -> tuple[float | None, int, str]:
    def build() -> tuple[cp_model.CpModel, list[teams.Name]]:
        model, names = teams.full_model(data)
        return build_cpsat(model, None), names

    solver, names = _plain_solve(build, time_limit_s, seed)
    if solver is None:
        return None, 0, "none"
    x = np.array(solver.response_proto.solution, dtype=np.int64).astype(bool)
    return -solver.objective_value, len(teams.decode(names, x)), f"{-solver.best_objective_bound:,.0f}"


def _churn_roster(nv: int, ns: int, *, time_limit_s: float, seed: int) -> None:
    problem = generate.roster(nv, ns, seed)
    first = roster.solve(problem, time_limit_s=time_limit_s, seed=seed)
    plan = [(a.volunteer, a.shift) for a in first.assignments]
    churned = generate.churn_roster(problem, plan, rate=0.03, seed=seed + 1)
    surviving = set(churned.previous)
    again, again_s = _timed(lambda: roster.solve(churned, time_limit_s=time_limit_s, seed=seed))
    fresh_problem = msgspec.structs.replace(churned, previous=())
    fresh, fresh_s = _timed(lambda: roster.solve(fresh_problem, time_limit_s=time_limit_s, seed=seed))
    fresh_pairs = [(a.volunteer, a.shift) for a in fresh.assignments]
    # Score the fresh plan by the same rules, continuity bonus included, so the objectives compare.
    fresh_value = roster.evaluate(churned, fresh_pairs)
    kept = sum((a.volunteer, a.shift) in surviving for a in again.assignments)
    kept_fresh = sum(p in surviving for p in fresh_pairs)
    n = max(1, len(surviving))
    print(f"churn roster {nv}x{ns}: 3% of volunteers and shifts removed; {len(surviving):,} surviving assignments")
    print(
        f"  re-plan from previous: kept {kept:,} ({100 * kept / n:.2f}%), "
        f"objective {again.objective:,}, {again_s:.2f} s"
    )
    print(f"  fresh solve:           kept {kept_fresh:,} ({100 * kept_fresh / n:.2f}%), objective {fresh_value:,}")
    print(f"  (fresh solve's own objective, without continuity: {fresh.objective:,}, {fresh_s:.2f} s)")


def _churn_teams(nc: int, nh: int, *, time_limit_s: float, seed: int) -> None:
    problem = generate.teams(nc, nh, seed)
    first = teams.solve(problem, time_limit_s=time_limit_s, seed=seed)
    plan = [(t.household, list(t.carers)) for t in first.assignments]
    churned = generate.churn_teams(problem, plan, rate=0.03, seed=seed + 1)
    surviving = {(p.household, c) for p in churned.previous for c in p.carers}
    again, again_s = _timed(lambda: teams.solve(churned, time_limit_s=time_limit_s, seed=seed))
    fresh_problem = msgspec.structs.replace(churned, previous=())
    fresh, fresh_s = _timed(lambda: teams.solve(fresh_problem, time_limit_s=time_limit_s, seed=seed))
    fresh_teams = [(t.household, t.carers) for t in fresh.assignments]
    fresh_value = teams.evaluate(churned, fresh_teams)
    kept = sum((t.household, c) in surviving for t in again.assignments for c in t.carers)
    kept_fresh = sum((h, c) in surviving for h, cs in fresh_teams for c in cs)
    n = max(1, len(surviving))
    # A surviving team: its household and all its carers are still there.
    intact = {(p.household, frozenset(p.carers)) for p in churned.previous if len(p.carers) == problem.team_size}
    whole = sum((t.household, frozenset(t.carers)) in intact for t in again.assignments)
    whole_fresh = sum((h, frozenset(cs)) in intact for h, cs in fresh_teams)
    m = max(1, len(intact))
    print(
        f"churn teams {nc}x{nh}: 3% of carers and households removed; {len(intact):,} surviving teams, "
        f"{len(surviving):,} surviving memberships (teams that lost a carer included)"
    )
    print(
        f"  teams kept whole:      re-plan {whole:,} ({100 * whole / m:.2f}%), "
        f"fresh {whole_fresh:,} ({100 * whole_fresh / m:.2f}%)"
    )
    print(
        f"  re-plan from previous: kept {kept:,} ({100 * kept / n:.2f}%), objective {again.objective:,}, "
        f"{again.covered} covered, {again_s:.2f} s"
    )
    print(
        f"  fresh solve:           kept {kept_fresh:,} ({100 * kept_fresh / n:.2f}%), objective {fresh_value:,}, "
        f"{fresh.covered} covered, {fresh_s:.2f} s"
    )


SCHEMA_TYPES: dict[str, tuple[type, type]] = {
    "roster": (roster.RosterProblem, roster.RosterResult),
    "teams": (teams.TeamsProblem, teams.TeamsResult),
}


def schema_text(model: str) -> str:
    """The JSON Schema of a model's input file (its result's shape rides along under $defs), as committed in docs/."""
    problem, result = SCHEMA_TYPES[model]
    (_, _), components = msgspec.json.schema_components((problem, result), ref_template="#/$defs/{name}")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"linli solve {model}: input file",
        "description": f"Input of `linli solve {model} FILE.json`; the output is $defs/{result.__name__}.",
        "$ref": f"#/$defs/{problem.__name__}",
        "$defs": components,
    }
    return msgspec.json.format(msgspec.json.encode(schema), indent=2).decode() + "\n"


def write_schemas(folder: Path) -> None:
    """Regenerate docs/formats/*.schema.json from the structs."""
    folder.mkdir(parents=True, exist_ok=True)
    for model in SCHEMA_TYPES:
        (folder / f"{model}.schema.json").write_text(schema_text(model), encoding="utf-8")
