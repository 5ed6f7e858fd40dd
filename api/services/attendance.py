"""Check-in and check-out at a shift (QR code, typed code, or recorded by the publisher), and confirming hours."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, groups, timebank
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, found
from sql import attendance as attendance_sql
from sql.attendance import AttendanceRow, CheckinShiftRow, DueRow, PendingRow, RosterRow, ShiftCodesRow
from sql.groups import NamedMemberRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_VOLUNTEERS = "Only volunteers check in to shifts"
_ONLY_PUBLISHERS = "Only the organisation or committee that published the shift may do this"

AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]


class AttendanceRules(msgspec.Struct, frozen=True):
    """The settings check-in and the time bank follow (LINLI_CHECKIN_WINDOW_MINUTES, …)."""

    checkin_window_minutes: int = 60
    checkout_tolerance_minutes: int = 30
    timebank_cap_minutes: int = timebank.DEFAULT_CAP_HOURS * timebank.MINUTES_PER_COIN


def rules_of(settings: Any) -> AttendanceRules:
    """The rules from the app's settings."""
    return AttendanceRules(
        checkin_window_minutes=int(settings.checkin_window_minutes),
        checkout_tolerance_minutes=int(settings.checkout_tolerance_minutes),
        timebank_cap_minutes=int(settings.timebank_cap_hours) * timebank.MINUTES_PER_COIN,
    )


class CheckIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A check-in: the secret from the shift's QR code, or the shift and the short code shown at the place."""

    secret: Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")] | None = None
    shift_id: Annotated[int, Meta(ge=1, le=2**62)] | None = None
    code: Annotated[str, Meta(pattern=r"^\s*[0-9]{6}\s*$")] | None = None


class ManualAttendance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The publisher records a volunteer's check-in and check-out times."""

    volunteer_id: Annotated[int, Meta(ge=1, le=2**62)]
    checked_in_at: AwareDateTime
    checked_out_at: AwareDateTime


class Decision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Confirm or reject pending hours, one or many at once (all or none)."""

    attendance_ids: Annotated[list[Annotated[int, Meta(ge=1, le=2**62)]], Meta(min_length=1, max_length=500)]
    decision: Literal["confirm", "reject"]
    reason: Annotated[str, Meta(max_length=500, pattern=r"^[^\x00]*$")] | None = None


class GroupActivity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whether a shift is a group activity: its hours become group time, which can only be donated."""

    group_activity: bool


class CheckinOutcome(msgspec.Struct, frozen=True):
    """The shift and the caller's attendance after a check-in (already=True when they had checked in before)."""

    shift: CheckinShiftRow
    attendance: AttendanceRow
    already: bool


class CheckinPage(msgspec.Struct, frozen=True):
    """What the QR code's page shows the volunteer holding it: the shift, their place and their attendance."""

    shift: CheckinShiftRow
    holds_place: bool
    attendance: AttendanceRow | None


class ShiftAttendance(msgspec.Struct, frozen=True):
    """A publisher's view of one shift: its check-in codes and who came."""

    shift: ShiftCodesRow
    roster: list[RosterRow]
    # People without an account who came in a group (a child), listed under their group's leader.
    group_people: list[NamedMemberRow] = []


class DecisionOutcome(msgspec.Struct, frozen=True):
    """What a confirmation or rejection changed: how many attendances, minutes, coins credited and kept out."""

    decision: str
    count: int
    minutes: int
    credited_minutes: int
    over_cap_minutes: int


class CheckinRefused(Conflict):
    """A check-in or check-out answered 409, the reason in the problem type: too-early, too-late, no-place, …"""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.kind = f"checkin-{reason}"


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _check_window(shift: CheckinShiftRow, at: dt.datetime, rules: AttendanceRules) -> None:
    if shift.status == "cancelled":
        raise CheckinRefused("closed", "This shift was cancelled")
    if at < shift.starts_at - dt.timedelta(minutes=rules.checkin_window_minutes):
        raise CheckinRefused("too-early", "Check-in opens shortly before the shift starts")
    if at > shift.ends_at:
        raise CheckinRefused("too-late", "This shift is over; ask its publisher to record your hours")


