"""Contracts, milestones and payments download as CSV and XLSX that parse back to the rows on the page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import asyncpg
import httpx
import openpyxl

from api.services import exports
from api.services.types import SHANGHAI
from tests.factories import username_of
from tests.factories_contracts import award_ready
from tests.helpers import bearer, login
from tests.test_contracts_api import make_contract


def parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def parse_xlsx(body: bytes) -> list[tuple[object, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


async def paid_contract(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> tuple[int, dict[str, str], dict[str, str]]:
    """A contract of 90,000 yuan in three milestones, the first paid; with the funder's and organisation's headers."""
    setup = await award_ready(conn, price_fen=9_000_000)
    await conn.execute("UPDATE organisations SET name = '=HYPERLINK(\"x\")社工' WHERE id = $1", setup.organisation_id)
    contract_id = (await make_contract(client, conn, setup))["contract"]["id"]
    funder = await bearer(client, await username_of(conn, setup.funder_account))
    org = await bearer(client, await username_of(conn, setup.organisation_account))
    await client.post(f"/api/contracts/{contract_id}/sign", headers=org)
    await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "完成"}, headers=org)
    await client.post(f"/api/contracts/{contract_id}/milestones/1/decision", json={"accept": True}, headers=funder)
    return contract_id, funder, org


async def test_contracts_as_csv_and_xlsx(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    contract_id, funder, _ = await paid_contract(client, conn)
    response = await client.get("/api/contracts?format=csv", headers=funder)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="contracts-{dt.datetime.now(SHANGHAI):%Y%m%d}.csv"'
    )
    rows = parse_csv(response.content)
    assert rows[0][:3] == ["合同编号", "招标项目", "标段"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["合同编号"] == str(contract_id)
    assert row["合同金额（元）"] == "90000.00"
    assert row["已拨付（元）"] == "30000.00"
    assert row["状态"] == "履行中"
    # A name that a spreadsheet would run as a formula is written as text.
    assert row["社会组织"].startswith("'=HYPERLINK")

    response = await client.get("/api/contracts?format=xlsx", headers=funder)
    assert response.headers["content-type"] == exports.XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    table = parse_xlsx(response.content)
    assert len(table) == 2
    sheet_row = dict(zip(table[0], table[1], strict=True))
    assert sheet_row["合同编号"] == contract_id
    assert Decimal(str(sheet_row["合同金额（元）"])) == Decimal("90000")
    assert isinstance(sheet_row["签订时间"], dt.datetime)
    assert str(sheet_row["社会组织"]).startswith("'=")


async def test_milestones_and_payments_export(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    contract_id, funder, org = await paid_contract(client, conn)
    milestones = parse_csv(
        (await client.get(f"/api/contracts/{contract_id}/milestones?format=csv", headers=org)).content
    )
    assert milestones[0][:3] == ["合同编号", "序号", "阶段节点"]
    assert [r[1] for r in milestones[1:]] == ["1", "2", "3"]
    assert [r[6] for r in milestones[1:]] == ["已验收", "未开始", "未开始"]
    assert sum(Decimal(r[4]) for r in milestones[1:]) == Decimal("90000.00")
    sheet = parse_xlsx(
        (await client.get(f"/api/contracts/{contract_id}/milestones?format=xlsx", headers=funder)).content
    )
    assert [r[1] for r in sheet[1:]] == [1, 2, 3]
    payments = parse_csv((await client.get("/api/payments?format=csv", headers=funder)).content)
    assert len(payments) == 2
    assert payments[1][1] == str(contract_id)
    assert payments[1][6] == "30000.00"
    xlsx = parse_xlsx((await client.get("/api/payments?format=xlsx", headers=org)).content)
    assert len(xlsx) == 2


async def test_english_headers_for_an_english_reader(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    _, funder, _ = await paid_contract(client, conn)
    client.cookies.set("linli_locale", "en")
    rows = parse_csv((await client.get("/api/contracts?format=csv", headers=funder)).content)
    assert rows[0][:3] == ["Contract", "Tender", "Lot"]
    assert rows[1][11] == "active"


async def test_page_downloads_are_the_callers_only(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    contract_id, _, _ = await paid_contract(client, conn)
    other = await award_ready(conn)
    await make_contract(client, conn, other)
    await login(client, await username_of(conn, other.organisation_account))
    rows = parse_csv((await client.get("/contracts?format=csv")).content)
    assert len(rows) == 2
    assert rows[1][0] != str(contract_id)
    assert (await client.get(f"/contracts/{contract_id}?format=csv")).status_code == 404


def test_csv_streams_in_chunks() -> None:
    table = exports.Table(
        name="t", columns=[exports.Column("N", "数", "int"), exports.Column("Fen", "元", "money")],
        rows=((n, n * 100) for n in range(1000)),
    )  # fmt: skip
    chunks = list(exports.csv_chunks(table, "zh_CN"))
    assert len(chunks) > 3
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert rows[0] == ["数", "元"]
    assert rows[-1] == ["999", "999.00"]
    assert len(rows) == 1001


async def test_a_download_holds_the_whole_list_not_one_page(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    first = await award_ready(conn)
    second = await award_ready(conn, funder_id=first.funder_id, funder_account=first.funder_account)
    await make_contract(client, conn, first)
    await make_contract(client, conn, second)
    funder = await bearer(client, await username_of(conn, first.funder_account))
    assert len((await client.get("/api/contracts?limit=1", headers=funder)).json()["items"]) == 1
    rows = parse_csv((await client.get("/api/contracts?limit=1&format=csv", headers=funder)).content)
    assert len(rows) == 3
