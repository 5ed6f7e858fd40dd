"""Headless Chromium on a phone, in Chinese, on the demo district's home-care contract: the organisation plans a day
and records a sick call (the real worker runs matching.visits each time), and volunteer.demo sees their stops with a
高德 link and checks in (or is told when check-in opens)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser_helpers import (
    DESKTOP,
    PASSWORDS,
    PHONE,
    VISITS_RUN_MS,
    browser,
    log_in,
    patient_expect,
    plan_the_visits_day,
    screenshot,
    sql,
)

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

DEMO_CARER = """
SELECT ca.name FROM carers ca JOIN volunteers v ON v.id = ca.volunteer_id JOIN accounts a ON a.id = v.account_id
WHERE a.username = 'volunteer.demo'
"""


def tomorrow_of(page: Page) -> str:
    """The day after the one the board's date field shows (ISO)."""
    shown = dt.date.fromisoformat(page.get_by_label("日期").input_value())
    return (shown + dt.timedelta(days=1)).isoformat()


def test_plan_a_day_call_in_sick_and_check_in_on_a_phone(browser: Browser, live_server) -> None:
    base = live_server.url
    demo_carer = sql(live_server.database_url, DEMO_CARER)["name"]
    org = plan_the_visits_day(browser, base)
    expect(org.get_by_role("heading", name="全天路线")).to_be_visible()
    # A carer other than volunteer.demo calls in sick: the day is re-planned without them.
    # By the card's heading: every stop's pin form lists all the day's carers by name.
    card = org.locator("section.route-card").filter(has_not=org.locator("h2", has_text=demo_carer)).first
    sick_name = card.locator("h2").inner_text().split("·")[0].strip()
    card.get_by_role("button", name="病假：不含此人重新排班").click()
    expect(org.get_by_text("该护理员当天余下时间请假")).to_be_visible()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    sick_card = org.locator("section.route-card").filter(has=org.locator("h2", has_text=sick_name))
    if sick_card.count():
        # Only visits they had already checked in at stay with them.
        expect(sick_card.first).to_contain_text("病假")
    screenshot(org, "visits-board-phone")
    # Tomorrow's plan (seeded after today's) prefers today's carers: each stop says who it was and whether kept.
    org.get_by_label("日期").fill(tomorrow_of(org))
    org.get_by_role("button", name="显示").click()
    expect(org.locator("#continuity")).to_contain_text("与上次同一护理员")
    expect(org.locator("p.continuity").first).to_contain_text(re.compile("上次：.+(同一护理员|换人)"))
    # (Not both_widths: the timeline scrolls sideways inside its box on a phone, which that check counts as wider.)
    screenshot(org, "visits-board-continuity-phone")
    screenshot(org, "visits-board-continuity-summary-phone", part="#run")
    screenshot(org, "visits-board-continuity-route-phone", part="section.route-card >> nth=0")
    org.set_viewport_size(DESKTOP)
    screenshot(org, "visits-board-continuity-desktop")
    org.set_viewport_size(PHONE)
    carer: Page = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    log_in(carer, base, "volunteer.demo", PASSWORDS["volunteer.demo"])
    carer.goto(f"{base}/visits/today")
    expect(carer.get_by_role("heading", name=re.compile("我的上门服务"))).to_be_visible()
    stops = carer.locator("li.stop")
    if stops.count():
        # Checked in, or told beside the stop when check-in opens (the demo's visits are today, at any hour).
        stops.first.get_by_role("button", name="签到").click()
        expect(carer.get_by_text(re.compile("^已签到。$|上门服务开始前两小时起可以签到"))).to_be_visible()
        expect(carer.get_by_role("link", name="用高德地图导航").first).to_have_attribute(
            "href", re.compile(r"^https://uri\.amap\.com/marker\?position=121\.")
        )
    screenshot(carer, "visits-mine-phone")
