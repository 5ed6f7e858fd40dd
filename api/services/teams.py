"""311 quasi-families (311类家庭小组): three carers per empty-nest household, kept across periods.

A 311 project is an organisation's contract whose lot covers needs of the 311 catalogue item; its households are
the ones the committees named on those needs. The organisation runs `matching.teams` over them (a `match_runs` row
with model 'teams' before it is an arq job, exactly like award runs): three carers per household, at least one
trained (an elderly-carer or social-worker certificate verified by staff and not expired), all living
within walking distance and sharing a weekly slot of their availability. The live teams are the previous plan, so
a re-run keeps them. A household may refuse a carer: that is recorded, and only that team is re-planned, keeping
its other members. Each team gets a visit planned every week at its slot; members record the contacts they make,
and the team's page says whether the month's minimum (4 hours, 2 contacts) is met.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
import structlog
from msgspec import Meta

from api.services import audit_log, pinning, runs
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.household_access import MaskedHousehold, masked
from api.services.runs import JobQueue
from api.services.types import SHANGHAI
from matching import teams as teams_model
from sql import calendar as calendar_sql
from sql import match_runs as runs_sql
from sql import team_pins as team_pins_sql
from sql import teams as teams_sql
from sql.match_runs import RunRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_ORGANISATIONS = "Only the organisation running the project may do this"
_ONLY_VOLUNTEERS = "Only volunteers have teams"

log = structlog.get_logger("linli.teams")

MODEL = "teams"
SUBJECT = "contract"
TIME_LIMIT_S = 10.0
# "Pair the nearest people first": carers live within walking distance of the household.
WALKING_KM = 2.0
# Each carer is on at most this many teams (across all projects).
MAX_TEAMS_PER_CARER = 2
TEAM_SIZE = 3
MIN_TRAINED = 1
# Weekly slots in Shanghai wall time; a carer has a slot when one of their weekly windows covers it (sql/teams.py).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS = {"am": dt.time(9, 0), "pm": dt.time(14, 0)}
ALL_SLOTS = tuple(f"{d}-{p}" for d in WEEKDAYS for p in PARTS)
# A household receives visits in the slots its committee registered (households.visit_slots); none means any.
HOUSEHOLD_SLOTS = ALL_SLOTS
# Visits are planned (and held in the members' calendars) this many weeks ahead, a rolling horizon.
PLAN_WEEKS = 8
# How long a visit holds its members' time (team_visit_during in migration 0022 says the same).
VISIT_LENGTH = dt.timedelta(hours=2)
# The pairing rules from practice: at least 4 hours and 2 contacts a month.
MONTHLY_MINUTES = 240
MONTHLY_CONTACTS = 2
CONTACT_KINDS = ("home_visit", "phone", "video", "outing")
RECORD_WINDOW = dt.timedelta(days=62)

ContactKind = Literal["home_visit", "phone", "video", "outing"]
AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]


class VisitCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A contact a member made: when (with its UTC offset), how long, and what kind."""

    at: AwareDateTime
    minutes: Annotated[int, Meta(ge=1, le=720)]
    contact_kind: ContactKind = "home_visit"


class RefusalCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The household refuses one of its team's carers."""

    volunteer_id: Annotated[int, Meta(ge=1, le=2**62)]


class TeamsInputs(msgspec.Struct, frozen=True):
    """Everything a teams run decides from, loaded by the project's id."""

    project: teams_sql.ProjectRow
    problem: teams_model.TeamsProblem
    trained: dict[int, bool]
    # Pins no plan can keep, each {"pin_id", "household_id", "why"} (why: a PIN_WHY code).
    pin_conflicts: list[dict[str, Any]] = []

    def digest(self) -> str:
        """A fingerprint of the inputs (the pins kept and those that cannot be): equal inputs, equal digest."""
        return hashlib.sha256(msgspec.json.encode((self.problem, self.pin_conflicts))).hexdigest()


class ProjectHousehold(msgspec.Struct, frozen=True):
    """A household of a project as the organisation sees it: committee, masked address, its team and its month."""

    household: MaskedHousehold
    members: int
    team_id: int | None
    team_slot: str | None
    team_size: int
    month_minutes: int = 0
    month_contacts: int = 0
    month_met: bool = False


