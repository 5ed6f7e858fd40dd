"""Headless Chromium, in Chinese: the demo volunteer gets the service record certificate on a phone, downloads its
PDF, and a stranger without a camera types the number and check code printed on it into the public verification
page, on a phone and on a desktop."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Browser, BrowserContext, ViewportSize, expect
from pypdf import PdfReader

from tests.browser_helpers import browser, logged_in_phone, patient_expect, phone_page, screenshot

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

VOLUNTEER = "volunteer.demo"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def test_a_volunteer_downloads_the_pdf_and_a_stranger_verifies_it(browser: Browser, live_server) -> None:
    base = live_server.url
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        volunteer = logged_in_phone(browser, contexts, errors, base, VOLUNTEER)
        volunteer.goto(f"{base}/records")
        volunteer.get_by_role("button", name="开具服务记录证明（免费）").click()
        expect(volunteer.get_by_role("heading", name="志愿服务记录证明")).to_be_visible()
        number = volunteer.locator("#certificate-number").inner_text()
        code = re.search(r"核验码：([0-9A-F-]{14})", volunteer.locator(".cert-close").inner_text())
        assert code is not None
        screenshot(volunteer, "certificate-phone")
        with volunteer.expect_download() as download:
            volunteer.get_by_role("link", name="下载 PDF").click()
        assert download.value.suggested_filename == f"{number}.pdf"
        with open(download.value.path(), "rb") as f:
            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(f.read())).pages)
        assert f"证明编号：{number}" in text and f"核验码：{code.group(1)}" in text
        volunteer.set_viewport_size(DESKTOP)
        screenshot(volunteer, "certificate-desktop")

        for viewport, width in ((None, "phone"), (DESKTOP, "desktop")):
            if viewport is None:
                stranger = phone_page(browser, contexts, errors, "stranger")
            else:
                context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
                contexts.append(context)
                stranger = context.new_page()
            stranger.goto(f"{base}/verify")
            stranger.get_by_label("证明编号").fill(number)
            stranger.get_by_label("核验码").fill(code.group(1).lower())
            stranger.get_by_role("button", name="核验").click()
            expect(stranger.locator(".verdict-word")).to_have_text("此证明真实有效。")
            expect(stranger.locator("#checked-number")).to_have_text(number)
            expect(stranger.locator("#checked-name")).to_contain_text("*")
            screenshot(stranger, f"certificate-verify-{width}")
            stranger.goto(f"{base}/verify/{number}/000000000000")
            expect(stranger.locator("#not-found")).to_contain_text("没有与此编号和核验码相符的证明")
            screenshot(stranger, f"certificate-verify-unknown-{width}")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
