"""The axe-core check the crawl runs (tests/axe_check.py) finds what it must on tiny pages: an unlabelled input,
text too pale to read, a fault that exists only on a phone; and finds nothing on a clean page."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser

from tests.axe_check import axe_browser, axe_checker

__all__ = ["axe_browser"]  # a fixture, used by name
pytestmark = pytest.mark.browser

# A page with the app's stylesheet, as the crawl's pages have it.
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>测试</title>
<link rel="stylesheet" href="/static/css/linli.css"><style>{style}</style></head>
<body><main id="main"><h1>测试页面</h1>{body}</main></body></html>"""
CLEAN = '<div class="field"><label for="name">姓名</label><input id="name" name="name"></div><p>说明文字</p>'
UNLABELLED = '<div class="field"><input id="phone" name="phone"></div>'
PALE = '<p class="pale">浅色文字</p>'
PALE_ON_A_PHONE = '<p class="small">手机上的浅色文字</p>'
STYLE = ".pale { color: #c0c0c0; } @media (max-width: 599px) { .small { color: #d0d0d0; } }"
LABEL = "/tiny: axe label (critical: Form elements must have labels) at #phone [phone and desktop]"
CONTRAST = "/tiny: axe color-contrast (serious: Elements must meet minimum color contrast ratio thresholds) at p"


async def test_the_check_names_page_rule_elements_and_widths(axe_browser: Browser, client: httpx.AsyncClient) -> None:
    async with axe_checker(axe_browser, client) as check:
        found = {
            body: await check("/tiny", PAGE.format(body=body, style=STYLE))
            for body in (CLEAN, UNLABELLED, PALE, PALE_ON_A_PHONE)
        }
    assert found == {
        CLEAN: [],
        UNLABELLED: [LABEL],
        PALE: [f"{CONTRAST} [phone and desktop]"],
        PALE_ON_A_PHONE: [f"{CONTRAST} [phone]"],
    }
