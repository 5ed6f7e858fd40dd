"""The volunteering dashboard page of a committee or an organisation: figures, SVG charts with their tables, files."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.response import Stream, Template

from api import i18n
from api.auth import READS, Conn, User, roles
from api.services import volunteering_dashboard
from api.services.errors import Invalid
from api.services.volunteering_dashboard import HOUR_BANDS, Board
from web.charts import Chart, bar_chart
from web.routes.contracts import Format, download

# A date typed in the period form; anything else is left to the default (and said so beside the field).
DateText = Annotated[str | None, QueryParameter(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
TableQuery = Annotated[Literal["hours", "records", "weeks", "coverage"], QueryParameter()]


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def band_labels() -> list[str]:
    """The hour bands of the spread chart in words."""
    _ = i18n.gettext
    labels: list[str] = []
    for low, high in HOUR_BANDS:
        if high == 1:
            labels.append(_("No confirmed hours"))
        elif high is None:
            labels.append(_("%(low)s h or more") % {"low": low // 60})
        elif low <= 1:
            labels.append(_("Under %(high)s h") % {"high": high // 60})
        else:
            labels.append(_("%(low)s to %(high)s h") % {"low": low // 60, "high": high // 60})
    return labels


def charts(board: Board) -> dict[str, Chart]:
    """The dashboard's bar charts (drawn by dashboard/_bar_chart.html)."""
    _ = i18n.gettext
    locale = i18n.current_locale.get()
    weeks = [i18n.local_date(w.week) for w in board.weeks]
    households = board.households_311
    return {
        "coverage": bar_chart(
            [c.name_en if locale == "en" else c.name_zh for c in board.coverage],
            [_("Needs listed"), _("Needs covered")],
            [[c.listed, c.covered] for c in board.coverage],
        ),
        "places": bar_chart(
            weeks, [_("Places"), _("Places taken")], [[w.headcount, w.taken] for w in board.weeks], i18n.number
        ),
        "hours": bar_chart(
            weeks,
            [_("Hours confirmed"), _("Hours awaiting confirmation")],
            [[w.confirmed_minutes, w.pending_minutes] for w in board.weeks],
            i18n.hours,
        ),
        "spread": bar_chart(band_labels(), [_("Volunteers")], [[n] for n in board.spread.bands], i18n.number),
        "households": bar_chart(
            [_("311 households")],
            [_("Listed on needs"), _("With a live team")],
            [[households.listed, households.covered]],
            i18n.number,
        ),
    }


class VolunteeringDashboardPages(Controller):
    """志愿服务数据看板: our committee's or organisation's volunteering figures."""

    include_in_schema = False

    @get(
        "/volunteering/dashboard",
        name="volunteering_dashboard",
        guards=[roles("committee", "organisation")],
        dependencies=READS,
    )
    async def show(
        self,
        conn: Conn,
        user: User,
        since: DateText = None,
        until: DateText = None,
        fmt: Format = None,
        table: TableQuery = "hours",
    ) -> Template | Stream:
        """The dashboard for a period, or one of its lists as a file."""
        start, end = _date(since), _date(until)
        errors: dict[str, str] = {}
        try:
            volunteering_dashboard.period(start, end)
        except Invalid as exc:
            errors = dict(exc.fields)
            start = end = None
        if fmt is not None:
            exported = await volunteering_dashboard.export_table(
                conn, user, table, i18n.current_locale.get(), since=start, until=end
            )
            return download(exported, fmt)
        board = await volunteering_dashboard.dashboard(conn, user, since=start, until=end)
        query = f"since={board.since.isoformat()}&until={board.until.isoformat()}"
        return Template(
            template_name="volunteering_dashboard/index.html",
            context={
                "who": user,
                "board": board,
                "charts": charts(board),
                "errors": errors,
                "values": {"since": since or board.since.isoformat(), "until": until or board.until.isoformat()},
                "query": query,
                "band_labels": band_labels(),
            },
        )
