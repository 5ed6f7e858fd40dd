"""The funder's dashboard: money committed, awarded and paid, per funder and per catalogue item; tenders by stage."""

from __future__ import annotations

from typing import Literal

import asyncpg
import msgspec

from api.services.accounts import Identity
from api.services.errors import Forbidden
from api.services.exports import Column, Table
from sql import dashboard as dashboard_sql

DashboardTable = Literal["funders", "items", "stages"]
STAGES = ("open", "review", "awarding", "awarded", "notice", "contracting", "closed", "cancelled")


class Totals(msgspec.Struct, frozen=True):
    """The three sums across the rows shown."""

    committed_fen: int
    awarded_fen: int
    paid_fen: int


class Dashboard(msgspec.Struct, frozen=True):
    """Everything the dashboard shows, for one funder (or the whole platform for an admin)."""

    funder_id: int | None
    totals: Totals
    by_funder: list[dashboard_sql.MoneyByFunder]
    by_item: list[dashboard_sql.MoneyByItem]
    stages: list[dashboard_sql.StageCount]


def _scope(who: Identity) -> int | None:
    """The funder whose figures the caller sees; None (all funders) for an admin."""
    if who.role == "admin":
        return None
    if who.role == "funder" and who.funder_id is not None:
        return who.funder_id
    raise Forbidden("Only funders and admins see the dashboard")


async def dashboard(conn: asyncpg.Connection, who: Identity) -> Dashboard:
    """A funder's own figures; an admin's view of every funder."""
    funder_id = _scope(who)
    by_funder = await dashboard_sql.money_by_funder(conn, funder_id)
    totals = Totals(
        committed_fen=sum(r.committed_fen for r in by_funder),
        awarded_fen=sum(r.awarded_fen for r in by_funder),
        paid_fen=sum(r.paid_fen for r in by_funder),
    )
    return Dashboard(
        funder_id=funder_id,
        totals=totals,
        by_funder=by_funder,
        by_item=await dashboard_sql.money_by_item(conn, funder_id),
        stages=await dashboard_sql.tenders_by_stage(conn, funder_id),
    )


_MONEY = [
    Column("Committed (yuan)", "已安排预算（元）", "money"),
    Column("Awarded (yuan)", "中标金额（元）", "money"),
    Column("Paid (yuan)", "已拨付（元）", "money"),
]
_STAGE_ZH = {
    "open": "投标中", "review": "评审中", "awarding": "评标运算中", "awarded": "已评定", "notice": "公示中",
    "contracting": "合同履行", "closed": "已结束", "cancelled": "已取消",
}  # fmt: skip


def export_table(board: Dashboard, table: DashboardTable, locale: str) -> Table:
    """One of the dashboard's tables, ready to export."""
    if table == "funders":
        return Table(
            name="dashboard-funders",
            columns=[Column("Funder", "出资方"), *_MONEY],
            rows=[(r.funder_name, r.committed_fen, r.awarded_fen, r.paid_fen) for r in board.by_funder],
        )
    if table == "items":
        return Table(
            name="dashboard-catalogue-items",
            columns=[Column("Catalogue item", "政府购买服务目录项"), *_MONEY],
            rows=[
                (r.name_en if locale == "en" else r.name_zh, r.committed_fen, r.awarded_fen, r.paid_fen)
                for r in board.by_item
            ],
        )
    return Table(
        name="dashboard-stages",
        columns=[Column("Stage", "阶段"), Column("Number of tenders", "招标项目数", "int")],
        rows=[(r.status if locale == "en" else _STAGE_ZH[r.status], r.tenders) for r in board.stages],
    )
