"""Response structs for 311 teams and households (households only masked, except for an entitled volunteer)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.runs import RunOut, run_out
from api.services.household_access import HouseholdView, MaskedHousehold
from api.services.teams import CommitteeTeam, MyTeam, ProjectView, RefusalOutcome, TeamView
from sql.teams import MemberRow, ProjectRow, VisitRow


class HouseholdMaskedOut(msgspec.Struct, frozen=True):
    """A household as pages elsewhere show it: its committee and an address masked to the lane."""

    id: int
    committee_name: str
    masked_address: str


class ProjectOut(msgspec.Struct, frozen=True):
    """A 311 project: the contract, and how many of its households have a live team."""

    contract_id: int
    title: str
    funder_name: str
    status: str
    starts_on: dt.date
    ends_on: dt.date
    households: int
    live_teams: int


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


class MemberOut(msgspec.Struct, frozen=True):
    """A member of a team (display name only)."""

    volunteer_id: int
    display_name: str
    trained: bool
    since: dt.datetime
    until: dt.datetime | None
    ended_reason: str | None


class VisitOut(msgspec.Struct, frozen=True):
    """A planned or recorded visit."""

    id: int
    at: dt.datetime
    status: str
    minutes: int | None
    contact_kind: str | None
    recorded_by: int | None


class MonthOut(msgspec.Struct, frozen=True):
    """This month's contacts against the minimum (4 hours, 2 contacts)."""

    month: str
    minutes: int
    contacts: int
    minimum_minutes: int
    minimum_contacts: int
    met: bool


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


class RefusalOut(msgspec.Struct, frozen=True):
    """A refusal recorded, and who replaced the carer (null: the team waits for the next run)."""

    team_id: int
    refused: int
    replacement: int | None
    slot: str


class HouseholdOut(msgspec.Struct, frozen=True):
    """A household's details for a volunteer confirmed to serve it now or for its own committee, and on what basis."""

    id: int
    committee_name: str
    head_name: str
    address: str
    members: int
    care_level: int | None
    dialects: list[str]
    care_notes: str
    basis: str
    shift_id: int | None
    team_id: int | None
    visible_until: dt.datetime | None
    phone: str | None
    lat: float
    lon: float
    empty_nest: bool
    visit_slots: list[str]
    consent_recorded_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None


def masked_out(h: MaskedHousehold) -> HouseholdMaskedOut:
    """The public shape of a masked household."""
    return HouseholdMaskedOut(id=h.id, committee_name=h.committee_name, masked_address=h.masked_address)


def project_out(p: ProjectRow) -> ProjectOut:
    """The public shape of a project."""
    return ProjectOut(
        contract_id=p.contract_id,
        title=p.title,
        funder_name=p.funder_name,
        status=p.status,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        households=p.households,
        live_teams=p.live_teams,
    )


def project_detail_out(v: ProjectView) -> ProjectDetailOut:
    """The public shape of a project with its households."""
    return ProjectDetailOut(
        project=project_out(v.project),
        households=[
            ProjectHouseholdOut(
                household=masked_out(h.household),
                members=h.members,
                team_id=h.team_id,
                team_slot=h.team_slot,
                team_size=h.team_size,
                month_minutes=h.month_minutes,
                month_contacts=h.month_contacts,
                month_met=h.month_met,
            )
            for h in v.households
        ],
        latest_run=run_out(v.latest_run) if v.latest_run else None,
    )


def _member(m: MemberRow) -> MemberOut:
    return MemberOut(
        volunteer_id=m.volunteer_id,
        display_name=m.display_name,
        trained=m.trained,
        since=m.since,
        until=m.until,
        ended_reason=m.ended_reason,
    )


def visit_out(v: VisitRow) -> VisitOut:
    """The public shape of a visit."""
    return VisitOut(
        id=v.id, at=v.at, status=v.status, minutes=v.minutes, contact_kind=v.contact_kind, recorded_by=v.recorded_by
    )


def team_out(v: TeamView) -> TeamOut:
    """The public shape of a team."""
    return TeamOut(
        id=v.id,
        status=v.status,
        slot=v.slot,
        household=masked_out(v.household),
        organisation_name=v.organisation_name,
        contract_id=v.contract_id,
        formed_at=v.formed_at,
        members=[_member(m) for m in v.members],
        past_members=[_member(m) for m in v.past_members],
        visits=[visit_out(x) for x in v.visits],
        month=MonthOut(**msgspec.structs.asdict(v.month)),
    )


def my_team_out(t: MyTeam) -> MyTeamOut:
    """The public shape of one of my teams."""
    return MyTeamOut(
        id=t.id,
        household=masked_out(t.household),
        organisation_name=t.organisation_name,
        slot=t.slot,
        next_visit=t.next_visit,
    )


def committee_team_out(t: CommitteeTeam) -> CommitteeTeamOut:
    """The public shape of a committee's view of a team."""
    return CommitteeTeamOut(
        id=t.id,
        household=masked_out(t.household),
        organisation_name=t.organisation_name,
        slot=t.slot,
        members=t.members,
        month_minutes=t.month_minutes,
        month_contacts=t.month_contacts,
        month_met=t.month_met,
    )


def refusal_out(o: RefusalOutcome) -> RefusalOut:
    """The public shape of a refusal."""
    return RefusalOut(team_id=o.team_id, refused=o.refused, replacement=o.replacement, slot=o.slot)


def household_out(v: HouseholdView) -> HouseholdOut:
    """The public shape of a household's details for an entitled volunteer or its own committee."""
    h = v.household
    return HouseholdOut(
        id=h.id,
        committee_name=h.committee_name,
        head_name=h.head_name,
        address=h.address,
        members=h.members,
        care_level=h.care_level,
        dialects=h.dialects,
        care_notes=h.care_notes,
        basis=v.basis,
        shift_id=v.shift_id,
        team_id=v.team_id,
        visible_until=v.until,
        phone=h.phone,
        lat=h.lat,
        lon=h.lon,
        empty_nest=h.empty_nest,
        visit_slots=h.visit_slots,
        consent_recorded_at=h.consent_recorded_at,
        updated_at=h.updated_at,
        archived_at=h.archived_at,
    )
