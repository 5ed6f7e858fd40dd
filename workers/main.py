"""The arq worker: settings, start-up (database pool, process pool for the solver) and timed jobs."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

import asyncpg
import structlog
from arq import cron
from arq.connections import RedisSettings

from api.services import accounts
from api.services.accounts import SecurityPolicy
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
    ctx["policy"] = SecurityPolicy(
        session_idle_minutes=_settings.session_idle_minutes,
        session_absolute_hours=_settings.session_absolute_hours,
        token_days=_settings.token_days,
        login_attempts_per_window=_settings.login_attempts_per_15min,
    )
    # Writers append to the audit log without a lock; this loop chains what they wrote (docs/architecture.md).
    ctx["sealer"] = asyncio.create_task(seal_forever(ctx["pool"], _settings.audit_seal_interval_s))
    log.info("worker started")


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


class WorkerSettings:
    """What `arq` (and `linli worker`) runs."""

    functions: ClassVar[list[Any]] = [
        purge_expired_credentials,
        *tasks.RUN_TASKS,
        tasks.plan_team_visits,
        tasks.open_due_bids,
        tasks.deliver_notifications,
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(purge_expired_credentials, minute={7, 22, 37, 52}, run_at_startup=True),
        # Every minute: a tender's bids open (and it moves to review) within a minute of its deadline.
        cron(tasks.open_due_bids, second={5}, run_at_startup=True),
        # Daily: each live 311 team always has its next four weekly visits planned.
        cron(tasks.plan_team_visits, hour={3}, minute={17}, run_at_startup=True),
        # Every minute: day-before shift reminders, waitlist promotions and cancellations go out within a minute.
        cron(tasks.deliver_notifications, second={35}, run_at_startup=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(_settings.redis_url or "redis://127.0.0.1:6379/0")
    job_timeout = _settings.job_timeout_s
    max_jobs = 4
    health_check_interval = 30
