"""Saved places (常用地点): a committee's activity rooms and 睦邻点, which its shift and need forms pick from."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import places
from api.services.places import PLACE_KINDS, PlaceCommand
from web import maps
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay

DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(added|changed|removed)$")]


async def _list_page(
    conn: Conn,
    user: User,
    state: State,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Template:
    picker = await maps.place_picker(conn, user, maps.tiles_of(state))
    if values is None:
        values = maps.start_at_centre({"kind": "activity_room"}, picker)
    return Template(
        template_name="places/list.html",
        context={
            "who": user,
            "places": await places.list_places(conn, user),
            "place_picker": picker,
            "values": values,
            "errors": errors or {},
            "kinds": PLACE_KINDS,
            "done": done,
        },
        status_code=status,
    )


async def _edit_page(
    conn: Conn, user: User, state: State, place_id: int, values: dict[str, Any], errors: dict[str, str], status: int
) -> Template:
    place = await places.get_place(conn, user, place_id)
    return Template(
        template_name="places/edit.html",
        context={
            "who": user,
            "place": place,
            "place_picker": await maps.place_picker(conn, user, maps.tiles_of(state)),
            "values": values,
            "errors": errors,
            "kinds": PLACE_KINDS,
        },
        status_code=status,
    )


class PlacePages(Controller):
    """常用地点: the committee's saved places, added, changed and removed by its staff."""

    include_in_schema = False
    # Litestar reads guards as an instance attribute, so ClassVar (which RUF012 asks for) fails mypy.
    guards = [roles("committee")]  # noqa: RUF012

    @get("/places", name="places")
    async def list_places(self, conn: Conn, user: User, state: State, done: DoneQuery = None) -> Template:
        """The committee's saved places and the form to add one (a point on the map)."""
        return await _list_page(conn, user, state, done=done)

    @post("/places", name="place_add")
    async def add(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Save a place, or show the list again with each field's error."""
        form = multi(data)
        return await submit(
            parse_form(PlaceCommand, form),
            lambda command: places.add_place(conn, user, command),
            lambda _row: PageRedirect("places", query={"done": "added"}),
            lambda errors, status: _list_page(conn, user, state, values=redisplay(form), errors=errors, status=status),
        )

    @get("/places/{place_id:int}/edit", name="place_edit")
    async def edit_form(self, conn: Conn, user: User, state: State, place_id: FromPath[int]) -> Template:
        """The form for one of the committee's own places."""
        place = await places.get_place(conn, user, place_id)
        values = {"name": place.name, "kind": place.kind, "address": place.address, "lat": place.lat, "lon": place.lon}
        return await _edit_page(conn, user, state, place_id, values, {}, 200)

    @post("/places/{place_id:int}/edit", name="place_edit_submit")
    async def edit_submit(
        self, conn: Conn, user: User, state: State, place_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Save the changes to one of the committee's own places."""
        form = multi(data)
        return await submit(
            parse_form(PlaceCommand, form),
            lambda command: places.change_place(conn, user, place_id, command),
            lambda _row: PageRedirect("places", query={"done": "changed"}),
            lambda errors, status: _edit_page(conn, user, state, place_id, redisplay(form), errors, status),
        )

    @post("/places/{place_id:int}/delete", name="place_remove")
    async def remove(self, conn: Conn, user: User, place_id: FromPath[int]) -> PageRedirect:
        """Remove one of the committee's own places (what was placed there keeps its point)."""
        await places.remove_place(conn, user, place_id)
        return PageRedirect("places", query={"done": "removed"})