class ProjectView(msgspec.Struct, frozen=True):
    """A 311 project with its households and the latest run."""

    project: teams_sql.ProjectRow
    households: list[ProjectHousehold]
    latest_run: RunRow | None


class MonthFigures(msgspec.Struct, frozen=True):
    """A team's contacts this month against the minimum."""

    month: str
    minutes: int
    contacts: int
    minimum_minutes: int
    minimum_contacts: int
    met: bool


class TeamView(msgspec.Struct, frozen=True):
    """A team's page: household (masked), members, visits, the month's figures, and what the caller may do."""

    id: int
    status: str
    slot: str
    household: MaskedHousehold
    organisation_id: int
    organisation_name: str
    contract_id: int
    formed_at: dt.datetime
    members: list[teams_sql.MemberRow]
    past_members: list[teams_sql.MemberRow]
    visits: list[teams_sql.VisitRow]
    month: MonthFigures
    is_member: bool
    is_organisation: bool


class MyTeam(msgspec.Struct, frozen=True):
    """A team the volunteer belongs to."""

    id: int
    household: MaskedHousehold
    organisation_name: str
    slot: str
    next_visit: dt.datetime | None


class CommitteeTeam(msgspec.Struct, frozen=True):
    """A team serving one of the committee's households, as the committee follows it (household masked)."""

    id: int
    household: MaskedHousehold
    organisation_name: str
    slot: str
    members: int
    month_minutes: int
    month_contacts: int
    month_met: bool


class RefusalOutcome(msgspec.Struct, frozen=True):
    """A refusal recorded: who left, who (if anyone) replaced them, and the team's slot now."""

    team_id: int
    refused: int
    replacement: int | None
    slot: str


# --------------------------------------------------------------------------------------------- helpers


async def _own_project(conn: asyncpg.Connection, who: Identity, contract_id: int) -> teams_sql.ProjectRow:
    project = found(
        await teams_sql.get_project(conn, contract_id, who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)),
        "No such 311 project",
    )
    return project


def visit_times(slot: str, after: dt.datetime, weeks: int = PLAN_WEEKS) -> list[dt.datetime]:
    """The next `weeks` weekly times of a slot after a moment, in Shanghai wall time."""
    day_name, part = slot.split("-")
    weekday = WEEKDAYS.index(day_name)
    local = after.astimezone(SHANGHAI)
    start = local.date() + dt.timedelta(days=(weekday - local.weekday()) % 7)
    first = dt.datetime.combine(start, PARTS[part], tzinfo=SHANGHAI)
    if first <= local:
        first += dt.timedelta(days=7)
    return [first + dt.timedelta(days=7 * k) for k in range(weeks)]


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The start of this month and of the next, in Shanghai."""
    local = now.astimezone(SHANGHAI)
    start = dt.datetime(local.year, local.month, 1, tzinfo=SHANGHAI)
    nxt = dt.datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, nxt


def _pick_slot(shared: tuple[str, ...] | list[str], current: str | None) -> str:
    """Keep the team's slot if still shared; otherwise the first shared slot of the week."""
    if current is not None and current in shared:
        return current
    return min(shared, key=lambda s: ALL_SLOTS.index(s) if s in ALL_SLOTS else 0)


# --------------------------------------------------------------------------------------------- reading


async def list_projects(conn: asyncpg.Connection, who: Identity) -> list[teams_sql.ProjectRow]:
    """The organisation's 311 projects."""
    return await teams_sql.list_projects(conn, who.organisation_id_or_refuse(_ONLY_ORGANISATIONS))


