"""Use cases for a volunteer's own profile: details, certificates, weekly availability and its exceptions,
consent to process sensitive data, and the secret calendar feed of their shifts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import uuid
from typing import Annotated, Any

import asyncpg
import icalendar
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services import calendar as calendar_service
from api.services.accounts import Identity
from api.services.errors import Invalid, NotFound, found
from api.services.horizon import span_errors
from api.services.types import NO_NUL, SHANGHAI, Id, Name, Phone, today
from sql import shifts as shifts_sql
from sql import verification as verification_sql
from sql import volunteers as volunteers_sql
from sql.verification import ClaimRow
from sql.volunteers import CertificateRow, ExceptionRow, VolunteerRow, WindowRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_VOLUNTEERS = "Only volunteers have a volunteer profile"

# Certificates a volunteer can record and a shift can require (code → what it is, in English msgids).
CERTIFICATE_KINDS = {
    "elderly_carer": "Elderly-care worker certificate",
    "first_aid": "First-aid certificate",
    "health": "Health certificate",
    "nurse": "Nurse's practising certificate",
    "social_worker": "Social worker qualification",
    "driving_licence": "Driving licence",
}
AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]
Skill = Annotated[str, Meta(pattern=r"^[a-z_]{2,40}$")]
CertificateKind = Annotated[str, Meta(pattern=r"^[a-z0-9_]{2,40}$")]
Word = Annotated[str, Meta(min_length=1, max_length=20, pattern=r"^[^\x00,，、;；]*[^\x00\s,，、;；][^\x00,，、;；]*$")]
WallTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
CALENDAR_TOKEN = re.compile(r"^([1-9][0-9]{0,18})-([A-Za-z0-9_-]{20,64})$")


class ProfileUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The editable profile, sent whole; the home point moves to the new committee unless lat/lon are given."""

    display_name: Name
    home_area_id: Id
    birth_year: Annotated[int, Meta(ge=1920, le=2026)]
    phone: Phone = ""
    birth_date: dt.date | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    travel_km: Annotated[float, Meta(gt=0, le=100)] = 5.0
    weekly_hour_cap: Annotated[int, Meta(ge=0, le=60)] = 8
    skills: Annotated[list[Skill], Meta(max_length=30)] = []
    languages: Annotated[list[Word], Meta(max_length=20)] = []
    dialects: Annotated[list[Word], Meta(max_length=20)] = []
    insured_until: dt.date | None = None
    guardian_consent: bool = False
    guardian_name: Annotated[str, Meta(max_length=200, pattern=NO_NUL)] = ""


class ConsentUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Consent to process sensitive personal data, given or withdrawn on its own."""

    sensitive_data: bool


class CertificateUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A certificate's number and dates (no expiry date: it does not expire)."""

    number: Annotated[str, Meta(max_length=60, pattern=NO_NUL)] = ""
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A weekly window in Beijing time: weekday 1 (Monday) to 7, from HH:MM to HH:MM (at most 23:59) that day."""

    weekday: Annotated[int, Meta(ge=1, le=7)]
    starts: WallTime
    ends: WallTime


class AvailabilityUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every weekly window, replacing the ones on file."""

    windows: Annotated[list[Window], Meta(max_length=50)]


class ExceptionCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A one-off change: away (available false) or an extra time (available true); times with their offset."""

    starts_at: AwareDateTime
    ends_at: AwareDateTime
    available: bool = False


class Certificate(msgspec.Struct, frozen=True):
    """A certificate with whether it is valid today."""

    row: CertificateRow
    valid_today: bool


class Profile(msgspec.Struct, frozen=True):
    """Everything on a volunteer's profile page."""

    volunteer: VolunteerRow
    age: int
    certificates: list[Certificate]
    windows: list[WindowRow]
    exceptions: list[ExceptionRow]
    # Each declared certificate, the insurance and the date of birth with its state: only verified ones count.
    claims: list[ClaimRow] = []


def age_on(day: dt.date, birth_year: int, birth_date: dt.date | None) -> int:
    """Age in whole years on a day: to the day with a birth date, else by birth year."""
    if birth_date is None:
        return day.year - birth_year
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


