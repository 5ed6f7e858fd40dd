"""Roster: which volunteers fill which shifts (greedy or repaired start, CP-SAT neighbourhoods, LP bound, checker)."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Literal, NamedTuple

import msgspec
import numpy as np

from matching.common import BoolArray, Budget, Conflict, FloatArray, IntArray, ProgressFn, ResultHeader, haversine_km
from matching.people_core import (
    CpsatCost,
    NeighbourhoodSolver,
    SparseModel,
    SpatialGrid,
    budgeted_cpsat,
    haversine_np,
    lat_lon,
    lp_relaxation,
    near_pairs,
    repeated_ids,
    solve_people,
    subgradient_bound,
    unit_xyz,
)

Id = int | str
LatLon = tuple[float, float]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
CONTINUITY_BONUS = 20
TRAVEL_PER_KM = 5
# A soft preference for reliable people: at most this many points (minutes of value) off a pair, in proportion to the
# volunteer's unreliability, never taking a worthwhile pair to nothing (a ban). Two volunteers otherwise equal, the
# reliable one wins; an unreliable one alone still gets the place.
RELIABILITY_WEIGHT = 10
INITIAL_NEIGHBOURHOOD = 600  # pairs; CP-SAT closes ~300-variable neighbourhoods in ~0.1 s
CELL_KM = 6.0  # grid cell for eligibility blocks
QUICK_ROUND_S = 0.15
WHOLE_MODEL_VARS = 5_000
LP_NEIGHBOURHOOD = 20_000  # pairs in an LP-rounding region: HiGHS solves it in ~0.5 s
ROUND_LIMIT_S = 0.5  # many quick rounds beat few long ones: a neighbourhood CP-SAT cannot close is too big
# Work, in reference seconds (see matching.common.Budget), measured in CPU time on the bench instances:
# CP-SAT rounds on roster neighbourhoods: CPU s = 2.32 x deterministic s + 9.8e-6 x nonzeros (least squares over
# the 97 rounds of two 500 x 1000 solves, a fresh one and a re-plan after churn; the re-plan's neighbourhoods are
# four times larger and cost 0.77 CPU s per 0.17 deterministic s where small ones cost 0.48).
CPSAT_COST = CpsatCost(det_per_s=0.43, s_per_nnz=1e-5)
# The same with spreading hours (hour variables and rows): least squares over the 132 rounds of three solves
# (300 x 200, 150 x 100, 500 x 300, spread 100), CPU s = 2.16 x deterministic s + 2.5e-5 x nonzeros.
SPREAD_CPSAT_COST = CpsatCost(det_per_s=0.46, s_per_nnz=2.5e-5)
# Building the data and the start plan, and the final fill, explanation and checker, per eligible pair
# (10k x 20k, 371k pairs: 1.0 s and 0.55 s; 500 x 1000, 12k pairs: 0.02 s each).
START_S_PER_PAIR = 3e-6
END_S_PER_PAIR = 1.6e-6
# The bookkeeping around one neighbourhood round (sub-model, copies, fill), per pair of the whole problem.
ROUND_S_PER_PAIR = 2.5e-7
EXCLUSION_RULES = ("distance", "skills", "availability", "busy", "max_minutes", "not-worthwhile")
# Spreading hours (RosterProblem.spread, 0-100): a volunteer's first SPREAD_FREE_MINUTES of the week cost nothing;
# every further started hour costs spread x SPREAD_STEP x k / 100 points for the k-th such hour, k capped at
# SPREAD_LEVELS: an increasing marginal cost (convex), at most 40 points an hour at 100 — below an hour's value
# (~60 minus travel), so a place only one person can take is still filled.
SPREAD_FREE_MINUTES = 120
SPREAD_CHUNK = 60
SPREAD_STEP = 10
SPREAD_LEVELS = 4


class Volunteer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A volunteer: where they live, how far they travel, their weekly minutes, skills, availability windows, and
    the times they are already committed elsewhere (blocked: no shift may overlap one)."""

    id: Id
    home: LatLon
    max_km: float
    max_minutes: int
    skills: tuple[str, ...] = ()
    available: tuple[tuple[AwareDatetime, AwareDatetime], ...] = ()
    blocked: tuple[tuple[AwareDatetime, AwareDatetime], ...] = ()
    # Share of their recent places kept (0 to 1, volunteer_reliability in the schema); None: no record yet.
    reliability: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None


