"""Headless Chromium, in Chinese, on a phone: the demo volunteer hands over their place from 我的服务班次 after the
confirm page, then takes a place another volunteer offers from the list of offered places (issue 15, item 2).

Set up in SQL on the live server's database: two shifts of the demo committee 26 to 35 hours from now, each at an
hour the volunteer holds nothing else; the demo volunteer holds a place on the first, and another volunteer free at
that hour holds and offers a place on the second.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser_helpers import PASSWORDS, browser, log_in, patient_expect, phone_page, screenshot, sql
from tests.test_confirmations_browser import HOLD_PLACE, INSERT_SHIFT

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

VOLUNTEER = "volunteer.demo"
COMMITTEE = "committee.kailu4"
MINE = "开鲁四村助餐送餐"
OFFERED = "开鲁四村陪同就医"
# Another volunteer, free at that hour, takes a place on the shift (and then offers it).
HOLD_FOR_ANOTHER = """
INSERT INTO signups (shift_id, volunteer_id, status, during)
SELECT s.id, v.id, 'active', tstzrange(s.starts_at, s.ends_at, '[)')
FROM shifts s, volunteers v
WHERE s.id = $1
  AND v.account_id IS DISTINCT FROM (SELECT id FROM accounts WHERE username = $2)
  AND NOT EXISTS (SELECT 1 FROM commitments c WHERE c.volunteer_id = v.id AND c.status = 'active'
                                                AND c.during && tstzrange(s.starts_at, s.ends_at, '[)'))
ORDER BY v.id LIMIT 1
RETURNING id
"""
OFFER = """
INSERT INTO handovers (shift_id, signup_id, volunteer_id, status)
SELECT shift_id, id, volunteer_id, 'open' FROM signups WHERE id = $1
RETURNING id
"""
COUNT_PLACE = "UPDATE shifts SET taken = taken + 1 WHERE id = $1"


def _wide(page) -> list[str]:
    return page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".map(e => e.tagName + '.' + e.className)"
    )


def test_a_volunteer_hands_over_a_place_and_takes_an_offered_one(browser: Browser, live_server) -> None:
    base, db = live_server.url, live_server.database_url
    mine = sql(db, INSERT_SHIFT, COMMITTEE, VOLUNTEER, MINE)
    assert mine is not None, "the demo volunteer holds something at every hour tried"
    sql(db, HOLD_PLACE, int(mine["id"]), VOLUNTEER)
    sql(db, COUNT_PLACE, int(mine["id"]))
    offered = sql(db, INSERT_SHIFT, COMMITTEE, VOLUNTEER, OFFERED)
    assert offered is not None
    other = sql(db, HOLD_FOR_ANOTHER, int(offered["id"]), VOLUNTEER)
    sql(db, COUNT_PLACE, int(offered["id"]))
    handover = sql(db, OFFER, int(other["id"]))
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = phone_page(browser, contexts, errors, VOLUNTEER)
        log_in(page, base, VOLUNTEER, PASSWORDS[VOLUNTEER])
        # Hand over my place: from my shifts, through the page that says what happens.
        page.goto(f"{base}/shifts/mine")
        page.locator(".card", has_text=MINE).get_by_role("link", name="转让名额").click()
        page.wait_for_url(re.compile(rf"/shifts/{mine['id']}/handover$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("确定转让您的名额吗？")
        screenshot(page, "handover-offer-phone")
        assert _wide(page) == []
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, "handover-offer-desktop")
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("button", name="转让名额").click()
        expect(page.get_by_role("status")).to_contain_text("您的名额已开放转让")
        expect(page.locator("#handover")).to_contain_text("撤回转让")
        screenshot(page, "handover-offered-phone")
        # Take a place another volunteer offers.
        page.goto(f"{base}/shifts/handovers")
        card = page.locator(".card", has_text=OFFERED)
        expect(card).to_be_visible()
        screenshot(page, "handover-list-phone")
        assert _wide(page) == []
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, "handover-list-desktop")
        page.set_viewport_size({"width": 390, "height": 844})
        card.get_by_role("link", name="接收名额").click()
        page.wait_for_url(re.compile(rf"/handovers/{handover['id']}/take$"))
        screenshot(page, "handover-take-phone")
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, "handover-take-desktop")
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("button", name="接收名额").click()
        expect(page.get_by_role("status")).to_contain_text("名额已完成转让")
        expect(page.locator(".tags")).to_contain_text("已报名")
        screenshot(page, "handover-taken-phone")
        held = sql(
            db,
            "SELECT g.status FROM signups g JOIN volunteers v ON v.id = g.volunteer_id JOIN accounts a"
            " ON a.id = v.account_id WHERE g.shift_id = $1 AND a.username = $2",
            int(offered["id"]),
            VOLUNTEER,
        )
        assert held["status"] == "active"
        # The committee sees the open offer on its shift, and the setting that asks for its approval.
        committee = phone_page(browser, contexts, errors, COMMITTEE)
        log_in(committee, base, COMMITTEE, PASSWORDS[COMMITTEE])
        committee.goto(f"{base}/shifts/{mine['id']}")
        expect(committee.locator("#handover")).to_contain_text("转让人：")
        expect(committee.get_by_label("审核名额转让的接收人")).not_to_be_checked()
        screenshot(committee, "handover-publisher-phone")
        assert _wide(committee) == []
        committee.set_viewport_size({"width": 1280, "height": 900})
        screenshot(committee, "handover-publisher-desktop")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
