"""Tendering jobs: award runs (CPU-bound solving in the process pool) and opening bids at their deadline."""

from __future__ import annotations

import multiprocessing
from typing import Any

import structlog

from api.services import awards, bids
from api.settings import load_settings

log = structlog.get_logger("linli.worker.tasks")
_settings = load_settings()


def solver_time_cap(job_timeout_s: float) -> float:
    """The longest a solve may take: well inside the job timeout, leaving time to load inputs and write the result."""
    return max(1.0, min(float(_settings.solver_time_limit_s), job_timeout_s * 0.5))


async def run_award(ctx: dict[str, Any], run_id: int) -> dict[str, Any]:
    """Solve one award run by id and write its result once (a redelivered job finds it written)."""
    # The solver's progress callback runs in the child process; a Manager queue carries its points back here.
    manager = ctx.get("progress_manager")
    own_manager = None
    if manager is None:
        own_manager = manager = multiprocessing.Manager()
    try:
        progress = manager.Queue()
        outcome = await awards.execute_run(
            ctx["pool"],
            run_id,
            executor=ctx["solver_pool"],
            time_cap_s=solver_time_cap(ctx.get("job_timeout_s", _settings.job_timeout_s)),
            progress=progress,
        )
    finally:
        if own_manager is not None:
            own_manager.shutdown()
    log.info("award run", **outcome)
    return outcome


async def open_due_bids(ctx: dict[str, Any]) -> dict[str, int]:
    """Open the bids of every tender past its deadline (moves it to review; one audit row per tender)."""
    async with ctx["pool"].acquire() as conn:
        opened = await bids.open_due_bids(conn)
    count = sum(1 for o in opened if o.opened)
    if count:
        log.info("opened bids of tenders past their deadline", tenders=count)
    return {"opened": count}
