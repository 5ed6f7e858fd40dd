"""What every optimiser run shares: the job id from the run, enqueueing it once, and pumping progress into the row."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import asyncpg
import msgspec
import structlog

from sql import match_runs as runs_sql
from sql.match_runs import RunRow

log = structlog.get_logger("linli.runs")


class JobQueue(Protocol):
    """What the use case needs of arq's Redis pool."""

    async def enqueue_job(self, function: str, *args: Any, _job_id: str | None = None) -> Any:
        """Queue a job unless one with this id is queued, running or kept."""


def job_id(run_id: int) -> str:
    """The arq job id of a run: one job per run, however often it is enqueued."""
    return f"match-run-{run_id}"


async def enqueue(queue: JobQueue, job_name: str, run: RunRow) -> None:
    """Queue a run's job unless its result is written; call after the commit, so the worker finds the row."""
    if run.status != "succeeded":
        # The job id makes a second enqueue of the same run a no-op.
        await queue.enqueue_job(job_name, run.id, _job_id=job_id(run.id))


async def reuse_or_insert(
    conn: asyncpg.Connection,
    *,
    model: str,
    subject_type: str,
    subject_id: int,
    digest: str,
    time_limit_s: float,
    created_by: int,
) -> tuple[int, bool]:
    """The subject's newest run when its inputs are the same and it has not failed (a second click), else a new
    run; returns (run id, whether it is new). Call with the subject locked (runs_sql.lock_subject)."""
    latest = await runs_sql.latest_run(conn, model, subject_type, subject_id)
    if latest is not None and latest.inputs_digest == digest and latest.status != "failed":
        return latest.id, False
    run_id = await runs_sql.insert_run(
        conn,
        model=model,
        subject_type=subject_type,
        subject_id=subject_id,
        inputs_digest=digest,
        time_limit_s=time_limit_s,
        seed=0,
        created_by=created_by,
    )
    return run_id, True


async def pump_progress(pool: Any, run_id: int, progress: Any, stop: asyncio.Event) -> None:
    """Copy the child's progress points into the run's row as they arrive."""
    while True:
        points: list[dict[str, Any]] = []
        while True:
            try:
                points.append(progress.get_nowait())
            except Exception:
                break
        if points:
            async with pool.acquire() as conn:
                await runs_sql.append_progress(conn, run_id, points)
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.25)
        except TimeoutError:
            continue


async def solve_in_pool(
    pool: Any, run_id: int, executor: Executor, solve: Callable[..., bytes], args: tuple[Any, ...], progress: Any
) -> bytes | None:
    """Run `solve(*args, progress)` in the process pool while pumping progress; None (run failed) if it raised."""
    stop = asyncio.Event()
    pump = asyncio.create_task(pump_progress(pool, run_id, progress, stop)) if progress is not None else None
    try:
        encoded: bytes = await asyncio.get_running_loop().run_in_executor(executor, partial(solve, *args, progress))
        return encoded
    except asyncio.CancelledError:
        # The worker is going away: leave the run 'running' so the redelivered job starts it again.
        raise
    except Exception as exc:
        log.error("optimiser run failed", run_id=run_id, exc_info=exc)
        async with pool.acquire() as conn:
            await runs_sql.fail_run(conn, run_id, f"{type(exc).__name__}: {exc}")
        return None
    finally:
        stop.set()
        if pump is not None:
            await pump


class RunInputs(Protocol):
    """A run's inputs as loaded from the database: the model's problem and a digest to detect changes."""

    @property
    def problem(self) -> Any:
        """The optimiser's problem struct."""

    def digest(self) -> str:
        """A fingerprint of everything the result depends on."""


@dataclass(frozen=True)
class RunKind:
    """How one optimiser model's runs load their inputs, solve in the process pool and write their result."""

    model: str
    load: Callable[[asyncpg.Connection, int], Awaitable[Any]]
    solver: Callable[..., bytes]
    result_type: type[Any]
    write: Callable[[asyncpg.Connection, int, Any, Any], Awaitable[bool]]


async def execute(
    pool: Any, run_id: int, kind: RunKind, *, executor: Executor, time_cap_s: float, progress: Any = None
) -> dict[str, Any]:
    """The worker's half of any run: load inputs by id, solve in the process pool, write the result once."""
    async with pool.acquire() as conn:
        run = await runs_sql.get_run(conn, run_id)
        if run is None or run.model != kind.model:
            return {"run_id": run_id, "outcome": "no such run"}
        if run.status in ("succeeded", "failed"):
            return {"run_id": run_id, "outcome": f"already {run.status}"}
        inputs: RunInputs = await kind.load(conn, run.subject_id)
        if inputs.digest() != run.inputs_digest:
            await runs_sql.fail_run(conn, run_id, "the inputs changed after the run was started; start a new run")
            return {"run_id": run_id, "outcome": "inputs changed"}
        if not await runs_sql.start_run(conn, run_id):
            return {"run_id": run_id, "outcome": "already finished"}
    time_limit = max(0.5, min(run.time_limit_s, time_cap_s))
    # A retried run gets a new seed, so a run that crashed the solver is not replayed identically.
    args = (inputs.problem, time_limit, run.seed + run.attempts)
    encoded = await solve_in_pool(pool, run_id, executor, kind.solver, args, progress)
    if encoded is None:
        return {"run_id": run_id, "outcome": "failed"}
    result = msgspec.json.decode(encoded, type=kind.result_type)
    async with pool.acquire() as conn:
        written = await kind.write(conn, run_id, inputs, result)
    return {"run_id": run_id, "outcome": "written" if written else "already written"}


async def finish(conn: asyncpg.Connection, run_id: int, result: Any, summary: dict[str, Any]) -> bool:
    """Record a solved run's figures and summary once; False when another delivery of the job wrote it first.

    The summary also says whether the solver's work budget, not the clock, ended the search: then running the same
    inputs with the same seed gives the same result (a funder can show that an award was not luck of timing).
    """
    return await runs_sql.finish_run(
        conn,
        run_id,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        solver_status=result.status,
        result={**summary, "reproducible": result.reproducible},
        progress=[],
    )
