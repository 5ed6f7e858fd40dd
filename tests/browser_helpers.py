"""Shared by the headless Chromium tests: one Chromium for the session, logging in through the form, screenshots."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}
# How long one step may wait for the page: the default 5 s is short on a loaded machine.
STEP_MS = 20_000


# The one Chromium of the session (and its Playwright), launched by the first browser test and closed at the end.
_SHARED: dict[str, Any] = {}


def _launch() -> Browser:
    """Start Playwright and the system Chromium, headless."""
    playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
    except BaseException:
        playwright.stop()
        raise
    _SHARED.update(playwright=playwright, browser=instance)
    return instance


def _close() -> None:
    instance, playwright = _SHARED.pop("browser", None), _SHARED.pop("playwright", None)
    try:
        if instance is not None:
            instance.close()
    finally:
        if playwright is not None:
            playwright.stop()


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Browser:
    """The system Chromium, headless, one for the whole session (the test fails, not skips, when it is missing).

    Each browser module imports this fixture, and pytest keeps an imported fixture per module, so the instance
    itself lives here and is closed once, when the session ends.
    """
    assert CHROMIUM.exists(), "browser tests need /usr/bin/chromium; `make test` installs it when run as root"
    if "browser" not in _SHARED:
        _launch()
        request.config.add_cleanup(_close)
    return _SHARED["browser"]  # type: ignore[no-any-return]


def log_in(page: Page, base: str, username: str, password: str) -> None:
    """Fill the login form like a person would, with the keyboard."""
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("用户名")).fill(username)
    page.get_by_label(re.compile("密码")).fill(password)
    page.get_by_label(re.compile("密码")).press("Enter")
    page.wait_for_url(f"{base}/home")


def sign_report_and_accept(
    org: Page, funder: Page, contract_url: str, *, report: str, comment: str, accept: str | re.Pattern[str]
) -> None:
    """On the contract's page, the organisation signs and reports the first milestone; the funder accepts and pays."""
    org.get_by_role("button", name="签订合同").click()
    expect(org.locator("p.status")).to_have_text("履行中")
    org.get_by_label("本阶段完成的服务内容").first.fill(report)
    org.get_by_role("button", name="报告本阶段").first.click()
    expect(org.get_by_text("已报告，待验收")).to_be_visible()
    funder.goto(contract_url)
    funder.get_by_label("给社会组织的意见").first.fill(comment)
    funder.get_by_role("button", name=accept).first.click()
    expect(funder.get_by_text("已验收并拨付")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot in test-artifacts/ (gitignored), for a person to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Assertions wait up to STEP_MS for the page (autouse in every module that imports it)."""
    expect.set_options(timeout=STEP_MS)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


def phone_page(chromium: Browser, contexts: list[BrowserContext], errors: list[str], who: str) -> Page:
    """A page in a phone-sized context of its own (Chinese, Shanghai time); its script errors go to `errors`."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(STEP_MS)
    contexts.append(context)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{who}: {exc}"))
    return page


def sql(database_url: str, query: str, *args: Any) -> Any:
    """One statement on the live server's database: its row (SELECT/INSERT), or its status line.

    In a thread of its own: Playwright's sync API keeps an asyncio loop running in this one.
    """

    async def run() -> Any:
        connection = await asyncpg.connect(database_url)
        try:
            if query.lstrip().upper().startswith(("SELECT", "INSERT")):
                return await connection.fetchrow(query, *args)
            return await connection.execute(query, *args)
        finally:
            await connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()
