"""311 teams people can steer (issue 15, item 7): the project's organisation pins a carer to a household's team
on a teams run's page and re-plans the rest.

Pins are inputs of the teams model (matching.teams: `pinned`), loaded with the rest of the project
(api.services.teams.load_inputs, which also lists the pins no plan can keep), so a re-plan is an ordinary run of
the pipeline and its digest changes with them. Pin and unpin share their shape with the rosters'
(api.services.pinning).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import pinning, runs, teams
from api.services.accounts import Identity
from api.services.household_access import MaskedHousehold, masked
from api.services.runs import JobQueue
from sql import team_pins as pins_sql
from sql.match_runs import RunRow
from sql.team_pins import TeamPinRow


class TeamPinCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pin a live member of a team of the run's project: every later plan keeps them on it, or says why not."""

    member_id: Annotated[int, Meta(ge=1, le=2**62)]


class SteeredMember(msgspec.Struct, frozen=True):
    """A live member of a team as its planner steers it: the membership to pin, and its pin if pinned."""

    member_id: int
    volunteer_id: int
    volunteer_name: str
    trained: bool
    pin_id: int | None


class SteeredTeam(msgspec.Struct, frozen=True):
    """A live team of the project with its members (household masked)."""

    team_id: int
    household: MaskedHousehold
    slot: str
    members: list[SteeredMember]


class TeamSteeringView(msgspec.Struct, frozen=True):
    """A run's project as its organisation steers it: the live teams with their members, and the pins."""

    contract_id: int
    teams: list[SteeredTeam]
    pins: list[TeamPinRow]


async def _contract_id(conn: asyncpg.Connection, who: Identity, run_id: int) -> int:
    return (await teams.get_run(conn, who, run_id)).subject_id


async def steering(conn: asyncpg.Connection, who: Identity, run_id: int) -> TeamSteeringView:
    """The live teams and the pins of a run's project (the caller's own project only)."""
    contract_id = await _contract_id(conn, who, run_id)
    pins = await pins_sql.pins(conn, contract_id)
    pin_of = {(p.household_id, p.volunteer_id): p.id for p in pins}
    by_team: dict[int, SteeredTeam] = {}
    for m in await pins_sql.live_members(conn, contract_id):
        team = by_team.setdefault(
            m.team_id,
            SteeredTeam(m.team_id, masked(m.household_id, m.committee_id, m.committee_name, m.address), m.slot, []),
        )
        pin_id = pin_of.get((m.household_id, m.volunteer_id))
        team.members.append(SteeredMember(m.member_id, m.volunteer_id, m.volunteer_name, m.trained, pin_id))
    return TeamSteeringView(contract_id, list(by_team.values()), pins)


async def pin(conn: asyncpg.Connection, who: Identity, run_id: int, form: TeamPinCreate) -> TeamPinRow:
    """Pin a live member of a team of the caller's project (pinning them again is the same pin); audited."""
    return await pinning.pin(
        conn,
        who,
        subject=lambda: _contract_id(conn, who, run_id),
        insert=lambda contract: pins_sql.pin_member(conn, contract, form.member_id, who.account_id),
        missing="No such live team member in this project",
        kind="team",
        object_type="contract",
        detail=lambda row: {"household_id": row.household_id, "volunteer_id": row.volunteer_id, "run_id": run_id},
    )


async def unpin(conn: asyncpg.Connection, who: Identity, run_id: int, pin_id: int) -> None:
    """Remove a pin of the caller's project; audited."""
    await pinning.unpin(
        conn,
        who,
        pin_id,
        subject=lambda: _contract_id(conn, who, run_id),
        delete=lambda contract: pins_sql.unpin(conn, contract, pin_id),
        kind="team",
        object_type="contract",
        detail=lambda pair: {"household_id": pair[0], "volunteer_id": pair[1], "run_id": run_id},
    )


async def replan(conn: asyncpg.Connection, queue: JobQueue, who: Identity, run_id: int) -> RunRow:
    """Re-plan the project of a run around its pins; the same inputs give the same run."""

    async def project(conn: asyncpg.Connection) -> int:
        return await _contract_id(conn, who, run_id)

    return await runs.start(conn, queue, teams.RUNS, who.account_id, project, detail={"reason": "steered"})
