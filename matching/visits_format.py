"""Home-visit routing: the problem and result structs (shared by the solver and its independent checker)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from matching.common import ResultHeader

Id = int | str
Time = Annotated[float, msgspec.Meta(ge=0)]
Index = Annotated[int, msgspec.Meta(ge=0)]


class Carer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A carer: the services they may give, and the travel-matrix indexes of where their day starts and ends.

    `travel_factor`: this carer's travel time between two points is the matrix's times it (an e-bike rider 1.0, a
    walker e.g. 3.0), and so is the travel the objective counts for them. `hours`: they leave their start point no
    earlier than hours[0]; being back at their end point after hours[1] is overtime, counted like tardiness.
    """

    id: Id
    abilities: tuple[str, ...]
    start: Index
    end: Index
    travel_factor: float = 1.0
    hours: tuple[Time, Time] | None = None


class Visit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One service at an elder's home: how long it takes, when it should start (its window) and where.

    A visit may start after its window closes; the excess is its tardiness. It never starts before the window opens.
    `preferred`: the carer the elder had last time; given by anyone else, it costs the problem's `continuity_weight`.
    """

    id: Id
    patient: Id
    service: str
    duration: Time
    window: tuple[Time, Time]
    location: Index
    preferred: Id | None = None


class Link(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Two visits of one elder that need two different carers: started together ("simultaneous") or the second
    `min_delay` to `max_delay` after the first ("sequential")."""

    first: Id
    second: Id
    kind: Literal["simultaneous", "sequential"] = "simultaneous"
    min_delay: Time = 0.0
    max_delay: Time = 0.0


class Pin(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A visit that must stay with a carer (done, under way, or promised to the elder)."""

    visit: Id
    carer: Id


class VisitsProblem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Carers, visits, the two-carer links and the travel times between the matrix's points (also the distance).

    `continuity_weight`: what a visit given by someone other than its preferred carer adds to the objective's sum
    (in the matrix's time unit, like travel and tardiness; 0 ignores the preferences).
    """

    carers: tuple[Carer, ...]
    visits: tuple[Visit, ...]
    travel: tuple[tuple[Time, ...], ...]
    links: tuple[Link, ...] = ()
    pinned: tuple[Pin, ...] = ()
    continuity_weight: Time = 0.0


class Stop(msgspec.Struct, frozen=True):
    """A visit in a carer's route: when the carer arrives, starts, ends, and how late the start is."""

    visit: Id
    patient: Id
    service: str
    start: float
    end: float
    arrival: float
    tardiness: float


class Route(msgspec.Struct, frozen=True):
    """One carer's day: the stops in order, their travel and when they are back at their end point (and how long
    after their hours close: overtime)."""

    caregiver: Id
    visits: tuple[Stop, ...]
    travel: float
    back: float
    overtime: float = 0.0


class VisitReason(msgspec.Struct, frozen=True):
    """Why a visit went to its carer and starts when it does.

    `able`: the carers who could give the service; `alternative`: the best other carer (for a two-carer visit, the
    best other pair of carers) and what the plan would cost more with it (`alternative_extra`, in objective units);
    `start_set_by`: what fixed the start ("window-opens", "arrival" from the previous stop or the start point,
    "partner" — the linked visit's start through the link's delay); `late_by`: tardiness; `preferred`: the carer
    the elder had last time (kept when it is `caregiver`).
    """

    visit: Id
    caregiver: Id
    able: tuple[Id, ...]
    start_set_by: Literal["window-opens", "arrival", "partner"]
    late_by: float
    alternative: Id | None = None
    alternative_extra: float | None = None
    partner: Id | None = None
    preferred: Id | None = None


class VisitsResult(ResultHeader, frozen=True):
    """The carers' routes, the objective (travel + total tardiness + largest tardiness + overtime + continuity cost)
    / 3 and its parts, reasons. Travel is each carer's own (the matrix's times their factor); the continuity cost is
    the problem's weight times `continuity_missed` (visits with a preferred carer given by someone else).

    `bound` is a proven lower bound on the objective where one is known (CP-SAT on small instances), else 0.
    """

    objective: float
    travel: float = 0.0
    total_tardiness: float = 0.0
    max_tardiness: float = 0.0
    overtime: float = 0.0
    continuity_kept: int = 0
    continuity_missed: int = 0
    routes: tuple[Route, ...] = ()
    reasons: tuple[VisitReason, ...] = ()
    phases: tuple[str, ...] = ()
    iterations: int = 0
