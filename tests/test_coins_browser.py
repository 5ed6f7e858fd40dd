"""Headless Chromium, in Chinese, on a phone: the demo volunteer books a time of a service in the district's
catalogue with time coins and sees the redemption code; the demo committee redeems the code, and looks at its
catalogue and settlement (issue 15, item 8). Screenshots of each page at 390 and 1280 px go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser_helpers import both_widths, browser, logged_in_phone, patient_expect, sql

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

VOLUNTEER = "volunteer.demo"
COMMITTEE = "committee.kailu4"
ITEM = "中医推拿"  # a service of the other committee of the district: coins spent across committees
# Enough own coins for the test, whatever the seed's history left the volunteer.
TOP_UP = """
WITH t AS (INSERT INTO ledger_transactions (kind) VALUES ('donate') RETURNING id)
INSERT INTO ledger_entries (transaction_id, account_id, bucket, minutes)
SELECT t.id, a.id, 'own', m FROM t, (
    SELECT la.id, 600 AS m FROM ledger_accounts la JOIN volunteers v ON v.id = la.volunteer_id
    JOIN accounts ac ON ac.id = v.account_id WHERE ac.username = $1
    UNION ALL SELECT id, -600 FROM ledger_accounts WHERE kind = 'pool') a
"""


def test_a_volunteer_books_with_coins_and_the_committee_redeems_the_code(browser: Browser, live_server) -> None:
    base, db = live_server.url, live_server.database_url
    sql(db, TOP_UP, VOLUNTEER)
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    try:
        page = logged_in_phone(browser, contexts, errors, base, VOLUNTEER)
        page.goto(f"{base}/timebank")
        page.get_by_role("link", name="时间币兑换").click()
        page.wait_for_url(re.compile(r"/coins$"))
        card = page.locator(".card", has_text=ITEM)
        expect(card).to_contain_text("剩余")
        both_widths(page, "coins-catalogue")
        card.get_by_role("button", name="用时间币预约").click()
        expect(page.get_by_role("status")).to_contain_text("预约成功")
        booking = page.locator(".card", has_text=ITEM).first
        code = booking.locator(".redemption-code").inner_text().replace(" ", "")
        assert re.fullmatch(r"[2-9A-Z]{8}", code), code
        both_widths(page, "coins-bookings")

        committee = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        committee.goto(f"{base}/coins/manage")
        expect(committee.locator("#items")).to_contain_text("社区理发")
        both_widths(committee, "coins-items")
        committee.locator("#items").get_by_role("link", name="社区理发").click()
        expect(committee.locator("#slots")).to_be_visible()
        both_widths(committee, "coins-item")
        # The committee of the haircut is not the one the volunteer booked at: the code is unknown to it.
        committee.goto(f"{base}/coins/redemptions")
        committee.get_by_label("兑换码").fill(code.lower())
        committee.get_by_role("button", name="核销", exact=True).click()
        expect(committee.locator("#e-code")).to_contain_text("本居委会没有使用这个兑换码的预约")
        both_widths(committee, "coins-redeem-refused")
        committee.goto(f"{base}/coins/settlement")
        expect(committee.locator("#redeemed-bookings")).not_to_have_text("0")
        both_widths(committee, "coins-settlement")
        assert errors == []
    finally:
        for context in contexts:
            context.close()
