"""Call pages: a foundation opens a call in yuan, an organisation submits a sealed proposal and sees its receipt;
the foundation sees proposals only after the deadline."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_account, create_funder, username_of
from tests.factories_tendering import create_district
from tests.helpers import login, parse_page, post_form


async def test_call_through_the_pages(client, conn):
    d = await create_district(conn)
    foundation = await create_funder(conn, kind="community_foundation", area_id=d.district_id)
    await login(client, await username_of(conn, await create_account(conn, "funder", funder_id=foundation)))
    close = (dt.datetime.now() + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "公益创投", "proposals_close_at": close, "grant_min_yuan": "10000", "grant_max_yuan": "100000",
            "max_proposals_per_org": "1", "pool1_area": "为老服务", "pool1_budget_yuan": "500000"}  # fmt: skip
    bad = await post_form(client, "/calls/new", {**data, "grant_max_yuan": "5000"}, page="/calls/new")
    assert bad.status_code == 422 and "grant_max_yuan" in parse_page(bad.text).errors
    response = await post_form(client, "/calls/new", data, page="/calls/new")
    assert response.status_code in (302, 303), response.text
    call_path = response.headers["location"]
    call_id = int(call_path.rsplit("/", 1)[1])
    pool_id = await conn.fetchval("SELECT id FROM call_pools WHERE call_id = $1", call_id)
    client.cookies.clear()
    await login(client, await username_of(conn, await create_account(conn, "organisation")))
    page = await client.get(call_path)
    assert "为老服务" in page.text and "提交项目申报书" in page.text
    proposal = {"pool_id": str(pool_id), "area_id": str(d.subdistrict_id), "title": "老年食堂", "plan": "方案",
                "amount_yuan": "45678.91"}  # fmt: skip
    over = await post_form(client, f"{call_path}/propose", {**proposal, "amount_yuan": "200000"}, page=call_path)
    assert over.status_code == 422 and "amount_yuan" in parse_page(over.text).errors
    response = await post_form(client, f"{call_path}/propose", proposal, page=call_path)
    assert response.status_code in (302, 303), response.text
    shown = await client.get(response.headers["location"])
    receipt = await conn.fetchval("SELECT receipt FROM proposals WHERE call_id = $1", call_id)
    assert receipt in shown.text and "45,678.91" in shown.text
    client.cookies.clear()
    await login(client, await username_of(conn, await create_account(conn, "funder", funder_id=foundation)))
    assert "45,678.91" not in (await client.get(call_path)).text
    await conn.execute(
        "UPDATE calls SET proposals_open_at = now() - interval '2 days',"
        " proposals_close_at = now() - interval '1 minute' WHERE id = $1",
        call_id,
    )
    assert "45,678.91" in (await client.get(call_path)).text
