"""Group sign-up: a leader signs up a family, a class or a company's volunteer day for several places of a shift at
once, all or none; cancels the whole group or one member; the publisher sees members without an account.

Members with an account are signed up at once, without being asked: the group is booked as one at one moment (a
company day, a class outing), which a pending acceptance would break. Each such member is checked exactly as a single
sign-up is (the guarded pick-up of sql/shifts.py, with its reasons), sees the place among their shifts, and may give
it up like any place. Members without an account (a child) are recorded under the leader with a guardian's consent;
their hours stay on the group's record, never on a volunteer's ledger.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, notifications
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.shifts import BLOCKING_REASONS, SignupRefused, promote_next
from api.services.types import SHANGHAI, Name
from sql import groups as groups_sql
from sql import notifications as notifications_sql
from sql import shifts as shifts_sql
from sql.groups import GroupRow, MemberRow, NamedMemberRow
from sql.shifts import ShiftRow

_ONLY_VOLUNTEERS = "Only volunteers can sign up a group"
# A group is its leader and up to this many others (the schema bounds a shift to 1,000 places).
MAX_MEMBERS = 49
PersonName = Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
# A username, or a phone number as people type it.
AccountRef = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]

# Why a member may not come, in the third person (the single sign-up's reasons speak to "you").
MEMBER_REASONS = {
    "skills": "This person lacks a skill this shift requires",
    "certificates": "This person lacks a certificate this shift requires, verified and valid on its date",
    "age": "This person is below this shift's minimum age",
    "age_unverified": "This shift is for adults only: this person's date of birth must be verified first",
    "guardian": "Under 14: this person needs a guardian's consent on file",
    "insurance": "This shift requires verified accident insurance covering its date",
    "minor_group": "Under 18 or not a verified adult: this person may join only with a verified adult in the group",
    "hours_cap": "This shift would take this person above their weekly hour cap",
    "overlap": "This person already holds a place at this time",
    "already": "This person is already signed up for this shift",
    "household": "Home visits are open to volunteers with an account only",
    "unknown": "No volunteer has this username or phone number",
    "ambiguous": "Several volunteers share this phone number; give the username instead",
    "leader": "You are in the group already as its leader",
    "twice": "This person is in the group twice",
    "consent": "A guardian's consent is needed for anyone under 18",
    "birth_year": "Enter a birth year between 1900 and this year",
    "name": "Enter the person's name, or a username or phone number",
}


class GroupMemberIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One member beside the leader: a volunteer account (`account`: username or phone number) or a person without
    an account (`name`, `birth_year`, and `guardian_consent` when they may be under 18)."""

    account: AccountRef | None = None
    name: PersonName | None = None
    birth_year: Annotated[int, Meta(ge=1900, le=2100)] | None = None
    guardian_consent: bool = False


class GroupSignupForm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A group sign-up: the group's name and its members beside the leader (the leader always comes)."""

    name: Name
    members: Annotated[list[GroupMemberIn], Meta(min_length=1, max_length=MAX_MEMBERS)]


class GroupView(msgspec.Struct, frozen=True):
    """A group with its members and the shift as it now stands."""

    group: GroupRow
    members: list[MemberRow]
    shift: ShiftRow


class GroupRefused(Conflict):
    """A group sign-up answered 409: every member who cannot come, under `members[i].<reason>`."""

    def __init__(self, reason: str, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail, fields=fields)
        self.reason = reason
        self.kind = f"group-{reason}"


def _field(index: int | None, part: str) -> str:
    """The error key of a member: `leader.<reason>` or `members[i].<reason>` (i as sent)."""
    return f"leader.{part}" if index is None else f"members[{index}].{part}"


def _phone_digits(text: str) -> str:
    digits = re.sub(r"[^0-9]", "", text)
    return digits if 5 <= len(digits) <= 20 and re.fullmatch(r"[0-9+\- ]+", text.strip()) else ""


def _may_be_minor(birth_year: int, starts_at: dt.datetime) -> bool:
    """Whether someone born in this year may be under 18 on the shift's day (the schema's consent rule)."""
    return starts_at.astimezone(SHANGHAI).year - birth_year < 19


def _named_reasons(member: GroupMemberIn, shift: ShiftRow) -> list[str]:
    """What stops a person without an account, known from the form alone (they prove nothing, hold no skill)."""
    assert member.birth_year is not None
    age = shift.starts_at.astimezone(SHANGHAI).year - member.birth_year
    reasons = []
    if shift.required_skills:
        reasons.append("skills")
    if shift.required_certificates:
        reasons.append("certificates")
    if age < shift.min_age:
        reasons.append("age")
    elif shift.min_age >= 18:
        reasons.append("age_unverified")
    if shift.insurance_required:
        reasons.append("insurance")
    if shift.household_id is not None:
        reasons.append("household")
    return reasons


