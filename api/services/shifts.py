"""Use cases for volunteer shifts: publish (one-off or a weekly series), browse with reasons, pick up a place,
wait, cancel."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, horizon, household_access, notifications
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.household_access import MaskedHousehold
from api.services.types import SHANGHAI, Id, Name, Text
from api.services.volunteers import CERTIFICATE_KINDS
from sql import audit
from sql import shift_series as series_sql
from sql import shifts as shifts_sql
from sql.shift_series import SeriesRow
from sql.shifts import ShiftForVolunteer, ShiftGlance, ShiftRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_VOLUNTEERS = "Only volunteers can sign up for shifts"
_ONLY_PUBLISHERS = "Only an organisation or a residents' committee may publish shifts"

AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]
Skill = Annotated[str, Meta(pattern=r"^[a-z_]{2,40}$")]
CertificateKind = Annotated[str, Meta(pattern=r"^[a-z0-9_]{2,40}$")]
# Hours before the start by which volunteers must confirm their place (the schema's CHECK mirrors it).
ConfirmHours = Annotated[int, Meta(ge=1, le=168)]

# Reasons a volunteer may not take a shift (defined in sql/shifts.py). Distance, availability and consent only
# order and filter the list: people may travel further, or step in outside the times they usually give. A shift
# overlapping a place the person holds (any commitment: a shift, a 311 team visit) can be neither taken nor awaited.
BLOCKING_REASONS = (
    "skills", "certificates", "age", "age_unverified", "guardian", "insurance", "minor_group", "hours_cap",
    "overlap",
)  # fmt: skip
OVERLAP = "You already hold a place at this time; cancel that place first to take or wait for this shift"
REASON_MESSAGES = {
    "skills": "You do not have every skill this shift requires",
    "certificates": "You do not hold every certificate this shift requires, verified and valid on its date",
    "age": "You are below this shift's minimum age",
    "age_unverified": "This shift is for adults only: your date of birth must be verified first",
    "guardian": "Volunteers under 14 need a guardian's consent on file",
    "insurance": "This shift requires verified accident insurance covering its date",
    "minor_group": (
        "Under 18 or with your date of birth not yet verified, you may join this shift only once a verified adult"
        " volunteer has signed up for it"
    ),
    "hours_cap": "This shift would take you above your weekly hour cap",
    "overlap": "You already hold a place at this time; cancel it first",
    "availability": "This shift is outside the times you said you are available",
    "consent": "Home visits are offered once you consent to the processing of personal data on your profile",
    "distance": "This shift is farther than your travel radius",
}
# How far ahead a series may generate shifts (the schema bounds a rule to 366 days as well).
SERIES_MAX_DAYS = 366


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
    required_certificates: list[CertificateKind] = []
    minors_in_groups_only: bool = False
    household_id: Id | None = None
    confirm_hours_before: ConfirmHours | None = None
    # Whether a take of a place handed over waits for the publisher's approval (api/services/handovers.py).
    handover_approval: bool = False


class SeriesCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A weekly rule: the first occurrence's start and end (with offset), the weekdays it repeats on (1 = Monday;
    the first occurrence's weekday if none), the last date (required), and dates to skip."""

    title: Name
    place_name: Name
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    starts_at: AwareDateTime
    ends_at: AwareDateTime
    headcount: Annotated[int, Meta(ge=1, le=1000)]
    until: dt.date | None = None
    weekdays: Annotated[list[Annotated[int, Meta(ge=1, le=7)]], Meta(max_length=7)] = []
    exceptions: Annotated[list[dt.date], Meta(max_length=400)] = []
    required_skills: list[Skill] = []
    required_certificates: list[CertificateKind] = []
    min_age: Annotated[int, Meta(ge=0, le=100)] = 0
    insurance_required: bool = False
    minors_in_groups_only: bool = False
    cancellation_window_hours: Annotated[int, Meta(ge=0, le=720)] = 24
    household_id: Id | None = None
    description: Text = ""
    confirm_hours_before: ConfirmHours | None = None


class SeriesView(msgspec.Struct, frozen=True):
    """A weekly rule and the ids of the shifts it generated."""

    series: SeriesRow
    shift_ids: list[int]


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


