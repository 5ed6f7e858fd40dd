"""Factories for 311 projects: a contract covering a 311 need with households, and carers with weekly windows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import asyncpg

from api.services.accounts import Identity
from api.services.types import today
from tests import factories
from tests.factories_contracts import award_ready
from tests.factories_shifts import verify_claim
from tests.factories_tendering import create_need

BASE = (31.2800, 121.5200)


@dataclass
class Project:
    """A running 311 project and who is who in it."""

    contract_id: int
    organisation_id: int
    organisation_account: int
    committee_id: int
    committee_account: int
    need_id: int
    organisation_who: Identity
    committee_who: Identity
    households: list[int] = field(default_factory=list)

    def organisation(self) -> Identity:
        """The organisation's Identity for calling use cases."""
        return self.organisation_who

    def committee(self) -> Identity:
        """The committee's Identity for calling use cases."""
        return self.committee_who


async def item_311(conn: asyncpg.Connection) -> int:
    """The 311 catalogue item (made if the test database has none)."""
    found = await conn.fetchval("SELECT id FROM catalogue_items WHERE code = 'companionship_311'")
    if found is not None:
        return int(found)
    return await factories.create_catalogue_item(conn, code="companionship_311", personal=True)


async def add_household(
    conn: asyncpg.Connection, project: Project, *, at: tuple[float, float] = BASE, address: str | None = None,
    care_notes: str = "",
) -> int:  # fmt: skip
    """A household of the project's committee named on its 311 need."""
    n = factories.next_n()
    household_id = int(
        await conn.fetchval(
            "INSERT INTO households (committee_id, head_name, address, lat, lon, care_notes, consent_recorded_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id",
            project.committee_id,
            f"李{n}",
            address or f"长阳路{1000 + n}弄{n % 40 + 1}号{n % 6 + 1}0{n % 4 + 1}室",
            at[0],
            at[1],
            care_notes,
        )
    )
    await conn.execute(
        "INSERT INTO need_households (need_id, household_id) VALUES ($1, $2)", project.need_id, household_id
    )
    project.households.append(household_id)
    return household_id


async def create_project(
    conn: asyncpg.Connection, households: int = 1, status: str = "active", item: int | None = None
) -> Project:
    """An organisation's signed contract whose lot covers a 311 need (or one of `item`) naming `households`
    households."""
    item = item or await item_311(conn)
    setup = await award_ready(conn, catalogue_item_id=item)
    committee_account = await factories.create_account(conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", committee_account)
    need_id = await create_need(conn, committee_id, item, committee_account, status="funded")
    await conn.execute("INSERT INTO lot_needs (lot_id, need_id) VALUES ($1, $2)", setup.lot_id, need_id)
    contract_id = await conn.fetchval(
        "INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, starts_on, ends_on, status,"
        " signed_at) VALUES ($1, $2, $3, $4, current_date + 30, current_date, current_date + 365, $5,"
        " CASE WHEN $5 = 'active' THEN now() END) RETURNING id",
        setup.award_id,
        setup.funder_id,
        setup.organisation_id,
        setup.price_fen,
        status,
    )
    project = Project(
        contract_id=contract_id,
        organisation_id=setup.organisation_id,
        organisation_account=setup.organisation_account,
        committee_id=committee_id,
        committee_account=committee_account,
        need_id=need_id,
        organisation_who=await factories.identity_of(conn, setup.organisation_account),
        committee_who=await factories.identity_of(conn, committee_account),
    )
    for k in range(households):
        await add_household(conn, project, at=(BASE[0] + 0.001 * k, BASE[1]))
    return project


async def create_carer(
    conn: asyncpg.Connection,
    *,
    at: tuple[float, float] = BASE,
    trained: bool = False,
    windows: tuple[tuple[int, str, str], ...] = ((1, "09:00", "12:00"),),
    certificate: bool = False,
) -> tuple[int, int]:
    """A consenting volunteer with an account living at `at`, free in these weekly windows; (volunteer, account).

    `trained`: with a verified elderly-carer certificate; `certificate` alone: declared only (certificate and skill).
    """
    account_id = await factories.create_account(conn, "volunteer")
    volunteer_id = int(await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id))
    await conn.execute(
        "UPDATE volunteers SET lat = $2, lon = $3, skills = $4, sensitive_data_consent_at = now() WHERE id = $1",
        volunteer_id,
        at[0],
        at[1],
        ["elderly_care_cert"] if certificate and not trained else [],
    )
    if trained or certificate:
        await conn.execute(
            "INSERT INTO volunteer_certificates (volunteer_id, kind, number, expires_on)"
            " VALUES ($1, 'elderly_carer', 'YL-001', current_date + 365)",
            volunteer_id,
        )
    if trained:
        # Trained means verified by staff: a declared certificate or skill alone is only the carer's word.
        await verify_claim(
            conn, volunteer_id, "certificate", "elderly_carer", expires_on=today() + dt.timedelta(days=365)
        )
    for weekday, starts, ends in windows:
        await conn.execute(
            "INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, $3, $4)",
            volunteer_id,
            weekday,
            dt.time.fromisoformat(starts),
            dt.time.fromisoformat(ends),
        )
    return volunteer_id, account_id


async def volunteer_identity(conn: asyncpg.Connection, carer: tuple[int, int]) -> Identity:
    """A carer's Identity, from create_carer's (volunteer id, account id), for calling use cases."""
    return await factories.identity_of(conn, carer[1])


async def form_team(conn: asyncpg.Connection, project: Project, household_id: int, carers: list[int], slot: str) -> int:
    """A live team written directly (as a run would), for setting the scene."""
    team_id = int(
        await conn.fetchval(
            "INSERT INTO teams (household_id, organisation_id, contract_id, slot) VALUES ($1, $2, $3, $4) RETURNING id",
            household_id,
            project.organisation_id,
            project.contract_id,
            slot,
        )
    )
    for c in carers:
        await conn.execute("INSERT INTO team_members (team_id, volunteer_id) VALUES ($1, $2)", team_id, c)
    return team_id


async def create_team(conn: asyncpg.Connection, household_id: int, organisation_id: int, contract_id: int) -> int:
    """A live team of a household under any contract, with one member volunteer (for authorisation tests)."""
    team_id = int(
        await conn.fetchval(
            "INSERT INTO teams (household_id, organisation_id, contract_id, slot) VALUES ($1, $2, $3, 'mon-am')"
            " RETURNING id",
            household_id,
            organisation_id,
            contract_id,
        )
    )
    volunteer_id = await factories.create_volunteer(conn)
    await conn.execute("INSERT INTO team_members (team_id, volunteer_id) VALUES ($1, $2)", team_id, volunteer_id)
    return team_id
