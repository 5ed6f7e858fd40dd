"""Home-visit day plans (issue 14, step 3): the organisation holding a home-care or respite contract plans a day of
visits for the households the contract serves with `matching.visits`, through the one optimiser-run pipeline
(model 'visits', subject a visit day: a contract's day, or a committee's respite day whose visits are its routed
respite requests, api.services.respite_days).

What the plan is made from (docs/optimiser-visits.md, "In the product"):
- Visits: each household visited that day (its registered slots on that weekday; none registered means any daytime
  slot) gets a care visit whose length follows its care level; care levels 5–6 are bathed by two carers at once (two
  linked visits), and care levels 4–6 get a medication visit by a nurse within an hour after the care visit.
- Carers: the organisation's joined, active carers who work that weekday and hold nothing else in their working
  hours that day (a place, a team visit, another contract's visit: their one calendar); abilities are their verified
  certificates. Each leaves their base no earlier than their working day starts; coming back after it ends is
  overtime, which the plan avoids like lateness.
- Travel: the minutes the owner supplied for a pair of points (api.services.travel_times), else haversine ×
  LINLI_VISIT_DETOUR_FACTOR at e-bike speed; a carer on foot takes that times e-bike speed over
  walking speed (rounded up to a tenth, never optimistic). The assumptions are recorded on the day when it is first
  planned.
- Continuity: each visit prefers the carer who gave it last time (checked in; failing that, who was last planned for
  it) on an earlier day of the contract, when that carer works the day; another carer costs the plan
  LINLI_VISIT_CONTINUITY_WEIGHT minutes (recorded on the day too). The board shows who it was and whether kept.
- A re-plan after a sick call keeps checked-in visits where they are (pinned), starts the rest no earlier than the
  call, leaves the absent carer out, and starts the search from the standing plan (fewest changes).
- Pins (plans people can steer, api.services.visit_steering): a visit the organisation pinned to a carer (the one it
  was planned with or another of the day's, at its start, a chosen one or any in its slot) stays with
  them in every later plan of the day (matching.visits.solve: `pinned`), unless the pin can no longer hold (the carer
  is off or busy, cannot give the visit, or the visit is not planned any more): then it is a conflict with its
  reason in the run's summary, never dropped silently.
The written plan is the day's planned visits, each a commitment in its carer's calendar (no double-booking: the
database refuses a clash); the carer sees their stops on their phone, the exact address only through
household_access (audited), and checks in at each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import asyncpg
import msgspec
import structlog

from api.services import audit_log, household_access, maps, notifications, pinning, respite, runs, travel_times
from api.services.accounts import Identity
from api.services.errors import Conflict, DomainError, Invalid, NotFound, found
from api.services.household_access import MaskedHousehold, masked
from api.services.runs import JobQueue
from api.services.types import SHANGHAI
from matching import visits as visits_model
from matching.common import ProgressFn, Timings, haversine_km
from matching.visits_format import Carer, Link, Pin, Route, Stop, Visit, VisitsProblem, VisitsResult
from sql import match_runs as runs_sql
from sql import respite as respite_sql
from sql import visit_pins as pins_sql
from sql import visits as visits_sql
from sql.match_runs import RunRow
from sql.visits import ContractRow, DayCarerRow, DayHouseholdRow, LiveVisitRow, VisitDayRow

log = structlog.get_logger("linli.visits")

ONLY_ORGANISATIONS = "Only the organisation holding the contract plans its visits"
_ONLY_VOLUNTEERS = "Only carers have a day of visits"
MODEL = "visits"
SUBJECT = "visit_day"
TIME_LIMIT_S = 20.0
# Start windows in minutes after midnight (Shanghai): a morning slot, an afternoon slot, any daytime slot.
WINDOWS = {"am": (8 * 60, 11 * 60), "pm": (13 * 60, 16 * 60)}
ANY_TIME = (8 * 60, 16 * 60)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Care visit minutes by care level (none registered: the shortest).
CARE_MINUTES = {None: 45, 1: 45, 2: 45, 3: 60, 4: 60, 5: 75, 6: 75}
TWO_CARERS_FROM_LEVEL = 5
MEDICATION_FROM_LEVEL = 4
MEDICATION_MINUTES = 20
MEDICATION_WITHIN = 60
# Check-in opens this long before a visit starts and closes this long after it ends.
CHECK_IN_OPENS = dt.timedelta(hours=2)
CHECK_IN_CLOSES = dt.timedelta(hours=4)
# The board's map shows households to ~100 m (three decimals): the route's shape, not the door.
MAP_DECIMALS = 3
# "Last time" for continuity: the contract's days this far back.
CONTINUITY_DAYS = 90
# A respite request's start window around the start the committee told the family: the plan starts a visit as early
# as its window and route allow, so the early side is short (a quarter of an hour early is on time to a family); past
# half an hour late it is lateness, which the plan minimises and the board shows in red.
RESPITE_EARLY = 15
RESPITE_LATE = 30
# The second carer's half of a two-carer respite visit: its key is the first half's with this ending.
SECOND_CARER = "b"


class TravelSpeeds(msgspec.Struct, frozen=True):
    """The travel assumptions (and the continuity weight) a new day is planned with (from the settings)."""

    detour_factor: float
    ebike_kmh: float
    walk_kmh: float
    continuity_weight: float = 30.0


def speeds_of(settings: Any) -> TravelSpeeds:
    """The travel assumptions the settings name (LINLI_VISIT_*), for a day planned for the first time."""
    return TravelSpeeds(
        detour_factor=float(settings.visit_detour_factor),
        ebike_kmh=float(settings.visit_speed_ebike_kmh),
        walk_kmh=float(settings.visit_speed_walk_kmh),
        continuity_weight=float(settings.visit_continuity_weight),
    )


def carer_factor(day: VisitDayRow, travel_mode: str) -> float:
    """A carer's travel time over the matrix's (at e-bike speed): 1 on an e-bike, walk_factor on foot."""
    return walk_factor(day.ebike_kmh, day.walk_kmh) if travel_mode == "walk" else 1.0


def walk_factor(ebike_kmh: float, walk_kmh: float) -> float:
    """How much longer a carer on foot takes than the matrix (at e-bike speed): rounded up to a tenth, so never
    optimistic and the model's exact phase keeps few decimals."""
    return max(1.0, math.ceil(round(ebike_kmh / walk_kmh * 10, 6)) / 10)


