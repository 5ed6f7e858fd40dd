"""Hand a place over (转让名额): offer a held place, take one through the sign-up's guarded statement, withdraw, and
the publisher's approval where the shift asks for it.

The rules (docs/volunteer-profile-and-shifts.md "Handing a place over"): an offer made before the shift's
cancellation window goes to the first eligible person on the waitlist at once, as a cancellation's place would;
inside the window, or with nobody eligible waiting, it is listed for every eligible volunteer to take. A take ends the
offerer's sign-up (a free cancellation: the place did not go empty) and creates the taker's in one transaction, under
the shift's row lock, so the place is never lost or doubled. Offers can be taken until the shift starts.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound, found
from api.services.shifts import BLOCKING_REASONS, REASON_MESSAGES, blocking, free_cancellation_until
from sql import audit
from sql import handovers as handovers_sql
from sql import notifications as notifications_sql
from sql import shifts as shifts_sql
from sql.handovers import HandoverRow, OfferedPlace, RequestRow
from sql.shifts import ShiftRow

_ONLY_VOLUNTEERS = "Only volunteers can hand over or take places"
_ONLY_PUBLISHERS = "Only an organisation or a residents' committee may publish shifts"
GONE = "This place is no longer offered"


class HandoverRefused(Conflict):
    """An offer or a take answered 409, with the reason in the problem's type: gone, not-eligible, own, …"""

    def __init__(self, reason: str, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail, fields=fields)
        self.reason = reason
        self.kind = f"handover-{reason}"


class HandoverOutcome(msgspec.Struct, frozen=True):
    """An offer after a step: open, requested (waiting for the publisher), taken or withdrawn."""

    handover_id: int
    shift_id: int
    status: str


