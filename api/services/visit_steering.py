"""Home-visit days people can steer (issue 15, item 7): the contract's organisation (or, on its respite day, the
committee) pins a planned visit of a day to its carer on the planner's board and re-plans the rest of the day around
it.

Pins are inputs of the visits model (matching.visits.solve: `pinned`), loaded with the rest of the day
(api.services.visits.load_inputs, which also lists the pins no plan can keep, with why), so a re-plan is an ordinary
run of the pipeline and its digest changes with them. Pin and unpin share their shape with the rosters' and the
teams' (api.services.pinning).

A pin may name another of the day's carers (the family asked for them, or they speak the elder's dialect) and a start
within the visit's slot; it takes effect on the next re-plan. A carer who cannot give the visit is accepted: the next
plan reports the pin as a conflict, as every pin it cannot keep. Without a start, a pin to the carer it is planned
with keeps its time; a pin to another carer leaves the time to the plan (the old one was fitted to the old route).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import pinning, runs, visits
from api.services.accounts import Identity
from api.services.errors import Invalid, NotFound
from api.services.runs import JobQueue
from api.services.types import SHANGHAI
from sql import visit_pins as pins_sql
from sql import visits as visits_sql
from sql.match_runs import RunRow
from sql.visit_pins import VisitPinRow
from sql.visits import VisitDayRow


class VisitPinCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pin a planned visit of the day to its carer, or to another of the day's carers (`carer_id`), optionally at a
    start (`start`, HH:MM Shanghai, within the visit's slot): every later plan of the day keeps it so, or says why
    not."""

    visit_id: Annotated[int, Meta(ge=1, le=2**62)]
    carer_id: Annotated[int, Meta(ge=1, le=2**62)] | None = None
    start: Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = None


NOT_A_DAY_CARER = "Choose one of the carers working that day"
OUTSIDE_SLOT = "Choose a start within the household's visit slot that day"


async def _own_day(conn: asyncpg.Connection, who: Identity, day_id: int) -> VisitDayRow:
    """The day if the caller holds it (read by its owner in SQL: the organisation's contract's day or the committee's
    respite day), else NotFound."""
    organisation_id, committee_id = visits.owner_of(who)
    day = await visits_sql.own_day(conn, day_id, organisation_id, committee_id)
    if day is None:
        raise NotFound("No such day of visits")
    return day


async def _day_id(conn: asyncpg.Connection, who: Identity, day_id: int) -> int:
    """The id of the day if the caller holds it, else NotFound."""
    return (await _own_day(conn, who, day_id)).id


async def pins(conn: asyncpg.Connection, who: Identity, day_id: int) -> list[VisitPinRow]:
    """The pins of a day of the caller's contracts (or of the committee's respite day)."""
    return await pins_sql.pins(conn, await _day_id(conn, who, day_id))


async def pin(conn: asyncpg.Connection, who: Identity, day_id: int, form: VisitPinCreate) -> VisitPinRow:
    """Pin a planned visit of a day of the caller's contracts to its carer or another of the day's carers, at its
    start or a given one (again: the pin follows it); audited with the carer it is planned with and was pinned to."""
    days: list[VisitDayRow] = []
    visit: list[pins_sql.PlannedRow] = []

    async def subject() -> int:
        days.append(await _own_day(conn, who, day_id))
        return days[0].id

    async def insert(_day_id: int) -> VisitPinRow | None:
        day = days[0]
        planned = await pins_sql.planned(conn, day.id, form.visit_id)
        if planned is None:
            return None
        visit.append(planned)
        starts_at = await _checked(conn, day, planned, form)
        return await pins_sql.pin_visit(conn, day.id, form.visit_id, who.account_id, form.carer_id, starts_at)

    return await pinning.pin(
        conn,
        who,
        subject=subject,
        insert=insert,
        missing="No such planned visit on this day",
        kind="visit",
        object_type="visit_day",
        detail=lambda row: {
            "household_id": row.household_id, "carer_id": row.carer_id, "visit_key": row.visit_key,
            "planned_carer_id": visit[0].carer_id, "previous_pin_carer_id": visit[0].pinned_carer_id,
            "starts_at": row.starts_at.isoformat() if row.starts_at else None,
        },
    )  # fmt: skip


async def _checked(
    conn: asyncpg.Connection, day: VisitDayRow, planned: pins_sql.PlannedRow, form: VisitPinCreate
) -> dt.datetime | None:
    """The pin's start (None: none given), once the carer is one of the day's and the start within the visit's slot;
    else Invalid with each field's reason."""
    fields: dict[str, str] = {}
    if form.carer_id is not None and not await pins_sql.is_day_carer(
        conn, day.id, form.carer_id, day.organisation_id, day.committee_id
    ):
        fields["carer_id"] = NOT_A_DAY_CARER
    starts_at = None
    if form.start is not None:
        at = dt.time.fromisoformat(form.start)
        slot = await visits.visit_slot(conn, day, planned.household_id, planned.visit_key)
        if slot is None or not slot[0] <= at.hour * 60 + at.minute <= slot[1]:
            fields["start"] = OUTSIDE_SLOT
        starts_at = dt.datetime.combine(day.day, at, tzinfo=SHANGHAI)
    if fields:
        raise Invalid("The pin is not valid", fields=fields)
    return starts_at


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
