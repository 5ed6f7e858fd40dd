"""Headless Chromium, in Chinese, on the demo district's 311 project: the organisation forms its teams (the real
worker runs matching.teams), opens the run's page from the project, pins a carer to a team and re-plans around
the pin; the page fits a phone and a desktop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser_helpers import DESKTOP, PASSWORDS, PHONE, browser, log_in, patient_expect, screenshot
from tests.test_teams_browser import RUN_MS, _ensure_project

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser


def test_the_organisation_pins_a_carer_and_re_plans_on_a_phone_and_a_desktop(browser: Browser, live_server) -> None:
    base = live_server.url
    contract_id, _ = _ensure_project(live_server.database_url)
    org: Page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    log_in(org, base, "org.leling", PASSWORDS["org.leling"])
    org.goto(f"{base}/teams/projects/{contract_id}")
    org.get_by_role("button", name="组建或更新小组").click()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=RUN_MS)
    org.get_by_role("link", name="锁定照护者并重新组队").click()
    expect(org.get_by_role("heading", name="小组方案")).to_be_visible()
    first = org.locator("section[id^=team-] button", has_text="锁定").first
    first.click()
    expect(org.locator("section[id^=team-] button", has_text="取消锁定").first).to_be_visible()
    # Nothing wider than the phone: every control stays reachable without scrolling sideways.
    assert org.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(org, "teams-steer-phone")
    org.set_viewport_size(DESKTOP)
    screenshot(org, "teams-steer-desktop")
    org.set_viewport_size(PHONE)
    org.get_by_role("button", name="保留锁定并重新组队").click()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=RUN_MS)
    expect(org.locator("#run-progress")).to_contain_text("保留了 1 个锁定")
    screenshot(org, "teams-steer-replanned-phone")
