"""The funder's dashboard: committed, awarded and paid per funder and catalogue item, and tenders by stage."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx
import openpyxl

from api.services import dashboard
from api.services.accounts import Identity
from tests.factories import create_account, create_catalogue_item, create_funder, username_of
from tests.factories_contracts import AwardSetup, award_ready, create_lot, create_tender
from tests.helpers import bearer, login
from tests.pages_kit import page_context


async def pay(conn: asyncpg.Connection, setup: AwardSetup, paid: list[int], status: str = "active") -> int:
    """A signed contract for the award whose first milestones are paid these amounts (the rest is one more)."""
    contract_id = int(
        await conn.fetchval(
            """
            INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, signed_at, starts_on,
                                   ends_on, status)
            VALUES ($1, $2, $3, $4, current_date + 30, now(), current_date, current_date + 365, $5) RETURNING id
            """,
            setup.award_id,
            setup.funder_id,
            setup.organisation_id,
            setup.price_fen,
            status,
        )
    )
    rest = setup.price_fen - sum(paid)
    for seq, amount in enumerate([*paid, rest], start=1):
        if amount <= 0:
            continue
        milestone_id = await conn.fetchval(
            "INSERT INTO milestones (contract_id, seq, title, due_on, amount_fen, status)"
            " VALUES ($1, $2::int, '阶段', current_date + $2::int, $3, $4) RETURNING id",
            contract_id,
            seq,
            amount,
            "accepted" if seq <= len(paid) else "planned",
        )
        if seq <= len(paid):
            await conn.execute("INSERT INTO payments (milestone_id, amount_fen) VALUES ($1, $2)", milestone_id, amount)
    return contract_id


class World:
    """Two funders' tenders at several stages."""

    def __init__(self, funder_a: int, account_a: int, funder_b: int, item_x: int, item_y: int) -> None:
        self.funder_a, self.account_a, self.funder_b, self.item_x, self.item_y = (
            funder_a, account_a, funder_b, item_x, item_y,
        )  # fmt: skip


async def world(conn: asyncpg.Connection) -> World:
    item_x, item_y = await create_catalogue_item(conn), await create_catalogue_item(conn)
    funder_a = await create_funder(conn)
    account_a = await create_account(conn, "funder", funder_id=funder_a)
    # Open, item X: two lots, 10,000 + 20,000 yuan committed.
    open_tender = await create_tender(conn, funder_a, account_a, status="open", catalogue_item_id=item_x)
    await create_lot(conn, open_tender, budget_fen=1_000_000, number=1)
    await create_lot(conn, open_tender, budget_fen=2_000_000, number=2)
    # Under contract, item Y: 50,000 committed, 40,000 awarded, 15,000 paid.
    contracting = await award_ready(
        conn, funder_id=funder_a, funder_account=account_a, catalogue_item_id=item_y, price_fen=4_000_000,
        budget_fen=5_000_000, tender_status="contracting", award_status="final",
    )  # fmt: skip
    await pay(conn, contracting, [1_000_000, 500_000])
    # Closed, item X: still counted on the same basis as the others, 9,000 committed, 8,000 awarded and paid.
    closed = await award_ready(
        conn, funder_id=funder_a, funder_account=account_a, catalogue_item_id=item_x, price_fen=800_000,
        budget_fen=900_000, tender_status="closed", award_status="final",
    )  # fmt: skip
    await pay(conn, closed, [800_000], status="completed")
    # A reopened award no longer counts as awarded.
    await conn.execute("UPDATE awards SET status = 'reopened' WHERE id = $1", (await award_ready(
        conn, funder_id=funder_a, funder_account=account_a, catalogue_item_id=item_y, price_fen=123_400,
        budget_fen=200_000, tender_status="cancelled",
    )).award_id)  # fmt: skip
    # Another funder's open tender, item X: 70,000.
    funder_b = await create_funder(conn)
    account_b = await create_account(conn, "funder", funder_id=funder_b)
    other = await create_tender(conn, funder_b, account_b, status="open", catalogue_item_id=item_x)
    await create_lot(conn, other, budget_fen=7_000_000)
    return World(funder_a, account_a, funder_b, item_x, item_y)


def who(role: str, funder_id: int | None = None) -> Identity:
    return Identity(account_id=1, username="x", display_name="x", role=role, locale="zh_CN", funder_id=funder_id)


async def test_a_funder_sees_its_own_figures(conn: asyncpg.Connection) -> None:
    w = await world(conn)
    board = await dashboard.dashboard(conn, who("funder", w.funder_a))
    assert [(r.funder_id, r.committed_fen, r.awarded_fen, r.paid_fen) for r in board.by_funder] == [
        (w.funder_a, 3_000_000 + 5_000_000 + 900_000, 4_000_000 + 800_000, 1_500_000 + 800_000)
    ]
    items = {r.catalogue_item_id: (r.committed_fen, r.awarded_fen, r.paid_fen) for r in board.by_item}
    assert items == {w.item_x: (3_900_000, 800_000, 800_000), w.item_y: (5_000_000, 4_000_000, 1_500_000)}
    assert (board.totals.committed_fen, board.totals.awarded_fen, board.totals.paid_fen) == (
        8_900_000, 4_800_000, 2_300_000,
    )  # fmt: skip
    stages = {s.status: s.tenders for s in board.stages}
    assert stages == {
        "open": 1, "review": 0, "awarding": 0, "awarded": 0, "notice": 0, "contracting": 1, "closed": 1,
        "cancelled": 1,
    }  # fmt: skip
    assert [s.status for s in board.stages][:2] == ["open", "review"]


