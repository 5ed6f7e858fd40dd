"""Contracts through the JSON API: made after the notice, instalments adding up, milestones paid or stopped, grades."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx

from api.services.types import today
from sql import contracts as contracts_sql
from tests.factories import create_account, username_of
from tests.factories_contracts import AwardSetup, award_ready, create_objection
from tests.factories_tendering import create_need
from tests.helpers import bearer

TODAY = today()


def plan(total: int, *, midterm_first: bool = False, parts: int = 3) -> list[dict[str, Any]]:
    """Milestones splitting `total` into `parts` instalments, one a month from today."""
    share = total // parts
    amounts = [share] * (parts - 1) + [total - share * (parts - 1)]
    return [
        {
            "title": f"第{i + 1}阶段",
            "due_on": (TODAY + dt.timedelta(days=30 * (i + 1))).isoformat(),
            "amount_fen": amount,
            "midterm": midterm_first and i == 0,
        }
        for i, amount in enumerate(amounts)
    ]


async def headers_of(client: httpx.AsyncClient, conn: asyncpg.Connection, account_id: int) -> dict[str, str]:
    return await bearer(client, await username_of(conn, account_id))


async def make_contract(
    client: httpx.AsyncClient, conn: asyncpg.Connection, setup: AwardSetup, **plan_kw: Any
) -> dict[str, Any]:
    funder = await headers_of(client, conn, setup.funder_account)
    response = await client.post(
        "/api/contracts",
        json={"award_id": setup.award_id, "milestones": plan(setup.price_fen, **plan_kw)},
        headers=funder,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def contract_of_a_new_award(
    client: httpx.AsyncClient, conn: asyncpg.Connection, **plan_kw: Any
) -> tuple[AwardSetup, int, dict[str, str], dict[str, str]]:
    """A 90,000-yuan award, its contract (not signed yet), and the organisation's and the funder's bearer headers."""
    setup = await award_ready(conn, price_fen=9_000_000)
    contract_id = int((await make_contract(client, conn, setup, **plan_kw))["contract"]["id"])
    org = await headers_of(client, conn, setup.organisation_account)
    funder = await headers_of(client, conn, setup.funder_account)
    return setup, contract_id, org, funder


async def test_contract_after_the_notice_takes_the_winning_price_and_the_lots_period(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    setup = await award_ready(conn, price_fen=12_345_600)
    body = await make_contract(client, conn, setup)
    contract = body["contract"]
    assert contract["amount_fen"] == 12_345_600
    assert contract["status"] == "unsigned"
    assert contract["starts_on"] == TODAY.isoformat()
    ends = dt.date.fromisoformat(contract["ends_on"])
    assert (ends - TODAY).days in range(363, 366)
    notice_end = await conn.fetchval(
        "SELECT (notice_ends_at AT TIME ZONE 'Asia/Shanghai')::date FROM tenders WHERE id = $1", setup.tender_id
    )
    assert contract["sign_by"] == (notice_end + dt.timedelta(days=30)).isoformat()
    assert [m["seq"] for m in body["milestones"]] == [1, 2, 3]
    assert sum(m["amount_fen"] for m in body["milestones"]) == 12_345_600
    assert await conn.fetchval("SELECT status FROM awards WHERE id = $1", setup.award_id) == "final"
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", setup.tender_id) == "contracting"
    actions = [r[0] for r in await conn.fetch("SELECT action FROM audit_log WHERE object_type = 'contract'")]
    assert "contract.create" in actions


async def test_a_contract_marks_the_lots_needs_funded(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn)
    committee_account = await create_account(conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", committee_account)
    need_id = await create_need(conn, committee_id, setup.catalogue_item_id, committee_account, status="in_tender")
    await conn.execute("INSERT INTO lot_needs (lot_id, need_id) VALUES ($1, $2)", setup.lot_id, need_id)
    await make_contract(client, conn, setup)
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", need_id) == "funded"


async def test_no_contract_while_the_notice_runs(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn, notice_ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    funder = await headers_of(client, conn, setup.funder_account)
    response = await client.post(
        "/api/contracts", json={"award_id": setup.award_id, "milestones": plan(setup.price_fen)}, headers=funder
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "公示期尚未结束"
    assert await conn.fetchval("SELECT count(*) FROM contracts WHERE award_id = $1", setup.award_id) == 0


async def test_no_contract_with_a_pending_or_upheld_objection(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    for outcome, lot_level in (("pending", True), ("upheld", True), ("pending", False)):
        setup = await award_ready(conn)
        objector = await create_account(conn, "volunteer")
        await create_objection(conn, setup.tender_id, setup.lot_id if lot_level else None, objector, outcome)
        funder = await headers_of(client, conn, setup.funder_account)
        response = await client.post(
            "/api/contracts", json={"award_id": setup.award_id, "milestones": plan(setup.price_fen)}, headers=funder
        )
        assert response.status_code == 409, (outcome, lot_level)
        assert "质疑" in response.json()["detail"]


async def test_a_rejected_objection_does_not_block_the_contract(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    setup = await award_ready(conn)
    await create_objection(conn, setup.tender_id, setup.lot_id, await create_account(conn, "volunteer"), "rejected")
    await make_contract(client, conn, setup)


async def test_an_unpublished_award_and_a_second_contract_are_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    proposed = await award_ready(conn, award_status="proposed")
    funder = await headers_of(client, conn, proposed.funder_account)
    response = await client.post(
        "/api/contracts", json={"award_id": proposed.award_id, "milestones": plan(proposed.price_fen)}, headers=funder
    )
    assert response.status_code == 409
    setup = await award_ready(conn)
    await make_contract(client, conn, setup)
    funder = await headers_of(client, conn, setup.funder_account)
    again = await client.post(
        "/api/contracts", json={"award_id": setup.award_id, "milestones": plan(setup.price_fen)}, headers=funder
    )
    assert again.status_code == 409
    assert await conn.fetchval("SELECT count(*) FROM contracts WHERE award_id = $1", setup.award_id) == 1


async def test_instalments_must_add_up_to_the_amount(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn, price_fen=10_000_000)
    funder = await headers_of(client, conn, setup.funder_account)
    for milestones in (plan(9_999_999), plan(10_000_001), plan(10_000_000)[:1] + plan(10_000_000)[:1]):
        response = await client.post(
            "/api/contracts", json={"award_id": setup.award_id, "milestones": milestones}, headers=funder
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["errors"] == [{"field": "milestones", "message": "分期拨付金额之和必须等于合同金额"}]
    late = plan(10_000_000)
    late[-1]["due_on"] = (TODAY + dt.timedelta(days=800)).isoformat()
    response = await client.post(
        "/api/contracts", json={"award_id": setup.award_id, "milestones": late}, headers=funder
    )
    assert response.status_code == 422
    negative = plan(10_000_000)
    negative[0]["amount_fen"] = -1
    response = await client.post(
        "/api/contracts", json={"award_id": setup.award_id, "milestones": negative}, headers=funder
    )
    assert response.status_code in (400, 422)
    assert await conn.fetchval("SELECT count(*) FROM contracts WHERE award_id = $1", setup.award_id) == 0


async def test_report_and_accept_pays_the_instalment_and_the_last_completes(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    _, contract_id, org, funder = await contract_of_a_new_award(client, conn)
    early = await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "x"}, headers=org)
    assert early.status_code == 409  # not signed yet
    signed = await client.post(f"/api/contracts/{contract_id}/sign", headers=org)
    assert signed.status_code == 200
    assert signed.json()["contract"]["status"] == "active"
    assert (await client.post(f"/api/contracts/{contract_id}/sign", headers=funder)).status_code == 409
    not_reported = await client.post(
        f"/api/contracts/{contract_id}/milestones/1/decision", json={"accept": True}, headers=funder
    )
    assert not_reported.status_code == 409
    for seq in (1, 2, 3):
        # Each milestone is reported when it falls due (a report is taken from 30 days before the due date).
        await conn.execute(
            "UPDATE milestones SET due_on = current_date WHERE contract_id = $1 AND seq = $2", contract_id, seq
        )
        reported = await client.post(
            f"/api/contracts/{contract_id}/milestones/{seq}/report",
            json={"report": f"完成第{seq}阶段服务"},
            headers=org,
        )
        assert reported.status_code == 200, reported.text
        accepted = await client.post(
            f"/api/contracts/{contract_id}/milestones/{seq}/decision",
            json={"accept": True, "note": "验收通过"},
            headers=funder,
        )
        assert accepted.status_code == 200, accepted.text
        milestone = accepted.json()["milestones"][seq - 1]
        assert milestone["status"] == "accepted"
        assert milestone["paid_fen"] == milestone["amount_fen"]
    payments = await conn.fetch(
        "SELECT p.amount_fen FROM payments p JOIN milestones m ON m.id = p.milestone_id WHERE m.contract_id = $1",
        contract_id,
    )
    assert sum(p["amount_fen"] for p in payments) == 9_000_000
    assert len(payments) == 3
    detail = (await client.get(f"/api/contracts/{contract_id}", headers=org)).json()
    assert detail["contract"]["status"] == "completed"
    assert detail["contract"]["paid_fen"] == 9_000_000
    listed = (await client.get("/api/payments", headers=org)).json()
    assert sorted(p["amount_fen"] for p in listed) == sorted(p["amount_fen"] for p in payments)


async def test_a_rejected_midterm_milestone_stops_the_payments_after_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    _, contract_id, org, funder = await contract_of_a_new_award(client, conn, midterm_first=True)
    assert (await client.post(f"/api/contracts/{contract_id}/sign", headers=funder)).status_code == 200
    await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "中期报告"}, headers=org)
    rejected = await client.post(
        f"/api/contracts/{contract_id}/milestones/1/decision",
        json={"accept": False, "note": "中期评估不合格"},
        headers=funder,
    )
    assert rejected.status_code == 200
    body = rejected.json()
    assert [m["status"] for m in body["milestones"]] == ["rejected", "stopped", "stopped"]
    assert body["contract"]["status"] == "stopped"
    assert body["contract"]["paid_fen"] == 0
    later = await client.post(f"/api/contracts/{contract_id}/milestones/2/report", json={"report": "x"}, headers=org)
    assert later.status_code == 409
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM payments p JOIN milestones m ON m.id = p.milestone_id WHERE m.contract_id = $1",
            contract_id,
        )
        == 0
    )


async def test_a_rejected_ordinary_milestone_does_not_stop_the_rest(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    _, contract_id, org, funder = await contract_of_a_new_award(client, conn)
    await client.post(f"/api/contracts/{contract_id}/sign", headers=org)
    await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "报告"}, headers=org)
    body = (
        await client.post(f"/api/contracts/{contract_id}/milestones/1/decision", json={"accept": False}, headers=funder)
    ).json()
    assert [m["status"] for m in body["milestones"]] == ["rejected", "planned", "planned"]
    assert body["contract"]["status"] == "active"


async def test_grade_appears_on_the_profile_and_unqualified_bars(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    setup, contract_id, org, funder = await contract_of_a_new_award(client, conn, midterm_first=True)
    too_soon = await client.post(f"/api/contracts/{contract_id}/grade", json={"grade": "unqualified"}, headers=funder)
    assert too_soon.status_code == 409
    await client.post(f"/api/contracts/{contract_id}/sign", headers=org)
    await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "中期报告"}, headers=org)
    await client.post(f"/api/contracts/{contract_id}/milestones/1/decision", json={"accept": False}, headers=funder)
    assert await contracts_sql.barred_until(conn, setup.organisation_id) is None
    bad = await client.post(f"/api/contracts/{contract_id}/grade", json={"grade": "terrible"}, headers=funder)
    assert bad.status_code == 400
    graded = await client.post(f"/api/contracts/{contract_id}/grade", json={"grade": "unqualified"}, headers=funder)
    assert graded.status_code == 200, graded.text
    assert graded.json()["contract"]["grade"] == "unqualified"
    again = await client.post(f"/api/contracts/{contract_id}/grade", json={"grade": "good"}, headers=funder)
    assert again.status_code == 409
    barred = await contracts_sql.barred_until(conn, setup.organisation_id)
    assert barred is not None
    assert 364 <= (barred - today()).days <= 367
    # The bar ends: a year and a day later the organisation may bid again.
    assert await contracts_sql.barred_until(conn, setup.organisation_id, barred) is None
    performance = (await client.get(f"/api/organisations/{setup.organisation_id}/performance")).json()
    assert performance["barred_until"] == barred.isoformat()
    assert [g["grade"] for g in performance["grades"]] == ["unqualified"]
    page = await client.get(f"/organisations/{setup.organisation_id}", headers={"accept-language": "zh-CN"})
    assert page.status_code == 200
    assert "绩效评估等级" in page.text
    assert "不合格" in page.text
    # The tender's only lot is graded: the tender is closed.
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", setup.tender_id) == "closed"


async def test_a_good_grade_does_not_bar(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn, price_fen=300)
    contract_id = (await make_contract(client, conn, setup))["contract"]["id"]
    await conn.execute("UPDATE contracts SET status = 'completed', signed_at = now() WHERE id = $1", contract_id)
    funder = await headers_of(client, conn, setup.funder_account)
    assert (
        await client.post(f"/api/contracts/{contract_id}/grade", json={"grade": "good"}, headers=funder)
    ).status_code == 200
    assert await contracts_sql.barred_until(conn, setup.organisation_id) is None


async def test_milestones_are_reported_in_order_and_not_months_early(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    _, contract_id, org, _funder = await contract_of_a_new_award(client, conn)
    assert (await client.post(f"/api/contracts/{contract_id}/sign", headers=org)).status_code == 200
    # Milestone 3 falls due today, but milestone 2 before it has not been accepted.
    await conn.execute("UPDATE milestones SET due_on = current_date WHERE contract_id = $1", contract_id)
    out_of_order = await client.post(
        f"/api/contracts/{contract_id}/milestones/3/report", json={"report": "x"}, headers=org
    )
    assert out_of_order.status_code == 409 and "上一个阶段节点经出资方验收后" in out_of_order.text
    # Milestone 1 due in six months is refused as too early; due in 30 days it is taken.
    await conn.execute(
        "UPDATE milestones SET due_on = current_date + 180 WHERE contract_id = $1 AND seq = 1", contract_id
    )
    early = await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "x"}, headers=org)
    assert early.status_code == 409 and "到期日前 30 天" in early.text
    await conn.execute(
        "UPDATE milestones SET due_on = current_date + 30 WHERE contract_id = $1 AND seq = 1", contract_id
    )
    taken = await client.post(f"/api/contracts/{contract_id}/milestones/1/report", json={"report": "x"}, headers=org)
    assert taken.status_code == 200, taken.text