async def project_view(conn: asyncpg.Connection, who: Identity, contract_id: int) -> ProjectView:
    """A project of the organisation: households (committee and masked address), teams, the latest run."""
    project = await _own_project(conn, who, contract_id)
    rows = await teams_sql.project_households(conn, contract_id)
    start, end = month_bounds(dt.datetime.now(dt.UTC))
    month = {m.team_id: m for m in await teams_sql.project_month(conn, contract_id, start, end)}
    households = []
    for r in rows:
        figures = month.get(r.team_id) if r.team_id is not None else None
        minutes, contacts = (figures.minutes, figures.contacts) if figures else (0, 0)
        households.append(
            ProjectHousehold(
                household=masked(r.id, r.committee_id, r.committee_name, r.address),
                members=r.members,
                team_id=r.team_id,
                team_slot=r.team_slot,
                team_size=r.team_size,
                month_minutes=minutes,
                month_contacts=contacts,
                month_met=minutes >= MONTHLY_MINUTES and contacts >= MONTHLY_CONTACTS,
            )
        )
    latest = await runs_sql.latest_run(conn, MODEL, SUBJECT, contract_id)
    return ProjectView(project=project, households=households, latest_run=latest)


async def team_view(conn: asyncpg.Connection, who: Identity, team_id: int, now: dt.datetime | None = None) -> TeamView:
    """A team as its organisation, its present members or the household's committee see it; 404 for others."""
    team = found(await teams_sql.get_team(conn, team_id), "No such team")
    is_org = who.role == "organisation" and who.organisation_id == team.organisation_id
    is_member = (
        who.role == "volunteer"
        and who.volunteer_id is not None
        and await teams_sql.is_live_member(conn, team_id, who.volunteer_id)
    )
    is_committee = who.role == "committee" and who.committee_id == team.committee_id
    if not (is_org or is_member or is_committee):
        raise NotFound("No such team")
    now = now or dt.datetime.now(dt.UTC)
    start, end = month_bounds(now)
    figures = await teams_sql.month_figures(conn, team_id, start, end)
    everyone = await teams_sql.members(conn, team_id)
    visits = await teams_sql.visits(conn, team_id, start, now + dt.timedelta(weeks=PLAN_WEEKS + 1))
    return TeamView(
        id=team.id,
        status=team.status,
        slot=team.slot,
        household=masked(team.household_id, team.committee_id, team.committee_name, team.address),
        organisation_id=team.organisation_id,
        organisation_name=team.organisation_name,
        contract_id=team.contract_id,
        formed_at=team.formed_at,
        members=[m for m in everyone if m.until is None],
        past_members=[m for m in everyone if m.until is not None],
        visits=visits,
        month=MonthFigures(
            month=start.strftime("%Y-%m"),
            minutes=figures.minutes,
            contacts=figures.contacts,
            minimum_minutes=MONTHLY_MINUTES,
            minimum_contacts=MONTHLY_CONTACTS,
            met=figures.minutes >= MONTHLY_MINUTES and figures.contacts >= MONTHLY_CONTACTS,
        ),
        is_member=is_member,
        is_organisation=is_org,
    )


async def my_teams(conn: asyncpg.Connection, who: Identity) -> list[MyTeam]:
    """The volunteer's live teams, households masked."""
    rows = await teams_sql.my_teams(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS))
    return [
        MyTeam(
            id=r.id,
            household=masked(r.household_id, 0, r.committee_name, r.address),
            organisation_name=r.organisation_name,
            slot=r.slot,
            next_visit=r.next_visit,
        )
        for r in rows
    ]


async def committee_teams(conn: asyncpg.Connection, who: Identity) -> list[CommitteeTeam]:
    """The residents' committee follows the 311 teams serving its households: who runs them, this month's figures."""
    committee_id = who.committee_id_or_refuse("Only a residents' committee follows the teams of its households")
    start, end = month_bounds(dt.datetime.now(dt.UTC))
    rows = await teams_sql.committee_teams(conn, committee_id, start, end)
    return [
        CommitteeTeam(
            id=r.id,
            household=masked(r.household_id, committee_id, r.committee_name, r.address),
            organisation_name=r.organisation_name,
            slot=r.slot,
            members=r.members,
            month_minutes=r.minutes,
            month_contacts=r.contacts,
            month_met=r.minutes >= MONTHLY_MINUTES and r.contacts >= MONTHLY_CONTACTS,
        )
        for r in rows
    ]


