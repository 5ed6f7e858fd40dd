"""Headless Chromium, in Chinese on a phone-sized screen, with the demo data: from an award whose notice is over to a
paid milestone — the funder makes the contract, the organisation signs and reports, the funder accepts and pays."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser_helpers import PASSWORDS, browser, log_in, sign_report_and_accept

__all__ = ["browser"]  # a fixture, used by name
pytestmark = pytest.mark.browser


def as_user(chromium: Browser, base: str, username: str) -> Page:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, username, PASSWORDS[username])
    return page


def yuan_on(text: str) -> Decimal:
    """The first amount like ¥165,300.00 in a text."""
    found = re.search(r"¥([\d,]+\.\d\d)", text)
    assert found is not None, text
    return Decimal(found.group(1).replace(",", ""))


def test_from_award_to_paid_milestone(browser: Browser, live_server) -> None:
    base = live_server.url
    funder = as_user(browser, base, "funder.yinhang")
    funder.goto(f"{base}/contracts")
    expect(funder.get_by_role("heading", name="可签订合同的中标结果")).to_be_visible()
    funder.get_by_role("link", name="签订合同").first.click()
    expect(funder.get_by_role("heading", name="签订合同", level=1)).to_be_visible()
    amount = yuan_on(funder.locator("dl.facts").inner_text())
    first = (amount / 2).quantize(Decimal("1"))
    start = date.fromisoformat(funder.get_by_label("开始日期").input_value())
    funder.get_by_label("名称").nth(0).fill("项目启动")
    funder.get_by_label("到期日").nth(0).fill((start + timedelta(30)).isoformat())
    funder.get_by_label("分期拨付金额（元）").nth(0).fill(str(first))
    funder.get_by_label("名称").nth(1).fill("结项评估")
    funder.get_by_label("到期日").nth(1).fill((start + timedelta(300)).isoformat())
    funder.get_by_label("分期拨付金额（元）").nth(1).fill(str(amount - first))
    funder.get_by_role("button", name="签订合同").click()
    expect(funder.locator("p.status")).to_have_text("待签订")
    contract_url = funder.url
    assert re.search(r"/contracts/\d+$", contract_url)

    org = as_user(browser, base, "org.leling")
    org.goto(contract_url)
    sign_report_and_accept(
        org,
        funder,
        contract_url,
        database_url=live_server.database_url,
        report="已完成首期服务：走访新退休居民32人，组建兴趣小组3个。",
        comment="验收通过。",
        accept=re.compile("验收通过并拨付"),
    )
    expect(funder.get_by_text(re.compile(r"已于 .* 拨付 ¥"))).to_be_visible()
    paid = yuan_on(funder.locator("dt:has-text('已拨付金额') + dd").inner_text())
    assert paid == first
    funder.goto(f"{base}/payments")
    expect(funder.get_by_role("cell", name=f"¥{first:,.2f}").first).to_be_visible()
