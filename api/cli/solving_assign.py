"""`linli solve gap|award|portfolio FILE` and `linli bench gap DIR`: files in, JSON or figures out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import msgspec

from matching import award, gap, portfolio


def solve_file(model: str, path: Path, *, time_limit_s: float, seed: int, work: float | None = None) -> str:
    """Solve one problem file with the named model (gap, award or portfolio); returns the result as JSON text.

    `work` is the search budget in reference seconds (default: a share of the time limit); see the models' solve().
    """
    result: msgspec.Struct
    if model == "gap":
        result = gap.solve(gap.read(path), time_limit_s=time_limit_s, seed=seed, work=work)
    elif model == "award":
        problem = msgspec.json.decode(path.read_bytes(), type=award.AwardProblem)
        result = award.solve(problem, time_limit_s=time_limit_s, seed=seed, work=work)
    elif model == "portfolio":
        problem_p = msgspec.json.decode(path.read_bytes(), type=portfolio.PortfolioProblem)
        result = portfolio.solve(problem_p, time_limit_s=time_limit_s, seed=seed, work=work)
    else:
        raise ValueError(f"unknown assignment model {model!r}; expected gap, award or portfolio")
    return msgspec.json.encode(result).decode()


FORMAT_STRUCTS: dict[str, type[msgspec.Struct]] = {
    "award.schema.json": award.AwardProblem,
    "portfolio.schema.json": portfolio.PortfolioProblem,
}


def format_schemas() -> dict[str, str]:
    """The JSON Schema of each input file format, generated from the structs (docs/formats/ holds copies)."""
    return {
        name: msgspec.json.format(msgspec.json.encode(msgspec.json.schema(struct)), indent=2).decode() + "\n"
        for name, struct in FORMAT_STRUCTS.items()
    }


def write_format_schemas(folder: Path) -> None:
    """Regenerate docs/formats/*.schema.json from the structs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in format_schemas().items():
        (folder / name).write_text(text)


def _bound_rows(folder: Path) -> dict[str, tuple[int, int]]:
    """(best-known lower bound, best-known solution) of each minimisation instance, from bounds.txt."""
    out: dict[str, tuple[int, int]] = {}
    path = folder / "bounds.txt"
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith("_Min"):
            out[parts[0][: -len("_Min")]] = (int(parts[1]), int(parts[2]))
    return out


def read_bounds(folder: Path) -> dict[str, int]:
    """Best-known lower bounds of the minimisation instances, from bounds.txt (`NAME_Min LB UB` rows)."""
    return {name: lb for name, (lb, _) in _bound_rows(folder).items()}


def read_best_known(folder: Path) -> dict[str, int]:
    """Best-known solutions (the literature's upper bounds) of the minimisation instances, from bounds.txt."""
    return {name: ub for name, (_, ub) in _bound_rows(folder).items()}


def instance_files(folder: Path) -> list[Path]:
    """The GAP instance files of a folder (everything but README and bounds), by name."""
    skip = {"bounds.txt", "README.md"}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name not in skip and not p.name.startswith("."))


def bench_gap(folder: Path, *, time_limit_s: float, seed: int, work: float | None = None) -> None:
    """Solve every GAP instance in a folder and print objective, best-known bound and solution, gaps and time."""
    bounds = read_bounds(folder)
    best_known = read_best_known(folder)
    files = instance_files(folder)
    if not files:
        raise SystemExit(f"no GAP instances in {folder}")
    print(
        f"{'instance':<10} {'status':<10} {'objective':>10} {'best_lb':>10} {'gap%':>8} "
        f"{'best_sol':>10} {'vs_sol%':>8} {'own_bound':>10} {'time_s':>7}"
    )
    # gap% is measured against the literature's lower bound (stricter); vs_sol% against its best known solution.
    over_best: list[float] = []
    gaps: list[float] = []
    optimal = 0
    # Runs that the work budget ended (not the wall clock): the same seed and limit give the same plans.
    reproducible = 0
    worst = ("", -1.0)
    t_all = time.perf_counter()
    # Figures on a shared machine mean little without its load; report the 1-minute load average too.
    load_start = os.getloadavg()[0]
    for path in files:
        inst = gap.read(path)
        t0 = time.perf_counter()
        r = gap.solve(inst, time_limit_s=time_limit_s, seed=seed, work=work)
        elapsed = time.perf_counter() - t0
        reproducible += r.reproducible
        lb = bounds.get(path.name)
        lb_text = str(lb) if lb is not None else "-"
        if r.status == "infeasible":
            print(f"{path.name:<10} {r.status:<10} {'-':>10} {lb_text:>10} {'-':>8} {'-':>10} {elapsed:7.2f}")
            continue
        pct = 100.0 * (r.objective - lb) / lb if lb else float("nan")
        ub = best_known.get(path.name)
        vs_best = 100.0 * (r.objective - ub) / ub if ub else float("nan")
        if ub:
            over_best.append(vs_best)
        if lb:
            gaps.append(pct)
            if pct > worst[1]:
                worst = (path.name, pct)
        optimal += r.status == "optimal"
        print(
            f"{path.name:<10} {r.status:<10} {r.objective:>10} {lb_text:>10} {pct:8.3f} {ub or '-':>10} {vs_best:8.3f} "
            f"{r.bound:>10} {elapsed:7.2f}",
            flush=True,
        )
    mean = sum(gaps) / len(gaps) if gaps else float("nan")
    print(
        f"summary: {len(files)} instances, {optimal} proven optimal, {reproducible} reproducible, "
        f"mean gap {mean:.3f}%, "
        f"worst {worst[0]} {worst[1]:.3f}%, worst over the best known solution "
        f"{max(over_best, default=float('nan')):.3f}%, limit {time_limit_s:g}s each, "
        f"total {time.perf_counter() - t_all:.1f}s, "
        f"load average {load_start:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus"
    )