async def get_run(conn: asyncpg.Connection, who: Identity, run_id: int) -> RunRow:
    """A teams run of one of the organisation's projects."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)

    async def own(conn: asyncpg.Connection, contract_id: int) -> teams_sql.ProjectRow | None:
        return await teams_sql.get_project(conn, contract_id, organisation_id)

    run, _project = found(await runs.find_run(conn, RUNS, run_id, own), "No such teams run")
    return run


# --------------------------------------------------------------------------------------------- runs


def household_slots(visit_slots: list[str]) -> tuple[str, ...]:
    """The weekly slots a household accepts visits in, in week order: the registered ones, or every slot."""
    chosen = tuple(s for s in ALL_SLOTS if s in visit_slots)
    return chosen or HOUSEHOLD_SLOTS


def busy_slots(spans: Sequence[calendar_sql.Span], after: dt.datetime) -> tuple[str, ...]:
    """The weekly slots one of whose visits over the planning horizon would overlap committed time."""
    busy = []
    for slot in ALL_SLOTS:
        times = visit_times(slot, after)
        if any(t < b.ends_at and b.starts_at < t + VISIT_LENGTH for t in times for b in spans):
            busy.append(slot)
    return tuple(busy)


async def _busy(
    conn: asyncpg.Connection, carer_ids: list[int], contract_id: int, now: dt.datetime | None = None
) -> dict[int, tuple[str, ...]]:
    """Each carer's slots taken by their other commitments (places, other projects' teams), from today on."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI)
    # From the start of the day, so the inputs (and their digest) stay the same all day.
    after = dt.datetime.combine(local.date(), dt.time(0, 0), tzinfo=SHANGHAI)
    until = after + dt.timedelta(weeks=PLAN_WEEKS + 1)
    spans: dict[int, list[calendar_sql.Span]] = {}
    for span in await calendar_sql.teams_blocked(conn, carer_ids, after, until, contract_id):
        spans.setdefault(span.volunteer_id, []).append(span)
    return {vid: busy_slots(mine, after) for vid, mine in spans.items()}


# Why a pin cannot be kept (codes; the pages translate them): the household left the service, the carer is no
# longer a carer within walking distance with free time and consent, or the model's pin rules
# (matching.teams.PIN_RULES: refused, distance, no-shared-slot, team-full, carer-full, no-team, pins-clash).
PIN_WHY = ("household-left", "carer-unavailable", *(r for r in teams_model.PIN_RULES if r != "unknown"))


def steer(
    problem: teams_model.TeamsProblem, pins: Sequence[team_pins_sql.TeamPinRow]
) -> tuple[teams_model.TeamsProblem, list[dict[str, Any]]]:
    """The problem with the pins every plan can still keep; the pins it cannot keep, and why (never dropped
    silently). Each pin is tried beside those kept before it, on the pinned households alone."""
    households = {h.id: h for h in problem.households}
    carers = {c.id for c in problem.carers}

    def why(pin: team_pins_sql.TeamPinRow, kept: list[tuple[teams_model.Id, teams_model.Id]]) -> str | None:
        if pin.household_id not in households:
            return "household-left"
        if pin.volunteer_id not in carers:
            return "carer-unavailable"
        pinned = (*kept, (pin.household_id, pin.volunteer_id))
        pinned_households = tuple(households[h] for h in dict.fromkeys(h for h, _ in pinned))
        trial = msgspec.structs.replace(problem, households=pinned_households, previous=(), pinned=pinned)
        found = teams_model.pin_conflicts(trial)
        return found[0].detail.rsplit(": ", 1)[1] if found else None

    kept, conflicts = pinning.keep_pins(
        pins,
        lambda p: (p.household_id, p.volunteer_id),
        why,
        lambda p: {"household_id": p.household_id},
    )
    return msgspec.structs.replace(problem, pinned=tuple(kept)), conflicts


