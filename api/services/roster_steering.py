"""Plans people can steer (issue 15, item 7): a planner pins proposals and re-plans the rest, spreads hours, and a
volunteer asks "why not me?" about a shift.

Pins and the spread weight are inputs of the roster model (matching.roster: `pinned`, `spread`), loaded with the
rest of the week (api.services.rosters.load_inputs), so a re-plan goes through the run pipeline and its digest
changes with them. "Why not me?" is computed from the roster's newest plan (its proposals and their reasons) and
the week's inputs: never from other volunteers' personal data, and never naming who was chosen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import asyncpg
import msgspec

from api.services import pinning, rosters, runs
from api.services.accounts import Identity
from api.services.errors import found
from api.services.runs import JobQueue
from api.services.shifts import REASON_MESSAGES, blocking
from matching import roster as roster_model
from matching.common import haversine_km
from sql import match_runs as runs_sql
from sql import roster_pins as pins_sql
from sql import rosters as rosters_sql
from sql import shifts as shifts_sql
from sql.match_runs import RunRow
from sql.roster_pins import PinRow

_ONLY_VOLUNTEERS = "Only volunteers can ask why they were not proposed"


class PinCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pin a proposal of the run's roster: every later plan keeps its volunteer on its shift, or says why not."""

    proposal_id: int


class Replan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Re-plan the run's week around its pins, with this spread weight (0: off, 100: strongest)."""

    spread: rosters.Spread = 0


class SteeringView(msgspec.Struct, frozen=True):
    """A run's roster as its planner steers it: the pins and the spread weight."""

    roster_id: int
    spread: int
    pins: list[PinRow]


# --------------------------------------------------------------------------------------------- pins


async def steering(conn: asyncpg.Connection, who: Identity, run_id: int) -> SteeringView:
    """The pins and the spread weight of a run's roster (the caller's own roster only)."""
    view = await rosters.get_run(conn, who, run_id)
    roster_id = view.roster.id
    return SteeringView(roster_id, await pins_sql.spread(conn, roster_id), await pins_sql.pins(conn, roster_id))


async def pin(conn: asyncpg.Connection, who: Identity, run_id: int, form: PinCreate) -> PinRow:
    """Pin a live proposal of the caller's roster (pinning it again is the same pin); audited."""

    async def roster_id() -> int:
        return (await rosters.get_run(conn, who, run_id)).roster.id

    return await pinning.pin(
        conn,
        who,
        subject=roster_id,
        insert=lambda roster: pins_sql.pin_proposal(conn, roster, form.proposal_id, who.account_id),
        missing="No such open or accepted proposal in this roster",
        kind="roster",
        object_type="roster",
        detail=lambda row: {"proposal_id": form.proposal_id, "shift_id": row.shift_id, "run_id": run_id},
    )


async def unpin(conn: asyncpg.Connection, who: Identity, run_id: int, pin_id: int) -> None:
    """Remove a pin of the caller's roster; audited."""

    async def roster_id() -> int:
        return (await rosters.get_run(conn, who, run_id)).roster.id

    await pinning.unpin(
        conn,
        who,
        pin_id,
        subject=roster_id,
        delete=lambda roster: pins_sql.unpin(conn, roster, pin_id),
        kind="roster",
        object_type="roster",
        detail=lambda pair: {"shift_id": pair[1], "run_id": run_id},
    )


async def replan(conn: asyncpg.Connection, queue: JobQueue, who: Identity, run_id: int, form: Replan) -> RunRow:
    """Re-plan the week of a run of the caller's roster around its pins, with the spread weight given; the same
    inputs give the same run."""

    async def week(conn: asyncpg.Connection) -> int:
        view = await rosters.get_run(conn, who, run_id)
        await pins_sql.set_spread(conn, view.roster.id, form.spread)
        return view.roster.id

    return await runs.start(
        conn, queue, rosters.RUNS, who.account_id, week, detail={"reason": "steered", "spread": form.spread}
    )


# --------------------------------------------------------------------------------------------- why not me


WhyKind = Literal["holding", "proposed", "no-plan", "closed", "not-eligible", "outscored"]

# What a volunteer is told (msgids; the pages translate them). None names or describes another volunteer.
WHY_MESSAGES: dict[str, str] = {
    **REASON_MESSAGES,
    "holding": "You already hold a place on this shift",
    "proposed": "The plan proposed this shift to you: see your roster proposals",
    "no-plan": "No roster plan covers this shift yet; you can still sign up if you are eligible",
    "closed": "This shift has no free place left to plan, or it is closed",
    "declined": "You declined this shift, so plans keep you off it",
    "no-windows": "You have no available time in this shift's week",
    "busy": "You are already committed at this time (a place, a team visit or another roster's proposal)",
    "proposed-overlap": "The plan already proposed you an overlapping shift",
    "proposed-hours": "The shifts the plan already proposed to you fill your weekly hour cap",
    "spread": "You already have many hours this week, and this plan spreads hours across volunteers",
    "closer": "The volunteers the plan chose live closer to this shift",
    "continuity": "The volunteers the plan chose served this household or shift before",
    "reliability": "The volunteers the plan chose kept more of their recent places",
    "left-open": "The plan left this place open; it was made before you could take it, and a new plan may ask you",
    "value": "The plan fills more places or needs less travel overall with the volunteers it chose",
    "changed": "Your week or this shift changed since the plan was made; a new plan may differ",
}


class WhyReason(msgspec.Struct, frozen=True):
    """One reason, as a code and its message."""

    code: str
    message: str


