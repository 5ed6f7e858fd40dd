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

from tests.browser_helpers import both_widths, browser, logged_in_phone, patient_expect, screenshot, sql
from tests.test_confirmations_browser import HOLD_PLACE, shift_at_a_free_hour

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


def test_a_volunteer_hands_over_a_place_and_takes_an_offered_one(browser: Browser, live_server) -> None:
    base, db = live_server.url, live_server.database_url
    mine = shift_at_a_free_hour(db, MINE)
    sql(db, HOLD_PLACE, mine, VOLUNTEER)
    sql(db, COUNT_PLACE, mine)
    offered = shift_at_a_free_hour(db, OFFERED)
    other = sql(db, HOLD_FOR_ANOTHER, offered, VOLUNTEER)
    sql(db, COUNT_PLACE, offered)
    handover = sql(db, OFFER, int(other["id"]))
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = logged_in_phone(browser, contexts, errors, base, VOLUNTEER)
        # Hand over my place: from my shifts, through the page that says what happens.
        page.goto(f"{base}/shifts/mine")
        page.locator(".card", has_text=MINE).get_by_role("link", name="转让名额").click()
        page.wait_for_url(re.compile(rf"/shifts/{mine}/handover$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("确定转让您的名额吗？")
        both_widths(page, "handover-offer")
        page.get_by_role("button", name="转让名额").click()
        expect(page.get_by_role("status")).to_contain_text("您的名额已开放转让")
        expect(page.locator("#handover")).to_contain_text("撤回转让")
        screenshot(page, "handover-offered-phone")
        # Take a place another volunteer offers.
        page.goto(f"{base}/shifts/handovers")
        card = page.locator(".card", has_text=OFFERED)
        expect(card).to_be_visible()
        both_widths(page, "handover-list")
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
            offered,
            VOLUNTEER,
        )
        assert held["status"] == "active"
        # The committee sees the open offer on its shift, and the setting that asks for its approval.
        committee = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        committee.goto(f"{base}/shifts/{mine}")
        expect(committee.locator("#handover")).to_contain_text("转让人：")
        expect(committee.get_by_label("审核名额转让的接收人")).not_to_be_checked()
        both_widths(committee, "handover-publisher")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