# Wrong typed codes a volunteer may make for one shift: a code is one in a million, so five tries stop guessing
# from home while leaving room for typos; the QR code and the publisher's manual record still work after that.
MAX_CODE_FAILURES = 5


async def _typed_code_is_right(conn: asyncpg.Connection, form: CheckIn, volunteer_id: int) -> None:
    """Let only a volunteer holding a place try a typed code, and count each wrong one.

    The sign-up is locked while a code is compared and a wrong one recorded, so parallel guesses are compared one
    after another and never more than MAX_CODE_FAILURES in all; the count is committed outside the check-in's
    transaction (which a refusal rolls back), so that it survives. A volunteer without a place learns nothing of
    the code: it is not compared.
    """
    if form.secret is not None or form.shift_id is None or form.code is None:
        return
    async with conn.transaction():
        failures = await attendance_sql.lock_code_tries(conn, form.shift_id, volunteer_id)
        if failures is None:
            raise CheckinRefused("no-place", "You hold no place on this shift")
        if failures >= MAX_CODE_FAILURES:
            raise CheckinRefused(
                "code-attempts", "Too many wrong codes for this shift: scan its QR code or ask its publisher"
            )
        right = await attendance_sql.shift_by_code(conn, form.shift_id, form.code.strip()) is not None
        if not right:
            await attendance_sql.record_code_failure(conn, form.shift_id, volunteer_id)
    if not right:
        raise Invalid("The code is not right", fields={"code": "This is not the shift's check-in code"})


async def _shift_of(conn: asyncpg.Connection, form: CheckIn) -> tuple[CheckinShiftRow, str]:
    if form.secret is not None:
        return found(await attendance_sql.shift_by_secret(conn, form.secret), "This check-in code is not valid"), "qr"
    if form.shift_id is None or form.code is None:
        fields = {"code": "Enter the six-digit code shown at the place"}
        raise Invalid("Scan the shift's QR code or enter its code", fields=fields)
    shift = await attendance_sql.shift_by_code(conn, form.shift_id, form.code.strip())
    if shift is None:
        raise Invalid("The code is not right", fields={"code": "This is not the shift's check-in code"})
    return shift, "code"


async def check_in(
    conn: asyncpg.Connection, who: Identity, form: CheckIn, rules: AttendanceRules, *, now: dt.datetime | None = None
) -> CheckinOutcome:
    """Check in at the place, from shortly before the start to the end; scanning twice changes nothing."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    at = _now(now)
    await _typed_code_is_right(conn, form, volunteer_id)
    async with conn.transaction():
        shift, method = await _shift_of(conn, form)
        existing = await attendance_sql.my_attendance(conn, shift.id, volunteer_id)
        if existing is not None:
            if existing.status != "open":
                raise CheckinRefused("already", "You have already checked in and out of this shift")
            return CheckinOutcome(shift=shift, attendance=existing, already=True)
        _check_window(shift, at, rules)
        row = await attendance_sql.check_in(conn, shift.id, volunteer_id, at, method)
        if row is None:
            # A second scan racing the first finds its check-in: that is the same check-in, not a refusal.
            existing = await attendance_sql.my_attendance(conn, shift.id, volunteer_id)
            if existing is not None and existing.status == "open":
                return CheckinOutcome(shift=shift, attendance=existing, already=True)
            raise CheckinRefused("no-place", "You hold no place on this shift")
        await audit_log.record(
            conn, who, "attendance.check_in", "shift", shift.id, detail={"attendance_id": row.id, "method": method}
        )
    return CheckinOutcome(shift=shift, attendance=row, already=False)


async def check_out(
    conn: asyncpg.Connection, who: Identity, shift_id: int, rules: AttendanceRules, *, now: dt.datetime | None = None
) -> AttendanceRow:
    """Check out; the minutes served go to the publisher for confirmation.

    The minutes are capped at the shift's length plus a tolerance (LINLI_CHECKOUT_TOLERANCE_MINUTES): a volunteer
    who forgets to check out and does it hours later, at home, must not mint hours and time coins they did not
    serve, while the tolerance leaves room for the usual overrun (tidying up, a handover). A shift that truly ran
    long is recorded by its publisher with the real times, and they confirm it.
    """
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        row = await attendance_sql.check_out(conn, shift_id, volunteer_id, _now(now), rules.checkout_tolerance_minutes)
        if row is None:
            existing = await attendance_sql.my_attendance(conn, shift_id, volunteer_id)
            if existing is None:
                raise CheckinRefused("not-checked-in", "You have not checked in to this shift")
            raise CheckinRefused("already", "You have already checked out of this shift")
        await audit_log.record(
            conn, who, "attendance.check_out", "shift", shift_id,
            detail={"attendance_id": row.id, "minutes": row.minutes},
        )  # fmt: skip
    return row


async def checkin_page(conn: asyncpg.Connection, who: Identity, secret: str) -> CheckinPage:
    """The shift behind a QR code, and whether the calling volunteer holds a place and has checked in."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    shift = found(await attendance_sql.shift_by_secret(conn, secret), "This check-in code is not valid")
    return await _page(conn, shift, volunteer_id)


