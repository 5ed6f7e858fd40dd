"""Headless Chromium on a phone, in Chinese, with the demo district: committee.kailu4 registers a household with its
visit slots, sees the consent error beside the box, edits the household and archives it after a confirmation."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser_helpers import PASSWORDS, PHONE, browser, log_in, patient_expect, screenshot, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

SELECT_POINT = """
SELECT a.lat, a.lon FROM accounts ac JOIN memberships m ON m.account_id = ac.id
JOIN committees c ON c.id = m.committee_id JOIN areas a ON a.id = c.area_id WHERE ac.username = 'committee.kailu4'
"""


def test_a_committee_keeps_its_household_register_on_a_phone(browser: Browser, live_server) -> None:
    base = live_server.url
    point = sql(live_server.database_url, SELECT_POINT)
    name = f"测试{uuid.uuid4().hex[:6]}"
    address = f"开鲁路{uuid.uuid4().int % 900 + 100}弄5号201室"
    page: Page = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    log_in(page, base, "committee.kailu4", PASSWORDS["committee.kailu4"])
    page.get_by_role("link", name="服务对象家庭").first.click()
    expect(page.get_by_role("heading", name="服务对象家庭")).to_be_visible()
    page.get_by_role("link", name="登记服务对象家庭").click()
    page.get_by_label("老人姓名").fill(name)
    page.locator("#f-address").fill(address)
    page.get_by_label("电话").fill("13900002222")
    page.get_by_label("周二上午").check()
    page.get_by_label("周四下午").check()
    page.get_by_label("纬度").fill(str(point["lat"]))
    page.get_by_label("经度").fill(str(point["lon"]))
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#e-consent")).to_contain_text("书面同意")
    expect(page.get_by_label("周二上午")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "households-consent-error-phone")
    page.get_by_label("已取得本人或监护人书面同意").check()
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#address")).to_have_text(address)
    household_id = int(page.url.split("/households/")[1].split("?")[0])
    expect(page.locator("#visit-slots")).to_have_text("周二上午、周四下午")
    screenshot(page, "households-details-phone")
    page.get_by_role("link", name="修改", exact=True).click()
    page.get_by_label("家庭人数").fill("2")
    page.get_by_label("周四下午").uncheck()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    expect(page.locator("#visit-slots")).to_have_text("周二上午")
    page.get_by_role("link", name="退出服务", exact=True).click()
    page.get_by_role("button", name="确认：该家庭退出服务").click()
    expect(page.get_by_text("该家庭已退出服务")).to_be_visible()
    assert name not in page.content()
    screenshot(page, "households-register-phone")
    row = sql(
        live_server.database_url, "SELECT head_name, phone, care_notes FROM households WHERE id = $1", household_id
    )
    assert row is not None and row["head_name"] == "已退出" and row["phone"] is None