class ApprovalSetting(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whether a take of this shift's offered places waits for the publisher's approval."""

    approval: bool


class ShiftHandovers(msgspec.Struct, frozen=True):
    """What a shift's page shows about hand-overs: the caller's own live offer, places others offer them, and for
    the publisher the live offers with the requests waiting for a decision."""

    approval: bool
    mine: HandoverRow | None = None
    offered: list[OfferedPlace] = []
    requests: list[RequestRow] = []


def _outcome(row: HandoverRow, status: str) -> HandoverOutcome:
    return HandoverOutcome(handover_id=row.id, shift_id=row.shift_id, status=status)


async def _refusal(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> HandoverRefused | None:
    """Why this volunteer may not take a place on the shift now, in the sign-up's words; None if nothing stops them."""
    view = found(await shifts_sql.get_shift_for_volunteer(conn, shift_id, volunteer_id), "No such shift")
    if view.my_status == "active":
        return HandoverRefused("already", "You already hold a place on this shift")
    if reasons := blocking(view.reasons):
        return HandoverRefused(
            "not-eligible", "You are not eligible for this shift", fields={r: REASON_MESSAGES[r] for r in reasons}
        )
    return None


async def _transfer(conn: asyncpg.Connection, offer: HandoverRow, taker_id: int, actor_account_id: int | None) -> int:
    """Move the offered place to the taker (in the caller's transaction, the shift's row locked): the offerer's
    sign-up ends, the taker's is made by the pick-up's guarded statement; the taker's sign-up id, or a refusal
    (then the caller rolls back and the offerer keeps the place)."""
    if not await handovers_sql.end_offerer_signup(conn, offer.signup_id):
        raise HandoverRefused("gone", GONE)
    await shifts_sql.release_place(conn, offer.shift_id)
    # Someone waiting for this shift takes the place instead of waiting for it.
    await shifts_sql.leave_waitlist(conn, offer.shift_id, taker_id)
    taken = await shifts_sql.pick_up(
        conn, offer.shift_id, taker_id, blocking=list(BLOCKING_REASONS), actor_account_id=actor_account_id
    )
    if taken is None:
        # The reasons as they stand with the offerer gone (an adult's place is not a minor's to take alone).
        raise await _refusal(conn, offer.shift_id, taker_id) or HandoverRefused("gone", GONE)
    signup_id, _shift = taken
    if not await handovers_sql.mark_taken(conn, offer.id, taker_id, signup_id):
        raise HandoverRefused("gone", GONE)
    await notifications_sql.notify_volunteer(
        conn, offer.volunteer_id, "handover_taken", offer.shift_id, {"handover_id": offer.id},
        f"handover_taken:handover:{offer.id}",
    )  # fmt: skip
    await audit.append(
        conn,
        actor_account_id=actor_account_id,
        action="shift.handover_taken",
        object_type="shift",
        object_id=offer.shift_id,
        detail={"handover_id": offer.id, "from_signup_id": offer.signup_id, "to_signup_id": signup_id},
    )
    return signup_id


def _refusal_of(exc: asyncpg.PostgresError) -> HandoverRefused:
    """What the schema refused, as the take's answer."""
    if isinstance(exc, asyncpg.ExclusionViolationError):
        return HandoverRefused("overlap", "You already hold a place at this time; cancel it first",
                               fields={"overlap": REASON_MESSAGES["overlap"]})  # fmt: skip
    if isinstance(exc, asyncpg.UniqueViolationError):
        return HandoverRefused("already", "You already hold a place on this shift")
    # Two takes crossing at one instant (a deadlock or serialisation failure): the loser is told to try again.
    return HandoverRefused("busy", "Many people are taking places right now; please try again")


async def _waitlist_first(conn: asyncpg.Connection, offer: HandoverRow) -> int | None:
    """Hand the offered place to the first eligible person waiting (each try in a savepoint); their volunteer id."""
    for _signup_id, volunteer_id, reasons in await shifts_sql.waitlist(conn, offer.shift_id):
        if blocking(reasons):
            continue
        try:
            async with conn.transaction():
                await _transfer(conn, offer, volunteer_id, None)
        except (HandoverRefused, asyncpg.IntegrityConstraintViolationError):
            continue
        await notifications_sql.insert_promoted(conn, offer.shift_id, volunteer_id)
        return volunteer_id
    return None


def goes_to_waitlist(shift: ShiftRow) -> bool:
    """Whether a place offered now goes to the first eligible person waiting (before the cancellation window)."""
    return shift.waitlisted > 0 and dt.datetime.now(dt.UTC) < free_cancellation_until(shift)


async def offer(conn: asyncpg.Connection, who: Identity, shift_id: int) -> HandoverOutcome:
    """Offer my held place: before the cancellation window to the first eligible person waiting, else to anyone
    eligible; 409 when I hold no place to offer or offer it already."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        if not await shifts_sql.lock_shift(conn, shift_id):
            raise NotFound("No such shift")
        if await handovers_sql.mine(conn, shift_id, volunteer_id) is not None:
            raise HandoverRefused("already-offered", "You offer this place already")
        handover_id = await handovers_sql.insert_offer(conn, shift_id, volunteer_id)
        if handover_id is None:
            raise HandoverRefused("no-place", "You hold no place on this shift that can still be handed over")
        await audit_log.record(
            conn, who, "shift.handover_offered", "shift", shift_id, detail={"handover_id": handover_id}
        )
        row = found(await handovers_sql.get(conn, handover_id, shift_id), GONE)
        shift = found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
        # Before the window a cancellation would hand the place to the waitlist: so does an offer. Inside it nobody
        # is drafted at short notice, and the offer is listed for anyone who chooses to come.
        if goes_to_waitlist(shift) and await _waitlist_first(conn, row):
            return _outcome(row, "taken")
    return _outcome(row, "open")


async def withdraw(conn: asyncpg.Connection, who: Identity, shift_id: int) -> HandoverOutcome:
    """Withdraw my live offer (a request waiting for approval lapses with it); I keep the place."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        if not await shifts_sql.lock_shift(conn, shift_id):
            raise NotFound("No such shift")
        row = await handovers_sql.mine(conn, shift_id, volunteer_id)
        if row is None or not await handovers_sql.withdraw(conn, row.id):
            raise HandoverRefused("gone", "You offer no place on this shift")
        if row.taker_volunteer_id is not None:
            await _tell_declined(conn, row)
        await audit_log.record(conn, who, "shift.handover_withdrawn", "shift", shift_id, detail={"handover_id": row.id})
    return _outcome(row, "withdrawn")


async def take(conn: asyncpg.Connection, who: Identity, shift_id: int, handover_id: int) -> HandoverOutcome:
    """Take an offered place (or ask to, where the publisher approves takes); 409 with the reasons when the place is
    gone or I may not take it."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    try:
        async with conn.transaction():
            # The sign-up's lock order: the person, then the shift.
            await shifts_sql.lock_volunteer(conn, volunteer_id)
            if not await shifts_sql.lock_shift(conn, shift_id):
                raise NotFound("No such shift")
            row = await handovers_sql.lock_live(conn, handover_id, shift_id)
            if row is None or (row.status == "requested" and row.taker_volunteer_id != volunteer_id):
                raise HandoverRefused("gone", GONE)
            if row.volunteer_id == volunteer_id:
                raise HandoverRefused("own", "This is your own place")
            if row.status == "requested":
                raise HandoverRefused("requested", "You asked for this place already; the publisher decides")
            if not row.approval:
                await _transfer(conn, row, volunteer_id, who.account_id)
                return _outcome(row, "taken")
            if refusal := await _refusal(conn, shift_id, volunteer_id):
                raise refusal
            await handovers_sql.mark_requested(conn, row.id, volunteer_id)
            await notifications_sql.insert_for_publisher(
                conn, shift_id=shift_id, kind="handover_requested", params={"handover_id": row.id},
                dedupe_key=f"handover_requested:handover:{row.id}:volunteer:{volunteer_id}",
            )  # fmt: skip
            await audit_log.record(
                conn, who, "shift.handover_requested", "shift", shift_id, detail={"handover_id": row.id}
            )
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.TransactionRollbackError) as exc:
        raise _refusal_of(exc) from exc
    return _outcome(row, "requested")


async def _publisher_shift(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftRow:
    """The shift if the caller published it (another publisher's is a 404)."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    shift = await shifts_sql.get_shift(conn, shift_id)
    if shift is None or not (
        (organisation_id is not None and shift.organisation_id == organisation_id)
        or (committee_id is not None and shift.committee_id == committee_id)
    ):
        raise NotFound("No such shift")
    return shift


async def _tell_declined(conn: asyncpg.Connection, row: HandoverRow) -> None:
    assert row.taker_volunteer_id is not None
    # One notice per request: the same person may ask again after a decline.
    asked = int(row.requested_at.timestamp() * 1000) if row.requested_at else 0
    await notifications_sql.notify_volunteer(
        conn, row.taker_volunteer_id, "handover_declined", row.shift_id, {"handover_id": row.id},
        f"handover_declined:handover:{row.id}:volunteer:{row.taker_volunteer_id}:at:{asked}",
    )  # fmt: skip


async def _requested(conn: asyncpg.Connection, shift_id: int, handover_id: int) -> HandoverRow:
    row = await handovers_sql.lock_live(conn, handover_id, shift_id)
    if row is None or row.status != "requested" or row.taker_volunteer_id is None:
        raise HandoverRefused("gone", "No request waits for a decision on this place")
    return row


async def approve(conn: asyncpg.Connection, who: Identity, shift_id: int, handover_id: int) -> HandoverOutcome:
    """The publisher lets the volunteer who asked take the place; 409 with the reasons if they no longer may."""
    await _publisher_shift(conn, who, shift_id)
    asked = found(await handovers_sql.get(conn, handover_id, shift_id), "No such offer")
    try:
        async with conn.transaction():
            if asked.taker_volunteer_id is not None:
                await shifts_sql.lock_volunteer(conn, asked.taker_volunteer_id)
            await shifts_sql.lock_shift(conn, shift_id)
            row = await _requested(conn, shift_id, handover_id)
            if row.taker_volunteer_id != asked.taker_volunteer_id:
                raise HandoverRefused("gone", "No request waits for a decision on this place")
            assert row.taker_volunteer_id is not None
            await _transfer(conn, row, row.taker_volunteer_id, who.account_id)
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.TransactionRollbackError) as exc:
        raise _refusal_of(exc) from exc
    return _outcome(row, "taken")


async def decline(conn: asyncpg.Connection, who: Identity, shift_id: int, handover_id: int) -> HandoverOutcome:
    """The publisher declines a request: the place stays with the offerer and is offered again."""
    await _publisher_shift(conn, who, shift_id)
    async with conn.transaction():
        await shifts_sql.lock_shift(conn, shift_id)
        row = await _requested(conn, shift_id, handover_id)
        await handovers_sql.reopen(conn, row.id)
        await _tell_declined(conn, row)
        await audit_log.record(
            conn, who, "shift.handover_declined", "shift", shift_id,
            detail={"handover_id": row.id, "volunteer_id": row.taker_volunteer_id},
        )  # fmt: skip
    return _outcome(row, "open")


async def set_approval(conn: asyncpg.Connection, who: Identity, shift_id: int, form: ApprovalSetting) -> bool:
    """The publisher decides whether takes of this shift's offered places wait for their approval."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    async with conn.transaction():
        if not await handovers_sql.set_approval(
            conn, shift_id, form.approval, organisation_id=organisation_id, committee_id=committee_id
        ):
            raise NotFound("No such shift")
        await audit_log.record(
            conn, who, "shift.handover_approval", "shift", shift_id, detail={"approval": form.approval}
        )
    return form.approval


async def offered(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[OfferedPlace]:
    """Places other volunteers offer, the ones I may take first, each with the reasons I may not."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    return await handovers_sql.offered(conn, volunteer_id, shift_id=None, limit=limit, offset=offset)


async def on_shift(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftHandovers:
    """Hand-overs on one shift as the caller sees them: a volunteer's own offer and others' offers they could take;
    the publisher's live offers and requests; nothing for anyone else."""
    found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
    approval = await handovers_sql.approval(conn, shift_id)
    if who.volunteer_id is not None:
        return ShiftHandovers(
            approval=approval,
            mine=await handovers_sql.mine(conn, shift_id, who.volunteer_id),
            offered=await handovers_sql.offered(conn, who.volunteer_id, shift_id=shift_id, limit=20, offset=0),
        )
    if who.organisation_id is not None or who.committee_id is not None:
        try:
            await _publisher_shift(conn, who, shift_id)
        except NotFound:
            return ShiftHandovers(approval=approval)
        return ShiftHandovers(approval=approval, requests=await handovers_sql.for_publisher(conn, shift_id))
    return ShiftHandovers(approval=approval)
