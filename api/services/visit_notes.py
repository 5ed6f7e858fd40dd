"""Visit notes, incidents and the elder's voice (issue 15, item 4; docs/teams-and-household-data.md, "Rules: visit
notes, incidents and ratings").

A visit is a 311 team's recorded contact (`team_visit_id`) or a shift serving a household (`shift_id`: a respite
visit when a respite request is served by it, otherwise a home-care visit). Only the carer who did it — the member
who recorded the contact, or a holder of a place on the shift — notes it or raises an incident on it, from its start
until `note_days` after its end. Notes and incidents are elders' data: household_access decides who reads them (the
household's committee, the organisation holding its contract, the carers linked to it now), each read is audited with
its basis, and audit entries hold ids only. An incident reaches the household's committee in the transaction that
records it. A visit is rated once, by its one-use link or by committee staff on the household's behalf.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
import structlog
from msgspec import Meta

from api.security import new_token, token_hash
from api.services import audit_log, household_access, notifications
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.needs import mask_address
from api.services.types import NO_NUL, SHANGHAI
from sql import audit
from sql import household_access as access_sql
from sql import visit_notes as visits_sql
from sql.visit_notes import (
    CommitteeIncidentFigures,
    HouseholdIncidentRow,
    HouseholdRatingRow,
    IncidentRow,
    IncidentSummaryRow,
    LinkRow,
    MyVisitRow,
    NoteRow,
    RatingRow,
    UnratedVisitRow,
    VisitFigures,
    VisitRow,
)

log = structlog.get_logger("linli.visit_notes")

Signal = Literal["fall", "not_eating", "confusion", "medication", "pain", "low_spirits", "home_safety"]
NeedRaised = Literal["meals", "housework", "medical", "shopping", "repairs", "companionship", "paperwork"]
IncidentKind = Literal["fall", "injury", "illness", "neglect", "home_hazard", "conflict", "other"]
Severity = Literal["low", "medium", "high"]
SIGNALS: tuple[Signal, ...] = ("fall", "not_eating", "confusion", "medication", "pain", "low_spirits", "home_safety")
NEEDS: tuple[NeedRaised, ...] = ("meals", "housework", "medical", "shopping", "repairs", "companionship", "paperwork")
INCIDENT_KINDS: tuple[IncidentKind, ...] = ("fall", "injury", "illness", "neglect", "home_hazard", "conflict", "other")
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")
# A phone or video call is a contact, not a visit to the home: its note tells what one hears (mood, health, needs),
# never the home's safety, and the household is not asked to rate it (migration 0042 holds both).
CALLS = ("phone", "video")
CALL_SIGNALS: tuple[Signal, ...] = tuple(s for s in SIGNALS if s != "home_safety")
# What the performance figures and the committee's dashboard look back over.
FIGURES_DAYS = 365
# How far back the carer's and the committee's lists of visits reach.
RECENT_DAYS = 14
SMS_BATCH = 50

ShortText = Annotated[str, Meta(max_length=200, pattern=NO_NUL)]
Remarks = Annotated[str, Meta(max_length=2000, pattern=NO_NUL)]
Comment = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]
Told = Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
VisitId = Annotated[int, Meta(ge=1, le=2**62)]
Score = Annotated[int, Meta(ge=1, le=5)]

_NO_VISIT = "No such visit of yours"
_NO_INCIDENT = "No such incident"
_ONLY_COMMITTEE = "Only the household's residents' committee deals with its incidents"


class VisitRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Which visit: a 311 team's contact or a shift serving a household (exactly one)."""

    team_visit_id: VisitId | None = None
    shift_id: VisitId | None = None


class NoteForm(VisitRef, frozen=True, forbid_unknown_fields=True):
    """The carer's notes on a visit they did: mood 1 (very low) to 5 (very good), signals seen, needs raised."""

    mood: Score
    signals: Annotated[list[Signal], Meta(max_length=7)] = []
    needs: Annotated[list[NeedRaised], Meta(max_length=7)] = []
    needs_other: ShortText = ""
    remarks: Remarks = ""


class IncidentForm(VisitRef, frozen=True, forbid_unknown_fields=True):
    """An incident on a visit the carer did: what kind, how grave, what happened."""

    kind: IncidentKind
    severity: Severity
    what_happened: Told


