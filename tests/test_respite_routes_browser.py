"""Headless Chromium, in Chinese, on the demo district: committee.kailu4 puts three of its certified volunteers on its
respite roster and has five households asking for respite two weeks from today; on its respite page it marks the
14:00 visit as needing two carers; it opens that day's board on a phone, plans the day (the real worker runs
matching.visits) and sees its carers' routes as a timeline and on the map, the two-carer visit on two carers' routes
with each other's name, pins a visit and re-plans around it, and opens the day's week, at a phone's and a desktop's
width; one of the two carers sees the visit on their phone with their partner's name."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser_helpers import (
    DESKTOP,
    PASSWORDS,
    PHONE,
    VISITS_RUN_MS,
    both_widths,
    browser,
    logged_in_phone,
    patient_expect,
    screenshot,
    sql,
)

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

COMMITTEE = "SELECT m.committee_id FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE a.username = $1"
# Three volunteers holding a verified elderly-carer certificate on the committee's respite roster, joined.
ROSTER = """
INSERT INTO carers (committee_id, volunteer_id, name, lat, lon, work_days, work_starts, work_ends, travel_mode,
                    joined_at)
SELECT $1, v.id, v.display_name, v.lat, v.lon, '{1,2,3,4,5,6,7}', '08:00', '17:00',
       CASE WHEN row_number() OVER (ORDER BY v.id) = 3 THEN 'walk' ELSE 'ebike' END, now()
FROM volunteers v
WHERE v.id IN (SELECT vc.volunteer_id FROM volunteer_certificates vc JOIN credential_checks ck ON ck.id = vc.check_id
               WHERE vc.kind = 'elderly_carer' AND ck.state = 'verified' AND ck.expires_on > current_date + 30)
  AND v.lat IS NOT NULL
ORDER BY v.id LIMIT 3
ON CONFLICT DO NOTHING
"""
# Five of its households, each a one-hour visit on the day at its own time.
REQUESTS = """
WITH h AS (
    SELECT h.id, row_number() OVER (ORDER BY h.id) AS k FROM households h
    WHERE h.committee_id = $1 AND h.archived_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM respite_requests q WHERE q.household_id = h.id
                      AND lower(q.wanted)::date BETWEEN $2::date - 1 AND $2::date + 1)
    ORDER BY h.id LIMIT 5
), e AS (
    INSERT INTO respite_entitlements (household_id, kind, amount, period, visit_minutes, valid_from, valid_until)
    SELECT id, 'visits', 1, 'week', 60, current_date, current_date + 60 FROM h
    RETURNING id, household_id
)
INSERT INTO respite_requests (household_id, entitlement_id, wanted, minutes)
SELECT e.household_id, e.id,
       tstzrange(x.at, x.at + interval '60 minutes'), 60
FROM e JOIN h ON h.id = e.household_id
CROSS JOIN LATERAL (SELECT ($2::date + (ARRAY['09:00', '09:30', '10:00', '14:00', '14:30'])[h.k]::time)
                           AT TIME ZONE 'Asia/Shanghai' AS at) x
