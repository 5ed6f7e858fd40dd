"""Headless Chromium, tiles unreachable: the committee picks a shift's place on a phone by clicking the map and by
choosing a saved place; the needs map draws outlines and colour-coded markers fitted to the data."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser_helpers import PASSWORDS, PHONE, browser, log_in, patient_expect, screenshot, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

COMMITTEE = "committee.kailu4"
DESKTOP = {"width": 1280, "height": 900}


def _context(browser, viewport) -> tuple[BrowserContext, list[str], list[str]]:
    """A context in which no tile server answers (as in a test or an offline office); errors and tile asks kept."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    asked: list[str] = []

    def refuse(route):
        asked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), refuse)
    return context, asked, []


def _open(context: BrowserContext, errors: list[str], base: str) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, COMMITTEE, PASSWORDS[COMMITTEE])
    return page


def _picker_shot(page: Page, name: str) -> None:
    """The picker alone (the whole form is too long to look at), beside the full-page screenshot."""
    screenshot(page, f"{name}-picker", part=".place-picker")


def _value(page: Page, name: str) -> float:
    return float(page.locator(f'input[name="{name}"]').input_value())


def test_a_committee_picks_a_shifts_place_on_a_phone_by_map_and_by_saved_place(browser, live_server):
    context, asked, errors = _context(browser, PHONE)
    try:
        page = _open(context, errors, live_server.url)
        page.goto(f"{live_server.url}/shifts/new")
        picker = page.locator("[data-place-picker][data-ready]")
        expect(picker).to_be_visible()
        centre = sql(
            live_server.database_url,
            "SELECT a.lat, a.lon FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.name = '开鲁四村居委会'",
        )
        assert (_value(page, "lat"), _value(page, "lon")) == (centre["lat"], centre["lon"])
        expect(page.locator(".picker-status")).to_contain_text("开鲁四村居委会")
        # The lat/lon boxes are folded away: the map is the way to choose.
        expect(page.get_by_label("纬度")).to_be_hidden()
        screenshot(page, "maps-shift-picker-390")
        _picker_shot(page, "maps-shift-390")

        box = page.locator(".picker-map").bounding_box()
        assert box is not None and box["width"] <= 390
        clicked = []
        for x, y in ((0.25, 0.75), (0.8, 0.25)):
            page.locator(".picker-map").click(position={"x": box["width"] * x, "y": box["height"] * y})
            expect(page.locator(".picker-status")).to_have_text("已选中您在地图上点击的位置。")
            clicked.append((_value(page, "lat"), _value(page, "lon")))
        # The second click, up and to the right, is north-east of the first, within the committee's area.
        (lat1, lon1), (lat2, lon2) = clicked
        assert lat1 < lat2 < lat1 + 0.02 and lon1 < lon2 < lon1 + 0.02
        assert abs(lat2 - centre["lat"]) < 0.02 and abs(lon2 - centre["lon"]) < 0.02

        place = sql(
            live_server.database_url,
            "SELECT p.name, p.lat, p.lon FROM saved_places p JOIN committees c ON c.id = p.committee_id"
            " WHERE c.name = '开鲁四村居委会' AND p.kind = 'neighbourhood_point'",
        )
        page.get_by_label("常用地点").select_option(label=place["name"])
        expect(page.locator(".picker-status")).to_have_text(f"已选：{place['name']}")
        assert (_value(page, "lat"), _value(page, "lon")) == (place["lat"], place["lon"])
        assert page.locator('input[name="place_name"]').input_value() == place["name"]
        screenshot(page, "maps-shift-picker-chosen-390")
        _picker_shot(page, "maps-shift-chosen-390")

        start = dt.datetime.now() + dt.timedelta(days=9)
        page.locator('input[name="title"]').fill("睦邻点读报")
        page.locator('input[name="starts_at"]').fill(start.strftime("%Y-%m-%dT09:00"))
        page.locator('input[name="ends_at"]').fill(start.strftime("%Y-%m-%dT11:00"))
        page.get_by_role("button", name="发布").click()
        page.wait_for_url(re.compile(r"/shifts/\d+$"))
        stored = sql(
            live_server.database_url,
            "SELECT place_name, lat, lon FROM shifts WHERE id = $1",
            int(page.url.rsplit("/", 1)[1]),
        )
        assert (stored["place_name"], stored["lat"], stored["lon"]) == (place["name"], place["lat"], place["lon"])
        assert any("autonavi" in url for url in asked), "the page asked for 高德's tiles, and got no answer"
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_needs_map_draws_outlines_and_markers_without_tiles(browser, live_server, viewport):
    context, _asked, errors = _context(browser, viewport)
    try:
        page = _open(context, errors, live_server.url)
        page.goto(f"{live_server.url}/needs/map")
        expect(page.locator("[data-map][data-ready]")).to_be_visible()
        assert page.locator("path.outline-subdistrict").count() >= 1
        assert page.locator("path.outline-committee").count() >= 1
        needs = page.locator("path.marker:not(.marker-committee)")
        assert needs.count() >= 1
        expect(page.locator(".leaflet-tooltip.area-label").first).to_be_visible()
        expect(page.get_by_text("图中范围为示意")).to_be_visible()
        # Fitted to the needs: every need marker is inside the map's box.
        frame = page.locator("[data-map]").bounding_box()
        assert frame is not None
        for i in range(min(needs.count(), 30)):
            dot = needs.nth(i).bounding_box()
            assert dot is not None
            assert frame["x"] - 1 <= dot["x"] + dot["width"] / 2 <= frame["x"] + frame["width"] + 1
            assert frame["y"] - 1 <= dot["y"] + dot["height"] / 2 <= frame["y"] + frame["height"] + 1
        screenshot(page, f"maps-needs-map-{viewport['width']}")
        page.goto(f"{live_server.url}/needs/new")
        expect(page.locator("[data-place-picker][data-ready]")).to_be_visible()
        screenshot(page, f"maps-need-form-{viewport['width']}")
        _picker_shot(page, f"maps-need-form-{viewport['width']}")
        if viewport == DESKTOP:
            page.goto(f"{live_server.url}/shifts/new")
            expect(page.locator("[data-place-picker][data-ready]")).to_be_visible()
            screenshot(page, "maps-shift-picker-1280")
            _picker_shot(page, "maps-shift-1280")
            page.goto(f"{live_server.url}/places")
            expect(page.locator("[data-place-picker][data-ready]")).to_be_visible()
            screenshot(page, "maps-places-1280")
        assert errors == []
    finally:
        context.close()
