"""Roster: every plan passes the independent checker, tiny instances reach the brute-force optimum, reasons hold."""

from __future__ import annotations

import itertools
import json
import pickle
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import solving_people
from matching import generate
from matching.common import Progress, haversine_km
from matching.roster import (
    Id,
    RosterData,
    RosterProblem,
    RosterResult,
    Shift,
    Volunteer,
    check,
    evaluate,
    exclusion,
    repair,
    solve,
)
from tests.helpers import assert_schema_committed, solve_through_file

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 11, 30, tzinfo=CST)
SKILLS = ("first-aid", "driving", "cooking")


def at(hour: float) -> datetime:
    """A moment `hour` hours after Monday 00:00 Shanghai time."""
    return MONDAY + timedelta(hours=hour)


def place(dx_km: float, dy_km: float) -> tuple[float, float]:
    """A point dx/dy km east/north of central Shanghai."""
    return (31.23 + dy_km / 111.195, 121.47 + dx_km / 95.07)


@st.composite
def tiny_rosters(draw: st.DrawFn) -> RosterProblem:
    """Up to 4 volunteers and 5 shifts within a few km, over two days, so brute force is cheap."""
    n_v = draw(st.integers(1, 4))
    n_s = draw(st.integers(1, 5))
    volunteers = []
    for i in range(n_v):
        windows = []
        for _ in range(draw(st.integers(1, 2))):
            start = draw(st.integers(0, 12))
            windows.append((at(start), at(start + draw(st.integers(3, 16)))))
        blocked = []
        for _ in range(draw(st.integers(0, 2))):
            start = draw(st.integers(0, 18))
            blocked.append((at(start), at(start + draw(st.integers(1, 3)))))
        volunteers.append(
            Volunteer(
                id=f"v{i}",
                home=place(draw(st.floats(0, 3)), draw(st.floats(0, 3))),
                max_km=float(draw(st.integers(2, 6))),
                max_minutes=draw(st.sampled_from([60, 120, 240, 480])),
                skills=tuple(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
                available=tuple(windows),
                blocked=tuple(blocked),
            )
        )
    shifts = []
    for j in range(n_s):
        start = draw(st.integers(0, 18))
        shifts.append(
            Shift(
                id=f"s{j}",
                start=at(start),
                end=at(start + draw(st.sampled_from([1, 2, 3]))),
                place=place(draw(st.floats(0, 3)), draw(st.floats(0, 3))),
                headcount=draw(st.integers(0, 2)),
                requires=tuple(draw(st.sets(st.sampled_from(SKILLS[:1]), max_size=1))),
            )
        )
    pairs = [(v.id, s.id) for v in volunteers for s in shifts]
    previous = tuple(draw(st.lists(st.sampled_from(pairs), max_size=3, unique=True)))
    return RosterProblem(volunteers=tuple(volunteers), shifts=tuple(shifts), previous=previous)


def brute_force(problem: RosterProblem) -> int:
    """The best total value over every subset of eligible pairs that the checker accepts."""
    by_id = {s.id: s for s in problem.shifts}
    eligible = [(v, s) for v in problem.volunteers for s in problem.shifts if exclusion(v, s) is None]
    best = 0
    for k in range(len(eligible) + 1):
        for subset in itertools.combinations(eligible, k):
            pairs = [(v.id, s.id) for v, s in subset]
            value = evaluate(problem, pairs)
            if value <= best:
                continue
            if not _feasible(problem, subset, by_id):
                continue
            best = value
    return best


def _feasible(problem: RosterProblem, subset: tuple[tuple[Volunteer, Shift], ...], by_id: dict[Id, Shift]) -> bool:
    count: dict[Id, int] = {}
    minutes: dict[Id, int] = {}
    taken: dict[Id, list[Shift]] = {}
    for v, s in subset:
        count[s.id] = count.get(s.id, 0) + 1
        if count[s.id] > by_id[s.id].headcount:
            return False
        if any(a < s.end and s.start < b for a, b in v.blocked):
            return False
        minutes[v.id] = minutes.get(v.id, 0) + int((s.end - s.start) / timedelta(minutes=1))
        if minutes[v.id] > v.max_minutes:
            return False
        for other in taken.setdefault(v.id, []):
            if other.start < s.end and s.start < other.end:
                return False
        taken[v.id].append(s)
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_rosters())
def test_every_roster_passes_the_checker_and_matches_brute_force(problem: RosterProblem) -> None:
    eligible = sum(exclusion(v, s) is None for v in problem.volunteers for s in problem.shifts)
    result = solve(problem, time_limit_s=5, seed=1)
    assert check(problem, result.assignments) == []
    assert result.objective == sum(a.value for a in result.assignments)
    assert result.objective <= result.bound
    if eligible <= 10:
        assert result.objective == brute_force(problem)