async def _audit_own(
    conn: asyncpg.Connection, who: Identity, volunteer_id: int, action: str, detail: dict[str, Any] | None = None
) -> None:
    """Audit a change volunteers make to their own record: they are the actor, their record the object."""
    await audit_log.record(conn, who, action, "volunteer", volunteer_id, detail=detail)


async def profile(conn: asyncpg.Connection, who: Identity) -> Profile:
    """The calling volunteer's profile with certificates, weekly windows and exceptions to come."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    row = found(await volunteers_sql.get_volunteer(conn, volunteer_id), "No such volunteer")
    day = today()
    certificates = [
        Certificate(
            row=c,
            valid_today=(c.issued_on is None or c.issued_on <= day) and (c.expires_on is None or c.expires_on >= day),
        )
        for c in await volunteers_sql.list_certificates(conn, volunteer_id)
    ]
    return Profile(
        volunteer=row,
        age=age_on(day, row.birth_year, row.birth_date),
        certificates=certificates,
        windows=await volunteers_sql.list_windows(conn, volunteer_id),
        exceptions=await volunteers_sql.list_exceptions(conn, volunteer_id),
        claims=await verification_sql.claims(conn, volunteer_id),
    )


def _clean_list(items: list[str]) -> list[str]:
    return sorted({i.strip() for i in items if i.strip()})


async def update_profile(conn: asyncpg.Connection, who: Identity, form: ProfileUpdate) -> Profile:
    """Replace the editable profile (age rules as at registration: 10 or over; under 14 with a guardian)."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    errors: dict[str, str] = {}
    day = today()
    if form.birth_date is not None and form.birth_date.year != form.birth_year:
        errors["birth_date"] = "The birth date must be in the birth year"
    age = age_on(day, form.birth_year, form.birth_date)
    if form.birth_date is not None and form.birth_date > day:
        errors["birth_date"] = "The birth date cannot be in the future"
    elif age < 10:
        errors["birth_year"] = "Children under 10 cannot volunteer"
    guardian_name = form.guardian_name.strip() or None
    if 10 <= age < 14 and not form.guardian_consent:
        errors["guardian_consent"] = "Under 14, a guardian's consent is required"
    if form.guardian_consent and guardian_name is None:
        errors["guardian_name"] = "Give the name of the guardian who consented"
    if (form.lat is None) != (form.lon is None):
        errors["lat"] = "Give both latitude and longitude, or neither"
    if errors:
        raise Invalid("The profile is not valid", fields=errors)
    async with conn.transaction():
        values = volunteers_sql.ProfileFields(
            display_name=form.display_name.strip(),
            birth_year=form.birth_year,
            phone=form.phone,
            home_area_id=form.home_area_id,
            travel_km=form.travel_km,
            weekly_hour_cap=form.weekly_hour_cap,
            skills=_clean_list(form.skills),
            languages=_clean_list(form.languages),
            guardian_consent=form.guardian_consent,
            guardian_name=guardian_name if form.guardian_consent else None,
            lat=form.lat,
            lon=form.lon,
            dialects=_clean_list(form.dialects),
            birth_date=form.birth_date,
            insured_until=form.insured_until,
        )
        updated = await volunteers_sql.update_profile(conn, volunteer_id, values)
        if not updated:
            raise Invalid(
                "Choose the residents' committee you live in",
                fields={"home_area_id": "Choose the residents' committee you live in"},
            )
        await _audit_own(conn, who, volunteer_id, "volunteer.profile")
    return await profile(conn, who)


