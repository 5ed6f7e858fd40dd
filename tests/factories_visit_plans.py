"""Factories for home-visit day plans: a home-care contract with households, and carers on the organisation's
roster with verified certificates."""

from __future__ import annotations

import datetime as dt

import asyncpg

from api.services import runs, visits
from api.services.accounts import Identity
from api.services.runs import JobQueue
from api.services.types import SHANGHAI, today
from sql import visits as visits_sql
from tests import factories
from tests import factories_teams as ft
from tests.factories_shifts import verify_claim

BASE = ft.BASE
SPEEDS = visits.TravelSpeeds(detour_factor=1.3, ebike_kmh=15.0, walk_kmh=4.5)


async def item_home_care(conn: asyncpg.Connection) -> int:
    """The home-care catalogue item (made if the test database has none)."""
    found = await conn.fetchval("SELECT id FROM catalogue_items WHERE code = 'home_care'")
    if found is not None:
        return int(found)
    return await factories.create_catalogue_item(conn, code="home_care", personal=True)


async def create_contract(conn: asyncpg.Connection, households: int = 0) -> ft.Project:
    """An organisation's signed home-care contract whose need names `households` households (care level unset)."""
    return await ft.create_project(conn, households=households, item=await item_home_care(conn))


async def add_household(
    conn: asyncpg.Connection, contract: ft.Project, *, at: tuple[float, float] = BASE, care_level: int | None = None,
    slots: tuple[str, ...] = (), address: str | None = None,
) -> int:  # fmt: skip
    """A household of the contract with a care level and visit slots."""
    household_id = await ft.add_household(conn, contract, at=at, address=address)
    await conn.execute(
        "UPDATE households SET care_level = $2, visit_slots = $3 WHERE id = $1", household_id, care_level, list(slots)
    )
    return household_id


async def add_carer(
    conn: asyncpg.Connection, contract: ft.Project, *, at: tuple[float, float] = BASE,
    abilities: tuple[str, ...] = ("elderly_carer",), hours: tuple[str, str] = ("08:00", "17:00"),
    mode: str = "ebike", joined: bool = True,
) -> tuple[int, int, int]:  # fmt: skip
    """A consenting volunteer with verified certificates on the organisation's roster, working every day;
    (carer, volunteer, account)."""
    volunteer_id, account_id = await ft.create_carer(conn, at=at)
    for kind in abilities:
        await conn.execute(
            "INSERT INTO volunteer_certificates (volunteer_id, kind, number, expires_on)"
            " VALUES ($1, $2, 'C-1', current_date + 365)",
            volunteer_id,
            kind,
        )
        await verify_claim(conn, volunteer_id, "certificate", kind, expires_on=today() + dt.timedelta(days=365))
    carer_id = int(
        await conn.fetchval(
            "INSERT INTO carers (organisation_id, volunteer_id, name, lat, lon, work_days, work_starts, work_ends,"
            " travel_mode, joined_at) VALUES ($1, $2, $3, $4, $5, '{1,2,3,4,5,6,7}', $6, $7, $8,"
            " CASE WHEN $9 THEN now() END) RETURNING id",
            contract.organisation_id,
            volunteer_id,
            f"护理员{factories.next_n()}",
            at[0],
            at[1],
            dt.time.fromisoformat(hours[0]),
            dt.time.fromisoformat(hours[1]),
            mode,
            joined,
        )
    )
    return carer_id, volunteer_id, account_id


def tomorrow() -> dt.date:
    """The day the tests plan (a future day, so every visit is still to come)."""
    return dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)


async def plan_here(conn: asyncpg.Connection, queue: JobQueue, who: Identity, contract_id: int, day: dt.date) -> int:
    """The organisation starts the day's plan, then what the worker does, in the test's transaction; the run."""
    run = await visits.start_plan(conn, queue, who, contract_id, visits.PlanDay(day=day), SPEEDS)
    return await solve_run_here(conn, run.id)


async def solve_run_here(conn: asyncpg.Connection, run_id: int, time_limit_s: float = 0.2) -> int:
    """Solve and write a queued visits run in the test's transaction (a tiny budget); the run's id."""
    run = await conn.fetchrow("SELECT subject_id FROM match_runs WHERE id = $1", run_id)
    day = await visits_sql.get_day(conn, int(run["subject_id"]))
    assert day is not None
    inputs = await visits.load_inputs(conn, day)
    result = runs.solve_here(visits.RUNS, inputs.problem, time_limit_s)
    assert await runs.write_result(conn, visits.RUNS, run_id, inputs, result)
    return run_id