def test_blocked_time_is_never_rostered_and_says_busy() -> None:
    home = place(0, 0)
    window = ((at(8), at(20)),)
    busy = Volunteer(id="busy", home=home, max_km=5, max_minutes=600, available=window, blocked=((at(9), at(10)),))
    free = Volunteer(id="free", home=home, max_km=5, max_minutes=600, available=window)
    clash = Shift(id="clash", start=at(9.5), end=at(11.5), place=home, headcount=2)
    after = Shift(id="after", start=at(10), end=at(12), place=home, headcount=1)
    problem = RosterProblem(volunteers=(busy, free), shifts=(clash, after))
    result = solve(problem, time_limit_s=2, seed=1)
    assert check(problem, result.assignments) == []
    pairs = {(a.volunteer, a.shift) for a in result.assignments}
    assert ("busy", "clash") not in pairs and ("busy", "after") in pairs and ("free", "clash") in pairs
    alone = RosterProblem(volunteers=(busy,), shifts=(clash,))
    unfilled = solve(alone, time_limit_s=2, seed=1).unfilled
    assert unfilled[0].why == "nobody-eligible" and unfilled[0].excluded_by == {"busy": 1}
    bad = [msgspec.structs.replace(a, shift="clash") for a in result.assignments if a.volunteer == "busy"]
    assert any("committed elsewhere" in e for e in check(problem, bad))


def test_checker_catches_each_broken_rule() -> None:
    v = Volunteer("v", place(0, 0), 3.0, 120, ("driving",), ((at(8), at(12)),))
    shifts = (
        Shift("near", at(8), at(10), place(1, 0), 1, ("driving",)),
        Shift("overlap", at(9), at(11), place(1, 0), 1),
        Shift("far", at(10), at(11), place(9, 0), 1),
        Shift("late", at(13), at(14), place(0, 0), 1),
        Shift("skilled", at(10), at(11), place(0, 0), 1, ("cooking",)),
    )
    problem = RosterProblem((v,), shifts)
    result = solve(problem, time_limit_s=2, seed=1)
    assert check(problem, result.assignments) == []
    good = result.assignments[0]

    def claim(shift: Id) -> list[str]:
        fake = msgspec.structs.replace(good, shift=shift)
        return check(problem, [good, fake] if shift != good.shift else [good, good])

    assert any("overlapping" in e or "max_minutes" in e for e in claim("overlap"))
    assert any("beyond max_km" in e for e in claim("far"))
    assert any("outside every availability" in e for e in claim("late"))
    assert any("lacks" in e for e in claim("skilled"))
    assert any("twice" in e for e in claim(good.shift))
    assert any("claims value" in e for e in check(problem, [msgspec.structs.replace(good, value=good.value + 1)]))


