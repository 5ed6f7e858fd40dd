"""The in-app inbox (消息): the caller's notifications in their language, marked read one by one or all at once."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from api.auth import Conn, User, current_identity, login_required
from api.services import notifications
from web.routes._common import PAGE_SIZE, offset_of

PageQuery = Annotated[int, QueryParameter(ge=1, le=100_000)]
UNREAD_STATE_KEY = "unread_notifications"


async def load_unread_count(request: Request[Any, Any, Any]) -> None:
    """Before every page: the caller's unread count, which base.html shows beside the inbox link."""
    who = current_identity(request)
    if who is None:
        return
    async with request.app.state.pool.acquire() as conn:
        request.state[UNREAD_STATE_KEY] = await notifications.unread_count(conn, who)


class InboxPages(Controller):
    """消息: reminders, waitlist promotions and cancellations for the logged-in account."""

    include_in_schema = False

    @get("/inbox", name="inbox", guards=[login_required])
    async def inbox(self, conn: Conn, user: User, page: PageQuery = 1) -> Template:
        """The caller's notifications, newest first, the unread ones marked."""
        items = await notifications.inbox(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="notifications/inbox.html",
            context={"who": user, "items": items, "page": page, "page_size": PAGE_SIZE},
        )

    @post("/inbox/{notification_id:int}/read", name="inbox_read", guards=[login_required])
    async def mark_read(self, conn: Conn, user: User, notification_id: FromPath[int]) -> Redirect:
        """Mark one notification read and go back to the inbox."""
        await notifications.mark_read(conn, user, notification_id)
        return Redirect(path="/inbox")

    @post("/inbox/read-all", name="inbox_read_all", guards=[login_required])
    async def mark_all_read(self, conn: Conn, user: User) -> Redirect:
        """Mark every notification read."""
        await notifications.mark_all_read(conn, user)
        return Redirect(path="/inbox")
