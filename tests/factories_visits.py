"""Home visits to note, rate and raise incidents on: a 311 team's done contact and a home-care shift under way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from api.security import new_token, token_hash
from api.services.accounts import Identity
from tests.factories_shifts import add_signup, create_shift
from tests.factories_teams import Project, create_carer, create_project, form_team, volunteer_identity

PHONE = "13800138000"


@dataclass
class Visits:
    """A project household with a phone, its team's carer and a done contact, and a shift carer on a visit now."""

    project: Project
    household_id: int
    team_visit_id: int
    carer: Identity
    shift_id: int
    shift_carer: Identity


async def done_team_visit(conn: asyncpg.Connection, team_id: int, volunteer_id: int, hours_ago: float = 1) -> int:
    """A team contact at the household, recorded as done by the member."""
    return int(
        await conn.fetchval(
            "INSERT INTO team_visits (team_id, at, status, minutes, contact_kind, recorded_by, recorded_at)"
            " VALUES ($1, now() - make_interval(secs => $3 * 3600), 'done', 60, 'home_visit', $2, now()) RETURNING id",
            team_id,
            volunteer_id,
            hours_ago,
        )
    )


async def create_visits(conn: asyncpg.Connection, *, phone: str | None = PHONE) -> Visits:
    """The scene most visit-note tests start from."""
    project = await create_project(conn)
    household_id = project.households[0]
    await conn.execute("UPDATE households SET phone = $2 WHERE id = $1", household_id, phone)
    carer = await create_carer(conn)
    team_id = await form_team(conn, project, household_id, [carer[0]], "mon-am")
    team_visit_id = await done_team_visit(conn, team_id, carer[0])
    shift_carer = await create_carer(conn)
    now = dt.datetime.now(dt.UTC)
    shift_id = await create_shift(
        conn, organisation_id=project.organisation_id, starts_at=now - dt.timedelta(hours=1), household_id=household_id
    )
    await add_signup(conn, shift_id, shift_carer[0])
    return Visits(
        project=project,
        household_id=household_id,
        team_visit_id=team_visit_id,
        carer=await volunteer_identity(conn, carer),
        shift_id=shift_id,
        shift_carer=await volunteer_identity(conn, shift_carer),
    )


async def rating_link(conn: asyncpg.Connection, household_id: int, team_visit_id: int, days: int = 7) -> str:
    """A rating link for a team visit written directly; its token."""
    token = new_token()
    await conn.execute(
        "INSERT INTO visit_rating_links (token_hash, household_id, team_visit_id, visit_kind, expires_at, sms_status)"
        " VALUES ($1, $2, $3, 'team', now() + make_interval(days => $4), 'no_phone')",
        token_hash(token),
        household_id,
        team_visit_id,
        days,
    )
    return token