def test_value_is_minutes_minus_travel_plus_continuity() -> None:
    v = Volunteer("v", place(0, 0), 10.0, 600, (), ((at(0), at(24)),))
    s = Shift("s", at(9), at(12), place(3, 4), 1)
    result = solve(RosterProblem((v,), (s,), previous=(("v", "s"),)), time_limit_s=2, seed=1)
    (a,) = result.assignments
    assert a.minutes == 180
    km = haversine_km(v.home, s.place)
    assert 4.9 < km < 5.1
    assert a.km == round(km, 3)
    assert a.travel_penalty == int(5 * km)
    assert a.binding == ("headcount",)
    assert a.continuity_bonus == 20
    assert a.value == 180 - a.travel_penalty + 20
    assert result.status == "optimal"
    assert result.previous_kept == 1


def test_unfilled_places_say_why() -> None:
    v = Volunteer("v", place(0, 0), 5.0, 600, ("driving",), ((at(8), at(18)),))
    shifts = (
        Shift("long", at(9), at(12), place(0, 0), 1),
        Shift("clash", at(10), at(11), place(0, 0), 1),
        Shift("needs-cook", at(14), at(15), place(0, 0), 2, ("cooking",)),
        Shift("far", at(14), at(15), place(30, 0), 1),
    )
    result = solve(RosterProblem((v,), shifts), time_limit_s=2, seed=1)
    why = {u.shift: u for u in result.unfilled}
    assert [a.shift for a in result.assignments] == ["long"]
    assert why["clash"].why == "outscored"
    assert why["clash"].blocked[0].blocked_by == "overlap"
    assert why["clash"].blocked[0].shift == "long"
    assert why["needs-cook"].why == "nobody-eligible"
    assert why["needs-cook"].excluded_by == {"skills": 1}
    assert why["needs-cook"].places == 2
    assert why["far"].excluded_by == {"distance": 1}


def test_bad_data_is_reported_infeasible_with_the_conflicting_rule() -> None:
    v = Volunteer("v", place(0, 0), 5.0, -10)
    s = Shift("s", at(9), at(10), place(0, 0), -1)
    result = solve(RosterProblem((v,), (s,)), time_limit_s=2, seed=1)
    assert result.status == "infeasible"
    assert {c.constraint for c in result.conflicts} == {"headcount", "max_minutes"}
    assert result.assignments == ()


def test_same_seed_same_plan() -> None:
    problem = generate.roster(40, 80, seed=3)
    a = solve(problem, time_limit_s=8, seed=5)
    b = solve(problem, time_limit_s=8, seed=5)
    assert [(x.volunteer, x.shift) for x in a.assignments] == [(x.volunteer, x.shift) for x in b.assignments]
    assert a.objective == b.objective


@pytest.mark.slow
def test_time_limit_is_honoured_and_progress_reported() -> None:
    problem = generate.roster(1500, 3000, seed=2)
    seen: list[Progress] = []
    t0 = time.perf_counter()
    result = solve(problem, time_limit_s=2.0, seed=1, on_progress=seen.append)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0 + 0.6  # the deadline covers building, improving, explaining and checking
    assert result.timings.total_s <= elapsed
    assert check(problem, result.assignments) == []
    assert seen, "on_progress was never called"
    objectives = [p.objective for p in seen]
    assert objectives == sorted(objectives)
    assert seen[-1].objective == result.objective
    assert all(p.bound >= result.objective for p in seen[-1:])


