"""311 teams: three carers for each empty-nest household, visiting in one weekly slot they all have free (a carer's
teams visit in different slots); greedy or repaired start, CP-SAT neighbourhoods, LP bound."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Literal

import msgspec
import numpy as np

from matching.common import BoolArray, Budget, Conflict, ProgressFn, ResultHeader, haversine_km
from matching.people_core import (
    CpsatCost,
    NeighbourhoodSolver,
    SparseModel,
    budgeted_cpsat,
    haversine_np,
    lat_lon,
    lp_relaxation,
    near_pairs,
    repeated_ids,
    solve_people,
    unit_xyz,
)

Id = int | str
LatLon = tuple[float, float]
TEAM_VALUE = 10_000
KEPT_BONUS = 500
INITIAL_NEIGHBOURHOOD = 60  # households; CP-SAT closes these in a fraction of a second
ROUND_LIMIT_S = 0.5
TRAINED_SURCHARGE = 100  # greedy's extra cost on a trained carer, in metres/10
COLUMN_POOL = 9  # cheapest carers per slot from which a household's teams are enumerated (84 teams)
WHOLE_MODEL_VARS = 5_000
# The pin search (pinned_start): the cheapest carers per slot a pinned household's teams are completed from, how
# many of its teams it tries, and how many it tries in all before it calls the pins a clash (deterministic).
PIN_POOL = 12
PIN_OPTIONS = 300
PIN_SEARCH_NODES = 20_000
# Work, in reference seconds (see matching.common.Budget), measured in CPU time on the bench instances:
# CP-SAT rounds on team neighbourhoods: CPU s = 1.05 x deterministic s + 1.5e-6 x nonzeros + 0.035 (least squares
# over the 62 rounds of two 3,000 x 1,000 solves, a fresh one and a re-plan after churn).
CPSAT_COST = CpsatCost(det_per_s=0.95, s_per_nnz=2e-6, s_per_round=0.035)
# Choosing a neighbourhood and writing its column model, per household of the problem.
ROUND_S_PER_HOUSEHOLD = 2e-5
# Building the data and the start plan, per household (0.17 s at 3,000 x 1,000).
START_S_PER_HOUSEHOLD = 2e-4


class Carer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A social worker or volunteer carer: home, training, how many teams they can join, weekly slots, and the
    slots they are already committed in elsewhere (busy: another team's visits, places they hold)."""

    id: Id
    home: LatLon
    trained: bool
    max_teams: int
    slots: tuple[str, ...] = ()
    busy: tuple[str, ...] = ()


def free_slots(carer: Carer) -> set[str]:
    """The weekly slots a carer can give a team: available and not committed elsewhere."""
    return set(carer.slots) - set(carer.busy)


