"""The arq worker: settings, start-up (database pool, process pool for the solver), timed jobs, and `serve`, which
keeps the worker running through Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

import asyncpg
import msgspec
import structlog
from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from api.services import accounts, confirmations, data_rights, home, register_imports, staff
from api.services.accounts import SecurityPolicy
from api.services.runs import QUEUE_DOWN
from api.settings import load_settings
from workers import tasks
from workers.sealer import seal_forever

log = structlog.get_logger("linli.worker")
_settings = load_settings()


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database pool and the solver's process pool once per worker."""
    if not _settings.database_url:
        raise RuntimeError("LINLI_DATABASE_URL is not set; start the worker with `linli up` or `make run`")
    ctx["pool"] = await asyncpg.create_pool(_settings.database_url, min_size=1, max_size=4)
    # CPU-bound solving must never run on the event loop; one process per core on this 2-core class of machine.
    ctx["solver_pool"] = ProcessPoolExecutor(max_workers=2)
    # Carries the solver's progress from its child process back to the job (tasks.solve_run).
    ctx["progress_manager"] = multiprocessing.Manager()
    ctx["job_timeout_s"] = _settings.job_timeout_s
    ctx["invitation_retention_days"] = _settings.staff_invitation_retention_days
    ctx["household_retention_months"] = _settings.household_retention_months
    ctx["policy"] = SecurityPolicy(
        session_idle_minutes=_settings.session_idle_minutes,
        session_absolute_hours=_settings.session_absolute_hours,
        token_days=_settings.token_days,
        login_attempts_per_window=_settings.login_attempts_per_15min,
    )
    # Writers append to the audit log without a lock; this loop chains what they wrote (docs/architecture.md).
    ctx["sealer"] = asyncio.create_task(seal_forever(ctx["pool"], _settings.audit_seal_interval_s))
    log.info("worker started")
    if "redis" in ctx:  # under arq's own runner (`arq workers.main.WorkerSettings`) Redis is up by now
        await tasks.requeue_runs(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what startup opened."""
    ctx["sealer"].cancel()
    ctx["solver_pool"].shutdown(wait=False, cancel_futures=True)
    ctx["progress_manager"].shutdown()
    await ctx["pool"].close()


async def purge_expired_credentials(ctx: dict[str, Any]) -> dict[str, int]:
    """Delete expired sessions, long-dead API tokens and old login attempts."""
    async with ctx["pool"].acquire() as conn:
        purged = await accounts.purge_expired(conn, ctx["policy"])
    log.info(
        "purged expired credentials",
        sessions=purged.sessions,
        tokens=purged.tokens,
        login_attempts=purged.login_attempts,
    )
    return {"sessions": purged.sessions, "tokens": purged.tokens, "login_attempts": purged.login_attempts}


async def drop_expired_uploads(ctx: dict[str, Any]) -> int:
    """Drop the Excel registers uploaded for a preview that expired unconfirmed (they hold personal data)."""
    async with ctx["pool"].acquire() as conn:
        dropped = await register_imports.drop_expired(conn)
    if dropped:
        log.info("dropped expired register uploads", uploads=dropped)
    return dropped


async def purge_staff_invitations(ctx: dict[str, Any]) -> int:
    """Remove staff invitations that ended (accepted, withdrawn, expired) longer ago than the retention period."""
    async with ctx["pool"].acquire() as conn:
        purged = await staff.purge_invitations(conn, ctx["invitation_retention_days"])
    if purged:
        log.info("purged staff invitations", invitations=purged)
    return purged


async def erase_left_households(ctx: dict[str, Any]) -> int:
    """Erase what is left of households that left the service longer ago than the retention period."""
    async with ctx["pool"].acquire() as conn:
        erased = await data_rights.erase_left_households(conn, months=ctx["household_retention_months"])
    if erased:
        log.info("erased households that left", households=len(erased))
    return len(erased)


async def confirm_places(ctx: dict[str, Any]) -> dict[str, int]:
    """Ask for confirmations that fell due, release unconfirmed places at their cut-off, record no-shows."""
    async with ctx["pool"].acquire() as conn:
        outcome = await confirmations.sweep(conn)
    done = msgspec.structs.asdict(outcome)
    if any(done.values()):
        log.info("confirmations", **done)
    return done


async def count_platform(ctx: dict[str, Any]) -> None:
    """Count the platform's figures again for the home pages and the front page."""
    async with ctx["pool"].acquire() as conn:
        await home.count_platform(conn)


class WorkerSettings:
    """What `arq` (and `linli worker`) runs."""

    functions: ClassVar[list[Any]] = [
        purge_expired_credentials,
        drop_expired_uploads,
        purge_staff_invitations,
        erase_left_households,
        confirm_places,
        count_platform,
        *tasks.RUN_TASKS,
        tasks.plan_team_visits,
        tasks.open_due_bids,
        tasks.deliver_notifications,
        tasks.send_rating_links,
        tasks.requeue_runs,
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(purge_expired_credentials, minute={7, 22, 37, 52}, run_at_startup=True),
        # Every five minutes: an uploaded register outlives its preview's expiry by at most that.
        cron(drop_expired_uploads, minute=set(range(2, 60, 5))),
        # Daily: an ended staff invitation outlives its retention period by at most a day.
        cron(purge_staff_invitations, hour={4}, minute={41}, run_at_startup=True),
        # Daily: what is left of a household that left outlives its retention period by at most a day.
        cron(erase_left_households, hour={4}, minute={47}, run_at_startup=True),
        # Every minute: a tender's bids open (and it moves to review) within a minute of its deadline.
        cron(tasks.open_due_bids, second={5}, run_at_startup=True),
        # Daily: each live 311 team always has its next four weekly visits planned.
        cron(tasks.plan_team_visits, hour={3}, minute={17}, run_at_startup=True),
        # Every minute: day-before shift reminders, waitlist promotions and cancellations go out within a minute.
        cron(tasks.deliver_notifications, second={35}, run_at_startup=True),
        # Every minute, before the outbox: asks go out, and unconfirmed places go to the waitlist, within a minute.
        cron(confirm_places, second={20}, run_at_startup=True),
        # Every minute: a visit's rating link reaches the household's phone within a minute of the carer's note.
        cron(tasks.send_rating_links, second={45}, run_at_startup=True),
        # Every minute: runs the database says are queued whose job Redis lost are queued again.
        cron(tasks.requeue_runs, second={50}),
        # Every minute: the figures the home pages show are at most a minute old.
        cron(count_platform, second={40}, run_at_startup=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(_settings.redis_url or "redis://127.0.0.1:6379/0")
    job_timeout = _settings.job_timeout_s
    max_jobs = 4
    health_check_interval = 30


class _Outage:
    """One Redis outage as the worker lives it: when it began, the next wait before reconnecting, and the jobs
    that were running when the connection broke (they finish on their own: solving needs only PostgreSQL)."""

    def __init__(self, first_delay_s: float, max_delay_s: float) -> None:
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.began: float | None = None
        self.delay = first_delay_s
        self.orphans: set[asyncio.Task[Any]] = set()

    def broke(self, exc: BaseException, worker: Worker) -> float:
        """Note the break (one log line per outage); returns how long to wait before reconnecting."""
        self.orphans |= {t for t in worker.tasks.values() if not t.done()}
        if self.began is None:
            self.began = time.monotonic()
            log.warning(
                "Redis unreachable; the worker keeps running and reconnects (runs wait in the database)",
                error=repr(exc),
                running_jobs=len(self.orphans),
            )
            self.delay = self.first_delay_s
        wait = self.delay
        self.delay = min(self.max_delay_s, self.delay * 2)
        return wait

    async def connected(self, ctx: dict[str, Any]) -> None:
        """arq's on_startup of every incarnation: say how long Redis was gone, then sweep the waiting runs."""
        if self.began is not None:
            log.info("Redis is back; the worker reconnected", after_s=round(time.monotonic() - self.began, 1))
            self.began = None
        try:
            await tasks.requeue_runs(ctx)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The database is down too: the minutely sweep tries again; the worker itself keeps going.
            log.warning("could not sweep the waiting runs", error=repr(exc))


async def _close(worker: Worker) -> None:
    """What arq's Worker.close does, without the shutdown hook (the pools outlive the incarnation), through
    redis-py's aclose (its close is deprecated), and quietly when Redis is gone."""
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    redis = worker._pool  # None when this incarnation never connected (arq's own close reads it too)
    if redis is not None:
        with contextlib.suppress(*QUEUE_DOWN):
            await redis.delete(worker.health_check_key)
        with contextlib.suppress(*QUEUE_DOWN):
            await redis.aclose()


async def _until_stopped(worker: Worker, stop: asyncio.Event) -> BaseException | None:
    """Run the worker until it fails (its exception) or `stop` is set (None, after stopping it)."""
    # As arq's own async_run: handle_sig cancels the main task it knows.
    worker.main_task = main = asyncio.create_task(worker.main())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if main.done():
        return main.exception() if not main.cancelled() else None
    worker.handle_sig(signal.SIGTERM)  # cancels the running jobs (redelivered later) and the poll loop
    await asyncio.wait({main})  # unlike `await main`, a cancellation of our caller still reaches it
    await _close(worker)
    return None


async def serve_until(
    stop: asyncio.Event,
    ctx: dict[str, Any],
    *,
    redis_settings: RedisSettings | None = None,
    first_delay_s: float = 0.5,
    max_delay_s: float = 10.0,
) -> None:
    """Run arq's worker with this context until `stop` is set; when Redis goes away, wait (doubling from
    `first_delay_s` to `max_delay_s`) and start a new arq Worker on the same context instead of exiting."""
    # arq retries only its first connection and then raises out of Worker.main (python-arq/arq#386, #435, #498);
    # its own retries would log a line a second, so this loop does the retrying and logs once per outage.
    settings = dataclasses.replace(redis_settings or WorkerSettings.redis_settings, conn_retries=0)
    outage = _Outage(first_delay_s, max_delay_s)
    try:
        while not stop.is_set():
            # WorkerSettings' own start-up and shutdown are not arq's here: the pools outlive each incarnation.
            worker = Worker(
                functions=WorkerSettings.functions,
                cron_jobs=WorkerSettings.cron_jobs,
                redis_settings=settings,
                job_timeout=WorkerSettings.job_timeout,
                max_jobs=WorkerSettings.max_jobs,
                health_check_interval=WorkerSettings.health_check_interval,
                on_startup=outage.connected,
                ctx=ctx,
                handle_signals=False,
            )
            failure = await _until_stopped(worker, stop)
            if failure is None:
                return
            if not isinstance(failure, QUEUE_DOWN):
                raise failure
            wait = outage.broke(failure, worker)
            # Its running jobs go on without it (their end is written to Redis through a fresh connection).
            redis = worker._pool
            if redis is not None:
                with contextlib.suppress(*QUEUE_DOWN):
                    await redis.aclose()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
    finally:
        for orphan in outage.orphans:
            orphan.cancel()
        await asyncio.gather(*outage.orphans, return_exceptions=True)


async def serve() -> None:
    """`linli worker`: open the pools once, then run jobs until SIGINT or SIGTERM, through Redis outages."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ctx: dict[str, Any] = {}
    await startup(ctx)
    try:
        await serve_until(stop, ctx)
    finally:
        await shutdown(ctx)
