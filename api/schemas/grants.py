"""Response structs of the portfolio-run (grants) API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from api.services.grants import PortfolioRunView
from sql.match_runs import RunRow


class ScoredProposalOut(msgspec.Struct, frozen=True):
    """An opened proposal of a call with the foundation's score."""

    public_id: uuid.UUID
    pool_number: int
    organisation_id: int
    organisation_name: str
    area_name: str
    title: str
    amount_fen: int
    score: float | None


class PortfolioRunOut(msgspec.Struct, frozen=True):
    """A portfolio run: its state, progress (best score and bound over time) and result with reasons."""

    id: int
    call_id: int
    inputs_version: int
    status: str
    time_limit_s: float
    attempts: int
    progress: list[dict[str, Any]]
    objective: float | None
    bound: float | None
    gap: float | None
    solver_status: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class GrantOut(msgspec.Struct, frozen=True):
    """A grant a run proposes, with its reasons."""

    id: int
    proposal: uuid.UUID
    title: str
    organisation_id: int
    organisation_name: str
    amount_fen: int
    score: float
    reasons: dict[str, Any]


class PortfolioRunViewOut(msgspec.Struct, frozen=True):
    """A run and the grants it wrote."""

    run: PortfolioRunOut
    grants: list[GrantOut]


def portfolio_run_out(run: RunRow) -> PortfolioRunOut:
    """A run's public shape."""
    return PortfolioRunOut(
        id=run.id,
        call_id=run.subject_id,
        inputs_version=run.inputs_version,
        status=run.status,
        time_limit_s=run.time_limit_s,
        attempts=run.attempts,
        progress=run.progress,
        objective=run.objective,
        bound=run.bound,
        gap=run.gap,
        solver_status=run.solver_status,
        result=run.result,
        error=run.error,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def portfolio_run_view_out(view: PortfolioRunView) -> PortfolioRunViewOut:
    """A run with its grants."""
    return PortfolioRunViewOut(
        run=portfolio_run_out(view.run),
        grants=[msgspec.convert(g, GrantOut, from_attributes=True) for g in view.grants],
    )