def blocking(reasons: list[str]) -> list[str]:
    """The reasons that stop a volunteer from taking the shift (not distance)."""
    return [r for r in reasons if r in BLOCKING_REASONS]


def _time_errors(starts_at: dt.datetime, ends_at: dt.datetime) -> dict[str, str]:
    day = dt.timedelta(hours=24)
    errors = horizon.span_errors(
        starts_at, ends_at, longest=day, too_long="A shift lasts at most 24 hours", to_come="starts_at"
    )
    return horizon.check(errors, starts_at=starts_at, ends_at=ends_at)


def _certificate_errors(kinds: list[str]) -> dict[str, str]:
    if any(k not in CERTIFICATE_KINDS for k in kinds):
        return {"required_certificates": "Choose certificates from the list"}
    return {}


async def _check_household(
    conn: asyncpg.Connection, household_id: int | None, organisation_id: int | None, committee_id: int | None
) -> None:
    if household_id is not None and not await shifts_sql.household_served(
        conn, household_id, organisation_id=organisation_id, committee_id=committee_id
    ):
        raise Invalid(
            "The household is not one you serve",
            fields={"household_id": "Choose a household of your committee, or of a need your organisation serves"},
        )


async def households_to_serve(conn: asyncpg.Connection, who: Identity) -> list[MaskedHousehold]:
    """The households the caller may name as a shift's beneficiary, with masked addresses (for the publish form)."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    rows = await shifts_sql.served_households(conn, organisation_id=organisation_id, committee_id=committee_id)
    return [household_access.masked(*row) for row in rows]


async def publish(conn: asyncpg.Connection, who: Identity, form: ShiftCreate) -> ShiftRow:
    """An organisation or a committee publishes a one-off shift."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    errors = _time_errors(form.starts_at, form.ends_at) | _certificate_errors(form.required_certificates)
    if errors:
        raise Invalid("The shift is not valid", fields=errors)
    async with conn.transaction():
        await _check_household(conn, form.household_id, organisation_id, committee_id)
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
            household_id=form.household_id,
            required_certificates=sorted(set(form.required_certificates)),
            minors_in_groups_only=form.minors_in_groups_only,
            confirm_hours_before=form.confirm_hours_before,
            handover_approval=form.handover_approval,
        )
        if shift_id is None:
            raise Forbidden("Only a verified organisation may publish shifts")
        await audit_log.record(conn, who, "shift.publish", "shift", shift_id)
        row = await shifts_sql.get_shift(conn, shift_id)
    assert row is not None
    return row


def occurrences(form: SeriesCreate) -> list[dt.date]:
    """The Shanghai dates a weekly rule makes shifts on (before dropping those already past)."""
    first = form.starts_at.astimezone(SHANGHAI).date()
    weekdays = set(form.weekdays) or {first.isoweekday()}
    skip = set(form.exceptions)
    assert form.until is not None
    days = (form.until - first).days
    return [
        d
        for d in (first + dt.timedelta(days=i) for i in range(days + 1))
        if d.isoweekday() in weekdays and d not in skip
    ]


