"""Saved places (常用地点): a committee's activity rooms and 睦邻点, kept by its staff, picked for shifts and needs."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, roles
from api.schemas.common import out, outs
from api.schemas.places import PlaceOut
from api.services import places
from api.services.places import PlaceCommand


class PlaceController(Controller):
    """The committee's saved places; another committee's place answers 404."""

    path = "/api/places"
    tags = ("places",)
    # Litestar reads guards as an instance attribute, so ClassVar (which RUF012 asks for) fails mypy.
    guards = [roles("committee")]  # noqa: RUF012

    @get("/", operation_id="listPlaces")
    async def list_places(self, conn: Conn, user: User) -> list[PlaceOut]:
        """The committee's own saved places, by name."""
        return outs(await places.list_places(conn, user), PlaceOut)

    @post("/", operation_id="createPlace", status_code=201)
    async def create(self, conn: Conn, user: User, data: JSONBody[PlaceCommand]) -> PlaceOut:
        """Save a place (WGS-84; within the district)."""
        return out(await places.add_place(conn, user, data), PlaceOut)

    @get("/{place_id:int}", operation_id="getPlace")
    async def place(self, conn: Conn, user: User, place_id: FromPath[int]) -> PlaceOut:
        """One of the committee's own places."""
        return out(await places.get_place(conn, user, place_id), PlaceOut)

    @put("/{place_id:int}", operation_id="updatePlace")
    async def update(self, conn: Conn, user: User, place_id: FromPath[int], data: JSONBody[PlaceCommand]) -> PlaceOut:
        """Change one of the committee's own places."""
        return out(await places.change_place(conn, user, place_id, data), PlaceOut)

    @delete("/{place_id:int}", operation_id="deletePlace", status_code=204)
    async def remove(self, conn: Conn, user: User, place_id: FromPath[int]) -> None:
        """Remove one of the committee's own places; shifts and needs placed there keep their point."""
        await places.remove_place(conn, user, place_id)
