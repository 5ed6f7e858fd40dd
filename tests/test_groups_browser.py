"""Headless Chromium, in Chinese, on a phone: the demo volunteer signs up a family for a shift from its page (a
child's row first refused beside the field for want of the guardian's consent), sees the group, the committee sees
the children under the leader on its attendance page, and the leader cancels one child and then, after the page that
asks, the whole group (issue 15, item 3)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser_helpers import browser, logged_in_phone, patient_expect, screenshot, sql, wider_than_the_screen
from tests.test_confirmations_browser import COMMITTEE, VOLUNTEER, shift_at_a_free_hour

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

SHIFT_TITLE = "开鲁四村亲子环保日"
ROOMY = "UPDATE shifts SET headcount = 6 WHERE id = $1"
# A family day may come on top of the demo volunteer's other places that week.
GENEROUS_CAP = "UPDATE volunteers SET weekly_hour_cap = 60 FROM accounts a WHERE a.id = account_id AND a.username = $1"


def test_a_leader_signs_up_a_family_and_cancels_it(browser: Browser, live_server) -> None:
    base = live_server.url
    shift_id = shift_at_a_free_hour(live_server.database_url, SHIFT_TITLE)
    sql(live_server.database_url, ROOMY, shift_id)
    sql(live_server.database_url, GENEROUS_CAP, VOLUNTEER)
    year = dt.datetime.now(dt.UTC).year
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = logged_in_phone(browser, contexts, errors, base, VOLUNTEER)
        page.goto(f"{base}/shifts/{shift_id}")
        page.locator("#group-signup").get_by_role("link", name="团体报名").click()
        page.wait_for_url(re.compile(rf"/shifts/{shift_id}/group$"))
        page.get_by_label("团体名称").fill("王家")
        page.locator("#f-m0_name").fill("王小明")
        page.locator("#f-m0_birth_year").fill(str(year - 9))
        page.locator("#f-m1_name").fill("王小红")
        page.locator("#f-m1_birth_year").fill(str(year - 7))
        page.locator("#f-m1_guardian_consent").check()
        page.get_by_role("button", name="团体报名").click()
        expect(page.locator("#e-m0_guardian_consent")).to_contain_text("须经监护人同意")
        assert wider_than_the_screen(page) == []
        screenshot(page, "group-form-error-phone")
        page.locator("#f-m0_guardian_consent").check()
        page.get_by_role("button", name="团体报名").click()
        page.wait_for_url(re.compile(r"/groups/\d+\?done=signed$"))
        expect(page.get_by_role("status")).to_contain_text("团体报名成功")
        expect(page.locator("#held")).to_have_text("3")
        assert wider_than_the_screen(page) == []
        screenshot(page, "group-view-phone")
        group_url = page.url.split("?")[0]

        committee = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        committee.goto(f"{base}/attendance/shifts/{shift_id}/manage")
        expect(committee.locator("#group-people")).to_contain_text(f"王小明（{year - 9}年生）")
        screenshot(committee, "group-attendance-phone")

        page.get_by_role("button", name="取消王小红的名额").click()
        expect(page.get_by_role("status")).to_contain_text("该成员的名额已取消")
        expect(page.locator("#held")).to_have_text("2")
        page.get_by_role("link", name="取消整个团体").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("取消整个团体？")
        screenshot(page, "group-cancel-confirm-phone")
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, "group-cancel-confirm-desktop")
        page.locator("#confirm").click()
        expect(page.get_by_role("status")).to_contain_text("团体的名额已全部取消")
        expect(page.locator("#held")).to_have_text("0")
        page.goto(group_url)
        screenshot(page, "group-view-desktop")
        page.goto(f"{base}/shifts/{shift_id}/group")
        screenshot(page, "group-form-desktop")
        taken = sql(live_server.database_url, "SELECT taken FROM shifts WHERE id = $1", shift_id)
        assert taken["taken"] == 0
        assert errors == []
    finally:
        for context in contexts:
            context.close()
