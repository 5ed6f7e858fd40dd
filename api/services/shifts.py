"""Use cases for volunteer shifts: publish, browse with reasons, pick up a place, wait, cancel."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import notifications
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound
from api.services.types import Name, Text
from sql import audit
from sql import shifts as shifts_sql
from sql.shifts import ShiftForVolunteer, ShiftRow

AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]
Skill = Annotated[str, Meta(pattern=r"^[a-z_]{2,40}$")]

# Reasons a volunteer may not take a shift. Distance only orders and filters the list: people may travel further.
BLOCKING_REASONS = ("skills", "age", "guardian", "insurance")
REASON_MESSAGES = {
    "skills": "You do not have every skill this shift requires",
    "age": "You are below this shift's minimum age",
    "guardian": "Volunteers under 14 need a guardian's consent on file",
    "insurance": "This shift requires accident insurance covering its date",
    "distance": "This shift is farther than your travel radius",
}


class ShiftCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A one-off shift as an organisation or a committee publishes it; times carry their UTC offset."""

    title: Name
    place_name: Name
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    starts_at: AwareDateTime
    ends_at: AwareDateTime
    headcount: Annotated[int, Meta(ge=1, le=1000)]
    required_skills: list[Skill] = []
    min_age: Annotated[int, Meta(ge=0, le=100)] = 0
    insurance_required: bool = False
    cancellation_window_hours: Annotated[int, Meta(ge=0, le=720)] = 24
    description: Text = ""


class SignupOutcome(msgspec.Struct, frozen=True):
    """A sign-up just made: a place or a place on the waitlist, and the shift as it now stands."""

    signup_id: int
    status: str
    shift: ShiftRow


class CancelOutcome(msgspec.Struct, frozen=True):
    """A cancellation: late or not, and whether someone on the waitlist got the place."""

    signup_id: int
    status: str
    promoted: bool


class SignupRefused(Conflict):
    """A pick-up answered 409, with the reason in the problem's type: full, overlap, not-eligible, closed, …"""

    def __init__(self, reason: str, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail, fields=fields)
        self.reason = reason
        self.kind = f"shift-{reason}"


def _volunteer(who: Identity) -> int:
    if who.role != "volunteer" or who.volunteer_id is None:
        raise Forbidden("Only volunteers can sign up for shifts")
    return who.volunteer_id


def blocking(reasons: list[str]) -> list[str]:
    """The reasons that stop a volunteer from taking the shift (not distance)."""
    return [r for r in reasons if r in BLOCKING_REASONS]


async def publish(conn: asyncpg.Connection, who: Identity, form: ShiftCreate) -> ShiftRow:
    """An organisation or a committee publishes a one-off shift."""
    if who.role == "organisation" and who.organisation_id is not None:
        organisation_id, committee_id = who.organisation_id, None
    elif who.role == "committee" and who.committee_id is not None:
        organisation_id, committee_id = None, who.committee_id
    else:
        raise Forbidden("Only an organisation or a residents' committee may publish shifts")
    errors: dict[str, str] = {}
    if form.ends_at <= form.starts_at:
        errors["ends_at"] = "The end must be after the start"
    if form.starts_at <= dt.datetime.now(dt.UTC):
        errors["starts_at"] = "The start must be in the future"
    if form.ends_at - form.starts_at > dt.timedelta(hours=24):
        errors["ends_at"] = "A shift lasts at most 24 hours"
    if errors:
        raise Invalid("The shift is not valid", fields=errors)
    async with conn.transaction():
        shift_id = await shifts_sql.insert_shift(
            conn,
            organisation_id=organisation_id,
            committee_id=committee_id,
            title=form.title.strip(),
            description=form.description,
            place_name=form.place_name.strip(),
            lat=form.lat,
            lon=form.lon,
            starts_at=form.starts_at,
            ends_at=form.ends_at,
            headcount=form.headcount,
            required_skills=sorted(set(form.required_skills)),
            min_age=form.min_age,
            insurance_required=form.insurance_required,
            cancellation_window_hours=form.cancellation_window_hours,
            created_by=who.account_id,
        )
        if shift_id is None:
            raise Forbidden("Only a verified organisation may publish shifts")
        await audit.append(
            conn, actor_account_id=who.account_id, action="shift.publish", object_type="shift", object_id=shift_id
        )
        row = await shifts_sql.get_shift(conn, shift_id)
    assert row is not None
    return row


