"""Confirming places: the confirm link's place (no login: the link is the key), confirm with one tap, or cancel."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, Parameter

from api.auth import Conn, User, roles
from api.schemas.common import out
from api.schemas.shifts import CancelOut, PlaceOut, place_out
from api.services import confirmations

TokenPath = Annotated[str, Parameter(pattern=r"^[0-9a-f]{32}$", description="The token of a sign-up's confirm link")]


class PlaceLinkController(Controller):
    """A place on a shift reached through its confirm link (inbox, email, SMS), without logging in."""

    path = "/api/confirmations"
    tags = ("shifts",)

    @get("/{token:str}", operation_id="getPlaceByLink")
    async def place(self, conn: Conn, token: TokenPath) -> PlaceOut:
        """The shift and the place: confirmed or not, by when it must be, and whether cancelling now is late."""
        return place_out(await confirmations.view(conn, token))

    @post("/{token:str}/confirm", operation_id="confirmPlaceByLink", status_code=200)
    async def confirm(self, conn: Conn, token: TokenPath) -> PlaceOut:
        """Confirm the place (again: no change); 409 when it is no longer held."""
        return place_out(await confirmations.confirm(conn, token))

    @post("/{token:str}/cancel", operation_id="cancelPlaceByLink", status_code=200)
    async def cancel(self, conn: Conn, token: TokenPath) -> CancelOut:
        """Give up the place (or leave the waitlist) by the ordinary rules: late inside the window, else promoted."""
        return out(await confirmations.cancel(conn, token), CancelOut)


class MyPlaceController(Controller):
    """The signed-in volunteer confirms a place they hold."""

    path = "/api/shifts"
    tags = ("shifts",)

    @post("/{shift_id:int}/signups/mine/confirm", operation_id="confirmMyPlace", guards=[roles("volunteer")],
          status_code=200)  # fmt: skip
    async def confirm_mine(self, conn: Conn, user: User, shift_id: FromPath[int]) -> PlaceOut:
        """Confirm my place on this shift (404 when I hold none)."""
        return place_out(await confirmations.confirm_mine(conn, user, shift_id))