class CloseForm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the committee did about the incident."""

    action_taken: Told


class RatingForm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The elder's or family's rating of a visit: 1 (very poor) to 5 (very good), and a comment."""

    score: Score
    comment: Comment = ""


class StaffRatingForm(VisitRef, frozen=True, forbid_unknown_fields=True):
    """Committee staff enter a visit's rating on the household's behalf (recorded as such)."""

    score: Score
    comment: Comment = ""


class NotesPage(msgspec.Struct, frozen=True):
    """A household's visit notes for an entitled reader, and the basis of their access."""

    basis: str
    notes: list[NoteRow]


class CommitteeBoard(msgspec.Struct, frozen=True):
    """The committee's dashboard block: its live and overdue incidents, and its households' ratings."""

    incidents: CommitteeIncidentFigures
    figures: VisitFigures


def _ref(form: VisitRef) -> tuple[int | None, int | None]:
    if (form.team_visit_id is None) == (form.shift_id is None):
        raise Invalid(
            "Name the visit: a team visit or a shift, not both",
            fields={"team_visit_id": "Give either team_visit_id or shift_id"},
        )
    return form.team_visit_id, form.shift_id


async def carers_visit(conn: asyncpg.Connection, who: Identity, form: VisitRef, *, note_days: int) -> VisitRow:
    """The visit the calling carer did, while it may still be noted; 404 when it is not theirs, 409 out of time."""
    volunteer_id = who.volunteer_id_or_refuse("Only the carer who did the visit may note it")
    team_visit_id, shift_id = _ref(form)
    visit = await visits_sql.visit(conn, team_visit_id=team_visit_id, shift_id=shift_id)
    # Someone who did not do the visit learns nothing about it, not even that it exists.
    if visit is None or volunteer_id not in visit.carers or visit.archived:
        raise NotFound(_NO_VISIT)
    now = dt.datetime.now(dt.UTC)
    if visit.starts_at > now:
        raise Conflict("A visit is noted once it has begun", starts_at=visit.starts_at)
    if visit.ends_at + dt.timedelta(days=note_days) < now:
        raise Conflict("This visit is too long ago to note", days=note_days)
    return visit


async def record_note(
    conn: asyncpg.Connection, who: Identity, form: NoteForm, *, note_days: int, link_days: int
) -> NoteRow:
    """The carer records their notes on a visit they did; the household's rating link is made (and goes out by SMS
    when the household has a phone), except for a phone or video call, which is not rated."""
    visit = await carers_visit(conn, who, form, note_days=note_days)
    call = visit.contact_kind in CALLS
    if call and "home_safety" in form.signals:
        raise Invalid(
            "A call's note has no home-safety signal",
            fields={"signals": "Home safety is noted on a visit to the home, not on a call"},
        )
    async with conn.transaction():
        note = await visits_sql.insert_note(
            conn, visit, volunteer_id=who.volunteer_id or 0, mood=form.mood, signals=sorted(set(form.signals)),
            needs=sorted(set(form.needs)), needs_other=form.needs_other.strip(), remarks=form.remarks.strip(),
        )  # fmt: skip
        if note is None:
            raise Conflict("You have noted this visit already")
        link_id = None
        if not call:
            token = new_token()
            link_id = await visits_sql.insert_link(
                conn, visit, token=token, token_hash=token_hash(token), days=link_days
            )
        # Ids and the fixed-list answers' counts only: never what the note says.
        await audit_log.record(
            conn, who, "visit_note.recorded", "household", visit.household_id,
            detail={"note_id": note.id, "visit_kind": visit.visit_kind, "team_visit_id": visit.team_visit_id,
                    "shift_id": visit.shift_id, "rating_link_id": link_id},
        )  # fmt: skip
    return note


async def _may_read(conn: asyncpg.Connection, who: Identity, household_id: int) -> household_access.Access:
    """The elders'-data rule for notes and incidents: household_access's decision, and a volunteer's consent."""
    access = await household_access.decide(conn, who, household_id)
    if not access.allowed:
        raise NotFound("No such household")
    if who.role == "volunteer" and not await access_sql.has_consent(conn, who.volunteer_id or 0):
        raise Forbidden("Consent to the processing of personal data on your profile before you open a household's file")
    return access


def _basis(access: household_access.Access) -> dict[str, Any]:
    detail: dict[str, Any] = {"basis": access.basis}
    for key in ("shift_id", "team_id", "contract_id"):
        if getattr(access, key) is not None:
            detail[key] = getattr(access, key)
    return detail


