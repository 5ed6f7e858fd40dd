"""One pipeline for every optimiser run: start, child-process solve, result write, told the model by a RunKind.

A run is a `match_runs` row before it is a job. Starting locks the run's subject, loads its inputs and reuses the
newest run of the same inputs (a second click) or inserts the next version, audited; the job is enqueued after the
commit with an id derived from the run, so it is never queued twice. The worker loads the inputs by id, solves in
a child process while pumping progress into the row, and writes the result once, guarded by the run's status.

The database, not Redis, is the source of truth: a run whose job could not be queued (Redis down) stays 'queued'
in match_runs, and the worker's sweep (`requeue_waiting`, at start, after a reconnection and every minute) queues
it again; the job id makes that a no-op for a run whose job is already queued or running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import msgspec
import structlog
from arq.constants import result_key_prefix
from arq.jobs import Job, JobStatus
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.services.errors import found
from matching.common import ResultHeader
from sql import audit
from sql import match_runs as runs_sql
from sql.match_runs import RunRow

log = structlog.get_logger("linli.runs")

# What an unreachable Redis raises (refused, reset, timed out, still loading its data after a restart).
QUEUE_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


class JobQueue(Protocol):
    """What the use case needs of arq's Redis pool."""

    async def enqueue_job(self, function: str, *args: Any, _job_id: str | None = None) -> Any:
        """Queue a job unless one with this id is queued, running or kept."""


class RunInputs(Protocol):
    """A run's inputs as loaded from the database: the model's problem and a digest to detect changes."""

    @property
    def problem(self) -> Any:
        """The optimiser's problem struct."""

    def digest(self) -> str:
        """A fingerprint of everything the result depends on."""


InputsT = TypeVar("InputsT", bound=RunInputs)
ResultT = TypeVar("ResultT", bound=ResultHeader)
SubjectT = TypeVar("SubjectT")
RowT = TypeVar("RowT")
Connection = asyncpg.Connection


@dataclass(frozen=True)
class RunKind(Generic[InputsT, ResultT]):
    """What the pipeline is told about one optimiser model; every rule that differs between models is here."""

    # match_runs.model, and the subject (match_runs.subject_type) that is locked while a run of it starts.
    model: str
    subject: str
    time_limit_s: float
    # The inputs of a subject, by its id (both when a run starts and when the worker solves it).
    load: Callable[[Connection, int], Awaitable[InputsT]]
    # matching.<model>.solve: a top-level function, so the process pool can pickle it.
    solve: Callable[..., ResultT]
    result_type: type[ResultT]
    # Raises Conflict when the inputs leave nothing to solve.
    check: Callable[[InputsT], None]
    # The start's audit detail.
    describe: Callable[[InputsT], dict[str, Any]]
    # The result as pages read it (match_runs.result), computed inside the write's transaction.
    summarise: Callable[[Connection, int, InputsT, ResultT], Awaitable[dict[str, Any]]]
    # The model's own rows (awards, grants, proposals, teams); returns the success's audit detail.
    apply: Callable[[Connection, int, InputsT, ResultT, dict[str, Any]], Awaitable[dict[str, Any]]]
    # What a new run changes on its subject (a tender or call goes to 'awarding').
    on_start: Callable[[Connection, int], Awaitable[object]] | None = None
    # Whether the newest run still stands although the digest moved (a roster whose plan is now the current plan).
    still_current: Callable[[RunRow, InputsT], bool] | None = None
    # Load the inputs again when writing and fail the run if they moved while it solved (a refusal of a carer).
    recheck_on_write: bool = False

    @property
    def job_name(self) -> str:
        """The arq function the worker registers for this model's runs."""
        return f"run_{self.model}"

    @property
    def audit_action(self) -> str:
        """The audit actions of this model's runs are '<model>_run.start' and '<model>_run.succeed'."""
        return f"{self.model}_run"


def inputs_by_id(
    get: Callable[[Connection, int], Awaitable[RowT | None]],
    load_inputs: Callable[[Connection, RowT], Awaitable[InputsT]],
    missing: str,
) -> Callable[[Connection, int], Awaitable[InputsT]]:
    """The load hook of a model whose inputs are read from its subject's row: the row by id (NotFound(missing) when
    it is gone), then its inputs."""

    async def load(conn: Connection, subject_id: int) -> InputsT:
        return await load_inputs(conn, found(await get(conn, subject_id), missing))

    return load


def summary_of(
    build: Callable[[InputsT, ResultT], dict[str, Any]],
) -> Callable[[Connection, int, InputsT, ResultT], Awaitable[dict[str, Any]]]:
    """The summarise hook of a model whose summary depends on the inputs and the result alone."""

    async def summarise(conn: Connection, run_id: int, inputs: InputsT, result: ResultT) -> dict[str, Any]:
        return build(inputs, result)

    return summarise


