"""Headless Chromium, in Chinese, with the demo district: committee.kailu4 goes from its household register to the
Excel import, uploads the sample register with a bad row, and sees that row's error (its row number as Excel shows
it, the column and what is wrong) with nothing imported — on a phone and on a desktop."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser_helpers import PASSWORDS, PHONE, browser, log_in, patient_expect, screenshot, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parent / "data" / "imports" / "households_bad_row.xlsx"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
COUNT = """
SELECT count(*) AS n FROM households h JOIN memberships m ON m.committee_id = h.committee_id
JOIN accounts a ON a.id = m.account_id WHERE a.username = 'committee.kailu4'
"""


def _upload_the_sample(browser: Browser, base: str, viewport: ViewportSize, suffix: str) -> Page:
    page: Page = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    log_in(page, base, "committee.kailu4", PASSWORDS["committee.kailu4"])
    page.get_by_role("link", name="服务对象家庭").first.click()
    page.get_by_role("link", name="从 Excel 导入").click()
    expect(page.get_by_role("heading", name="从 Excel 导入服务对象家庭")).to_be_visible()
    expect(page.get_by_role("link", name="下载模板（XLSX）")).to_be_visible()
    screenshot(page, f"imports-upload-{suffix}")
    page.get_by_label("Excel 文件（XLSX）").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#error-count")).to_have_text("1")
    expect(page.locator("#errors")).to_contain_text("第 6 行「联系电话」列：电话号码应为 7 到 15 位数字")
    row = page.locator("#row-6")
    expect(row).to_contain_text("赵美娟")
    expect(row).to_contain_text("联系电话：电话号码应为 7 到 15 位数字")
    expect(page.locator("#not-understood")).to_have_text("楼组长")
    expect(page.get_by_label("已取得本人或监护人书面同意").nth(5)).not_to_be_checked()
    return page


def test_a_committee_uploads_its_register_with_a_bad_row_and_sees_the_row_error_on_a_phone(
    browser: Browser, live_server
) -> None:
    base = live_server.url
    before = sql(live_server.database_url, COUNT)["n"]
    page = _upload_the_sample(browser, base, PHONE, "phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "imports-preview-bad-row-phone")
    page.get_by_role("link", name="第 6 行「联系电话」列").click()
    page.get_by_role("button", name="导入全部 6 户").click()
    expect(page.locator("#errors")).to_contain_text("第 6 行「联系电话」列")
    expect(page.locator("#errors")).to_contain_text("第 8 行「知情同意」列：取得本人或监护人书面同意后请勾选")
    screenshot(page, "imports-refused-phone")
    assert sql(live_server.database_url, COUNT)["n"] == before
    page.context.close()


def test_the_preview_of_a_bad_row_on_a_desktop(browser: Browser, live_server) -> None:
    page = _upload_the_sample(browser, live_server.url, DESKTOP, "desktop")
    screenshot(page, "imports-preview-bad-row-desktop")
    page.context.close()


def test_the_claim_page_for_imported_volunteers_on_a_phone(browser: Browser, live_server) -> None:
    page: Page = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    page.goto(f"{live_server.url}/register")
    page.get_by_role("link", name="认领志愿者档案").click()
    page.get_by_label("手机号").fill("13900000001")
    page.get_by_label("认领码").fill("AAAA-AAAA")
    page.get_by_label("用户名").fill("imported.person")
    page.get_by_label("密码").fill("a-long-password-1")
    page.get_by_role("button", name="认领我的档案").click()
    expect(page.locator("#e-code")).to_have_text("手机号或认领码不对")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "imports-claim-phone")
    page.context.close()