async def household_notes(
    conn: asyncpg.Connection, who: Identity, household_id: int, *, limit: int, offset: int
) -> NotesPage:
    """A household's visit notes for its committee, its contract's organisation or a carer linked to it now (404
    otherwise); the read is audited with its basis and the notes' ids."""
    access = await _may_read(conn, who, household_id)
    notes = await visits_sql.household_notes(conn, household_id, limit=limit, offset=offset)
    async with conn.transaction():
        await audit_log.record(
            conn, who, "visit_notes.viewed", "household", household_id,
            detail={**_basis(access), "note_ids": [n.id for n in notes]},
        )  # fmt: skip
    return NotesPage(basis=access.basis or "", notes=notes)


class HouseholdRecord(msgspec.Struct, frozen=True):
    """A household's visit record for an entitled reader: a page of its notes, and its latest incidents (state, no
    text) and ratings (the ratings for staff only)."""

    basis: str
    notes: list[NoteRow]
    more_notes: bool
    incidents: list[HouseholdIncidentRow]
    ratings: list[HouseholdRatingRow]
    ratings_shown: bool


# The household's page shows this many of each; its notes page pages through the notes this many at a time.
RECORD_LATEST = 5
NOTES_PAGE = 20


async def household_record(
    conn: asyncpg.Connection, who: Identity, household_id: int, *, limit: int, offset: int = 0, notes_only: bool = False
) -> HouseholdRecord:
    """A household's notes (a page of them), latest incidents and ratings for those who may read its file (404
    otherwise); one audit entry names the basis and every id read. A carer sees no ratings: they are the household's
    judgement of its carers, given to the committee, and an elder speaks more freely when the carer does not read it."""
    access = await _may_read(conn, who, household_id)
    notes = await visits_sql.household_notes(conn, household_id, limit=limit + 1, offset=offset)
    incidents = [] if notes_only else await visits_sql.household_incidents(conn, household_id, limit=RECORD_LATEST * 2)
    ratings_shown = who.role in ("committee", "organisation") and not notes_only
    ratings = await visits_sql.household_ratings(conn, household_id, limit=RECORD_LATEST * 2) if ratings_shown else []
    async with conn.transaction():
        await audit_log.record(
            conn, who, "visit_notes.viewed", "household", household_id,
            detail={**_basis(access), "note_ids": [n.id for n in notes[:limit]],
                    "incident_ids": [i.id for i in incidents], "rating_ids": [r.id for r in ratings]},
        )  # fmt: skip
    return HouseholdRecord(
        basis=access.basis or "", notes=notes[:limit], more_notes=len(notes) > limit, incidents=incidents,
        ratings=ratings, ratings_shown=ratings_shown,
    )  # fmt: skip


async def readable_households(conn: asyncpg.Connection, who: Identity, household_ids: set[int]) -> set[int]:
    """Of these households, those whose visit record the caller may read now (nothing is logged: no data is read)."""
    if who.role == "volunteer" and not await access_sql.has_consent(conn, who.volunteer_id or 0):
        return set()
    return {h for h in sorted(household_ids) if (await household_access.decide(conn, who, h)).allowed}


async def get_note(conn: asyncpg.Connection, who: Identity, note_id: int) -> NoteRow:
    """One visit note for an entitled reader (404 otherwise), the read audited."""
    note = found(await visits_sql.get_note(conn, note_id), "No such note")
    try:
        access = await _may_read(conn, who, note.household_id)
    except NotFound:
        raise NotFound("No such note") from None
    async with conn.transaction():
        await audit_log.record(
            conn, who, "visit_notes.viewed", "household", note.household_id,
            detail={**_basis(access), "note_ids": [note.id]},
        )  # fmt: skip
    return note