def person_errors(index: int, member: GroupMemberIn, starts_at: dt.datetime) -> dict[str, str]:
    """What is wrong with a person without an account as given (name, birth year, a guardian's consent)."""
    if member.name is None or not member.name.strip():
        return {_field(index, "name"): MEMBER_REASONS["name"]}
    if member.birth_year is None or not 1900 <= member.birth_year <= dt.datetime.now(SHANGHAI).year:
        return {_field(index, "birth_year"): MEMBER_REASONS["birth_year"]}
    if _may_be_minor(member.birth_year, starts_at) and not member.guardian_consent:
        return {_field(index, "guardian_consent"): MEMBER_REASONS["consent"]}
    return {}


async def _resolve(
    conn: asyncpg.Connection, leader_id: int, form: GroupSignupForm, shift: ShiftRow
) -> tuple[list[tuple[int, int]], list[tuple[int, GroupMemberIn]]]:
    """The members as (index, volunteer id) and (index, named person); 422 with each wrong field."""
    errors: dict[str, str] = {}
    accounts: list[tuple[int, int]] = []
    named: list[tuple[int, GroupMemberIn]] = []
    seen = {leader_id}
    for i, m in enumerate(form.members):
        if m.account is not None:
            ref = m.account.strip()
            hits = await groups_sql.find_volunteer(conn, ref, _phone_digits(ref))
            if not hits:
                errors[_field(i, "account")] = MEMBER_REASONS["unknown"]
            elif len(hits) > 1:
                errors[_field(i, "account")] = MEMBER_REASONS["ambiguous"]
            elif hits[0][0] == leader_id:
                errors[_field(i, "account")] = MEMBER_REASONS["leader"]
            elif hits[0][0] in seen:
                errors[_field(i, "account")] = MEMBER_REASONS["twice"]
            else:
                seen.add(hits[0][0])
                accounts.append((i, hits[0][0]))
        elif wrong := person_errors(i, m, shift.starts_at):
            errors |= wrong
        else:
            named.append((i, m))
    if errors:
        raise Invalid("Some members are not valid", fields=errors)
    return accounts, named


async def _pick_up_member(
    conn: asyncpg.Connection, who: Identity, shift_id: int, volunteer_id: int
) -> tuple[int | None, list[str]]:
    """The guarded pick-up of sql/shifts.py for one member, in a savepoint; (sign-up id, []) or (None, reasons)."""
    try:
        async with conn.transaction():
            taken = await shifts_sql.pick_up(
                conn, shift_id, volunteer_id, blocking=list(BLOCKING_REASONS), actor_account_id=who.account_id
            )
    except asyncpg.ExclusionViolationError:
        return None, ["overlap"]
    except asyncpg.UniqueViolationError:
        return None, ["already"]
    if taken is not None:
        return taken[0], []
    view = found(await shifts_sql.get_shift_for_volunteer(conn, shift_id, volunteer_id), "No such shift")
    if view.my_status in ("active", "waitlisted"):
        return None, ["already"]
    return None, [r for r in view.reasons if r in BLOCKING_REASONS] or ["full"]


