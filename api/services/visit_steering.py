"""Home-visit days people can steer (issue 15, item 7): the contract's organisation (or, on its respite day, the
committee) pins a planned visit of a day to its carer on the planner's board and re-plans the rest of the day around
it.

Pins are inputs of the visits model (matching.visits.solve: `pinned`), loaded with the rest of the day
(api.services.visits.load_inputs, which also lists the pins no plan can keep, with why), so a re-plan is an ordinary
run of the pipeline and its digest changes with them. Pin and unpin share their shape with the rosters' and the
teams' (api.services.pinning).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import pinning, runs, visits
from api.services.accounts import Identity
from api.services.errors import NotFound
from api.services.runs import JobQueue
from sql import visit_pins as pins_sql
from sql import visits as visits_sql
from sql.match_runs import RunRow
from sql.visit_pins import VisitPinRow


class VisitPinCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pin a planned visit of the day to its carer: every later plan of the day keeps it with them, or says why not."""

    visit_id: Annotated[int, Meta(ge=1, le=2**62)]


async def _day_id(conn: asyncpg.Connection, who: Identity, day_id: int) -> int:
    """The day if the caller holds it (read by its owner in SQL: the organisation's contract's day or the committee's
    respite day), else NotFound."""
    organisation_id, committee_id = visits.owner_of(who)
    day = await visits_sql.own_day(conn, day_id, organisation_id, committee_id)
    if day is None:
        raise NotFound("No such day of visits")
    return day.id


async def pins(conn: asyncpg.Connection, who: Identity, day_id: int) -> list[VisitPinRow]:
    """The pins of a day of the caller's contracts (or of the committee's respite day)."""
    return await pins_sql.pins(conn, await _day_id(conn, who, day_id))


async def pin(conn: asyncpg.Connection, who: Identity, day_id: int, form: VisitPinCreate) -> VisitPinRow:
    """Pin a planned visit of a day of the caller's contracts to its carer (again: the pin follows it); audited."""
    return await pinning.pin(
        conn,
        who,
        subject=lambda: _day_id(conn, who, day_id),
        insert=lambda day: pins_sql.pin_visit(conn, day, form.visit_id, who.account_id),
        missing="No such planned visit on this day",
        kind="visit",
        object_type="visit_day",
        detail=lambda row: {"household_id": row.household_id, "carer_id": row.carer_id, "visit_key": row.visit_key},
    )


async def unpin(conn: asyncpg.Connection, who: Identity, day_id: int, pin_id: int) -> None:
    """Remove a pin of a day of the caller's contracts; audited."""
    await pinning.unpin(
        conn,
        who,
        pin_id,
        subject=lambda: _day_id(conn, who, day_id),
        delete=lambda day: pins_sql.unpin(conn, day, pin_id),
        kind="visit",
        object_type="visit_day",
        detail=lambda pair: {"household_id": pair[0], "carer_id": pair[1]},
    )


async def replan(conn: asyncpg.Connection, queue: JobQueue, who: Identity, day_id: int) -> RunRow:
    """Re-plan a day around its pins; the same inputs give the same run."""

    async def day(conn: asyncpg.Connection) -> int:
        return await _day_id(conn, who, day_id)

    return await runs.start(conn, queue, visits.RUNS, who.account_id, day, detail={"reason": "steered"})
