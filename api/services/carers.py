"""An organisation's roster of carers (护理员): the people who cycle or walk from one elder's home to the next.

A carer is a person with a Linli volunteer account (their phone page and their one calendar), whom the organisation
puts on its roster by their username with a base (where their day starts and ends), working days and hours and a
travel mode; the person accepts on their phone page (until then nobody plans with them). Their abilities are their
certificates verified by staff and not expired (a self-declared certificate is only their word), read when a day is
planned. Every change is audited.

A residents' committee keeps a roster of the same kind for its respite visits (喘息服务): its volunteers who hold a
verified, unexpired certificate of the kind the respite requirement names (LINLI_RESPITE_CERTIFICATE, elderly_carer
by default); a volunteer without it is refused. A carer row belongs to an organisation or to a committee (the schema
checks exactly one), and every statement names its owner, so another's carer is a missing one (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, respite, respite_days
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.types import SHANGHAI, Id, Name, Username
from sql import visits as visits_sql
from sql.visits import CarerFields, CarerRow

_ONLY_ORGANISATIONS = "Only an organisation or a residents' committee keeps a roster of carers"
_ONLY_VOLUNTEERS = "Only volunteers are on rosters of carers"
TRAVEL_MODES = ("ebike", "walk")
WallTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Annotated[int, Meta(ge=1, le=7)]


class CarerUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the organisation keeps of a carer: name, base point, working days (1 = Monday) and hours, travel mode."""

    name: Name
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    work_days: Annotated[list[Weekday], Meta(min_length=1, max_length=7)]
    work_starts: WallTime = "08:00"
    work_ends: WallTime = "17:00"
    travel_mode: Literal["ebike", "walk"] = "ebike"
    active: bool = True


class CarerCreate(CarerUpdate, frozen=True, forbid_unknown_fields=True):
    """A new carer: the username of their volunteer account, then what the organisation keeps of them."""

    username: Username = ""


def _fields(form: CarerUpdate) -> CarerFields:
    starts, ends = dt.time.fromisoformat(form.work_starts), dt.time.fromisoformat(form.work_ends)
    if starts >= ends:
        raise Invalid("The carer is not valid", fields={"work_ends": "The working day ends after it starts"})
    return CarerFields(
        name=form.name,
        lat=form.lat,
        lon=form.lon,
        work_days=sorted(set(form.work_days)),
        work_starts=starts,
        work_ends=ends,
        travel_mode=form.travel_mode,
        active=form.active,
    )


def _today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def owner_of(who: Identity) -> tuple[int | None, int | None]:
    """(organisation, committee) whose roster the caller keeps: exactly one is set; any other role is refused."""
    if who.role == "committee":
        return None, who.committee_id_or_refuse(_ONLY_ORGANISATIONS)
    return who.organisation_id_or_refuse(_ONLY_ORGANISATIONS), None


async def roster(conn: asyncpg.Connection, who: Identity) -> list[CarerRow]:
    """The organisation's (or committee's) carers, active first, with their verified abilities today."""
    organisation_id, committee_id = owner_of(who)
    return await visits_sql.carers(conn, organisation_id, _today(), committee_id)


async def get_carer(conn: asyncpg.Connection, who: Identity, carer_id: int) -> CarerRow:
    """One carer of the organisation or committee (another's: 404)."""
    organisation_id, committee_id = owner_of(who)
    return found(await visits_sql.get_carer(conn, organisation_id, carer_id, _today(), committee_id), "No such carer")


async def add_carer(
    conn: asyncpg.Connection, who: Identity, form: CarerCreate, *, certificate: str = respite.DEFAULT_CERTIFICATE
) -> CarerRow:
    """Put a volunteer on the organisation's roster, or on a committee's respite roster if they hold the verified
    `certificate` respite asks for (they accept on their phone page); audited."""
    organisation_id, committee_id = owner_of(who)
    fields = _fields(form)
    async with conn.transaction():
        volunteer_id = await visits_sql.volunteer_by_username(conn, form.username)
        if volunteer_id is None:
            raise Invalid("The carer is not valid", fields={"username": "No volunteer has this username"})
        if committee_id is not None and respite_days.route_certificate(certificate) not in (
            await visits_sql.verified_kinds(conn, volunteer_id, _today())
        ):
            raise Invalid(
                "The carer is not valid",
                fields={"username": "This volunteer holds no verified, unexpired certificate that respite visits need"},
            )
        carer_id = await visits_sql.insert_carer(conn, organisation_id, volunteer_id, fields, None, committee_id)
        if carer_id is None:
            raise Conflict("This person is already on the roster", fields={"username": "Already on the roster"})
        await audit_log.record(
            conn, who, "carer.add", "carer", carer_id,
            detail={"volunteer_id": volunteer_id, "travel_mode": fields.travel_mode, "committee_id": committee_id},
        )  # fmt: skip
    return await get_carer(conn, who, carer_id)


async def update_carer(conn: asyncpg.Connection, who: Identity, carer_id: int, form: CarerUpdate) -> CarerRow:
    """Change a carer's name, base, days, hours, mode or whether they are active; audited (fields, not values)."""
    organisation_id, committee_id = owner_of(who)
    fields = _fields(form)
    async with conn.transaction():
        before = found(
            await visits_sql.get_carer(conn, organisation_id, carer_id, _today(), committee_id), "No such carer"
        )
        if not await visits_sql.update_carer(conn, organisation_id, carer_id, fields, committee_id):
            raise NotFound("No such carer")
        changed = [
            name
            for name in ("name", "lat", "lon", "work_days", "work_starts", "work_ends", "travel_mode", "active")
            if getattr(before, name) != getattr(fields, name)
        ]
        await audit_log.record(conn, who, "carer.update", "carer", carer_id, detail={"fields": changed})
    return await get_carer(conn, who, carer_id)


async def my_rosters(conn: asyncpg.Connection, who: Identity) -> list[CarerRow]:
    """The rosters the calling volunteer is on, joined or waiting for their answer."""
    return await visits_sql.my_rosters(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS), _today())


async def join(conn: asyncpg.Connection, who: Identity, carer_id: Id) -> None:
    """The volunteer accepts being on an organisation's roster of carers; audited."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        owner = await visits_sql.join_roster(conn, carer_id, volunteer_id)
        if owner is None:
            raise NotFound("No such invitation to a roster")
        await audit_log.record(
            conn, who, "carer.join", "carer", carer_id, detail={"organisation_id": owner[0], "committee_id": owner[1]}
        )
