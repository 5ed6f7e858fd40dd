"""The worker's jobs: optimiser runs of every model (CPU-bound solving in the process pool), opening bids, team
visits ahead and the notification outbox."""

from __future__ import annotations

import multiprocessing
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog

from api.services import awards, bids, grants, notifications, runs, visit_notes
from api.services import rosters as rosters_service
from api.services import teams as teams_service
from api.services import visits as visits_service
from api.settings import load_settings

log = structlog.get_logger("linli.worker.tasks")
_settings = load_settings()


def solver_time_cap(job_timeout_s: float) -> float:
    """The longest a solve may take: well inside the job timeout, leaving time to load inputs and write the result."""
    return max(1.0, min(float(_settings.solver_time_limit_s), job_timeout_s * 0.5))


async def solve_run(ctx: dict[str, Any], kind: runs.RunKind[Any, Any], run_id: int) -> dict[str, Any]:
    """Solve one run of a model by id and write its result once (a redelivered job finds it written)."""
    # The solver's progress callback runs in the child process; a Manager queue carries its points back here.
    manager = ctx.get("progress_manager")
    own_manager = None
    if manager is None:
        own_manager = manager = multiprocessing.Manager()
    try:
        outcome: dict[str, Any] = await runs.execute(
            ctx["pool"],
            run_id,
            kind,
            executor=ctx["solver_pool"],
            time_cap_s=solver_time_cap(ctx.get("job_timeout_s", _settings.job_timeout_s)),
            progress=manager.Queue(),
        )
    finally:
        if own_manager is not None:
            own_manager.shutdown()
    log.info("optimiser run", model=kind.model, **outcome)
    return outcome


def run_task(kind: runs.RunKind[Any, Any]) -> Callable[[dict[str, Any], int], Awaitable[dict[str, Any]]]:
    """The arq task of a model's runs, registered under the job name its runs are enqueued with."""

    async def task(ctx: dict[str, Any], run_id: int) -> dict[str, Any]:
        return await solve_run(ctx, kind, run_id)

    # arq finds a task by its qualified name: the name start_run enqueued (kind.job_name).
    task.__name__ = task.__qualname__ = kind.job_name
    task.__doc__ = f"Solve one {kind.model} run by id and write its result once."
    return task


run_award = run_task(awards.RUNS)
run_portfolio = run_task(grants.RUNS)
run_roster = run_task(rosters_service.RUNS)
run_teams = run_task(teams_service.RUNS)
run_visits = run_task(visits_service.RUNS)
RUN_TASKS = (run_award, run_portfolio, run_roster, run_teams, run_visits)
RUN_KINDS: list[runs.RunKind[Any, Any]] = [
    awards.RUNS,
    grants.RUNS,
    rosters_service.RUNS,
    teams_service.RUNS,
    visits_service.RUNS,
]


async def requeue_runs(ctx: dict[str, Any]) -> dict[str, int]:
    """Queue the job of every run the database says is still queued (Redis was down or lost it); idempotent."""
    async with ctx["pool"].acquire() as conn:
        queued = await runs.requeue_waiting(conn, ctx["redis"], RUN_KINDS)
    if queued:
        log.info("runs waiting in the database queued again", runs=queued)
    return {"queued": queued}


async def plan_team_visits(ctx: dict[str, Any]) -> dict[str, int]:
    """Keep every live 311 team's weekly visits planned eight weeks ahead (idempotent: each visit is planned once)."""
    async with ctx["pool"].acquire() as conn:
        planned = await teams_service.plan_ahead(conn)
    log.info("team visits planned ahead", teams=planned)
    return {"teams": planned}


async def open_due_bids(ctx: dict[str, Any]) -> dict[str, int]:
    """Open the bids of every tender past its deadline (moves it to review; one audit row per tender)."""
    async with ctx["pool"].acquire() as conn:
        opened = await bids.open_due_bids(conn)
    count = sum(1 for o in opened if o.opened)
    if count:
        log.info("opened bids of tenders past their deadline", tenders=count)
    return {"opened": count}


# --- Notification outbox (helper E): reminders, waitlist promotions, cancellations -----------------------------


def _notification_sender(ctx: dict[str, Any]) -> notifications.Sender:
    """The sender LINLI_NOTIFY_SENDER names, made once per worker."""
    if "notify_sender" not in ctx:
        ctx["notify_sender"] = notifications.make_sender(
            _settings.notify_sender,
            smtp_url=_settings.smtp_url,
            smtp_from=_settings.smtp_from,
            sms_gateway_url=_settings.sms_gateway_url,
            sms_gateway_token=_settings.sms_gateway_token,
        )
    sender: notifications.Sender = ctx["notify_sender"]
    return sender


async def deliver_notifications(ctx: dict[str, Any]) -> dict[str, int]:
    """Write the day-before shift reminders that fell due and deliver every due notification (retrying failures)."""
    async with ctx["pool"].acquire() as conn:
        outcome = await notifications.run_outbox(
            conn, _notification_sender(ctx), max_attempts=_settings.notify_max_attempts, public_url=_settings.public_url
        )
    if outcome.reminders or outcome.sent or outcome.retrying or outcome.failed:
        log.info("notification outbox", **msgspec.structs.asdict(outcome))
    return msgspec.structs.asdict(outcome)


async def send_rating_links(ctx: dict[str, Any]) -> dict[str, int]:
    """Send the households the links by which they rate their carers' visits (issue 15, item 4), by the same sender."""
    async with ctx["pool"].acquire() as conn:
        outcome = await visit_notes.send_rating_links(
            conn,
            _notification_sender(ctx),
            public_url=_settings.public_url,
            max_attempts=_settings.notify_max_attempts,
        )
    if outcome.sent or outcome.retrying or outcome.failed:
        log.info("rating links", **msgspec.structs.asdict(outcome))
    return msgspec.structs.asdict(outcome)