async def raise_incident(conn: asyncpg.Connection, who: Identity, form: IncidentForm, *, note_days: int) -> IncidentRow:
    """The carer raises an incident on a visit they did; in the same transaction every account of the household's
    committee is notified."""
    visit = await carers_visit(conn, who, form, note_days=note_days)
    async with conn.transaction():
        incident_id = await visits_sql.insert_incident(
            conn, visit, volunteer_id=who.volunteer_id or 0, kind=form.kind, severity=form.severity,
            what_happened=form.what_happened.strip(),
        )  # fmt: skip
        for account_id in await access_sql.committee_staff(conn, visit.committee_id):
            await notifications.enqueue(
                conn, account_id=account_id, kind="visit_incident",
                dedupe_key=f"visit_incident:incident:{incident_id}:account:{account_id}",
                params={"incident_id": incident_id, "severity": form.severity, "kind": form.kind},
            )  # fmt: skip
        await audit_log.record(
            conn, who, "incident.raised", "incident", incident_id,
            detail={"household_id": visit.household_id, "kind": form.kind, "severity": form.severity,
                    "team_visit_id": visit.team_visit_id, "shift_id": visit.shift_id},
        )  # fmt: skip
    return found(await visits_sql.get_incident(conn, incident_id), _NO_INCIDENT)


async def get_incident(conn: asyncpg.Connection, who: Identity, incident_id: int) -> IncidentRow:
    """One incident with what happened, for an entitled reader of its household (404 otherwise), the read audited."""
    incident = found(await visits_sql.get_incident(conn, incident_id), _NO_INCIDENT)
    try:
        access = await _may_read(conn, who, incident.household_id)
    except NotFound:
        raise NotFound(_NO_INCIDENT) from None
    async with conn.transaction():
        await audit_log.record(
            conn, who, "incident.viewed", "incident", incident.id,
            detail={**_basis(access), "household_id": incident.household_id},
        )  # fmt: skip
    return incident


async def committee_incidents(
    conn: asyncpg.Connection, who: Identity, *, closed: bool = False, limit: int = 50, offset: int = 0
) -> list[IncidentSummaryRow]:
    """The committee's incidents still to deal with (overdue first), or those it closed (names and masked
    addresses, never what happened)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEE)
    rows = await visits_sql.committee_incidents(conn, committee_id, closed=closed, limit=limit, offset=offset)
    return [msgspec.structs.replace(r, address=mask_address(r.address)) for r in rows]


async def _decide_incident(
    conn: asyncpg.Connection, who: Identity, incident_id: int, action: str, done: bool
) -> IncidentRow:
    """Audit a committee's decision on an incident, or say why it could not be made."""
    if not done:
        incident = await visits_sql.get_incident(conn, incident_id)
        if incident is None or incident.committee_id != who.committee_id:
            raise NotFound(_NO_INCIDENT)
        if incident.status == "closed":
            raise Conflict("This incident is closed already")
        raise Conflict("This incident is acknowledged already")
    await audit_log.record(conn, who, action, "incident", incident_id)
    return found(await visits_sql.get_incident(conn, incident_id), _NO_INCIDENT)


async def acknowledge_incident(conn: asyncpg.Connection, who: Identity, incident_id: int) -> IncidentRow:
    """The household's committee acknowledges an open incident (audited); 409 if it is not open."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEE)
    async with conn.transaction():
        done = await visits_sql.acknowledge_incident(conn, incident_id, committee_id, who.account_id)
        return await _decide_incident(conn, who, incident_id, "incident.acknowledged", done)


async def close_incident(conn: asyncpg.Connection, who: Identity, incident_id: int, form: CloseForm) -> IncidentRow:
    """The household's committee closes an incident with what was done (audited, without the text)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEE)
    async with conn.transaction():
        action = form.action_taken.strip()
        done = await visits_sql.close_incident(conn, incident_id, committee_id, who.account_id, action)
        return await _decide_incident(conn, who, incident_id, "incident.closed", done)


async def _rating(conn: asyncpg.Connection, **values: Any) -> RatingRow:
    try:
        async with conn.transaction():
            rating = await visits_sql.insert_rating(conn, **values)
    except asyncpg.UniqueViolationError:
        rating = None
    if rating is None:
        raise Conflict("This visit has been rated already")
    return rating


