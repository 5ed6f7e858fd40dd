"""Use cases of the household register (服务对象家庭): a residents' committee registers, changes and archives the
households it serves (empty-nest elders, 311 quasi-families, respite), and lists its own.

A household is a data subject (PIPL): it is registered only with the written consent of the elder or their guardian,
its details are seen through api.services.household_access alone, the audit log says which fields changed and never
their values, and a household that leaves the service is erased down to what the history that names it needs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, places, shifts
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound
from api.services.needs import mask_address, street_of
from api.services.types import SHANGHAI, Name, Page, Text
from sql import households as households_sql

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_COMMITTEES = "Only a residents' committee keeps a household register"

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS = ("am", "pm")
# The weekly slots a household may accept visits in, in week order (the same slots as 311 teams use).
VISIT_SLOTS = tuple(f"{d}-{p}" for d in WEEKDAYS for p in PARTS)
VisitSlot = Literal[
    "mon-am", "mon-pm", "tue-am", "tue-pm", "wed-am", "wed-pm", "thu-am", "thu-pm",
    "fri-am", "fri-pm", "sat-am", "sat-pm", "sun-am", "sun-pm",
]  # fmt: skip
Address = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
HouseholdPhone = Annotated[str, Meta(max_length=20, pattern=r"^[0-9+\- ]*$")]
Dialect = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
Lat = Annotated[float, Meta(ge=-90, le=90)]
Lon = Annotated[float, Meta(ge=-180, le=180)]
Members = Annotated[int, Meta(ge=1, le=20)]
CareLevel = Annotated[int, Meta(ge=1, le=6)]
SearchText = Annotated[str, Meta(max_length=100, pattern=r"^[^\x00]*$")]
CONSENT_REQUIRED = "The written consent of the elder or their guardian is required"
CREATED = "household.created"
UPDATED = "household.updated"
ARCHIVED = "household.archived"


class HouseholdCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a committee records of a household; `consent` says the written consent is on file."""

    head_name: Name
    address: Address
    lat: Lat
    lon: Lon
    consent: bool = False
    phone: HouseholdPhone = ""
    members: Members = 1
    empty_nest: bool = True
    care_level: CareLevel | None = None
    dialects: Annotated[list[Dialect], Meta(max_length=10)] = []
    care_notes: Text = ""
    visit_slots: Annotated[list[VisitSlot], Meta(max_length=14)] = []


class RegisterFilters(msgspec.Struct, frozen=True):
    """How to narrow the register: a fragment of the name or address, care level, 311 (empty nest), archived."""

    q: SearchText | None = None
    care_level: CareLevel | None = None
    empty_nest: bool | None = None
    archived: bool = False


class RegisterItem(households_sql.RegisterPublic, frozen=True):
    """A household as the register lists it: the name and an address masked to the lane."""

    masked_address: str


# How many households a picker lists at once; the search field narrows a larger register (about 3,000).
PICKER_LIMIT = 60


class HouseholdPick(msgspec.Struct, frozen=True):
    """A household as the need and shift forms offer it: the name the register shows, the masked address, and what
    tells two alike apart."""

    id: int
    head_name: str
    masked_address: str
    members: int
    care_level: int | None
    empty_nest: bool
    last_visit_on: dt.date | None


class HouseholdPicker(msgspec.Struct, frozen=True):
    """The households a picker shows for a search, and how many matched in all."""

    items: list[HouseholdPick]
    total: int
    q: str


