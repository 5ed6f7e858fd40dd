"""The one response shape of an optimiser run, whatever its model (award, portfolio, roster, teams)."""

from __future__ import annotations

from typing import Any

import msgspec

from sql.match_runs import RunPublic, RunRow

FINISHED = ("succeeded", "failed")


class RunOut(RunPublic, frozen=True):
    """An optimiser run: which model solved what, where it stands, its progress, figures and result."""

    finished: bool  # status is 'succeeded' or 'failed'


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
