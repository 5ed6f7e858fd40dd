"""axe-core (vendored, tests/vendor/axe-core) run in the session's headless Chromium over pages the tests already
hold: the crawl hands each page's HTML here, Chromium renders it at a phone's and a desktop's width (the page's
styles and scripts served by the same in-process app), and every `serious` or `critical` violation is a fault
naming the page, the rule and the elements."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, ViewportSize, async_playwright

from tests.browser_helpers import PHONE, STEP_MS, WIDTHS, chromium_endpoint

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# The impacts that fail a test; `moderate` and `minor` are advice.
BLOCKING = ("serious", "critical")
# Pages are given this origin in Chromium; nothing leaves the machine (every request is answered from the app).
ORIGIN = "http://linli.test"
# Each violation: its rule, impact, one-line help and the CSS selectors of the elements at fault.
RUN_AXE = """async (blocking) => {
  // No preload: the page is loaded, and fetching its stylesheets again for one rule costs a request a run.
  const results = await axe.run(document, {resultTypes: ["violations"], preload: false});
  return results.violations.filter(v => blocking.includes(v.impact)).map(v => ({
    rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" "))}));
}"""
# Elements named in a fault; a rule broken on every row of a long table says so once with a count.
SHOWN_TARGETS = 4

# The main part of a page (what differs between the roles' copies of it), without the session's CSRF token.
MAIN = re.compile(r"<main\b.*</main>", re.S)
CSRF = re.compile(r'name="_csrf_token" value="[^"]*"')
# The main parts this process has checked: the public pages (areas, catalogue, notices …) reach every role's crawl
# with the same main part and only another header, which each role's own pages check anyway.
_CHECKED: set[str] = set()

Check = Callable[[str, str], Awaitable[list[str]]]


def _seen_before(html: str) -> bool:
    """Whether a page with this main part was checked already in this process (and remember it now)."""
    main = MAIN.search(html)
    if main is None:
        return False
    digest = hashlib.sha256(CSRF.sub("", main.group(0)).encode()).hexdigest()
    if digest in _CHECKED:
        return True
    _CHECKED.add(digest)
    return False


async def violations(page: Page) -> list[dict[str, Any]]:
    """The page's serious and critical axe violations as it is laid out now."""
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE, list(BLOCKING))
    return found


def describe(where: str, found: list[dict[str, Any]]) -> list[str]:
    """One line per violation: page, rule, impact, what the rule asks, the elements at fault."""
    lines = []
    for v in found:
        targets = ", ".join(v["targets"][:SHOWN_TARGETS])
        more = f" and {len(v['targets']) - SHOWN_TARGETS} more" if len(v["targets"]) > SHOWN_TARGETS else ""
        lines.append(f"{where}: axe {v['rule']} ({v['impact']}: {v['help']}) at {targets}{more}")
    return lines


@pytest.fixture(scope="module")
async def axe_browser(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """The session's Chromium reached from this module's Playwright (starting one per test cost seconds each)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(chromium_endpoint(request.config))
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def axe_checker(
    browser: Browser, client: httpx.AsyncClient, widths: tuple[tuple[str, ViewportSize], ...] = WIDTHS
) -> AsyncIterator[Check]:
    """A function that renders a page's HTML (fetched by `client` at a path) in Chromium with axe in it and returns
    its faults at each of `widths`; the page's stylesheets and scripts come from `client` too, so they are the app's."""
    documents: dict[str, str] = {}
    # A stylesheet or script under /static/ is the same file for every page (its name carries its hash): asked of
    # the app once per checker, not once per page.
    assets: dict[str, tuple[int, dict[str, str], bytes]] = {}

    async def answer(route: Route) -> None:
        request_ = route.request
        parts = urlsplit(request_.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if request_.is_navigation_request() and target in documents:
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=documents[target])
            return
        if request_.method != "GET":
            # A page's script that writes (none should on load) is not part of what is checked.
            await route.abort()
            return
        if target not in assets:
            response = await client.get(target)
            headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-encoding")}
            answered = (response.status_code, headers, response.content)
            if not target.startswith("/static/"):
                await route.fulfill(status=answered[0], headers=answered[1], body=answered[2])
                return
            assets[target] = answered
        status, headers, body = assets[target]
        await route.fulfill(status=status, headers=headers, body=body)

    context = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        context.set_default_timeout(STEP_MS)
        # Injected once into each document as it starts, outside the page's Content-Security-Policy.
        await context.add_init_script(path=AXE_JS)
        await context.route(f"{ORIGIN}/**", answer)
        # Anything else (a map's tiles) is not reachable, as in the tests' network.
        await context.route(lambda url: not url.startswith(ORIGIN), lambda route: route.abort())
        page = await context.new_page()

        async def check(path: str, html: str) -> list[str]:
            if _seen_before(html):
                return []
            documents.clear()
            documents[path] = html
            await page.set_viewport_size(widths[0][1])
            await page.goto(ORIGIN + path, wait_until="load")
            faults: dict[str, list[str]] = {}
            for width, viewport in widths:
                await page.set_viewport_size(viewport)
                for line in describe(path, await violations(page)):
                    faults.setdefault(line, []).append(width)
            return [f"{line} [{' and '.join(found_at)}]" for line, found_at in faults.items()]

        yield check
    finally:
        await context.close()