"""
# The 14:00 request of those five.
AT_TWO = """
SELECT q.id FROM respite_requests q JOIN households h ON h.id = q.household_id
WHERE h.committee_id = $1 AND lower(q.wanted) = ($2::date + time '14:00') AT TIME ZONE 'Asia/Shanghai'
"""
# The carers of the two-carer visit, and the username of the first one's account.
PAIR = """
SELECT array_agg(ca.name ORDER BY pv.id) AS names, (array_agg(a.username ORDER BY pv.id))[1] AS username
FROM planned_visits pv JOIN carers ca ON ca.id = pv.carer_id JOIN volunteers v ON v.id = ca.volunteer_id
JOIN accounts a ON a.id = v.account_id
WHERE pv.respite_request_id = $1 AND pv.status <> 'released'
"""
# The test logs in as that carer with volunteer.demo's password (the demo does not publish every volunteer's).
SAME_PASSWORD = """
UPDATE accounts SET password_hash = (SELECT password_hash FROM accounts WHERE username = 'volunteer.demo')
WHERE username = $1
"""


def test_the_committee_plans_a_respite_day_as_routes_on_a_phone_and_a_desktop(browser: Browser, live_server) -> None:
    base = live_server.url
    day = dt.date.today() + dt.timedelta(days=14)
    committee_id = sql(live_server.database_url, COMMITTEE, "committee.kailu4")["committee_id"]
    sql(live_server.database_url, ROSTER, committee_id)
    sql(live_server.database_url, REQUESTS, committee_id, day)
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    page = logged_in_phone(browser, contexts, errors, base, "committee.kailu4", PASSWORDS["committee.kailu4"])
    # The respite page: each entitlement's request form asks how many carers each visit needs.
    page.goto(f"{base}/respite")
    expect(page.locator("select[name=carers_needed]").first).to_contain_text("需要两名护理员")
    both_widths(page, "respite-entitlements")
    # The family of the 14:00 visit says the elder must be lifted: the committee marks it as needing two carers.
    two = sql(live_server.database_url, AT_TWO, committee_id, day)["id"]
    page.goto(f"{base}/respite/schedule?week={day.isoformat()}")
    page.locator(f"form[action$='/respite/requests/{two}/carers']").get_by_role("button").click()
    expect(page.locator("#done")).to_contain_text("已保存")
    expect(page.locator(f"form[action$='/respite/requests/{two}/carers']")).to_contain_text("改为一名护理员")
    expect(page.locator("tr", has=page.locator(f"form[action$='/respite/requests/{two}/carers']"))).to_contain_text(
        "需要两名护理员"
    )
    both_widths(page, "respite-two-carers-marked")
    page.goto(f"{base}/visits/respite?day={day.isoformat()}")
    expect(page.get_by_role("heading", name=re.compile("上门排班看板"))).to_be_visible()
    expect(page.locator("#requests")).to_contain_text("待排")
    page.locator("#run").get_by_role("button", name=re.compile("排班")).first.click()
    expect(page.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    expect(page.get_by_role("heading", name="全天路线")).to_be_visible()
    expect(page.locator("section.route-card").first).to_contain_text("喘息服务")
    expect(page.locator("#requests")).to_contain_text("已排入路线")
    # The two-carer visit is on two carers' routes, each naming the other.
    pair = sql(live_server.database_url, PAIR, two)
    first, second = pair["names"]
    assert first != second
    expect(page.locator("section.route-card p.partner")).to_have_count(2)
    for me, partner in ((first, second), (second, first)):
        card = page.locator("section.route-card").filter(has=page.locator("h2", has_text=me))
        expect(card.locator("p.partner")).to_contain_text(f"与{partner}一起")
    screenshot(page, "respite-board-two-carers-phone")
    # The committee steers its day as a contract's board is steered: it pins a visit to its carer, re-plans around
    # the pin, and the visit stays pinned (a sick call shows on today's board only).
    page.get_by_role("button", name=re.compile("把这项上门锁定给")).first.click()
    expect(page.locator("p.notice")).to_contain_text("锁定")
    expect(page.locator("#pins")).to_contain_text("已锁定 1 项上门")
    page.get_by_role("button", name="保留锁定并重新排班").click()
    expect(page.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    expect(page.locator("section.route-card .tag", has_text="已锁定")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "respite-board-pinned-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "respite-board-pinned-desktop")
    # Its week: the day planned among the week's days, the carers by day.
    page.get_by_role("link", name="查看本周").click()
    expect(page.get_by_role("heading", name=re.compile("上门周排班"))).to_be_visible()
    expect(page.get_by_role("button", name="为本周每天排班")).to_be_visible()
    screenshot(page, "respite-week-desktop")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "respite-week-phone")
    # One of the two carers, on their phone: the visit with their partner's name.
    sql(live_server.database_url, SAME_PASSWORD, pair["username"])
    carer = logged_in_phone(browser, contexts, errors, base, pair["username"], PASSWORDS["volunteer.demo"])
    carer.goto(f"{base}/visits/today?day={day.isoformat()}")
    expect(carer.locator("li.stop", has_text="喘息服务").filter(has_text=f"与{second}一起")).to_have_count(1)
    both_widths(carer, "respite-two-carers-carer")
    for context in contexts:
        context.close()
    assert errors == []