async def rate_on_behalf(conn: asyncpg.Connection, who: Identity, form: StaffRatingForm) -> RatingRow:
    """Committee staff enter the rating of a visit to one of their households on its behalf (recorded as such)."""
    committee_id = who.committee_id_or_refuse("Only the household's residents' committee enters a rating for it")
    team_visit_id, shift_id = _ref(form)
    visit = await visits_sql.visit(conn, team_visit_id=team_visit_id, shift_id=shift_id)
    if visit is None or visit.committee_id != committee_id or visit.archived or not visit.carers:
        raise NotFound("No such visit")
    if visit.starts_at > dt.datetime.now(dt.UTC):
        raise Conflict("A visit is rated once it has taken place")
    if visit.contact_kind in CALLS:
        raise Conflict("A phone or video call is not rated: the household rates the visits made to it")
    async with conn.transaction():
        rating = await _rating(
            conn,
            household_id=visit.household_id,
            team_visit_id=visit.team_visit_id,
            shift_id=visit.shift_id,
            visit_kind=visit.visit_kind,
            organisation_id=visit.organisation_id,
            score=form.score,
            comment=form.comment.strip(),
            source="staff",
            entered_by=who.account_id,
        )
        await audit_log.record(
            conn, who, "visit_rating.recorded", "household", visit.household_id,
            detail={"rating_id": rating.id, "source": "staff", "score": form.score},
        )  # fmt: skip
    return rating


async def link_view(conn: asyncpg.Connection, token: str) -> LinkRow:
    """What a rating link's page shows: the visit's kind and day, the committee, whether it still works (404 for a
    token that never was)."""
    return found(await visits_sql.link(conn, token_hash(token)), "This link is not valid")


async def rate_by_link(conn: asyncpg.Connection, token: str, form: RatingForm) -> RatingRow:
    """The elder or family rates the visit through its one-use link: exactly one submission counts."""
    digest = token_hash(token)
    async with conn.transaction():
        claimed = await visits_sql.claim_link(conn, digest)
        if claimed is None:
            view = found(await visits_sql.link(conn, digest), "This link is not valid")
            raise Conflict("This link has been used already" if view.used_at else "This link has expired")
        rating = await _rating(
            conn, household_id=claimed.household_id, team_visit_id=claimed.team_visit_id, shift_id=claimed.shift_id,
            visit_kind=claimed.visit_kind, organisation_id=claimed.organisation_id, score=form.score,
            comment=form.comment.strip(), source="link", entered_by=None,
        )  # fmt: skip
        await visits_sql.use_link(conn, claimed.id, rating.id)
        await audit.append(
            conn, actor_account_id=None, action="visit_rating.recorded", object_type="household",
            object_id=claimed.household_id,
            detail={"rating_id": rating.id, "source": "link", "link_id": claimed.id, "score": form.score},
        )  # fmt: skip
    return rating


async def my_visits(conn: asyncpg.Connection, who: Identity, *, note_days: int) -> list[MyVisitRow]:
    """The carer's visits of the last days that they may still note (addresses masked), newest first."""
    volunteer_id = who.volunteer_id_or_refuse("Only a carer has visits to note")
    now = dt.datetime.now(dt.UTC)
    rows = await visits_sql.my_visits(
        conn, volunteer_id, since=now - dt.timedelta(days=min(note_days, RECENT_DAYS)), now=now, limit=50
    )
    return [msgspec.structs.replace(r, address=mask_address(r.address)) for r in rows]


async def unrated_visits(conn: asyncpg.Connection, who: Identity) -> list[UnratedVisitRow]:
    """Recent visits to the committee's households that nobody has rated, for staff to enter a rating."""
    committee_id = who.committee_id_or_refuse("Only a residents' committee enters ratings on a household's behalf")
    now = dt.datetime.now(dt.UTC)
    rows = await visits_sql.unrated_visits(
        conn, committee_id, since=now - dt.timedelta(days=RECENT_DAYS), now=now, limit=50
    )
    return [msgspec.structs.replace(r, address=mask_address(r.address)) for r in rows]


class VisitPerformance(msgspec.Struct, frozen=True):
    """How an organisation's home visits went over the last year: ratings, incidents by severity, and the grade they
    suggest to the funder (None with too few ratings)."""

    ratings: int
    mean_rating: float | None
    incidents_low: int
    incidents_medium: int
    incidents_high: int
    suggested_grade: str | None


async def organisation_figures(conn: asyncpg.Connection, organisation_id: int) -> VisitPerformance:
    """The ratings and incidents of an organisation's carers' visits over the last year (public figures, no text)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=FIGURES_DAYS)
    f = await visits_sql.figures(conn, organisation_id=organisation_id, committee_id=None, since=since)
    return VisitPerformance(
        ratings=f.ratings, mean_rating=f.mean_rating, incidents_low=f.incidents_low,
        incidents_medium=f.incidents_medium, incidents_high=f.incidents_high, suggested_grade=suggested_grade(f),
    )  # fmt: skip


async def committee_board(conn: asyncpg.Connection, committee_id: int) -> CommitteeBoard:
    """The committee's dashboard block: live and overdue incidents, and its households' ratings over the year."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=FIGURES_DAYS)
    return CommitteeBoard(
        incidents=await visits_sql.committee_incident_figures(conn, committee_id),
        figures=await visits_sql.figures(conn, organisation_id=None, committee_id=committee_id, since=since),
    )


