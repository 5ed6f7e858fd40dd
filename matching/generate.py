"""Seeded, realistic instances for the people models: Shanghai-like volunteers and shifts, carers and households."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from matching.roster import RosterProblem, Shift, Volunteer
from matching.teams import Carer, Household, PreviousTeam, TeamsProblem

SHANGHAI = (31.2304, 121.4737)
CST = timezone(timedelta(hours=8))
WEEK_START = datetime(2026, 11, 30, tzinfo=CST)  # a Monday
SKILLS = (
    "first-aid",
    "elder-care",
    "driving",
    "cooking",
    "shanghainese",
    "counselling",
    "tutoring",
    "sign-language",
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOTS = tuple(f"{d}-{p}" for d in DAYS for p in ("am", "pm", "eve"))
KM_PER_DEG_LAT = 111.195

A = TypeVar("A")
B = TypeVar("B")


def _city(rng: np.random.Generator, n: int, side_km: float, n_estates: int) -> npt.NDArray[np.float64]:
    """Points spread over a square city: 70% around residential estates, 30% anywhere."""
    half = side_km / 2
    estates = rng.uniform(-half, half, size=(max(1, n_estates), 2))
    pick = rng.integers(0, estates.shape[0], size=n)
    clustered = estates[pick] + rng.normal(0.0, side_km / 25 + 0.3, size=(n, 2))
    uniform = rng.uniform(-half, half, size=(n, 2))
    xy = np.where((rng.random(n) < 0.7)[:, None], clustered, uniform)
    xy = np.clip(xy, -half, half)
    lat = SHANGHAI[0] + xy[:, 1] / KM_PER_DEG_LAT
    lon = SHANGHAI[1] + xy[:, 0] / (KM_PER_DEG_LAT * math.cos(math.radians(SHANGHAI[0])))
    return np.stack([np.round(lat, 6), np.round(lon, 6)], axis=1)


def _pick(rng: np.random.Generator, names: tuple[str, ...], k: int) -> tuple[str, ...]:
    """k distinct names drawn at random, in the order of `names`."""
    return tuple(names[s] for s in sorted(rng.choice(len(names), size=k, replace=False).tolist()))


def _point(points: npt.NDArray[np.float64], i: int) -> tuple[float, float]:
    """Row i of a (lat, lon) array as a point."""
    return float(points[i, 0]), float(points[i, 1])


def roster(n_volunteers: int, n_shifts: int, seed: int) -> RosterProblem:
    """A week of volunteer shifts; the city grows with the volunteers so each has a few dozen eligible shifts."""
    rng = np.random.default_rng(seed)
    # 20,000 shifts spread over a 70 km square (Shanghai inside the outer ring); smaller ones are a district of it.
    side = max(5.0, 70.0 * math.sqrt(max(n_shifts, 1) / 20_000))
    estates = max(1, int(side * side / 40))
    homes = _city(rng, n_volunteers, side, estates)
    places = _city(rng, n_shifts, side, estates)
    volunteers = []
    for i in range(n_volunteers):
        k = int(rng.integers(2, 6))
        days = rng.choice(7, size=k, replace=False)
        windows = []
        for d in sorted(days.tolist()):
            start_h = int(rng.integers(7, 17))
            length_h = int(rng.integers(3, 9))
            start = WEEK_START + timedelta(days=d, hours=start_h)
            windows.append((start, start + timedelta(hours=min(length_h, 22 - start_h))))
        skills = _pick(rng, SKILLS, int(rng.integers(1, 5)))
        volunteers.append(
            Volunteer(
                id=f"v{i}",
                home=_point(homes, i),
                max_km=float(rng.integers(3, 11)),
                max_minutes=int(rng.integers(8, 41)) * 30,
                skills=skills,
                available=tuple(windows),
            )
        )
    shifts = []
    for j in range(n_shifts):
        d = int(rng.integers(0, 7))
        start = WEEK_START + timedelta(days=d, hours=int(rng.integers(7, 19)), minutes=30 * int(rng.integers(0, 2)))
        length = 30 * int(rng.integers(3, 9))
        n_req = int(rng.choice(3, p=(0.4, 0.45, 0.15)))
        requires = _pick(rng, SKILLS, n_req)
        shifts.append(
            Shift(
                id=f"s{j}",
                start=start,
                end=start + timedelta(minutes=length),
                place=_point(places, j),
                headcount=int(rng.integers(1, 6)),
                requires=requires,
                beneficiary=f"b{int(rng.integers(0, max(1, n_shifts // 4)))}" if rng.random() < 0.5 else None,
            )
        )
    return RosterProblem(volunteers=tuple(volunteers), shifts=tuple(shifts), previous=())


def teams(n_carers: int, n_households: int, seed: int) -> TeamsProblem:
    """Carers (30% trained) and empty-nest households on the same estates, within walking distance."""
    rng = np.random.default_rng(seed)
    # 3,000 carers live in a 30 km square; households cluster on the same estates.
    side = max(3.0, 30.0 * math.sqrt(max(n_carers, 1) / 3_000))
    estates = max(1, int(side * side / 15))
    rng_estates = np.random.default_rng(seed + 1)
    carer_homes = _city(rng_estates, n_carers, side, estates)
    household_homes = _city(np.random.default_rng(seed + 1), n_carers + n_households, side, estates)[n_carers:]
    carers = []
    for i in range(n_carers):
        slots = _pick(rng, SLOTS, int(rng.integers(3, 10)))
        carers.append(
            Carer(
                id=f"c{i}",
                home=_point(carer_homes, i),
                trained=bool(rng.random() < 0.3),
                max_teams=int(rng.choice(3, p=(0.6, 0.3, 0.1))) + 1,
                slots=slots,
            )
        )
    households = []
    for h in range(n_households):
        slots = _pick(rng, SLOTS, int(rng.integers(2, 7)))
        households.append(
            Household(
                id=f"h{h}",
                home=_point(household_homes, h),
                max_km=float(rng.choice((1.0, 1.5, 2.0))),
                slots=slots,
            )
        )
    return TeamsProblem(carers=tuple(carers), households=tuple(households), team_size=3, min_trained=1, previous=())


def _survivors(rng: np.random.Generator, items: tuple[A, ...], rate: float) -> tuple[A, ...]:
    gone = set(rng.choice(len(items), size=round(len(items) * rate), replace=False).tolist())
    return tuple(x for i, x in enumerate(items) if i not in gone)


def _churn(
    people: tuple[A, ...], places: tuple[B, ...], *, rate: float, seed: int
) -> tuple[tuple[A, ...], tuple[B, ...]]:
    """What is left after removing `rate` of the people (volunteers, carers) and of the places (shifts, households)."""
    rng = np.random.default_rng(seed)
    return _survivors(rng, people, rate), _survivors(rng, places, rate)


def churn_roster(
    problem: RosterProblem, plan: list[tuple[str | int, str | int]], *, rate: float, seed: int
) -> RosterProblem:
    """Remove `rate` of the volunteers and of the shifts; the surviving pairs of `plan` become `previous`."""
    volunteers, shifts = _churn(problem.volunteers, problem.shifts, rate=rate, seed=seed)
    alive_v = {v.id for v in volunteers}
    alive_s = {s.id for s in shifts}
    previous = tuple((v, s) for v, s in plan if v in alive_v and s in alive_s)
    return RosterProblem(volunteers=volunteers, shifts=shifts, previous=previous)


def churn_teams(
    problem: TeamsProblem, plan: list[tuple[str | int, list[str | int]]], *, rate: float, seed: int
) -> TeamsProblem:
    """Remove `rate` of the carers and of the households; surviving teams (minus removed carers) become `previous`."""
    carers, households = _churn(problem.carers, problem.households, rate=rate, seed=seed)
    alive_c = {c.id for c in carers}
    alive_h = {h.id for h in households}
    previous = tuple(
        PreviousTeam(household=h, carers=tuple(c for c in members if c in alive_c))
        for h, members in plan
        if h in alive_h
    )
    return TeamsProblem(
        carers=carers,
        households=households,
        team_size=problem.team_size,
        min_trained=problem.min_trained,
        previous=previous,
    )
