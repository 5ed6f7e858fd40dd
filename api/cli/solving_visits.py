"""`linli solve visits` and `linli bench visits`: home-visit routing from the command line, on the UHHC benchmark."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import msgspec

from matching import visits
from matching.visits_format import Carer, Link, Visit, VisitsProblem

# The public home-care routing instances vendored with the repository (their README gives source and licence).
HHC_INSTANCES = Path(__file__).resolve().parents[2] / "tests" / "data" / "hhc"


def from_uhhc(raw: dict[str, Any]) -> VisitsProblem:
    """A UHHC instance (iolab-uniud/uhhc's unified JSON) as the product's problem: one visit per required service."""
    points = {p["id"]: int(p["distance_matrix_index"]) for p in raw.get("terminal_points", [])}
    carers = tuple(
        Carer(
            id=c["id"],
            abilities=tuple(c["abilities"]),
            start=points[c["departing_point"]],
            end=points[c["arrival_point"]],
        )
        for c in raw["caregivers"]
    )
    visit_list: list[Visit] = []
    links: list[Link] = []
    for p in raw["patients"]:
        (window,) = p["time_windows"]
        services = p["required_services"]
        ids = [p["id"]] if len(services) == 1 else [f"{p['id']}/{i + 1}" for i in range(len(services))]
        for vid, s in zip(ids, services, strict=True):
            visit_list.append(
                Visit(
                    id=vid,
                    patient=p["id"],
                    service=s["service"],
                    duration=float(s["duration"]),
                    window=(float(window["start"]), float(window["end"])),
                    location=int(p["distance_matrix_index"]),
                )
            )
        if len(services) == 2:
            sync = p.get("synchronization") or {"type": "simultaneous"}
            if sync["type"] == "simultaneous":
                links.append(Link(ids[0], ids[1]))
            else:
                gap = sync["distance"]
                links.append(Link(ids[0], ids[1], "sequential", float(gap["min"]), float(gap["max"])))
    travel = tuple(tuple(float(x) for x in row) for row in raw["distances"])
    return VisitsProblem(carers=carers, visits=tuple(visit_list), travel=travel, links=tuple(links))


def read_problem(path: Path) -> VisitsProblem:
    """A problem file: the product's JSON or a UHHC instance (plain or .gz), told apart by their keys."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise SystemExit(f"{path}: not JSON: {err}") from err
    try:
        if isinstance(data, dict) and "caregivers" in data and "patients" in data:
            return from_uhhc(data)
        return msgspec.convert(data, VisitsProblem)
    except (KeyError, TypeError, ValueError, msgspec.ValidationError) as err:
        raise SystemExit(f"{path}: not a valid visits problem: {err}") from err


def solve_file(path: Path, *, time_limit_s: float, seed: int, work: float | None = None) -> str:
    """Solve one visits file; returns the result as JSON text."""
    problem = read_problem(path)
    return msgspec.json.encode(visits.solve(problem, time_limit_s=time_limit_s, seed=seed, work=work)).decode()


def plain_routing(problem: VisitsProblem, time_limit_s: float) -> float | None:
    """What a user would reach for first: OR-Tools' routing library on the same rules, its objective recomputed.

    Time dimension (waiting allowed) with soft upper bounds for tardiness, allowed vehicles by ability, equality and
    offset constraints for the two-carer visits, guided local search. Travel is scaled to integers (x100).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    scale = 100
    m = len(problem.carers)
    # Node 0..m-1: the carers' starts, m..2m-1: their ends, then one node per visit.
    locs = [c.start for c in problem.carers] + [c.end for c in problem.carers] + [v.location for v in problem.visits]
    dur = [0.0] * (2 * m) + [v.duration for v in problem.visits]
    d = problem.travel
    manager = pywrapcp.RoutingIndexManager(len(locs), m, list(range(m)), list(range(m, 2 * m)))
    routing = pywrapcp.RoutingModel(manager)

    def travel_cb(i: int, j: int) -> int:
        a, b = int(manager.IndexToNode(i)), int(manager.IndexToNode(j))
        return round(scale * d[locs[a]][locs[b]])

    def time_cb(i: int, j: int) -> int:
        a, b = int(manager.IndexToNode(i)), int(manager.IndexToNode(j))
        return round(scale * (dur[a] + d[locs[a]][locs[b]]))

    travel_index = routing.RegisterTransitCallback(travel_cb)
    time_index = routing.RegisterTransitCallback(time_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(travel_index)
    horizon = round(scale * (max(v.window[1] for v in problem.visits) * 3 + 1000))
    routing.AddDimension(time_index, horizon, horizon, False, "time")
    times = routing.GetDimensionOrDie("time")
    index = {v.id: i for i, v in enumerate(problem.visits)}
    for i, v in enumerate(problem.visits):
        node = manager.NodeToIndex(2 * m + i)
        times.CumulVar(node).SetMin(round(scale * v.window[0]))
        times.SetCumulVarSoftUpperBound(node, round(scale * v.window[1]), 1)
        allowed = [k for k, c in enumerate(problem.carers) if v.service in c.abilities]
        routing.VehicleVar(node).SetValues(allowed)
    solver = routing.solver()
    for link in problem.links:
        a = manager.NodeToIndex(2 * m + index[link.first])
        b = manager.NodeToIndex(2 * m + index[link.second])
        lo, hi = (0.0, 0.0) if link.kind == "simultaneous" else (link.min_delay, link.max_delay)
        solver.Add(times.CumulVar(b) >= times.CumulVar(a) + round(scale * lo))
        solver.Add(times.CumulVar(b) <= times.CumulVar(a) + round(scale * hi))
        solver.Add(routing.VehicleVar(a) != routing.VehicleVar(b))
    for k in range(m):
        times.CumulVar(routing.Start(k)).SetRange(0, 0)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, round(1000 * time_limit_s)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    # Its plan, re-timed by the rules (earliest starts given the sequences and the links) and scored like ours.
    routes: list[list[int]] = []
    for k in range(m):
        seq = []
        i = solution.Value(routing.NextVar(routing.Start(k)))
        while not routing.IsEnd(i):
            seq.append(manager.IndexToNode(i) - 2 * m)
            i = solution.Value(routing.NextVar(i))
        routes.append(seq)
    return visits.evaluate_routes(problem, routes)


def bench(folder: Path | None, *, time_limit_s: float, seed: int, sets: str | None) -> None:
    """Per instance: our objective, the best known, the gap, the proven bound and its gap, plain OR-Tools routing in
    the same time; per set means."""
    import os
    import time

    folder = folder or HHC_INSTANCES
    known: dict[str, float] = {}
    table = folder / "best_known.tsv"
    if table.is_file():
        for line in table.read_text(encoding="utf-8").splitlines()[1:]:
            name, value, *_ = line.split("\t")
            known[name] = float(value)
    wanted = {s.strip().upper() for s in sets.split(",")} if sets else None
    files = sorted(
        (p for p in folder.glob("*.json*") if wanted is None or p.name[0].upper() in wanted),
        key=lambda p: (p.name[0], int("".join(ch for ch in p.name.split(".")[0] if ch.isdigit()) or 0)),
    )
    if not files:
        raise SystemExit(f"no instances in {folder}" + (f" for sets {sets}" if sets else ""))
    print(
        f"linli bench visits: {len(files)} instances, time limit {time_limit_s:g} s each, seed {seed}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  {'inst':<5} {'linli':>10} {'best known':>10} {'gap':>8} {'bound':>9} {'bnd gap':>8} {'source':<10} "
        f"{'cpu s':>6} {'wall s':>6}  {'status':<9} {'OR-Tools':>10} {'gap':>8}  phases"
    )
    per_set: dict[str, list[tuple[float, float | None, str, float]]] = {}
    for path in files:
        name = path.name.split(".")[0]
        problem = read_problem(path)
        c0, w0 = time.process_time(), time.perf_counter()
        result = visits.solve(problem, time_limit_s=time_limit_s, seed=seed)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        plain = plain_routing(problem, time_limit_s)
        best = known.get(name)
        gap = None if best is None else 100 * (result.objective - best) / best
        # The proven bound against the best known, signed like the gaps: how far below the plans the proof is.
        bound_gap = None if best is None else 100 * (result.bound - best) / best
        plain_gap = None if best is None or plain is None else 100 * (plain - best) / best
        versus = "better" if plain is None or result.objective < plain - 1e-6 else "worse"
        if plain is not None and abs(result.objective - plain) <= 1e-6:
            versus = "equal"
        row = (math.nan if gap is None else gap, plain_gap, versus, math.nan if bound_gap is None else bound_gap)
        per_set.setdefault(name[0], []).append(row)
        print(
            f"  {name:<5} {result.objective:>10.2f} {_num(best):>10} {_pct(gap):>8} {result.bound:>9.2f} "
            f"{_pct(bound_gap):>8} {result.bound_source:<10} {cpu:>6.2f} {wall:>6.2f}  "
            f"{result.status:<9} {_num(plain):>10} {_pct(plain_gap):>8}  {'; '.join(result.phases)}"
            + ("" if result.reproducible else "  (cut by the clock)"),
            flush=True,
        )
    for s, rows in sorted(per_set.items()):
        gaps = [g for g, _, _, _ in rows if not math.isnan(g)]
        plains = [p for _, p, _, _ in rows if p is not None]
        bound_gaps = [b for _, _, _, b in rows if not math.isnan(b)]
        bound_mean = sum(bound_gaps) / len(bound_gaps) if bound_gaps else math.nan
        mean = sum(gaps) / len(gaps) if gaps else math.nan
        worst = max(gaps, default=math.nan)
        plain_mean = f"{sum(plains) / len(plains):+.2f}%" if plains else "-"
        print(
            f"  set {s}: {len(rows)} instances, mean gap {mean:+.2f}%, worst {worst:+.2f}%; bound mean gap "
            f"{bound_mean:+.2f}%; plain OR-Tools mean gap {plain_mean} over the {len(plains)} it solved; linli better "
            f"on {sum(v == 'better' for _, _, v, _ in rows)}, equal on {sum(v == 'equal' for _, _, v, _ in rows)}, "
            f"worse on {sum(v == 'worse' for _, _, v, _ in rows)}"
        )


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _pct(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:+.2f}%"


def schema_text() -> str:
    """The JSON Schema of the visits problem file (the result's shape rides along under $defs), as in docs/formats."""
    (_, _), components = msgspec.json.schema_components(
        (VisitsProblem, visits.VisitsResult), ref_template="#/$defs/{name}"
    )
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "linli solve visits: input file",
        "description": (
            "Input of `linli solve visits FILE.json` (a UHHC benchmark instance is read too, converted); "
            "the output is $defs/VisitsResult."
        ),
        "$ref": "#/$defs/VisitsProblem",
        "$defs": components,
    }
    return msgspec.json.format(msgspec.json.encode(schema), indent=2).decode() + "\n"


def write_schema(folder: Path) -> None:
    """Regenerate docs/formats/visits.schema.json from the structs."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "visits.schema.json").write_text(schema_text(), encoding="utf-8")
