"""Browsing areas and the service catalogue: paths, children, committees, coordinates; no personal data."""

from __future__ import annotations

from tests import factories
from tests.helpers import elements, links, parse_page, post_form


async def small_district(conn) -> dict[str, int]:
    """A district › sub-district › two committees, one of them serving a household."""
    district = await factories.create_area(conn, "district", name="杨浦测试区")
    subdistrict = await factories.create_area(
        conn, "subdistrict", parent_id=district, name="控江测试街道", lat=31.2801, lon=121.5312
    )
    first = await factories.create_area(conn, "committee", parent_id=subdistrict, name="开鲁四村")
    second = await factories.create_area(conn, "committee", parent_id=subdistrict, name="凤城一村")
    committee = await factories.create_committee(conn, first)
    await factories.create_committee(conn, second)
    await conn.execute(
        "INSERT INTO households (committee_id, head_name, address, lat, lon, consent_recorded_at)"
        " VALUES ($1, '张阿婆', '开鲁四村 12 号 301 室', 31.28, 121.53, now())",
        committee,
    )
    return {"district": district, "subdistrict": subdistrict, "committee_area": first}


async def test_areas_lists_the_districts(client, conn):
    ids = await small_district(conn)
    response = await client.get("/areas")
    assert response.status_code == 200
    assert links(response.text)["杨浦测试区"] == f"/areas/{ids['district']}"
    assert "区域" in parse_page(response.text).texts


async def test_district_lists_its_subdistricts(client, conn):
    ids = await small_district(conn)
    response = await client.get(f"/areas/{ids['district']}")
    assert links(response.text)["控江测试街道"] == f"/areas/{ids['subdistrict']}"
    assert "2 个居委会" in parse_page(response.text).texts


async def test_subdistrict_shows_path_committees_and_coordinates_without_personal_data(client, conn):
    ids = await small_district(conn)
    response = await client.get(f"/areas/{ids['subdistrict']}")
    assert response.status_code == 200
    crumbs = [text for a, text in elements(response.text, "a") if a["href"] in ("/areas", f"/areas/{ids['district']}")]
    assert crumbs[-2:] == ["区域", "杨浦测试区"]
    current = [text for a, text in elements(response.text, "span") if a.get("aria-current") == "page"]
    assert current == ["控江测试街道"]
    rows = [text for _, text in elements(response.text, "tr")]
    assert len(rows) == 3  # the header and two committees
    page = parse_page(response.text)
    assert "纬度 31.28010，经度 121.53120" in page.texts
    assert "街道" in page.texts
    html = response.text
    assert "张阿婆" not in html and "301 室" not in html


async def test_unknown_area_is_a_chinese_not_found_page(client):
    response = await client.get("/areas/999999999")
    assert response.status_code == 404
    page = parse_page(response.text)
    assert "未找到" in page.texts and "区域不存在" in page.texts


async def test_catalogue_names_follow_the_language_and_mark_personal_services(client, conn):
    await factories.create_catalogue_item(conn, code="respite_page_test", personal=True)
    name_zh, name_en = await conn.fetchrow(
        "SELECT name_zh, name_en FROM catalogue_items WHERE code = 'respite_page_test'"
    )
    chinese = await client.get("/catalogue")
    assert chinese.status_code == 200
    headings = [text for _, text in elements(chinese.text, "h2")]
    assert f"{name_zh} 个人服务" in headings
    assert "政府购买服务目录" in parse_page(chinese.text).texts
    await post_form(client, "/lang", {"locale": "en", "next": "/catalogue"}, page="/catalogue")
    english = await client.get("/catalogue")
    assert f"{name_en} Personal service" in [text for _, text in elements(english.text, "h2")]
    assert "Service catalogue" in parse_page(english.text).texts


async def test_area_pages_switch_to_english(client, conn):
    ids = await small_district(conn)
    await post_form(client, "/lang", {"locale": "en", "next": "/areas"}, page="/areas")
    page = parse_page((await client.get(f"/areas/{ids['subdistrict']}")).text)
    assert "Sub-district" in page.texts
    assert "latitude 31.28010, longitude 121.53120" in page.texts
