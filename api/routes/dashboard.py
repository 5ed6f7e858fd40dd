"""The funder's dashboard as JSON, and each of its tables as CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from api.auth import READS, Conn, User, roles
from api.routes.downloads import FormatParam, file_response, locale_of
from api.schemas.common import out
from api.schemas.dashboard import DashboardOut
from api.services import dashboard


class DashboardController(Controller):
    """Budget committed, awarded and paid; tenders by stage."""

    path = "/api/dashboard"
    tags = ("dashboard",)

    @get("/", operation_id="getDashboard", guards=[roles("funder", "admin")], dependencies=READS)
    async def get_dashboard(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        fmt: FormatParam = None,
        table: Annotated[Literal["funders", "items", "stages"], QueryParameter()] = "items",
    ) -> DashboardOut | Stream:
        """A funder's own figures (an admin sees every funder); `?format=csv|xlsx&table=…` downloads a table."""
        board = await dashboard.dashboard(conn, user)
        if fmt is not None:
            locale = locale_of(request)
            return file_response(dashboard.export_table(board, table, locale), fmt, locale)
        return out(board, DashboardOut)
