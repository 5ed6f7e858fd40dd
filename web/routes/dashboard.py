"""The funder's dashboard page: figures, SVG bar charts with their tables, and downloads of each table."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.response import Stream, Template

from api import i18n
from api.auth import READS, Conn, User, roles
from api.services import dashboard
from web.charts import bar_chart
from web.routes.contracts import Format, download

STAGE_NAMES = {
    "open": "Open for bids",
    "review": "In review",
    "awarding": "Award run in progress",
    "awarded": "Award decided",
    "notice": "Public notice",
    "contracting": "Under contract",
    "closed": "Closed",
    "cancelled": "Cancelled",
}


class DashboardPages(Controller):
    """工作台: budget committed, awarded and paid; tenders by stage."""

    include_in_schema = False

    @get("/dashboard", name="dashboard", guards=[roles("funder", "admin")], dependencies=READS)
    async def show(
        self,
        conn: Conn,
        user: User,
        fmt: Format = None,
        table: Annotated[Literal["funders", "items", "stages"], QueryParameter()] = "items",
    ) -> Template | Stream:
        """The dashboard, or one of its tables as a file."""
        board = await dashboard.dashboard(conn, user)
        locale = i18n.current_locale.get()
        if fmt is not None:
            return download(dashboard.export_table(board, table, locale), fmt)
        _ = i18n.gettext
        money = [_("Committed"), _("Awarded"), _("Paid")]
        by_item = bar_chart(
            [r.name_en if locale == "en" else r.name_zh for r in board.by_item],
            money,
            [[r.committed_fen, r.awarded_fen, r.paid_fen] for r in board.by_item],
            i18n.yuan,
        )
        by_funder = bar_chart(
            [r.funder_name for r in board.by_funder],
            money,
            [[r.committed_fen, r.awarded_fen, r.paid_fen] for r in board.by_funder],
            i18n.yuan,
        )
        stages = bar_chart(
            [_(STAGE_NAMES[r.status]) for r in board.stages],
            [_("Number of tenders")],
            [[r.tenders] for r in board.stages],
        )
        return Template(
            template_name="dashboard/index.html",
            context={
                "who": user,
                "board": board,
                "by_item_chart": by_item,
                "by_funder_chart": by_funder,
                "stages_chart": stages,
            },
        )
