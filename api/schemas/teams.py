"""Response structs for 311 teams and households (households only masked, except for an entitled volunteer)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.schemas.runs import RunOut, run_out
from api.services.household_access import HouseholdView
from api.services.teams import MonthFigures, ProjectView, RefusalOutcome
from sql.household_access import HouseholdDetailPublic
from sql.team_pins import TeamPinRow
from sql.teams import MemberPublic, ProjectPublic, VisitPublic


class HouseholdMaskedOut(msgspec.Struct, frozen=True):
    """A household as pages elsewhere show it: its committee and an address masked to the lane."""

    id: int
    committee_name: str
    masked_address: str


class ProjectOut(ProjectPublic, frozen=True):
    """A 311 project: the contract, and how many of its households have a live team."""


class ProjectHouseholdOut(msgspec.Struct, frozen=True):
    """A household of a project and its live team (if any)."""

    household: HouseholdMaskedOut
    members: int
    team_id: int | None
    team_slot: str | None
    team_size: int
    month_minutes: int
    month_contacts: int
    month_met: bool


class ProjectDetailOut(msgspec.Struct, frozen=True):
    """A project with its households and the latest teams run."""

    project: ProjectOut
    households: list[ProjectHouseholdOut]
    latest_run: RunOut | None


class MemberOut(MemberPublic, frozen=True):
    """A member of a team (display name only)."""


class VisitOut(VisitPublic, frozen=True):
    """A planned or recorded visit."""


class MonthOut(MonthFigures, frozen=True):
    """This month's contacts against the minimum (4 hours, 2 contacts)."""


class TeamOut(msgspec.Struct, frozen=True):
    """A team: household (masked), members, visits, the month's figures."""

    id: int
    status: str
    slot: str
    household: HouseholdMaskedOut
    organisation_name: str
    contract_id: int
    formed_at: dt.datetime
    members: list[MemberOut]
    past_members: list[MemberOut]
    visits: list[VisitOut]
    month: MonthOut


class MyTeamOut(msgspec.Struct, frozen=True):
    """A team the calling volunteer belongs to."""

    id: int
    household: HouseholdMaskedOut
    organisation_name: str
    slot: str
    next_visit: dt.datetime | None


class CommitteeTeamOut(msgspec.Struct, frozen=True):
    """A team serving one of the committee's households, with this month's figures."""

    id: int
    household: HouseholdMaskedOut
    organisation_name: str
    slot: str
    members: int
    month_minutes: int
    month_contacts: int
    month_met: bool


class RefusalOut(RefusalOutcome, frozen=True):
    """A refusal recorded, and who replaced the carer (null: the team waits for the next run)."""


class HouseholdOut(HouseholdDetailPublic, frozen=True):
    """A household's details for a volunteer confirmed to serve it now or for its own committee, and on what basis."""

    basis: str
    shift_id: int | None
    team_id: int | None
    visible_until: dt.datetime | None


def project_detail_out(v: ProjectView) -> ProjectDetailOut:
    """The public shape of a project with its households."""
    return out(v, ProjectDetailOut, latest_run=run_out(v.latest_run) if v.latest_run else None)


def household_out(v: HouseholdView) -> HouseholdOut:
    """The public shape of a household's details for an entitled volunteer or its own committee."""
    return out(v.household, HouseholdOut, basis=v.basis, shift_id=v.shift_id, team_id=v.team_id, visible_until=v.until)


class TeamPinOut(TeamPinRow, frozen=True):
    """A carer pinned to a household's team: every later plan of the project keeps them, or says why it cannot."""


def team_pin_out(row: TeamPinRow) -> TeamPinOut:
    """A team pin's public shape."""
    return out(row, TeamPinOut)
