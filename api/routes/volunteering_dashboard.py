"""The volunteering dashboard of the caller's committee or organisation as JSON, and its lists as CSV or XLSX."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from api.auth import READS, Conn, User, roles
from api.routes.downloads import FormatParam, file_response, locale_of
from api.schemas.common import out
from api.schemas.volunteering_dashboard import VolunteeringDashboardOut
from api.services import volunteering_dashboard

DateParam = Annotated[dt.date | None, QueryParameter()]


class VolunteeringDashboardController(Controller):
    """Needs covered, places filled, hours confirmed, 311 households covered, and how evenly hours are spread."""

    path = "/api/volunteering/dashboard"
    tags = ("volunteering dashboard",)

    @get(
        "/",
        operation_id="getVolunteeringDashboard",
        guards=[roles("committee", "organisation")],
        dependencies=READS,
    )
    async def get_dashboard(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        since: DateParam = None,
        until: DateParam = None,
        fmt: FormatParam = None,
        table: Annotated[Literal["hours", "records", "weeks", "coverage"], QueryParameter()] = "hours",
    ) -> VolunteeringDashboardOut | Stream:
        """The caller's own figures for a period (`since`/`until`, both included; 12 weeks back and 2 ahead by
        default); `?format=csv|xlsx&table=hours|records|weeks|coverage` downloads a list."""
        if fmt is not None:
            locale = locale_of(request)
            exported = await volunteering_dashboard.export_table(conn, user, table, locale, since=since, until=until)
            return file_response(exported, fmt, locale)
        board = await volunteering_dashboard.dashboard(conn, user, since=since, until=until)
        return out(board, VolunteeringDashboardOut)