@pytest.mark.slow
def test_repair_keeps_every_surviving_pair_and_explains_the_rest() -> None:
    problem = generate.roster(200, 400, seed=4)
    first = solve(problem, time_limit_s=3, seed=1)
    plan = [(a.volunteer, a.shift) for a in first.assignments]
    churned = generate.churn_roster(problem, plan, rate=0.03, seed=9)
    surviving = set(churned.previous)
    assert 0 < len(surviving) < len(plan)
    start = repair(RosterData(churned))
    data = start.data
    kept = {(churned.volunteers[int(data.pv[p])].id, churned.shifts[int(data.ps[p])].id) for p in start.x.nonzero()[0]}
    assert surviving <= kept
    again = solve(churned, time_limit_s=3, seed=1)
    assert check(churned, again.assignments) == []
    assert again.previous_kept >= 0.95 * len(surviving)
    # A pair that no longer holds is dropped, with the rule that broke it.
    v0, s0 = next(iter(sorted(surviving)))
    shrunk = msgspec.structs.replace(
        churned,
        volunteers=tuple(msgspec.structs.replace(v, max_km=0.0) if v.id == v0 else v for v in churned.volunteers),
    )
    dropped = {(d.volunteer, d.shift): d.why for d in solve(shrunk, time_limit_s=2, seed=1).previous_dropped}
    assert dropped[(v0, s0)] == "no longer eligible: distance"


def test_json_round_trip_through_solve_file(tmp_path: Path) -> None:
    problem = generate.roster(30, 60, seed=1)
    path = tmp_path / "roster.json"
    raw, text = solve_through_file("roster", problem, path)
    assert all({"volunteer", "shift"} <= a.keys() for a in raw["assignments"])
    result = msgspec.json.decode(text, type=RosterResult)
    assert check(problem, result.assignments) == []
    # Times are ISO-8601 with their offset.
    assert json.loads(path.read_text())["shifts"][0]["start"].endswith("+08:00")


def test_times_without_offsets_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "naive.json"
    shift = {
        "id": "s",
        "start": "2026-11-30T09:00:00",
        "end": "2026-11-30T10:00:00",
        "place": [31, 121],
        "headcount": 1,
    }
    path.write_text(json.dumps({"volunteers": [], "shifts": [shift]}))
    with pytest.raises(SystemExit, match="not a valid roster problem"):
        solving_people.solve_file("roster", path, time_limit_s=1, seed=1)


def test_committed_schema_matches_the_structs() -> None:
    assert_schema_committed("roster")


def test_problem_and_result_survive_pickling_for_the_process_pool() -> None:
    problem = generate.roster(20, 40, seed=2)
    result = solve(problem, time_limit_s=2, seed=1)
    assert pickle.loads(pickle.dumps(problem)) == problem  # noqa: S301 - our own bytes, as a process pool sends them
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 - our own bytes


def test_reliability_is_a_soft_preference_never_a_ban() -> None:
    shift = Shift("s", at(9), at(11), place(0, 0), 1)
    reliable = Volunteer("reliable", place(1, 0), 10.0, 600, (), ((at(0), at(24)),), reliability=1.0)
    unreliable = Volunteer("unreliable", place(1, 0), 10.0, 600, (), ((at(0), at(24)),), reliability=0.25)
    # A tie otherwise: the reliable volunteer wins it.
    both = solve(RosterProblem((unreliable, reliable), (shift,)), time_limit_s=2, seed=1)
    assert [a.volunteer for a in both.assignments] == ["reliable"]
    assert check(RosterProblem((unreliable, reliable), (shift,)), both.assignments) == []
    # Alone, the unreliable volunteer still gets the place, 7 points (floor(10 x 0.75)) lower.
    alone = solve(RosterProblem((unreliable,), (shift,)), time_limit_s=2, seed=1)
    (a,) = alone.assignments
    assert a.volunteer == "unreliable"
    assert a.reliability_penalty == 7
    assert a.value == 120 - a.travel_penalty - 7
    # Even on a shift worth less than the penalty, the pair keeps a value of 1 rather than vanishing.
    short = Shift("short", at(9), at(9) + timedelta(minutes=8), place(0, 0), 1)
    never = Volunteer("never", place(0, 0), 10.0, 600, (), ((at(0), at(24)),), reliability=0.0)
    problem = RosterProblem((never,), (short,))
    (b,) = solve(problem, time_limit_s=2, seed=1).assignments
    assert (b.volunteer, b.value) == ("never", 1)
    assert check(problem, [b]) == []
    assert evaluate(problem, [("never", "short")]) == 1