async def load_inputs(conn: asyncpg.Connection, project: teams_sql.ProjectRow) -> TeamsInputs:
    """The teams problem of a project: its households, carers within walking distance (and the slots they are
    committed in elsewhere), live teams, refusals."""
    households = await teams_sql.project_households(conn, project.contract_id)
    carers = await teams_sql.carers(conn, project.contract_id, WALKING_KM)
    busy = await _busy(conn, [c.id for c in carers], project.contract_id)
    live = await teams_sql.live_teams(conn, project.contract_id)
    refused = await teams_sql.refusals(conn, project.contract_id)
    refused_pairs = {(r.household_id, r.volunteer_id) for r in refused}
    problem = teams_model.TeamsProblem(
        carers=tuple(
            teams_model.Carer(
                id=c.id,
                home=(c.lat, c.lon),
                trained=c.trained,
                max_teams=max(0, MAX_TEAMS_PER_CARER - c.teams_elsewhere),
                slots=tuple(c.slots),
                busy=busy.get(c.id, ()),
            )
            for c in carers
        ),
        households=tuple(
            teams_model.Household(id=h.id, home=(h.lat, h.lon), max_km=WALKING_KM, slots=household_slots(h.visit_slots))
            for h in households
        ),
        team_size=TEAM_SIZE,
        min_trained=MIN_TRAINED,
        previous=tuple(
            teams_model.PreviousTeam(
                household=t.household_id,
                carers=tuple(m for m in t.members if (t.household_id, m) not in refused_pairs),
                slot=t.slot,
            )
            for t in live
        ),
        refused=tuple((r.household_id, r.volunteer_id) for r in refused),
    )
    problem, pin_conflicts = steer(problem, await team_pins_sql.pins(conn, project.contract_id))
    return TeamsInputs(
        project=project, problem=problem, trained={c.id: c.trained for c in carers}, pin_conflicts=pin_conflicts
    )


async def start_run(conn: asyncpg.Connection, queue: JobQueue, who: Identity, contract_id: int) -> RunRow:
    """The organisation starts a teams run of its project; starting again with the same inputs returns the same run."""

    async def own_project(conn: asyncpg.Connection) -> int:
        return (await _own_project(conn, who, contract_id)).contract_id

    return await runs.start(conn, queue, RUNS, who.account_id, own_project)


def build_result(inputs: TeamsInputs, result: teams_model.TeamsResult) -> dict[str, Any]:
    """The run's summary for pages: teams (ids only, no personal data) and why households were left uncovered."""
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "bound_source": result.bound_source,
        "households": len(inputs.problem.households),
        "carers": len(inputs.problem.carers),
        "covered": len(result.assignments),
        "kept_members": result.previous_kept,
        "conflicts": [{"constraint": c.constraint, "detail": c.detail} for c in result.conflicts],
        # Steering: the pins kept and those no plan can keep.
        "pinned": len(inputs.problem.pinned),
        "pin_conflicts": inputs.pin_conflicts,
        "teams": [
            {
                "household_id": t.household,
                "carers": list(t.carers),
                "kept": t.kept,
                "slot": t.slot,
                "shared_slots": list(t.shared_slots),
                "metres": [m.metres for m in t.members],
            }
            for t in result.assignments
        ],
        "uncovered": [{"household_id": u.household, "why": u.why, "detail": u.detail} for u in result.uncovered],
    }


async def apply_plan(
    conn: asyncpg.Connection,
    inputs: TeamsInputs,
    assignments: Sequence[teams_model.Team],
    run_id: int | None,
    now: dt.datetime | None = None,
) -> None:
    """Turn a plan into teams: keep live teams' members where the plan keeps them, form new teams, dissolve others;
    each team visits weekly in the slot the model gave it (no carer's two teams share one)."""
    contract_id = inputs.project.contract_id
    live = {t.household_id: t for t in await teams_sql.live_teams(conn, contract_id)}
    planned = {int(t.household): t for t in assignments}
    now = now or dt.datetime.now(dt.UTC)
    # Everything the plan gives up is released first, so a carer whose two teams swap slots is free at each
    # slot before the other team's visits there are committed.
    for hid, team in sorted(live.items()):
        plan = planned.get(hid)
        if plan is None:
            await teams_sql.cancel_planned_visits(conn, team.id)
            await teams_sql.dissolve(conn, team.id)
            continue
        for c in sorted(set(team.members) - {int(c) for c in plan.carers}):
            await teams_sql.end_member(conn, team.id, c, "replanned")
        if plan.slot != team.slot:
            await teams_sql.cancel_planned_visits(conn, team.id)
    for hid, plan in sorted(planned.items()):
        carers = [int(c) for c in plan.carers]
        kept = live.get(hid)
        if kept is None:
            team_id = await teams_sql.insert_team(
                conn,
                household_id=hid,
                organisation_id=inputs.project.organisation_id,
                contract_id=contract_id,
                slot=plan.slot,
                run_id=run_id,
            )
            for c in carers:
                await teams_sql.add_member(conn, team_id, c, inputs.trained.get(c, False))
        else:
            team_id = kept.id
            for c in sorted(set(carers) - set(kept.members)):
                await teams_sql.add_member(conn, team_id, c, inputs.trained.get(c, False))
            await teams_sql.set_slot(conn, team_id, plan.slot, run_id)
        await teams_sql.plan_visits(conn, team_id, visit_times(plan.slot, now))