async def get_shift(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftRow:
    """One shift with its headcount and places taken."""
    row = await shifts_sql.get_shift(conn, shift_id)
    if row is None:
        raise NotFound("No such shift")
    return row


async def view_for_volunteer(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftForVolunteer | None:
    """The shift as the calling volunteer sees it (reasons, own status); None for other roles."""
    if who.volunteer_id is None:
        await get_shift(conn, who, shift_id)
        return None
    view = await shifts_sql.get_shift_for_volunteer(conn, shift_id, who.volunteer_id)
    if view is None:
        raise NotFound("No such shift")
    return view


async def browse(
    conn: asyncpg.Connection, who: Identity, *, eligible_only: bool, limit: int, offset: int
) -> list[ShiftForVolunteer]:
    """Open shifts for the calling volunteer, the ones they may take first, each saying why not otherwise."""
    volunteer_id = _volunteer(who)
    return await shifts_sql.list_for_volunteer(
        conn, volunteer_id, eligible_only=eligible_only, limit=limit, offset=offset
    )


async def my_shifts(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[ShiftForVolunteer]:
    """The shifts the calling volunteer signed up for, latest first."""
    return await shifts_sql.list_mine(conn, _volunteer(who), limit=limit, offset=offset)


async def published(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[ShiftRow]:
    """The shifts the caller's organisation or committee published."""
    if who.organisation_id is None and who.committee_id is None:
        raise Forbidden("Only an organisation or a residents' committee may publish shifts")
    return await shifts_sql.list_published(
        conn, organisation_id=who.organisation_id, committee_id=who.committee_id, limit=limit, offset=offset
    )


def _closed_or_full(shift: ShiftRow) -> SignupRefused:
    if shift.status != "open" or shift.starts_at <= dt.datetime.now(dt.UTC):
        return SignupRefused("closed", "This shift is closed to sign-ups")
    return SignupRefused("full", "This shift is full; you can join its waitlist")


def _constraint_refusal(exc: asyncpg.IntegrityConstraintViolationError) -> SignupRefused:
    if isinstance(exc, asyncpg.ExclusionViolationError):
        return SignupRefused("overlap", "This shift overlaps one of your shifts")
    if isinstance(exc, asyncpg.UniqueViolationError):
        return SignupRefused("already", "You are already signed up for this shift")
    # shifts_taken_within_headcount: the guard in the statement should have stopped it first.
    return SignupRefused("full", "This shift is full; you can join its waitlist")


async def _eligible_view(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> ShiftForVolunteer:
    view = await shifts_sql.get_shift_for_volunteer(conn, shift_id, volunteer_id)
    if view is None:
        raise NotFound("No such shift")
    if view.my_status in ("active", "waitlisted"):
        raise SignupRefused("already", "You are already signed up for this shift")
    if reasons := blocking(view.reasons):
        raise SignupRefused(
            "not-eligible",
            "You are not eligible for this shift",
            fields={r: REASON_MESSAGES[r] for r in reasons},
        )
    return view


async def sign_up(conn: asyncpg.Connection, who: Identity, shift_id: int) -> SignupOutcome:
    """Take a place on a shift, or be told why not (409): full, overlapping, not eligible, closed."""
    volunteer_id = _volunteer(who)
    try:
        async with conn.transaction():
            await _eligible_view(conn, shift_id, volunteer_id)
            signup_id = await shifts_sql.pick_up(conn, shift_id, volunteer_id)
            if signup_id is None:
                shift = await shifts_sql.get_shift(conn, shift_id)
                assert shift is not None
                raise _closed_or_full(shift)
            await audit.append(
                conn,
                actor_account_id=who.account_id,
                action="shift.signup",
                object_type="shift",
                object_id=shift_id,
                detail={"signup_id": signup_id},
            )
            shift = await shifts_sql.get_shift(conn, shift_id)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise _constraint_refusal(exc) from exc
    except asyncpg.TransactionRollbackError as exc:
        # Two sign-ups of one person for overlapping shifts at the same instant can each wait on the other's
        # exclusion check; PostgreSQL breaks the tie by failing one, which is a refusal, not a server error.
        raise SignupRefused("busy", "Many people are signing up right now; please try again") from exc
    assert shift is not None
    return SignupOutcome(signup_id=signup_id, status="active", shift=shift)


async def join_waitlist(conn: asyncpg.Connection, who: Identity, shift_id: int) -> SignupOutcome:
    """Wait for a place on a full shift; the first eligible person waiting gets a freed place."""
    volunteer_id = _volunteer(who)
    try:
        async with conn.transaction():
            await _eligible_view(conn, shift_id, volunteer_id)
            shift = await shifts_sql.get_shift(conn, shift_id)
            assert shift is not None
            refusal = _closed_or_full(shift)
            if refusal.reason == "closed":
                raise refusal
            if shift.taken < shift.headcount:
                raise SignupRefused("has-places", "This shift still has places; sign up instead")
            signup_id = await shifts_sql.join_waitlist(conn, shift_id, volunteer_id)
            if signup_id is None:
                raise SignupRefused("closed", "This shift is closed to sign-ups")
            await audit.append(
                conn,
                actor_account_id=who.account_id,
                action="shift.waitlist",
                object_type="shift",
                object_id=shift_id,
                detail={"signup_id": signup_id},
            )
            shift = await shifts_sql.get_shift(conn, shift_id)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise _constraint_refusal(exc) from exc
    assert shift is not None
    return SignupOutcome(signup_id=signup_id, status="waitlisted", shift=shift)


class _NoPlace(Exception):
    """Rolls back a promotion's savepoint when the place was gone after all."""


async def _promote_next(conn: asyncpg.Connection, shift_id: int) -> int | None:
    """Give the freed place to the first person waiting who may still take it; their volunteer id."""
    for signup_id, volunteer_id, reasons in await shifts_sql.waitlist(conn, shift_id):
        if blocking(reasons):
            continue
        try:
            async with conn.transaction():
                if not await shifts_sql.promote(conn, shift_id, signup_id):
                    raise _NoPlace
        except asyncpg.ExclusionViolationError:
            # They took an overlapping shift while waiting: they stay waiting, the next person is asked.
            continue
        except _NoPlace:
            return None
        return volunteer_id
    return None


async def cancel(conn: asyncpg.Connection, who: Identity, shift_id: int) -> CancelOutcome:
    """Give up a place (or leave the waitlist); before the window the next person waiting gets it."""
    volunteer_id = _volunteer(who)
    async with conn.transaction():
        # The shift's row first, in the pick-up's order, so a cancellation and a pick-up never deadlock.
        if not await shifts_sql.lock_shift(conn, shift_id):
            raise NotFound("No such shift")
        promoted: int | None = None
        held = await shifts_sql.cancel_active(conn, shift_id, volunteer_id)
        if held is not None:
            signup_id, status = held
            await shifts_sql.release_place(conn, shift_id)
            # Inside the window the place reopens for anyone, but nobody is drafted at short notice.
            if status == "cancelled":
                promoted = await _promote_next(conn, shift_id)
            # In this transaction: the publisher hears of the cancellation, the promoted person of their place.
            await notifications.signup_cancelled(
                conn,
                shift_id=shift_id,
                signup_id=signup_id,
                late=status == "late_cancelled",
                promoted_volunteer_id=promoted,
            )
        else:
            waiting = await shifts_sql.leave_waitlist(conn, shift_id, volunteer_id)
            if waiting is None:
                raise NotFound("You hold no place on this shift")
            signup_id, status = waiting
        await audit.append(
            conn,
            actor_account_id=who.account_id,
            action=f"shift.{status}",
            object_type="shift",
            object_id=shift_id,
            detail={"signup_id": signup_id, "promoted_volunteer_id": promoted},
        )
        if promoted is not None:
            # The notification outbox is not built yet; the audit entry is the promotion's record meanwhile.
            await audit.append(
                conn,
                actor_account_id=None,
                action="shift.promoted",
                object_type="shift",
                object_id=shift_id,
                detail={"volunteer_id": promoted},
            )
    return CancelOutcome(signup_id=signup_id, status=status, promoted=promoted is not None)