def _like(fragment: str) -> str:
    """A LIKE pattern that finds the fragment as typed (its own % and _ are not wildcards)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def ordered_slots(slots: list[str]) -> list[str]:
    """The slots once each, in week order."""
    return [s for s in VISIT_SLOTS if s in set(slots)]


async def list_register(
    conn: asyncpg.Connection, who: Identity, filters: RegisterFilters, *, limit: int, offset: int
) -> Page[RegisterItem]:
    """The committee's own households (names, masked addresses), filtered and paged."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    fragment = (filters.q or "").strip()
    rows, total = await households_sql.register(
        conn,
        committee_id,
        pattern=_like(fragment) if fragment else None,
        care_level=filters.care_level,
        empty_nest=filters.empty_nest,
        archived=filters.archived,
        limit=limit,
        offset=offset,
    )
    items = [
        RegisterItem(
            id=r.id,
            head_name=r.head_name,
            masked_address=mask_address(r.address),
            members=r.members,
            empty_nest=r.empty_nest,
            care_level=r.care_level,
            visit_slots=ordered_slots(r.visit_slots),
            updated_at=r.updated_at,
            archived_at=r.archived_at,
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def picker(
    conn: asyncpg.Connection, who: Identity, q: str = "", chosen: list[int] | None = None, *, limit: int = PICKER_LIMIT
) -> HouseholdPicker:
    """The committee's own current households to choose from, by name (addresses masked), narrowed by a search;
    the households already chosen are always listed first."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    fragment = q.replace("\x00", "").strip()[:100]
    rows, total = await households_sql.picker(
        conn, committee_id, pattern=_like(fragment) if fragment else None, chosen=chosen or [], limit=limit
    )
    items = [
        HouseholdPick(
            id=r.id,
            head_name=r.head_name,
            masked_address=mask_address(r.address),
            members=r.members,
            care_level=r.care_level,
            empty_nest=r.empty_nest,
            last_visit_on=r.last_visit_at.astimezone(SHANGHAI).date() if r.last_visit_at else None,
        )
        for r in rows
    ]
    return HouseholdPicker(items=items, total=total, q=fragment)


async def _checked(conn: asyncpg.Connection, form: HouseholdCommand) -> households_sql.HouseholdFields:
    """The values to store, or Invalid naming every field that is wrong."""
    errors: dict[str, str] = {}
    if not form.consent:
        errors["consent"] = CONSENT_REQUIRED
    if await places.outside_district(conn, form.lat, form.lon):
        errors["lat"] = "The point lies outside the district"
    if errors:
        raise Invalid("The household is not valid", fields=errors)
    dialects: list[str] = []
    for d in form.dialects:
        if d.strip() not in dialects:
            dialects.append(d.strip())
    return households_sql.HouseholdFields(
        head_name=form.head_name.strip(),
        address=form.address.strip(),
        phone=form.phone.strip() or None,
        lat=form.lat,
        lon=form.lon,
        members=form.members,
        empty_nest=form.empty_nest,
        care_level=form.care_level,
        dialects=dialects,
        care_notes=form.care_notes.strip(),
        visit_slots=ordered_slots(list(form.visit_slots)),
    )


async def create_household(conn: asyncpg.Connection, who: Identity, form: HouseholdCommand) -> int:
    """The committee registers a household it serves, with the consent on file; its id."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        values = await _checked(conn, form)
        household_id = await households_sql.insert_household(conn, committee_id, values)
        # The log names the household and never its details.
        await audit_log.record(conn, who, CREATED, "household", household_id)
    return household_id


async def _current(conn: asyncpg.Connection, household_id: int, committee_id: int) -> households_sql.HouseholdRecordRow:
    """The committee's household, locked, while it is in the service; 404 for another's, 409 once it has left."""
    before = await households_sql.lock_household(conn, household_id, committee_id)
    if before is None:
        # Another committee's household answers as a missing one.
        raise NotFound("No such household")
    if before.archived_at is not None:
        raise Conflict("This household has left the service and can no longer be changed")
    return before


def _changed(before: households_sql.HouseholdRecordRow, values: households_sql.HouseholdFields) -> list[str]:
    """The names of the fields whose stored value differs (for the audit log; never the values)."""
    return sorted(name for name, value in msgspec.structs.asdict(values).items() if getattr(before, name) != value)


async def update_household(conn: asyncpg.Connection, who: Identity, household_id: int, form: HouseholdCommand) -> int:
    """The committee changes its own current household; 404 for another's, 409 once it has left the service."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        before = await _current(conn, household_id, committee_id)
        values = await _checked(conn, form)
        changed = _changed(before, values)
        if not await households_sql.update_household(conn, household_id, committee_id, values):
            raise Conflict("This household has left the service and can no longer be changed")
        await audit_log.record(conn, who, UPDATED, "household", household_id, detail={"fields": changed})
    return household_id


# What an erased household's address becomes when not even a road is left of it.
ERASED_ADDRESS = "**"


async def archive_household(conn: asyncpg.Connection, who: Identity, household_id: int) -> int:
    """The household leaves the service: its details are erased; its live team (with its planned visits), respite
    entitlements and pending respite requests end, and the shifts still to come that serve it are called off, their
    volunteers told."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        before = await _current(conn, household_id, committee_id)
        # Only the road and lane stay (what the masked form shows), never a building, room or house number.
        called_off = await households_sql.archive_household(
            conn, household_id, committee_id, street_of(before.address) or ERASED_ADDRESS
        )
        if called_off is None:
            raise Conflict("This household has left the service and can no longer be changed")
        for shift_id in called_off:
            await shifts.called_off(conn, who, shift_id, household_id=household_id)
        await audit_log.record(conn, who, ARCHIVED, "household", household_id)
    return household_id
