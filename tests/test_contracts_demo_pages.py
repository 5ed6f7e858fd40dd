"""After `linli seed`, the demo logins find their contracts, the dashboard and the grades on the pages."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from api.demo import DEMO_LOGINS, seed_into
from api.services.types import today
from tests.helpers import elements, login

PASSWORDS = {username: password for _, username, password in DEMO_LOGINS}


@pytest.mark.slow
async def test_demo_funder_and_organisation_pages(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    await seed_into(conn, seed=1, scale=0.02, today=today(), volunteering=False)
    await login(client, "funder.yinhang", PASSWORDS["funder.yinhang"])
    contracts = await client.get("/contracts")
    assert contracts.status_code == 200
    links = [a["href"] for a, _ in elements(contracts.text, "a") if a.get("href", "").startswith("/contracts/")]
    contract_links = [href for href in links if href.rsplit("/", 1)[1].isdigit()]
    assert len(contract_links) == 3
    pages = [await client.get(href) for href in contract_links]
    assert all(page.status_code == 200 for page in pages)
    text = "".join(page.text for page in pages)
    # The running contract's second milestone waits for the funder; the closed tender's grades are shown.
    assert "验收通过并拨付" in text
    assert "优秀" in text and "不合格" in text
    board = await client.get("/dashboard")
    assert board.status_code == 200
    assert board.text.count("<svg") == 3
    client.cookies.clear()

    await login(client, "org.leling", PASSWORDS["org.leling"])
    mine = await client.get("/contracts")
    assert "履行中" in mine.text
    org_id = await conn.fetchval(
        "SELECT m.organisation_id FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE a.username = $1",
        "org.leling",
    )
    profile = await client.get(f"/organisations/{org_id}")
    assert "绩效评估等级" in profile.text and "优秀" in profile.text
    assert (await client.get("/dashboard")).status_code == 403