async def publish_series(conn: asyncpg.Connection, who: Identity, form: SeriesCreate) -> SeriesView:
    """Publish a weekly rule and the shifts it makes; a rule must end, within a year."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    errors = _time_errors(form.starts_at, form.ends_at) | _certificate_errors(form.required_certificates)
    if "starts_at" in errors:
        # The rule's days are counted from its first shift (and a year-9999 start would overflow in Shanghai time).
        raise Invalid("The recurring shift is not valid", fields=errors)
    first = form.starts_at.astimezone(SHANGHAI)
    if form.until is None:
        errors["until"] = "A recurring shift needs an end date"
    elif form.until < first.date():
        errors["until"] = "The end date must not be before the first shift"
    elif (form.until - first.date()).days > SERIES_MAX_DAYS:
        errors["until"] = "A recurring shift runs for at most a year; publish it again after"
    horizon.check(errors, until=form.until)
    if errors:
        raise Invalid("The recurring shift is not valid", fields=errors)
    if not occurrences(form):
        raise Invalid(
            "The rule makes no shift",
            fields={"weekdays": "No day between the first shift and the end date matches the weekdays"},
        )
    assert form.until is not None
    minutes = int((form.ends_at - form.starts_at).total_seconds() // 60)
    if minutes < 15:
        raise Invalid("The recurring shift is not valid", fields={"ends_at": "A shift lasts at least 15 minutes"})
    async with conn.transaction():
        await _check_household(conn, form.household_id, organisation_id, committee_id)
        series_id = await series_sql.insert_series(
            conn,
            organisation_id=organisation_id,
            committee_id=committee_id,
            household_id=form.household_id,
            title=form.title.strip(),
            description=form.description,
            place_name=form.place_name.strip(),
            lat=form.lat,
            lon=form.lon,
            weekdays=sorted(set(form.weekdays) or {first.isoweekday()}),
            starts=first.time().replace(tzinfo=None),
            minutes=minutes,
            from_date=first.date(),
            until_date=form.until,
            exceptions=sorted(set(form.exceptions)),
            headcount=form.headcount,
            required_skills=sorted(set(form.required_skills)),
            required_certificates=sorted(set(form.required_certificates)),
            min_age=form.min_age,
            insurance_required=form.insurance_required,
            minors_in_groups_only=form.minors_in_groups_only,
            cancellation_window_hours=form.cancellation_window_hours,
            created_by=who.account_id,
            confirm_hours_before=form.confirm_hours_before,
        )
        if series_id is None:
            raise Forbidden("Only a verified organisation may publish shifts")
        created = await series_sql.generate_shifts(conn, series_id)
        await audit_log.record(
            conn, who, "shift_series.publish", "shift_series", series_id, detail={"shifts": len(created)}
        )
    return await get_series(conn, who, series_id)


async def get_series(conn: asyncpg.Connection, who: Identity, series_id: int) -> SeriesView:
    """One of the caller's weekly rules with its shifts."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    row = found(
        await series_sql.get_series(conn, series_id, organisation_id=organisation_id, committee_id=committee_id),
        "No such recurring shift",
    )
    return SeriesView(series=row, shift_ids=await series_sql.shift_ids(conn, series_id))


async def series_shifts(conn: asyncpg.Connection, who: Identity, series_id: int) -> tuple[SeriesRow, list[ShiftRow]]:
    """One of the caller's weekly rules with its shifts in full."""
    view = await get_series(conn, who, series_id)
    return view.series, await shifts_sql.list_series_shifts(conn, series_id)