async def set_consent(conn: asyncpg.Connection, who: Identity, form: ConsentUpdate) -> Profile:
    """Give or withdraw consent to process sensitive data, recorded apart from the profile and audited."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        await volunteers_sql.set_sensitive_consent(conn, volunteer_id, form.sensitive_data)
        await _audit_own(
            conn, who, volunteer_id, "volunteer.consent_given" if form.sensitive_data else "volunteer.consent_withdrawn"
        )
    return await profile(conn, who)


async def put_certificate(conn: asyncpg.Connection, who: Identity, kind: str, form: CertificateUpdate) -> Profile:
    """Record (or renew) a certificate of a kind from the list."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    errors: dict[str, str] = {}
    if kind not in CERTIFICATE_KINDS:
        errors["kind"] = "Choose a certificate from the list"
    if form.expires_on is not None and form.issued_on is not None and form.expires_on < form.issued_on:
        errors["expires_on"] = "The expiry date must be after the date of issue"
    if form.issued_on is not None and form.issued_on > today():
        errors["issued_on"] = "The date of issue cannot be in the future"
    if errors:
        raise Invalid("The certificate is not valid", fields=errors)
    async with conn.transaction():
        certificate_id = await volunteers_sql.upsert_certificate(
            conn,
            volunteer_id,
            kind=kind,
            number=form.number.strip(),
            issued_on=form.issued_on,
            expires_on=form.expires_on,
        )
        await _audit_own(
            conn, who, volunteer_id, "volunteer.certificate", {"kind": kind, "certificate_id": certificate_id}
        )
    return await profile(conn, who)


async def remove_certificate(conn: asyncpg.Connection, who: Identity, kind: str) -> Profile:
    """Remove one's certificate of a kind."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    if kind not in CERTIFICATE_KINDS:
        raise NotFound("You have no certificate of this kind")
    async with conn.transaction():
        if not await volunteers_sql.delete_certificate(conn, volunteer_id, kind):
            raise NotFound("You have no certificate of this kind")
        await _audit_own(conn, who, volunteer_id, "volunteer.certificate_removed", {"kind": kind})
    return await profile(conn, who)


async def set_availability(conn: asyncpg.Connection, who: Identity, form: AvailabilityUpdate) -> Profile:
    """Replace the weekly windows; windows must end after they start and not overlap on a day."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    errors: dict[str, str] = {}
    windows: list[tuple[int, dt.time, dt.time]] = []
    for n, window in enumerate(form.windows):
        starts, ends = dt.time.fromisoformat(window.starts), dt.time.fromisoformat(window.ends)
        if ends <= starts:
            errors[f"windows[{n}]"] = "A window must end after it starts, on the same day"
            continue
        for other_day, other_starts, other_ends in windows:
            if other_day == window.weekday and starts < other_ends and other_starts < ends:
                errors[f"windows[{n}]"] = "Windows on the same day must not overlap"
        windows.append((window.weekday, starts, ends))
    if errors:
        raise Invalid("The availability is not valid", fields=errors)
    async with conn.transaction():
        await volunteers_sql.replace_windows(conn, volunteer_id, sorted(windows))
        await _audit_own(conn, who, volunteer_id, "volunteer.availability", {"windows": len(windows)})
    return await profile(conn, who)


async def add_exception(conn: asyncpg.Connection, who: Identity, form: ExceptionCreate) -> Profile:
    """Mark a time as away, or add an extra available time, outside the weekly pattern."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    year = dt.timedelta(days=366)
    too_long = "An exception lasts at most a year"
    if errors := span_errors(form.starts_at, form.ends_at, longest=year, too_long=too_long, to_come="ends_at"):
        raise Invalid("The exception is not valid", fields=errors)
    async with conn.transaction():
        await volunteers_sql.insert_exception(
            conn, volunteer_id, starts_at=form.starts_at, ends_at=form.ends_at, available=form.available
        )
        await _audit_own(conn, who, volunteer_id, "volunteer.availability_exception")
    return await profile(conn, who)


async def remove_exception(conn: asyncpg.Connection, who: Identity, exception_id: int) -> Profile:
    """Remove one of one's exceptions."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        if not await volunteers_sql.delete_exception(conn, volunteer_id, exception_id):
            raise NotFound("No such exception")
        await _audit_own(conn, who, volunteer_id, "volunteer.availability_exception_removed")
    return await profile(conn, who)


# The calendar feed ------------------------------------------------------------------------------------------


def _token(secret_key: str, volunteer_id: int, key: uuid.UUID) -> str:
    digest = hmac.new(secret_key.encode(), f"calendar:{volunteer_id}:{key}".encode(), hashlib.sha256).digest()
    return f"{volunteer_id}-{base64.urlsafe_b64encode(digest[:24]).decode().rstrip('=')}"


