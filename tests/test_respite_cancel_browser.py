"""Headless Chromium, in Chinese, on the demo district, at a phone's and a desktop's width: committee.kailu4 plans a
respite day as routes, a family calls to cancel a routed visit (the respite page asks to confirm, the visit leaves its
carer's route and the board lists it cancelled), another family's visit is cancelled from its stop on the board (asked
to confirm there, the board then lists both), plans the day's week and sees which days were skipped and why, then
uploads travel times and deletes them again after a confirmation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser_helpers import (
    DESKTOP,
    PASSWORDS,
    PHONE,
    VISITS_RUN_MS,
    both_widths,
    browser,
    logged_in_phone,
    patient_expect,
    screenshot,
    sql,
    wider_than_the_screen,
)
from tests.test_respite_routes_browser import COMMITTEE, REQUESTS, ROSTER

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

CARERS = "SELECT array_agg(id ORDER BY id) AS ids FROM carers WHERE committee_id = $1"
# What scrolls inside its own box on the board (the timeline, the map) and so may reach past a phone's edge.
SCROLLS_INSIDE = ("DIV.timeline", "svg.", "line.", "text.", "rect.", "IMG.leaflet", "DIV.leaflet")


def _board_fits(page: Page, name: str) -> None:
    """Nothing of the board but its timeline and map is wider than the phone; screenshots at both widths."""
    screenshot(page, f"{name}-phone")
    assert [e for e in wider_than_the_screen(page) if not e.startswith(SCROLLS_INSIDE)] == [], name
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)


def test_a_routed_visit_is_cancelled_the_week_says_what_it_skipped_and_travel_times_go(
    browser: Browser, live_server, tmp_path
) -> None:
    base = live_server.url
    # Not the day the routes' own browser test plans (two weeks ahead), nor a day next to it.
    day = dt.date.today() + dt.timedelta(days=17)
    committee_id = sql(live_server.database_url, COMMITTEE, "committee.kailu4")["committee_id"]
    sql(live_server.database_url, ROSTER, committee_id)
    sql(live_server.database_url, REQUESTS, committee_id, day)
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    page = logged_in_phone(browser, contexts, errors, base, "committee.kailu4", PASSWORDS["committee.kailu4"])
    page.goto(f"{base}/visits/respite?day={day.isoformat()}")
    page.locator("#run").get_by_role("button", name=re.compile("排班")).first.click()
    expect(page.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    stops = page.locator("section.route-card li.stop").count()
    # The family calls: on the respite page the committee opens the routed visit's cancel and confirms it.
    page.goto(f"{base}/respite/schedule?week={day.isoformat()}")
    first = page.locator("details.confirm-cancel").first
    first.locator("summary").click()
    expect(first.get_by_role("button", name="确认取消这次上门")).to_be_visible()
    both_widths(page, "respite-cancel-confirm")
    first.get_by_role("button", name="确认取消这次上门").click()
    expect(page.locator("#done")).to_contain_text("上门已取消")
    expect(page.locator("td", has_text="已取消").first).to_be_visible()
    both_widths(page, "respite-cancel-done")
    page.goto(f"{base}/visits/respite?day={day.isoformat()}")
    expect(page.locator("#cancelled")).to_contain_text("已取消的上门")
    if stops:
        assert page.locator("section.route-card li.stop").count() == stops - 1
    # The board's timeline and map scroll inside their own boxes (as the routes' own browser test checks the board).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "respite-board-cancelled-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "respite-board-cancelled-desktop")
    page.set_viewport_size(PHONE)
    # Another family calls while the planner is on the board: the stop's own cancel, confirmed, without leaving it.
    stop = page.locator("section.route-card li.stop", has=page.locator("details.confirm-cancel")).first
    stop.locator("details.confirm-cancel summary").click()
    expect(stop.get_by_role("button", name="确认取消这次上门")).to_be_visible()
    _board_fits(page, "respite-board-cancel-confirm")
    stop.get_by_role("button", name="确认取消这次上门").click()
    expect(page.locator("#done")).to_contain_text("上门已取消")
    expect(page.locator("#cancelled li")).to_have_count(2)
    if stops:
        assert page.locator("section.route-card li.stop").count() == stops - 2
    _board_fits(page, "respite-board-cancel-done")
    # The week of that day, planned in one action: the page says which days were skipped and why.
    page.goto(f"{base}/visits/respite/week?start={(day - dt.timedelta(days=day.weekday())).isoformat()}")
    page.get_by_role("button", name="为本周每天排班").click()
    expect(page.locator("#week-started")).to_contain_text("未排班")
    expect(page.locator("#skipped li").first).to_contain_text("：")
    both_widths(page, "respite-week-skipped")
    # Travel times: uploaded, then deleted after the confirmation; the page says plans estimate again.
    ids = sql(live_server.database_url, CARERS, committee_id)["ids"]
    upload = tmp_path / "travel.csv"
    upload.write_text(f"from,to,minutes\nC{ids[0]},C{ids[1]},9\n", encoding="utf-8")
    page.goto(f"{base}/carers")
    page.locator("#travel-file").set_input_files(str(upload))
    page.get_by_role("button", name="上传路程时间").click()
    expect(page.locator("#travel-current")).to_contain_text("travel.csv")
    page.locator("#travel-remove summary").click()
    expect(page.get_by_role("button", name="确认删除")).to_be_visible()
    both_widths(page, "travel-times-remove-confirm")
    page.get_by_role("button", name="确认删除").click()
    expect(page.locator("#travel-removed")).to_contain_text("已删除，之后的排班按距离估算")
    expect(page.locator("#travel-current")).to_contain_text("尚未上传")
    both_widths(page, "travel-times-removed")
    for context in contexts:
        context.close()
    assert errors == []
