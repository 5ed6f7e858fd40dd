"""The caller's notifications (the in-app inbox): list them and mark them read."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, login_required
from api.routes.paging import Limit, Offset
from api.schemas.common import out, outs
from api.schemas.notifications import ContactOut, InboxOut, NotificationOut, ReadOut
from api.services import notifications
from api.services.notifications import ContactForm


class NotificationController(Controller):
    """Reminders, waitlist promotions and cancellations addressed to the caller."""

    path = "/api/notifications"
    tags = ("notifications",)

    @get("/", operation_id="listNotifications", guards=[login_required])
    async def list_notifications(
        self,
        conn: Conn,
        user: User,
        unread_only: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> InboxOut:
        """The caller's notifications that have fallen due, newest first, with the unread count."""
        rows = await notifications.inbox(conn, user, unread_only=unread_only, limit=limit, offset=offset)
        return InboxOut(unread=await notifications.unread_count(conn, user), items=outs(rows, NotificationOut))

    @post("/{notification_id:int}/read", operation_id="markNotificationRead", guards=[login_required], status_code=200)
    async def mark_read(self, conn: Conn, user: User, notification_id: FromPath[int]) -> ReadOut:
        """Mark one of the caller's notifications read (404 for anyone else's)."""
        await notifications.mark_read(conn, user, notification_id)
        return ReadOut(id=notification_id, read=True)

    @get("/contact", operation_id="getNotificationContact", guards=[login_required])
    async def get_contact(self, conn: Conn, user: User) -> ContactOut:
        """Where email and SMS reminders reach the caller."""
        return out(await notifications.contact(conn, user), ContactOut)

    @put("/contact", operation_id="setNotificationContact", guards=[login_required])
    async def set_contact(self, conn: Conn, user: User, data: JSONBody[ContactForm]) -> ContactOut:
        """Set where email and SMS reminders reach the caller (an empty value removes it; 422 with field errors)."""
        return out(await notifications.set_contact(conn, user, data), ContactOut)