def job_id(run_id: int) -> str:
    """The arq job id of a run: one job per run, however often it is enqueued."""
    return f"match-run-{run_id}"


async def enqueue(queue: JobQueue, kind: RunKind[Any, Any], run: RunRow) -> bool:
    """Queue a run's job unless its result is written; call after the commit, so the worker finds the row. False when
    Redis is unreachable: the run stays queued in the database and the worker's sweep queues it when Redis is back."""
    if run.status == "succeeded":
        return True
    try:
        # The job id makes a second enqueue of the same run a no-op.
        await queue.enqueue_job(kind.job_name, run.id, _job_id=job_id(run.id))
    except QUEUE_DOWN as exc:
        log.warning("job queue unreachable; the run waits in the database", run_id=run.id, error=repr(exc))
        return False
    return True


async def requeue_waiting(conn: Connection, queue: Any, kinds: list[RunKind[Any, Any]]) -> int:
    """Queue again the job of every run of these models that the database says is still queued (its job was never
    queued, Redis lost it, or it ended without touching the run); returns how many were queued anew.

    Idempotent: a run whose job is queued or running is left alone (arq refuses its job id), and a job that ran
    twice writes once (`execute` is guarded by the run's status)."""
    names = {kind.model: kind.job_name for kind in kinds}
    queued = 0
    for run_id, model in await runs_sql.queued_runs(conn, list(names)):
        job = await queue.enqueue_job(names[model], run_id, _job_id=job_id(run_id))
        if job is None and await Job(job_id(run_id), queue).status() == JobStatus.complete:
            # The job ended but the run is still queued (the database was down when it ran): its kept result would
            # block the job id for an hour, so it goes and the run is queued again.
            await queue.delete(result_key_prefix + job_id(run_id))
            job = await queue.enqueue_job(names[model], run_id, _job_id=job_id(run_id))
        queued += job is not None
    return queued


async def _audit(
    conn: Connection, kind: RunKind[Any, Any], step: str, run_id: int, actor: int | None, detail: dict[str, Any]
) -> None:
    """A run's audit row: '<model>_run.start' by the caller, '<model>_run.succeed' by the worker."""
    await audit.append(
        conn,
        actor_account_id=actor,
        action=f"{kind.audit_action}.{step}",
        object_type="match_run",
        object_id=run_id,
        detail=detail,
    )


def _stands(kind: RunKind[Any, Any], latest: RunRow, inputs: RunInputs, digest: str) -> bool:
    """Whether the newest run stands for these inputs: never when it failed; when its inputs are the same (a second
    click), or when the model says it is still current."""
    if latest.status == "failed":
        return False
    return latest.inputs_digest == digest or (kind.still_current is not None and kind.still_current(latest, inputs))


async def open_run(
    conn: Connection,
    kind: RunKind[Any, Any],
    subject_id: int,
    created_by: int,
    *,
    detail: dict[str, Any] | None = None,
) -> RunRow:
    """Inside the caller's transaction: lock the subject, load and check its inputs, then the newest run when its
    inputs are the same and it has not failed (a second click), else the next version (audited); the caller
    enqueues it after the commit."""
    await runs_sql.lock_subject(conn, kind.model, kind.subject, subject_id)
    inputs = await kind.load(conn, subject_id)
    kind.check(inputs)
    digest = inputs.digest()
    latest = await runs_sql.latest_run(conn, kind.model, kind.subject, subject_id)
    if latest is not None and _stands(kind, latest, inputs, digest):
        return latest
    run_id = await runs_sql.insert_run(
        conn,
        model=kind.model,
        subject_type=kind.subject,
        subject_id=subject_id,
        inputs_digest=digest,
        time_limit_s=kind.time_limit_s,
        seed=0,
        created_by=created_by,
    )
    if kind.on_start is not None:
        await kind.on_start(conn, subject_id)
    await _audit(conn, kind, "start", run_id, created_by, {**kind.describe(inputs), **(detail or {})})
    run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    return run


async def start(
    conn: Connection,
    queue: JobQueue,
    kind: RunKind[Any, Any],
    created_by: int,
    subject: Callable[[Connection], Awaitable[int]],
    *,
    detail: dict[str, Any] | None = None,
) -> RunRow:
    """Start a run in one transaction and enqueue it after the commit; `subject` is the model's rule for who may
    start a run of what: it checks the caller and the subject's state (raising the domain error) and returns its id."""
    async with conn.transaction():
        subject_id = await subject(conn)
        run = await open_run(conn, kind, subject_id, created_by, detail=detail)
    await enqueue(queue, kind, run)
    return run


