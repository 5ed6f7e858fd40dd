"""Factories for roster tests: a week of shifts next week, volunteers near them, and solving a run in-process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from api.services import rosters, runs
from api.services.types import SHANGHAI, today
from sql import match_runs as runs_sql
from sql.match_runs import RunRow
from tests.factories_shifts import verify_claim


class QueueSpy:
    """A job queue that records what would be enqueued (the worker tests use the real one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue_job(self, function: str, *args: Any, _job_id: str | None = None) -> Any:
        self.calls.append((function, args, _job_id))
        return None


def next_monday() -> dt.date:
    """The Monday of next week (Shanghai)."""
    return rosters.monday_of(today()) + dt.timedelta(days=7)


def at(day: int, hour: int, monday: dt.date | None = None) -> dt.datetime:
    """Day 0-6 of next week at an hour, Shanghai time."""
    monday = monday or next_monday()
    return dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour), tzinfo=SHANGHAI)


async def set_windows(conn: asyncpg.Connection, volunteer_id: int, windows: list[tuple[int, int, int]]) -> None:
    """Weekly windows (weekday 1-7, from hour, to hour) of a volunteer."""
    for weekday, a, b in windows:
        await conn.execute(
            "INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, $3, $4)",
            volunteer_id,
            weekday,
            dt.time(a),
            dt.time(b),
        )


async def add_certificate(
    conn: asyncpg.Connection, volunteer_id: int, kind: str = "elderly_carer", *, verified: bool = True
) -> None:
    """A valid certificate of a volunteer, verified by staff unless told (declared only)."""
    await conn.execute(
        "INSERT INTO volunteer_certificates (volunteer_id, kind, expires_on) VALUES ($1, $2, current_date + 365)",
        volunteer_id,
        kind,
    )
    if verified:
        await verify_claim(conn, volunteer_id, "certificate", kind, expires_on=today() + dt.timedelta(days=365))


async def consent(conn: asyncpg.Connection, *volunteer_ids: int | None) -> None:
    """Volunteers who consented to the processing of personal data (needed for home visits)."""
    await conn.execute(
        "UPDATE volunteers SET sensitive_data_consent_at = now() WHERE id = ANY($1::bigint[])", list(volunteer_ids)
    )


async def solve_now(conn: asyncpg.Connection, run: RunRow, time_limit_s: float = 2.0) -> dict[str, Any]:
    """What the worker does for a run, in this connection: load, check the digest, solve, write."""
    inputs = await rosters.RUNS.load(conn, run.subject_id)
    assert inputs.digest() == run.inputs_digest
    assert await runs_sql.start_run(conn, run.id)
    result = runs.solve_here(rosters.RUNS, inputs.problem, time_limit_s)
    written = await runs.write_result(conn, rosters.RUNS, run.id, inputs, result)
    return {"written": written, "result": result}


async def create_roster_proposal(
    conn: asyncpg.Connection, shift_id: int, volunteer_id: int, *, organisation_id: int | None = None
) -> int:
    """A finished roster run of the shift's week that proposed this volunteer for it, written directly."""
    starts = await conn.fetchval("SELECT starts_at FROM shifts WHERE id = $1", shift_id)
    monday = rosters.monday_of(starts.astimezone(SHANGHAI).date())
    if organisation_id is None:
        organisation_id = await conn.fetchval("SELECT organisation_id FROM shifts WHERE id = $1", shift_id)
    roster_id = await conn.fetchval(
        "INSERT INTO rosters (organisation_id, week_starts) VALUES ($1, $2) RETURNING id", organisation_id, monday
    )
    run_id = await conn.fetchval(
        "INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, status, time_limit_s, result)"
        " VALUES ('roster', 'roster', $1, 1, 'succeeded', 5, '{}') RETURNING id",
        roster_id,
    )
    return int(
        await conn.fetchval(
            "INSERT INTO roster_proposals (roster_id, run_id, shift_id, volunteer_id, reasons)"
            " VALUES ($1, $2, $3, $4, '{\"km\": 0.1}') RETURNING id",
            roster_id,
            run_id,
            shift_id,
            volunteer_id,
        )
    )


async def create_entitlement(conn: asyncpg.Connection, household_id: int, **kw: Any) -> int:
    """A household's respite entitlement (three one-hour visits a week for the next two months unless told)."""
    return int(
        await conn.fetchval(
            "INSERT INTO respite_entitlements (household_id, kind, amount, period, visit_minutes, valid_from,"
            " valid_until) VALUES ($1, $2, $3, $4, $5, current_date, current_date + 60) RETURNING id",
            household_id,
            kw.get("kind", "visits"),
            kw.get("amount", 3),
            kw.get("period", "week"),
            kw.get("visit_minutes", 60),
        )
    )


async def create_request(conn: asyncpg.Connection, entitlement_id: int, starts: dt.datetime) -> int:
    """A pending visit request of an entitlement."""
    return int(
        await conn.fetchval(
            "INSERT INTO respite_requests (household_id, entitlement_id, wanted, minutes)"
            " SELECT household_id, id,"
            " tstzrange($2::timestamptz, $2::timestamptz + make_interval(mins => visit_minutes)), visit_minutes"
            " FROM respite_entitlements WHERE id = $1 RETURNING id",
            entitlement_id,
            starts,
        )
    )


async def roster_scenario(conn: asyncpg.Connection, organisation_id: int, household_id: int) -> dict[str, str]:
    """Tenant A's objects for the authorisation matrix: a roster proposal to one of its volunteers, and a respite
    entitlement and pending visit request of its household."""
    from tests.factories import create_account
    from tests.factories_shifts import create_shift

    account = await create_account(conn, "volunteer")
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account)
    shift_id = await create_shift(conn, organisation_id=organisation_id, starts_at=at(1, 10))
    entitlement_id = await create_entitlement(conn, household_id)
    proposal_id = await create_roster_proposal(conn, shift_id, volunteer_id)
    # The proposal pinned by the organisation's planner (plans people can steer).
    pin_id = await conn.fetchval(
        "INSERT INTO roster_pins (roster_id, volunteer_id, shift_id, pinned_by)"
        " SELECT p.roster_id, p.volunteer_id, p.shift_id, $2 FROM roster_proposals p WHERE p.id = $1 RETURNING id",
        proposal_id,
        account,
    )
    return {
        "roster_proposal_id": str(proposal_id),
        "pin_id": str(pin_id),
        "entitlement_id": str(entitlement_id),
        "request_id": str(await create_request(conn, entitlement_id, at(2, 9))),
    }
