"""Shared by the headless Chromium tests: one Chromium for the session, logging in through the form, screenshots."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright

from api.demo import DEMO_LOGINS
from api.dev import servers as devservers

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# The two widths every page is looked at: a phone's and a desktop's.
WIDTHS: tuple[tuple[str, ViewportSize], ...] = (("phone", PHONE), ("desktop", DESKTOP))
# Screenshots for a person to look at after the run (`LINLI_TEST_SCREENSHOTS=1 make test`; `make screens` keeps
# docs/screens/ by its own command). Off by default: the ~160 full-page PNGs of a run are about 40 s of both cores,
# and they assert nothing.
SCREENSHOTS = os.environ.get("LINLI_TEST_SCREENSHOTS", "") not in ("", "0")
# Each demo login's password, by username.
PASSWORDS = {username: password for _, username, password in DEMO_LOGINS}
# How long one step may wait for the page: the default 5 s is short on a loaded machine.
STEP_MS = 20_000


# Flags for the one Chromium of the session: headless, in a container (no sandbox, no GPU), quiet on the network.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    # The tests are offline: an outside host (the map's tile servers) fails at once, as on a phone without a
    # network, instead of holding a page's load event while its connection waits.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
# The session's Chromium, started by the first browser module that asks and stopped when the session ends.
_SHARED: dict[str, Any] = {}


def _start_chromium() -> str:
    """Launch the system Chromium once and return its DevTools address (it prints it on stderr when ready)."""
    profile = Path(tempfile.mkdtemp(prefix="linli-chromium-"))
    process = subprocess.Popen(
        [str(CHROMIUM), *CHROMIUM_ARGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=devservers.die_with_parent(),
    )
    _SHARED.update(process=process, profile=profile)
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("DevTools listening on "):
            # Keep reading what Chromium writes, or it blocks once the pipe is full.
            reader = threading.Thread(target=process.stderr.read, daemon=True)
            reader.start()
            _SHARED["reader"] = reader
            return line.removeprefix("DevTools listening on ").strip()
    raise RuntimeError("Chromium stopped before it listened:\n" + "".join(seen[-30:]))


def _stop_chromium() -> None:
    process, profile = _SHARED.pop("process", None), _SHARED.pop("profile", None)
    _SHARED.pop("endpoint", None)
    if process is not None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader = _SHARED.pop("reader", None)
        if reader is not None:
            reader.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    if profile is not None:
        shutil.rmtree(profile, ignore_errors=True)


def chromium_endpoint(config: pytest.Config) -> str:
    """The DevTools address of the session's one Chromium, started on first use and stopped when the session ends."""
    assert CHROMIUM.exists(), "browser tests need /usr/bin/chromium; `make test` installs it when run as root"
    if "endpoint" not in _SHARED:
        config.add_cleanup(_stop_chromium)
        _SHARED["endpoint"] = _start_chromium()
    endpoint: str = _SHARED["endpoint"]
    return endpoint


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """The session's one headless Chromium (the test fails, not skips, when it is missing), reached over DevTools.

    Chromium starts once per session (a module-scoped fixture imported by each module would start one per module);
    each module connects its own Playwright to it, so Playwright's event loop never outlives the module that uses it.
    """
    with sync_playwright() as playwright:
        instance = playwright.chromium.connect_over_cdp(chromium_endpoint(request.config))
        try:
            yield instance
        finally:
            instance.close()


def log_in(page: Page, base: str, username: str, password: str) -> None:
    """Fill the login form like a person would, with the keyboard."""
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("用户名")).fill(username)
    page.get_by_label(re.compile("密码")).fill(password)
    page.get_by_label(re.compile("密码")).press("Enter")
    page.wait_for_url(f"{base}/home")


# A photo of a sign-in sheet, as the organisation's phone would send it (the smallest valid PNG).
SIGN_IN_SHEET = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082"
)

# A milestone is reported from 30 days before it falls due: the journey moves the first one to today.
FIRST_MILESTONE_DUE_TODAY = """
UPDATE milestones SET due_on = (now() AT TIME ZONE 'Asia/Shanghai')::date WHERE contract_id = $1 AND seq = 1
RETURNING id
"""