class PlanDay(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The day to plan (Shanghai)."""

    day: dt.date


class AbsenceCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A carer called in sick: off for the rest of the day."""

    carer_id: int


class DayProblem(msgspec.Struct, frozen=True):
    """What the pipeline hands the solver: the problem and the standing plan to start from."""

    problem: VisitsProblem
    previous: VisitsResult | None = None
    # The organisation's pins the day can keep (checked-in visits are pinned in the problem itself).
    pinned: tuple[Pin, ...] = ()


def solve_day(
    day: DayProblem, *, time_limit_s: float, seed: int, on_progress: ProgressFn | None = None
) -> VisitsResult:
    """matching.visits.solve for a day (a top-level function, so the process pool can pickle it)."""
    return visits_model.solve(
        day.problem,
        time_limit_s=time_limit_s,
        seed=seed,
        previous=day.previous,
        pinned=day.pinned,
        on_progress=on_progress,
    )


class LeftOut(msgspec.Struct, frozen=True):
    """A household's visit the day's plan does not hold, and why (ids only)."""

    household_id: int
    service: str
    why: str


class DayInputs(msgspec.Struct, frozen=True):
    """Everything a day's plan decides from, loaded by the day's id."""

    day: VisitDayRow
    problem: DayProblem
    origin: dt.datetime
    kmh: float
    carers: list[DayCarerRow]
    households: list[DayHouseholdRow]
    # (lat, lon) of each travel-matrix index.
    points: list[tuple[float, float]]
    left_out: list[LeftOut]
    busy: list[int]
    absent: list[int]
    kept: list[str]
    # The organisation's pins no plan of the day can keep, with why (ids only).
    pin_conflicts: list[dict[str, Any]]
    # How many ordered pairs of points the travel matrix took from the owner's supplied travel times.
    supplied_pairs: int = 0
    # visit key → the respite request it gives (a committee's day), written on its planned visit.
    respite_requests: dict[str, int] = {}
    # Each pin as this plan read it (id, carer, start): the board tells a pin made or moved since (still to take
    # effect) from one the plan could not keep.
    pins_read: list[list[Any]] = []

    def digest(self) -> str:
        """A fingerprint of the inputs: equal inputs, equal digest."""
        return hashlib.sha256(msgspec.json.encode([self.problem, self.origin, *self._unkept()])).hexdigest()

    def base_digest(self) -> str:
        """The fingerprint without the standing plan (a plan just written does not make the day a new problem)."""
        parts = [self.problem.problem, self.problem.pinned, self.origin, *self._unkept()]
        return hashlib.sha256(msgspec.json.encode(parts)).hexdigest()

    def _unkept(self) -> list[Any]:
        # A pin no plan can keep changes no model input, yet a re-plan must report it: it counts in the digests
        # (only when there is one, so the digests of days without such pins stay as they were).
        return [self.pin_conflicts] if self.pin_conflicts else []


def household_window(slots: list[str], weekday: int) -> tuple[int, int] | None:
    """A household's start window on a weekday (1 = Monday), in minutes after midnight; None when it takes no visit
    that day (it registered slots, none of them on that day)."""
    if not slots:
        return ANY_TIME
    parts = [s.split("-")[1] for s in slots if s.split("-")[0] == WEEKDAYS[weekday - 1]]
    if not parts:
        return None
    windows = [WINDOWS[p] for p in parts]
    return min(w[0] for w in windows), max(w[1] for w in windows)


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def travel_minutes(a: tuple[float, float], b: tuple[float, float], detour: float, kmh: float) -> float:
    """Travel time between two points: the great-circle distance times the detour factor at a speed, in minutes to a
    tenth (the model's exact phase wants few decimals)."""
    return round(haversine_km(a, b) * detour / kmh * 60, 1)


class _Spec(msgspec.Struct, frozen=True):
    key: str
    household: int
    service: str
    ability: str
    minutes: int
    # Its own start window (minutes after midnight), else the household's of the day.
    window: tuple[int, int] | None = None
    # The respite request it gives (a committee's day).
    request_id: int | None = None
    # The first half's key, on the second half of a two-carer respite visit (the two linked 'simultaneous').
    partner: str | None = None


def _visits_of(h: DayHouseholdRow) -> tuple[list[_Spec], list[tuple[str, str, str]]]:
    """A household's visits of a day (by care level) and their links (first, second, kind).

    Care levels 5–6 are bathed by two carers at once, one of them a nurse who gives the medication during the bath
    (the model links a visit to one other at most, so the medication cannot be a third visit linked to the bath);
    care level 4 gets a nurse's medication visit within an hour after the care visit."""
    level = h.care_level or 0
    care_minutes = CARE_MINUTES.get(h.care_level, 45)
    if level >= TWO_CARERS_FROM_LEVEL:
        bath = [
            _Spec(f"{h.id}:bath1", h.id, "bath", "elderly_carer", care_minutes),
            _Spec(f"{h.id}:bath2", h.id, "bath", "nurse", care_minutes),
        ]
        return bath, [(bath[0].key, bath[1].key, "simultaneous")]
    care = _Spec(f"{h.id}:care", h.id, "care", "elderly_carer", care_minutes)
    if level >= MEDICATION_FROM_LEVEL:
        medication = _Spec(f"{h.id}:medication", h.id, "medication", "nurse", MEDICATION_MINUTES)
        return [care, medication], [(care.key, medication.key, "sequential")]
    return [care], []


def _slot(spec: _Spec, window: tuple[int, int], care_level: int | None) -> tuple[int, int]:
    """A visit's start window in minutes after midnight: its own, else its household's of the day."""
    opens, closes = spec.window or window
    if spec.service == "medication":
        # After the care visit (the link holds it there): it may close an hour after the care visit would.
        closes += CARE_MINUTES.get(care_level, 45) + MEDICATION_WITHIN
    return opens, closes


async def visit_slot(conn: asyncpg.Connection, day: VisitDayRow, household_id: int, key: str) -> tuple[int, int] | None:
    """The start window a plan of the day gives a visit (minutes after midnight, Shanghai), as load_inputs does;
    None when the day plans no such visit."""
    households, requested = await _households_of(conn, day)
    h = next((h for h in households if h.id == household_id), None)
    if h is None:
        return None
    window, specs, _pairs = _household_visits(h, requested, day.day.isoweekday())
    spec = next((s for s in specs if s.key == key), None)
    return None if spec is None or window is None else _slot(spec, window, h.care_level)


async def _households_of(
    conn: asyncpg.Connection, day: VisitDayRow
) -> tuple[list[DayHouseholdRow], dict[int, list[_Spec]] | None]:
    """The households a day plans for and, on a committee's day, the visits their respite requests ask for."""
    if day.committee_id is None:
        return await visits_sql.day_households(conn, day.contract_id), None
    requested = _respite_visits(await respite_sql.routed(conn, day.id), day.certificate or respite.DEFAULT_CERTIFICATE)
    return await respite_sql.routed_households(conn, day.id), requested


def _household_visits(
    h: DayHouseholdRow, requested: dict[int, list[_Spec]] | None, weekday: int
) -> tuple[tuple[int, int] | None, list[_Spec], list[tuple[str, str, str]]]:
    """A household's start window that day (None: no visit that day), its visits and their links: by its care level
    and slots, or as its respite requests ask."""
    if requested is None:
        specs, pairs = _visits_of(h)
        return household_window(h.visit_slots, weekday), specs, pairs
    specs = requested.get(h.id, [])
    return ANY_TIME, specs, [(s.partner, s.key, "simultaneous") for s in specs if s.partner is not None]


def _respite_visits(requests: list[respite_sql.RoutedRow], certificate: str) -> dict[int, list[_Spec]]:
    """A committee's day's visits: each routed respite request a visit of its household by a carer holding the
    certificate the day records, as long as asked, starting from RESPITE_EARLY minutes before the requested start to
    RESPITE_LATE after it; keyed '<household>:respite' (then respite2, …), so the next day's plan finds who gave it
    last time. A request for two carers is two such visits linked 'simultaneous' (two carers arrive together), the
    second keyed with a 'b' ('42:respiteb'), each carer's continuity its own."""
    out: dict[int, list[_Spec]] = {}
    for r in requests:
        specs = out.setdefault(r.household_id, [])
        at = _minutes(r.starts_at.astimezone(SHANGHAI).time())
        number = sum(1 for s in specs if s.partner is None)
        key = f"{r.household_id}:respite{number + 1 if number else ''}"
        window = (max(0, at - RESPITE_EARLY), at + RESPITE_LATE)
        specs.append(_Spec(key, r.household_id, "respite", certificate, r.minutes, window, r.id))
        if r.carers_needed == 2:
            specs.append(
                _Spec(f"{key}{SECOND_CARER}", r.household_id, "respite", certificate, r.minutes, window, r.id, key)
            )
    return out


def _plannable(
    h: DayHouseholdRow, requested: dict[int, list[_Spec]] | None, weekday: int, able_count: dict[str, int],
    kept: set[str],
) -> tuple[tuple[int, int] | None, list[_Spec], list[tuple[str, str, str]], list[LeftOut]]:  # fmt: skip
    """A household's visits a plan of the day holds (none: it plans none there), their start window and links, and
    those it leaves out with why: no slot that day, no present carer able to give it (unless checked in), or, for two
    carers at once who need the same ability, fewer than two present who hold it (both halves left out)."""
    window, specs, pairs = _household_visits(h, requested, weekday)
    if window is None:
        return None, [], pairs, [LeftOut(household_id=h.id, service=s.service, why="no_slot_today") for s in specs]
    need = {s.key: s.ability for s in specs}
    too_few = {
        key
        for first, second, kind in pairs
        if kind == "simultaneous" and need.get(first) == need.get(second) and not {first, second} & kept
        and able_count.get(need[first], 0) == 1
        for key in (first, second)
    }  # fmt: skip
    ok = [s for s in specs if s.key in kept or (able_count.get(s.ability, 0) >= 1 and s.key not in too_few)]
    left_out = [
        LeftOut(household_id=h.id, service=s.service, why="too_few_carers" if s.key in too_few else "no_able_carer")
        for s in specs
        if s not in ok
    ]
    # A medication visit follows its care visit: without the care visit it is not planned either.
    if left_out and not any(s.service in ("care", "bath", "respite") for s in ok):
        return (
            window,
            [],
            pairs,
            left_out + [LeftOut(household_id=h.id, service=s.service, why="no_able_carer") for s in ok],
        )
    return window, ok, pairs, left_out


def _present(everyone: list[DayCarerRow], absent: Collection[int]) -> list[DayCarerRow]:
    """The day's carers neither busy elsewhere nor off sick."""
    return [c for c in everyone if not c.busy and c.id not in absent]


def _able_count(present: list[DayCarerRow]) -> dict[str, int]:
    """How many of the carers present can give each ability."""
    out: dict[str, int] = {}
    for c in present:
        for ability in c.abilities:
            out[ability] = out.get(ability, 0) + 1
    return out


async def load_inputs(conn: asyncpg.Connection, day: VisitDayRow) -> DayInputs:
    """A day's problem: the contract's households' visits (or the committee's routed respite requests), the carers
    working that day, travel as supplied or from coordinates, the checked-in visits pinned and the standing plan as
    the start."""
    households, requested = await _households_of(conn, day)
    everyone = await visits_sql.day_carers(conn, day.organisation_id, day.day, day.id, day.committee_id)
    absent_since = {a.carer_id: a.since for a in await visits_sql.absences(conn, day.id)}
    live = await visits_sql.day_visits(conn, day.id)
    kept_rows = [v for v in live if v.status == "checked_in"]
    busy = [c.id for c in everyone if c.busy]
    present = _present(everyone, absent_since)
    holders = {v.carer_id for v in kept_rows}
    # An absent carer stays in the problem only to hold the visits they already checked in at.
    carers = [c for c in everyone if not c.busy and (c.id not in absent_since or c.id in holders)]
    start_min = min((_minutes(c.work_starts) for c in carers), default=ANY_TIME[0])
    origin = dt.datetime.combine(day.day, dt.time(start_min // 60, start_min % 60), tzinfo=SHANGHAI)
    replan_min: float | None = None
    if day.replan_from is not None:
        replan_min = (day.replan_from - origin).total_seconds() / 60
    # The matrix is at e-bike speed; a walker's legs take walk_factor times as long.
    kmh = day.ebike_kmh
    present_ids = {c.id for c in present}
    last = await visits_sql.last_carers(
        conn, day.contract_id, day.day, day.day - dt.timedelta(days=CONTINUITY_DAYS), day.committee_id
    )
    able_count = _able_count(present)
    kept_by_key = {v.visit_key: v for v in kept_rows}

    def preferred(key: str) -> int | None:
        # Last time's carer, when they can take visits today.
        carer = last.get(key)
        return carer if carer in present_ids else None

    points: list[tuple[float, float]] = []
    # Each point's code in the owner's supplied travel times ('h42', 'c7').
    codes: list[str] = []
    location: dict[int, int] = {}
    visits: list[Visit] = []
    links: list[Link] = []
    left_out: list[LeftOut] = []
    kept_abilities: dict[int, list[str]] = {}
    pins: list[Pin] = []
    weekday = day.day.isoweekday()
    for h in households:
        window, ok, pairs, out = _plannable(h, requested, weekday, able_count, set(kept_by_key))
        left_out += out
        if window is None or not ok:
            continue
        location[h.id] = len(points)
        points.append((h.lat, h.lon))
        codes.append(travel_times.point_code("household", h.id))
        keys = {s.key for s in ok}
        for s in ok:
            kept = kept_by_key.get(s.key)
            if kept is not None:
                # A visit checked in at stays with its carer at the time it began.
                at = max(0.0, (kept.starts_at - origin).total_seconds() / 60)
                service = f"kept{kept.carer_id}"
                kept_abilities.setdefault(kept.carer_id, []).append(service)
                pins.append(Pin(visit=s.key, carer=kept.carer_id))
                visits.append(
                    Visit(id=s.key, patient=h.id, service=service, duration=s.minutes, window=(at, at),
                          location=location[h.id], preferred=preferred(s.key))
                )  # fmt: skip
                continue
            slot = _slot(s, window, h.care_level)
            opens, closes = float(slot[0] - start_min), float(slot[1] - start_min)
            opens = max(0.0, opens if replan_min is None else max(opens, replan_min))
            closes = max(closes, opens)
            visits.append(
                Visit(id=s.key, patient=h.id, service=s.ability, duration=s.minutes, window=(opens, closes),
                      location=location[h.id], preferred=preferred(s.key))
            )  # fmt: skip
        for first, second, kind in pairs:
            if first in keys and second in keys:
                care = CARE_MINUTES.get(h.care_level, 45)
                links.append(
                    Link(first=first, second=second, kind="simultaneous")
                    if kind == "simultaneous"
                    else Link(first=first, second=second, kind="sequential", min_delay=care,
                              max_delay=care + MEDICATION_WITHIN)
                )  # fmt: skip
    problem_carers: list[Carer] = []
    for c in carers:
        base = len(points)
        points.append((c.lat, c.lon))
        codes.append(travel_times.point_code("carer", c.id))
        abilities = tuple(kept_abilities.get(c.id, []))
        if c.id not in absent_since:
            abilities = tuple(sorted(set(c.abilities))) + abilities
        # Their working day in minutes from time 0 (the earliest start of the day's carers).
        opens = float(_minutes(c.work_starts) - start_min)
        hours = (opens, max(opens, float(_minutes(c.work_ends) - start_min)))
        factor = carer_factor(day, c.travel_mode)
        problem_carers.append(
            Carer(id=c.id, abilities=abilities, start=base, end=base, travel_factor=factor, hours=hours)
        )
    # Read on every load (the start's and the worker's alike): a new upload changes the problem, so its digest.
    supplied = await travel_times.day_times(conn, day.organisation_id, day.committee_id)
    travel, supplied_pairs = travel_times.matrix_of(
        codes, supplied, lambda i, j: travel_minutes(points[i], points[j], day.detour_factor, kmh)
    )
    previous = _previous(live, origin) if live else None
    day_pins = await pins_sql.pins(conn, day.id)
    # A checked-in visit's service names its carer: its key is in `checked_in`, so its need is never asked.
    rules = PinRules.of(
        everyone, absent_since, {str(v.id): v.service for v in visits}, {k: v.carer_id for k, v in kept_by_key.items()}
    )
    pinned, pin_conflicts = _keep_pins(day_pins, rules)
    visits = _at_pinned_times(visits, pinned, day_pins, origin, replan_min)
    problem = VisitsProblem(
        carers=tuple(problem_carers), visits=tuple(visits), travel=tuple(travel), links=tuple(links),
        pinned=tuple(pins), continuity_weight=day.continuity_weight,
    )  # fmt: skip
    return DayInputs(
        day=day,
        problem=DayProblem(problem=problem, previous=previous, pinned=tuple(pinned)),
        origin=origin,
        kmh=kmh,
        carers=carers,
        households=[h for h in households if h.id in location],
        points=points,
        left_out=left_out,
        busy=busy,
        absent=sorted(absent_since),
        kept=sorted(kept_by_key),
        pin_conflicts=pin_conflicts,
        supplied_pairs=supplied_pairs,
        respite_requests={
            s.key: s.request_id for specs in (requested or {}).values() for s in specs if s.request_id is not None
        },
        pins_read=[_pin_read(p) for p in day_pins],
    )


def _pin_read(p: pins_sql.VisitPinRow) -> list[Any]:
    """A pin as a plan reads it: its id, carer and start."""
    return [p.id, p.carer_id, None if p.starts_at is None else p.starts_at.isoformat()]


def _at_pinned_times(
    visits: list[Visit], pinned: list[Pin], pins: list[pins_sql.VisitPinRow], origin: dt.datetime,
    replan_min: float | None,
) -> list[Visit]:  # fmt: skip
    """The visits with each kept pin's start as its window; a start before a sick call's re-plan keeps the window
    (the pin still holds the carer), as does a pin without a start (to another carer, any time in the slot)."""
    starts = {p.visit_key: (p.starts_at - origin).total_seconds() / 60 for p in pins if p.starts_at is not None}
    held = {str(p.visit) for p in pinned}
    out = []
    for v in visits:
        at = starts.get(str(v.id))
        if str(v.id) in held and at is not None and at >= 0 and (replan_min is None or at >= replan_min):
            v = msgspec.structs.replace(v, window=(at, at))
        out.append(v)
    return out


class PinRules(msgspec.Struct, frozen=True):
    """What decides whether a plan of a day can keep a visit pinned to a carer: the ability each visit it plans
    needs, the visits checked in (by whom), the carers off or busy, and the abilities of the carers present."""

    needs: dict[str, str]
    checked_in: dict[str, int]
    able: dict[int, frozenset[str]]
    absent: frozenset[int]
    busy: frozenset[int]

    @classmethod
    def of(
        cls, everyone: list[DayCarerRow], absent: Collection[int], needs: dict[str, str], checked_in: dict[str, int]
    ) -> PinRules:
        """The rules of a day from its carers (those off and busy told apart from those present), what each planned
        visit needs and the visits checked in."""
        able = {c.id: frozenset(c.abilities) for c in _present(everyone, absent)}
        busy = frozenset(c.id for c in everyone if c.busy)
        return cls(needs=needs, checked_in=checked_in, able=able, absent=frozenset(absent), busy=busy)

    def refusal(self, visit_key: str, carer_id: int, before: list[tuple[str, int]]) -> str | None:
        """Why no plan can keep the visit pinned to the carer beside the pins (visit key, carer) kept before it:
        the carer is off or busy or not working, the visit is no longer planned, the carer cannot give it, or it is
        the other half of a two-carer visit pinned to the same carer; None: a plan can."""
        if visit_key in self.checked_in:
            return None if self.checked_in[visit_key] == carer_id else "checked_in_by_other"
        if carer_id in self.absent:
            return "carer_absent"
        if carer_id in self.busy or carer_id not in self.able:
            return "carer_unavailable"
        need = self.needs.get(visit_key)
        if need is None:
            return "visit_not_planned"
        if need not in self.able[carer_id]:
            return "carer_not_able"
        pair = _two_carer_visit(visit_key)
        if pair is not None and any(_two_carer_visit(key) == pair and carer == carer_id for key, carer in before):
            return "same_carer_twice"
        return None


def _two_carer_visit(visit_key: str) -> str | None:
    """What both halves of a two-carer visit share ('42:bath', '42:respite2'); None for a visit of one carer."""
    household, part = visit_key.split(":")
    if part.startswith("bath"):
        return f"{household}:bath"
    if part.startswith("respite"):
        return f"{household}:{part.removesuffix(SECOND_CARER)}"
    return None


def _keep_pins(pins: list[pins_sql.VisitPinRow], rules: PinRules) -> tuple[list[Pin], list[dict[str, Any]]]:
    """The organisation's pins the day's plan can keep (a checked-in visit is already kept where it is) and the
    others with why (PinRules.refusal)."""

    def why(p: pins_sql.VisitPinRow, before: list[Pin]) -> str | None:
        return rules.refusal(p.visit_key, p.carer_id, [(str(b.visit), int(b.carer)) for b in before])

    where = lambda p: {"household_id": p.household_id, "carer_id": p.carer_id, "visit_key": p.visit_key}  # noqa: E731
    pairs, conflicts = pinning.keep_pins(pins, lambda p: Pin(visit=p.visit_key, carer=p.carer_id), why, where)
    # A checked-in visit is pinned in the problem already.
    return [x for x in pairs if str(x.visit) not in rules.checked_in], conflicts


async def board_pin_rules(
    conn: asyncpg.Connection, day: VisitDayRow, everyone: list[DayCarerRow], absent: set[int],
    live: list[LiveVisitRow],
) -> PinRules:  # fmt: skip
    """The pin rules of a day as its next plan would load them (load_inputs), from what the board has read: one read
    of the day's households, not one per stop or carer."""
    households, requested = await _households_of(conn, day)
    able_count = _able_count(_present(everyone, absent))
    checked_in = {v.visit_key: v.carer_id for v in live if v.status == "checked_in"}
    weekday = day.day.isoweekday()
    needs = {
        s.key: s.ability
        for h in households
        for s in _plannable(h, requested, weekday, able_count, set(checked_in))[1]
        if s.key not in checked_in
    }
    return PinRules.of(everyone, absent, needs, checked_in)


def _previous(live: list[LiveVisitRow], origin: dt.datetime) -> VisitsResult:
    """The standing plan as the model's previous result (only its sequences matter to the solver)."""
    by_carer: dict[int, list[LiveVisitRow]] = {}
    for v in sorted(live, key=lambda v: (v.carer_id, v.seq)):
        by_carer.setdefault(v.carer_id, []).append(v)

    def rel(t: dt.datetime) -> float:
        return (t - origin).total_seconds() / 60

    routes = tuple(
        Route(
            caregiver=carer_id,
            visits=tuple(
                Stop(
                    visit=v.visit_key,
                    patient=v.household_id,
                    service=v.service,
                    start=rel(v.starts_at),
                    end=rel(v.ends_at),
                    arrival=rel(v.arrives_at),
                    tardiness=v.late_minutes,
                )
                for v in stops
            ),
            travel=0.0,
            back=0.0,
        )
        for carer_id, stops in sorted(by_carer.items())
    )
    return VisitsResult(status="feasible", objective=0.0, bound=0.0, bound_source="trivial", gap=0.0,
                        timings=Timings(), routes=routes)  # fmt: skip


# A day with nothing to plan (msgids; a week's plan reports its days refused so, each with its code).
NO_RESPITE_CARER = "No respite visit of that day can be given by the committee's carers"
NO_HOUSEHOLD_VISIT = "No household of the contract takes a visit that day that its carers can give"
NO_CARER_WORKS = "No carer works that day: add carers or their working days"


class NothingToPlan(Conflict):
    """A day with nothing to plan (409), with a stable code for why ('no_carer', …): a week's plan reports the day
    skipped with it, beside the message."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


def _check(inputs: DayInputs) -> None:
    if not inputs.problem.problem.visits and inputs.day.committee_id is not None:
        raise NothingToPlan(NO_RESPITE_CARER, code="no_respite_carer")
    if not inputs.problem.problem.visits:
        raise NothingToPlan(NO_HOUSEHOLD_VISIT, code="no_household")
    if not inputs.problem.problem.carers:
        raise NothingToPlan(NO_CARER_WORKS, code="no_carer")


def _service_of(key: str) -> str:
    part = key.split(":")[1]
    return next((s for s in ("bath", "respite") if part.startswith(s)), part)


def build_result(inputs: DayInputs, result: VisitsResult) -> dict[str, Any]:
    """The run's summary for pages: figures, the travel assumptions, what was left out and why (ids only)."""
    return {
        "status": result.status,
        "objective": result.objective,
        "travel_minutes": result.travel,
        "total_late_minutes": result.total_tardiness,
        "max_late_minutes": result.max_tardiness,
        "overtime_minutes": result.overtime,
        "continuity_kept": result.continuity_kept,
        "continuity_missed": result.continuity_missed,
        "continuity_weight": inputs.day.continuity_weight,
        "walk_factor": walk_factor(inputs.day.ebike_kmh, inputs.day.walk_kmh),
        "households": len(inputs.households),
        "visits": len(inputs.problem.problem.visits),
        "carers": len(inputs.carers),
        "kmh": inputs.kmh,
        "detour_factor": inputs.day.detour_factor,
        "supplied_pairs": inputs.supplied_pairs,
        "busy_carers": inputs.busy,
        "absent_carers": inputs.absent,
        "kept": inputs.kept,
        "left_out": [msgspec.to_builtins(x) for x in inputs.left_out],
        "pinned": [str(p.visit) for p in inputs.problem.pinned],
        "pin_conflicts": inputs.pin_conflicts,
        "pins_read": inputs.pins_read,
        "conflicts": [{"constraint": c.constraint, "detail": c.detail} for c in result.conflicts],
        "base_digest": inputs.base_digest(),
        "phases": list(result.phases),
    }


def _at(inputs: DayInputs, minutes: float) -> dt.datetime:
    # To the minute: pages show minutes, and a visit's range must not start between two rounding steps.
    return inputs.origin + dt.timedelta(minutes=round(minutes))


async def write_plan(
    conn: asyncpg.Connection, run_id: int, inputs: DayInputs, result: VisitsResult, summary: dict[str, Any]
) -> dict[str, Any]:
    """A run's plan made into the day's planned visits: the visits not checked in are released and written anew, each
    a commitment of its carer (a clash with anything they hold makes the database refuse the write)."""
    if result.status == "infeasible":
        return {"day_id": inputs.day.id, "visits": 0, "status": result.status}
    carers = {c.id: c for c in inputs.carers}
    reasons = {r.visit: r for r in result.reasons}
    # Each leg as the plan was made: the day's matrix (supplied or estimated) times the carer's factor.
    matrix = inputs.problem.problem.travel
    base_of = {int(c.id): c.start for c in inputs.problem.problem.carers}
    location_of = {str(v.id): v.location for v in inputs.problem.problem.visits}
    released = await visits_sql.release_planned(conn, inputs.day.id)
    kept = set(inputs.kept)
    new: list[visits_sql.NewVisit] = []
    for route in result.routes:
        carer = carers[int(route.caregiver)]
        where = base_of[carer.id]
        factor = carer_factor(inputs.day, carer.travel_mode)
        for seq, stop in enumerate(route.visits, start=1):
            key = str(stop.visit)
            household_id = int(stop.patient)
            here = location_of[key]
            leg = round(matrix[where][here] * factor, 1)
            where = here
            if key in kept:
                continue
            why = reasons.get(stop.visit)
            new.append(
                visits_sql.NewVisit(
                    household_id=household_id, carer_id=carer.id, visit_key=key, service=_service_of(key), seq=seq,
                    starts_at=_at(inputs, stop.start), ends_at=_at(inputs, stop.end),
                    arrives_at=min(_at(inputs, stop.arrival), _at(inputs, stop.start)), travel_minutes=leg,
                    late_minutes=round(stop.tardiness, 1), respite_request_id=inputs.respite_requests.get(key),
                    reason={} if why is None else {
                        "able": [int(x) for x in why.able if not str(x).startswith("kept")],
                        "start_set_by": why.start_set_by,
                        "alternative": None if why.alternative is None else int(why.alternative),
                        "alternative_extra": why.alternative_extra,
                        "partner": None if why.partner is None else str(why.partner),
                        "preferred": None if why.preferred is None else int(why.preferred),
                    },
                )
            )  # fmt: skip
    await visits_sql.insert_visits(conn, inputs.day.id, run_id, new)
    await visits_sql.set_day_run(conn, inputs.day.id, run_id)
    told = await _tell_changes(conn, run_id, inputs, released, new) if released else 0
    log.info("visit plan written", run_id=run_id, day_id=inputs.day.id, visits=len(new))
    return {"day_id": inputs.day.id, "visits": len(new), "status": result.status, "notified": told}


async def _tell_changes(
    conn: asyncpg.Connection, run_id: int, inputs: DayInputs, released: list[asyncpg.Record],
    new: list[visits_sql.NewVisit],
) -> int:  # fmt: skip
    """A re-plan tells each carer who has a visit they did not have before (their stops now), and the staff of the
    committee of each household whose visit changed carer or time (they tell the elder); how many were told."""
    before = {(str(r["visit_key"]), int(r["carer_id"]), r["starts_at"]) for r in released}
    changed = [v for v in new if (v.visit_key, v.carer_id, v.starts_at) not in before]
    if not changed:
        return 0
    carers = {c.id: c.volunteer_id for c in inputs.carers}
    accounts = await visits_sql.accounts_of(conn, sorted({carers[v.carer_id] for v in changed}))
    day = inputs.day.day.isoformat()
    told = 0
    for carer_id in sorted({v.carer_id for v in changed}):
        account_id = accounts.get(carers[carer_id])
        if account_id is None:
            continue
        stops = sum(1 for v in new if v.carer_id == carer_id)
        told += await notifications.enqueue(
            conn, account_id=account_id, kind="visits_changed", params={"day": day, "count": stops},
            dedupe_key=f"visits_changed:run:{run_id}:carer:{carer_id}",
        ) is not None  # fmt: skip
    households = {h.id: h for h in inputs.households}
    for household_id in sorted({v.household_id for v in changed}):
        h = households[household_id]
        first = min(v.starts_at for v in changed if v.household_id == household_id)
        shown = masked(h.id, h.committee_id, h.committee_name, h.address)
        for account_id in await household_access.committee_staff(conn, h.committee_id):
            told += await notifications.enqueue(
                conn, account_id=account_id, kind="visit_moved",
                dedupe_key=f"visit_moved:run:{run_id}:household:{household_id}:account:{account_id}",
                params={"day": day, "at": f"{first.astimezone(SHANGHAI):%H:%M}",
                        "household": f"{shown.committee_name} · {shown.masked_address}"},
            ) is not None  # fmt: skip
    return told


def _still_current(latest: RunRow, inputs: DayInputs) -> bool:
    """The standing plan still answers a day whose only change is that plan itself."""
    return (
        latest.status == "succeeded"
        and inputs.day.run_id == latest.id
        and (latest.result or {}).get("base_digest") == inputs.base_digest()
    )


RUNS: runs.RunKind[DayInputs, VisitsResult] = runs.RunKind(
    model=MODEL,
    subject=SUBJECT,
    time_limit_s=TIME_LIMIT_S,
    load=runs.inputs_by_id(visits_sql.get_day, load_inputs, "No such day of visits"),
    solve=solve_day,
    result_type=VisitsResult,
    check=_check,
    describe=lambda inputs: {
        "contract_id": inputs.day.contract_id,
        **({"committee_id": inputs.day.committee_id} if inputs.day.committee_id is not None else {}),
        "day": inputs.day.day.isoformat(),
        "visits": len(inputs.problem.problem.visits),
        "carers": len(inputs.carers),
    },
    summarise=runs.summary_of(build_result),
    apply=write_plan,
    still_current=_still_current,
    # A check-in while the solver ran pins a visit the plan may have moved: the write fails, a new run is needed.
    recheck_on_write=True,
)


# --------------------------------------------------------------------------------------------- the planner


async def _own_contract(conn: asyncpg.Connection, who: Identity, contract_id: int) -> ContractRow:
    organisation_id = who.organisation_id_or_refuse(ONLY_ORGANISATIONS)
    return found(await visits_sql.get_contract(conn, organisation_id, contract_id), "No such home-care contract")


async def contracts(conn: asyncpg.Connection, who: Identity) -> list[ContractRow]:
    """The organisation's live home-care and respite contracts."""
    return await visits_sql.contracts(conn, who.organisation_id_or_refuse(ONLY_ORGANISATIONS))


def plan_subject(
    who: Identity, contract_id: int, form: PlanDay, speeds: TravelSpeeds
) -> Callable[[asyncpg.Connection], Awaitable[int]]:
    """The rule for who may plan which day (the organisation holding the live contract, a day not past), as the
    pipeline's subject hook: the day's id, made on first use. A day's plan and each day of a week's plan start by it."""

    async def day_id(conn: asyncpg.Connection) -> int:
        if form.day < dt.datetime.now(SHANGHAI).date():
            raise Invalid("The day is not valid", fields={"day": "A past day cannot be planned"})
        await _own_contract(conn, who, contract_id)
        return await visits_sql.upsert_day(
            conn, contract_id, form.day, speeds.detour_factor, speeds.ebike_kmh, speeds.walk_kmh,
            speeds.continuity_weight,
        )  # fmt: skip

    return day_id


async def start_plan(
    conn: asyncpg.Connection, queue: JobQueue, who: Identity, contract_id: int, form: PlanDay, speeds: TravelSpeeds
) -> RunRow:
    """The organisation plans (or re-plans) a day of its contract; the same inputs give the same run."""
    return await runs.start(conn, queue, RUNS, who.account_id, plan_subject(who, contract_id, form, speeds))


class StopView(msgspec.Struct, frozen=True):
    """A stop of a carer's day: what, for which household (masked), when, the travel before it and any lateness."""

    id: int
    seq: int
    service: str
    household: MaskedHousehold
    starts_at: dt.datetime
    ends_at: dt.datetime
    arrives_at: dt.datetime
    leave_at: dt.datetime
    travel_minutes: float
    late_minutes: float
    status: str
    checked_in_at: dt.datetime | None


def _stop(v: LiveVisitRow) -> dict[str, Any]:
    """The StopView fields of a planned visit."""
    return {
        "id": v.id, "seq": v.seq, "service": v.service,
        "household": masked(v.household_id, v.committee_id, v.committee_name, v.address), "starts_at": v.starts_at,
        "ends_at": v.ends_at, "arrives_at": v.arrives_at, "leave_at": leave_at(v), "travel_minutes": v.travel_minutes,
        "late_minutes": v.late_minutes, "status": v.status, "checked_in_at": v.checked_in_at,
    }  # fmt: skip


class StopPin(msgspec.Struct, frozen=True):
    """A pin of a stop's visit the stop does not follow: to another carer (or, before the next re-plan, another
    start). `pending`: made after the latest plan started, so the next re-plan takes it up; else the latest plan
    could not keep it (the board lists why)."""

    pin_id: int
    carer_id: int
    carer_name: str
    starts_at: dt.datetime | None
    pending: bool


class CarerChoice(msgspec.Struct, frozen=True):
    """A carer of the day, as the board offers them to pin a visit to."""

    id: int
    name: str


class UnableCarer(msgspec.Struct, frozen=True):
    """A carer of the day a plan could not give a visit to if it were pinned to them, and why (as pin_conflicts)."""

    carer_id: int
    why: str


class BoardStop(StopView, frozen=True):
    """A stop as the planner sees it: on the map (to ~100 m) and why this carer at this time."""

    lat: float
    lon: float
    able: int
    start_set_by: str
    alternative: str | None
    alternative_extra: float | None
    partner: str | None
    pin_id: int | None = None
    # A pin of the visit to another carer or start, still to take effect or not kept.
    repin: StopPin | None = None
    # Continuity: the carer the elder had last time (name) and whether this plan keeps them.
    preferred: str | None = None
    same_carer: bool = False
    # The day's carers the next plan could not give this visit to, were it pinned to them (the pin form marks them).
    unable_carers: list[UnableCarer] = []
    # The respite request the visit gives (a committee's day; None for a contract's visit): the stop's cancel button.
    respite_request_id: int | None = None


class BoardRoute(msgspec.Struct, frozen=True):
    """One carer's day on the board."""

    carer_id: int
    carer_name: str
    travel_mode: str
    work_ends: dt.datetime
    base_lat: float
    base_lon: float
    stops: list[BoardStop]
    travel_minutes: float
    late_minutes: float
    after_hours: bool
    absent: bool
    # Minutes back at the base after the working day ends (the last visit's end plus the way home).
    overtime_minutes: float = 0.0


class LeftOutView(msgspec.Struct, frozen=True):
    """A visit the day's plan does not hold, its household masked, and why."""

    household: MaskedHousehold
    service: str
    why: str


class PinConflictView(msgspec.Struct, frozen=True):
    """A pin the latest plan could not keep, its household masked, and why."""

    pin_id: int
    household: MaskedHousehold
    service: str
    carer_name: str
    why: str


class Board(msgspec.Struct, frozen=True):
    """A visit day (a contract's, or a committee's respite day: then no contract): every carer's route, the latest run
    and its summary, the pins and those not kept."""

    contract: ContractRow | None
    day: dt.date
    day_id: int | None
    routes: list[BoardRoute]
    idle: list[str]
    latest_run: RunRow | None
    left_out: list[LeftOutView]
    pins: list[pins_sql.VisitPinRow] = []
    pin_conflicts: list[PinConflictView] = []
    # Visits with a carer from last time, and how many of them that carer gives again.
    continuity_total: int = 0
    continuity_kept: int = 0
    committee_id: int | None = None
    # The day's carers, whom a visit may be pinned to.
    carers: list[CarerChoice] = []


def leave_at(v: LiveVisitRow) -> dt.datetime:
    """When the carer sets off for a stop: its travel before its start (an early arrival would only wait)."""
    return v.starts_at - dt.timedelta(minutes=math.ceil(v.travel_minutes))


def _round(x: float) -> float:
    return round(x, MAP_DECIMALS)


async def board(conn: asyncpg.Connection, who: Identity, contract_id: int, day: dt.date) -> Board:
    """The planner's board of a contract's day: each carer's stops in order with times, travel and lateness."""
    contract = await _own_contract(conn, who, contract_id)
    row = await visits_sql.day_of(conn, contract_id, day, contract.organisation_id)
    everyone = await visits_sql.day_carers(conn, contract.organisation_id, day, row.id if row else 0)
    return await day_board(conn, row, everyone, day, contract=contract)


async def day_board(
    conn: asyncpg.Connection, row: VisitDayRow | None, everyone: list[DayCarerRow], day: dt.date, *,
    contract: ContractRow | None = None, committee_id: int | None = None,
) -> Board:  # fmt: skip
    """The board of a visit day its caller may see (checked by the caller): the carers' routes, the latest run."""
    if row is None:
        return Board(contract=contract, day=day, day_id=None, routes=[], idle=[c.name for c in everyone],
                     latest_run=None, left_out=[], committee_id=committee_id)  # fmt: skip
    live = await visits_sql.day_visits(conn, row.id)
    absent = {a.carer_id for a in await visits_sql.absences(conn, row.id)}
    names = {c.id: c.name for c in everyone} | {v.carer_id: v.carer_name for v in live}
    by_carer: dict[int, list[LiveVisitRow]] = {}
    for v in live:
        by_carer.setdefault(v.carer_id, []).append(v)
    info = {c.id: c for c in everyone}
    keys = {v.visit_key: v for v in live}
    pins = await pins_sql.pins(conn, row.id)
    pin_of = {(p.visit_key, p.carer_id): p.id for p in pins}
    latest = await runs_sql.latest_run(conn, MODEL, SUBJECT, row.id)
    repins = _repins(live, pins, latest, names)
    rules = await board_pin_rules(conn, row, everyone, absent, live)
    supplied = await travel_times.day_times(conn, row.organisation_id, row.committee_id)
    routes = []
    for carer_id, stops in by_carer.items():
        c = info.get(carer_id)
        ends = dt.datetime.combine(day, c.work_ends if c else dt.time(17, 0), tzinfo=SHANGHAI)
        out = [
            BoardStop(
                **_stop(v), lat=_round(v.lat), lon=_round(v.lon), able=len(v.reason.get("able", [])),
                start_set_by=str(v.reason.get("start_set_by", "")),
                alternative=names.get(v.reason["alternative"]) if v.reason.get("alternative") else None,
                alternative_extra=v.reason.get("alternative_extra"),
                partner=keys[v.reason["partner"]].carer_name if v.reason.get("partner") in keys else None,
                pin_id=pin_of.get((v.visit_key, v.carer_id)), repin=repins.get(v.id),
                preferred=names.get(v.reason["preferred"]) if v.reason.get("preferred") else None,
                same_carer=v.reason.get("preferred") == v.carer_id,
                unable_carers=_unable_carers(rules, v.visit_key, everyone, pins),
                respite_request_id=v.respite_request_id,
            )
            for v in stops
        ]  # fmt: skip
        overtime = 0.0
        if c is not None:
            home = supplied.get(
                (travel_times.point_code("household", stops[-1].household_id), travel_times.point_code("carer", c.id)),
                travel_minutes((stops[-1].lat, stops[-1].lon), (c.lat, c.lon), row.detour_factor, row.ebike_kmh),
            )
            back = stops[-1].ends_at + dt.timedelta(minutes=home * carer_factor(row, c.travel_mode))
            overtime = round(max(0.0, (back - ends).total_seconds() / 60), 1)
        routes.append(
            BoardRoute(
                carer_id=carer_id, carer_name=names.get(carer_id, ""), travel_mode=c.travel_mode if c else "ebike",
                work_ends=ends, base_lat=_round(c.lat) if c else out[0].lat,
                base_lon=_round(c.lon) if c else out[0].lon,
                stops=out, travel_minutes=round(sum(s.travel_minutes for s in out), 1),
                late_minutes=round(sum(s.late_minutes for s in out), 1),
                after_hours=out[-1].ends_at > ends or overtime > 0, absent=carer_id in absent,
                overtime_minutes=overtime,
            )
        )  # fmt: skip
    routes.sort(key=lambda r: (r.carer_name, r.carer_id))
    idle = [c.name for c in everyone if c.id not in by_carer and c.id not in absent]
    left = []
    for x in (latest.result or {}).get("left_out", []) if latest is not None else []:
        household = await household_access.masked_household(conn, int(x["household_id"]))
        if household is not None:
            left.append(LeftOutView(household=household, service=str(x["service"]), why=str(x["why"])))
    preferring = [s for r in routes for s in r.stops if s.preferred is not None]
    return Board(
        contract=contract, day=day, day_id=row.id, routes=routes, idle=idle, latest_run=latest, left_out=left,
        pins=pins, pin_conflicts=await _pin_conflicts(conn, latest, pins, names),
        continuity_total=len(preferring), continuity_kept=sum(1 for s in preferring if s.same_carer),
        committee_id=committee_id, carers=[CarerChoice(id=c.id, name=c.name) for c in everyone],
    )  # fmt: skip


def _unable_carers(
    rules: PinRules, visit_key: str, everyone: list[DayCarerRow], pins: list[pins_sql.VisitPinRow]
) -> list[UnableCarer]:
    """The day's carers a pin of the visit could not hold with, beside the day's other pins."""
    before = [(p.visit_key, p.carer_id) for p in pins if p.visit_key != visit_key]
    out = []
    for c in everyone:
        why = rules.refusal(visit_key, c.id, before)
        if why is not None:
            out.append(UnableCarer(carer_id=c.id, why=why))
    return out


def _repins(
    live: list[LiveVisitRow], pins: list[pins_sql.VisitPinRow], latest: RunRow | None, names: dict[int, str]
) -> dict[int, StopPin]:
    """Planned visit id → the pin of its visit the stop does not follow: to another carer, or to another start the
    latest plan has not read yet."""
    by_key = {p.visit_key: p for p in pins}
    read = {tuple(x) for x in ((latest.result or {}).get("pins_read", []) if latest is not None else [])}
    out = {}
    for v in live:
        p = by_key.get(v.visit_key)
        if p is None:
            continue
        pending = tuple(_pin_read(p)) not in read
        moved = p.starts_at is not None and p.starts_at != v.starts_at
        if p.carer_id != v.carer_id or (pending and moved):
            out[v.id] = StopPin(pin_id=p.id, carer_id=p.carer_id, carer_name=names.get(p.carer_id, p.carer_name),
                                starts_at=p.starts_at, pending=pending)  # fmt: skip
    return out


async def _pin_conflicts(
    conn: asyncpg.Connection, latest: RunRow | None, pins: list[pins_sql.VisitPinRow], names: dict[int, str]
) -> list[PinConflictView]:
    """The pins (still standing) the latest run could not keep, as the board shows them."""
    standing = {p.id: p for p in pins}
    out = []
    for x in (latest.result or {}).get("pin_conflicts", []) if latest is not None else []:
        pin = standing.get(int(x["pin_id"]))
        household = await household_access.masked_household(conn, int(x["household_id"]))
        if pin is not None and household is not None:
            out.append(
                PinConflictView(pin_id=pin.id, household=household, service=_service_of(pin.visit_key),
                                carer_name=names.get(pin.carer_id, pin.carer_name), why=str(x["why"]))
            )  # fmt: skip
    return out


def owner_of(who: Identity) -> tuple[int | None, int | None]:
    """(organisation, committee) whose days and carers the caller steers: exactly one is set."""
    if who.role == "committee":
        return None, who.committee_id_or_refuse(ONLY_ORGANISATIONS)
    return who.organisation_id_or_refuse(ONLY_ORGANISATIONS), None


async def get_run(conn: asyncpg.Connection, who: Identity, run_id: int) -> RunRow:
    """A visits run of one of the organisation's contracts' days, or of the committee's respite days."""
    organisation_id, committee_id = owner_of(who)

    async def own(conn: asyncpg.Connection, day_id: int) -> VisitDayRow | None:
        return await visits_sql.own_day(conn, day_id, organisation_id, committee_id)

    run, _day = found(await runs.find_run(conn, RUNS, run_id, own), "No such visits run")
    return run


async def call_in_sick(
    conn: asyncpg.Connection, queue: JobQueue, who: Identity, day_id: int, form: AbsenceCreate,
    now: dt.datetime | None = None,
) -> RunRow:  # fmt: skip
    """A carer is off for the rest of the day: recorded (audited), and the day re-planned with the visits checked in
    kept and the standing plan as the start. The organisation's contract days and carers, or a committee's own
    respite days and carers (another's day is a 404, another's carer refused beside the field)."""
    organisation_id, committee_id = owner_of(who)
    now = now or dt.datetime.now(dt.UTC)

    async def subject(conn: asyncpg.Connection) -> int:
        day = found(await visits_sql.own_day(conn, day_id, organisation_id, committee_id), "No such day of visits")
        if await visits_sql.get_carer(conn, organisation_id, form.carer_id, day.day, committee_id) is None:
            raise Invalid("The sick call is not valid", fields={"carer_id": "No such carer"})
        if not await visits_sql.add_absence(conn, day.id, form.carer_id, now, who.account_id):
            raise Conflict("This carer is already off for the day")
        await audit_log.record(conn, who, "carer.absent", "carer", form.carer_id, detail={"day_id": day.id})
        return day.id

    return await runs.start(conn, queue, RUNS, who.account_id, subject)


# --------------------------------------------------------------------------------------------- the carer's phone


class PhoneStop(StopView, frozen=True):
    """A stop of the carer's own day: the partner of a two-carer visit, and the name, address and map links only
    while they serve the household (else why not)."""

    partner: str | None = None
    head_name: str | None = None
    address: str | None = None
    navigation: maps.NavigationLinks | None = None
    refusal: str | None = None


class PhoneDay(msgspec.Struct, frozen=True):
    """The carer's phone page: their stops of the day in order, and rosters waiting for their answer."""

    day: dt.date
    stops: list[PhoneStop]
    invitations: list[visits_sql.CarerRow]


async def my_day(
    conn: asyncpg.Connection, who: Identity, day: dt.date, *, daily_cap: int, now: dt.datetime | None = None
) -> PhoneDay:
    """The calling carer's stops of a day, in order; each address is a household view (decided and audited by
    household_access), the rest masked."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    rows = await visits_sql.my_visits(conn, volunteer_id, day)
    partners = {r.id: r.carer_name for r in await visits_sql.partners(conn, [v.id for v in rows])}
    stops = []
    for v in rows:
        base = PhoneStop(**_stop(v), partner=partners.get(v.id))
        try:
            view = await household_access.view_household(conn, who, v.household_id, daily_cap=daily_cap, now=now)
        except DomainError as exc:
            stops.append(msgspec.structs.replace(base, refusal=exc.detail))
            continue
        h = view.household
        stops.append(
            msgspec.structs.replace(
                base,
                head_name=h.head_name,
                address=h.address,
                navigation=maps.navigation_links(h.lat, h.lon, h.address),
            )
        )
    invitations = [r for r in await visits_sql.my_rosters(conn, volunteer_id, day) if r.joined_at is None]
    return PhoneDay(day=day, stops=stops, invitations=invitations)


async def check_in(
    conn: asyncpg.Connection, who: Identity, visit_id: int, now: dt.datetime | None = None
) -> LiveVisitRow:
    """The carer checks in at their stop (from two hours before it starts to four after it ends); audited."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    now = now or dt.datetime.now(dt.UTC)
    async with conn.transaction():
        day = now.astimezone(SHANGHAI).date()
        mine = {v.id: v for v in await visits_sql.my_visits(conn, volunteer_id, day)}
        visit = mine.get(visit_id)
        if visit is None:
            raise NotFound("No such visit of yours today")
        if visit.status == "checked_in":
            raise Conflict("You have already checked in at this visit")
        if not visit.starts_at - CHECK_IN_OPENS <= now <= visit.ends_at + CHECK_IN_CLOSES:
            raise Conflict("Check-in opens two hours before the visit")
        done = await visits_sql.check_in(conn, visit_id, volunteer_id)
        if done is None:
            raise Conflict("You have already checked in at this visit")
        await audit_log.record(
            conn, who, "visit.check_in", "planned_visit", visit_id, detail={"household_id": done[0], "day_id": done[1]}
        )
    return next(v for v in await visits_sql.my_visits(conn, volunteer_id, day) if v.id == visit_id)


def today() -> dt.date:
    """Today in Shanghai."""
    return dt.datetime.now(SHANGHAI).date()


def minutes_label(minutes: float) -> int:
    """Minutes rounded up for pages (a 0.2-minute ride is one minute)."""
    return math.ceil(minutes - 1e-9)