async def sign_up_group(conn: asyncpg.Connection, who: Identity, shift_id: int, form: GroupSignupForm) -> GroupView:
    """Sign up the leader and every member for places of one shift, all or none; 409 names each who cannot come."""
    leader_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    shift = found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
    accounts, named = await _resolve(conn, leader_id, form, shift)
    wanted = 1 + len(accounts) + len(named)
    try:
        async with conn.transaction():
            # Volunteers first, then the shift (inside the pick-up), in the order a single sign-up takes them.
            everyone = sorted([leader_id, *(v for _, v in accounts)])
            await groups_sql.lock_volunteers(conn, everyone)
            await shifts_sql.lock_shift(conn, shift_id)
            await groups_sql.close_left_members(conn, shift_id, everyone)
            shift = found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
            if shift.status != "open" or shift.starts_at <= dt.datetime.now(dt.UTC):
                raise GroupRefused("closed", "This shift is closed to sign-ups")
            if shift.headcount - shift.taken < wanted:
                raise GroupRefused(
                    "full",
                    "This shift has fewer places left than your group needs",
                    fields={"places": "Places left are fewer than the group's members"},
                )
            group_id = await groups_sql.insert_group(conn, shift_id, leader_id, form.name.strip(), who.account_id)
            errors: dict[str, str] = {}
            held: list[tuple[int, int]] = []
            # The leader first, then the others: a minor on an "under 18 in groups only" shift comes after an adult
            # of the group took a place, as a minor joins such a shift alone. Whoever was refused only for that is
            # asked again once everyone else is in.
            waiting: list[tuple[int | None, int]] = [(None, leader_id), *accounts]
            refused: dict[int | None, list[str]] = {}
            for again in (False, True):
                retry = []
                for index, volunteer_id in waiting:
                    signup_id, reasons = await _pick_up_member(conn, who, shift_id, volunteer_id)
                    if signup_id is not None:
                        held.append((volunteer_id, signup_id))
                        refused.pop(index, None)
                    elif reasons == ["minor_group"] and not again:
                        retry.append((index, volunteer_id))
                        refused[index] = reasons
                    else:
                        refused[index] = reasons
                waiting = retry
            for index, reasons in refused.items():
                for r in reasons:
                    errors[_field(index, r)] = MEMBER_REASONS.get(r, "This shift is full; you can join its waitlist")
            adult_in_group = await groups_sql.proven_adult_among(conn, [s for _, s in held])
            for index, m in named:
                reasons = _named_reasons(m, shift)
                assert m.birth_year is not None
                if shift.minors_in_groups_only and _may_be_minor(m.birth_year, shift.starts_at) and not adult_in_group:
                    reasons.append("minor_group")
                for r in reasons:
                    errors[_field(index, r)] = MEMBER_REASONS[r]
            if errors:
                raise GroupRefused(
                    "not-eligible",
                    "Some members of the group cannot take this shift; nobody was signed up",
                    fields=errors,
                )
            for volunteer_id, signup_id in held:
                await groups_sql.insert_account_member(conn, group_id, shift_id, volunteer_id, signup_id)
                if volunteer_id != leader_id:
                    # Signed up by someone else: they hear of it, and that the place is theirs to keep or give up.
                    await notifications_sql.notify_volunteer(
                        conn,
                        volunteer_id,
                        "group_added",
                        shift_id,
                        {"group_id": group_id, "group": form.name.strip(), "leader": who.display_name},
                        f"group_added:signup:{signup_id}",
                    )
            if named and not await groups_sql.take_places(conn, shift_id, len(named)):
                raise GroupRefused("full", "This shift has fewer places left than your group needs")
            for _, m in named:
                assert m.name is not None
                assert m.birth_year is not None
                consent_by = who.account_id if _may_be_minor(m.birth_year, shift.starts_at) else None
                await groups_sql.insert_named_member(conn, group_id, shift_id, m.name.strip(), m.birth_year, consent_by)
            await audit_log.record(
                conn, who, "shift.group_signup", "shift", shift_id,
                detail={"group_id": group_id, "accounts": len(held), "named": len(named)},
            )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        raise GroupRefused("already", "You already lead a group on this shift") from exc
    except asyncpg.TransactionRollbackError as exc:
        raise SignupRefused("busy", "Many people are signing up right now; please try again") from exc
    return await view_group(conn, who, group_id)


async def view_group(conn: asyncpg.Connection, who: Identity, group_id: int) -> GroupView:
    """A group the caller leads, with its members and the shift."""
    leader_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    group = found(await groups_sql.get_group(conn, group_id, leader_id), "No such group")
    shift = found(await shifts_sql.get_shift(conn, group.shift_id), "No such shift")
    return GroupView(group=group, members=await groups_sql.members(conn, group_id), shift=shift)


async def led_on_shift(conn: asyncpg.Connection, who: Identity, shift_id: int) -> list[GroupRow]:
    """The groups the calling volunteer leads on a shift (none for other roles)."""
    if who.volunteer_id is None:
        return []
    return await groups_sql.led_on_shift(conn, shift_id, who.volunteer_id)


async def _end_member(conn: asyncpg.Connection, shift: ShiftRow, member: MemberRow) -> tuple[str, bool] | None:
    """Give up one member's place; (its new status, whether it counted a place), None if it held none."""
    if member.volunteer_id is not None:
        assert member.signup_id is not None
        ended = await shifts_sql.cancel_active(conn, shift.id, member.volunteer_id)
        if ended is None:
            return None
        signup_id, status = ended
        await groups_sql.close_account_member(conn, member.id, status)
        await shifts_sql.release_place(conn, shift.id)
        promoted = await promote_next(conn, shift.id) if status == "cancelled" else None
        await notifications.signup_cancelled(
            conn,
            shift_id=shift.id,
            signup_id=signup_id,
            late=status == "late_cancelled",
            promoted_volunteer_id=promoted,
        )
        return status, True
    named_status = await groups_sql.cancel_named_member(conn, member.id, member.group_id)
    if named_status is None:
        return None
    await groups_sql.release_places(conn, shift.id, 1)
    if named_status == "cancelled" and (promoted := await promote_next(conn, shift.id)) is not None:
        await notifications_sql.insert_promoted(conn, shift.id, promoted)
    return named_status, True