async def shift_page(conn: asyncpg.Connection, who: Identity, shift_id: int) -> CheckinPage:
    """The check-in page of a shift reached without the QR code (the volunteer types the code)."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    shift = found(await attendance_sql.checkin_shift(conn, shift_id), "No such shift")
    return await _page(conn, shift, volunteer_id)


async def _page(conn: asyncpg.Connection, shift: CheckinShiftRow, volunteer_id: int) -> CheckinPage:
    return CheckinPage(
        shift=shift,
        holds_place=await attendance_sql.holds_place(conn, shift.id, volunteer_id),
        attendance=await attendance_sql.my_attendance(conn, shift.id, volunteer_id),
    )


async def due(conn: asyncpg.Connection, who: Identity, rules: AttendanceRules) -> list[DueRow]:
    """The caller's shifts open for check-in now, and check-ins still open."""
    return await attendance_sql.due(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS), rules.checkin_window_minutes)


async def shift_attendance(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftAttendance:
    """The publisher's view of a shift: check-in codes and the volunteers with their attendance."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    codes = found(
        await attendance_sql.shift_codes(conn, shift_id, organisation_id=organisation_id, committee_id=committee_id),
        "No such shift",
    )
    roster = await attendance_sql.roster(conn, shift_id, organisation_id=organisation_id, committee_id=committee_id)
    return ShiftAttendance(shift=codes, roster=roster, group_people=await groups.named_on_shift(conn, shift_id))


async def set_group_activity(
    conn: asyncpg.Connection, who: Identity, shift_id: int, form: GroupActivity
) -> ShiftAttendance:
    """The publisher marks its shift as a group activity (or not), until the first hours of it are confirmed."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    async with conn.transaction():
        changed = await attendance_sql.set_group_activity(
            conn, shift_id, organisation_id=organisation_id, committee_id=committee_id, group=form.group_activity
        )
        if not changed:
            await shift_attendance(conn, who, shift_id)  # 404 when it is not the caller's shift
            raise Conflict("Hours of this shift are already confirmed; whether it is a group activity stays as it is")
        await audit_log.record(
            conn, who, "shift.group_activity", "shift", shift_id, detail={"group_activity": form.group_activity}
        )
        return await shift_attendance(conn, who, shift_id)


async def record_manual(
    conn: asyncpg.Connection,
    who: Identity,
    shift_id: int,
    form: ManualAttendance,
    rules: AttendanceRules,
    *,
    now: dt.datetime | None = None,
) -> AttendanceRow:
    """The publisher records check-in and check-out for a volunteer holding a place (the manual fallback)."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    async with conn.transaction():
        codes = found(
            await attendance_sql.shift_codes(
                conn, shift_id, organisation_id=organisation_id, committee_id=committee_id
            ),
            "No such shift",
        )
        errors: dict[str, str] = {}
        window = dt.timedelta(minutes=rules.checkin_window_minutes)
        if not codes.starts_at - window <= form.checked_in_at <= codes.ends_at:
            errors["checked_in_at"] = "The check-in must be near the shift's time"
        if form.checked_out_at <= form.checked_in_at:
            errors["checked_out_at"] = "The check-out must be after the check-in"
        elif form.checked_out_at > _now(now) + dt.timedelta(minutes=5):
            errors["checked_out_at"] = "The check-out cannot be in the future"
        if errors:
            raise Invalid("The times are not valid", fields=errors)
        row = await attendance_sql.record_manual(
            conn,
            shift_id,
            organisation_id=organisation_id,
            committee_id=committee_id,
            tolerance_minutes=rules.checkout_tolerance_minutes,
            volunteer_id=form.volunteer_id,
            checked_in_at=form.checked_in_at,
            checked_out_at=form.checked_out_at,
            recorded_by=who.account_id,
        )
        if row is None:
            raise CheckinRefused("no-place", "This volunteer holds no place on this shift, or has already checked out")
        await audit_log.record(
            conn, who, "attendance.record", "shift", shift_id, detail={"attendance_id": row.id, "minutes": row.minutes}
        )
    return row


async def pending(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[PendingRow]:
    """Hours waiting for the caller's decision, on their own shifts."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    return await attendance_sql.pending(
        conn, organisation_id=organisation_id, committee_id=committee_id, limit=limit, offset=offset
    )


