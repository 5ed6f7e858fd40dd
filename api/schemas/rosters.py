"""Response structs for optimised rosters, roster proposals and respite visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from api.schemas.common import out, outs
from api.schemas.runs import RunOut, run_out
from api.services.respite import Scheduled
from api.services.rosters import DeclineOutcome, RosterSummary, RunView
from sql.respite import EntitlementPublic, RequestPublic
from sql.roster_pins import PinRow
from sql.rosters import ProposalPublic


class RosterOut(msgspec.Struct, frozen=True):
    """A publisher's week and its newest run."""

    id: int
    week_starts: dt.date
    kind: str
    latest_run: RunOut | None


class ProposalOut(ProposalPublic, frozen=True):
    """A proposal (排班建议): the shift, the volunteer, its status and the reasons behind it."""


class RosterRunViewOut(msgspec.Struct, frozen=True):
    """A run with the proposals it wrote."""

    run: RunOut
    week_starts: dt.date
    kind: str
    proposals: list[ProposalOut]


class DeclineOut(msgspec.Struct, frozen=True):
    """A declined proposal and the re-plan it started."""

    proposal: ProposalOut
    replan: RunOut | None


class EntitlementOut(EntitlementPublic, frozen=True):
    """A household's respite entitlement."""


class RespiteRequestOut(RequestPublic, frozen=True):
    """A visit request, its shift once scheduled, and who holds it or is proposed for it."""


class ScheduledOut(msgspec.Struct, frozen=True):
    """A scheduled week: visits made into shifts and the roster run proposing carers."""

    scheduled: int
    run: RunOut


def proposal_out(row: Any) -> ProposalOut:
    """The public shape of a proposal."""
    return out(row, ProposalOut)


def proposals_out(rows: list[Any]) -> list[ProposalOut]:
    """Proposals' public shape."""
    return outs(rows, ProposalOut)


def run_view_out(view: RunView) -> RosterRunViewOut:
    """A run with its proposals."""
    return RosterRunViewOut(
        run=run_out(view.run),
        week_starts=view.roster.week_starts,
        kind=view.roster.kind,
        proposals=proposals_out(view.proposals),
    )


def roster_out(summary: RosterSummary) -> RosterOut:
    """A week and its newest run."""
    r = summary.roster
    return RosterOut(
        id=r.id,
        week_starts=r.week_starts,
        kind=r.kind,
        latest_run=run_out(summary.latest) if summary.latest else None,
    )


def decline_out(outcome: DeclineOutcome) -> DeclineOut:
    """A decline and its re-plan."""
    return DeclineOut(proposal=proposal_out(outcome.proposal), replan=run_out(outcome.run) if outcome.run else None)


def scheduled_out(s: Scheduled) -> ScheduledOut:
    """A scheduled week."""
    return ScheduledOut(scheduled=s.scheduled, run=run_out(s.run))


def entitlements_out(rows: list[Any]) -> list[EntitlementOut]:
    """Entitlements' public shape (no names: the API says which household by id)."""
    return outs(rows, EntitlementOut)


def requests_out(rows: list[Any]) -> list[RespiteRequestOut]:
    """Requests' public shape."""
    return outs(rows, RespiteRequestOut)


class PinOut(PinRow, frozen=True):
    """A pinned (volunteer, shift) pair: every later plan of the week keeps it, or reports why it cannot."""


class SteeringOut(msgspec.Struct, frozen=True):
    """The pins and the spread weight (0-100) of a roster week."""

    roster_id: int
    spread: int
    pins: list[PinOut]


def pin_out(row: PinRow) -> PinOut:
    """A pin's public shape."""
    return out(row, PinOut)
