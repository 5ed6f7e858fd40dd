"""Household register pages: a committee registers a household (14 slot boxes, consent beside its field), lists it
with a masked address, opens its details (logged), edits it and archives it after a confirmation; others cannot."""

from __future__ import annotations

from tests.factories import create_account, username_of
from tests.factories_tendering import create_district, create_household
from tests.helpers import elements, login, parse_page, post_form
from tests.pages_kit import page_context

ADDRESS = "控江路1018弄7号302室"


def form(**overrides):
    data = {
        "head_name": "王秀英", "address": ADDRESS, "phone": "13800001111", "members": "1", "empty_nest": "on",
        "care_level": "3", "dialects": "上海话、苏北话", "care_notes": "独居", "lat": "31.30", "lon": "121.54",
        "visit_slots": ["mon-am", "thu-pm"], "consent": "on",
    }  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def test_a_committee_registers_edits_and_archives_a_household_through_the_pages(client, conn):
    d = await create_district(conn)
    await login(client, await username_of(conn, d.committee_account))
    new = await client.get("/households/new")
    assert new.status_code == 200
    boxes = [a for a, _ in elements(new.text, "input") if a.get("name") == "visit_slots"]
    assert len(boxes) == 14 and "周一上午" in new.text and "周日下午" in new.text
    assert "已取得本人或监护人书面同意" in new.text
    refused = await post_form(client, "/households/new", form(consent=None, lat="abc"), page="/households/new")
    assert refused.status_code == 422
    errors = parse_page(refused.text).errors
    assert set(errors) >= {"consent", "lat"} and "书面同意" in errors["consent"]
    assert 'value="王秀英"' in refused.text and "checked" in refused.text
    saved = await post_form(client, "/households/new", form(), page="/households/new")
    assert saved.status_code in (302, 303), saved.text
    household_id = int(saved.headers["location"].split("/")[2].split("?")[0])
    details = await client.get(saved.headers["location"])
    assert (
        ADDRESS in details.text
        and "周一上午、周四下午" in details.text
        and f"/households/{household_id}/edit" in details.text
    )
    listed = await client.get("/households?q=秀英")
    assert "控江路1018弄**号" in listed.text and ADDRESS not in listed.text and "服务对象家庭" in listed.text
    edit = await client.get(f"/households/{household_id}/edit")
    assert edit.status_code == 200 and 'value="王秀英"' in edit.text
    changed = await post_form(
        client, f"/households/{household_id}/edit", form(members="2", visit_slots=["sat-am"]),
        page=f"/households/{household_id}/edit",
    )  # fmt: skip
    assert changed.status_code in (302, 303), changed.text
    assert await conn.fetchval("SELECT visit_slots FROM households WHERE id = $1", household_id) == ["sat-am"]
    confirm = await client.get(f"/households/{household_id}/archive")
    assert confirm.status_code == 200 and "确认" in confirm.text
    archived = await post_form(
        client, f"/households/{household_id}/archive", {}, page=f"/households/{household_id}/archive"
    )
    assert archived.status_code in (302, 303)
    assert ADDRESS not in (await client.get("/households?archived=1")).text
    assert await conn.fetchval("SELECT head_name FROM households WHERE id = $1", household_id) == "已退出"
    views = await conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'household.viewed' AND object_id = $1", str(household_id)
    )
    assert views >= 3


async def test_the_register_is_for_the_committee_and_only_its_own_households(client, conn):
    d = await create_district(conn)
    theirs = await create_household(conn, d.other_committee_id, "长阳路88弄3号102室")
    await login(client, await username_of(conn, d.committee_account))
    assert "长阳路" not in (await client.get("/households")).text
    assert (await client.get(f"/households/{theirs}")).status_code == 404
    assert (await client.get(f"/households/{theirs}/edit")).status_code == 404
    nav = [a.get("href") for a, _ in elements((await client.get("/")).text, "a")]
    assert "/households" in nav
    client.cookies.clear()
    await login(client, await username_of(conn, await create_account(conn, "organisation")))
    assert (await client.get("/households")).status_code == 403
    # An organisation with no contract serving the household: as if there were none.
    assert (await client.get(f"/households/{theirs}")).status_code == 404


async def test_the_register_is_given_the_committees_households_each_filter_keeps(client, conn):
    d = await create_district(conn)
    alone = await create_household(conn, d.committee_id, "控江路1018弄7号302室")
    family = await create_household(conn, d.committee_id, "控江路1020弄3号101室")
    left = await create_household(conn, d.committee_id)
    await create_household(conn, d.other_committee_id)
    await conn.execute(
        "UPDATE households SET care_level = 3, empty_nest = true, head_name = '王秀英' WHERE id = $1", alone
    )
    await conn.execute("UPDATE households SET care_level = 1, empty_nest = false, members = 4 WHERE id = $1", family)
    await conn.execute("UPDATE households SET archived_at = now(), address = '控江路1018弄' WHERE id = $1", left)
    await login(client, await username_of(conn, d.committee_account))

    async def listed(query: str = "") -> set[int]:
        rendered = await page_context(client, f"/households{query}")
        assert rendered.template == "households/list.html"
        assert rendered["page"].total == len(rendered["page"].items)
        return {h.id for h in rendered["page"].items}

    everyone = await page_context(client, "/households")
    rows = {h.id: h for h in everyone["page"].items}
    assert set(rows) == {alone, family}
    assert rows[alone].masked_address == "控江路1018弄**号" and (rows[alone].care_level, rows[alone].empty_nest) == (
        3,
        True,
    )
    assert rows[family].members == 4
    assert await listed("?care_level=3") == {alone}
    assert await listed("?empty_nest=1") == {alone}
    assert await listed("?empty_nest=0") == {family}
    assert await listed("?q=秀英") == {alone}
    assert await listed("?q=1020弄") == {family}
    assert await listed("?archived=1") == {left}
    filtered = await page_context(client, "/households?care_level=3&empty_nest=1")
    assert filtered["filters"].care_level == 3 and filtered["filters"].empty_nest is True
    assert filtered["query"] == {"care_level": "3", "empty_nest": "1"}
