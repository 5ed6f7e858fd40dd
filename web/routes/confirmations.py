"""A place behind its confirm link (from the inbox, an email or an SMS; no login needed): confirm it with one tap, or
cancel it after a page that says whether the cancellation is late."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import Template

from api.auth import Conn, Who
from api.services import confirmations
from web.routes._common import PageRedirect

TokenPath = Annotated[str, Parameter(pattern=r"^[0-9a-f]{32}$")]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(confirmed|cancelled|late_cancelled)$")]


async def _page(conn: Conn, who: Who, token: str, *, done: str | None = None, cancelling: bool = False) -> Template:
    return Template(
        template_name="shifts/place.html",
        context={
            "who": who,
            "token": token,
            "view": await confirmations.view(conn, token),
            "done": done,
            "cancelling": cancelling,
        },
    )


class ConfirmationPages(Controller):
    """确认参加: a volunteer's place on a shift, reached through the link of a confirmation request."""

    include_in_schema = False

    @get("/confirm/{token:str}", name="place_link")
    async def place(self, conn: Conn, who: Who, token: TokenPath, done: DoneQuery = None) -> Template:
        """The shift, the place's state and the cut-off, with the one-tap 确认参加 button."""
        return await _page(conn, who, token, done=done)

    @post("/confirm/{token:str}/confirm", name="place_link_confirm")
    async def confirm(self, conn: Conn, token: TokenPath) -> Response[Any]:
        """Confirm the place; the page says so."""
        await confirmations.confirm(conn, token)
        return PageRedirect("place_link", token=token, query={"done": "confirmed"})

    @get("/confirm/{token:str}/cancel", name="place_link_cancel_ask")
    async def cancel_ask(self, conn: Conn, who: Who, token: TokenPath) -> Template:
        """Ask before cancelling, and warn when the cancellation would be late."""
        return await _page(conn, who, token, cancelling=True)

    @post("/confirm/{token:str}/cancel", name="place_link_cancel")
    async def cancel(self, conn: Conn, token: TokenPath) -> Response[Any]:
        """Give up the place by the ordinary rules; the page says whether it was late."""
        outcome = await confirmations.cancel(conn, token)
        return PageRedirect("place_link", token=token, query={"done": outcome.status})
