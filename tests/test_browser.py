"""Headless Chromium: every demo role logs in, sees its home page in Chinese, and switches to English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from api.demo import DEMO_LOGINS
from tests.browser_helpers import browser, log_in, open_menu, screenshot

__all__ = ["browser"]  # a fixture, used by name
pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("label", "username", "password"), DEMO_LOGINS, ids=[u for _, u, _ in DEMO_LOGINS])
def test_demo_role_sees_home_in_chinese_then_english(browser, live_server, label, username, password):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, live_server.url, username, password)
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        heading = page.locator("main h1").first
        expect(heading).to_be_visible()
        assert CJK.search(page.locator("header nav").inner_text()), "the navigation should be in Chinese"
        assert "Service catalogue" not in page.content()

        open_menu(page)
        page.get_by_role("button", name="English").click()
        page.wait_for_url(f"{live_server.url}/home")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("header nav")).to_contain_text("Inbox")
        expect(page.locator("footer")).to_contain_text("Service catalogue")
        screenshot(page, f"home-{username}")

        # The choice sticks to the account: back in Chinese for the next person, English for this one.
        open_menu(page)
        page.get_by_role("button", name="中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        assert errors == []
    finally:
        context.close()


def test_wrong_password_is_explained_beside_the_field(browser, live_server):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label(re.compile("用户名")).fill("admin")
        page.get_by_label(re.compile("密码")).fill("not-the-password")
        page.get_by_role("button", name=re.compile("登录")).click()
        error = page.locator("#e-password")
        expect(error).to_have_text("用户名或密码错误")
        expect(page.get_by_label(re.compile("密码"))).to_have_attribute("aria-invalid", "true")
    finally:
        context.close()
