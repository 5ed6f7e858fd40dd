"""Headless Chromium, in Chinese, on a phone: the demo volunteer finds the "will you come?" ask in the inbox, follows
its link and confirms the place with one tap (issue 15, item 1).

Set up in SQL on the live server's database, as waits taken out of the test: a shift of the demo committee starting
26 to 35 hours from now (at an hour the volunteer holds nothing else), the volunteer's place on it taken before the
shift asked for confirmation, and the ask written by the cron's own statement rather than waiting for its minute.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from sql.confirmations import INSERT_DUE_ASKS
from tests.browser_helpers import browser, logged_in_phone, patient_expect, screenshot, sql, wider_than_the_screen

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

VOLUNTEER = "volunteer.demo"
COMMITTEE = "committee.kailu4"
SHIFT_TITLE = "开鲁四村周末助浴"

INSERT_SHIFT = """
INSERT INTO shifts (committee_id, title, description, place_name, lat, lon, starts_at, ends_at, headcount, created_by)
SELECT m.committee_id, $3, '协助护理员为失能老人助浴。', '开鲁四村睦邻点', 31.3105, 121.5322, slot.at,
       slot.at + interval '1 hour', 2, a.id
FROM accounts a JOIN memberships m ON m.account_id = a.id,
LATERAL (
    SELECT date_trunc('hour', now()) + make_interval(hours => 26 + h) AS at FROM generate_series(0, 9) AS h
    WHERE NOT EXISTS (
        SELECT 1 FROM commitments c JOIN volunteers v ON v.id = c.volunteer_id JOIN accounts va ON va.id = v.account_id
        WHERE va.username = $2 AND c.status = 'active'
          AND c.during && tstzrange(date_trunc('hour', now()) + make_interval(hours => 26 + h),
                                    date_trunc('hour', now()) + make_interval(hours => 27 + h)))
    ORDER BY h LIMIT 1
) slot
WHERE a.username = $1
RETURNING id
"""
HOLD_PLACE = """
INSERT INTO signups (shift_id, volunteer_id, status, during)
SELECT s.id, v.id, 'active', tstzrange(s.starts_at, s.ends_at, '[)')
FROM shifts s, volunteers v JOIN accounts a ON a.id = v.account_id WHERE s.id = $1 AND a.username = $2
RETURNING id
"""


def shift_at_a_free_hour(database_url: str, title: str) -> int:
    """A shift of the demo committee (see INSERT_SHIFT) at the first hour the demo volunteer holds nothing; its id."""
    shift = sql(database_url, INSERT_SHIFT, COMMITTEE, VOLUNTEER, title)
    assert shift is not None, "the demo volunteer holds something at every hour tried"
    return int(shift["id"])


# The place counted, and the shift asking for confirmation from now on (the place was taken before it asked).
ASK_FROM_NOW_ON = "UPDATE shifts SET taken = taken + 1, confirm_hours_before = 12 WHERE id = $1"


def test_a_volunteer_confirms_from_the_inbox_link(browser: Browser, live_server) -> None:
    base = live_server.url
    shift_id = shift_at_a_free_hour(live_server.database_url, SHIFT_TITLE)
    signup_id = int(sql(live_server.database_url, HOLD_PLACE, shift_id, VOLUNTEER)["id"])
    sql(live_server.database_url, ASK_FROM_NOW_ON, shift_id)
    sql(live_server.database_url, INSERT_DUE_ASKS)
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = logged_in_phone(browser, contexts, errors, base, VOLUNTEER)
        page.goto(f"{base}/inbox")
        ask = page.locator(".card", has_text=SHIFT_TITLE).filter(has_text="请确认是否参加")
        expect(ask).to_be_visible()
        screenshot(page, "confirm-inbox-phone")
        ask.get_by_role("link", name="确认或取消").click()
        page.wait_for_url(re.compile(r"/confirm/[0-9a-f]{32}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("您会来参加吗？")
        expect(page.locator("#place")).to_contain_text("确认截止")
        screenshot(page, "confirm-place-phone")
        # Nothing on the page reaches past the phone's width.
        wide = wider_than_the_screen(page)
        assert wide == [], wide
        page.get_by_role("button", name="确认参加").click()
        expect(page.get_by_role("status")).to_contain_text("您的报名已确认")
        expect(page.locator("#place")).to_contain_text("已确认")
        expect(page.locator("#confirm")).to_have_count(0)
        screenshot(page, "confirm-done-phone")
        confirmed = sql(live_server.database_url, "SELECT confirmed_at FROM signups WHERE id = $1", signup_id)
        assert confirmed["confirmed_at"] is not None
        # The same page on a desktop, for a person to look at.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(page.url.split("?")[0] + "/cancel")
        expect(page.locator("#cancel")).to_be_visible()
        screenshot(page, "confirm-cancel-desktop")
        # The committee sees the confirmation and each person's reliability where it sees who holds places.
        committee = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        committee.goto(f"{base}/attendance/shifts/{shift_id}/manage")
        expect(committee.locator("tbody tr .reliability").first).to_contain_text("守约率")
        expect(committee.locator("tbody tr").first).to_contain_text("已确认")
        screenshot(committee, "confirm-attendance-phone")
        committee.set_viewport_size({"width": 1280, "height": 900})
        screenshot(committee, "confirm-attendance-desktop")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
