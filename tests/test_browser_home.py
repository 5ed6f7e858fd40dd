"""Headless Chromium on the demo district: every role's home page is a to-do list whose items link where the work is
done, and no home or main list page scrolls sideways on a phone (390 px) or a desktop (1280 px) (issue 12, items 11
and 12). On a phone the links fold behind one menu button, and volunteers get a bottom tab bar.

Screenshots of each page at both widths land in test-artifacts/ (home-<role>-<width>.png) for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser_helpers import PASSWORDS, PHONE, STEP_MS, browser, log_in, patient_expect, screenshot

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 900}

# Where each to-do item may lead: the one thing waiting, or the list it sits in.
TARGETS = {
    "hours_pending": r"/attendance",
    "needs_without_tender": r"/needs(/\d+|\?status=open)",
    "households_quiet": r"/households(/\d+)?",
    "proposals_declined": r"/rosters",
    "milestones_reported": r"/contracts(/\d+|\?status=active)",
    "tenders_to_review": r"/tenders(/\d+|\?status=review&mine=1)",
    "objections_open": r"/notices(/\d+)?",
    "tenders_closing": r"/tenders(/\d+)?",
    "milestones_due": r"/contracts(/\d+|\?status=active)",
    "shifts_short": r"/shifts(/\d+|/published)",
    "bids_to_score": r"/reviews(/\d+)?",
    "proposals_open": r"/proposals",
    "checkins_due": r"/(attendance/shifts/\d+|hours)",
    "organisations_pending": r"/admin/organisations\?status=pending",
    "audit_unsealed": r"/admin/audit\?verify=1",
    "unread": r"/inbox",
}
# Each demo login: its role, the to-do items its home lists (in order), and its main list pages.
ROLES = {
    "committee.kailu4": (
        "committee",
        ["hours_pending", "needs_without_tender", "households_quiet", "proposals_declined", "unread"],
        ["/needs", "/households", "/shifts", "/attendance", "/rosters", "/teams", "/respite"],
    ),
    "funder.yinhang": (
        "funder",
        ["milestones_reported", "tenders_to_review", "objections_open", "unread"],
        ["/needs", "/tenders", "/contracts", "/dashboard"],
    ),
    "org.leling": (
        "organisation",
        ["tenders_closing", "milestones_due", "shifts_short", "hours_pending", "unread"],
        ["/tenders", "/bids", "/contracts", "/shifts", "/teams"],
    ),
    "reviewer.demo": ("reviewer", ["bids_to_score", "unread"], ["/reviews", "/tenders"]),
    "volunteer.demo": (
        "volunteer",
        ["proposals_open", "checkins_due", "unread"],
        ["/shifts", "/shifts/mine", "/proposals", "/teams/mine", "/timebank", "/hours", "/records", "/inbox"],
    ),
    "admin": (
        "admin",
        ["organisations_pending", "audit_unsealed", "unread"],
        ["/admin/organisations", "/admin/accounts", "/admin/audit"],
    ),
}
# How far the page reaches past the screen's right edge: past the window, or past the area beside a scroll bar.
OVERFLOW = (
    "Math.max(document.scrollingElement.scrollWidth - window.innerWidth,"
    " document.scrollingElement.scrollWidth - document.documentElement.clientWidth)"
)


def _no_sideways_scroll(page: Page, where: str) -> None:
    excess = page.evaluate(OVERFLOW)
    assert excess <= 0, f"{where} scrolls sideways by {excess} px at {page.viewport_size}"


def _todo_items(page: Page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        ".todo-item", "items => items.map(li => [li.dataset.todo, li.querySelector('a').getAttribute('href')])"
    )


@pytest.mark.parametrize("username", list(ROLES))
def test_each_roles_home_is_a_to_do_list_that_fits_a_phone(browser: Browser, live_server, username: str) -> None:
    role, keys, pages = ROLES[username]
    for viewport, width in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(STEP_MS)
        try:
            page = context.new_page()
            log_in(page, live_server.url, username, PASSWORDS[username])
            items = _todo_items(page)
            assert [key for key, _ in items] == keys
            for key, href in items:
                assert re.fullmatch(TARGETS[key], href), f"{role}: {key} links to {href}"
                assert page.request.get(live_server.url + href).status == 200, f"{role}: {key} → {href}"
            _no_sideways_scroll(page, f"{role}'s home")
            screenshot(page, f"home-{role}-{width}")
            if role == "volunteer":
                _the_next_shift_and_the_tab_bar(page, phone=width == "phone")
            if width == "phone":
                _the_menu_folds(page)
            for path in pages:
                page.goto(live_server.url + path)
                _no_sideways_scroll(page, path)
                screenshot(page, f"list-{role}{path.replace('/', '-')}-{width}")
        finally:
            context.close()


def _the_menu_folds(page: Page) -> None:
    """On a phone the navigation hides behind the menu button, and opens with it."""
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav).to_be_hidden()
    page.get_by_text("菜单").click()
    expect(nav).to_be_visible()
    page.get_by_text("菜单").click()


def _the_next_shift_and_the_tab_bar(page: Page, *, phone: bool) -> None:
    """The volunteer's home leads with the next shift (check-in link), and a phone shows the five tabs."""
    card = page.locator(".next-shift")
    expect(card).to_be_visible()
    checkin = card.locator("#next-shift-checkin")
    if checkin.count():
        assert re.fullmatch(r"/attendance/shifts/\d+", checkin.get_attribute("href") or "")
    tabs = page.get_by_role("navigation", name="志愿者导航")
    if not phone:
        expect(tabs).to_be_hidden()
        return
    expect(tabs).to_be_visible()
    expect(tabs.get_by_role("link")).to_have_text([re.compile(t) for t in ("班次", "我的", "小组", "时间银行", "消息")])
    expect(tabs.get_by_role("link", name="我的")).to_have_attribute("aria-current", "page")
    tabs.get_by_role("link", name="时间银行").click()
    expect(tabs.get_by_role("link", name="时间银行")).to_have_attribute("aria-current", "page")
    # Back to the home page: Chromium may restore it from its back-forward cache, which fires no load event, so the
    # walk waits for the page itself rather than for "load".
    page.go_back(wait_until="commit")
    expect(tabs.get_by_role("link", name="我的")).to_have_attribute("aria-current", "page")
