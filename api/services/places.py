"""Saved places (活动室, 睦邻点) and the place picker: a committee's staff keep named points; shift and need forms
pick one of them, or a point on the map, starting from the committee's own point."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound, found
from sql import needs as needs_sql
from sql import places as places_sql

_ONLY_COMMITTEES = "Only a residents' committee keeps saved places"
_ONLY_PUBLISHERS = "Only a residents' committee or an organisation picks places"
# A given point must lie within the district's areas, give or take this margin in degrees (about 3 km).
POINT_MARGIN_DEG = 0.03
# The most places an organisation's picker lists (the committees of every area it serves).
PICKER_PLACES = 300

PlaceKind = Literal["activity_room", "neighbourhood_point", "service_station", "other"]
PLACE_KINDS: tuple[str, ...] = ("activity_room", "neighbourhood_point", "service_station", "other")
Lat = Annotated[float, Meta(ge=-90, le=90)]
Lon = Annotated[float, Meta(ge=-180, le=180)]


class PlaceCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A saved place as the committee's staff describe it (WGS-84)."""

    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
    lat: Lat
    lon: Lon
    kind: PlaceKind = "activity_room"
    address: Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")] = ""


class Picker(msgspec.Struct, frozen=True):
    """What a place picker opens with: the caller's own point and the saved places it may choose from."""

    centre: places_sql.CentreRow
    places: list[places_sql.PlaceRow]


async def outside_district(conn: asyncpg.Connection, lat: float, lon: float) -> bool:
    """Whether a point lies outside the district's areas (beyond the margin); False when there are no areas."""
    bounds = await needs_sql.area_bounds(conn)
    return bounds is not None and not (
        bounds.min_lat - POINT_MARGIN_DEG <= lat <= bounds.max_lat + POINT_MARGIN_DEG
        and bounds.min_lon - POINT_MARGIN_DEG <= lon <= bounds.max_lon + POINT_MARGIN_DEG
    )


async def list_places(conn: asyncpg.Connection, who: Identity) -> list[places_sql.PlaceRow]:
    """The committee's own saved places."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    return await places_sql.committee_places(conn, committee_id)


async def get_place(conn: asyncpg.Connection, who: Identity, place_id: int) -> places_sql.PlaceRow:
    """One of the committee's own places; another committee's is a 404."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    return found(await places_sql.committee_place(conn, place_id, committee_id), "No such place")


async def _checked(conn: asyncpg.Connection, form: PlaceCommand) -> tuple[str, str, str, float, float]:
    if await outside_district(conn, form.lat, form.lon):
        raise Invalid("The place is not valid", fields={"lat": "The point lies outside the district"})
    return form.name.strip(), form.kind, form.address.strip(), form.lat, form.lon


def _name_taken() -> Invalid:
    return Invalid("The place is not valid", fields={"name": "Your committee already has a place by this name"})


async def add_place(conn: asyncpg.Connection, who: Identity, form: PlaceCommand) -> places_sql.PlaceRow:
    """The committee saves a place."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        values = await _checked(conn, form)
        try:
            async with conn.transaction():
                place_id = await places_sql.insert_place(conn, committee_id, *values, who.account_id)
        except asyncpg.UniqueViolationError:
            raise _name_taken() from None
        await audit_log.record(conn, who, "place.add", "saved_place", place_id)
        return found(await places_sql.committee_place(conn, place_id, committee_id), "No such place")


async def change_place(
    conn: asyncpg.Connection, who: Identity, place_id: int, form: PlaceCommand
) -> places_sql.PlaceRow:
    """The committee changes one of its own places."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        values = await _checked(conn, form)
        try:
            async with conn.transaction():
                changed = await places_sql.update_place(conn, place_id, committee_id, *values)
        except asyncpg.UniqueViolationError:
            raise _name_taken() from None
        if not changed:
            raise NotFound("No such place")
        await audit_log.record(conn, who, "place.change", "saved_place", place_id)
        return found(await places_sql.committee_place(conn, place_id, committee_id), "No such place")


async def remove_place(conn: asyncpg.Connection, who: Identity, place_id: int) -> None:
    """The committee removes one of its own places (shifts and needs placed there keep their point)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        if not await places_sql.delete_place(conn, place_id, committee_id):
            raise NotFound("No such place")
        await audit_log.record(conn, who, "place.remove", "saved_place", place_id)


async def picker(conn: asyncpg.Connection, who: Identity) -> Picker:
    """The picker of a committee (its own places, its own point) or an organisation (the places of the committees
    it serves, the point of its first area)."""
    organisation_id, committee_id = who.publisher_or_refuse(_ONLY_PUBLISHERS)
    if committee_id is not None:
        centre = await places_sql.committee_centre(conn, committee_id)
        places = await places_sql.committee_places(conn, committee_id)
    else:
        assert organisation_id is not None
        centre = await places_sql.organisation_centre(conn, organisation_id)
        places = await places_sql.organisation_places(conn, organisation_id, PICKER_PLACES)
    if centre is None:
        # An organisation serving no area yet has no committee's places either: its form keeps the lat/lon boxes.
        raise Conflict("Name the areas you serve on your profile before choosing a place")
    return Picker(centre=centre, places=places)