class Household(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An empty-nest elderly household: home, how far its carers may live, the weekly slots it can receive them."""

    id: Id
    home: LatLon
    max_km: float
    slots: tuple[str, ...] = ()


class PreviousTeam(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A household's team in the last plan, and the weekly slot it visited in (kept by the repair while it holds)."""

    household: Id
    carers: tuple[Id, ...]
    slot: str | None = None


class TeamsProblem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Carers, households, the team rules and the last plan."""

    carers: tuple[Carer, ...]
    households: tuple[Household, ...]
    team_size: int = 3
    min_trained: int = 1
    previous: tuple[PreviousTeam, ...] = ()
    # (household, carer) pairs the household refused: "the elder may choose or refuse a carer".
    refused: tuple[tuple[Id, Id], ...] = ()
    # (household, carer) pairs a planner pinned: every plan has the carer on the household's team.
    pinned: tuple[tuple[Id, Id], ...] = ()


class TeamMember(msgspec.Struct, frozen=True):
    """One carer of a team and what they contribute to its value."""

    carer: Id
    metres: int
    penalty: int
    trained: bool
    kept: bool


class Team(msgspec.Struct, frozen=True):
    """A household's quasi-family: its carers, the value, its weekly visit slot, the slots all share, binding rules."""

    household: Id
    carers: tuple[Id, ...]
    value: int
    slot: str = ""
    members: tuple[TeamMember, ...] = ()
    kept: int = 0
    shared_slots: tuple[str, ...] = ()
    binding: tuple[str, ...] = ()


class BusyCarer(msgspec.Struct, frozen=True):
    """An eligible carer already on max_teams teams, and the households they serve."""

    carer: Id
    households: tuple[Id, ...]


class UncoveredHousehold(msgspec.Struct, frozen=True):
    """A household left without a team: nobody could form one (and why), or its carers serve others."""

    household: Id
    why: Literal["nobody-eligible", "outscored"]
    detail: str
    excluded_by: dict[str, int] = {}
    busy: tuple[BusyCarer, ...] = ()


class TeamsResult(ResultHeader, frozen=True):
    """The teams, the objective, a proven bound and where it came from, and reasons for every decision."""

    objective: int
    covered: int = 0
    assignments: tuple[Team, ...] = ()
    uncovered: tuple[UncoveredHousehold, ...] = ()
    previous_kept: int = 0
    phases: tuple[str, ...] = ()


def distance_penalty(km: float) -> int:
    """floor(metres / 10): what a member's distance costs a team."""
    return math.floor(km * 1000 / 10)


# --------------------------------------------------------------------------------------------- the checker


def check(problem: TeamsProblem, teams: tuple[Team, ...] | list[Team]) -> list[str]:
    """Every rule a set of teams breaks, recomputed from the problem alone (empty means valid)."""
    errors: list[str] = []
    carers = {c.id: c for c in problem.carers}
    households = {h.id: h for h in problem.households}
    previous = {p.household: set(p.carers) for p in problem.previous}
    refused = {(h, c) for h, c in problem.refused}
    load: dict[Id, int] = defaultdict(int)
    visiting: dict[tuple[Id, str], int] = defaultdict(int)
    seen: set[Id] = set()
    for team in teams:
        h = households.get(team.household)
        if h is None:
            errors.append(f"unknown household {team.household!r}")
            continue
        if team.household in seen:
            errors.append(f"household {team.household!r} has two teams")
        seen.add(team.household)
        members = [carers.get(c) for c in team.carers]
        if any(m is None for m in members):
            errors.append(f"team of {team.household!r} names an unknown carer")
            continue
        if len(set(team.carers)) != len(team.carers) or len(team.carers) != problem.team_size:
            errors.append(f"team of {team.household!r} is not {problem.team_size} distinct carers")
        value = TEAM_VALUE
        common = set(h.slots)
        trained = 0
        for cid, c in zip(team.carers, members, strict=True):
            assert c is not None
            load[cid] += 1
            visiting[cid, team.slot] += 1
            if (team.household, cid) in refused:
                errors.append(f"carer {cid!r} was refused by {team.household!r}")
            km = haversine_km(c.home, h.home)
            if km > h.max_km:
                errors.append(f"carer {cid!r} lives {km:.3f} km from {team.household!r}, beyond {h.max_km}")
            value -= math.floor(km * 1000 / 10)
            value += KEPT_BONUS if cid in previous.get(team.household, set()) else 0
            common &= free_slots(c)
            trained += int(c.trained)
        if trained < problem.min_trained:
            errors.append(f"team of {team.household!r} has {trained} trained, fewer than {problem.min_trained}")
        if not common:
            errors.append(f"team of {team.household!r} shares no slot with its household")
        elif team.slot not in common:
            errors.append(f"team of {team.household!r} visits at {team.slot!r}, not a slot all of them have free")
        if value != team.value:
            errors.append(f"team of {team.household!r} claims value {team.value}, the rules give {value}")
    planned = {(t.household, c) for t in teams for c in t.carers}
    for hid, cid in problem.pinned:
        if (hid, cid) not in planned:
            errors.append(f"the plan drops the pinned pair {hid!r} -> {cid!r}")
    for cid, n in load.items():
        if n > carers[cid].max_teams:
            errors.append(f"carer {cid!r} is on {n} teams, over max_teams {carers[cid].max_teams}")
    for (cid, slot), n in visiting.items():
        if n > 1:
            errors.append(f"carer {cid!r} is on {n} teams visiting at {slot!r}")
    return errors


def evaluate(problem: TeamsProblem, teams: list[tuple[Id, tuple[Id, ...]]]) -> int:
    """Total value of (household, carers) teams by the rules, kept-member bonus included (feasibility not checked)."""
    carers = {c.id: c for c in problem.carers}
    households = {h.id: h for h in problem.households}
    previous = {p.household: set(p.carers) for p in problem.previous}
    total = 0
    for hid, members in teams:
        total += TEAM_VALUE
        for cid in members:
            total -= distance_penalty(haversine_km(carers[cid].home, households[hid].home))
            total += KEPT_BONUS if cid in previous.get(hid, set()) else 0
    return total


def validate(problem: TeamsProblem) -> list[Conflict]:
    """Data that no set of teams can satisfy, not even none, or that cannot be read unambiguously."""
    conflicts = repeated_ids(carer=[c.id for c in problem.carers], household=[h.id for h in problem.households])
    if problem.team_size < 1:
        conflicts.append(Conflict("team_size", f"team_size {problem.team_size} < 1"))
    if problem.min_trained < 0:
        conflicts.append(Conflict("min_trained", f"min_trained {problem.min_trained} < 0"))
    for c in problem.carers:
        if c.max_teams < 0:
            conflicts.append(Conflict("max_teams", f"carer {c.id!r} has max_teams {c.max_teams} < 0"))
    if problem.pinned and not conflicts:
        conflicts += pin_conflicts(problem)
    return conflicts


# Why a pin cannot hold, as pin_conflicts says it (the end of each conflict's detail).
PIN_RULES = ("unknown", "refused", "distance", "no-shared-slot", "team-full", "carer-full", "no-team", "pins-clash")


def pin_conflicts(problem: TeamsProblem) -> list[Conflict]:
    """Pins no plan can hold, each ending in a PIN_RULES code: an unknown household or carer, a refused pair, a
    carer beyond walking distance or sharing no slot with the household, more pins on a household than a team has
    members or on a carer than their max_teams, pins no team can be completed around (slots, trained), or pins
    that together leave no plan (one carer's teams need different slots)."""
    conflicts: list[Conflict] = []
    carers = {c.id: c for c in problem.carers}
    households = {h.id: h for h in problem.households}
    refused = set(problem.refused)
    for hid, cid in dict.fromkeys(problem.pinned):
        house, carer = households.get(hid), carers.get(cid)
        rule = None
        if house is None or carer is None:
            rule = "unknown"
        elif (hid, cid) in refused:
            rule = "refused"
        elif haversine_km(carer.home, house.home) > house.max_km:
            rule = "distance"
        elif not set(house.slots) & free_slots(carer):
            rule = "no-shared-slot"
        if rule is not None:
            conflicts.append(Conflict("pinned", f"pin {hid!r} -> {cid!r}: {rule}"))
    if conflicts:
        return conflicts
    data = TeamsData(problem)
    for h, forced in sorted(data.forced.items()):
        hid = problem.households[h].id
        if len(forced) > data.size:
            conflicts.append(Conflict("pinned", f"pins on {hid!r}: team-full"))
        elif data.best_team(h, None, forced) is None:
            conflicts.append(Conflict("pinned", f"pins on {hid!r}: no-team"))
    pins_per_carer: dict[int, int] = defaultdict(int)
    for forced in data.forced.values():
        for c in forced:
            pins_per_carer[c] += 1
    for c, n in sorted(pins_per_carer.items()):
        if n > data.cap[c]:
            conflicts.append(Conflict("pinned", f"pins of {problem.carers[c].id!r}: carer-full"))
    if not conflicts and data.pinned_plan is None:
        conflicts.append(Conflict("pinned", "pins together: pins-clash"))
    return conflicts


# --------------------------------------------------------------------------------------------- the data


class TeamsData:
    """Eligible (household, carer) pairs with their value, slots as bit masks, grouped by household."""

    def __init__(self, problem: TeamsProblem) -> None:
        self.problem = problem
        carers, households = problem.carers, problem.households
        self.nc, self.nh = len(carers), len(households)
        self.size, self.min_trained = problem.team_size, problem.min_trained
        self.c_index = {c.id: i for i, c in enumerate(carers)}
        self.h_index = {h.id: i for i, h in enumerate(households)}
        slot_ids: dict[str, int] = {}
        for h in households:
            for t in h.slots:
                slot_ids.setdefault(t, len(slot_ids))
        self.slot_names = list(slot_ids)
        self.c_mask = [sum(1 << slot_ids[t] for t in free_slots(c) if t in slot_ids) for c in carers]
        self.h_mask = [sum(1 << slot_ids[t] for t in set(h.slots)) for h in households]
        self.trained = [bool(c.trained) for c in carers]
        self.cap = [max(0, c.max_teams) for c in carers]
        self.c_lat, self.c_lon = lat_lon([c.home for c in carers])
        self.c_xyz = unit_xyz(self.c_lat, self.c_lon)
        self.h_xyz = unit_xyz(*lat_lon([h.home for h in households]))
        max_km = np.array([h.max_km for h in households], dtype=np.float64).reshape(-1)
        hi, ci = near_pairs(self.h_xyz, max_km, self.c_xyz, cell_km=2.0)
        previous = {
            self.h_index[p.household]: {self.c_index[c] for c in p.carers if c in self.c_index}
            for p in problem.previous
            if p.household in self.h_index
        }
        self.previous = previous
        # The slot (index into slot_names) each previous team visited in, where it is still one of the household's.
        self.previous_slot = {
            self.h_index[p.household]: slot_ids[p.slot]
            for p in problem.previous
            if p.household in self.h_index and p.slot in slot_ids
        }
        # Per household: eligible carers as (carer, cost, km) where cost = penalty - kept bonus (lower is better).
        self.cands: list[list[tuple[int, int, float]]] = [[] for _ in range(self.nh)]
        refused = {
            (self.h_index[h], self.c_index[c]) for h, c in problem.refused if h in self.h_index and c in self.c_index
        }
        order = np.lexsort((ci, hi))
        for h, c in zip(hi[order].tolist(), ci[order].tolist(), strict=True):
            if not self.h_mask[h] & self.c_mask[c] or (h, c) in refused:
                continue
            km = haversine_km(carers[c].home, households[h].home)
            if km > households[h].max_km:
                continue
            cost = distance_penalty(km) - (KEPT_BONUS if c in previous.get(h, ()) else 0)
            self.cands[h].append((c, cost, km))
        self.np_ = sum(len(c) for c in self.cands)
        # The carers pinned to each household (household index -> sorted carer indices): every team keeps them.
        forced: dict[int, set[int]] = defaultdict(set)
        for hid, cid in problem.pinned:
            if hid in self.h_index and cid in self.c_index:
                forced[self.h_index[hid]].add(self.c_index[cid])
        self.forced = {h: tuple(sorted(cs)) for h, cs in forced.items()}
        # Whether a household could have any team at all, capacity aside (fixed for the whole solve).
        self.possible = [self.best_team(h, None, self.forced.get(h, ())) is not None for h in range(self.nh)]
        # The pinned households' teams every plan starts from (None: the pins cannot all hold together).
        self.pinned_plan: Plan | None = pinned_start(self) if self.forced else {}

    def best_team(
        self,
        h: int,
        load: list[int] | None,
        forced: tuple[int, ...] = (),
        surcharge: int = 0,
        taken: list[int] | None = None,
        within: int = -1,
    ) -> tuple[int, tuple[int, ...], int] | None:
        """The cheapest valid team for a household (cost, carers, slot index), honouring carer capacity if `load`
        and, if `taken` (a slot mask per carer), the slots each carer already visits another household in.

        A `surcharge` on trained carers makes the choice spare them where an untrained carer does nearly as well
        (the returned cost is still the real one); `within` is a mask of the slots to consider.
        """
        best: tuple[int, tuple[int, ...], int] | None = None
        mask = self.h_mask[h] & within
        for c in forced:
            mask &= self.c_mask[c] & ~(taken[c] if taken is not None else 0)
        if len(forced) > self.size or not mask:
            return None
        forced_cost = {c: cost for c, cost, _ in self.cands[h]}
        if any(c not in forced_cost for c in forced):
            return None
        base = sum(forced_cost[c] for c in forced)
        need = self.size - len(forced)
        need_trained = max(0, self.min_trained - sum(self.trained[c] for c in forced))
        pool = [
            (cost + surcharge * self.trained[c], c)
            for c, cost, _ in self.cands[h]
            if c not in forced and (load is None or load[c] < self.cap[c]) and self.c_mask[c] & mask
        ]
        pool.sort()
        for k in range(mask.bit_length()):
            bit = 1 << k
            if mask & bit:
                here = [(cost, c) for cost, c in pool if self.c_mask[c] & bit and not (taken and taken[c] & bit)]
                team = _cheapest(here, need, need_trained, self.trained)
                if team is not None:
                    cost = base + sum(forced_cost[c] for _, c in team)
                    if best is None or cost < best[0]:
                        best = (cost, forced + tuple(c for _, c in team), k)
        return best

    def team_value(self, h: int, members: tuple[int, ...]) -> int:
        """TEAM_VALUE minus the members' costs."""
        costs = {c: cost for c, cost, _ in self.cands[h]}
        return TEAM_VALUE - sum(costs[c] for c in members)


def _cheapest(
    pool: list[tuple[int, int]], need: int, need_trained: int, trained: list[bool]
) -> list[tuple[int, int]] | None:
    """The `need` cheapest of a sorted pool with at least `need_trained` trained (exchange argument: optimal)."""
    if len(pool) < need or need_trained > need:
        return None
    chosen = pool[:need]
    have = sum(trained[c] for _, c in chosen)
    if have >= need_trained:
        return chosen
    extra = [p for p in pool[need:] if trained[p[1]]][: need_trained - have]
    if len(extra) < need_trained - have:
        return None
    keep_untrained = [p for p in chosen if not trained[p[1]]]
    keep_trained = [p for p in chosen if trained[p[1]]]
    drop = len(extra)
    return keep_trained + keep_untrained[: len(keep_untrained) - drop] + extra


# --------------------------------------------------------------------------------------------- plans


Plan = dict[int, tuple[tuple[int, ...], int]]  # household index -> (carer indices, slot index)


def _objective(data: TeamsData, plan: Plan) -> int:
    return sum(data.team_value(h, m) for h, (m, _) in plan.items())


def plan_load(data: TeamsData, plan: Plan) -> tuple[list[int], list[int]]:
    """How many teams each carer is on, and the slots (a mask) they visit them in."""
    load = [0] * data.nc
    taken = [0] * data.nc
    for members, k in plan.values():
        for c in members:
            load[c] += 1
            taken[c] |= 1 << k
    return load, taken


def _fixed_load(data: TeamsData, plan: Plan, free: list[int]) -> tuple[list[int], list[int]]:
    """Load and slots taken outside the households in `free` (the fixed part of a neighbourhood)."""
    free_set = set(free)
    return plan_load(data, {h: team for h, team in plan.items() if h not in free_set})


def _take(plan: Plan, load: list[int], taken: list[int], h: int, members: tuple[int, ...], k: int) -> None:
    plan[h] = (members, k)
    for c in members:
        load[c] += 1
        taken[c] |= 1 << k


def _fill(data: TeamsData, plan: Plan, order: list[int], surcharge: int = 0) -> Plan:
    plan = dict(plan)
    load, taken = plan_load(data, plan)
    for h in order:
        if h in plan:
            continue
        team = data.best_team(h, load, (), surcharge, taken)
        if team is not None:
            _take(plan, load, taken, h, team[1], team[2])
    return plan


def pin_options(data: TeamsData, h: int) -> list[tuple[int, tuple[int, ...], int]]:
    """A pinned household's valid teams that keep its pins (cost, sorted carers, slot), cheapest first, capacity
    aside; completed from the PIN_POOL cheapest carers of each slot, at most PIN_OPTIONS of them."""
    forced = data.forced.get(h, ())
    cost = {c: k for c, k, _ in data.cands[h]}
    need = data.size - len(forced)
    if need < 0 or any(c not in cost for c in forced):
        return []
    mask = data.h_mask[h]
    for c in forced:
        mask &= data.c_mask[c]
    base = sum(cost[c] for c in forced)
    options = []
    for k in range(mask.bit_length()):
        bit = 1 << k
        if not mask & bit:
            continue
        here = sorted((cost[c], c) for c in cost if c not in forced and data.c_mask[c] & bit)[:PIN_POOL]
        for combo in itertools.combinations(here, need):
            members = tuple(sorted(forced + tuple(c for _, c in combo)))
            if sum(data.trained[c] for c in members) >= data.min_trained:
                options.append((base + sum(v for v, _ in combo), members, k))
    options.sort()
    return options[:PIN_OPTIONS]


def pinned_start(data: TeamsData) -> Plan | None:
    """Teams for the pinned households that keep every pin and fit together (capacity, one visit per slot), by a
    depth-first search over each household's cheapest teams; None if it finds none within PIN_SEARCH_NODES."""
    options = {h: pin_options(data, h) for h in data.forced}
    order = sorted(options, key=lambda h: (len(options[h]), h))
    plan: Plan = {}
    load, taken = [0] * data.nc, [0] * data.nc
    tried = [0] * len(order)
    nodes = 0
    i = 0
    while 0 <= i < len(order):
        h = order[i]
        if h in plan:
            members, k = plan.pop(h)
            for c in members:
                load[c] -= 1
                taken[c] &= ~(1 << k)
        placed = False
        while tried[i] < len(options[h]) and not placed:
            nodes += 1
            if nodes > PIN_SEARCH_NODES:
                return None
            _, members, k = options[h][tried[i]]
            tried[i] += 1
            if all(load[c] < data.cap[c] and not taken[c] >> k & 1 for c in members):
                _take(plan, load, taken, h, members, k)
                placed = True
        if placed:
            i += 1
        else:
            tried[i] = 0
            i -= 1
    return plan if i == len(order) else None


def greedy(data: TeamsData) -> Plan:
    """Scarce households first, or cheapest first; sparing trained carers or not; the best of the four plans.

    Trained carers are the scarce resource (30%): a team that takes two of them where one would do can cost
    another household its team (measured: 854 households covered without the surcharge, 871 with it).
    """
    scarce = sorted(range(data.nh), key=lambda h: (len(data.cands[h]), h))
    cheap_first = []
    for h in range(data.nh):
        team = data.best_team(h, None)
        if team is not None:
            cheap_first.append((team[0], h))
    orders = [scarce, [h for _, h in sorted(cheap_first)]]
    start = data.pinned_plan or {}
    plans = [_fill(data, start, order, surcharge) for order in orders for surcharge in (0, TRAINED_SURCHARGE)]
    return max(plans, key=lambda p: (_objective(data, p), len(p)))


def repair(data: TeamsData) -> Plan:
    """Keep each previous team's surviving members, complete the team if a member left, then fill greedily.

    Every surviving member's place is reserved first, so completing one team never takes a carer another
    team still has; the pinned households' teams come before everything.
    """
    plan: Plan = dict(data.pinned_plan or {})
    load, taken = plan_load(data, plan)
    kept: dict[int, tuple[int, ...]] = {}
    for h in sorted(data.previous):
        if h in plan:
            continue
        eligible = {c for c, _, _ in data.cands[h]}
        members = []
        for c in sorted(data.previous[h]):
            if c in eligible and load[c] < data.cap[c]:
                members.append(c)
                load[c] += 1
        kept[h] = tuple(members)
    # Intact teams first, then the ones that lost a member.
    for h in sorted(kept, key=lambda h: (len(kept[h]) != data.size, h)):
        for c in kept[h]:
            load[c] -= 1
        team = None
        # Keep as many of the old members as still fit together, in the old slot if they still can (its visits
        # stay planned); drop the fewest needed.
        old = 1 << data.previous_slot[h] if h in data.previous_slot else 0
        for k in range(len(kept[h]), -1, -1):
            team = data.best_team(h, load, kept[h][:k], 0, taken, old) if old else None
            team = team or data.best_team(h, load, kept[h][:k], 0, taken)
            if team is not None:
                break
        if team is None:
            continue
        _take(plan, load, taken, h, team[1], team[2])
    return _fill(data, plan, sorted(range(data.nh), key=lambda h: (len(data.cands[h]), h)), TRAINED_SURCHARGE)


# --------------------------------------------------------------------------------------------- models


Name = tuple[str, int, int, int]  # (kind, household, carer or -1, slot index)


def sub_model(data: TeamsData, plan: Plan, free: list[int]) -> tuple[SparseModel, list[Name]]:
    """Households in `free` re-formed with every other team fixed: z[h, s] (h's team visits in slot s) and
    x[h, c, s] (carer c is on it), each team `team_size` carers sharing its slot, each carer at most one team per
    slot and within max_teams."""
    load, taken = _fixed_load(data, plan, free)
    names: list[Name] = []
    values: list[int] = []
    rows: list[tuple[list[int], list[int], float, float]] = []
    carer_vars: dict[int, list[int]] = defaultdict(list)
    slot_vars: dict[tuple[int, int], list[int]] = defaultdict(list)
    for h in free:
        if not data.possible[h]:
            continue
        cands = [(c, cost) for c, cost, _ in data.cands[h] if load[c] < data.cap[c]]
        forced = data.forced.get(h, ())
        zs = []
        for k in range(data.h_mask[h].bit_length()):
            bit = 1 << k
            here = [(c, cost) for c, cost in cands if data.c_mask[c] & bit and not taken[c] & bit]
            if not data.h_mask[h] & bit or len(here) < data.size:
                continue
            if not set(forced) <= {c for c, _ in here}:
                continue
            if sum(data.trained[c] for c, _ in here) < data.min_trained:
                continue
            z = len(names)
            zs.append(z)
            names.append(("z", h, -1, k))
            values.append(TEAM_VALUE)
            xs = {}
            for c, cost in here:
                xs[c] = len(names)
                names.append(("x", h, c, k))
                values.append(-cost)
                carer_vars[c].append(xs[c])
                slot_vars[c, k].append(xs[c])
            # x <= z per carer would tighten the LP a little (8.81M against 8.82M on the bench instance) but triples
            # its rows and its simplex work, more than the bound's share of a 10 s budget buys.
            rows.append(([*xs.values(), z], [1] * len(xs) + [-data.size], 0.0, 0.0))
            if data.min_trained > 0:
                tr = [v for c, v in xs.items() if data.trained[c]]
                rows.append(([*tr, z], [1] * len(tr) + [-data.min_trained], 0.0, math.inf))
            for c in forced:
                # A pinned carer is on the team in whichever slot it visits.
                rows.append(([xs[c], z], [1, -1], 0.0, 0.0))
        if forced:
            rows.append((zs, [1] * len(zs), 1.0, 1.0))
        elif len(zs) > 1:
            rows.append((zs, [1] * len(zs), -math.inf, 1.0))
    for vs in slot_vars.values():
        if len(vs) > 1:
            rows.append((vs, [1] * len(vs), -math.inf, 1.0))
    for c, vs in carer_vars.items():
        room = data.cap[c] - load[c]
        if len(vs) > room:
            rows.append((vs, [1] * len(vs), -math.inf, float(room)))
    model = SparseModel(values=np.array(values, dtype=np.int64))
    for variables, coeffs, lo, hi in rows:
        model.add_row(np.array(variables, dtype=np.int64), np.array(coeffs, dtype=np.int64), lo, hi)
    return model, names


Column = tuple[int, tuple[int, ...], int]  # household, carers, slot index


def column_model(data: TeamsData, plan: Plan, free: list[int]) -> tuple[SparseModel, list[Column]]:
    """Households in `free` re-formed as set packing over enumerated teams, every other team fixed.

    The columns of a household are its current team and, for each of its slots, every valid team drawn from the
    COLUMN_POOL cheapest carers with room who have that slot free. A column carries its slot by construction, so
    the LP is far tighter than linking carers to slots with extra variables; a carer's columns in one slot are
    packed too (one visit at a time).
    """
    load, taken = _fixed_load(data, plan, free)
    columns: list[Column] = []
    values: list[int] = []
    groups: list[list[int]] = []
    pinned_groups: list[list[int]] = []
    by_carer: dict[int, list[int]] = defaultdict(list)
    by_slot: dict[tuple[int, int], list[int]] = defaultdict(list)
    for h in free:
        if not data.possible[h]:
            continue
        seen: set[tuple[tuple[int, ...], int]] = set()
        group: list[int] = []
        cost = {c: k for c, k, _ in data.cands[h]}
        options: list[tuple[tuple[int, ...], int]] = []
        if h in plan:
            options.append((tuple(sorted(plan[h][0])), plan[h][1]))
        # A pinned household's teams are its pinned carers completed from the pool (they always fit: its current
        # team, which keeps them, is among the columns).
        forced = data.forced.get(h, ())
        pool = sorted((k, c) for c, k, _ in data.cands[h] if load[c] < data.cap[c] and c not in forced)
        for k in range(data.h_mask[h].bit_length()):
            bit = 1 << k
            if data.h_mask[h] & bit and all(data.c_mask[c] & bit and not taken[c] & bit for c in forced):
                here = [c for _, c in pool if data.c_mask[c] & bit and not taken[c] & bit][:COLUMN_POOL]
                need = data.size - len(forced)
                options.extend((tuple(sorted(forced + m)), k) for m in itertools.combinations(sorted(here), need))
        for members, k in options:
            if (members, k) in seen or sum(data.trained[c] for c in members) < data.min_trained:
                continue
            seen.add((members, k))
            group.append(len(columns))
            for c in members:
                by_carer[c].append(len(columns))
                by_slot[c, k].append(len(columns))
            columns.append((h, members, k))
            values.append(TEAM_VALUE - sum(cost[c] for c in members))
        if group:
            groups.append(group)
            if forced:
                pinned_groups.append(group)
    model = SparseModel(values=np.array(values, dtype=np.int64))
    for group in groups:
        model.add_at_most_one(np.array(group, dtype=np.int64))
    for group in pinned_groups:
        # A pinned household always has a team.
        model.add_row(np.array(group, dtype=np.int64), np.ones(len(group), dtype=np.int64), 1.0, 1.0)
    for cols in by_slot.values():
        if len(cols) > 1:
            model.add_at_most_one(np.array(cols, dtype=np.int64))
    for c, cols in by_carer.items():
        room = data.cap[c] - load[c]
        if len(cols) > room:
            model.add_row(np.array(cols, dtype=np.int64), np.ones(len(cols), dtype=np.int64), -math.inf, room)
    return model, columns


def _decode(names: list[Name], x: BoolArray) -> Plan:
    plan: dict[int, list[int]] = defaultdict(list)
    slot = {h: k for (kind, h, _, k), on in zip(names, x.tolist(), strict=True) if on and kind == "z"}
    for (kind, h, c, k), on in zip(names, x.tolist(), strict=True):
        if on and kind == "x" and slot.get(h) == k:
            plan[h].append(c)
    return {h: (tuple(sorted(m)), slot[h]) for h, m in plan.items()}


# --------------------------------------------------------------------------------------------- explanations


def _explain(data: TeamsData, plan: Plan) -> tuple[list[Team], list[UncoveredHousehold]]:
    problem = data.problem
    carers, households = problem.carers, problem.households
    load, _ = plan_load(data, plan)
    teams = []
    serving: dict[int, list[int]] = defaultdict(list)
    for h, (members, _) in plan.items():
        for c in members:
            serving[c].append(h)
    for h in sorted(plan):
        members, k = plan[h]
        info = {c: (cost, km) for c, cost, km in data.cands[h]}
        common = data.h_mask[h]
        for c in members:
            common &= data.c_mask[c]
        kept_set = data.previous.get(h, set())
        detail = tuple(
            TeamMember(
                carer=carers[c].id,
                metres=int(info[c][1] * 1000),
                penalty=distance_penalty(info[c][1]),
                trained=data.trained[c],
                kept=c in kept_set,
            )
            for c in members
        )
        binding = tuple(f"max_teams of {carers[c].id}" for c in members if load[c] >= data.cap[c])
        teams.append(
            Team(
                household=households[h].id,
                carers=tuple(carers[c].id for c in members),
                value=data.team_value(h, members),
                slot=data.slot_names[k],
                members=detail,
                kept=sum(m.kept for m in detail),
                shared_slots=tuple(t for i, t in enumerate(data.slot_names) if common >> i & 1),
                binding=binding,
            )
        )
    uncovered = []
    for h in range(data.nh):
        if h in plan:
            continue
        if data.best_team(h, None) is not None:
            busy = [c for c, _, _ in sorted(data.cands[h], key=lambda t: t[1]) if load[c] >= data.cap[c]][:5]
            uncovered.append(
                UncoveredHousehold(
                    household=households[h].id,
                    why="outscored",
                    detail="a team could be formed, but its carers are on max_teams teams or visit others in its slots",
                    busy=tuple(BusyCarer(carers[c].id, tuple(households[k].id for k in serving[c])) for c in busy),
                )
            )
            continue
        uncovered.append(_nobody(data, h))
    return teams, uncovered


def explain(data: TeamsData, plan: Plan) -> list[Team]:
    """The teams of a plan as the result gives them (value, slot, members and binding rules)."""
    return _explain(data, plan)[0]


def _nobody(data: TeamsData, h: int) -> UncoveredHousehold:
    problem = data.problem
    house = problem.households[h]
    # Counts for the explanation only, so the vectorised distance is precise enough.
    km = haversine_np(data.c_lat, data.c_lon, np.full(data.nc, house.home[0]), np.full(data.nc, house.home[1]))
    close = np.flatnonzero(km <= house.max_km).tolist()
    near = len(close)
    shares = sum(bool(data.c_mask[c] & data.h_mask[h]) for c in close)
    excluded = {"distance": data.nc - near, "no shared slot": near - shares}
    trained = sum(data.trained[c] for c, _, _ in data.cands[h])
    if data.min_trained > data.size:
        detail = f"min_trained {data.min_trained} exceeds team_size {data.size}"
    elif shares < data.size:
        detail = f"only {shares} carers within {house.max_km} km share a slot; a team needs {data.size}"
    elif trained < data.min_trained:
        detail = f"only {trained} trained carers are eligible; a team needs {data.min_trained}"
    else:
        detail = f"no slot is shared by {data.size} eligible carers with {data.min_trained} trained"
    return UncoveredHousehold(
        household=house.id,
        why="nobody-eligible",
        detail=detail,
        excluded_by={k: v for k, v in excluded.items() if v},
    )


# --------------------------------------------------------------------------------------------- solve


def solve(
    problem: TeamsProblem,
    *,
    time_limit_s: float,
    seed: int,
    previous: TeamsResult | tuple[PreviousTeam, ...] | None = None,
    on_progress: ProgressFn | None = None,
    work: float | None = None,
) -> TeamsResult:
    """Form teams to maximise total value within the time limit; the teams are always checked.

    `work` is the search budget in reference seconds (matching.common.Budget); by default a share of the time
    limit that an idle machine spends inside it. The same problem, seed and work give the same teams.
    """
    if isinstance(previous, TeamsResult):
        previous = tuple(PreviousTeam(t.household, t.carers, t.slot or None) for t in previous.assignments)
    return solve_people(_Solver, validate, TeamsResult, problem, previous, time_limit_s, seed, on_progress, work)


class _Solver(NeighbourhoodSolver[Plan, TeamsResult]):
    """One teams solve: greedy or repaired start, LP bound, CP-SAT neighbourhoods over enumerated teams."""

    def __init__(self, problem: TeamsProblem, budget: Budget, seed: int, on_progress: ProgressFn | None) -> None:
        self.problem = problem
        self.data = TeamsData(problem)
        budget.charge(START_S_PER_HOUSEHOLD * self.data.nh)
        # Every household covered by its cheapest team, ignoring capacity: a bound that needs no solver.
        trivial = 0
        for h in range(self.data.nh):
            team = self.data.best_team(h, None)
            if team is not None:
                trivial += TEAM_VALUE - team[0]
        self.by_carer: list[list[int]] | None = None
        super().__init__(
            budget, seed, on_progress, repairing=bool(problem.previous), empty=self.empty_plan(), bound=float(trivial)
        )

    def reserve(self) -> float:
        """Seconds the explanation and the checker will need at the end (held back from both work and clock)."""
        return 0.05 + 3e-6 * self.data.np_ + 2e-5 * self.data.nh + 1e-6 * self.data.nc * (self.data.nh - len(self.best))

    def first_plan(self) -> Plan:
        """The last teams repaired, or the best greedy plan."""
        return repair(self.data) if self.problem.previous else greedy(self.data)

    def value(self, plan: Plan) -> int:
        """Total value of the teams."""
        return _objective(self.data, plan)

    def copy(self, plan: Plan) -> Plan:
        """An independent copy."""
        return dict(plan)

    def empty_plan(self) -> Plan:
        """No team but the pinned households' (the pins hold together, or validate would have said so)."""
        return dict(self.data.pinned_plan or {})

    def final_plan(self, plan: Plan) -> Plan:
        """The teams as they are: the neighbourhood rounds leave nothing to fill."""
        return plan

    def errors(self, result: TeamsResult) -> list[str]:
        """The independent checker's verdict."""
        return check(self.problem, result.assignments)

    def prove_bound(self) -> None:
        """The LP bound, first, so the neighbourhood rounds know when to stop; capped so it cannot starve them."""
        budget = self.budget
        if budget.fits(self.reserve() + 0.5, clock_reserve=self.reserve()):
            model, _ = full_model(self.data)
            work = min(0.15 * budget.left(), budget.left() - self.reserve() - 0.2)
            lp, _ = lp_relaxation(model, budget, work=work, seed=self.seed, clock_reserve=self.reserve())
            self.tighten(lp, "lp-relaxation")

    def result_of(self, plan: Plan) -> TeamsResult:
        """The result for a plan, with its reasons."""
        teams, uncovered = _explain(self.data, plan)
        return self.result(
            TeamsResult,
            sum(t.value for t in teams),
            covered=len(teams),
            assignments=tuple(teams),
            uncovered=tuple(uncovered),
            previous_kept=sum(t.kept for t in teams),
        )

    def round_work(self) -> float:
        """Work to pick one neighbourhood and write its model, outside CP-SAT."""
        return 0.002 + ROUND_S_PER_HOUSEHOLD * self.data.nh

    def exhaustive(self) -> bool:
        """Whether the enumerated teams are every team (no slot has more eligible carers than the pool)."""
        return all(len(c) <= COLUMN_POOL for c in self.data.cands)

    def competitors(self, start: int, k: int) -> list[int]:
        """Up to k households reached from `start` through shared eligible carers (breadth first)."""
        data = self.data
        if self.by_carer is None:
            self.by_carer = [[] for _ in range(data.nc)]
            for h in range(data.nh):
                for c, _, _ in data.cands[h]:
                    self.by_carer[c].append(h)
        seen = {start}
        queue = [start]
        for h in queue:
            for c, _, _ in data.cands[h]:
                for other in self.by_carer[c]:
                    if other not in seen and len(seen) < k:
                        seen.add(other)
                        queue.append(other)
            if len(seen) >= k:
                break
        return sorted(seen)

    def improve(self) -> None:
        """Large-neighbourhood rounds re-forming some households' teams by CP-SAT, every other team fixed.

        A round takes the households nearest a random point, or a left-out household and those competing for
        its carers, and solves them as set packing over enumerated teams from the complete hint.
        """
        data, budget = self.data, self.budget
        if data.nh == 0:
            return
        rng = np.random.default_rng(self.seed)
        target = INITIAL_NEIGHBOURHOOD
        rounds = 0
        while self.best_value < self.bound:
            if not budget.fits(self.reserve() + self.round_work() + 0.1, clock_reserve=self.reserve()):
                break
            budget.charge(self.round_work())
            uncovered = [h for h in range(data.nh) if h not in self.best and data.possible[h]]
            k = min(data.nh, target)
            if uncovered and rounds % 2 == 0:
                # Half the rounds start from a household left out and take the households competing with it
                # for the same carers, then theirs: where a better plan most likely hides.
                free = self.competitors(uncovered[int(rng.integers(0, len(uncovered)))], k)
            else:
                centre = data.h_xyz[int(rng.integers(0, data.nh))]
                dist = np.sum((data.h_xyz - centre) ** 2, axis=1)
                free = sorted(np.argpartition(dist, k - 1)[:k].tolist() if k < data.nh else range(data.nh))
            whole = len(free) == data.nh
            model, columns = column_model(data, self.best, free)
            current = {(h, tuple(sorted(m)), k) for h, (m, k) in self.best.items()}
            hint = np.array([col in current for col in columns], dtype=bool)
            if model.n == 0:
                if whole:
                    self.tighten(float(self.best_value), "cp-sat")
                rounds += 1
                continue
            before = model.objective(hint)
            # A small problem that fits one neighbourhood gets all the time there is: CP-SAT may prove it.
            cap = math.inf if whole and model.n <= WHOLE_MODEL_VARS else ROUND_LIMIT_S
            work = min(budget.left() - self.reserve() - 0.05, cap)
            if work <= 0.05:
                break
            outcome = budgeted_cpsat(
                model,
                hint,
                budget,
                work=work,
                cost=CPSAT_COST,
                seed=self.seed + rounds,
                clock_reserve=self.reserve(),
            )
            rounds += 1
            target = int(min(data.nh, target * 1.1)) if outcome.optimal else int(max(10, target * 0.7))
            if outcome.x is None or outcome.value is None:
                continue
            if outcome.value > before:
                plan = {h: m for h, m in self.best.items() if h not in set(free)}
                for i in np.flatnonzero(outcome.x).tolist():
                    h, members, k = columns[i]
                    plan[h] = (members, k)
                self.offer(plan, "lns")
            if outcome.optimal and whole and self.exhaustive():
                # The neighbourhood was every household: CP-SAT proved the plan optimal.
                self.tighten(float(max(outcome.value, before)), "cp-sat")
        if rounds:
            self.phases.append(f"lns rounds: {rounds}")


def full_model(data: TeamsData) -> tuple[SparseModel, list[Name]]:
    """Every household's variables in one model (for plain CP-SAT and the LP bound)."""
    return sub_model(data, {}, list(range(data.nh)))


def decode(names: list[Name], x: BoolArray) -> Plan:
    """A 0-1 vector of the full model as household -> (carers, slot index)."""
    return _decode(names, x)
