"""Confirm, or free the place; count no-shows (issue 15, item 1).

A shift may ask its volunteers to confirm by a cut-off (`confirm_hours_before`). A day before the cut-off each
holder of an unconfirmed place is asked "will you come?" (inbox, email, SMS) with a link that works without logging
in; one tap confirms, cancelling goes through the ordinary cancellation. At the cut-off the worker releases the
places still unconfirmed to the waitlist; after check-in closes it records as no-shows those who held a place and
neither came nor cancelled. The reliability figure is defined once in SQL (volunteer_reliability, migration 0028).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import notifications
from api.services import shifts as shifts_service
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound, found
from api.services.shifts import CancelOutcome
from sql import audit
from sql import confirmations as confirmations_sql
from sql import shifts as shifts_sql
from sql.confirmations import PlaceRow, ReliabilityRow

# A link's token: 32 hex digits drawn by the database (signups.confirm_token).
Token = Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")]
# One run of the cron releases at most this many places (the next run, a minute later, takes the rest).
RELEASE_BATCH = 200


class PlaceView(msgspec.Struct, frozen=True):
    """A place as its confirm link shows it: the shift, the place's state, and what cancelling now would mean."""

    place: PlaceRow
    confirm_by: dt.datetime | None
    can_confirm: bool
    can_cancel: bool
    late_if_cancelled: bool


class SweepOutcome(msgspec.Struct, frozen=True):
    """What one run of the cron did."""

    asked: int
    withdrawn: int
    released: int
    promoted: int
    no_shows: int


def confirm_by(place: PlaceRow) -> dt.datetime | None:
    """The cut-off: the place is released when it is not confirmed by then (None when the shift asks nothing)."""
    if place.confirm_hours_before is None:
        return None
    return place.starts_at - dt.timedelta(hours=place.confirm_hours_before)


def _view(place: PlaceRow) -> PlaceView:
    now = dt.datetime.now(dt.UTC)
    upcoming = place.shift_status != "cancelled" and place.starts_at > now
    held = place.status == "active" and upcoming
    free_until = place.starts_at - dt.timedelta(hours=place.cancellation_window_hours)
    return PlaceView(
        place=place,
        confirm_by=confirm_by(place),
        can_confirm=held and place.confirmed_at is None,
        can_cancel=upcoming and place.status in ("active", "waitlisted"),
        late_if_cancelled=place.status == "active" and now >= free_until,
    )


async def _place(conn: asyncpg.Connection, token: str) -> PlaceRow:
    # A wrong token and no token look the same: 404, nothing about whether it ever existed.
    return found(await confirmations_sql.place(conn, token), "This link is not valid")


async def view(conn: asyncpg.Connection, token: str) -> PlaceView:
    """The place behind a confirm link (no login: the link is the key)."""
    return _view(await _place(conn, token))


async def confirm(conn: asyncpg.Connection, token: str) -> PlaceView:
    """Confirm the place behind a link; confirming again is a no-op, a place no longer held a 409."""
    async with conn.transaction():
        place = await _place(conn, token)
        if place.confirmed_at is None or place.status != "active":
            if not await confirmations_sql.confirm(conn, place.signup_id):
                raise Conflict("This place can no longer be confirmed")
            await audit.append(
                conn,
                actor_account_id=place.account_id,
                action="shift.place_confirmed",
                object_type="shift",
                object_id=place.shift_id,
                detail={"signup_id": place.signup_id},
            )
    return await view(conn, token)


class MyPlace(msgspec.Struct, frozen=True):
    """The signed-in volunteer's place on a shift with its confirm link's token (theirs to follow)."""

    token: str
    view: PlaceView


async def my_place(conn: asyncpg.Connection, who: Identity, shift_id: int) -> MyPlace | None:
    """The caller's held place on a shift, as its confirm link shows it; None when they hold none."""
    if who.volunteer_id is None:
        return None
    token = await confirmations_sql.token_of(conn, shift_id, who.volunteer_id)
    return None if token is None else MyPlace(token=token, view=await view(conn, token))


async def confirm_mine(conn: asyncpg.Connection, who: Identity, shift_id: int) -> PlaceView:
    """The signed-in volunteer confirms their place on a shift."""
    volunteer_id = who.volunteer_id_or_refuse("Only volunteers confirm their places")
    token = await confirmations_sql.token_of(conn, shift_id, volunteer_id)
    if token is None:
        raise NotFound("You hold no place on this shift")
    return await confirm(conn, token)


async def cancel(conn: asyncpg.Connection, token: str) -> CancelOutcome:
    """Give up the place behind a link, through the ordinary cancellation (late rules and waitlist unchanged)."""
    place = await _place(conn, token)
    if place.status not in ("active", "waitlisted"):
        raise Conflict("This place is no longer held")
    return await shifts_service.cancel_place(conn, place.volunteer_id, place.account_id, place.shift_id)


async def _release_one(conn: asyncpg.Connection, signup_id: int, shift_id: int) -> tuple[bool, bool]:
    """Release one unconfirmed place and promote the next person waiting; (released, promoted)."""
    async with conn.transaction():
        # The shift's row first, as the pick-up and the cancellation take it, so none of them deadlock or oversell.
        await shifts_sql.lock_shift(conn, shift_id)
        released = await confirmations_sql.release(conn, signup_id)
        if released is None:
            return False, False
        await shifts_sql.release_place(conn, shift_id)
        promoted = await shifts_service.promote_next(conn, shift_id)
        await notifications.place_released(conn, signup_id=signup_id, shift_id=shift_id, promoted_volunteer_id=promoted)
        await audit.append(
            conn,
            actor_account_id=None,
            action="shift.place_released",
            object_type="shift",
            object_id=shift_id,
            detail={"signup_id": signup_id, "volunteer_id": released.volunteer_id, "promoted_volunteer_id": promoted},
        )
    return True, promoted is not None


async def sweep(conn: asyncpg.Connection) -> SweepOutcome:
    """The cron: write the asks that fell due, release unconfirmed places past their cut-off, record no-shows.

    Idempotent, and safe to run twice at once: every step is a guarded statement under the rows' locks.
    """
    async with conn.transaction():
        asked = await confirmations_sql.insert_due_asks(conn)
        withdrawn = await confirmations_sql.withdraw_stale_asks(conn)
    released = promoted = 0
    for due in await confirmations_sql.due_releases(conn, RELEASE_BATCH):
        one, moved = await _release_one(conn, due.signup_id, due.shift_id)
        released += one
        promoted += moved
    async with conn.transaction():
        missed = await confirmations_sql.mark_no_shows(conn)
        for row in missed:
            await audit.append(
                conn,
                actor_account_id=None,
                action="shift.no_show",
                object_type="shift",
                object_id=row.shift_id,
                detail={"signup_id": row.signup_id, "volunteer_id": row.volunteer_id},
            )
    return SweepOutcome(asked=asked, withdrawn=withdrawn, released=released, promoted=promoted, no_shows=len(missed))


async def reliability(conn: asyncpg.Connection, volunteer_ids: list[int]) -> dict[int, ReliabilityRow]:
    """Each volunteer's reliability over the defined window (the last 20 settled places or six months)."""
    return await confirmations_sql.reliability(conn, sorted(set(volunteer_ids)))
