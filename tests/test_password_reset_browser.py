"""Headless Chromium on a phone, in Chinese: a volunteer who forgot their password follows 忘记密码 from the login
page, gives their phone number, reads the code from the text the SMS gateway received, sets a new password and is
logged in; a committee's manager invites a colleague on the staff page, and the colleague makes an account through
the link and is logged in. Screenshots at 390×844 and 1280×900."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser_helpers import (
    PASSWORDS,
    browser,
    log_in,
    logged_in_phone,
    patient_expect,
    phone_page,
    screenshot,
    sql,
)

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

USERNAME = "zhou.forgets"
PHONE_NUMBER = "137 0000 4321"
DESKTOP = {"width": 1280, "height": 900}


def _register(base: str, database_url: str) -> None:
    """A volunteer registered through the API with a phone number (not a demo login: its password changes here)."""
    area = sql(database_url, "SELECT id FROM areas WHERE level = 'committee' ORDER BY id LIMIT 1")
    body = {"username": USERNAME, "password": "the-old-password-1", "display_name": "周忘记", "birth_year": 1990,
            "home_area_id": area["id"], "phone": PHONE_NUMBER}  # fmt: skip
    response = httpx.post(f"{base}/api/volunteers", json=body, timeout=10)
    assert response.status_code == 201, response.text


def _code_sent_to(texts: list[dict[str, str]], phone: str) -> str:
    """The six digits of the newest text to the phone (the web app sends it right after answering)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for text in reversed(texts):
            if text["to"] == phone and (found := re.search(r"\b(\d{6})\b", text["text"])):
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no code reached {phone}: {texts[-3:]}")


def _desktop_page(chromium: Browser, contexts: list[BrowserContext]) -> Page:
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    contexts.append(context)
    return context.new_page()


def test_a_volunteer_resets_a_forgotten_password_with_a_texted_code(browser: Browser, live_server) -> None:
    base = live_server.url
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    _register(base, live_server.database_url)
    try:
        page = phone_page(browser, contexts, errors, USERNAME)
        page.goto(f"{base}/login")
        page.get_by_role("link", name="忘记密码？").click()
        expect(page.get_by_role("heading", name="忘记密码？")).to_be_visible()
        screenshot(page, "password-forgot-phone")
        page.get_by_label("用户名、手机号码或电子邮箱").fill(PHONE_NUMBER)
        page.get_by_role("button", name="发送验证码").click()
        expect(page.get_by_role("status")).to_contain_text("验证码已经发出")
        code = _code_sent_to(live_server.sms, PHONE_NUMBER)
        page.get_by_label("验证码").fill(code)
        page.get_by_label("新密码").fill("my-new-password-2026")
        screenshot(page, "password-reset-phone")
        page.get_by_role("button", name="设置新密码并登录").click()
        page.wait_for_url(f"{base}/home")
        expect(page.get_by_role("heading").first).to_be_visible()
        screenshot(page, "password-reset-home-phone")
        # The new password is the one that works now.
        token = httpx.post(
            f"{base}/api/auth/token", json={"username": USERNAME, "password": "my-new-password-2026"}, timeout=10
        )
        assert token.status_code == 201, token.text

        desktop = _desktop_page(browser, contexts)
        desktop.goto(f"{base}/password/forgot")
        screenshot(desktop, "password-forgot-desktop")
        desktop.goto(f"{base}/password/reset")
        screenshot(desktop, "password-reset-desktop")

        manager = logged_in_phone(browser, contexts, errors, base, "committee.kailu4")
        manager.goto(f"{base}/staff")
        expect(manager.get_by_role("heading", name="本单位工作人员")).to_be_visible()
        screenshot(manager, "staff-phone")
        # The manager invites a colleague; the link, opened on the colleague's phone, makes their account.
        manager.get_by_label("被邀请人").fill("王小梅")
        manager.get_by_role("button", name="生成邀请链接").click()
        link = manager.locator("#invitation-link").input_value()
        assert link.startswith(f"{base}/staff/join/")
        screenshot(manager, "staff-invited-phone")
        colleague = phone_page(browser, contexts, errors, "wang.xiaomei")
        colleague.goto(link)
        expect(colleague.get_by_text("开鲁四村居委会 邀请您以工作人员身份在邻里平台工作")).to_be_visible()
        colleague.get_by_label("用户名").fill("wang.xiaomei")
        colleague.get_by_label("姓名").fill("王小梅")
        colleague.get_by_label("密码").fill("xiaomei-password-2026")
        screenshot(colleague, "staff-join-phone")
        colleague.get_by_role("button", name="创建我的账号").click()
        colleague.wait_for_url(f"{base}/home")
        log_in(desktop, base, "committee.kailu4", PASSWORDS["committee.kailu4"])
        desktop.goto(f"{base}/staff")
        screenshot(desktop, "staff-desktop")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
