"""我的日程: a volunteer's one calendar, every commitment in date order, as phone-first cards."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import calendar


class CalendarPages(Controller):
    """The volunteer's calendar page."""

    include_in_schema = False

    @get("/calendar", name="my_calendar", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User) -> Template:
        """Shifts, home and respite visits and 311 team visits I hold, soonest first, grouped by day."""
        entries = await calendar.my_calendar(conn, user)
        return Template(template_name="calendar/mine.html", context={"who": user, "entries": entries})
