"""Need pages: the committee's form (households masked), the filtered list, and the district map as SVG links."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_account, username_of
from tests.factories_tendering import create_district, create_household, create_need
from tests.helpers import elements, login, parse_page, post_form
from tests.pages_kit import page_context


async def test_committee_posts_a_personal_need_through_the_form(client, conn):
    d = await create_district(conn)
    own = await create_household(conn, d.committee_id, "控江路1018弄12号301室")
    await create_household(conn, d.other_committee_id, "长阳路88弄3号102室")
    await login(client, await username_of(conn, d.committee_account))
    form = await client.get("/needs/new")
    assert form.status_code == 200
    assert "控江路1018弄**号" in form.text and "12号" not in form.text and "长阳路" not in form.text
    today = dt.date.today()
    data = {
        "catalogue_code": d.personal_item_code, "title": "喘息服务", "beneficiaries": "3",
        "starts_on": today.isoformat(), "ends_on": (today - dt.timedelta(days=2)).isoformat(), "urgency": "urgent",
        "household_ids": [str(own)],
    }  # fmt: skip
    response = await post_form(client, "/needs/new", data)
    assert response.status_code == 422
    assert "ends_on" in parse_page(response.text).errors
    data["ends_on"] = (today + dt.timedelta(days=30)).isoformat()
    response = await post_form(client, "/needs/new", data)
    assert response.status_code in (302, 303), response.text
    page = await client.get(response.headers["location"])
    assert "喘息服务" in page.text and "控江路1018弄**号" in page.text and "12号" not in page.text
    need_id = int(response.headers["location"].split("/")[2].split("?")[0])
    assert await conn.fetchval("SELECT count(*) FROM need_households WHERE need_id = $1", need_id) == 1
    edit = await client.get(f"/needs/{need_id}/edit")
    assert edit.status_code == 200 and 'value="喘息服务"' in edit.text


async def test_others_see_the_need_without_its_households(client, conn):
    d = await create_district(conn)
    own = await create_household(conn, d.committee_id, "控江路1018弄12号301室")
    need_id = await create_need(conn, d.committee_id, d.personal_item_id, d.committee_account, title="喘息")
    await conn.execute("INSERT INTO need_households VALUES ($1, $2)", need_id, own)
    await login(client, await username_of(conn, await create_account(conn, "organisation")))
    page = await client.get(f"/needs/{need_id}")
    assert page.status_code == 200 and "喘息" in page.text and "控江路" not in page.text
    assert (await client.get(f"/needs/{need_id}/edit")).status_code == 403


async def test_list_filters_and_the_map_plots_each_need_as_a_link(client, conn):
    d = await create_district(conn)
    a = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="助餐甲", urgency="urgent")
    b = await create_need(conn, d.other_committee_id, d.item_id, d.other_committee_account, title="助餐乙")
    c = await create_need(conn, d.committee_id, d.personal_item_id, d.committee_account, title="喘息丙")
    await login(client, await username_of(conn, d.funder_account))
    listed = await client.get("/needs", params={"subdistrict_id": d.subdistrict_id, "category": d.item_code})
    assert listed.status_code == 200
    links = {a_["href"] for a_, _ in elements(listed.text, "a")}
    assert {f"/needs/{a}", f"/needs/{b}"} <= links and f"/needs/{c}" not in links

    page = await client.get("/needs/map", params={"subdistrict_id": d.subdistrict_id})
    assert page.status_code == 200
    assert "https://" not in page.text.split("<svg", 1)[1].split("</svg>")[0].replace("http://www.w3.org/2000/svg", "")
    circles = elements(page.text, "circle")
    map_links = [attrs["href"] for attrs, _ in elements(page.text, "a") if attrs.get("class") == "need-point"]
    assert sorted(map_links) == sorted(f"/needs/{i}" for i in (a, b, c))
    assert f"/needs?committee_id={d.committee_id}" in {attrs["href"] for attrs, _ in elements(page.text, "a")}
    xs = [float(attrs["cx"]) for attrs, _ in circles]
    ys = [float(attrs["cy"]) for attrs, _ in circles]
    assert all(0 <= x <= 800 for x in xs) and all(0 <= y <= 560 for y in ys)
    # Committee A lies north-east of committee B: its need is higher (smaller y) and further right on the map.
    points = _need_points(page.text)
    assert points[f"/needs/{a}"][1] < points[f"/needs/{b}"][1]
    assert points[f"/needs/{a}"][0] > points[f"/needs/{b}"][0]
    only_personal = await client.get("/needs/map", params={"category": d.personal_item_code})
    assert sorted(_need_points(only_personal.text)) == [f"/needs/{c}"]


def _need_points(html: str) -> dict[str, tuple[float, float]]:
    """Each need point's link and its circle's position, in document order."""
    import re

    found = re.findall(r'<a href="([^"]+)" class="need-point"><circle cx="([0-9.]+)" cy="([0-9.]+)"', html)
    return {href: (float(x), float(y)) for href, x, y in found}


async def test_need_pages_need_a_login_and_the_right_role(client, conn):
    d = await create_district(conn)
    need_id = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    for path in ("/needs", "/needs/map", f"/needs/{need_id}", "/needs/new"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303) and "/login" in response.headers["location"]
    await login(client, await username_of(conn, d.other_committee_account))
    assert (await client.get(f"/needs/{need_id}/edit")).status_code == 404
    response = await post_form(client, f"/needs/{need_id}/close", {}, page="/needs")
    assert response.status_code == 404
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", need_id) == "open"


async def test_the_list_and_map_are_given_the_needs_that_match_the_filters(client, conn):
    d = await create_district(conn)
    a = await create_need(conn, d.committee_id, d.item_id, d.committee_account, urgency="urgent")
    b = await create_need(conn, d.other_committee_id, d.item_id, d.other_committee_account)
    c = await create_need(conn, d.committee_id, d.personal_item_id, d.committee_account)
    closed = await create_need(conn, d.committee_id, d.item_id, d.committee_account, status="closed")
    await login(client, await username_of(conn, d.funder_account))
    listed = await page_context(client, f"/needs?subdistrict_id={d.subdistrict_id}&category={d.item_code}")
    assert listed.template == "needs/list.html"
    assert {n.id for n in listed["page"].items} == {a, b, closed}
    assert listed["page"].total == 3 and listed["pager"].pages == 1
    assert listed["filters"].category == d.item_code and listed["filters"].subdistrict_id == d.subdistrict_id
    assert listed["query"] == {"subdistrict_id": str(d.subdistrict_id), "category": d.item_code}
    mine = await page_context(client, f"/needs?committee_id={d.committee_id}&status=open")
    assert {n.id for n in mine["page"].items} == {a, c}

    drawn = await page_context(client, f"/needs/map?subdistrict_id={d.subdistrict_id}&status=open")
    assert drawn.template == "needs/map.html"
    points = {p.id: (p.x, p.y) for p in drawn["points"]}
    assert set(points) == {a, b, c}
    assert drawn["truncated"] is False
    assert {p.id for p in drawn["committees"]} >= {d.committee_id, d.other_committee_id}
    assert {p.kind for p in drawn["committees"]} == {"committee"}
    # The template links each point by its id (url_for): each need's page, each committee's filtered list.
    hrefs = {x.get("href") for x, _ in elements(drawn.response.text, "a")}
    assert {f"/needs/{a}", f"/needs/{b}", f"/needs/{c}"} <= hrefs
    assert {f"/needs?committee_id={d.committee_id}", f"/needs?committee_id={d.other_committee_id}"} <= hrefs
    # Committee A lies north-east of committee B: its needs sit higher (smaller y) and further right.
    assert points[a][1] < points[b][1] and points[a][0] > points[b][0]
    assert all(0 <= x <= drawn["width"] and 0 <= y <= drawn["height"] for x, y in points.values())
