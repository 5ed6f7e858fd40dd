"""Optimiser runs: a row before it is a job; progress as it comes; the result written once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from sql.rows import with_json


class RunPublic(msgspec.Struct, frozen=True):
    """What the API may show of an optimiser run: which model solved what, where it stands, its figures and result."""

    id: int
    # Which optimiser: 'award', 'portfolio', 'roster' or 'teams'; the subject is what it decides for
    # ('tender', 'call', 'roster', 'contract') and its id.
    model: str
    subject_type: str
    subject_id: int
    inputs_version: int
    status: str
    time_limit_s: float
    progress: list[dict[str, Any]]
    objective: float | None
    bound: float | None
    gap: float | None
    solver_status: str | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RunRow(RunPublic, frozen=True):
    """One optimiser run and where it stands, with its inputs' digest, seed and starter (never shown)."""

    inputs_digest: str | None
    seed: int
    created_by: int | None


_RUN_COLUMNS = """
id, model, subject_type, subject_id, inputs_version, inputs_digest, status, time_limit_s::float8 AS time_limit_s,
seed, progress::text AS progress, objective, bound, gap, solver_status, result::text AS result, error, attempts,
created_by, created_at, started_at, finished_at
"""
SELECT_RUN = f"SELECT {_RUN_COLUMNS} FROM match_runs WHERE id = $1"
SELECT_LATEST_RUN = f"""
SELECT {_RUN_COLUMNS} FROM match_runs WHERE model = $1 AND subject_type = $2 AND subject_id = $3
ORDER BY inputs_version DESC LIMIT 1
"""
SELECT_RUNS = f"""
SELECT {_RUN_COLUMNS} FROM match_runs WHERE model = $1 AND subject_type = $2 AND subject_id = $3
ORDER BY inputs_version DESC LIMIT $4
"""
# Serialises starts for one subject, so two clicks at once cannot both pick the next version.
LOCK_SUBJECT = """
SELECT pg_advisory_xact_lock(hashtext('match_run:' || $1::text || ':' || $2::text || ':' || $3::bigint))
"""
INSERT_RUN = """
INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, inputs_digest, time_limit_s, seed, created_by)
VALUES ($1, $2, $3,
        coalesce((SELECT max(inputs_version) FROM match_runs WHERE model = $1 AND subject_type = $2
                  AND subject_id = $3), 0) + 1,
        $4, $5, $6, $7)
RETURNING id
"""
# A run still queued, or left running by a worker that died, may be (re)started; a finished one may not.
# Progress is kept across attempts: a second delivery racing the first must not wipe the first's points.
START_RUN = """
UPDATE match_runs SET status = 'running', attempts = attempts + 1, started_at = now()
WHERE id = $1 AND status IN ('queued', 'running') RETURNING id
"""
APPEND_PROGRESS = """
UPDATE match_runs SET progress = progress || $2::jsonb WHERE id = $1 AND status = 'running' RETURNING id
"""
# The guard that makes the result land once, however often the job is delivered.
FINISH_RUN = """
UPDATE match_runs
SET status = 'succeeded', objective = $2, bound = $3, gap = $4, solver_status = $5, result = $6::jsonb,
    progress = CASE WHEN $7::jsonb = '[]'::jsonb THEN progress ELSE $7::jsonb END, finished_at = now(), error = NULL
WHERE id = $1 AND status <> 'succeeded'
RETURNING id
"""
# The runs the database says still wait for a job: the worker's sweep queues each again (its job id dedups).
SELECT_QUEUED_RUNS = """
SELECT id, model FROM match_runs WHERE status = 'queued' AND model = ANY($1::text[]) ORDER BY id LIMIT $2
"""
FAIL_RUN = """
UPDATE match_runs SET status = 'failed', error = $2, finished_at = now()
WHERE id = $1 AND status IN ('queued', 'running') RETURNING id
"""


def _run(record: asyncpg.Record | None) -> RunRow | None:
    return None if record is None else with_json(record, RunRow, "progress", "result")


async def get_run(conn: asyncpg.Connection, run_id: int) -> RunRow | None:
    """One run by id."""
    return _run(await conn.fetchrow(SELECT_RUN, run_id))


async def queued_runs(conn: asyncpg.Connection, models: list[str], limit: int = 1000) -> list[tuple[int, str]]:
    """(id, model) of the runs of these models still queued, oldest first."""
    return [(r["id"], r["model"]) for r in await conn.fetch(SELECT_QUEUED_RUNS, models, limit)]


async def latest_run(conn: asyncpg.Connection, model: str, subject_type: str, subject_id: int) -> RunRow | None:
    """The newest run of a model for a subject."""
    return _run(await conn.fetchrow(SELECT_LATEST_RUN, model, subject_type, subject_id))


async def list_runs(
    conn: asyncpg.Connection, model: str, subject_type: str, subject_id: int, limit: int = 20
) -> list[RunRow]:
    """A subject's runs, newest first."""
    rows = await conn.fetch(SELECT_RUNS, model, subject_type, subject_id, limit)
    return [r for r in (_run(x) for x in rows) if r is not None]


async def lock_subject(conn: asyncpg.Connection, model: str, subject_type: str, subject_id: int) -> None:
    """Hold a transaction lock on a subject's runs."""
    await conn.execute(LOCK_SUBJECT, model, subject_type, subject_id)


async def insert_run(
    conn: asyncpg.Connection,
    *,
    model: str,
    subject_type: str,
    subject_id: int,
    inputs_digest: str,
    time_limit_s: float,
    seed: int,
    created_by: int | None,
) -> int:
    """A queued run with the subject's next inputs version; returns its id."""
    return int(
        await conn.fetchval(INSERT_RUN, model, subject_type, subject_id, inputs_digest, time_limit_s, seed, created_by)
    )


async def start_run(conn: asyncpg.Connection, run_id: int) -> bool:
    """Mark a run running (again); False if it has already finished."""
    return await conn.fetchval(START_RUN, run_id) is not None


async def append_progress(conn: asyncpg.Connection, run_id: int, points: list[dict[str, Any]]) -> bool:
    """Add progress points to a running run."""
    return await conn.fetchval(APPEND_PROGRESS, run_id, msgspec.json.encode(points).decode()) is not None


async def finish_run(
    conn: asyncpg.Connection,
    run_id: int,
    *,
    objective: float,
    bound: float,
    gap: float,
    solver_status: str,
    result: dict[str, Any],
    progress: list[dict[str, Any]],
) -> bool:
    """Record a run's result unless one is already recorded; False means someone wrote it first."""
    found = await conn.fetchval(
        FINISH_RUN,
        run_id,
        objective,
        bound,
        gap,
        solver_status,
        msgspec.json.encode(result).decode(),
        msgspec.json.encode(progress).decode(),
    )
    return found is not None


async def fail_run(conn: asyncpg.Connection, run_id: int, error: str) -> bool:
    """Mark an unfinished run failed."""
    return await conn.fetchval(FAIL_RUN, run_id, error[:2000]) is not None
