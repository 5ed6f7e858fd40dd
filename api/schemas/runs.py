"""The one response shape of an optimiser run, whatever its model (award, portfolio, roster, teams)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from sql.match_runs import RunRow

FINISHED = ("succeeded", "failed")


class RunOut(msgspec.Struct, frozen=True):
    """An optimiser run: which model solved what, where it stands, its progress, figures and result."""

    id: int
    # Which optimiser: 'award', 'portfolio', 'roster' or 'teams'; the subject is what it decides for
    # ('tender', 'call', 'roster', 'contract') and its id.
    model: str
    subject_type: str
    subject_id: int
    inputs_version: int
    status: str
    finished: bool
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
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RunProgressOut(msgspec.Struct, frozen=True):
    """What a run page polls while the run is going."""

    id: int
    status: str
    progress: list[dict[str, Any]]
    objective: float | None
    bound: float | None
    finished: bool


def run_out(run: RunRow) -> RunOut:
    """A run's public shape."""
    return msgspec.convert(
        {**msgspec.structs.asdict(run), "finished": run.status in FINISHED}, RunOut, from_attributes=True
    )


def progress_out(run: RunRow) -> RunProgressOut:
    """The live part of a run."""
    return RunProgressOut(
        id=run.id,
        status=run.status,
        progress=run.progress,
        objective=run.objective,
        bound=run.bound,
        finished=run.status in FINISHED,
    )
