"""Headless Chromium, in Chinese, on a phone: a new volunteer registers through the page, picks up a shift (报名),
checks in by opening the shift's QR link and checks out, the residents' committee confirms the hours, and the
volunteer sees the time coins (issue 5, the first "must show").

Two things are set up in SQL on the live server's database, as waits taken out of the test: the shift itself (it
must start within the check-in window of the real clock, so it is written starting two minutes from now, by the
demo committee), and the hour and a half of service between check-in and check-out (the check-in time is moved
back 90 minutes instead of the test waiting for it).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser_helpers import browser, logged_in_phone, patient_expect, phone_page, screenshot, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

COMMITTEE = "committee.kailu4"
SHIFT_TITLE = "开鲁四村楼组助老：午间送餐"
VOLUNTEER = "xiaomei.flow"
VOLUNTEER_NAME = "林晓梅"
VOLUNTEER_PASSWORD = "xiaomei-password-2026"

# A shift of the demo committee starting two minutes from now (a pick-up needs a start in the future; check-in
# opens an hour before it), two hours long, near the committee's area.
INSERT_SHIFT = """
INSERT INTO shifts (committee_id, title, description, place_name, lat, lon, starts_at, ends_at, headcount,
                    created_by)
SELECT m.committee_id, $2, '为独居老人送午餐，并陪同聊天。', '开鲁四村睦邻点', 31.3105, 121.5322,
       now() + interval '2 minutes', now() + interval '2 hours 2 minutes', 3, a.id
FROM accounts a JOIN memberships m ON m.account_id = a.id
WHERE a.username = $1
RETURNING id
"""
SERVED_90_MINUTES = """
UPDATE attendance SET checked_in_at = checked_in_at - interval '90 minutes'
WHERE shift_id = $1 AND status = 'open'
"""


def register_volunteer(page: Page, base: str) -> None:
    """The registration form, filled in like a person would."""
    page.goto(f"{base}/register/volunteer")
    expect(page.get_by_role("heading", level=1)).to_have_text("注册成为志愿者")
    page.locator("#f-username").fill(VOLUNTEER)
    page.locator("#f-password").fill(VOLUNTEER_PASSWORD)
    page.locator("#f-display_name").fill(VOLUNTEER_NAME)
    page.locator("#f-birth_year").fill("1992")
    page.locator("#f-home_area_id").select_option(label="开鲁四村居委会")
    page.locator("#f-travel_km").fill("5")
    page.locator("#f-weekly_hour_cap").fill("6")
    page.locator("#f-sensitive_data_consent").check()
    page.get_by_role("button", name="注册", exact=True).click()
    # Registering logs the volunteer in: their home page comes next.
    page.wait_for_url(f"{base}/home")


def test_a_new_volunteer_earns_time_coins_through_the_pages(browser: Browser, live_server) -> None:
    base = live_server.url
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        volunteer = phone_page(browser, contexts, errors, VOLUNTEER)
        register_volunteer(volunteer, base)
        shift_id = int(sql(live_server.database_url, INSERT_SHIFT, COMMITTEE, SHIFT_TITLE)["id"])

        # 报名: the shift's page, its sign-up button.
        volunteer.goto(f"{base}/shifts/{shift_id}")
        expect(volunteer.get_by_role("heading", level=1)).to_have_text(SHIFT_TITLE)
        volunteer.get_by_role("button", name="报名", exact=True).click()
        expect(volunteer.get_by_role("status")).to_contain_text("报名成功")

        # The committee opens the shift's attendance page: the QR code and the link it encodes.
        committee = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        committee.goto(f"{base}/attendance/shifts/{shift_id}/manage")
        expect(committee.get_by_role("heading", name="签到二维码")).to_be_visible()
        expect(committee.locator("svg.qr")).to_be_visible()
        expect(committee.get_by_role("cell", name=VOLUNTEER_NAME)).to_be_visible()
        checkin_url = committee.locator("#checkin-url").get_attribute("href")
        assert checkin_url is not None and checkin_url.startswith(f"{base}/attendance/check-in/")
        screenshot(committee, "volunteering-qr")

        # The volunteer scans it: the link opens on their phone, logged in; 签到.
        volunteer.goto(checkin_url)
        expect(volunteer.get_by_role("heading", level=1)).to_contain_text(SHIFT_TITLE)
        expect(volunteer.locator("#attendance-status")).to_have_text("未签到")
        volunteer.get_by_role("button", name="签到", exact=True).click()
        expect(volunteer.get_by_role("status")).to_contain_text("签到成功")
        expect(volunteer.locator("#attendance-status")).to_have_text("已签到")

        # An hour and a half later (moved in SQL), 签退 from the same page.
        assert sql(live_server.database_url, SERVED_90_MINUTES, shift_id) == "UPDATE 1"
        volunteer.get_by_role("button", name="签退", exact=True).click()
        expect(volunteer.get_by_role("status")).to_contain_text("签退成功")
        expect(volunteer.locator("#attendance-status")).to_have_text("待确认")
        expect(volunteer.locator("#minutes")).to_have_text("1 小时 30 分钟")
        screenshot(volunteer, "volunteering-checked-out")

        # The committee confirms the hours on its list of hours to confirm.
        committee.goto(f"{base}/attendance")
        expect(committee.get_by_role("heading", level=1)).to_have_text("待确认服务时长")
        committee.get_by_role("checkbox", name=f"选择{VOLUNTEER_NAME}").check()
        committee.get_by_role("button", name="确认所选服务时长").click()
        expect(committee.get_by_role("status")).to_contain_text("已为1名志愿者确认服务时长")

        # The volunteer sees the coins, the record and the history.
        volunteer.goto(f"{base}/hours")
        expect(volunteer.locator("#confirmed-hours")).to_have_text("1 小时 30 分钟")
        volunteer.get_by_role("link", name="时间银行").first.click()
        expect(volunteer.get_by_role("heading", level=1)).to_have_text("时间银行")
        expect(volunteer.locator("#balance")).to_have_text("1.5")
        expect(volunteer.locator("#history")).to_contain_text(SHIFT_TITLE)
        expect(volunteer.locator("#history")).to_contain_text("+1.5")
        screenshot(volunteer, "volunteering-time-bank")
        volunteer.goto(f"{base}/records")
        expect(volunteer.get_by_role("cell", name=SHIFT_TITLE)).to_be_visible()
        assert errors == []
    finally:
        for context in contexts:
            context.close()
