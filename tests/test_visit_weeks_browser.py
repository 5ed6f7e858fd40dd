"""Headless Chromium, in Chinese, on the demo district's home-care contract: org.leling opens the week of today's board
(today planned at seed time) at a phone's and a desktop's width, nothing wider than the phone; volunteer.demo sees
their week on their phone page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser_helpers import (
    PASSWORDS,
    both_widths,
    browser,
    follow_nav,
    logged_in_phone,
    patient_expect,
    screenshot,
)

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser


def test_the_week_of_visits_on_a_phone_and_a_desktop(browser: Browser, live_server) -> None:
    base = live_server.url
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    org = logged_in_phone(browser, contexts, errors, base, "org.leling", PASSWORDS["org.leling"])
    follow_nav(org, "上门服务")
    org.locator("li.card").filter(has_text="开鲁新村居家照护上门服务项目").get_by_role("link", name="今日看板").click()
    screenshot(org, "visits-board-week-link-phone", part="main")
    org.get_by_role("link", name="查看本周").click()
    expect(org.get_by_role("heading", name=re.compile("上门周排班"))).to_be_visible()
    today = org.locator("li.week-day.is-today")
    expect(today).to_contain_text("已排班")
    # On a phone each day's card lists its carers, each linking to the day's board.
    expect(today.locator(".day-carers a").first).to_have_attribute("href", re.compile(r"\?day=\d{4}-\d\d-\d\d#carer-"))
    both_widths(org, "visits-week")
    org.set_viewport_size({"width": 1280, "height": 900})
    expect(org.get_by_role("heading", name="护理员每日安排")).to_be_visible()
    carer = logged_in_phone(browser, contexts, errors, base, "volunteer.demo")
    carer.goto(f"{base}/visits/today")
    expect(carer.get_by_role("heading", name="本周")).to_be_visible()
    expect(carer.locator(".my-week-days li").first).to_contain_text(re.compile("站|本周没有"))
    screenshot(carer, "visits-mine-week-phone")
    for context in contexts:
        context.close()
    assert errors == []
