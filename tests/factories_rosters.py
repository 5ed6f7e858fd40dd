"""Factories for roster tests: a week of shifts next week, volunteers near them, and solving a run in-process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from api.services import rosters
from api.services.types import SHANGHAI, today
from matching.roster import RosterResult
from sql import match_runs as runs_sql
from sql.match_runs import RunRow


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


async def add_certificate(conn: asyncpg.Connection, volunteer_id: int, kind: str = "elderly_carer") -> None:
    """A valid certificate of a volunteer."""
    await conn.execute(
        "INSERT INTO volunteer_certificates (volunteer_id, kind, expires_on) VALUES ($1, $2, current_date + 365)",
        volunteer_id,
        kind,
    )


async def solve_now(conn: asyncpg.Connection, run: RunRow, time_limit_s: float = 2.0) -> dict[str, Any]:
    """What the worker does for a run, in this connection: load, check the digest, solve, write."""
    inputs = await rosters._load(conn, run.subject_id)
    assert inputs.digest() == run.inputs_digest
    assert await runs_sql.start_run(conn, run.id)
    result = msgspec.json.decode(rosters.solve_roster(inputs.problem, time_limit_s, 0, None), type=RosterResult)
    written = await rosters.write_result(conn, run.id, inputs, result)
    return {"written": written, "result": result}
