"""The in-app inbox (消息): the caller's notifications in their language, marked read one by one or all at once."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, current_identity, login_required
from api.services import notifications
from api.services.accounts import Identity
from api.services.errors import Invalid
from api.services.notifications import ContactForm
from web.forms import parse_form
from web.routes._common import PAGE_SIZE, FormData, PageRedirect, multi, offset_of, redisplay

PageQuery = Annotated[int, QueryParameter(ge=1, le=100_000)]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^contact$")]
UNREAD_STATE_KEY = "unread_notifications"


async def load_unread_count(request: Request[Any, Any, Any]) -> None:
    """Before every page: the caller's unread count, which base.html shows beside the inbox link."""
    who = current_identity(request)
    if who is None:
        return
    async with request.app.state.pool.acquire() as conn:
        request.state[UNREAD_STATE_KEY] = await notifications.unread_count(conn, who)


async def _inbox_page(
    conn: Conn,
    user: Identity,
    *,
    page: int = 1,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    items = await notifications.inbox(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
    if values is None:
        saved = await notifications.contact(conn, user)
        values = {"email": saved.email or "", "phone": saved.phone or ""}
    return Template(
        template_name="notifications/inbox.html",
        context={
            "who": user,
            "items": items,
            "page": page,
            "page_size": PAGE_SIZE,
            "done": done,
            "errors": errors or {},
            "values": values,
        },
        status_code=status_code,
    )


class InboxPages(Controller):
    """消息: reminders, waitlist promotions and cancellations for the logged-in account."""

    include_in_schema = False

    @get("/inbox", name="inbox", guards=[login_required])
    async def inbox(self, conn: Conn, user: User, page: PageQuery = 1, done: DoneQuery = None) -> Template:
        """The caller's notifications, newest first, the unread ones marked; where email and SMS reach them."""
        return await _inbox_page(conn, user, page=page, done=done)

    @post("/inbox/contact", name="inbox_contact", guards=[login_required])
    async def set_contact(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Save where email and SMS reminders go, or show the inbox again with each field's error."""
        form = multi(data)
        command, errors = parse_form(ContactForm, form)
        if command is not None:
            try:
                await notifications.set_contact(conn, user, command)
            except Invalid as exc:
                errors = dict(exc.fields)
        if errors or command is None:
            return await _inbox_page(conn, user, errors=errors, values=redisplay(form), status_code=422)
        return PageRedirect("inbox", query={"done": "contact"})

    @post("/inbox/{notification_id:int}/read", name="inbox_read", guards=[login_required])
    async def mark_read(self, conn: Conn, user: User, notification_id: FromPath[int]) -> PageRedirect:
        """Mark one notification read and go back to the inbox."""
        await notifications.mark_read(conn, user, notification_id)
        return PageRedirect("inbox")

    @post("/inbox/read-all", name="inbox_read_all", guards=[login_required])
    async def mark_all_read(self, conn: Conn, user: User) -> PageRedirect:
        """Mark every notification read."""
        await notifications.mark_all_read(conn, user)
        return PageRedirect("inbox")
