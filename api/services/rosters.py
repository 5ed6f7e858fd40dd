"""Optimised rosters (排班): the optimiser staffs a publisher's week; volunteers accept or decline its proposals.

An organisation or a committee asks for a week; the week is a `rosters` row and every plan of it a `match_runs` row
(model 'roster') solved by one arq job per run. The problem is built from the database: each volunteer's home,
radius, skills, valid certificates, weekly windows (minus exceptions and places already held) and hour cap; the
week's open shifts with their free places; and the pairs to keep (the current plan, and who served the same
household or held the same shift last week). A decline excludes that volunteer from that shift and re-plans from
the current plan, so the rest changes as little as possible. Eligibility rules the model does not know (age on
the shift's day, minors only alongside an adult, insurance, certificates, a declined pair) become requirement
tokens on the shift that only eligible volunteers carry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

import asyncpg
import msgspec

from api.services import audit_log, confirmations, notifications, pinning, runs
from api.services import shifts as shifts_service
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.runs import JobQueue
from api.services.types import SHANGHAI, today
from matching import roster as roster_model
from matching.common import haversine_km
from sql import calendar as calendar_sql
from sql import match_runs as runs_sql
from sql import roster_pins as pins_sql
from sql import rosters as rosters_sql
from sql.match_runs import RunRow
from sql.rosters import ProposalRow, RosterRow, RosterShiftRow, RosterVolunteerRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_PUBLISHERS = "Only an organisation or a residents' committee may staff its shifts"
_ONLY_VOLUNTEERS = "Only volunteers have roster proposals"

MODEL = "roster"
SUBJECT = "roster"
TIME_LIMIT_S = 5.0
ProposalView = ProposalRow
# Requirement tokens are not skills a person could type (skills match ^[a-z_]+$), so they never collide.
CERT, AGE, INSURED, FREE, CONSENT = "cert:", "age>=", "insured:", "free-of-decline:", "consent:home-visits"
# A shift that takes minors only alongside an adult is proposed to adults only: the model cannot see who else
# fills a shift, and a minor may still sign up by hand once an adult holds a place (the pick-up rule).
ADULT = "adult:"


Spread = Annotated[int, msgspec.Meta(ge=0, le=100)]


class RosterStart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which week to staff: any day of it (the week runs Monday to Sunday, Shanghai time), and how strongly to
    spread hours across volunteers (0: not at all, 100: most; kept for the week's later plans)."""

    week_starts: dt.date
    spread: Spread = 0


class RosterInputs(msgspec.Struct, frozen=True):
    """What a roster run decides from, loaded by the roster's id."""

    roster: RosterRow
    problem: roster_model.RosterProblem
    shifts: list[RosterShiftRow]
    # "volunteer:shift" -> why the pair is kept if possible: 'plan' (current proposal), 'household', 'shift'.
    sources: dict[str, str]
    # The kept pairs that come from the week's history (household or shift continuity), not from the current plan.
    continuity: list[tuple[int, int]] = []
    # Pins no plan can keep any more, each {"pin_id", "shift_id", "why"} (why: a PIN_WHY code).
    pin_conflicts: list[dict[str, Any]] = []

    def digest(self) -> str:
        """A fingerprint of the problem: equal problems, equal digest."""
        return hashlib.sha256(msgspec.json.encode(self.problem)).hexdigest()

    def base_digest(self) -> str:
        """A fingerprint of the problem without the current plan: unchanged when nothing but the plan itself moved,
        so asking again right after a run finished finds that run instead of re-planning the same week."""
        base = msgspec.structs.replace(self.problem, previous=tuple(self.continuity))
        return hashlib.sha256(msgspec.json.encode(base)).hexdigest()


class RunView(msgspec.Struct, frozen=True):
    """A roster run as its publisher sees it: the run, the week, and the proposals it wrote."""

    run: RunRow
    roster: RosterRow
    proposals: list[ProposalRow]


class RosterSummary(msgspec.Struct, frozen=True):
    """A roster week with its newest run."""

    roster: RosterRow
    latest: RunRow | None