class WhyNot(msgspec.Struct, frozen=True):
    """Why the calling volunteer was not proposed for a shift by its roster's newest plan."""

    shift_id: int
    kind: WhyKind
    reasons: list[WhyReason]
    run_id: int | None = None


def _why(shift_id: int, kind: WhyKind, codes: list[str], run_id: int | None = None) -> WhyNot:
    reasons = [WhyReason(c, WHY_MESSAGES[c]) for c in dict.fromkeys(codes)]
    return WhyNot(shift_id, kind, reasons, run_id)


def _token_codes(volunteer: roster_model.Volunteer, shift: roster_model.Shift) -> list[str]:
    """The shift's requirement tokens the volunteer lacks, as the sign-up rules' reason codes."""
    missing = set(shift.requires) - set(volunteer.skills)
    codes = []
    for token in sorted(missing):
        if token.startswith(rosters.CERT):
            codes.append("certificates")
        elif token.startswith(rosters.AGE):
            codes.append("age")
        elif token.startswith(rosters.ADULT):
            codes.append("age_unverified")
        elif token.startswith(rosters.INSURED):
            codes.append("insurance")
        elif token.startswith(rosters.FREE):
            codes.append("declined")
        elif token == rosters.CONSENT:
            codes.append("consent")
        else:
            codes.append("skills")
    return codes


def outscored_by(
    problem: roster_model.RosterProblem,
    me: roster_model.Volunteer,
    shift: roster_model.Shift,
    chosen: list[dict[str, Any]],
    mine: list[tuple[dt.datetime, dt.datetime]],
) -> list[str]:
    """Why an eligible volunteer is not on a shift of the plan: from the plan's own proposals to them (`mine`:
    their shifts' times), the spread weight, and the chosen volunteers' reasons (km, continuity, reliability)
    compared with theirs. Only comparisons are said, never who was chosen."""
    codes: list[str] = []
    if any(a < shift.end and shift.start < b for a, b in mine):
        codes.append("proposed-overlap")
    minutes = sum(int((b - a).total_seconds() // 60) for a, b in mine)
    length = roster_model.shift_minutes(shift)
    if minutes + length > me.max_minutes:
        codes.append("proposed-hours")
    elif problem.spread and roster_model.spread_penalty(problem.spread, minutes + length) > (
        roster_model.spread_penalty(problem.spread, minutes)
    ):
        codes.append("spread")
    if not chosen:
        return codes or ["left-open"]
    km = haversine_km(me.home, shift.place)
    if all(float(c.get("km", 0.0)) < km for c in chosen):
        codes.append("closer")
    pair_previous = (me.id, shift.id) in set(problem.previous)
    if not pair_previous and all(int(c.get("continuity_bonus", 0)) > 0 for c in chosen):
        codes.append("continuity")
    mine_penalty = roster_model.reliability_penalty(me)
    if mine_penalty and all(int(c.get("reliability_penalty", 0)) < mine_penalty for c in chosen):
        codes.append("reliability")
    return codes or ["value"]


async def why_not_me(conn: asyncpg.Connection, who: Identity, shift_id: int) -> WhyNot:
    """Why the calling volunteer is not proposed for a shift: not eligible because …, or eligible but the newest
    plan chose others because … (from that plan's proposals and the week's inputs)."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    view = found(await shifts_sql.get_shift_for_volunteer(conn, shift_id, volunteer_id), "No such shift")
    if view.my_status == "active":
        return _why(shift_id, "holding", ["holding"])
    if codes := blocking(view.reasons):
        # The sign-up rules already refuse this person: the plan never could propose it.
        return _why(shift_id, "not-eligible", codes)
    roster_id = await pins_sql.shift_roster(conn, shift_id)
    roster = None if roster_id is None else await rosters_sql.get_roster(conn, roster_id)
    latest = None if roster is None else await runs_sql.latest_run(conn, rosters.MODEL, rosters.SUBJECT, roster.id)
    if roster is None or latest is None or latest.status != "succeeded":
        return _why(shift_id, "no-plan", ["no-plan"])
    proposals = [p for p in await rosters_sql.run_proposals(conn, latest.id) if p.status in ("proposed", "accepted")]
    if any(p.volunteer_id == volunteer_id and p.shift_id == shift_id for p in proposals):
        return _why(shift_id, "proposed", ["proposed"], latest.id)
    inputs = await rosters.load_inputs(conn, roster)
    # The plan itself becoming the current plan changes nothing that matters (the base digest leaves it out).
    stored = latest.result or {}
    changed = ["changed"] if stored.get("base_digest") != inputs.base_digest() else []
    me = next((v for v in inputs.problem.volunteers if v.id == volunteer_id), None)
    shift = next((s for s in inputs.problem.shifts if s.id == shift_id), None)
    if shift is None:
        return _why(shift_id, "closed", ["closed"], latest.id)
    if me is None:
        # The sign-up rules let them, so the week left them out: no free time in it.
        return _why(shift_id, "not-eligible", ["no-windows", *changed], latest.id)
    rule = roster_model.exclusion(me, shift)
    if rule is not None:
        codes = _token_codes(me, shift) if rule == "skills" else [_RULE_CODES.get(rule, rule)]
        return _why(shift_id, "not-eligible", [*codes, *changed], latest.id)
    chosen = [p.reasons for p in proposals if p.shift_id == shift_id]
    mine = [(p.starts_at, p.ends_at) for p in proposals if p.volunteer_id == volunteer_id]
    return _why(shift_id, "outscored", [*outscored_by(inputs.problem, me, shift, chosen, mine), *changed], latest.id)


# The model's exclusion rules as the reasons a volunteer reads.
_RULE_CODES = {"max_minutes": "hours_cap", "not-worthwhile": "distance"}
