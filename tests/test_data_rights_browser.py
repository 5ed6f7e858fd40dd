"""Headless Chromium, in Chinese, on a phone: a demo volunteer downloads their data from their profile, is told
beside the field that the confirmation is missing, then erases their account and is logged out; the public check
of the certificate they had says it was withdrawn (issue 15, item 6).

Another demo volunteer than volunteer.demo is erased (the live server is shared by the browser tests), given a
certificate in SQL.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from api.demo import DEMO_VOLUNTEERS_PASSWORD
from tests.browser_helpers import both_widths, browser, logged_in_phone, patient_expect, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

# A demo volunteer other than the one the other browser tests log in as: the district's last, who logs in with the
# demo volunteers' shared password.
LAST_DEMO_VOLUNTEER = """
SELECT a.username, v.id FROM accounts a JOIN volunteers v ON v.account_id = a.id
WHERE a.username LIKE 'volunteer.0%' AND a.erased_at IS NULL ORDER BY a.username DESC LIMIT 1
"""
ISSUE_CERTIFICATE = """
INSERT INTO service_certificates (volunteer_id, records, minutes) VALUES ($1, 3, 360) RETURNING number, check_code
"""


def test_a_volunteer_downloads_their_data_and_erases_their_account(browser: Browser, live_server) -> None:
    base, db = live_server.url, live_server.database_url
    volunteer = sql(db, LAST_DEMO_VOLUNTEER)
    username = str(volunteer["username"])
    certificate = sql(db, ISSUE_CERTIFICATE, int(volunteer["id"]))
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = logged_in_phone(browser, contexts, errors, base, username, DEMO_VOLUNTEERS_PASSWORD)
        page.goto(f"{base}/volunteer/profile")
        page.locator("#my-data").get_by_role("link", name="下载或注销我的数据").click()
        page.wait_for_url(f"{base}/volunteer/data")
        expect(page.get_by_role("heading", level=1)).to_have_text("我的数据")
        both_widths(page, "data-rights-page")
        with page.expect_download() as download:
            page.get_by_role("link", name="下载我的数据（ZIP）").click()
        assert re.fullmatch(r"linli-data-\d{4}-\d{2}-\d{2}\.zip", download.value.suggested_filename)
        page.get_by_role("link", name="注销我的账户…").click()
        page.wait_for_url(f"{base}/volunteer/data/erase")
        both_widths(page, "data-rights-erase")
        page.get_by_label("或输入“注销”").fill("删除")
        page.get_by_role("button", name="立即注销我的账户").click()
        expect(page.locator(".field.has-error")).to_contain_text("请输入“注销”（或您的密码）以确认")
        both_widths(page, "data-rights-erase-error")
        page.get_by_label("或输入“注销”").fill("注销")
        page.get_by_role("button", name="立即注销我的账户").click()
        page.wait_for_url(f"{base}/account-erased")
        expect(page.get_by_role("heading", level=1)).to_have_text("您的账户已注销")
        both_widths(page, "data-rights-erased")
        page.goto(f"{base}/verify?number={certificate['number']}&code={certificate['check_code']}")
        expect(page.locator("#withdrawn")).to_contain_text("已撤销：该志愿者已注销账户。")
        both_widths(page, "data-rights-verify-withdrawn")
        page.goto(f"{base}/volunteer/data")
        expect(page).to_have_url(re.compile(r"/login"))
        assert errors == []
    finally:
        for context in contexts:
            context.close()
