"""A real map: outlines stored with the areas, saved places kept per committee, the place pickers, the needs map's
document, the tile source and its CSP, and coordinates converted between WGS-84, GCJ-02 and BD-09."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg
import msgspec
import pytest

from api.app import csp_pages
from api.demo.places import outlines, saved_places
from api.services import datum, maps
from tests.factories import create_account, create_area, create_committee, create_org, username_of
from tests.factories_shifts import create_shift
from tests.factories_tendering import create_district, create_household, create_need
from tests.helpers import bearer, login, parse_page, post_form
from tests.pages_kit import page_context

ROOT = Path(__file__).resolve().parents[1]
SQUARE = {"type": "Polygon", "coordinates": [[[121.5, 31.2], [121.6, 31.2], [121.6, 31.3], [121.5, 31.2]]]}

# Reference points: wandergis/coordtransform's published results (the values most Chinese map code is tested
# against), and a Shanghai-area point from the pyxis project (a separate implementation; agrees to ~1e-7°).
REFERENCE = [
    ("wgs84_to_gcj02", (39.915, 116.404), (39.91640428150164, 116.41024449916938), 1e-12),
    ("gcj02_to_bd09", (39.915, 116.404), (39.92133699351021, 116.41036949371029), 1e-12),
    ("bd09_to_gcj02", (39.915, 116.404), (39.90865673957631, 116.39762729119315), 1e-12),
    ("wgs84_to_gcj02", (30.6107779, 121.0917077), (30.608604331756705, 121.09626935575027), 2e-7),
    ("wgs84_to_bd09", (30.6107779, 121.0917077), (30.61484572185035, 121.10271732371203), 2e-7),
]


@pytest.mark.parametrize(("name", "point", "expected", "tolerance"), REFERENCE)
def test_conversions_match_the_published_reference_points(name, point, expected, tolerance):
    lat, lon = getattr(datum, name)(*point)
    assert abs(lat - expected[0]) <= tolerance and abs(lon - expected[1]) <= tolerance


def test_conversions_go_back_where_they_came_from_and_leave_points_outside_china_alone():
    for lat, lon in [(31.2834, 121.5262), (39.915, 116.404), (22.54, 114.06)]:
        back = datum.gcj02_to_wgs84(*datum.wgs84_to_gcj02(lat, lon))
        assert abs(back[0] - lat) < 1e-8 and abs(back[1] - lon) < 1e-8
        # BD-09's published inverse is itself approximate: back within 2e-6° (about 20 cm).
        again = datum.bd09_to_wgs84(*datum.wgs84_to_bd09(lat, lon))
        assert abs(again[0] - lat) < 2e-6 and abs(again[1] - lon) < 2e-6
    # In Shanghai 高德's datum shifts a point by a few hundred metres to the south-east.
    g_lat, g_lon = datum.wgs84_to_gcj02(31.2834, 121.5262)
    assert -0.003 < g_lat - 31.2834 < -0.001 and 0.003 < g_lon - 121.5262 < 0.006
    assert datum.wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)


def test_the_pages_convert_with_the_same_formulas(tmp_path):
    script = tmp_path / "check.js"
    script.write_text(
        "global.window = {};\n"
        f"require({json.dumps(str(ROOT / 'web/static/js/datum.js'))});\n"
        "const D = window.LinliDatum;\n"
        "console.log(JSON.stringify([D.wgs84ToGcj02(39.915, 116.404), D.gcj02ToWgs84(31.2834, 121.5262),"
        " D.toDisplay(31.2834, 121.5262, 'wgs84'), D.fromDisplay(31.2834, 121.5262, 'gcj02')]));\n"
    )
    out = json.loads(subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout)
    assert out[0] == pytest.approx(list(datum.wgs84_to_gcj02(39.915, 116.404)), abs=1e-12)
    assert out[1] == pytest.approx(list(datum.gcj02_to_wgs84(31.2834, 121.5262)), abs=1e-10)
    assert out[2] == [31.2834, 121.5262]
    assert out[3] == pytest.approx(out[1], abs=1e-12)


def test_navigation_links_carry_each_apps_own_datum():
    links = maps.navigation_links(31.2834, 121.5262, "开鲁四村居委会活动室")
    amap = parse_qs(urlparse(links.amap).query)
    g_lat, g_lon = datum.wgs84_to_gcj02(31.2834, 121.5262)
    assert amap["position"] == [f"{g_lon:.6f},{g_lat:.6f}"] and amap["name"] == ["开鲁四村居委会活动室"]
    baidu = parse_qs(urlparse(links.baidu).query)
    b_lat, b_lon = datum.wgs84_to_bd09(31.2834, 121.5262)
    assert baidu["location"] == [f"{b_lat:.6f},{b_lon:.6f}"] and baidu["coord_type"] == ["bd09ll"]


def test_the_tile_source_and_the_csp_follow_the_setting():
    amap = maps.tile_source("amap")
    assert amap.datum == "gcj02" and "autonavi" in amap.layers[0].url
    assert "img-src 'self' data: https://*.is.autonavi.com;" in csp_pages(amap.hosts)
    tianditu = maps.tile_source("tianditu", "k123")
    assert tianditu.datum == "wgs84" and all("tk=k123" in layer.url for layer in tianditu.layers)
    assert maps.tile_source("none").layers == [] and "img-src 'self' data:;" in csp_pages([])
    with pytest.raises(ValueError, match="TIANDITU_KEY"):
        maps.tile_source("tianditu")
    with pytest.raises(ValueError, match="one of"):
        maps.tile_source("google")


async def test_pages_let_in_the_tiles_of_the_source_and_no_other(client):
    csp = (await client.get("/login")).headers["content-security-policy"]
    assert "img-src 'self' data: https://*.is.autonavi.com;" in csp and "script-src 'self';" in csp


async def test_an_outline_must_be_a_closed_polygon_or_multipolygon(conn):
    area = await create_area(conn, "district", lat=31.28, lon=121.52)
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], SQUARE["coordinates"]]}
    for good in (SQUARE, multi):
        await conn.execute("UPDATE areas SET outline = $2::jsonb WHERE id = $1", area, json.dumps(good))
    bad = [
        {"type": "Point", "coordinates": [121.5, 31.2]},
        {"type": "Polygon", "coordinates": [[[121.5, 31.2], [121.6, 31.2], [121.6, 31.3], [121.5, 31.3]]]},  # open
        {"type": "Polygon", "coordinates": [[[121.5, 31.2], [121.6, 31.2], [121.5, 31.2]]]},  # too few positions
        {"type": "Polygon", "coordinates": [[[221.5, 31.2], [121.6, 31.2], [121.6, 31.3], [221.5, 31.2]]]},
        {"type": "Polygon", "coordinates": [[["东", 31.2], [121.6, 31.2], [121.6, 31.3], ["东", 31.2]]]},
        {"type": "Polygon", "coordinates": [5]},
        {"type": "Polygon", "coordinates": "abc"},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "Polygon"},
    ]
    for geometry in bad:
        with pytest.raises(asyncpg.CheckViolationError):
            async with conn.transaction():
                await conn.execute("UPDATE areas SET outline = $2::jsonb WHERE id = $1", area, json.dumps(geometry))
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE areas SET outline = NULL, outline_approximate = true WHERE id = $1", area)


async def test_the_demo_outlines_and_places_pass_the_schema(conn):
    district = await create_area(conn, "district", lat=31.28, lon=121.52)
    sub = await create_area(conn, "subdistrict", district, lat=31.29, lon=121.53)
    rows: list[tuple[object, ...]] = [(sub, district, "subdistrict", "x", "殷行街道", 31.29, 121.53)]
    committees: list[tuple[object, ...]] = []
    for lat, lon in [(31.30, 121.54), (31.295, 121.535), (31.285, 121.525)]:
        area = await create_area(conn, "committee", sub, lat=lat, lon=lon)
        rows.append((area, sub, "committee", "x", "c", lat, lon))
        committees.append((await create_committee(conn, area), area, "开鲁四村居委会"))
    drawn = outlines(rows)
    assert {r[0] for r in drawn} == {r[0] for r in rows}
    await conn.executemany("UPDATE areas SET outline = $2::jsonb, outline_approximate = $3 WHERE id = $1", drawn)
    # Every committee's point lies inside its sub-district's outline and its own (convex rings, counter-clockwise as
    # GeoJSON asks: the point is left of every edge).
    ring = {i: json.loads(g)["coordinates"][0] for i, g, _ in drawn}
    for area, _, _, _, _, lat, lon in rows[1:]:
        for outline in (ring[sub], ring[int(str(area))]):
            assert all(
                (b[0] - a[0]) * (float(str(lat)) - a[1]) - (b[1] - a[1]) * (float(str(lon)) - a[0]) > 0
                for a, b in itertools.pairwise(outline)
            )
    places = saved_places(rows, [(c, a, n) for c, a, n in committees[:1]], seed=1)
    assert [p[1:3] for p in places] == [
        ("开鲁四村居委会活动室", "activity_room"),
        ("开鲁四村睦邻点", "neighbourhood_point"),
    ]


async def _add(client, name: str, lat: float = 31.30, lon: float = 121.54, **extra: str):
    data = {"name": name, "kind": "activity_room", "address": "开鲁路", "lat": str(lat), "lon": str(lon), **extra}
    return await post_form(client, "/places", data)


async def test_a_committee_keeps_its_saved_places_and_sees_only_its_own(client, conn):
    d = await create_district(conn)
    await login(client, await username_of(conn, d.other_committee_account))
    assert (await _add(client, "长阳路睦邻点", 31.27, 121.51)).status_code in (302, 303)
    theirs = await conn.fetchval("SELECT id FROM saved_places WHERE committee_id = $1", d.other_committee_id)
    await client.post("/logout", follow_redirects=False)

    await login(client, await username_of(conn, d.committee_account))
    empty = await page_context(client, "/places")
    assert empty.template == "places/list.html" and empty["places"] == []
    # The add form starts at the committee's own point.
    assert (empty["values"]["lat"], empty["values"]["lon"]) == (31.30, 121.54)
    response = await _add(client, "开鲁四村居委会活动室")
    assert response.status_code in (302, 303) and "done=added" in response.headers["location"]
    again = await _add(client, " 开鲁四村居委会活动室 ")
    assert again.status_code == 422 and "name" in parse_page(again.text).errors
    far = await _add(client, "外滩", 31.24, 121.49 - 1)
    assert far.status_code == 422 and "lat" in parse_page(far.text).errors
    listed = await page_context(client, "/places")
    assert [p.name for p in listed["places"]] == ["开鲁四村居委会活动室"]
    ours = listed["places"][0].id

    # Another committee's place is not there for this one: not listed, not editable, not removable.
    assert (await client.get(f"/places/{theirs}/edit")).status_code == 404
    edit = {"name": "改名", "kind": "other", "lat": "31.3", "lon": "121.54"}
    assert (await post_form(client, f"/places/{theirs}/edit", edit, page="/places")).status_code == 404
    assert (await post_form(client, f"/places/{theirs}/delete", {}, page="/places")).status_code == 404
    assert await conn.fetchval("SELECT name FROM saved_places WHERE id = $1", theirs) == "长阳路睦邻点"

    changed = await post_form(client, f"/places/{ours}/edit", {**edit, "name": "开鲁四村睦邻点"}, page="/places")
    assert changed.status_code in (302, 303)
    now = await conn.fetchval("SELECT name || ' ' || kind FROM saved_places WHERE id = $1", ours)
    assert now == "开鲁四村睦邻点 other"
    assert (await post_form(client, f"/places/{ours}/delete", {}, page="/places")).status_code in (302, 303)
    assert await conn.fetchval("SELECT count(*) FROM saved_places WHERE id = $1", ours) == 0
    actions = await conn.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'saved_place' AND object_id = $1 ORDER BY id", str(ours)
    )
    assert [a["action"] for a in actions] == ["place.add", "place.change", "place.remove"]


async def test_only_committees_manage_saved_places(client, conn):
    await login(client, await username_of(conn, await create_account(conn, "organisation")))
    assert (await client.get("/places")).status_code == 403
    assert 'href="/places"' not in (await client.get("/")).text


async def test_the_committees_menu_links_to_its_saved_places(client, conn):
    d = await create_district(conn)
    await login(client, await username_of(conn, d.committee_account))
    page = (await client.get("/")).text
    menu = page[page.index('<ul class="nav">') : page.index("</nav>")]
    assert '<a href="/places">常用地点</a>' in menu


async def test_the_shift_form_starts_at_the_committees_point_with_its_saved_places(client, conn):
    d = await create_district(conn)
    await conn.execute(
        "INSERT INTO saved_places (committee_id, name, kind, lat, lon)"
        " VALUES ($1, '活动室', 'activity_room', 31.301, 121.541),"
        " ($2, '别人的睦邻点', 'neighbourhood_point', 31.27, 121.51)",
        d.committee_id,
        d.other_committee_id,
    )
    await login(client, await username_of(conn, d.committee_account))
    form = await page_context(client, "/shifts/new")
    picker = form["place_picker"]
    assert (form["values"]["lat"], form["values"]["lon"]) == (31.30, 121.54)
    assert [p.name for p in picker["places"]] == ["活动室"] and not picker["several"]
    document = json.loads(picker["json"])
    assert document["centre"]["lat"] == 31.30 and document["tiles"]["datum"] == "gcj02"
    assert [p["name"] for p in document["places"]] == ["活动室"]


async def test_the_need_form_shows_the_point_it_will_use(client, conn):
    d = await create_district(conn)
    await login(client, await username_of(conn, d.committee_account))
    form = await page_context(client, "/needs/new")
    assert (form["values"]["lat"], form["values"]["lon"]) == (31.30, 121.54)
    page = await client.get("/needs/new")
    assert 'value="31.3"' in page.text and "data-place-picker" in page.text


async def test_an_organisation_picks_among_the_places_of_the_committees_it_serves(client, conn):
    d = await create_district(conn)
    district = await conn.fetchval("SELECT parent_id FROM areas WHERE id = $1", d.subdistrict_id)
    elsewhere = await create_area(conn, "subdistrict", district, lat=31.25, lon=121.50)
    far_committee = await create_committee(conn, await create_area(conn, "committee", elsewhere, lat=31.25, lon=121.5))
    for committee, name in ((d.committee_id, "甲活动室"), (d.other_committee_id, "乙睦邻点"), (far_committee, "丙")):
        await conn.execute(
            "INSERT INTO saved_places (committee_id, name, kind, lat, lon) VALUES ($1, $2, 'other', 31.28, 121.52)",
            committee,
            name,
        )
    org = await create_org(conn, serves=False)
    await conn.execute(
        "INSERT INTO organisation_areas (organisation_id, area_id) VALUES ($1, $2)", org, d.subdistrict_id
    )
    await login(client, await username_of(conn, await create_account(conn, "organisation", organisation_id=org)))
    picker = (await page_context(client, "/shifts/new"))["place_picker"]
    assert sorted(p.name for p in picker["places"]) == ["乙睦邻点", "甲活动室"] and picker["several"]
    assert (picker["centre"].lat, picker["centre"].lon) == (31.29, 121.53)


async def test_the_needs_map_is_given_outlines_and_colour_coded_markers(client, conn):
    d = await create_district(conn)
    await conn.execute(
        "UPDATE areas SET outline = $2::jsonb, outline_approximate = true WHERE id = $1", d.subdistrict_id,
        json.dumps(SQUARE),
    )  # fmt: skip
    urgent = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="助餐", urgency="urgent")
    await login(client, await username_of(conn, d.funder_account))
    drawn = await page_context(client, f"/needs/map?subdistrict_id={d.subdistrict_id}")
    document = json.loads(drawn["map_json"])
    assert [(o["id"], o["level"], o["approximate"]) for o in document["outlines"]] == [
        (d.subdistrict_id, "subdistrict", True)
    ]
    kinds = {m["href"]: m["kind"] for m in document["markers"]}
    assert kinds[f"/needs/{urgent}"] == "urgent"
    assert kinds[f"/needs?committee_id={d.committee_id}"] == "committee"
    assert drawn["approximate"] is True
    page = await client.get(f"/needs/map?subdistrict_id={d.subdistrict_id}")
    assert "示意" in page.text and 'class="swatch marker-urgent"' in page.text
    assert re.search(r'<script src="/static/vendor/leaflet/leaflet\.[0-9a-f]{12}\.js" defer>', page.text)
    assert (await client.get("/static/vendor/leaflet/leaflet.js")).status_code == 200
    assert msgspec.json.decode(drawn["map_json"])["tiles"]["name"] == "amap"


async def test_shift_and_need_pages_link_to_amap_and_baidu_but_not_for_a_home_visit(client, conn):
    d = await create_district(conn)
    household = await create_household(conn, d.committee_id, "控江路1018弄12号301室")
    public = await create_shift(conn, committee_id=d.committee_id, place_name="开鲁四村活动室", lat=31.30, lon=121.54)
    home = await create_shift(conn, committee_id=d.committee_id, household_id=household)
    need = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="助餐")
    await login(client, await username_of(conn, d.committee_account))
    shown = await page_context(client, f"/shifts/{public}")
    assert shown["navigation"] == maps.navigation_links(31.30, 121.54, "开鲁四村活动室")
    page = await client.get(f"/shifts/{public}")
    assert "在高德地图中打开" in page.text and "uri.amap.com" in page.text and "api.map.baidu.com" in page.text
    assert (await page_context(client, f"/shifts/{home}"))["navigation"] is None
    assert "uri.amap.com" not in (await client.get(f"/shifts/{home}")).text
    need_page = await page_context(client, f"/needs/{need}")
    assert need_page["navigation"].amap.startswith("https://uri.amap.com/marker?")


async def test_the_api_keeps_saved_places_per_committee(client, conn):
    d = await create_district(conn)
    ours = await bearer(client, await username_of(conn, d.committee_account))
    theirs = await bearer(client, await username_of(conn, d.other_committee_account))
    body = {"name": "开鲁四村居委会活动室", "lat": 31.30, "lon": 121.54, "kind": "activity_room"}
    created = await client.post("/api/places", json=body, headers=ours)
    assert created.status_code == 201, created.text
    place = created.json()
    assert place["committee_id"] == d.committee_id and place["address"] == ""
    assert (await client.post("/api/places", json=body, headers=ours)).status_code == 422
    bad = await client.post("/api/places", json={**body, "name": "远处", "lat": 40.0}, headers=ours)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert [p["id"] for p in (await client.get("/api/places", headers=ours)).json()] == [place["id"]]
    assert (await client.get("/api/places", headers=theirs)).json() == []
    for response in (
        await client.get(f"/api/places/{place['id']}", headers=theirs),
        await client.put(f"/api/places/{place['id']}", json={**body, "name": "改"}, headers=theirs),
        await client.delete(f"/api/places/{place['id']}", headers=theirs),
    ):
        assert response.status_code == 404
    changed = await client.put(f"/api/places/{place['id']}", json={**body, "kind": "other"}, headers=ours)
    assert changed.status_code == 200 and changed.json()["kind"] == "other"
    assert (await client.delete(f"/api/places/{place['id']}", headers=ours)).status_code == 204
    assert (await client.get(f"/api/places/{place['id']}", headers=ours)).status_code == 404
    volunteer = await bearer(client, await username_of(conn, await create_account(conn, "volunteer")))
    assert (await client.get("/api/places", headers=volunteer)).status_code == 403
