"""Organisation pages: the list with search, filter and pages; the profile; the manager's own edit form."""

from __future__ import annotations

from tests import factories
from tests.helpers import elements, links, login, parse_page, post_form


async def manager_of(conn, org_id: int) -> str:
    """Log-in name of a new manager account of an organisation."""
    return await factories.username_of(
        conn, await factories.create_account(conn, "organisation", organisation_id=org_id)
    )


async def link_category(conn, org_id: int, code: str) -> None:
    await conn.execute(
        "INSERT INTO organisation_categories (organisation_id, catalogue_item_id)"
        " SELECT $1, id FROM catalogue_items WHERE code = $2",
        org_id,
        code,
    )


def org_cards(html: str) -> dict[str, str]:
    """Organisation name → profile link, as listed."""
    return links(html, "/organisations/")


async def test_list_shows_verified_organisations_with_ratings_and_hides_pending(client, conn):
    verified = await factories.create_org(conn, name="睦邻社工服务中心甲", rating=4)
    await factories.create_org(conn, status="pending", name="睦邻社工服务中心乙")
    await factories.create_org(conn, status="suspended", name="睦邻社工服务中心丙")
    response = await client.get("/organisations", params={"q": "睦邻社工服务中心"})
    assert response.status_code == 200
    assert org_cards(response.text) == {"睦邻社工服务中心甲": f"/organisations/{verified}"}
    page = parse_page(response.text)
    assert "4A" in page.texts
    assert "找到 1 家社会组织" in page.texts
    assert "社会组织" in page.texts


async def test_admin_sees_every_status_in_the_list(client, conn):
    await factories.create_org(conn, name="睦邻社工服务中心甲")
    await factories.create_org(conn, status="pending", name="睦邻社工服务中心乙")
    await login(client, await factories.username_of(conn, await factories.create_account(conn, "admin")))
    response = await client.get("/organisations", params={"q": "睦邻社工"})
    assert set(org_cards(response.text)) == {"睦邻社工服务中心甲", "睦邻社工服务中心乙"}
    assert "待审核" in parse_page(response.text).texts


async def test_category_filter_and_wildcards_typed_into_search(client, conn):
    await factories.create_catalogue_item(conn, code="food_bank_test")
    with_category = await factories.create_org(conn, name="食物银行互助社", serves=False)
    await link_category(conn, with_category, "food_bank_test")
    await factories.create_org(conn, name="食物银行之友", serves=False)
    filtered = await client.get("/organisations", params={"q": "食物银行", "category": "food_bank_test"})
    assert set(org_cards(filtered.text)) == {"食物银行互助社"}
    selected = [a["value"] for a, _ in elements(filtered.text, "option") if "selected" in a]
    assert selected == ["food_bank_test"]
    # A "%" typed into the box is a character to look for, not a wildcard matching everything.
    wild = await client.get("/organisations", params={"q": "%"})
    assert wild.status_code == 200


async def test_list_is_paged_and_keeps_the_filters(client, conn):
    for i in range(21):
        await factories.create_org(conn, name=f"分页测试中心{i:02d}")
    first = await client.get("/organisations", params={"q": "分页测试中心"})
    assert len(org_cards(first.text)) == 20
    next_links = [a["href"] for a, _ in elements(first.text, "a") if a.get("rel") == "next"]
    assert len(next_links) == 1
    assert "q=%E5%88%86%E9%A1%B5" in next_links[0] and "page=2" in next_links[0]
    second = await client.get(next_links[0])
    assert len(org_cards(second.text)) == 1
    assert "第 2 页，共 2 页" in parse_page(second.text).texts


async def test_profile_shows_the_organisation_in_chinese(client, conn):
    subdistrict = await factories.create_area(conn, "subdistrict", name="殷行街道")
    org_id = await factories.create_org(conn, name="乐龄社工服务中心", rating=5)
    await conn.execute("INSERT INTO organisation_areas (organisation_id, area_id) VALUES ($1, $2)", org_id, subdistrict)
    response = await client.get(f"/organisations/{org_id}")
    assert response.status_code == 200
    page = parse_page(response.text)
    for text in ("乐龄社工服务中心", "统一社会信用代码", "社会组织评估等级", "5A", "已审核", "殷行街道"):
        assert text in page.texts
    # An anonymous visitor is not offered the edit form.
    assert f"/organisations/{org_id}/edit" not in {a["href"] for a, _ in elements(response.text, "a")}