class Shift(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A shift: when, where, how many volunteers, which skills every one of them needs."""

    id: Id
    start: AwareDatetime
    end: AwareDatetime
    place: LatLon
    headcount: int
    requires: tuple[str, ...] = ()
    beneficiary: Id | None = None


class RosterProblem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Volunteers, shifts, the last plan's (volunteer, shift) pairs, the pairs a planner pinned (every plan holds
    them) and how strongly to spread hours across volunteers (0: not at all, 100: most)."""

    volunteers: tuple[Volunteer, ...]
    shifts: tuple[Shift, ...]
    previous: tuple[tuple[Id, Id], ...] = ()
    pinned: tuple[tuple[Id, Id], ...] = ()
    spread: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0


class RosterAssignment(msgspec.Struct, frozen=True):
    """One volunteer on one shift, with its score components and the constraints that bind it."""

    volunteer: Id
    shift: Id
    value: int
    minutes: int
    km: float
    travel_penalty: int
    continuity_bonus: int
    skills_matched: tuple[str, ...]
    binding: tuple[str, ...] = ()
    reliability_penalty: int = 0


class Blocker(msgspec.Struct, frozen=True):
    """An eligible volunteer who did not take a free place, and what held them (max_minutes or an overlapping shift)."""

    volunteer: Id
    value: int
    blocked_by: Literal["max_minutes", "overlap", "not-chosen"]
    shift: Id | None = None


class UnfilledShift(msgspec.Struct, frozen=True):
    """Places of a shift left empty: nobody eligible (counted by the first rule that excluded them) or outscored."""

    shift: Id
    places: int
    why: Literal["nobody-eligible", "outscored"]
    excluded_by: dict[str, int] = {}
    blocked: tuple[Blocker, ...] = ()


class DroppedPrevious(msgspec.Struct, frozen=True):
    """A pair of the last plan that the new plan does not keep, and why."""

    volunteer: Id
    shift: Id
    why: str


class RosterResult(ResultHeader, frozen=True):
    """The plan, its objective, a proven bound and where it came from, and reasons for every decision."""

    objective: int
    assignments: tuple[RosterAssignment, ...] = ()
    unfilled: tuple[UnfilledShift, ...] = ()
    previous_kept: int = 0
    previous_dropped: tuple[DroppedPrevious, ...] = ()
    phases: tuple[str, ...] = ()
    # What spreading hours took off the pairs' total value (the objective is the total less this).
    spread_penalty: int = 0
    # How unevenly the plan spreads minutes: the Gini coefficient over every volunteer with an eligible pair,
    # those given nothing included (0: all equal; near 1: a few take everything), and how many those are.
    hours_gini: float = 0.0
    eligible_volunteers: int = 0
    # The same over the volunteers the plan gives any hours (where places are few beside the people who could take
    # them, the figure above stays near 1 whatever the plan does: at best 1 - places / eligible).
    hours_gini_assigned: float = 0.0


def _seconds(t: datetime) -> float:
    # POSIX seconds of an aware datetime; the mapping is monotonic, so containment and overlap tests are preserved.
    return t.timestamp()


def shift_minutes(shift: Shift) -> int:
    """Whole minutes of a shift."""
    return int((shift.end - shift.start) // timedelta(minutes=1))


def travel_penalty(km: float) -> int:
    """floor(5 x km): the travel part of an assignment's value."""
    return math.floor(TRAVEL_PER_KM * km)


def reliability_penalty(volunteer: Volunteer) -> int:
    """floor(10 x (1 - reliability)): what an unreliable record takes off each of the volunteer's pairs."""
    if volunteer.reliability is None:
        return 0
    return math.floor(RELIABILITY_WEIGHT * (1 - volunteer.reliability) + 1e-9)


def pair_value(base: int, penalty: int) -> int:
    """A worthwhile pair's value after the reliability penalty: never below 1, so the penalty never bans."""
    return max(1, base - penalty) if base > 0 else base


def gini(amounts: list[int]) -> float:
    """The Gini coefficient of non-negative amounts (0 when all are equal or there is nothing)."""
    xs = sorted(amounts)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    return sum((2 * i - n + 1) * x for i, x in enumerate(xs)) / (n * total)


def spread_cost(spread: int, k: int) -> int:
    """The cost of a volunteer's k-th started hour beyond the free minutes (k >= 1), nondecreasing in k."""
    return spread * SPREAD_STEP * min(k, SPREAD_LEVELS) // 100


def spread_hours(minutes: int) -> int:
    """Started hours beyond the free minutes: the hours spreading charges for."""
    return -(-max(0, minutes - SPREAD_FREE_MINUTES) // SPREAD_CHUNK)


def spread_penalty(spread: int, minutes: int) -> int:
    """What spreading charges for one volunteer's total minutes of the week (convex in the minutes)."""
    return sum(spread_cost(spread, k) for k in range(1, spread_hours(minutes) + 1))


def exclusion(volunteer: Volunteer, shift: Shift) -> str | None:
    """The first rule that keeps a volunteer off a shift (None if eligible), checked one pair at a time."""
    if haversine_km(volunteer.home, shift.place) > volunteer.max_km:
        return "distance"
    if not set(shift.requires) <= set(volunteer.skills):
        return "skills"
    if not any(a <= shift.start and shift.end <= b for a, b in volunteer.available):
        return "availability"
    if any(a < shift.end and shift.start < b for a, b in volunteer.blocked):
        return "busy"
    if shift_minutes(shift) > volunteer.max_minutes:
        return "max_minutes"
    return None


# --------------------------------------------------------------------------------------------- the checker


def check(problem: RosterProblem, assignments: tuple[RosterAssignment, ...] | list[RosterAssignment]) -> list[str]:
    """Every rule a plan breaks, recomputed from the problem alone (an empty list means the plan is valid)."""
    errors: list[str] = []
    volunteers = {v.id: v for v in problem.volunteers}
    shifts = {s.id: s for s in problem.shifts}
    previous = set(problem.previous)
    seen: set[tuple[Id, Id]] = set()
    per_volunteer: dict[Id, list[Shift]] = defaultdict(list)
    per_shift: dict[Id, int] = defaultdict(int)
    for a in assignments:
        v = volunteers.get(a.volunteer)
        s = shifts.get(a.shift)
        if v is None or s is None:
            errors.append(f"unknown volunteer or shift in {a.volunteer!r} -> {a.shift!r}")
            continue
        if (a.volunteer, a.shift) in seen:
            errors.append(f"{a.volunteer!r} is on {a.shift!r} twice")
            continue
        seen.add((a.volunteer, a.shift))
        km = haversine_km(v.home, s.place)
        if km > v.max_km:
            errors.append(f"{a.volunteer!r} lives {km:.3f} km from {a.shift!r}, beyond max_km {v.max_km}")
        missing = set(s.requires) - set(v.skills)
        if missing:
            errors.append(f"{a.volunteer!r} lacks {sorted(missing)} for {a.shift!r}")
        if not any(start <= s.start and s.end <= end for start, end in v.available):
            errors.append(f"{a.shift!r} is outside every availability window of {a.volunteer!r}")
        if any(start < s.end and s.start < end for start, end in v.blocked):
            errors.append(f"{a.shift!r} overlaps a time {a.volunteer!r} is committed elsewhere")
        bonus = CONTINUITY_BONUS if (a.volunteer, a.shift) in previous else 0
        base = int((s.end - s.start) // timedelta(minutes=1)) - math.floor(TRAVEL_PER_KM * km) + bonus
        value = pair_value(base, reliability_penalty(v))
        if value != a.value:
            errors.append(f"{a.volunteer!r} -> {a.shift!r} claims value {a.value}, the rules give {value}")
        per_volunteer[a.volunteer].append(s)
        per_shift[a.shift] += 1
    for vid, sid in problem.pinned:
        if (vid, sid) not in seen:
            errors.append(f"the plan drops the pinned pair {vid!r} -> {sid!r}")
    for sid, count in per_shift.items():
        if count > shifts[sid].headcount:
            errors.append(f"{sid!r} has {count} volunteers for headcount {shifts[sid].headcount}")
    for vid, taken in per_volunteer.items():
        total = sum(int((s.end - s.start) // timedelta(minutes=1)) for s in taken)
        if total > volunteers[vid].max_minutes:
            errors.append(f"{vid!r} works {total} minutes, over max_minutes {volunteers[vid].max_minutes}")
        taken = sorted(taken, key=lambda s: (s.start, s.end))
        for first, second in itertools.pairwise(taken):
            if second.start < first.end:
                errors.append(f"{vid!r} has overlapping shifts {first.id!r} and {second.id!r}")
    return errors


def evaluate(problem: RosterProblem, pairs: list[tuple[Id, Id]]) -> int:
    """The objective of (volunteer, shift) pairs by the rules: their values, continuity bonus included, less what
    spreading hours charges (feasibility not checked)."""
    volunteers = {v.id: v for v in problem.volunteers}
    shifts = {s.id: s for s in problem.shifts}
    previous = set(problem.previous)
    total = 0
    minutes: dict[Id, int] = defaultdict(int)
    for vid, sid in pairs:
        km = haversine_km(volunteers[vid].home, shifts[sid].place)
        base = shift_minutes(shifts[sid]) - travel_penalty(km) + (CONTINUITY_BONUS if (vid, sid) in previous else 0)
        total += pair_value(base, reliability_penalty(volunteers[vid]))
        minutes[vid] += shift_minutes(shifts[sid])
    return total - sum(spread_penalty(problem.spread, m) for m in minutes.values())


def pin_conflicts(problem: RosterProblem) -> list[Conflict]:
    """Pins no plan can hold: an unknown volunteer or shift, a pair the rules exclude, or pins that together break
    a shift's headcount, a volunteer's minutes or overlap."""
    conflicts: list[Conflict] = []
    volunteers = {v.id: v for v in problem.volunteers}
    shifts = {s.id: s for s in problem.shifts}
    held: list[RosterAssignment] = []
    for vid, sid in dict.fromkeys(problem.pinned):
        v, s = volunteers.get(vid), shifts.get(sid)
        if v is None or s is None:
            missing = "volunteer" if v is None else "shift"
            conflicts.append(Conflict("pinned", f"pin {vid!r} -> {sid!r}: no such {missing}"))
            continue
        rule = exclusion(v, s)
        if rule is None and shift_minutes(s) - travel_penalty(haversine_km(v.home, s.place)) <= 0:
            rule = "not-worthwhile"
        if rule is not None:
            conflicts.append(Conflict("pinned", f"pin {vid!r} -> {sid!r}: {rule}"))
            continue
        held.append(RosterAssignment(vid, sid, 0, shift_minutes(s), 0.0, 0, 0, ()))
    bare = msgspec.structs.replace(problem, previous=(), pinned=())
    for error in check(bare, held):
        if "claims value" not in error:
            conflicts.append(Conflict("pinned", f"pins together: {error}"))
    return conflicts


def validate(problem: RosterProblem) -> list[Conflict]:
    """Data that no plan can satisfy, not even the empty one, or that cannot be read unambiguously."""
    conflicts = repeated_ids(volunteer=[v.id for v in problem.volunteers], shift=[s.id for s in problem.shifts])
    for s in problem.shifts:
        if s.headcount < 0:
            conflicts.append(Conflict("headcount", f"shift {s.id!r} has headcount {s.headcount} < 0"))
        if s.end <= s.start:
            conflicts.append(Conflict("shift times", f"shift {s.id!r} ends before it starts"))
    for v in problem.volunteers:
        if v.max_minutes < 0:
            conflicts.append(Conflict("max_minutes", f"volunteer {v.id!r} has max_minutes {v.max_minutes} < 0"))
    if problem.pinned and not conflicts:
        conflicts += pin_conflicts(problem)
    return conflicts


# --------------------------------------------------------------------------------------------- the data


class RosterData:
    """The problem as arrays, with every eligible (volunteer, shift) pair and its value.

    Pairs are sorted by volunteer, then shift start, so a volunteer's pairs are one slice and overlaps sweep in order.
    """

    def __init__(self, problem: RosterProblem) -> None:
        self.problem = problem
        vols, shifts = problem.volunteers, problem.shifts
        self.nv, self.ns = len(vols), len(shifts)
        self.v_index = {v.id: i for i, v in enumerate(vols)}
        self.s_index = {s.id: j for j, s in enumerate(shifts)}
        v_lat, v_lon = lat_lon([v.home for v in vols])
        s_lat, s_lon = lat_lon([s.place for s in shifts])
        self.v_lat, self.v_lon, self.s_lat, self.s_lon = v_lat, v_lon, s_lat, s_lon
        self.v_xyz = unit_xyz(v_lat, v_lon)
        self.s_xyz = unit_xyz(s_lat, s_lon)
        self.max_km = np.array([v.max_km for v in vols], dtype=np.float64).reshape(-1)
        self.max_min = np.array([v.max_minutes for v in vols], dtype=np.int64).reshape(-1)
        self.v_unreliable = np.array([reliability_penalty(v) for v in vols], dtype=np.int64).reshape(-1)
        self.start = np.array([_seconds(s.start) for s in shifts], dtype=np.float64).reshape(-1)
        self.end = np.array([_seconds(s.end) for s in shifts], dtype=np.float64).reshape(-1)
        self.minutes = np.array([shift_minutes(s) for s in shifts], dtype=np.int64).reshape(-1)
        self.head = np.array([max(0, s.headcount) for s in shifts], dtype=np.int64).reshape(-1)
        self.day = np.floor(self.start / 86400.0).astype(np.int64)
        skill_ids: dict[str, int] = {}
        for v in vols:
            for k in v.skills:
                skill_ids.setdefault(k, len(skill_ids))
        for s in shifts:
            for k in s.requires:
                skill_ids.setdefault(k, len(skill_ids))
        words = max(1, (len(skill_ids) + 62) // 63)
        self.have = np.zeros((self.nv, words), dtype=np.int64)
        self.need = np.zeros((self.ns, words), dtype=np.int64)
        for i, v in enumerate(vols):
            for k in v.skills:
                b = skill_ids[k]
                self.have[i, b // 63] |= 1 << (b % 63)
        for j, s in enumerate(shifts):
            for k in s.requires:
                b = skill_ids[k]
                self.need[j, b // 63] |= 1 << (b % 63)
        k_max = max((len(v.available) for v in vols), default=0)
        self.w_start = np.full((self.nv, max(1, k_max)), np.inf)
        self.w_end = np.full((self.nv, max(1, k_max)), -np.inf)
        for i, v in enumerate(vols):
            for w, (opens, closes) in enumerate(v.available):
                self.w_start[i, w] = _seconds(opens)
                self.w_end[i, w] = _seconds(closes)
        self._pairs()
        self._clique_cache: dict[int, list[list[int]]] = {}

    def _candidates(self) -> tuple[IntArray, IntArray]:
        """Pairs that pass availability, skills, minutes and a chord-distance test, found block by block.

        A block is the availability windows of the volunteers living in one grid cell that touch one day, against
        the shifts starting that day in nearby cells: time is the most selective rule, so it is tested densely
        on small blocks rather than on millions of spatial candidates.
        """
        w_v = np.repeat(np.arange(self.nv), np.isfinite(self.w_start).sum(axis=1))
        finite = np.isfinite(self.w_start)
        w_s, w_e = self.w_start[finite], self.w_end[finite]
        first, last = np.floor(w_s / 86400.0).astype(np.int64), np.floor(w_e / 86400.0).astype(np.int64)
        span = np.maximum(last - first + 1, 0)
        # A window that reaches over several days is one row per day it touches.
        row_w = np.repeat(np.arange(w_s.shape[0]), span)
        row_day = first[row_w] + (np.arange(row_w.shape[0]) - np.repeat(np.cumsum(span) - span, span))
        row_v = w_v[row_w]
        cell_km = CELL_KM
        grid_s = SpatialGrid(self.s_xyz, cell_km)
        v_cells = np.floor(self.v_xyz / cell_km).astype(np.int64)
        order = np.lexsort((row_day, v_cells[row_v, 2], v_cells[row_v, 1], v_cells[row_v, 0]))
        row_w, row_day, row_v = row_w[order], row_day[order], row_v[order]
        keys = v_cells[row_v]
        cut = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
        out_v: list[IntArray] = []
        out_s: list[IntArray] = []
        for block in np.split(np.arange(row_w.shape[0]), cut) if row_w.shape[0] else []:
            k = keys[block[0]]
            radius = float(self.max_km[row_v[block]].max()) + 1e-6
            cands = grid_s.near((int(k[0]), int(k[1]), int(k[2])), radius)
            if cands.shape[0] == 0:
                continue
            cands = cands[np.argsort(self.day[cands], kind="stable")]
            c_day = self.day[cands]
            days = row_day[block]
            for d in np.unique(days).tolist():
                rows = block[days == d]
                a, b = np.searchsorted(c_day, [d, d + 1])
                if a == b:
                    continue
                c = cands[a:b]
                # Time densely (the most selective rule), then the rest on the survivors only.
                ii, jj = np.nonzero(
                    (w_s[row_w[rows]][:, None] <= self.start[c][None, :])
                    & (self.end[c][None, :] <= w_e[row_w[rows]][:, None])
                )
                v, sj = row_v[rows][ii], c[jj]
                ok = self.minutes[sj] <= self.max_min[v]
                ok &= np.all((self.need[sj] & ~self.have[v]) == 0, axis=1)
                diff = self.v_xyz[v] - self.s_xyz[sj]
                ok &= np.einsum("ij,ij->i", diff, diff) <= (self.max_km[v] + 1e-6) ** 2
                out_v.append(v[ok])
                out_s.append(sj[ok])
        if not out_v:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        # Two windows of one volunteer may both hold a shift: keep each pair once.
        key = np.sort(np.concatenate(out_v) * max(self.ns, 1) + np.concatenate(out_s))
        if key.shape[0]:
            key = key[np.append(True, key[1:] != key[:-1])]
        return key // max(self.ns, 1), key % max(self.ns, 1)

    def _unblocked(self, vi: IntArray, sj: IntArray) -> BoolArray:
        """Whether each pair's shift stays clear of every time its volunteer is committed elsewhere."""
        ok = np.ones(vi.shape[0], dtype=bool)
        for i, v in enumerate(self.problem.volunteers):
            if not v.blocked:
                continue
            mine = np.flatnonzero(vi == i)
            b_start = np.array([_seconds(a) for a, _ in v.blocked], dtype=np.float64)
            b_end = np.array([_seconds(b) for _, b in v.blocked], dtype=np.float64)
            s_start, s_end = self.start[sj[mine]], self.end[sj[mine]]
            clash = np.any((b_start[None, :] < s_end[:, None]) & (s_start[:, None] < b_end[None, :]), axis=1)
            ok[mine[clash]] = False
        return ok

    def _pairs(self) -> None:
        vi, sj = self._candidates()
        free = self._unblocked(vi, sj)
        vi, sj = vi[free], sj[free]
        km = haversine_np(self.v_lat[vi], self.v_lon[vi], self.s_lat[sj], self.s_lon[sj])
        # Where float noise could flip a comparison or a floor, the scalar formula the checker uses decides.
        frac = TRAVEL_PER_KM * km - np.floor(TRAVEL_PER_KM * km)
        edgy = (np.abs(km - self.max_km[vi]) < 1e-7) | (frac < 1e-7) | (frac > 1 - 1e-7)
        vols, shifts = self.problem.volunteers, self.problem.shifts
        for p in np.nonzero(edgy)[0].tolist():
            km[p] = haversine_km(vols[int(vi[p])].home, shifts[int(sj[p])].place)
        within = km <= self.max_km[vi]
        vi, sj, km = vi[within], sj[within], km[within]
        prev = np.zeros(vi.shape[0], dtype=bool)
        prev_keys = [
            self.v_index[v] * self.ns + self.s_index[s]
            for v, s in self.problem.previous
            if v in self.v_index and s in self.s_index
        ]
        if prev_keys:
            prev = np.isin(vi * self.ns + sj, np.array(prev_keys, dtype=np.int64))
        penalty = np.floor(TRAVEL_PER_KM * km).astype(np.int64)
        value = self.minutes[sj] - penalty + CONTINUITY_BONUS * prev.astype(np.int64)
        self.unworthy_shifts = np.unique(sj[value <= 0])
        worth = value > 0
        vi, sj, km, prev, penalty, value = vi[worth], sj[worth], km[worth], prev[worth], penalty[worth], value[worth]
        # The reliability preference, after worthiness: it orders people, it never removes a pair (pair_value).
        kept = np.maximum(1, value - self.v_unreliable[vi])
        unreliable, value = value - kept, kept
        order = np.lexsort((self.end[sj], self.start[sj], vi))
        self.pv, self.ps = vi[order], sj[order]
        self.km, self.prev, self.penalty, self.value = km[order], prev[order], penalty[order], value[order]
        self.unreliable = unreliable[order]
        self.np_ = int(self.pv.shape[0])
        self.vptr = np.searchsorted(self.pv, np.arange(self.nv + 1))
        self.p_start, self.p_end = self.start[self.ps], self.end[self.ps]
        self.p_min = self.minutes[self.ps]
        self.pin = np.zeros(self.np_, dtype=bool)
        pin_keys = [
            self.v_index[v] * self.ns + self.s_index[s]
            for v, s in self.problem.pinned
            if v in self.v_index and s in self.s_index
        ]
        if pin_keys:
            self.pin = np.isin(self.pv * self.ns + self.ps, np.array(pin_keys, dtype=np.int64))
        # Spreading hours: the penalty of n started hours beyond the free minutes, for every n a plan can reach.
        self.spread = self.problem.spread
        most = int(self.max_min.max()) if self.nv else 0
        if self.np_:
            most = max(most, int(np.bincount(self.pv, weights=self.p_min, minlength=self.nv).max()))
        hours = spread_hours(most) + 1
        costs = [spread_cost(self.spread, k) for k in range(1, hours + 1)]
        self.spread_cum = np.concatenate(([0], np.cumsum(costs, dtype=np.int64))).astype(np.int64)
        self.spread_cum_l: list[int] = self.spread_cum.tolist()

    def hours_of(self, minutes: IntArray) -> IntArray:
        """Started hours beyond the free minutes (spread_hours), vectorised."""
        return np.asarray(-(-np.maximum(0, minutes - SPREAD_FREE_MINUTES) // SPREAD_CHUNK), dtype=np.int64)

    def penalty_of(self, minutes: IntArray) -> IntArray:
        """What spreading charges for each volunteer's total minutes (spread_penalty, vectorised)."""
        return np.asarray(self.spread_cum[self.hours_of(minutes)], dtype=np.int64)

    def marginal(self, used: int, minutes: int) -> int:
        """What spreading charges for `minutes` more on top of `used` (nondecreasing in `used`: convex)."""
        if not self.spread:
            return 0
        cum = self.spread_cum_l
        return cum[spread_hours(used + minutes)] - cum[spread_hours(used)]

    def objective(self, x: BoolArray) -> int:
        """The pairs' total value less what spreading hours charges."""
        total = int(self.value[x].sum())
        if self.spread:
            total -= self.spread_penalty(x)
        return total

    def spread_penalty(self, x: BoolArray) -> int:
        """What spreading hours charges for a plan."""
        if not self.spread:
            return 0
        used = np.bincount(self.pv[x], weights=self.p_min[x], minlength=self.nv).astype(np.int64)
        return int(self.penalty_of(used).sum())

    def add_spread(
        self, model: SparseModel, groups: list[tuple[int, IntArray, IntArray, int]]
    ) -> tuple[IntArray, IntArray]:
        """Spreading hours in a model; returns the volunteer and the hour of each variable added.

        `groups`: per volunteer, their pair variables, those pairs' minutes, and their minutes fixed outside the
        model. Each started hour that costs anything is a 0-1 variable, and the row `minutes of
        the volunteer's variables - 60 x hours <= free minutes - fixed minutes` holds them: the costs rise with
        the hour, so the cheapest hours are taken first and the model's value is exactly the plan's (its LP
        relaxes the penalty convexly).
        """
        costs = np.diff(self.spread_cum)
        free_hours = int(np.count_nonzero(costs == 0))
        values: list[IntArray] = [model.values]
        owner: list[int] = []
        hour: list[int] = []
        n = model.n
        for v, variables, minutes, held in groups:
            reach = min(held + int(minutes.sum()), int(self.max_min[v]))
            hours = spread_hours(reach) - free_hours
            if hours <= 0:
                continue
            ks = np.arange(free_hours + 1, free_hours + hours + 1, dtype=np.int64)
            model.add_row(
                np.concatenate((variables, np.arange(n, n + hours, dtype=np.int64))),
                np.concatenate((minutes, np.full(hours, -SPREAD_CHUNK, dtype=np.int64))),
                -math.inf,
                float(SPREAD_FREE_MINUTES + SPREAD_CHUNK * free_hours - held),
            )
            values.append(-costs[ks - 1])
            owner += [v] * hours
            hour += ks.tolist()
            n += hours
        model.values = np.concatenate(values).astype(np.int64)
        return np.array(owner, dtype=np.int64), np.array(hour, dtype=np.int64)

    def spread_hint(self, x: BoolArray, owner: IntArray, hour: IntArray) -> BoolArray:
        """The hour variables a full plan needs (its cheapest hours), for a hint or a start."""
        used = np.bincount(self.pv[x], weights=self.p_min[x], minlength=self.nv).astype(np.int64)
        return np.asarray(hour <= self.hours_of(used)[owner], dtype=bool)

    def cliques(self, v: int) -> list[list[int]]:
        """Maximal sets of a volunteer's pairs whose shifts overlap at one moment (an interval-graph sweep)."""
        hit = self._clique_cache.get(v)
        if hit is not None:
            return hit
        out: list[list[int]] = []
        a, b = int(self.vptr[v]), int(self.vptr[v + 1])
        starts = self.p_start[a:b].tolist()
        ends = self.p_end[a:b].tolist()
        active: list[tuple[float, int]] = []
        added = False
        for k in range(b - a):
            st = starts[k]
            if active and active[0][0] <= st:
                if added and len(active) >= 2:
                    out.append([q for _, q in active])
                added = False
                while active and active[0][0] <= st:
                    heapq.heappop(active)
            heapq.heappush(active, (ends[k], a + k))
            added = True
        if added and len(active) >= 2:
            out.append([q for _, q in active])
        self._clique_cache[v] = out
        return out

    def full_model(self) -> SparseModel:
        """Every eligible pair as a variable: headcount, minutes and no-overlap (as cliques)."""
        model = SparseModel(values=self.value.copy())
        by_shift = np.argsort(self.ps, kind="stable")
        s_ptr = np.searchsorted(self.ps[by_shift], np.arange(self.ns + 1))
        for j in range(self.ns):
            a, b = int(s_ptr[j]), int(s_ptr[j + 1])
            if b - a > self.head[j]:
                model.add_row(by_shift[a:b], np.ones(b - a, dtype=np.int64), -math.inf, float(self.head[j]))
        for v in range(self.nv):
            a, b = int(self.vptr[v]), int(self.vptr[v + 1])
            if b > a and int(self.p_min[a:b].sum()) > self.max_min[v]:
                model.add_row(np.arange(a, b), self.p_min[a:b].copy(), -math.inf, float(self.max_min[v]))
            for clique in self.cliques(v):
                model.add_at_most_one(np.array(clique, dtype=np.int64))
        if self.spread:
            groups = [
                (v, np.arange(a, b, dtype=np.int64), self.p_min[a:b], 0)
                for v, a, b in zip(range(self.nv), self.vptr[:-1].tolist(), self.vptr[1:].tolist(), strict=True)
                if b > a
            ]
            self.add_spread(model, groups)
        return model

    def trivial_bound(self) -> float:
        """Each shift's best `headcount` values, summed: an upper bound that needs no solver."""
        if self.np_ == 0:
            return 0.0
        order = np.lexsort((-self.value, self.ps))
        ps = self.ps[order]
        first = np.searchsorted(ps, ps, side="left")
        rank = np.arange(ps.shape[0]) - first
        return float(self.value[order][rank < self.head[ps]].sum())


# --------------------------------------------------------------------------------------------- starts


class Plan:
    """A feasible plan over the eligible pairs, kept with the running counts that make moves cheap to test."""

    def __init__(self, data: RosterData, x: BoolArray | None = None) -> None:
        self.data = data
        self.x = np.zeros(data.np_, dtype=bool) if x is None else x.copy()

    def objective(self) -> int:
        """Total value, less what spreading hours charges."""
        return self.data.objective(self.x)

    def fill(self, order: IntArray) -> None:
        """Add pairs in the given order wherever every rule still allows."""
        d = self.data
        count = np.bincount(d.ps[self.x], minlength=d.ns)
        used = np.bincount(d.pv[self.x], weights=d.p_min[self.x], minlength=d.nv).astype(np.int64)
        # Pairs whose shift is already full or whose volunteer has no minutes left can be dropped up front.
        order = order[~self.x[order] & (count[d.ps[order]] < d.head[d.ps[order]])]
        order = order[used[d.pv[order]] + d.p_min[order] <= d.max_min[d.pv[order]]]
        order = order[~self._overlaps_taken(order)]
        if order.shape[0] == 0:
            return
        busy: list[list[tuple[float, float]]] = [[] for _ in range(d.nv)]
        for p in np.nonzero(self.x)[0].tolist():
            busy[int(d.pv[p])].append((float(d.p_start[p]), float(d.p_end[p])))
        room = (d.head - count).tolist()
        left = (d.max_min - used).tolist()
        pv, ps = d.pv[order].tolist(), d.ps[order].tolist()
        st_l, en_l, mn_l = d.p_start[order].tolist(), d.p_end[order].tolist(), d.p_min[order].tolist()
        val_l, max_l = d.value[order].tolist(), d.max_min.tolist()
        taken = []
        for k in range(len(pv)):
            s = ps[k]
            if room[s] <= 0:
                continue
            v = pv[k]
            m = mn_l[k]
            if m > left[v]:
                continue
            if d.spread and val_l[k] <= d.marginal(max_l[v] - left[v], m):
                continue  # spreading hours: this volunteer's next hours cost more than the pair is worth
            st, en = st_l[k], en_l[k]
            clash = False
            for a, b in busy[v]:
                if a < en and st < b:
                    clash = True
                    break
            if clash:
                continue
            taken.append(k)
            room[s] -= 1
            left[v] -= m
            busy[v].append((st, en))
        self.x[order[np.array(taken, dtype=np.int64)]] = True

    def _overlaps_taken(self, cand: IntArray) -> BoolArray:
        """Whether each candidate pair overlaps a shift its volunteer already works (vectorised).

        A volunteer's taken shifts never overlap each other, so sorted by start they are sorted by end too, and
        only the taken shift just before and just after a candidate can overlap it.
        """
        d = self.data
        taken = np.nonzero(self.x)[0]  # already sorted by (volunteer, start)
        if taken.shape[0] == 0 or cand.shape[0] == 0:
            return np.zeros(cand.shape[0], dtype=bool)
        t_v, t_start, t_end = d.pv[taken], d.p_start[taken], d.p_end[taken]
        # Position of each candidate among the taken pairs, ordered by (volunteer, start).
        scale = float(max(np.abs(d.p_start).max(), np.abs(d.p_end).max())) * 4 + 1
        key_t = t_v * scale + t_start
        key_c = d.pv[cand] * scale + d.p_start[cand]
        pos = np.searchsorted(key_t, key_c, side="right")
        clash = np.zeros(cand.shape[0], dtype=bool)
        before = pos - 1
        ok = before >= 0
        b = before[ok]
        clash[ok] |= (t_v[b] == d.pv[cand[ok]]) & (t_end[b] > d.p_start[cand[ok]])
        ok = pos < taken.shape[0]
        a = pos[ok]
        clash[ok] |= (t_v[a] == d.pv[cand[ok]]) & (t_start[a] < d.p_end[cand[ok]])
        return clash


def fair_fill(plan: Plan) -> None:
    """Spreading hours: add the pair of best value less its marginal spreading cost first, the cost recomputed as
    the volunteer's hours grow (lazily: a cost only rises, so a stale key is an optimistic one)."""
    d = plan.data
    count = np.bincount(d.ps[plan.x], minlength=d.ns).tolist()
    used = np.bincount(d.pv[plan.x], weights=d.p_min[plan.x], minlength=d.nv).astype(np.int64).tolist()
    busy: list[list[tuple[float, float]]] = [[] for _ in range(d.nv)]
    for p in np.nonzero(plan.x)[0].tolist():
        busy[int(d.pv[p])].append((float(d.p_start[p]), float(d.p_end[p])))
    pv, ps, mins, values = d.pv.tolist(), d.ps.tolist(), d.p_min.tolist(), d.value.tolist()
    starts, ends, head, max_min = d.p_start.tolist(), d.p_end.tolist(), d.head.tolist(), d.max_min.tolist()
    heap = [(-values[p], p) for p in np.nonzero(~plan.x)[0].tolist()]
    heapq.heapify(heap)
    while heap:
        key, p = heapq.heappop(heap)
        v, s, m = pv[p], ps[p], mins[p]
        if count[s] >= head[s] or used[v] + m > max_min[v]:
            continue
        gain = values[p] - d.marginal(used[v], m)
        if gain <= 0:
            continue
        if gain < -key:
            heapq.heappush(heap, (-gain, p))
            continue
        st, en = starts[p], ends[p]
        if any(a < en and st < b for a, b in busy[v]):
            continue
        plan.x[p] = True
        count[s] += 1
        used[v] += m
        busy[v].append((st, en))


def greedy(data: RosterData) -> Plan:
    """Best value first, and (on smaller problems) best value per minute first; the better of the two. Pinned
    pairs first; with hours spread, best value less the marginal spreading cost first."""
    if data.spread:
        plan = Plan(data, data.pin)
        fair_fill(plan)
        return plan
    best: Plan | None = None
    keys = [data.value.astype(np.float64)]
    if data.np_ <= 100_000:
        keys.append(data.value / np.maximum(data.p_min, 1))
    for key in keys:
        plan = Plan(data, data.pin)
        plan.fill(np.argsort(-key, kind="stable"))
        if best is None or plan.objective() > best.objective():
            best = plan
    assert best is not None
    return best


def repair(data: RosterData) -> Plan:
    """Keep the pins, then every pair of the last plan that still holds (best first if rules now clash), then fill
    greedily."""
    plan = Plan(data, data.pin)
    prev = np.nonzero(data.prev)[0]
    plan.fill(prev[np.argsort(-data.value[prev], kind="stable")])
    if data.spread:
        fair_fill(plan)
    else:
        plan.fill(np.argsort(-data.value, kind="stable"))
    return plan


# --------------------------------------------------------------------------------------------- neighbourhoods


class SubModel(NamedTuple):
    """A neighbourhood's model: its first variables are the pairs `chosen`, then spreading hours (`owner`, `hour`)."""

    model: SparseModel
    chosen: IntArray
    owner: IntArray
    hour: IntArray

    def hint(self, data: RosterData, x: BoolArray) -> BoolArray:
        """The model's variables for a full plan `x` that agrees with the fixed part."""
        return np.concatenate((x[self.chosen], data.spread_hint(x, self.owner, self.hour)))

    def pairs(self, y: BoolArray | FloatArray) -> BoolArray | FloatArray:
        """The pair part of a solution of the model."""
        return y[: self.chosen.shape[0]]


def unpinned(data: RosterData, free: IntArray) -> IntArray:
    """A neighbourhood less the pinned pairs: they stay whatever a round decides."""
    return free[~data.pin[free]] if data.pin.any() else free


def sub_model(data: RosterData, x: BoolArray, free: IntArray) -> SubModel:
    """Re-optimise the pairs in `free` with every other assignment fixed; returns the model and its pair indices."""
    fixed = x.copy()
    fixed[free] = False
    cap_s = data.head - np.bincount(data.ps[fixed], minlength=data.ns)
    cap_v = data.max_min - np.bincount(data.pv[fixed], weights=data.p_min[fixed], minlength=data.nv).astype(np.int64)
    allowed = np.zeros(data.np_, dtype=bool)
    allowed[free] = (data.p_min[free] <= cap_v[data.pv[free]]) & (cap_s[data.ps[free]] > 0)
    cliques: list[list[int]] = []
    for v in np.unique(data.pv[free]).tolist():
        for clique in data.cliques(v):
            if any(fixed[q] for q in clique):
                # A free pair overlapping a fixed shift of the same volunteer can never be taken.
                for q in clique:
                    allowed[q] = False
            else:
                cliques.append(clique)
    chosen = np.nonzero(allowed)[0]
    local = np.full(data.np_, -1, dtype=np.int64)
    local[chosen] = np.arange(chosen.shape[0])
    model = SparseModel(values=data.value[chosen].copy())
    ps = data.ps[chosen]
    by_shift = np.argsort(ps, kind="stable")
    bounds = np.flatnonzero(np.diff(ps[by_shift])) + 1
    for group in np.split(by_shift, bounds) if chosen.shape[0] else []:
        j = int(ps[group[0]])
        if group.shape[0] > cap_s[j]:
            model.add_row(group, np.ones(group.shape[0], dtype=np.int64), -math.inf, float(cap_s[j]))
    pv = data.pv[chosen]
    for group in np.split(np.arange(chosen.shape[0]), np.flatnonzero(np.diff(pv)) + 1) if chosen.shape[0] else []:
        v = int(pv[group[0]])
        mins = data.p_min[chosen[group]]
        if int(mins.sum()) > cap_v[v]:
            model.add_row(group, mins.copy(), -math.inf, float(cap_v[v]))
    for clique in cliques:
        members = local[np.array(clique, dtype=np.int64)]
        model.add_at_most_one(members[members >= 0])
    owner, hour = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if data.spread and chosen.shape[0]:
        fixed_min = data.max_min - cap_v
        cuts = np.flatnonzero(np.diff(pv)) + 1
        groups = [
            (int(pv[g[0]]), np.asarray(g, dtype=np.int64), data.p_min[chosen[g]], int(fixed_min[int(pv[g[0]])]))
            for g in np.split(np.arange(chosen.shape[0]), cuts)
        ]
        owner, hour = data.add_spread(model, groups)
    return SubModel(model, chosen, owner, hour)


class Neighbourhoods:
    """Regions of the city (volunteers nearest a random home) and days, sized to what CP-SAT closes quickly."""

    def __init__(self, data: RosterData, seed: int) -> None:
        self.data = data
        self.rng = np.random.default_rng(seed)
        self.target = INITIAL_NEIGHBOURHOOD
        self.round = 0
        self.days = np.unique(data.day[data.ps]) if data.np_ else np.zeros(0, dtype=np.int64)
        self.focus: IntArray | None = None  # volunteers where the plan and the LP disagree, when an LP is known

    def _nearest(self, xyz: FloatArray, centre: FloatArray, k: int) -> BoolArray:
        dist = np.sum((xyz - centre) ** 2, axis=1)
        mask = np.zeros(xyz.shape[0], dtype=bool)
        k = int(min(xyz.shape[0], max(1, k)))
        mask[np.argpartition(dist, k - 1)[:k] if k < xyz.shape[0] else slice(None)] = True
        return mask

    def next(self) -> IntArray:
        """The pair indices of the next neighbourhood (four kinds in turn)."""
        d = self.data
        kind = self.round % 4
        self.round += 1
        if self.focus is not None and self.focus.shape[0] and self.round % 2 == 0:
            # Every other round centres where the plan departs from the LP optimum: that is where gains hide.
            centre = d.v_xyz[int(self.focus[int(self.rng.integers(0, self.focus.shape[0]))])]
        else:
            centre = d.v_xyz[int(self.rng.integers(0, d.nv))]
        per_vol = max(1.0, d.np_ / max(d.nv, 1))
        per_shift = max(1.0, d.np_ / max(d.ns, 1))
        if kind == 0:
            # The volunteers living nearest a point: all their pairs.
            return np.flatnonzero(self._nearest(d.v_xyz, centre, int(self.target / per_vol))[d.pv])
        if kind == 1:
            # The shifts nearest a point: every volunteer who could take them competes afresh.
            return np.flatnonzero(self._nearest(d.s_xyz, centre, int(self.target / per_shift))[d.ps])
        if kind == 2 and self.days.shape[0] > 1:
            # One day over a region as many times larger as there are days.
            want = self.target * self.days.shape[0]
            pairs = np.nonzero(self._nearest(d.v_xyz, centre, int(want / per_vol))[d.pv])[0]
            day = self.days[int(self.rng.integers(0, self.days.shape[0]))]
            return np.asarray(pairs[d.day[d.ps[pairs]] == day], dtype=np.int64)
        near_v = self._nearest(d.v_xyz, centre, int(self.target / per_vol / 2))
        near_s = self._nearest(d.s_xyz, centre, int(self.target / per_shift / 2))
        return np.nonzero(near_v[d.pv] | near_s[d.ps])[0]

    def feedback(self, closed: bool, work: float) -> None:
        """Grow the neighbourhood when CP-SAT proves it optimal quickly, shrink it when it is slow or times out.

        Many quick rounds beat a few long ones, so the aim is neighbourhoods CP-SAT closes in ~0.15 reference
        seconds. Measured in work, not wall time, so the sizes (and the plan) do not depend on machine load.
        """
        if closed and work < QUICK_ROUND_S:
            self.target = int(min(60000, self.target * 1.15))
        elif not closed or work > 2 * QUICK_ROUND_S:
            self.target = int(max(200, self.target * 0.8))


# --------------------------------------------------------------------------------------------- explanations


def _explain(data: RosterData, x: BoolArray) -> tuple[list[RosterAssignment], list[UnfilledShift]]:
    problem = data.problem
    vols, shifts = problem.volunteers, problem.shifts
    count = np.bincount(data.ps[x], minlength=data.ns)
    used = np.bincount(data.pv[x], weights=data.p_min[x], minlength=data.nv).astype(np.int64)
    # The shortest shift a volunteer could still take, to say whether their minutes bind.
    shortest = np.full(data.nv, np.iinfo(np.int64).max, dtype=np.int64)
    if data.np_:
        masked = np.where(x, np.iinfo(np.int64).max, data.p_min)
        nonempty = data.vptr[:-1] < data.vptr[1:]
        shortest[nonempty] = np.minimum.reduceat(masked, data.vptr[:-1][nonempty])
    on = np.nonzero(x)[0]
    full = (count[data.ps[on]] >= data.head[data.ps[on]]).tolist()
    big = np.iinfo(np.int64).max
    tight = (
        (shortest[data.pv[on]] < big) & (data.max_min[data.pv[on]] - used[data.pv[on]] < shortest[data.pv[on]])
    ).tolist()
    no_binding: tuple[str, ...] = ()
    bindings = {
        (True, True): ("headcount", "max_minutes"),
        (True, False): ("headcount",),
        (False, True): ("max_minutes",),
        (False, False): no_binding,
    }
    assignments = [
        RosterAssignment(
            volunteer=vols[v].id,
            shift=shifts[j].id,
            value=value,
            minutes=minutes,
            km=round(km, 3),
            travel_penalty=penalty,
            continuity_bonus=CONTINUITY_BONUS if prev else 0,
            skills_matched=shifts[j].requires,
            binding=bindings[(f, t)],
            reliability_penalty=unreliable,
        )
        for v, j, value, minutes, km, penalty, prev, f, t, unreliable in zip(
            data.pv[on].tolist(),
            data.ps[on].tolist(),
            data.value[on].tolist(),
            data.p_min[on].tolist(),
            data.km[on].tolist(),
            data.penalty[on].tolist(),
            data.prev[on].tolist(),
            full,
            tight,
            data.unreliable[on].tolist(),
            strict=True,
        )
    ]
    open_places = data.head - count
    has_pair = np.zeros(data.ns, dtype=bool)
    has_pair[data.ps] = True
    excluded = _exclusion_counts(data, np.nonzero((open_places > 0) & ~has_pair)[0])
    # The three best-valued eligible volunteers of each shift with open places, and what held each of them.
    order = np.lexsort((-data.value, data.ps))
    ps_sorted = data.ps[order]
    rank = np.arange(order.shape[0]) - np.searchsorted(ps_sorted, ps_sorted, side="left")
    top = order[(rank < 3) & (open_places[ps_sorted] > 0)]
    # Plain lists: indexing numpy arrays one element at a time in a Python loop costs ~10x more.
    busy: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for v, st, en, j in zip(
        data.pv[on].tolist(), data.p_start[on].tolist(), data.p_end[on].tolist(), data.ps[on].tolist(), strict=True
    ):
        busy[v].append((st, en, j))
    used_l, max_min = used.tolist(), data.max_min.tolist()
    blocked: dict[int, list[Blocker]] = defaultdict(list)
    for v, j, st, en, value, minutes in zip(
        data.pv[top].tolist(),
        data.ps[top].tolist(),
        data.p_start[top].tolist(),
        data.p_end[top].tolist(),
        data.value[top].tolist(),
        data.p_min[top].tolist(),
        strict=True,
    ):
        clash = next((k for a, b, k in busy[v] if a < en and st < b), None)
        if clash is not None:
            blocked[j].append(Blocker(vols[v].id, value, "overlap", shifts[clash].id))
        elif used_l[v] + minutes > max_min[v]:
            blocked[j].append(Blocker(vols[v].id, value, "max_minutes"))
        else:
            blocked[j].append(Blocker(vols[v].id, value, "not-chosen"))
    has_pair_l = has_pair.tolist()
    unfilled = [
        UnfilledShift(shifts[j].id, places, "outscored", blocked=tuple(blocked[j]))
        if has_pair_l[j]
        else UnfilledShift(shifts[j].id, places, "nobody-eligible", excluded_by=excluded.get(j, {}))
        for j, places in zip(
            np.nonzero(open_places > 0)[0].tolist(), open_places[open_places > 0].tolist(), strict=True
        )
    ]
    return assignments, unfilled


def _exclusion_counts(data: RosterData, shifts: IntArray) -> dict[int, dict[str, int]]:
    """For shifts nobody can take: how many volunteers each rule excluded first.

    Only volunteers within reach are tested rule by rule; everyone else was excluded by distance.
    """
    if shifts.shape[0] == 0 or data.nv == 0:
        return {}
    reach = float(data.max_km.max())
    sj, vi = near_pairs(data.s_xyz[shifts], np.full(shifts.shape[0], reach), data.v_xyz)
    sj = shifts[sj]
    km = haversine_np(data.v_lat[vi], data.v_lon[vi], data.s_lat[sj], data.s_lon[sj])
    near = km <= data.max_km[vi]
    sj, vi = sj[near], vi[near]
    skilled = np.all((data.need[sj] & ~data.have[vi]) == 0, axis=1)
    inside = np.any((data.w_start[vi] <= data.start[sj][:, None]) & (data.end[sj][:, None] <= data.w_end[vi]), axis=1)
    free = data._unblocked(vi, sj)
    fits_minutes = data.minutes[sj] <= data.max_min[vi]
    rule = np.where(~skilled, 1, np.where(~inside, 2, np.where(~free, 3, np.where(~fits_minutes, 4, 5))))
    counts = np.zeros((data.ns, len(EXCLUSION_RULES)), dtype=np.int64)
    np.add.at(counts, (sj, rule), 1)
    out = {}
    for j in shifts.tolist():
        row = counts[j].tolist()
        row[0] = data.nv - sum(row[1:])
        out[j] = {name: c for name, c in zip(EXCLUSION_RULES, row, strict=True) if c}
    return out


def _dropped(data: RosterData, x: BoolArray) -> tuple[int, list[DroppedPrevious]]:
    problem = data.problem
    kept = int((x & data.prev).sum())
    taken = {(int(data.pv[p]), int(data.ps[p])) for p in np.nonzero(x & data.prev)[0].tolist()}
    dropped = []
    for vid, sid in problem.previous:
        vi, sj = data.v_index.get(vid), data.s_index.get(sid)
        if vi is None or sj is None:
            dropped.append(DroppedPrevious(vid, sid, "volunteer gone" if vi is None else "shift gone"))
            continue
        if (vi, sj) in taken:
            continue
        rule = exclusion(problem.volunteers[vi], problem.shifts[sj])
        why = f"no longer eligible: {rule}" if rule else "replaced: the new plan scores higher without it"
        dropped.append(DroppedPrevious(vid, sid, why))
    return kept, dropped


# --------------------------------------------------------------------------------------------- solve


def solve(
    problem: RosterProblem,
    *,
    time_limit_s: float,
    seed: int,
    previous: RosterResult | tuple[tuple[Id, Id], ...] | None = None,
    on_progress: ProgressFn | None = None,
    work: float | None = None,
) -> RosterResult:
    """Fill shifts with volunteers to maximise total value within the time limit; the plan is always checked.

    `work` is the search budget in reference seconds (matching.common.Budget); by default a share of the time
    limit that an idle machine spends inside it. The same problem, seed and work give the same plan.
    """
    if isinstance(previous, RosterResult):
        previous = tuple((a.volunteer, a.shift) for a in previous.assignments)
    return solve_people(_Solver, validate, RosterResult, problem, previous, time_limit_s, seed, on_progress, work)


class _Solver(NeighbourhoodSolver[BoolArray, RosterResult]):
    """One roster solve: greedy or repaired start, LP bound and rounding, CP-SAT and LP neighbourhoods, final fill."""

    def __init__(self, problem: RosterProblem, budget: Budget, seed: int, on_progress: ProgressFn | None) -> None:
        self.problem = problem
        self.data = RosterData(problem)
        self.data_s = budget.deadline.elapsed()
        # What the start and the end cost, in work: the search gets the rest.
        budget.charge(START_S_PER_PAIR * self.data.np_)
        self.end_work = 0.02 + END_S_PER_PAIR * self.data.np_
        self.round_work = 0.004 + ROUND_S_PER_PAIR * self.data.np_
        self.x_lp: FloatArray | None = None
        super().__init__(
            budget,
            seed,
            on_progress,
            repairing=bool(problem.previous),
            empty=self.empty_plan(),
            bound=self.data.trivial_bound(),
        )

    def reserve(self) -> float:
        """Wall seconds the explanation and the checker will need at the end (for the clock's safety net only).

        Measured at about 0.75x the time building the data took; scaling by that measured time (not a constant)
        keeps the estimate right when the machine is shared and everything runs slower.
        """
        return 0.1 + 0.8 * self.data_s

    def first_plan(self) -> BoolArray:
        """The last plan repaired, or the best greedy plan."""
        return (repair(self.data) if self.problem.previous else greedy(self.data)).x

    def value(self, plan: BoolArray) -> int:
        """Total value of the plan's pairs, less what spreading hours charges."""
        return self.data.objective(plan)

    def copy(self, plan: BoolArray) -> BoolArray:
        """An independent copy."""
        return plan.copy()

    def empty_plan(self) -> BoolArray:
        """No pair taken."""
        return np.zeros(self.data.np_, dtype=bool)

    def final_plan(self, plan: BoolArray) -> BoolArray:
        """Whatever the solver did, leave no free place a volunteer could still fill."""
        final = Plan(self.data, plan)
        if self.data.spread:
            fair_fill(final)
        else:
            final.fill(np.argsort(-self.data.value, kind="stable"))
        return final.x

    def errors(self, result: RosterResult) -> list[str]:
        """The independent checker's verdict."""
        return check(self.problem, result.assignments)

    def result_of(self, plan: BoolArray) -> RosterResult:
        """The result for a plan, with its reasons."""
        data = self.data
        assignments, unfilled = _explain(data, plan)
        kept, dropped = _dropped(data, plan)
        eligible = np.unique(data.pv)
        used = np.bincount(data.pv[plan], weights=data.p_min[plan], minlength=data.nv).astype(np.int64)
        return self.result(
            RosterResult,
            data.objective(plan),
            spread_penalty=data.spread_penalty(plan),
            hours_gini=round(gini(used[eligible].tolist()), 4),
            eligible_volunteers=int(eligible.shape[0]),
            hours_gini_assigned=round(gini(used[used > 0].tolist()), 4),
            assignments=tuple(assignments),
            unfilled=tuple(unfilled),
            previous_kept=kept,
            previous_dropped=tuple(dropped),
        )

    def prove_bound(self) -> None:
        """The LP bound (rounded into a plan) on problems of modest size, a Lagrangian bound on larger ones."""
        data, budget = self.data, self.budget
        small = data.np_ <= 60_000
        if small and budget.fits(self.end_work + 0.3, clock_reserve=self.reserve()):
            # The LP is cheap at this size, tight for this model, and its rounding is a far better start than greedy.
            lp, x_lp = lp_relaxation(
                data.full_model(),
                budget,
                work=min(3.0, 0.4 * budget.left()),
                seed=self.seed,
                clock_reserve=self.reserve(),
            )
            self.tighten(lp, "lp-relaxation")
            if x_lp is not None:
                x_lp = x_lp[: data.np_]
                rounded = Plan(data, self.start if self.problem.previous else data.pin)
                rounded.fill(np.lexsort((-data.value, -np.round(x_lp, 6))))
                self.offer(rounded.x, "lp-rounding")
                self.x_lp = x_lp
                self.lp_residual(x_lp, rounded.x)
        if not small and budget.fits(self.end_work + 20, clock_reserve=self.reserve()):
            # HiGHS cannot finish this LP in time; Lagrangian multipliers still prove a bound near it.
            bound = subgradient_bound(
                data.full_model(),
                budget,
                incumbent=self.best_value,
                work=0.06 * budget.total,
                clock_reserve=self.reserve(),
            )
            self.tighten(bound, "lagrangian")

    def lp_residual(self, x_lp: FloatArray, rounded: BoolArray) -> None:
        """Keep the pairs the LP takes whole and let CP-SAT settle everything else (measured: +0.9% on rounding).

        The LP's integral ones are feasible together (coefficients are non-negative), and the rounded plan
        contains them, so it is a complete hint for what is left.
        """
        ones = (x_lp > 0.999) & rounded
        free = np.flatnonzero(~ones & ~self.data.pin)
        sub = sub_model(self.data, rounded, free)
        model, chosen = sub.model, sub.chosen
        work = min(2.0, 0.2 * (self.budget.left() - self.end_work))
        if model.n == 0 or work <= 0.1:
            return
        outcome = budgeted_cpsat(
            model,
            sub.hint(self.data, rounded),
            self.budget,
            work=work,
            cost=SPREAD_CPSAT_COST if self.data.spread else CPSAT_COST,
            seed=self.seed,
            clock_reserve=self.reserve(),
        )
        if outcome.x is not None:
            x = rounded.copy()
            x[free] = False
            x[chosen] = sub.pairs(outcome.x)
            self.offer(x, "lp-residual")

    def improve(self) -> None:
        """Large-neighbourhood rounds over regions of the city and days, the rest of the plan fixed.

        Two kinds of round: the LP of a large region (~20k pairs) rounded greedily, which lifts a greedy plan
        fast, and CP-SAT on a small neighbourhood from the complete hint, which polishes. LP rounds run while
        they pay (and every tenth round after), CP-SAT rounds otherwise.
        """
        data, budget = self.data, self.budget
        cp_hood = Neighbourhoods(data, self.seed)
        if self.x_lp is not None:
            cp_hood.focus = np.unique(data.pv[np.abs(self.x_lp - self.best) > 0.01])
        lp_hood = Neighbourhoods(data, self.seed + 1)
        lp_hood.target = min(LP_NEIGHBOURHOOD, data.np_)
        lp_pays = data.np_ > 60_000  # small problems were rounded from the whole LP already
        rounds = lp_rounds = 0
        while self.best_value < self.bound and data.np_ > 0:
            if not budget.fits(self.end_work + self.round_work + 0.15, clock_reserve=self.reserve()):
                break
            # Small problems were rounded from the whole LP already; a region would be all of it again.
            use_lp = data.np_ > LP_NEIGHBOURHOOD and (lp_pays or rounds % 10 == 9)
            rounds += 1
            if use_lp:
                lp_rounds += 1
                gain = self.lp_round(lp_hood.next())
                lp_pays = gain > 0.0005 * self.best_value / max(1, data.np_ / LP_NEIGHBOURHOOD)
            else:
                self.cp_round(cp_hood, rounds)
        if rounds:
            self.phases.append(f"lns rounds: {rounds - lp_rounds} cp-sat, {lp_rounds} lp-rounding")

    def lp_round(self, free: IntArray) -> int:
        """Re-plan a region by rounding its LP relaxation; returns the gain."""
        data, budget = self.data, self.budget
        budget.charge(self.round_work)
        free = unpinned(data, free)
        sub = sub_model(data, self.best, free)
        model, chosen = sub.model, sub.chosen
        work = min(budget.left() - self.end_work - 0.1, 3.0)
        if model.n == 0 or work <= 0.05:
            return 0
        _, x_all = lp_relaxation(model, budget, work=work, seed=self.seed, clock_reserve=self.reserve())
        if x_all is None or not budget.fits(0.0, clock_reserve=self.reserve()):
            return 0
        x_lp = sub.pairs(x_all)
        plan = Plan(data, self.best)
        plan.x[free] = False
        plan.fill(chosen[np.lexsort((-data.value[chosen], -np.round(x_lp, 6)))])
        before = self.best_value
        self.offer(plan.x, "lns")
        return self.best_value - before

    def cp_round(self, hood: Neighbourhoods, rounds: int) -> None:
        """Re-optimise a small neighbourhood with CP-SAT from the complete hint."""
        data, budget = self.data, self.budget
        budget.charge(self.round_work)
        free = unpinned(data, hood.next())
        sub = sub_model(data, self.best, free)
        model, chosen = sub.model, sub.chosen
        whole = free.shape[0] == data.np_
        if model.n == 0 and whole:
            self.tighten(float(self.best_value), "cp-sat")
        # A small problem that fits one neighbourhood gets all the time there is: CP-SAT may prove it.
        cap = math.inf if whole and model.n <= WHOLE_MODEL_VARS else ROUND_LIMIT_S
        work = min(budget.left() - self.end_work - 0.05, cap)
        if model.n == 0 or work <= 0.05:
            return
        hint = sub.hint(data, self.best)
        before = model.objective(hint)
        outcome = budgeted_cpsat(
            model,
            hint,
            budget,
            work=work,
            cost=SPREAD_CPSAT_COST if self.data.spread else CPSAT_COST,
            seed=self.seed + rounds,
            clock_reserve=self.reserve(),
        )
        hood.feedback(outcome.optimal, outcome.work)
        if outcome.x is None or outcome.value is None:
            return
        if outcome.value > before:
            x = self.best.copy()
            x[free] = False
            x[chosen] = sub.pairs(outcome.x)
            self.offer(x, "lns")
        if outcome.optimal and whole:
            # The neighbourhood was the whole problem: CP-SAT proved the plan optimal.
            self.tighten(float(max(outcome.value, before)), "cp-sat")
