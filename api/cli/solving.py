"""`linli solve` and `linli bench`: read a problem file or generate instances, run matching/, print JSON."""

from __future__ import annotations

from pathlib import Path

ASSIGNMENT_MODELS = ("gap", "award", "portfolio")
PEOPLE_MODELS = ("roster", "teams")
SOLVE_MODELS = (*ASSIGNMENT_MODELS, *PEOPLE_MODELS, "visits")
BENCH_KINDS = ("gap", "roster", "teams", "churn", "visits")
# The public GAP instances vendored with the repository (their README gives source and licence).
GAP_INSTANCES = Path(__file__).resolve().parents[2] / "tests" / "data" / "gap"


def solve_file(model: str, path: Path, *, time_limit_s: float, seed: int, work: float | None = None) -> str:
    """Solve one problem file with the named model; returns the result as JSON text."""
    if model == "visits":
        from api.cli import solving_visits

        return solving_visits.solve_file(path, time_limit_s=time_limit_s, seed=seed, work=work)
    if model in ASSIGNMENT_MODELS:
        from api.cli import solving_assign

        return solving_assign.solve_file(model, path, time_limit_s=time_limit_s, seed=seed, work=work)
    from api.cli import solving_people

    return solving_people.solve_file(model, path, time_limit_s=time_limit_s, seed=seed, work=work)


def bench(
    kind: str, path: Path | None, *, size: str | None, time_limit_s: float, seed: int, sets: str | None = None
) -> None:
    """Run one benchmark and print its figures."""
    if kind == "visits":
        from api.cli import solving_visits

        solving_visits.bench(path, time_limit_s=time_limit_s, seed=seed, sets=sets)
        return
    if kind == "gap":
        from api.cli import solving_assign

        folder = path or GAP_INSTANCES
        if not (folder / "bounds.txt").is_file():
            raise SystemExit(f"linli bench gap needs a folder of GAP instances with bounds.txt; {folder} has none")
        solving_assign.bench_gap(folder, time_limit_s=time_limit_s, seed=seed)
        return
    from api.cli import solving_people

    solving_people.bench(kind, size=size, time_limit_s=time_limit_s, seed=seed)