async def find_run(
    conn: Connection,
    kind: RunKind[Any, Any],
    run_id: int,
    own: Callable[[Connection, int], Awaitable[SubjectT | None]],
) -> tuple[RunRow, SubjectT] | None:
    """A run of this model with its subject, or None when there is none or `own` (the caller's subject by id, or
    None when it is not the caller's) refuses it: another's run looks like no run."""
    run = await runs_sql.get_run(conn, run_id)
    if run is None or run.model != kind.model or run.subject_type != kind.subject:
        return None
    subject = await own(conn, run.subject_id)
    return None if subject is None else (run, subject)


async def list_runs(conn: Connection, kind: RunKind[Any, Any], subject_id: int) -> list[RunRow]:
    """A subject's runs of this model, newest first."""
    return await runs_sql.list_runs(conn, kind.model, kind.subject, subject_id)


def solve_child(solve: Callable[..., Any], problem: Any, time_limit_s: float, seed: int, progress: Any) -> bytes:
    """Solve in a child process; progress points go to a Manager queue proxy (or nowhere when None)."""

    def on_progress(point: Any) -> None:
        if progress is not None:
            progress.put(msgspec.to_builtins(point))

    result = solve(problem, time_limit_s=time_limit_s, seed=seed, on_progress=on_progress)
    # Encoded here, so the parent gets plain bytes whatever the struct's pickling support.
    return msgspec.json.encode(result)


def solve_here(kind: RunKind[Any, ResultT], problem: Any, time_limit_s: float, seed: int = 0) -> ResultT:
    """Solve in this process, as the child would (seeding the demo, tests)."""
    return msgspec.json.decode(solve_child(kind.solve, problem, time_limit_s, seed, None), type=kind.result_type)


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


async def execute(
    pool: Any, run_id: int, kind: RunKind[Any, Any], *, executor: Executor, time_cap_s: float, progress: Any = None
) -> dict[str, Any]:
    """The worker's half of any run: load inputs by id, solve in the process pool, write the result once."""
    async with pool.acquire() as conn:
        run = await runs_sql.get_run(conn, run_id)
        if run is None or run.model != kind.model:
            return {"run_id": run_id, "outcome": "no such run"}
        if run.status in ("succeeded", "failed"):
            return {"run_id": run_id, "outcome": f"already {run.status}"}
        inputs = await kind.load(conn, run.subject_id)
        if inputs.digest() != run.inputs_digest:
            if await runs_sql.fail_run(conn, run_id, "the inputs changed after the run was started; start a new run"):
                return {"run_id": run_id, "outcome": "inputs changed"}
            # Another delivery finished the run between the look above and the load (its result is the change).
            return {"run_id": run_id, "outcome": "already finished"}
        if not await runs_sql.start_run(conn, run_id):
            return {"run_id": run_id, "outcome": "already finished"}
    time_limit = max(0.5, min(run.time_limit_s, time_cap_s))
    # A retried run gets a new seed, so a run that crashed the solver is not replayed identically.
    args = (kind.solve, inputs.problem, time_limit, run.seed + run.attempts)
    encoded = await solve_in_pool(pool, run_id, executor, solve_child, args, progress)
    if encoded is None:
        return {"run_id": run_id, "outcome": "failed"}
    result = msgspec.json.decode(encoded, type=kind.result_type)
    async with pool.acquire() as conn:
        written = await write_result(conn, kind, run_id, inputs, result)
    return {"run_id": run_id, "outcome": "written" if written else "already written"}


async def _inputs_moved(conn: Connection, kind: RunKind[Any, Any], run_id: int, inputs: RunInputs) -> bool:
    """Whether the subject's inputs differ now from those the run solved (then the run fails)."""
    run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    await runs_sql.lock_subject(conn, kind.model, kind.subject, run.subject_id)
    now = await kind.load(conn, run.subject_id)
    if now.digest() == inputs.digest():
        return False
    await runs_sql.fail_run(conn, run_id, "the inputs changed while the run was solving; start a new run")
    return True


async def write_result(
    conn: Connection, kind: RunKind[InputsT, ResultT], run_id: int, inputs: InputsT, result: ResultT
) -> bool:
    """Write a solved run in one transaction: its figures and summary, the model's rows and the audit; False (and
    nothing written) when another delivery of the job wrote it first or the inputs moved on."""
    async with conn.transaction():
        if kind.recheck_on_write and await _inputs_moved(conn, kind, run_id, inputs):
            return False
        summary = await kind.summarise(conn, run_id, inputs, result)
        if not await finish(conn, run_id, result, summary):
            return False
        await _audit(conn, kind, "succeed", run_id, None, await kind.apply(conn, run_id, inputs, result, summary))
    return True


async def finish(conn: Connection, run_id: int, result: ResultHeader, summary: dict[str, Any]) -> bool:
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
