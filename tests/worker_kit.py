"""What the worker tests of optimiser runs share: a queue that records enqueues, a hanging solver pool, a worker."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, Future
from typing import Any

import asyncpg
from arq.worker import Worker

from workers.main import WorkerSettings


class JobQueueSpy:
    """Records what start_run enqueues, then forwards it to the real pool."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.calls: list[tuple[str, tuple[Any, ...], str | None]] = []
        self.jobs: list[Any] = []

    async def enqueue_job(self, function: str, *args: Any, _job_id: str | None = None) -> Any:
        self.calls.append((function, args, _job_id))
        job = await self.redis.enqueue_job(function, *args, _job_id=_job_id)
        self.jobs.append(job)
        return job


class HangingExecutor(Executor):
    """A solver pool whose solve never finishes: the worker is killed while waiting on it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.started.set()
        return Future()


def worker_for(redis: Any, pool: asyncpg.Pool, executor: Executor) -> Worker:
    """A burst worker on the real Valkey that runs every job queued, with this database pool and solver pool."""
    return Worker(
        functions=WorkerSettings.functions,
        redis_pool=redis,
        burst=True,
        poll_delay=0,
        ctx={"pool": pool, "solver_pool": executor, "job_timeout_s": 30},
        handle_signals=False,
    )
