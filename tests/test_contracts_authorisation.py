"""Every contract route answers other tenants with 404, wrong roles with 403 and anonymous callers with 401."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import create_account, create_org, username_of
from tests.factories_contracts import award_ready
from tests.helpers import bearer, login
from tests.test_contracts_api import make_contract, plan

PARTIES = {"funder", "organisation", "admin"}


def routes(contract_id: int, award_id: int, price_fen: int) -> list[tuple[str, str, Any, set[str]]]:
    """(method, path, JSON body, roles the guard lets through to the object-level check) for every contract route."""
    return [
        ("GET", f"/api/contracts/{contract_id}", None, PARTIES),
        ("GET", f"/api/contracts/{contract_id}/milestones", None, PARTIES),
        ("GET", f"/api/contracts/{contract_id}/milestones?format=csv", None, PARTIES),
        ("POST", f"/api/contracts/{contract_id}/sign", None, {"funder", "organisation"}),
        ("POST", f"/api/contracts/{contract_id}/milestones/1/report", {"report": "报告"}, {"organisation"}),
        ("POST", f"/api/contracts/{contract_id}/milestones/1/decision", {"accept": True}, {"funder"}),
        ("POST", f"/api/contracts/{contract_id}/grade", {"grade": "good"}, {"funder"}),
        ("POST", "/api/contracts", {"award_id": award_id, "milestones": plan(price_fen)}, {"funder"}),
    ]


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.slow
async def test_the_authorisation_matrix(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn, price_fen=9_000_000)
    contract_id = (await make_contract(client, conn, setup))["contract"]["id"]
    spare = await award_ready(conn, funder_id=setup.funder_id, funder_account=setup.funder_account)
    logged = "SELECT count(*) FROM audit_log WHERE object_type IN ('contract', 'milestone')"
    before = await conn.fetchval(logged)
    strangers = {
        "other funder": await create_account(conn, "funder"),
        "other organisation": await create_account(conn, "organisation", organisation_id=await create_org(conn)),
    }
    wrong_roles = {role: await create_account(conn, role) for role in ("committee", "volunteer", "reviewer")}
    for method, path, body, allowed in routes(contract_id, spare.award_id, spare.price_fen):
        anonymous = await call(client, method, path, body, {})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        for name, account in strangers.items():
            role = name.split()[1]
            response = await call(client, method, path, body, await bearer(client, await username_of(conn, account)))
            expected = 404 if role in allowed else 403
            assert response.status_code == expected, (name, method, path, response.text)
            assert "9000000" not in response.text and "90,000" not in response.text
        for role, account in wrong_roles.items():
            response = await call(client, method, path, body, await bearer(client, await username_of(conn, account)))
            assert response.status_code == 403, (role, method, path)
    # Nothing was changed or logged by any refused call.
    assert await conn.fetchval(logged) == before
    assert await conn.fetchval("SELECT status FROM contracts WHERE id = $1", contract_id) == "unsigned"
    assert await conn.fetchval("SELECT count(*) FROM contracts WHERE award_id = $1", spare.award_id) == 0


async def test_lists_show_only_the_callers_contracts(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    mine = await award_ready(conn)
    theirs = await award_ready(conn)
    mine_id = (await make_contract(client, conn, mine))["contract"]["id"]
    theirs_id = (await make_contract(client, conn, theirs))["contract"]["id"]
    for account in (mine.funder_account, mine.organisation_account):
        headers = await bearer(client, await username_of(conn, account))
        ids = [c["id"] for c in (await client.get("/api/contracts", headers=headers)).json()["items"]]
        assert ids == [mine_id]
    admin = await bearer(client, await username_of(conn, await create_account(conn, "admin")))
    ids = [c["id"] for c in (await client.get("/api/contracts?limit=1000", headers=admin)).json()["items"]]
    assert {mine_id, theirs_id} <= set(ids)
    assert (await client.get("/api/contracts")).status_code == 401
    assert (await client.get("/api/payments")).status_code == 401
    volunteer = await bearer(client, await username_of(conn, await create_account(conn, "volunteer")))
    assert (await client.get("/api/contracts", headers=volunteer)).status_code == 403
    assert (await client.get("/api/payments?format=xlsx", headers=volunteer)).status_code == 403


async def test_pages_refuse_the_same_way(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    setup = await award_ready(conn)
    contract_id = (await make_contract(client, conn, setup))["contract"]["id"]
    anonymous = await client.get(f"/contracts/{contract_id}", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    await login(client, await username_of(conn, await create_account(conn, "funder")))
    assert (await client.get(f"/contracts/{contract_id}")).status_code == 404
    assert (await client.get(f"/contracts/new?award_id={setup.award_id}")).status_code == 404
    client.cookies.clear()
    await login(client, await username_of(conn, await create_account(conn, "committee")))
    assert (await client.get("/contracts")).status_code == 403
    assert (await client.get("/dashboard")).status_code == 403
