"""`linli solve visits` and `linli bench visits`: home-visit routing from the command line, on the UHHC benchmark."""

from __future__ import annotations

import gzip
import json
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