async def test_an_admin_sees_every_funder(conn: asyncpg.Connection) -> None:
    w = await world(conn)
    board = await dashboard.dashboard(conn, who("admin"))
    by_funder = {r.funder_id: r.committed_fen for r in board.by_funder}
    assert by_funder[w.funder_a] == 8_900_000
    assert by_funder[w.funder_b] == 7_000_000
    item_x = next(r for r in board.by_item if r.catalogue_item_id == w.item_x)
    assert item_x.committed_fen == 10_900_000


async def test_the_api_and_its_exports_agree(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    w = await world(conn)
    headers = await bearer(client, await username_of(conn, w.account_a))
    body = (await client.get("/api/dashboard", headers=headers)).json()
    assert body["totals"] == {"committed_fen": 8_900_000, "awarded_fen": 4_800_000, "paid_fen": 2_300_000}
    assert w.funder_b not in [r["funder_id"] for r in body["by_funder"]]

    response = await client.get("/api/dashboard?format=csv&table=items", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="dashboard-catalogue-items-')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["政府购买服务目录项", "已安排预算（元）", "中标金额（元）", "已拨付（元）"]
    figures = sorted(tuple(r[1:]) for r in rows[1:])
    assert figures == [("39000.00", "8000.00", "8000.00"), ("50000.00", "40000.00", "15000.00")]

    response = await client.get("/api/dashboard?format=xlsx&table=stages", headers=headers)
    assert response.headers["content-type"] == ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert response.headers["content-disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("阶段", "招标项目数")
    assert dict(values[1:]) == {
        "投标中": 1, "评审中": 0, "评标运算中": 0, "已评定": 0, "公示中": 0, "合同履行": 1, "已结束": 1, "已取消": 1,
    }  # fmt: skip

    funders = await client.get("/api/dashboard?format=xlsx&table=funders", headers=headers)
    sheet = openpyxl.load_workbook(io.BytesIO(funders.content)).active
    assert sheet is not None
    rows_x = list(sheet.iter_rows(values_only=True))
    assert len(rows_x) == 2
    assert [float(v) for v in rows_x[1][1:]] == [89000.0, 48000.0, 23000.0]


async def test_the_dashboard_page_draws_charts_with_tables_beside(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    w = await world(conn)
    await login(client, await username_of(conn, w.account_a))
    page = await client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 3
    assert 'role="img"' in html
    assert "<script" not in html
    for table in ("table-items", "table-funders", "table-stages"):
        assert f'id="{table}"' in html
    assert "¥89,000.00" in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    download = await client.get("/dashboard?format=csv&table=funders")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[1][1:] == ["89000.00", "48000.00", "23000.00"]


async def test_only_funders_and_admins_see_the_dashboard(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    assert (await client.get("/api/dashboard")).status_code == 401
    for role in ("organisation", "committee", "volunteer", "reviewer"):
        headers = await bearer(client, await username_of(conn, await create_account(conn, role)))
        assert (await client.get("/api/dashboard", headers=headers)).status_code == 403, role
        assert (await client.get("/api/dashboard?format=csv", headers=headers)).status_code == 403, role


async def test_the_dashboard_page_is_given_the_funders_own_figures(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    w = await world(conn)
    await login(client, await username_of(conn, w.account_a))
    rendered = await page_context(client, "/dashboard")
    assert rendered.template == "dashboard/index.html"
    board = rendered["board"]
    assert (board.totals.committed_fen, board.totals.awarded_fen, board.totals.paid_fen) == (
        8_900_000, 4_800_000, 2_300_000,
    )  # fmt: skip
    assert [r.funder_id for r in board.by_funder] == [w.funder_a]
    # Each chart draws the figures of its table: one group per row, one bar per money series.
    funder_bars = [[bar.value for bar in group.bars] for group in rendered["by_funder_chart"].groups]
    assert funder_bars == [[8_900_000, 4_800_000, 2_300_000]]
    item_bars = sorted([bar.value for bar in group.bars] for group in rendered["by_item_chart"].groups)
    assert item_bars == [[3_900_000, 800_000, 800_000], [5_000_000, 4_000_000, 1_500_000]]
    stage_bars = [group.bars[0].value for group in rendered["stages_chart"].groups]
    assert stage_bars == [s.tenders for s in board.stages]
    assert sum(stage_bars) == 4
    # The largest bar spans the plot; the others are scaled to it.
    assert max(bar.width for group in rendered["by_item_chart"].groups for bar in group.bars) == 400


async def test_no_item_or_funder_of_the_demo_shows_more_awarded_than_budgeted(demo_conn: asyncpg.Connection) -> None:
    # The three columns count the same lots, and a price never exceeds its lot's budget.
    board = await dashboard.dashboard(demo_conn, who("admin"))
    over = [(r.code, r.committed_fen, r.awarded_fen) for r in board.by_item if r.awarded_fen > r.committed_fen]
    over += [
        (r.funder_name, r.committed_fen, r.awarded_fen) for r in board.by_funder if r.awarded_fen > r.committed_fen
    ]
    assert over == []
    assert board.totals.awarded_fen > 0  # the demo has awards, so the comparison is not empty