async def published_series(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[SeriesView]:
    """The caller's weekly rules, the latest first, each with its shifts' ids."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    rows = await series_sql.list_published(
        conn, organisation_id=organisation_id, committee_id=committee_id, limit=limit, offset=offset
    )
    return [SeriesView(series=r, shift_ids=await series_sql.shift_ids(conn, r.id)) for r in rows]


async def skip_date(conn: asyncpg.Connection, who: Identity, series_id: int, day: dt.date) -> SeriesView:
    """Add an exception date to a weekly rule: that day's shift is called off with its sign-ups."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    async with conn.transaction():
        found(
            await series_sql.get_series(conn, series_id, organisation_id=organisation_id, committee_id=committee_id),
            "No such recurring shift",
        )
        if not await series_sql.add_exception(conn, series_id, day):
            raise Invalid(
                "The date cannot be skipped",
                fields={"date": "Choose a date of the rule that is not skipped yet"},
            )
        for shift_id in await series_sql.call_off_occurrence(conn, series_id, day):
            await called_off(conn, who, shift_id, series_id=series_id)
    return await get_series(conn, who, series_id)


async def called_off(conn: asyncpg.Connection, who: Identity, shift_id: int, **detail: int) -> None:
    """After a shift is marked cancelled (in the caller's transaction): end its sign-ups, tell those volunteers,
    and write the audit entry (`detail` says why, e.g. the rule or the household)."""
    cancelled = await series_sql.cancel_signups(conn, shift_id)
    # In this transaction: everyone who held or awaited a place hears that the shift is called off.
    for volunteer_id, account_id in cancelled:
        if account_id is not None:
            await notifications.enqueue(
                conn,
                account_id=account_id,
                kind="shift_cancelled",
                dedupe_key=f"shift_cancelled:shift:{shift_id}:volunteer:{volunteer_id}",
                shift_id=shift_id,
            )
    await audit_log.record(
        conn, who, "shift.called_off", "shift", shift_id, detail={**detail, "signups_cancelled": len(cancelled)}
    )


async def get_shift(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftRow:
    """One shift with its headcount and places taken."""
    row = found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
    return row


async def view_for_volunteer(conn: asyncpg.Connection, who: Identity, shift_id: int) -> ShiftForVolunteer | None:
    """The shift as the calling volunteer sees it (reasons, own status); None for other roles."""
    if who.volunteer_id is None:
        await get_shift(conn, who, shift_id)
        return None
    view = found(await shifts_sql.get_shift_for_volunteer(conn, shift_id, who.volunteer_id), "No such shift")
    return view


async def browse(
    conn: asyncpg.Connection, who: Identity, *, eligible_only: bool, limit: int, offset: int
) -> list[ShiftForVolunteer]:
    """Open shifts for the calling volunteer, the ones they may take first, each saying why not otherwise."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    return await shifts_sql.list_for_volunteer(
        conn, volunteer_id, eligible_only=eligible_only, limit=limit, offset=offset
    )


async def my_shifts(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[ShiftForVolunteer]:
    """The shifts the calling volunteer signed up for, latest first."""
    return await shifts_sql.list_mine(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS), limit=limit, offset=offset)


async def published(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[ShiftRow]:
    """The shifts the caller's organisation or committee published."""
    if who.organisation_id is None and who.committee_id is None:
        raise Forbidden("Only an organisation or a residents' committee may publish shifts")
    return await shifts_sql.list_published(
        conn, organisation_id=who.organisation_id, committee_id=who.committee_id, limit=limit, offset=offset
    )


def _closed_or_full_at(shift: ShiftRow | ShiftGlance) -> SignupRefused | None:
    """Closed or full as the shift's row says; None when it is open with a place left."""
    if shift.status != "open" or shift.starts_at <= dt.datetime.now(dt.UTC):
        return SignupRefused("closed", "This shift is closed to sign-ups")
    if shift.taken < shift.headcount:
        return None
    return SignupRefused("full", "This shift is full; you can join its waitlist")


def _closed_or_full(shift: ShiftRow) -> SignupRefused:
    # Open with a place left, yet the guarded statement refused: a credential lapsed or was revoked meanwhile.
    return _closed_or_full_at(shift) or SignupRefused("not-eligible", "You are not eligible for this shift")


def _constraint_refusal(exc: asyncpg.IntegrityConstraintViolationError) -> SignupRefused:
    if isinstance(exc, asyncpg.ExclusionViolationError):
        return SignupRefused("overlap", OVERLAP)
    if isinstance(exc, asyncpg.UniqueViolationError):
        return SignupRefused("already", "You are already signed up for this shift")
    # shifts_taken_within_headcount: the guard in the statement should have stopped it first.
    return SignupRefused("full", "This shift is full; you can join its waitlist")


async def _eligible_view(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> ShiftForVolunteer:
    view = found(await shifts_sql.get_shift_for_volunteer(conn, shift_id, volunteer_id), "No such shift")
    if view.my_status in ("active", "waitlisted"):
        raise SignupRefused("already", "You are already signed up for this shift")
    if "overlap" in view.reasons:
        # Waiting for several alternatives is fine, but not beside a place held at the same time.
        raise SignupRefused("overlap", OVERLAP, fields={"overlap": REASON_MESSAGES["overlap"]})
    if reasons := blocking(view.reasons):
        raise SignupRefused(
            "not-eligible",
            "You are not eligible for this shift",
            fields={r: REASON_MESSAGES[r] for r in reasons},
        )
    return view


@contextlib.asynccontextmanager
async def _signing_up(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """One transaction taking or awaiting a place; what the schema refuses is answered as a refusal."""
    try:
        async with conn.transaction():
            yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise _constraint_refusal(exc) from exc
    except asyncpg.TransactionRollbackError as exc:
        # Two sign-ups of one person for overlapping shifts at the same instant can each wait on the other's
        # exclusion check; PostgreSQL breaks the tie by failing one, which is a refusal, not a server error.
        raise SignupRefused("busy", "Many people are signing up right now; please try again") from exc


async def _signed_up(conn: asyncpg.Connection, who: Identity, action: str, shift_id: int, signup_id: int) -> ShiftRow:
    """Audit a place taken or awaited; the shift as it now stands."""
    await audit_log.record(conn, who, action, "shift", shift_id, detail={"signup_id": signup_id})
    return found(await shifts_sql.get_shift(conn, shift_id), "No such shift")


async def sign_up(conn: asyncpg.Connection, who: Identity, shift_id: int) -> SignupOutcome:
    """Take a place on a shift, or be told why not (409): signed up already, closed, full, overlapping, not
    eligible — in that order."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with _signing_up(conn):
        # What the shift's row says alone is refused before any eligibility rule runs: a full shift (the hot race's
        # 995 of 1,000) costs the volunteer's lock and a glance at one row, and says "full" whatever else holds.
        glance = found(await shifts_sql.lock_volunteer_at_shift(conn, volunteer_id, shift_id), "No such shift")
        if glance.already:
            raise SignupRefused("already", "You are already signed up for this shift")
        if refusal := _closed_or_full_at(glance):
            raise refusal
        # The guarded statement checks every blocking reason itself and writes the audit entry; the reasons are
        # worked out for the answer only when it refuses.
        taken = await shifts_sql.pick_up(
            conn, shift_id, volunteer_id, blocking=list(BLOCKING_REASONS), actor_account_id=who.account_id
        )
        if taken is None:
            await _eligible_view(conn, shift_id, volunteer_id)
            raise _closed_or_full(found(await shifts_sql.get_shift(conn, shift_id), "No such shift"))
    signup_id, shift = taken
    return SignupOutcome(signup_id=signup_id, status="active", shift=shift)


async def join_waitlist(conn: asyncpg.Connection, who: Identity, shift_id: int) -> SignupOutcome:
    """Wait for a place on a full shift; the first eligible person waiting gets a freed place."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with _signing_up(conn):
        await _eligible_view(conn, shift_id, volunteer_id)
        shift = found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
        refusal = _closed_or_full(shift)
        if refusal.reason == "closed":
            raise refusal
        if shift.taken < shift.headcount:
            raise SignupRefused("has-places", "This shift still has places; sign up instead")
        signup_id = await shifts_sql.join_waitlist(conn, shift_id, volunteer_id)
        if signup_id is None:
            raise SignupRefused("closed", "This shift is closed to sign-ups")
        shift = await _signed_up(conn, who, "shift.waitlist", shift_id, signup_id)
    return SignupOutcome(signup_id=signup_id, status="waitlisted", shift=shift)


class _NoPlace(Exception):
    """Rolls back a promotion's savepoint when the place was gone after all."""


async def promote_next(conn: asyncpg.Connection, shift_id: int) -> int | None:
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


def free_cancellation_until(shift: ShiftRow) -> dt.datetime:
    """Until when a place can be given up without it counting as a late cancellation (the rule CANCEL_ACTIVE holds)."""
    return shift.starts_at - dt.timedelta(hours=shift.cancellation_window_hours)


async def cancel(conn: asyncpg.Connection, who: Identity, shift_id: int) -> CancelOutcome:
    """Give up a place (or leave the waitlist); before the window the next person waiting gets it."""
    return await cancel_place(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS), who.account_id, shift_id)


async def cancel_place(
    conn: asyncpg.Connection, volunteer_id: int, account_id: int | None, shift_id: int
) -> CancelOutcome:
    """The cancellation itself, for the signed-in volunteer or the holder of a sign-up's confirm link."""
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
                promoted = await promote_next(conn, shift_id)
            # In this transaction: the publisher hears of the cancellation, the promoted person of their place.
            await notifications.signup_cancelled(
                conn,
                shift_id=shift_id,
                signup_id=signup_id,
                late=status == "late_cancelled",
                promoted_volunteer_id=promoted,
            )
        else:
            waiting = found(
                await shifts_sql.leave_waitlist(conn, shift_id, volunteer_id), "You hold no place on this shift"
            )
            signup_id, status = waiting
        await audit.append(
            conn,
            actor_account_id=account_id,
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