async def cancel_group(conn: asyncpg.Connection, who: Identity, group_id: int) -> GroupView:
    """The leader gives up every place of the group; freed places go to the waitlist as a single cancellation's do."""
    leader_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        group = found(await groups_sql.get_group(conn, group_id, leader_id), "No such group")
        # The shift's row first, as every cancellation takes it, then the group.
        await shifts_sql.lock_shift(conn, group.shift_id)
        group = found(await groups_sql.get_group(conn, group_id, leader_id, for_update=True), "No such group")
        if group.status != "active":
            raise Conflict("This group is cancelled already")
        shift = found(await shifts_sql.get_shift(conn, group.shift_id), "No such shift")
        statuses = []
        for member in await groups_sql.members(conn, group_id):
            if member.status == "active" and (ended := await _end_member(conn, shift, member)) is not None:
                statuses.append(ended[0])
        late = "late_cancelled" in statuses
        await groups_sql.cancel_group(conn, group_id, "late_cancelled" if late else "cancelled")
        await audit_log.record(
            conn, who, "shift.group_cancelled", "shift", group.shift_id,
            detail={"group_id": group_id, "places": len(statuses), "late": late},
        )  # fmt: skip
    return await view_group(conn, who, group_id)


async def cancel_member(conn: asyncpg.Connection, who: Identity, group_id: int, member_id: int) -> GroupView:
    """The leader gives up one member's place (not their own: they cancel the whole group instead)."""
    leader_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        group = found(await groups_sql.get_group(conn, group_id, leader_id), "No such group")
        await shifts_sql.lock_shift(conn, group.shift_id)
        group = found(await groups_sql.get_group(conn, group_id, leader_id, for_update=True), "No such group")
        member = next((m for m in await groups_sql.members(conn, group_id) if m.id == member_id), None)
        if member is None:
            raise NotFound("No such member")
        if member.is_leader:
            raise Conflict("The leader cancels the whole group instead")
        if group.status != "active" or member.status != "active":
            raise Conflict("This member holds no place")
        shift = found(await shifts_sql.get_shift(conn, group.shift_id), "No such shift")
        ended = await _end_member(conn, shift, member)
        if ended is None:
            raise Conflict("This member holds no place")
        await audit_log.record(
            conn, who, "shift.group_member_cancelled", "shift", group.shift_id,
            detail={"group_id": group_id, "member_id": member_id, "status": ended[0]},
        )  # fmt: skip
    return await view_group(conn, who, group_id)


class NamedHours(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long a group's member without an account served, in minutes (at most a day's 25 hours, as attendance)."""

    minutes: Annotated[int, Meta(ge=0, le=1500)]


async def record_named_hours(
    conn: asyncpg.Connection, who: Identity, shift_id: int, member_id: int, form: NamedHours
) -> None:
    """The shift's publisher records the minutes a member without an account served; they stay on the group's record
    (no ledger, no time coins). 404 for another publisher's shift; 409 before the shift begins."""
    organisation_id, committee_id = who.publisher_or_refuse("Only the shift's publisher records its hours")
    async with conn.transaction():
        recorded = await groups_sql.record_named_minutes(
            conn,
            shift_id,
            member_id,
            form.minutes,
            organisation_id=organisation_id,
            committee_id=committee_id,
            recorded_by=who.account_id,
        )
        if not recorded:
            shift = found(await shifts_sql.get_shift(conn, shift_id), "No such shift")
            mine = shift.organisation_id == organisation_id if organisation_id else shift.committee_id == committee_id
            named = {m.id for m in await groups_sql.named_on_shift(conn, shift_id)}
            if not mine or member_id not in named:
                raise NotFound("No such member of a group on this shift")
            raise Conflict("Hours are recorded once the shift has begun", fields={"minutes": "The shift has not begun"})
        await audit_log.record(
            conn, who, "shift.group_member_hours", "shift", shift_id,
            detail={"member_id": member_id, "minutes": form.minutes},
        )  # fmt: skip


async def named_on_shift(conn: asyncpg.Connection, shift_id: int) -> list[NamedMemberRow]:
    """The people without an account holding places on a shift, under their leaders (for the attendance list)."""
    return await groups_sql.named_on_shift(conn, shift_id)
