"""Headless Chromium, in Chinese, on a phone and a desktop: the demo volunteer notes a home visit of the demo committee
they did an hour ago and raises an incident; the committee sees it on its home page and closes it; the household
rates the visit through its link without logging in (issue 15, item 4). Screenshots in test-artifacts/.

Set up in SQL on the live server's database: a home-care shift of the demo committee serving one of its households,
ended within the last hours at an hour the demo volunteer held nothing else, with the volunteer's place on it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from api.security import new_token, token_hash
from tests.browser_helpers import both_widths, browser, logged_in_phone, patient_expect, phone_page, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

VOLUNTEER = "volunteer.demo"
COMMITTEE = "committee.kailu4"
INSERT_VISIT = """
INSERT INTO shifts (committee_id, title, description, place_name, lat, lon, starts_at, ends_at, headcount, taken,
                    created_by, household_id)
SELECT m.committee_id, '上门助浴', '协助护理员为失能老人助浴。', '开鲁四村', h.lat, h.lon, slot.at,
       slot.at + interval '1 hour', 1, 1, a.id, h.id
FROM accounts a JOIN memberships m ON m.account_id = a.id
JOIN LATERAL (SELECT id, lat, lon FROM households WHERE committee_id = m.committee_id AND archived_at IS NULL
              ORDER BY id LIMIT 1) h ON true,
LATERAL (
    SELECT date_trunc('hour', now()) - make_interval(hours => 2 + k) AS at FROM generate_series(0, 20) AS k
    WHERE NOT EXISTS (
        SELECT 1 FROM commitments c JOIN volunteers v ON v.id = c.volunteer_id JOIN accounts va ON va.id = v.account_id
        WHERE va.username = $2 AND c.status = 'active'
          AND c.during && tstzrange(date_trunc('hour', now()) - make_interval(hours => 2 + k),
                                    date_trunc('hour', now()) - make_interval(hours => 1 + k)))
    ORDER BY k LIMIT 1
) slot
WHERE a.username = $1
RETURNING id, household_id
"""
HOLD_PLACE = """
INSERT INTO signups (shift_id, volunteer_id, status, during)
SELECT s.id, v.id, 'active', tstzrange(s.starts_at, s.ends_at, '[)')
FROM shifts s, volunteers v JOIN accounts a ON a.id = v.account_id WHERE s.id = $1 AND a.username = $2
RETURNING id
"""
# The link the note made, as if its SMS went out carrying this token (the live server runs no worker).
LINK = """
UPDATE visit_rating_links SET token_hash = $1, token = NULL, sms_status = 'sent', sent_at = now()
WHERE shift_id = $2
"""


def test_a_carer_notes_a_visit_and_raises_an_incident_the_committee_closes_and_the_household_rates(
    browser: Browser, live_server
) -> None:
    base, db = live_server.url, live_server.database_url
    visit = sql(db, INSERT_VISIT, COMMITTEE, VOLUNTEER)
    assert visit is not None, "the demo volunteer held something at every hour tried"
    shift_id = int(visit["id"])
    sql(db, HOLD_PLACE, shift_id, VOLUNTEER)
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = logged_in_phone(browser, contexts, errors, base, VOLUNTEER)
        page.get_by_role("link", name="我的上门服务").click()
        card = page.locator(f"#visit-s{shift_id}")
        both_widths(page, "visits-mine")
        card.get_by_role("link", name="填写服务记录").click()
        page.get_by_role("button", name="保存记录").click()  # no mood: the error beside the field
        expect(page.locator("#e-mood")).to_be_visible()
        page.get_by_label("一般").check()
        page.get_by_label("疼痛").check()
        page.get_by_label("助餐").check()
        page.get_by_label("备注").fill("老人说膝盖疼，午饭吃得少。")
        both_widths(page, "visit-note")
        page.get_by_role("button", name="保存记录").click()
        expect(page.locator("#done")).to_contain_text("服务记录已保存")
        expect(card.locator(".tag")).to_have_text("已记录")
        card.get_by_role("link", name="报告事件").click()
        page.get_by_label("事件类型").select_option("fall")
        page.get_by_label("严重程度").select_option("high")
        page.get_by_label("事件经过").fill("离开时老人在门口绊倒，已扶起，无明显外伤。")
        both_widths(page, "incident-new")
        page.get_by_role("button", name="报告事件").click()
        expect(page.locator("#done")).to_contain_text("居委会已收到通知")

        staff = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        expect(staff.locator("#visit-incidents")).to_contain_text("上门事件")
        staff.locator("#visit-incidents").get_by_role("link", name="查看待处理事件").click()
        both_widths(staff, "incidents")
        # The live list is overdue first, then oldest first: the incident just raised is the last of it.
        staff.locator("#incidents .card").last.get_by_role("link").click()
        expect(staff.locator("#what-happened")).to_contain_text("门口绊倒")
        staff.get_by_role("button", name="确认").click()
        expect(staff.locator("#done")).to_contain_text("已确认")
        staff.get_by_label("处理情况").fill("已电话联系女儿，明天陪同就医检查。")
        both_widths(staff, "incident")
        staff.get_by_role("button", name="关闭事件").click()
        expect(staff.locator("#done")).to_contain_text("事件已关闭")

        token = new_token()
        assert sql(db, LINK, token_hash(token), shift_id) == "UPDATE 1"
        elder = phone_page(browser, contexts, errors, "household")
        elder.goto(f"{base}/rate/{token}")
        expect(elder.get_by_role("heading", level=1)).to_have_text("这次上门服务怎么样？")
        both_widths(elder, "rate")
        elder.get_by_label(re.compile("5分")).check()
        elder.get_by_role("button", name="提交评价").click()
        expect(elder.locator("#done")).to_contain_text("评价已提交")
        elder.goto(f"{base}/rate/{token}")
        expect(elder.locator("#used")).to_be_visible()
        assert errors == []
    finally:
        for context in contexts:
            context.close()
