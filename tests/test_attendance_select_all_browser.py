"""Headless Chromium, on a phone and a desktop: the committee ticks every pending hour with one select-all box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import PASSWORDS, PHONE, browser, log_in, patient_expect, screenshot

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

COMMITTEE = "committee.kailu4"


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["phone", "desktop"])
def test_select_all_ticks_and_clears_every_pending_hour(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, live_server.url, COMMITTEE, PASSWORDS[COMMITTEE])
        page.goto(f"{live_server.url}/attendance")
        rows = page.locator('tbody input[name="attendance_ids"]')
        assert rows.count() >= 2, "the demo committee has hours waiting for confirmation"
        select_all = page.get_by_role("checkbox", name="全选")
        expect(select_all).to_be_visible()
        select_all.check()
        assert all(rows.nth(i).is_checked() for i in range(rows.count()))
        screenshot(page, f"attendance-select-all-{viewport['width']}")
        # One row cleared: the box is neither ticked nor clear; clearing it clears them all.
        rows.first.uncheck()
        assert page.evaluate("document.getElementById('select-all').indeterminate") is True
        select_all.check()
        select_all.uncheck()
        assert not any(rows.nth(i).is_checked() for i in range(rows.count()))
        assert errors == []
    finally:
        context.close()