class DeclineOutcome(msgspec.Struct, frozen=True):
    """A declined proposal and the re-plan it started (None when no place is left to plan)."""

    proposal: ProposalRow
    run: RunRow | None


def monday_of(day: dt.date) -> dt.date:
    """The Monday of the week a day is in."""
    return day - dt.timedelta(days=day.isoweekday() - 1)


def week_bounds(monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The week from Monday 00:00 to the next Monday 00:00, Shanghai time."""
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=SHANGHAI)
    return start, dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=SHANGHAI)


# --------------------------------------------------------------------------------------------- the problem


Span = tuple[dt.datetime, dt.datetime]


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _subtract(spans: list[Span], cut: Span) -> list[Span]:
    out: list[Span] = []
    for a, b in spans:
        if cut[1] <= a or b <= cut[0]:
            out.append((a, b))
            continue
        if a < cut[0]:
            out.append((a, cut[0]))
        if cut[1] < b:
            out.append((cut[1], b))
    return out


def availability(v: RosterVolunteerRow, monday: dt.date) -> list[Span]:
    """A volunteer's free time in the week: weekly windows (the whole week if none are recorded), plus extra
    times, minus times away and the places already held."""
    week_from, week_until = week_bounds(monday)
    if v.windows:
        spans = []
        for w in v.windows:
            day = monday + dt.timedelta(days=w.weekday - 1)
            spans.append(
                (dt.datetime.combine(day, w.starts, tzinfo=SHANGHAI), dt.datetime.combine(day, w.ends, tzinfo=SHANGHAI))
            )
    else:
        # No windows on the profile yet: nothing said against any time; a proposal can still be declined.
        spans = [(week_from, week_until)]
    spans += [(max(e.starts, week_from), min(e.ends, week_until)) for e in v.exceptions if e.available]
    spans = _merge([s for s in spans if s[1] > s[0]])
    for e in v.exceptions:
        if not e.available:
            spans = _subtract(spans, (e.starts, e.ends))
    for b in v.busy:
        spans = _subtract(spans, (b.starts, b.ends))
    return [s for s in spans if s[1] > s[0]]


def _day(shift: RosterShiftRow) -> dt.date:
    return shift.starts_at.astimezone(SHANGHAI).date()


def _years(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _age_on(v: RosterVolunteerRow, day: dt.date) -> int:
    """Age on a day, as the pick-up rule counts it: from the birth date when known, else from the birth year."""
    return day.year - v.birth_year if v.birth_date is None else _years(v.birth_date, day)


def _proven_age_on(v: RosterVolunteerRow, day: dt.date) -> int:
    """Age on a day from the verified date of birth; -1 when none is verified (the sign-up guard's rule)."""
    return -1 if v.proven_birth_date is None else _years(v.proven_birth_date, day)


def _requires(shift: RosterShiftRow, declined: set[int]) -> tuple[str, ...]:
    tokens = set(shift.required_skills)
    tokens |= {CERT + c for c in shift.required_certificates}
    if shift.min_age:
        tokens.add(f"{AGE}{shift.min_age}@{_day(shift).isoformat()}")
    if shift.minors_in_groups_only:
        tokens.add(f"{ADULT}{_day(shift).isoformat()}")
    if shift.insurance_required:
        tokens.add(f"{INSURED}{(shift.ends_at.astimezone(SHANGHAI)).date().isoformat()}")
    if shift.id in declined:
        tokens.add(f"{FREE}{shift.id}")
    if shift.household_id is not None:
        # A home visit is offered only to volunteers who consented to the processing of personal data.
        tokens.add(CONSENT)
    return tuple(sorted(tokens))


class _Restrictions(msgspec.Struct, frozen=True):
    """The week's restricted shifts, by what they ask: (minimum age, day), adult days, insured days (ISO dates)."""

    ages: tuple[tuple[int, dt.date, str], ...]
    adult_days: tuple[tuple[dt.date, str], ...]
    insured_days: tuple[tuple[dt.date, str], ...]


def _restrictions(shifts: list[RosterShiftRow]) -> _Restrictions:
    # Worked out once a load: a district's roster week carries each of its thousands of volunteers over them.
    ages = {(s.min_age, _day(s)) for s in shifts if s.min_age}
    adult = {_day(s) for s in shifts if s.minors_in_groups_only}
    insured = {s.ends_at.astimezone(SHANGHAI).date() for s in shifts if s.insurance_required}
    return _Restrictions(
        ages=tuple((age, day, day.isoformat()) for age, day in sorted(ages)),
        adult_days=tuple((day, day.isoformat()) for day in sorted(adult)),
        insured_days=tuple((day, day.isoformat()) for day in sorted(insured)),
    )


def _carries(v: RosterVolunteerRow, restricted: _Restrictions, declined: dict[int, set[int]]) -> tuple[str, ...]:
    tokens = set(v.skills) | {CERT + c for c in v.certificates}
    # An adult-only minimum and the adult beside minors need a verified date of birth; a younger minimum goes by the
    # declared age, as at sign-up (sql/shifts.py).
    for min_age, day, iso in restricted.ages:
        if (_proven_age_on(v, day) if min_age >= 18 else _age_on(v, day)) >= min_age:
            tokens.add(f"{AGE}{min_age}@{iso}")
    for day, iso in restricted.adult_days:
        if _proven_age_on(v, day) >= 18:
            tokens.add(f"{ADULT}{iso}")
    if v.insured_until is not None:
        tokens |= {f"{INSURED}{iso}" for day, iso in restricted.insured_days if v.insured_until >= day}
    tokens |= {f"{FREE}{sid}" for sid, who in declined.items() if v.id not in who}
    if v.consented:
        tokens.add(CONSENT)
    return tuple(sorted(tokens))


# Why a pin cannot be kept (codes; the pages translate them): the model's exclusion rules, and these.
PIN_WHY = ("declined", "shift-closed", "volunteer-unavailable", "pins-clash", *roster_model.EXCLUSION_RULES)


def steer(
    problem: roster_model.RosterProblem,
    pins: list[pins_sql.PinRow],
    *,
    accepted: set[tuple[int, int]],
    declined: dict[int, set[int]],
    spread: int,
) -> tuple[roster_model.RosterProblem, list[dict[str, Any]]]:
    """The problem with the pins every plan can still keep and the spread weight; the pins it cannot keep, and why.

    A pin the volunteer already took up holds by itself (the place is theirs); one they declined, on a shift that
    is full, cancelled or started, or that the rules now exclude, is a conflict; so is a pin that clashes with
    earlier pins (headcount, minutes, overlap): never silently dropped.
    """
    volunteers = {v.id: v for v in problem.volunteers}
    shifts = {s.id: s for s in problem.shifts}

    def why(pin: pins_sql.PinRow, kept: list[tuple[roster_model.Id, roster_model.Id]]) -> str | None:
        if pin.volunteer_id in declined.get(pin.shift_id, set()):
            return "declined"
        if pin.shift_id not in shifts:
            return "shift-closed"
        if pin.volunteer_id not in volunteers:
            return "volunteer-unavailable"
        trial = msgspec.structs.replace(problem, pinned=(*kept, (pin.volunteer_id, pin.shift_id)))
        found = roster_model.pin_conflicts(trial)
        if not found:
            return None
        rule = roster_model.exclusion(volunteers[pin.volunteer_id], shifts[pin.shift_id])
        if rule is None and any(c.detail.endswith("not-worthwhile") for c in found):
            rule = "not-worthwhile"
        return rule or "pins-clash"

    kept, conflicts = pinning.keep_pins(
        [p for p in pins if (p.volunteer_id, p.shift_id) not in accepted],
        lambda p: (p.volunteer_id, p.shift_id),
        why,
        lambda p: {"shift_id": p.shift_id},
    )
    return msgspec.structs.replace(problem, pinned=tuple(kept), spread=spread), conflicts


async def load_inputs(conn: asyncpg.Connection, roster: RosterRow) -> RosterInputs:
    """Build the roster problem of a week from the database."""
    monday = roster.week_starts
    week_from, week_until = week_bounds(monday)
    shifts = await rosters_sql.roster_shifts(conn, roster.id)
    declined_pairs = await rosters_sql.pairs_by_status(conn, roster.id, "declined")
    declined: dict[int, set[int]] = {}
    for vid, sid in declined_pairs:
        declined.setdefault(sid, set()).add(vid)
    volunteers: list[roster_model.Volunteer] = []
    if shifts:
        places = [(s.lat, s.lon) for s in shifts]
        restricted = _restrictions(shifts)
        for v in await rosters_sql.roster_volunteers(conn, monday, week_from, week_until):
            if monday.year - v.birth_year < 14 and not v.guardian_consent:
                continue
            # Only people within reach of some shift: a smaller problem, the same plan.
            if all(haversine_km((v.lat, v.lon), p) > v.travel_km for p in places):
                continue
            held = sum(int((b.ends - b.starts).total_seconds() // 60) for b in v.busy)
            windows = availability(v, monday)
            if not windows:
                continue
            volunteers.append(
                roster_model.Volunteer(
                    id=v.id,
                    home=(v.lat, v.lon),
                    max_km=v.travel_km,
                    max_minutes=max(0, v.weekly_hour_cap * 60 - held),
                    skills=_carries(v, restricted, declined),
                    available=tuple(windows),
                )
            )
    if volunteers:
        # Everything the person is already committed to (team visits too) and other rosters' open proposals.
        blocked: dict[int, list[Span]] = {}
        ids = sorted(int(v.id) for v in volunteers)
        for span in await calendar_sql.roster_blocked(conn, ids, week_from, week_until, roster.id):
            blocked.setdefault(span.volunteer_id, []).append((span.starts_at, span.ends_at))
        volunteers = [
            msgspec.structs.replace(v, blocked=tuple(_merge(blocked[int(v.id)]))) if int(v.id) in blocked else v
            for v in volunteers
        ]
        # Kept places as a soft preference (matching.roster.RELIABILITY_WEIGHT), never a ban.
        records = await confirmations.reliability(conn, ids)
        volunteers = [
            msgspec.structs.replace(v, reliability=records[int(v.id)].score) if int(v.id) in records else v
            for v in volunteers
        ]
    sources: dict[str, str] = {}
    shift_ids = {s.id for s in shifts}
    volunteer_ids = {v.id for v in volunteers}
    for vid, sid, same_household in await rosters_sql.continuity(conn, sorted(shift_ids), week_from):
        sources.setdefault(f"{vid}:{sid}", "household" if same_household else "shift")
    history = set(sources)
    for vid, sid in await rosters_sql.pairs_by_status(conn, roster.id, "proposed"):
        sources[f"{vid}:{sid}"] = "plan"
    previous = []
    for key in sorted(sources):
        vid, sid = (int(x) for x in key.split(":"))
        if vid in volunteer_ids and sid in shift_ids and vid not in declined.get(sid, set()):
            previous.append((vid, sid))
    problem = roster_model.RosterProblem(
        volunteers=tuple(volunteers),
        shifts=tuple(
            roster_model.Shift(
                id=s.id,
                start=s.starts_at,
                end=s.ends_at,
                place=(s.lat, s.lon),
                headcount=s.places,
                requires=_requires(s, set(declined)),
                beneficiary=s.household_id,
            )
            for s in shifts
        ),
        previous=tuple(previous),
    )
    problem, pin_conflicts = steer(
        problem,
        await pins_sql.pins(conn, roster.id),
        accepted=set(await rosters_sql.pairs_by_status(conn, roster.id, "accepted")),
        declined=declined,
        spread=await pins_sql.spread(conn, roster.id),
    )
    kept = {f"{v}:{s}" for v, s in previous}
    return RosterInputs(
        roster,
        problem,
        shifts,
        {k: v for k, v in sources.items() if k in kept},
        [(v, s) for v, s in previous if f"{v}:{s}" in history],
        pin_conflicts,
    )


# --------------------------------------------------------------------------------------------- runs


async def plan(conn: asyncpg.Connection, roster: RosterRow, who: Identity, *, reason: str) -> RunRow:
    """Start a run of a roster inside the caller's transaction (the same run again when nothing changed); the
    caller enqueues it after the commit."""
    return await runs.open_run(conn, RUNS, roster.id, who.account_id, detail={"reason": reason})


async def ensure_roster(
    conn: asyncpg.Connection,
    who: Identity,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    monday: dt.date,
    kind: str,
) -> RosterRow:
    """The publisher's roster of a week, made on first use."""
    for _ in range(2):
        roster = await rosters_sql.ensure_roster(
            conn,
            organisation_id=organisation_id,
            committee_id=committee_id,
            week_starts=monday,
            kind=kind,
            created_by=who.account_id,
        )
        if roster is not None:
            return roster
    raise Conflict("Someone else is starting this week's roster; please try again")


def check_week(day: dt.date) -> dt.date:
    """The Monday of a week that is not over yet, or a 422 on the field."""
    monday = monday_of(day)
    # The year first: near the calendar's ends a week's arithmetic would overflow.
    if monday > today() + dt.timedelta(days=366):
        raise Invalid("Too far ahead", fields={"week_starts": "Choose a week within the next year"})
    if monday + dt.timedelta(days=7) <= today():
        raise Invalid("That week is over", fields={"week_starts": "That week is over; choose this week or a later one"})
    return monday


async def start_run(conn: asyncpg.Connection, queue: JobQueue, who: Identity, form: RosterStart) -> RunRow:
    """The publisher asks the optimiser to staff a week of its open shifts; the same inputs give the same run."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    monday = check_week(form.week_starts)

    async def week(conn: asyncpg.Connection) -> int:
        roster = await ensure_roster(
            conn, who, organisation_id=organisation_id, committee_id=committee_id, monday=monday, kind="shifts"
        )
        await pins_sql.set_spread(conn, roster.id, form.spread)
        return roster.id

    return await runs.start(conn, queue, RUNS, who.account_id, week, detail={"reason": "asked", "spread": form.spread})


async def get_run(conn: asyncpg.Connection, who: Identity, run_id: int) -> RunView:
    """A roster run of the caller's organisation or committee, with the proposals it wrote."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)

    async def own(conn: asyncpg.Connection, roster_id: int) -> RosterRow | None:
        roster = await rosters_sql.get_roster(conn, roster_id)
        if roster is None:
            return None
        mine = (organisation_id is not None and roster.organisation_id == organisation_id) or (
            committee_id is not None and roster.committee_id == committee_id
        )
        return roster if mine else None

    run, roster = found(await runs.find_run(conn, RUNS, run_id, own), "No such roster run")
    return RunView(run=run, roster=roster, proposals=await rosters_sql.run_proposals(conn, run_id))


class SpreadComparison(msgspec.Struct, frozen=True):
    """Two plans of one week side by side, the lesser spread weight first: what spreading hours did."""

    low: rosters_sql.SpreadFiguresRow
    high: rosters_sql.SpreadFiguresRow
    # The Gini of hours among those proposed, from the lesser weight's plan to the greater's, in whole percent.
    gini_change_pct: int
    places_change: int


async def compare_spread(conn: asyncpg.Connection, view: RunView) -> SpreadComparison | None:
    """This run's figures beside those of the week's newest finished run with another spread weight (None: no such
    run, or this one has not finished)."""
    result = view.run.result or {}
    if view.run.status != "succeeded" or "proposed" not in result:
        return None
    here = rosters_sql.SpreadFiguresRow(
        run_id=view.run.id,
        spread=int(result.get("spread") or 0),
        proposed=int(result["proposed"]),
        places=int(result["places"]),
        hours_gini_assigned=float(result.get("hours_gini_assigned") or 0),
    )
    other = await rosters_sql.other_spread(conn, view.roster.id, here.spread)
    if other is None:
        return None
    low, high = sorted((here, other), key=lambda f: f.spread)
    change = 0 if not low.hours_gini_assigned else round(100 * (high.hours_gini_assigned / low.hours_gini_assigned - 1))
    return SpreadComparison(low, high, change, high.proposed - low.proposed)


async def list_rosters(conn: asyncpg.Connection, who: Identity) -> list[RosterSummary]:
    """The caller's roster weeks, latest first, each with its newest run."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    rows = await rosters_sql.publisher_rosters(conn, organisation_id=organisation_id, committee_id=committee_id)
    return [RosterSummary(r, await runs_sql.latest_run(conn, MODEL, SUBJECT, r.id)) for r in rows]


def reasons_of(inputs: RosterInputs, a: roster_model.RosterAssignment) -> dict[str, Any]:
    """Why this volunteer on this shift: distance within their radius, skills and certificates, continuity."""
    shift = next(s for s in inputs.shifts if s.id == a.shift)
    volunteer = next(v for v in inputs.problem.volunteers if v.id == a.volunteer)
    return {
        "km": a.km,
        "max_km": volunteer.max_km,
        "minutes": a.minutes,
        "skills": sorted(shift.required_skills),
        "certificates": sorted(shift.required_certificates),
        "continuity": inputs.sources.get(f"{a.volunteer}:{a.shift}") if a.continuity_bonus else None,
        "value": a.value,
        "travel_penalty": a.travel_penalty,
        "continuity_bonus": a.continuity_bonus,
        "reliability_penalty": a.reliability_penalty,
        "binding": list(a.binding),
    }


def build_result(inputs: RosterInputs, result: roster_model.RosterResult, *, newest: bool) -> dict[str, Any]:
    """The run's result for pages: figures, what stayed unfilled and why (no personal data)."""
    titles = {s.id: s.title for s in inputs.shifts}
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "bound_source": result.bound_source,
        "shifts": len(inputs.shifts),
        "places": sum(s.places for s in inputs.shifts),
        "volunteers": len(inputs.problem.volunteers),
        "proposed": len(result.assignments),
        "previous_kept": result.previous_kept,
        "previous_dropped": len(result.previous_dropped),
        # Steering: the pins kept and those no plan can keep, the spread weight and what it does to the hours.
        "pinned": len(inputs.problem.pinned),
        "pin_conflicts": inputs.pin_conflicts,
        "spread": inputs.problem.spread,
        "spread_penalty": result.spread_penalty,
        "hours_gini": result.hours_gini,
        "hours_gini_assigned": result.hours_gini_assigned,
        "eligible_volunteers": result.eligible_volunteers,
        "written": newest,
        "base_digest": inputs.base_digest(),
        "unfilled": [
            {
                "shift_id": u.shift,
                "title": titles.get(int(u.shift), ""),
                "places": u.places,
                "why": u.why,
                "excluded_by": u.excluded_by,
            }
            for u in result.unfilled
        ],
        "conflicts": [{"constraint": c.constraint, "detail": c.detail} for c in result.conflicts],
    }


async def _summarise(
    conn: asyncpg.Connection, run_id: int, inputs: RosterInputs, result: roster_model.RosterResult
) -> dict[str, Any]:
    # Only the roster's newest run replaces the open proposals; an older one that finishes late is recorded only.
    return build_result(inputs, result, newest=await rosters_sql.is_newest_run(conn, run_id))


async def write_proposals(
    conn: asyncpg.Connection,
    run_id: int,
    inputs: RosterInputs,
    result: roster_model.RosterResult,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """If the run is the roster's newest, its plan replaces the open proposals and the volunteers are told."""
    newest = bool(summary["written"])
    if newest:
        proposals = [
            rosters_sql.NewProposal(int(a.shift), int(a.volunteer), reasons_of(inputs, a)) for a in result.assignments
        ]
        await rosters_sql.replace_open_proposals(conn, inputs.roster.id, run_id, proposals)
        await notifications.roster_proposed(conn, run_id)
    return {"roster_id": inputs.roster.id, "proposals": len(result.assignments), "written": newest}


def _check(inputs: RosterInputs) -> None:
    if not inputs.shifts:
        raise Conflict("No shift of that week has a free place to staff")


def _plan_is_current(latest: RunRow, inputs: RosterInputs) -> bool:
    """Nothing changed since the newest plan was written, except that it is now the current plan."""
    return (
        latest.status == "succeeded"
        and latest.result is not None
        and bool(latest.result.get("written"))
        and latest.result.get("base_digest") == inputs.base_digest()
    )


# The roster model as the run pipeline (api.services.runs) is told it.
RUNS: runs.RunKind[RosterInputs, roster_model.RosterResult] = runs.RunKind(
    model=MODEL,
    subject=SUBJECT,
    time_limit_s=TIME_LIMIT_S,
    load=runs.inputs_by_id(rosters_sql.get_roster, load_inputs, "No such roster"),
    solve=roster_model.solve,
    result_type=roster_model.RosterResult,
    check=_check,
    describe=lambda inputs: {
        "roster_id": inputs.roster.id,
        "shifts": len(inputs.shifts),
        "volunteers": len(inputs.problem.volunteers),
    },
    summarise=_summarise,
    apply=write_proposals,
    still_current=_plan_is_current,
)


# --------------------------------------------------------------------------------------------- volunteers


async def my_proposals(conn: asyncpg.Connection, who: Identity, *, include_past: bool = False) -> list[ProposalRow]:
    """The calling volunteer's own proposals, open ones first."""
    return await rosters_sql.my_proposals(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS), include_past=include_past)


async def my_proposal(conn: asyncpg.Connection, who: Identity, proposal_id: int) -> ProposalRow:
    """One of the calling volunteer's proposals (another's is not found)."""
    row = found(
        await rosters_sql.my_proposal(conn, proposal_id, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)),
        "No such proposal",
    )
    return row


async def _not_open(conn: asyncpg.Connection, proposal_id: int, volunteer_id: int) -> Exception:
    if await rosters_sql.my_proposal(conn, proposal_id, volunteer_id) is None:
        return NotFound("No such proposal")
    return Conflict("This proposal is no longer open")


async def accept(conn: asyncpg.Connection, who: Identity, proposal_id: int) -> ProposalRow:
    """Take the proposed place through the shift's guarded pick-up; a refusal is a 409 with its reason."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        locked = await rosters_sql.lock_open_proposal(conn, proposal_id, volunteer_id)
        if locked is None:
            raise await _not_open(conn, proposal_id, volunteer_id)
        roster_id, shift_id = locked
        outcome = await shifts_service.sign_up(conn, who, shift_id)
        if not await rosters_sql.accept(conn, proposal_id, volunteer_id, outcome.signup_id):
            raise Conflict("This proposal is no longer open")
        await audit_log.record(
            conn, who, "roster_proposal.accept", "roster", roster_id,
            detail={"proposal_id": proposal_id, "shift_id": shift_id, "signup_id": outcome.signup_id},
        )  # fmt: skip
    return await my_proposal(conn, who, proposal_id)


async def decline(conn: asyncpg.Connection, queue: JobQueue, who: Identity, proposal_id: int) -> DeclineOutcome:
    """Decline a proposal: the volunteer is kept off that shift and the week is re-planned with the least change."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    run: RunRow | None = None
    async with conn.transaction():
        found = await rosters_sql.decline(conn, proposal_id, volunteer_id)
        if found is None:
            raise await _not_open(conn, proposal_id, volunteer_id)
        roster_id, shift_id = found
        await audit_log.record(
            conn, who, "roster_proposal.decline", "roster", roster_id,
            detail={"proposal_id": proposal_id, "shift_id": shift_id},
        )  # fmt: skip
        roster = await rosters_sql.get_roster(conn, roster_id)
        assert roster is not None
        try:
            async with conn.transaction():
                run = await plan(conn, roster, who, reason="declined")
        except Conflict:
            run = None  # nothing left to plan (the week has passed or every place is taken)
    if run is not None:
        await runs.enqueue(queue, RUNS, run)
    return DeclineOutcome(await my_proposal(conn, who, proposal_id), run)