Grade = Literal["excellent", "good", "basic", "unqualified"]
# At least this many rated visits before the visits suggest a grade (fewer say too little).
MIN_RATINGS = 10


def suggested_grade(figures: VisitFigures) -> Grade | None:
    """The grade the visits suggest to the funder (docs: "Rules: visit notes, incidents and ratings"): by the mean
    rating, one step lower for any high-severity incident; None below MIN_RATINGS ratings."""
    if figures.ratings < MIN_RATINGS or figures.mean_rating is None:
        return None
    grades: tuple[Grade, ...] = ("excellent", "good", "basic", "unqualified")
    mean = figures.mean_rating
    step = 0 if mean >= 4.5 else 1 if mean >= 4.0 else 2 if mean >= 3.0 else 3
    if figures.incidents_high:
        step = min(step + 1, 3)
    return grades[step]


# --- The rating link's SMS (the worker's cron) ---------------------------------------------------------------------

RATE_PATH = "/rate/{token}"
_KIND_WORDS = {"team": "311结对探访", "respite": "喘息服务", "home_care": "居家上门服务"}


def sms_text(row: visits_sql.OutgoingLinkRow, public_url: str) -> str:
    """The SMS inviting the household to rate the visit (Chinese: it goes to an elder's phone)."""
    day = row.visited_at.astimezone(SHANGHAI)
    link = public_url.rstrip("/") + RATE_PATH.format(token=row.token)
    return (
        f"【{row.committee_name}】您好！{day:%m月%d日}的{_KIND_WORDS.get(row.visit_kind, '上门服务')}您满意吗？"
        f"请点击链接评价（1–5分）：{link} 链接仅可使用一次。"
    )


class SmsOutcome(msgspec.Struct, frozen=True):
    """What one run of the rating-link SMS sender did."""

    sent: int
    retrying: int
    failed: int


async def send_rating_links(
    conn: asyncpg.Connection,
    sender: notifications.Sender,
    *,
    public_url: str,
    max_attempts: int,
    now: dt.datetime | None = None,
) -> SmsOutcome:
    """Send the rating links that are due to the households' phones (a failure is retried with growing waits)."""
    now = now or dt.datetime.now(dt.UTC)
    sent = retrying = failed = 0
    async with conn.transaction():
        for row in await visits_sql.claim_outgoing(conn, now, SMS_BATCH):
            message = notifications.Message(
                notification_id=row.id, kind="visit_rating", subject="服务评价",
                body=sms_text(row, public_url), email=None, phone=row.phone,
            )  # fmt: skip
            try:
                await sender.send(message)
            except Exception as exc:  # any failure of a sender is retried later
                status = await visits_sql.mark_link_failed(
                    conn, row.id, now + notifications.retry_delay(row.sms_attempts + 1), max_attempts
                )
                # Never the exception's text: a gateway error may quote the phone number.
                log.warning("rating link SMS failed", link_id=row.id, error=type(exc).__name__)
                failed, retrying = (failed + 1, retrying) if status == "failed" else (failed, retrying + 1)
                continue
            await visits_sql.mark_link_sent(conn, row.id, dt.datetime.now(dt.UTC))
            sent += 1
    return SmsOutcome(sent=sent, retrying=retrying, failed=failed)


def visit_key(team_visit_id: int | None, shift_id: int | None) -> str:
    """A visit's reference in a page's address: `t<id>` for a team visit, `s<id>` for a shift."""
    return f"t{team_visit_id}" if team_visit_id is not None else f"s{shift_id}"


def parse_visit_key(key: str) -> VisitRef:
    """The visit a page address names (404 for anything else)."""
    if len(key) > 1 and key[0] in "ts" and key[1:].isdigit() and 0 < int(key[1:]) <= 2**62:
        value = int(key[1:])
        return VisitRef(team_visit_id=value) if key[0] == "t" else VisitRef(shift_id=value)
    raise NotFound(_NO_VISIT)
