"""Contract pages in Chinese: the funder makes a contract from an award, the organisation signs and reports, the
funder accepts and the instalment is paid; errors are shown beside the fields."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx

from api.services.types import today
from tests.browser_helpers import SIGN_IN_SHEET
from tests.factories import username_of
from tests.factories_contracts import award_ready
from tests.helpers import elements, login, parse_page, post_form
from tests.pages_kit import page_context

# Evidence a phone would send, recognised by its first bytes.
PNG = SIGN_IN_SHEET
PHOTO = {"files": ("签到表.png", PNG, "image/png")}
REPORTED = {"report": "完成首期服务", "confirm": "on"}


def form(award_id: int, amounts: list[str]) -> dict[str, str]:
    start = today()
    data = {"award_id": str(award_id), "starts_on": start.isoformat()}
    for n, amount in enumerate(amounts, start=1):
        data[f"title_{n}"] = f"第{n}阶段"
        data[f"due_on_{n}"] = (start + dt.timedelta(days=60 * n)).isoformat()
        data[f"amount_{n}"] = amount
    data["midterm_1"] = "on"
    return data


async def submit_contract(client: httpx.AsyncClient, award_id: int, amounts: list[str]) -> httpx.Response:
    """The funder sends the new-contract form of the award with these instalment amounts (yuan, as typed)."""
    page = f"/contracts/new?award_id={award_id}"
    return await post_form(client, "/contracts/new", form(award_id, amounts), page=page)


async def test_the_flow_through_the_pages(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn, price_fen=12_000_000)
    await login(client, await username_of(conn, setup.funder_account))
    listing = await client.get("/contracts")
    assert listing.status_code == 200
    assert "可签订合同的中标结果" in listing.text
    new_links = [
        a for a, _ in elements(listing.text, "a") if a.get("href") == f"/contracts/new?award_id={setup.award_id}"
    ]
    assert new_links

    page = await client.get(f"/contracts/new?award_id={setup.award_id}")
    assert page.status_code == 200
    assert "¥120,000.00" in page.text
    wrong = await submit_contract(client, setup.award_id, ["40000", "40000", "39999.99"])
    assert wrong.status_code == 422
    assert "分期拨付金额之和必须等于合同金额" in wrong.text
    assert await conn.fetchval("SELECT count(*) FROM contracts WHERE award_id = $1", setup.award_id) == 0
    bad_amount = await submit_contract(client, setup.award_id, ["abc", "60000", "60000"])
    assert bad_amount.status_code == 422
    assert parse_page(bad_amount.text).errors["amount_1"] == "请输入以元为单位的金额"

    made = await submit_contract(client, setup.award_id, ["40000", "40000.50", "39999.50"])
    assert made.status_code in (302, 303), made.text
    contract_path = made.headers["location"]
    contract_id = int(contract_path.rsplit("/", 1)[1])
    amounts = [
        r[0]
        for r in await conn.fetch("SELECT amount_fen FROM milestones WHERE contract_id = $1 ORDER BY seq", contract_id)
    ]
    assert amounts == [4_000_000, 4_000_050, 3_999_950]
    assert await conn.fetchval("SELECT midterm FROM milestones WHERE contract_id = $1 AND seq = 1", contract_id)

    client.cookies.clear()
    await login(client, await username_of(conn, setup.organisation_account))
    detail = await client.get(contract_path)
    assert "签订合同" in detail.text
    signed = await post_form(client, f"{contract_path}/sign", {}, page=contract_path)
    assert signed.status_code in (302, 303)
    # The first milestone falls due (a report is taken from 30 days before the due date).
    await conn.execute("UPDATE milestones SET due_on = current_date WHERE contract_id = $1 AND seq = 1", contract_id)
    report = f"{contract_path}/milestones/1/report"
    unconfirmed = await post_form(client, report, {"report": "完成首期服务"}, page=contract_path, files=PHOTO)
    assert unconfirmed.status_code == 422
    shown = parse_page(unconfirmed.text)
    assert shown.errors["confirm-1"] == "请确认报告及佐证材料真实"
    assert "完成首期服务" in unconfirmed.text  # what was typed stays
    not_a_photo = {"files": ("签到表.exe", b"MZ\x90\x00", "application/octet-stream")}
    refused = await post_form(client, report, REPORTED, page=contract_path, files=not_a_photo)
    assert refused.status_code == 422
    assert parse_page(refused.text).errors["files-1"] == "只接受 JPEG、PNG 或 PDF 文件"
    assert await conn.fetchval("SELECT count(*) FROM milestone_attachments") == 0
    reported = await post_form(client, report, REPORTED, page=contract_path, files=PHOTO)
    assert reported.status_code in (302, 303), reported.text
    rendered = await page_context(client, contract_path)
    (photo,) = rendered["files"][1]
    assert (photo.filename, photo.content_type, photo.size_bytes) == ("签到表.png", "image/png", len(PNG))
    download = await client.get(
        f"{contract_path}/milestones/1/attachments/{photo.id}".replace("/contracts", "/api/contracts")
    )
    assert download.status_code == 200 and download.content == PNG
    assert "filename*=UTF-8''%E7%AD%BE%E5%88%B0%E8%A1%A8.png" in download.headers["content-disposition"]
    empty = await post_form(client, f"{contract_path}/milestones/2/report", {"report": "  "}, page=contract_path)
    assert empty.status_code == 422
    assert "请填写本阶段完成的服务内容" in empty.text

    client.cookies.clear()
    await login(client, await username_of(conn, setup.funder_account))
    decision = f"{contract_path}/milestones/1/decision"
    asked = await post_form(client, decision, {"decision": "accept", "note": "验收通过"}, page=contract_path)
    assert asked.status_code == 200  # a page that says what accepting does, before it is done
    assert "确定验收本阶段并拨付吗？" in asked.text and "¥40,000.00" in asked.text and "签到表.png" in asked.text
    confirm = parse_page(asked.text).inputs
    assert (confirm["decision"], confirm["note"], confirm["confirmed"]) == ("accept", "验收通过", "1")
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0
    accepted = await post_form(
        client, decision, {"decision": "accept", "note": "验收通过", "confirmed": "1"}, page=contract_path
    )
    assert accepted.status_code in (302, 303)
    again = await post_form(client, decision, {"decision": "accept", "confirmed": "1"}, page=contract_path)
    assert again.status_code == 409
    assert "该阶段节点当前的状态不允许此操作" in again.text
    detail = await client.get(contract_path)
    assert "已验收并拨付" in detail.text
    assert "¥40,000.00" in detail.text
    payments = await client.get("/payments")
    assert "¥40,000.00" in payments.text
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM payments p JOIN milestones m ON m.id = p.milestone_id WHERE m.contract_id = $1",
            contract_id,
        )
        == 1
    )