async def test_pending_profile_is_not_found_for_others(client, conn):
    pending = await factories.create_org(conn, status="pending")
    response = await client.get(f"/organisations/{pending}")
    assert response.status_code == 404
    assert "社会组织不存在" in parse_page(response.text).texts


async def test_manager_edits_own_profile(client, conn):
    await factories.create_catalogue_item(conn, code="respite_test", personal=True)
    subdistrict = await factories.create_area(conn, "subdistrict")
    org_id = await factories.create_org(conn, name="旧名字服务中心")
    await login(client, await manager_of(conn, org_id))
    form_page = await client.get(f"/organisations/{org_id}/edit")
    assert form_page.status_code == 200
    assert parse_page(form_page.text).inputs["name"] == "旧名字服务中心"
    response = await post_form(
        client,
        f"/organisations/{org_id}/edit",
        {
            "name": "新名字服务中心",
            "staff_hours_capacity": "4500",
            "contact_phone": "021-55550000",
            "address": "杨浦区国和路 1 号",
            "description": "喘息服务",
            "category_codes": ["respite_test"],
            "area_ids": [str(subdistrict)],
        },
    )
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == f"/organisations/{org_id}?saved=1"
    row = await conn.fetchrow("SELECT name, staff_hours_capacity FROM organisations WHERE id = $1", org_id)
    assert (row["name"], row["staff_hours_capacity"]) == ("新名字服务中心", 4500)
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'organisation.update' AND object_id = $1", str(org_id)
        )
        == 1
    )
    shown = parse_page((await client.get(response.headers["location"])).text)
    assert "组织资料已保存。" in shown.texts
    assert "新名字服务中心" in shown.texts


async def test_blank_name_is_shown_beside_the_name(client, conn):
    org_id = await factories.create_org(conn, name="原名服务中心")
    await login(client, await manager_of(conn, org_id))
    response = await post_form(
        client,
        f"/organisations/{org_id}/edit",
        {"name": "", "staff_hours_capacity": "10"},
        page=f"/organisations/{org_id}/edit",
    )
    assert response.status_code == 422
    assert parse_page(response.text).errors == {"name": "此项为必填项"}
    assert await conn.fetchval("SELECT name FROM organisations WHERE id = $1", org_id) == "原名服务中心"


async def test_another_organisations_manager_gets_not_found(client, conn):
    mine = await factories.create_org(conn)
    theirs = await factories.create_org(conn, name="别人的服务中心")
    await login(client, await manager_of(conn, mine))
    assert (await client.get(f"/organisations/{theirs}/edit")).status_code == 404
    response = await post_form(
        client,
        f"/organisations/{theirs}/edit",
        {"name": "改掉别人的名字", "staff_hours_capacity": "1"},
        page=f"/organisations/{mine}/edit",
    )
    assert response.status_code == 404
    assert await conn.fetchval("SELECT name FROM organisations WHERE id = $1", theirs) == "别人的服务中心"


async def test_other_roles_may_not_open_the_edit_form(client, conn):
    org_id = await factories.create_org(conn)
    await login(client, await factories.username_of(conn, await factories.create_account(conn, "volunteer")))
    assert (await client.get(f"/organisations/{org_id}/edit")).status_code == 403


async def test_organisation_pages_switch_to_english(client, conn):
    org_id = await factories.create_org(conn, name="双语服务中心", rating=3)
    await post_form(client, "/lang", {"locale": "en", "next": "/organisations"}, page="/organisations")
    page = parse_page((await client.get(f"/organisations/{org_id}")).text)
    assert "Unified social credit code" in page.texts
    assert "Verified" in page.texts
    assert "3A" in page.texts