def sign_report_and_accept(
    org: Page,
    funder: Page,
    contract_url: str,
    *,
    database_url: str,
    report: str,
    comment: str,
    accept: str | re.Pattern[str],
) -> None:
    """On the contract's page, the organisation signs and reports the first milestone (due today); the funder
    accepts and pays."""
    org.get_by_role("button", name="签订合同").click()
    expect(org.locator("p.status")).to_have_text("履行中")
    sql(database_url, FIRST_MILESTONE_DUE_TODAY, int(contract_url.rsplit("/", 1)[1]))
    org.reload()
    org.get_by_label("本阶段完成的服务内容").first.fill(report)
    org.get_by_label("佐证材料（活动照片、签到表、书面报告）").first.set_input_files(
        {"name": "签到表.png", "mimeType": "image/png", "buffer": SIGN_IN_SHEET}
    )
    # Nothing is sent until the organisation confirms the report is true (the server says so too, beside the box).
    confirm = org.get_by_label("我确认报告及佐证材料真实", exact=False).first
    expect(confirm).to_have_attribute("required", "")
    confirm.check()
    org.get_by_role("button", name="报告本阶段").first.click()
    expect(org.get_by_text("已报告，待验收")).to_be_visible()
    expect(org.get_by_role("link", name="签到表.png")).to_be_visible()
    funder.goto(contract_url)
    funder.get_by_label("给社会组织的意见").first.fill(comment)
    funder.get_by_role("button", name=accept).first.click()
    # A page says what accepting does and how much is paid, with the evidence, before it is done.
    expect(funder.get_by_role("heading", name="确定验收本阶段并拨付吗？")).to_be_visible()
    expect(funder.get_by_role("link", name="签到表.png")).to_be_visible()
    funder.locator("#confirm").click()
    expect(funder.get_by_text("已验收并拨付")).to_be_visible()


def screenshot(page: Page, name: str, *, part: str | None = None) -> None:
    """With SCREENSHOTS, a full-page screenshot (or of the element `part` selects) in test-artifacts/ (gitignored),
    for a person to look at after the run."""
    if not SCREENSHOTS:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    path = str(ARTIFACTS / f"{name}.png")
    if part is None:
        page.screenshot(path=path, full_page=True)
    else:
        page.locator(part).screenshot(path=path)


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


def open_menu(page: Page) -> None:
    """On a phone the header's links and buttons fold behind the menu button: open it (a no-op on a desktop)."""
    menu = page.locator("label.menu-button")
    if menu.is_visible() and not page.locator("#menu-toggle").is_checked():
        menu.click()


def follow_nav(page: Page, name: str) -> None:
    """Click a link of the site's navigation by its name, opening the phone's menu first."""
    open_menu(page)
    page.locator("header").get_by_role("link", name=name, exact=True).first.click()


# The elements (tag.class) whose right edge passes the viewport's: on a phone the page would scroll sideways.
WIDER_THAN_THE_SCREEN = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
    ".map(e => e.tagName + '.' + e.className)"
)
# How long a visits plan run may take on a loaded machine, from the button to "已完成".
VISITS_RUN_MS = 90_000


def wider_than_the_screen(page: Page) -> list[str]:
    """The elements (tag.class) that reach past the right edge of the page's viewport."""
    result: list[str] = page.evaluate(WIDER_THAN_THE_SCREEN)
    return result


def both_widths(page: Page, name: str) -> None:
    """Nothing wider than the phone; screenshots at a phone's and a desktop's width, and back to the phone."""
    screenshot(page, f"{name}-phone")
    assert wider_than_the_screen(page) == [], name
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)


def logged_in_phone(
    chromium: Browser, contexts: list[BrowserContext], errors: list[str], base: str, username: str, password: str = ""
) -> Page:
    """A phone page (see phone_page) on which `username` has logged in through the form (a demo login's password
    unless given)."""
    page = phone_page(chromium, contexts, errors, username)
    log_in(page, base, username, password or PASSWORDS[username])
    return page


def plan_the_visits_day(chromium: Browser, base: str) -> Page:
    """org.leling, on a phone, opens the demo home-care contract's board and plans the day; the plan is done."""
    org = chromium.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    log_in(org, base, "org.leling", PASSWORDS["org.leling"])
    follow_nav(org, "上门服务")
    org.locator("li.card").filter(has_text="开鲁新村居家照护上门服务项目").get_by_role("link", name="今日看板").click()
    expect(org.get_by_role("heading", name=re.compile("上门排班看板"))).to_be_visible()
    # The day's own button (the board also offers planning the whole week).
    org.locator("#run").get_by_role("button", name=re.compile("排班")).first.click()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    return org
