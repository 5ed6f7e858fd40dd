"""Home-visit routing: the independent checker (written from the rules alone; it shares no code with the solver)."""

from __future__ import annotations

from matching.visits_format import Route, VisitsProblem

TOLERANCE = 1e-6


def check(
    problem: VisitsProblem,
    routes: tuple[Route, ...] | list[Route],
    objective: float | None = None,
    *,
    overtime: float | None = None,
    continuity: tuple[int, int] | None = None,
) -> list[str]:
    """Every rule the routes break, and every claimed figure that the rules do not give; empty when valid.

    Times are checked as claimed: a start may be later than the earliest possible (waiting is allowed), never earlier.
    A carer's legs take the matrix's time times their travel factor, and they leave no earlier than their hours open;
    `overtime` (the total past their hours) and `continuity` (visits kept with / moved from their preferred carer)
    are checked when claimed.
    """
    errors: list[str] = []
    carers = {c.id: c for c in problem.carers}
    visits = {v.id: v for v in problem.visits}
    d = problem.travel
    done_by: dict[object, object] = {}
    start_of: dict[object, float] = {}
    total_travel = 0.0
    total_overtime = 0.0
    tardiness: list[float] = []
    seen_carers: set[object] = set()
    for route in routes:
        carer = carers.get(route.caregiver)
        if carer is None:
            errors.append(f"unknown carer {route.caregiver!r}")
            continue
        if route.caregiver in seen_carers:
            errors.append(f"carer {route.caregiver!r} has two routes")
        seen_carers.add(route.caregiver)
        here = carer.start
        factor = carer.travel_factor
        free_at = carer.hours[0] if carer.hours is not None else 0.0
        travel = 0.0
        for stop in route.visits:
            visit = visits.get(stop.visit)
            if visit is None:
                errors.append(f"unknown visit {stop.visit!r} in {route.caregiver!r}'s route")
                continue
            if stop.visit in done_by:
                errors.append(f"visit {stop.visit!r} is done twice")
            done_by[stop.visit] = route.caregiver
            start_of[stop.visit] = stop.start
            if visit.service not in carer.abilities:
                errors.append(f"{route.caregiver!r} cannot give {visit.service!r} (visit {stop.visit!r})")
            leg = d[here][visit.location] * factor
            travel += leg
            arrival = free_at + leg
            if abs(stop.arrival - arrival) > TOLERANCE:
                errors.append(f"visit {stop.visit!r}: arrival {stop.arrival} claimed, the route gives {arrival}")
            if stop.start < arrival - TOLERANCE:
                errors.append(f"visit {stop.visit!r} starts at {stop.start}, before the carer can be there ({arrival})")
            if stop.start < visit.window[0] - TOLERANCE:
                errors.append(f"visit {stop.visit!r} starts at {stop.start}, before its window opens {visit.window[0]}")
            if abs(stop.end - (stop.start + visit.duration)) > TOLERANCE:
                errors.append(f"visit {stop.visit!r}: end {stop.end} is not start + duration")
            late = max(0.0, stop.start - visit.window[1])
            if abs(stop.tardiness - late) > TOLERANCE:
                errors.append(f"visit {stop.visit!r}: tardiness {stop.tardiness} claimed, the rules give {late}")
            tardiness.append(late)
            free_at = stop.start + visit.duration
            here = visit.location
        leg = d[here][carer.end] * factor
        travel += leg
        back = free_at + leg
        if abs(route.back - back) > TOLERANCE:
            errors.append(f"{route.caregiver!r} is back at {route.back} claimed, the route gives {back}")
        over = max(0.0, back - carer.hours[1]) if carer.hours is not None else 0.0
        if abs(route.overtime - over) > TOLERANCE:
            errors.append(f"{route.caregiver!r}: overtime {route.overtime} claimed, the route gives {over}")
        total_overtime += over
        if abs(route.travel - travel) > TOLERANCE:
            errors.append(f"{route.caregiver!r}: travel {route.travel} claimed, the route gives {travel}")
        total_travel += travel
    for v in problem.visits:
        if v.id not in done_by:
            errors.append(f"visit {v.id!r} is not done")
    for link in problem.links:
        a, b = link.first, link.second
        if a not in done_by or b not in done_by:
            continue
        if done_by[a] == done_by[b]:
            errors.append(f"linked visits {a!r} and {b!r} are both done by {done_by[a]!r}; they need two carers")
        gap = start_of[b] - start_of[a]
        low, high = (0.0, 0.0) if link.kind == "simultaneous" else (link.min_delay, link.max_delay)
        if gap < low - TOLERANCE or gap > high + TOLERANCE:
            errors.append(f"{b!r} starts {gap} after {a!r}; the link allows {low} to {high}")
    for pin in problem.pinned:
        if done_by.get(pin.visit) != pin.carer:
            errors.append(f"visit {pin.visit!r} is pinned to {pin.carer!r} but done by {done_by.get(pin.visit)!r}")
    kept = sum(1 for v in problem.visits if v.preferred is not None and done_by.get(v.id) == v.preferred)
    missed = sum(1 for v in problem.visits if v.preferred is not None and v.id in done_by) - kept
    if overtime is not None and abs(overtime - total_overtime) > TOLERANCE:
        errors.append(f"overtime {overtime} claimed, the routes give {total_overtime}")
    if continuity is not None and continuity != (kept, missed):
        errors.append(f"continuity kept/missed {continuity} claimed, the routes give {(kept, missed)}")
    if objective is not None:
        value = (
            total_travel
            + sum(tardiness)
            + max(tardiness, default=0.0)
            + total_overtime
            + problem.continuity_weight * missed
        ) / 3
        if abs(value - objective) > 1e-6 * max(1.0, abs(value)):
            errors.append(f"objective {objective} claimed, the routes give {value}")
    return errors
