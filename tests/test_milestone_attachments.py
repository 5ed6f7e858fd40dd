"""A milestone report's evidence: files checked by their first bytes, at most five, kept whole with the report,
frozen once reported, and read only by the contract's parties."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from api.services import contracts
from api.services.contracts import MilestoneReport, Upload
from api.services.errors import Conflict
from tests.factories import create_account, create_org, identity_of
from tests.test_contracts_api import contract_of_a_new_award, headers_of
from tests.test_contracts_pages import PNG

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def attachments(contract_id: int, seq: int = 1) -> str:
    return f"/api/contracts/{contract_id}/milestones/{seq}/attachments"


async def _signed(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> tuple[int, dict[str, str], dict[str, str], int]:
    """A signed contract whose first milestone is due; the organisation's and the funder's headers; the organisation's
    account."""
    setup, contract_id, org, funder = await contract_of_a_new_award(client, conn)
    assert (await client.post(f"/api/contracts/{contract_id}/sign", headers=org)).status_code == 200
    await conn.execute("UPDATE milestones SET due_on = current_date WHERE contract_id = $1 AND seq = 1", contract_id)
    return contract_id, org, funder, setup.organisation_account


async def test_files_are_checked_counted_and_frozen_by_the_report(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    contract_id, org, funder, _ = await _signed(client, conn)
    url = attachments(contract_id)
    added = await client.post(url, params={"filename": "C:\\相册\\活动照片.png"}, content=PNG, headers=org)
    assert added.status_code == 201, added.text
    (file,) = added.json()["attachments"]
    assert (file["seq"], file["filename"], file["content_type"], file["size_bytes"]) == (
        1,
        "活动照片.png",
        "image/png",
        len(PNG),
    )
    renamed_exe = await client.post(url, params={"filename": "report.pdf"}, content=b"MZ\x90\x00", headers=org)
    assert renamed_exe.status_code == 422
    assert [e["field"] for e in renamed_exe.json()["errors"]] == ["files"]
    empty = await client.post(url, params={"filename": "blank.pdf"}, content=b"", headers=org)
    assert empty.status_code == 422
    sent = [await client.post(url, params={"filename": f"p{i}.pdf"}, content=PDF, headers=org) for i in range(5)]
    assert [r.status_code for r in sent] == [201, 201, 201, 201, 409]  # five in all, the photo included
    assert await conn.fetchval("SELECT count(*) FROM milestone_attachments") == 5
    # The funder may not add evidence for the organisation.
    assert (await client.post(url, params={"filename": "x.pdf"}, content=PDF, headers=funder)).status_code == 403

    reported = await client.post(
        f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "完成首期服务"}, headers=org
    )
    assert reported.status_code == 200
    # The funder decides on what was reported: nothing is added after the report.
    await conn.execute("DELETE FROM milestone_attachments WHERE filename = 'p0.pdf'")
    late = await client.post(url, params={"filename": "late.pdf"}, content=PDF, headers=org)
    assert late.status_code == 409
    audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'milestone.attach'")
    assert audited == 5


async def test_only_the_contracts_parties_read_a_file(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    contract_id, org, funder, _ = await _signed(client, conn)
    added = await client.post(attachments(contract_id), params={"filename": "签到表.pdf"}, content=PDF, headers=org)
    file_id = added.json()["attachments"][0]["id"]
    path = f"{attachments(contract_id)}/{file_id}"
    for headers in (org, funder):
        got = await client.get(path, headers=headers)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"].startswith("application/pdf")
        assert got.headers["x-content-type-options"] == "nosniff"
    outsiders = {
        "another organisation": await create_account(conn, "organisation", organisation_id=await create_org(conn)),
        "a volunteer": await create_account(conn, "volunteer"),
    }
    for who, account in outsiders.items():
        refused = await client.get(path, headers=await headers_of(client, conn, account))
        assert refused.status_code in (403, 404), who
        assert refused.headers["content-type"].startswith("application/problem+json"), who
    # The file's id under another milestone or contract is no address for it.
    assert (await client.get(f"{attachments(contract_id, 2)}/{file_id}", headers=org)).status_code == 404


async def test_a_refused_report_keeps_none_of_its_files(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    contract_id, _, _, account = await _signed(client, conn)
    # The second milestone is out of order: the report and the file sent with it are refused together.
    who = await identity_of(conn, account)
    with pytest.raises(Conflict) as refused:
        await contracts.report_milestone(
            conn, who, contract_id, 2, MilestoneReport(report="第二期"), (Upload("p.pdf", PDF),), max_bytes=10**6
        )
    assert refused.value.fields == {"report": contracts.REPORT_OUT_OF_ORDER}
    assert await conn.fetchval("SELECT count(*) FROM milestone_attachments") == 0
    assert await conn.fetchval("SELECT status FROM milestones WHERE contract_id = $1 AND seq = 2", contract_id) == (
        "planned"
    )