def _check(inputs: TeamsInputs) -> None:
    if not inputs.problem.households:
        raise Conflict("The project has no households to form teams for")


async def write_teams(
    conn: asyncpg.Connection,
    run_id: int,
    inputs: TeamsInputs,
    result: teams_model.TeamsResult,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """A run's plan made into teams (apply_plan)."""
    contract_id = inputs.project.contract_id
    await apply_plan(conn, inputs, result.assignments, run_id)
    log.info("teams written", run_id=run_id, contract_id=contract_id, teams=len(result.assignments))
    return {"contract_id": contract_id, "teams": len(result.assignments), "status": result.status}


# The teams model as the run pipeline (api.services.runs) is told it. The live teams travel in problem.previous,
# so the solver starts by repairing them; a refusal recorded while the solver ran changes the inputs, and the
# plan would bring the refused carer back, so the write checks the inputs again.
RUNS: runs.RunKind[TeamsInputs, teams_model.TeamsResult] = runs.RunKind(
    model=MODEL,
    subject=SUBJECT,
    time_limit_s=TIME_LIMIT_S,
    load=runs.inputs_by_id(teams_sql.get_project_by_id, load_inputs, "No such 311 project"),
    solve=teams_model.solve,
    result_type=teams_model.TeamsResult,
    check=_check,
    describe=lambda inputs: {
        "contract_id": inputs.project.contract_id,
        "households": len(inputs.problem.households),
        "carers": len(inputs.problem.carers),
    },
    summarise=runs.summary_of(build_result),
    apply=write_teams,
    recheck_on_write=True,
)


# --------------------------------------------------------------------------------------------- changes


async def refuse(conn: asyncpg.Connection, who: Identity, team_id: int, form: RefusalCreate) -> RefusalOutcome:
    """The organisation records that the household refuses a carer; that team alone is re-planned, others kept."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        team = await teams_sql.get_team(conn, team_id)
        if team is None or team.organisation_id != organisation_id:
            raise NotFound("No such team")
        await runs_sql.lock_subject(conn, MODEL, SUBJECT, team.contract_id)
        if team.status != "live":
            raise Conflict("The team is no longer running")
        if not await teams_sql.is_live_member(conn, team_id, form.volunteer_id):
            raise Invalid("The refusal is not valid", fields={"volunteer_id": "This carer is not in the team"})
        await teams_sql.add_refusal(conn, team.household_id, form.volunteer_id, team_id, who.account_id)
        await teams_sql.end_member(conn, team_id, form.volunteer_id, "refused")
        replacement, slot = await _replan_one(conn, team)
        await audit_log.record(
            conn, who, "team.refuse", "team", team_id,
            detail={"refused": form.volunteer_id, "replacement": replacement, "slot": slot},
        )  # fmt: skip
    return RefusalOutcome(team_id=team_id, refused=form.volunteer_id, replacement=replacement, slot=slot)


async def _replan_one(conn: asyncpg.Connection, team: teams_sql.TeamRow) -> tuple[int | None, str]:
    """Complete one team around its remaining members with the nearest free carer; (None, slot) if nobody fits."""
    project = await teams_sql.get_project_by_id(conn, team.contract_id)
    assert project is not None
    inputs = await load_inputs(conn, project)
    live = await teams_sql.live_teams(conn, team.contract_id)
    kept = next((t.members for t in live if t.id == team.id), [])
    # Capacity left for this team: each carer's limit less the other teams of this project they serve, whose
    # slots are taken too (one visit at a time).
    load: dict[int, int] = {}
    visiting: dict[int, set[str]] = {}
    for t in live:
        if t.id != team.id:
            for m in t.members:
                load[m] = load.get(m, 0) + 1
                visiting.setdefault(m, set()).add(t.slot)
    household = next((h for h in inputs.problem.households if h.id == team.household_id), None)
    if household is None:
        return None, team.slot
    sub = teams_model.TeamsProblem(
        carers=tuple(
            msgspec.structs.replace(
                c,
                max_teams=max(0, c.max_teams - load.get(int(c.id), 0)),
                busy=tuple(sorted(set(c.busy) | visiting.get(int(c.id), set()))),
            )
            for c in inputs.problem.carers
        ),
        households=(household,),
        team_size=TEAM_SIZE,
        min_trained=MIN_TRAINED,
        refused=tuple(p for p in inputs.problem.refused if p[0] == team.household_id),
    )
    data = teams_model.TeamsData(sub)
    forced = tuple(data.c_index[m] for m in kept if m in data.c_index)
    best = data.best_team(0, [0] * data.nc, forced) if len(forced) == len(kept) else None
    if best is None:
        # Nobody fits beside the remaining members: the team goes on short-handed until the next run completes it.
        return None, team.slot
    members = best[1]
    # Every slot the new team shares, so it keeps its day and time (and planned visits) whenever it still can.
    shared = [x for x in household.slots if all(x in teams_model.free_slots(sub.carers[c]) for c in members)]
    slot = _pick_slot(shared, team.slot)
    replacement = None
    for c in members:
        carer = sub.carers[c]
        if int(carer.id) not in kept:
            replacement = int(carer.id)
            await teams_sql.add_member(conn, team.id, replacement, carer.trained)
    if slot != team.slot:
        await teams_sql.cancel_planned_visits(conn, team.id)
        await teams_sql.set_slot(conn, team.id, slot, None)
        await teams_sql.plan_visits(conn, team.id, visit_times(slot, dt.datetime.now(dt.UTC)))
    return replacement, slot


async def plan_ahead(conn: asyncpg.Connection, now: dt.datetime | None = None) -> int:
    """Keep every live team's weekly visits planned PLAN_WEEKS ahead (the worker's daily job); how many teams."""
    now = now or dt.datetime.now(dt.UTC)
    slots = await teams_sql.live_slots(conn)
    for team in slots:
        await teams_sql.plan_visits(conn, team.id, visit_times(team.slot, now))
    return len(slots)


async def record_visit(conn: asyncpg.Connection, who: Identity, team_id: int, form: VisitCreate) -> teams_sql.VisitRow:
    """A present member records a contact with the household (a planned visit at that time is marked done)."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    now = dt.datetime.now(dt.UTC)
    if not await teams_sql.is_live_member(conn, team_id, volunteer_id):
        raise NotFound("No such team")
    if form.at > now + dt.timedelta(minutes=15):
        raise Invalid("The visit is not valid", fields={"at": "A visit is recorded after it took place"})
    if form.at < now - RECORD_WINDOW:
        raise Invalid("The visit is not valid", fields={"at": "Visits older than two months can no longer be recorded"})
    async with conn.transaction():
        visit_id = await teams_sql.record_visit(
            conn,
            team_id=team_id,
            at=form.at,
            minutes=form.minutes,
            contact_kind=form.contact_kind,
            volunteer_id=volunteer_id,
        )
        if visit_id is None:
            raise Conflict("A contact is already recorded at that time")
        await audit_log.record(
            conn, who, "team_visit.record", "team", team_id,
            detail={"visit_id": visit_id, "minutes": form.minutes, "contact_kind": form.contact_kind},
        )  # fmt: skip
    visits = await teams_sql.visits(conn, team_id, form.at, form.at + dt.timedelta(seconds=1))
    return next(v for v in visits if v.id == visit_id)