async def decide(conn: asyncpg.Connection, who: Identity, form: Decision, rules: AttendanceRules) -> DecisionOutcome:
    """Confirm (hours go to the service record and the time bank) or reject with a reason, in one transaction.

    Either every listed attendance is a pending one on the caller's own shifts and all are decided, or none is.
    """
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    reason = (form.reason or "").strip() or None
    if form.decision == "reject" and reason is None:
        raise Invalid("Say why the hours are rejected", fields={"reason": "Give a reason for the volunteer"})
    ids = sorted(set(form.attendance_ids))
    credited = over = 0
    async with conn.transaction():
        rows = await attendance_sql.decide(
            conn,
            ids,
            status="confirmed" if form.decision == "confirm" else "rejected",
            decided_by=who.account_id,
            reason=reason if form.decision == "reject" else None,
            organisation_id=organisation_id,
            committee_id=committee_id,
        )
        if len(rows) != len(ids):
            raise Conflict("Some of these hours are not waiting for your decision; nothing was changed")
        if form.decision == "confirm":
            # Every account involved is locked up front, in id order, as transfers lock them: no deadlock.
            await timebank.lock_volunteers(conn, [r.volunteer_id for r in rows])
            for row in sorted(rows, key=lambda r: (r.volunteer_id, r.id)):
                outcome = await timebank.credit_attendance(
                    conn,
                    attendance_id=row.id,
                    volunteer_id=row.volunteer_id,
                    minutes=row.minutes,
                    group=row.group_activity,
                    cap_minutes=rules.timebank_cap_minutes,
                    decided_by=who.account_id,
                )
                credited += outcome.credited
                over += outcome.over_cap
        await audit_log.record(
            conn, who, f"attendance.{form.decision}", "attendance", ids[0] if len(ids) == 1 else f"{len(ids)} records",
            detail={"attendance_ids": ids, "minutes": sum(r.minutes for r in rows)},
        )  # fmt: skip
    return DecisionOutcome(
        decision=form.decision,
        count=len(rows),
        minutes=sum(r.minutes for r in rows),
        credited_minutes=credited,
        over_cap_minutes=over,
    )
