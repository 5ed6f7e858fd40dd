"""Headless Chromium on a phone, in Chinese, on the demo district's home-care contract: the organisation plans a day,
pins a visit to its carer on the board and re-plans keeping it (the real worker runs matching.visits each time)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser_helpers import VISITS_RUN_MS, browser, patient_expect, plan_the_visits_day, screenshot

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser


def test_pin_a_visit_and_re_plan_around_it_on_a_phone(browser: Browser, live_server) -> None:
    base = live_server.url
    org = plan_the_visits_day(browser, base)
    pin = re.compile("^把这项上门锁定给")
    stop = org.locator("li.stop").filter(has=org.get_by_role("button", name=pin)).first
    when = stop.locator("strong").first.inner_text()
    stop.get_by_role("button", name=pin).click()
    expect(org.get_by_text("这项上门已锁定给该照护者；这一天之后的排班都会保留它。")).to_be_visible()
    pinned = org.locator("li.stop").filter(has_text="已锁定")
    expect(pinned).to_have_count(1)
    org.get_by_role("button", name="保留锁定并重新排班").click()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    expect(org.locator("li.stop").filter(has_text="已锁定")).to_have_count(1)
    assert when
    screenshot(org, "visit-pins-board-phone")
    org.set_viewport_size({"width": 1280, "height": 900})
    screenshot(org, "visit-pins-board-desktop")