def feed_path(token: str) -> str:
    """The feed's path on this site (the token is the only credential it needs)."""
    return f"/ical/{token}/shifts.ics"


async def calendar_token(conn: asyncpg.Connection, who: Identity, secret_key: str) -> str:
    """The calling volunteer's current feed token."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    key = found(await volunteers_sql.calendar_key(conn, volunteer_id), "No such volunteer")
    return _token(secret_key, volunteer_id, key)


async def renew_calendar_token(conn: asyncpg.Connection, who: Identity, secret_key: str) -> str:
    """A new feed token; calendars subscribed with the old URL stop receiving shifts."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        key = await volunteers_sql.renew_calendar_key(conn, volunteer_id)
        await _audit_own(conn, who, volunteer_id, "volunteer.calendar_token_renewed")
    return _token(secret_key, volunteer_id, key)


async def calendar_feed(conn: asyncpg.Connection, token: str, secret_key: str, *, site: str = "") -> bytes:
    """The iCalendar document of the shifts a token's volunteer holds or waits for and their 311 team visits
    (Asia/Shanghai times).

    A wrong or renewed token is NotFound, whatever was wrong with it.
    """
    match = found(CALENDAR_TOKEN.match(token), "No such calendar")
    volunteer_id = int(match.group(1))
    if volunteer_id > 2**62:
        raise NotFound("No such calendar")
    key = await volunteers_sql.calendar_key(conn, volunteer_id)
    if key is None or not hmac.compare_digest(_token(secret_key, volunteer_id, key), token):
        raise NotFound("No such calendar")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Linli//volunteer shifts//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "邻里志愿服务班次")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    now = dt.datetime.now(dt.UTC)
    for shift, status in await shifts_sql.calendar(conn, volunteer_id):
        event = icalendar.Event()
        # Stable per shift and volunteer, so a calendar app updates the event instead of adding another.
        event.add("uid", f"shift-{shift.id}-v{volunteer_id}@linli")
        event.add("dtstamp", now)
        event.add("dtstart", shift.starts_at.astimezone(SHANGHAI))
        event.add("dtend", shift.ends_at.astimezone(SHANGHAI))
        if shift.status == "cancelled":
            summary = f"（已取消）{shift.title}"
        elif status == "waitlisted":
            summary = f"（候补）{shift.title}"
        else:
            summary = shift.title
        event.add("summary", summary)
        # The place's name only: an elder's address is never put into a feed that travels without a session.
        event.add("location", shift.place_name)
        event.add("description", f"{shift.publisher_name}；名额 {shift.taken}/{shift.headcount}")
        event.add(
            "status",
            "CANCELLED" if shift.status == "cancelled" else "TENTATIVE" if status == "waitlisted" else "CONFIRMED",
        )
        if site:
            event.add("url", f"{site.rstrip('/')}/shifts/{shift.id}")
        cal.add_component(event)
    # The 311 team visits in the volunteer's calendar (api.services.calendar), so the feed holds every commitment.
    for entry in await calendar_service.entries(conn, volunteer_id, now=now):
        if entry.kind not in ("team_visit", "care_visit") or entry.household is None:
            continue
        event = icalendar.Event()
        what = f"team-visit-{entry.team_id}" if entry.kind == "team_visit" else "care-visit"
        event.add("uid", f"{what}-{int(entry.starts_at.timestamp())}-v{volunteer_id}@linli")
        event.add("dtstamp", now)
        event.add("dtstart", entry.starts_at.astimezone(SHANGHAI))
        event.add("dtend", entry.ends_at.astimezone(SHANGHAI))
        event.add("summary", "311小组探访" if entry.kind == "team_visit" else "上门护理")
        # The committee only: not even the masked address travels in the feed.
        event.add("location", entry.household.committee_name)
        event.add("description", entry.publisher_name)
        event.add("status", "CONFIRMED")
        if site:
            page = f"teams/{entry.team_id}" if entry.kind == "team_visit" else f"visits/today?day={entry.day}"
            event.add("url", f"{site.rstrip('/')}/{page}")
        cal.add_component(event)
    cal.add_missing_timezones()
    document: bytes = cal.to_ical()
    return document
