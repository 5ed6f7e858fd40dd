"""Headless Chromium on a phone, in Chinese, with the demo district and its 311 project: the organisation refreshes
its teams (the real worker runs matching.teams) and records a household's refusal; volunteer.demo records a visit
and opens the household's details, which only a member sees."""

from __future__ import annotations

import asyncio
import random
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, expect

from api.demo.teams import seed_teams
from api.services.types import today
from tests.browser_helpers import PASSWORDS, PHONE, browser, follow_nav, log_in, patient_expect, screenshot

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

RUN_MS = 60_000
SELECT_PROJECT = """
SELECT c.id FROM contracts c JOIN teams t ON t.contract_id = c.id
JOIN memberships m ON m.organisation_id = c.organisation_id JOIN accounts a ON a.id = m.account_id
WHERE a.username = 'org.leling' ORDER BY c.id LIMIT 1
"""
SELECT_DEMO_TEAM = """
SELECT t.id, h.id AS household_id, h.address FROM teams t JOIN households h ON h.id = t.household_id
JOIN team_members m ON m.team_id = t.id AND m.until IS NULL
JOIN volunteers v ON v.id = m.volunteer_id JOIN accounts a ON a.id = v.account_id
WHERE a.username = 'volunteer.demo' AND t.status = 'live' ORDER BY t.id LIMIT 1
"""


def _db(database_url: str, job: Any) -> Any:
    """Run `job(connection)` on the live database in a thread of its own (Playwright's loop owns this one)."""

    async def run() -> Any:
        connection = await asyncpg.connect(database_url)
        try:
            return await job(connection)
        finally:
            await connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _ensure_project(database_url: str) -> tuple[int, Any]:
    """The demo's 311 project (seeding it when the demo seed does not yet), and volunteer.demo's team."""

    async def job(conn: asyncpg.Connection) -> tuple[int, Any]:
        if await conn.fetchval(SELECT_PROJECT) is None:
            async with conn.transaction():
                await seed_teams(conn, random.Random("linli-demo:1:teams"), today())
        return int(await conn.fetchval(SELECT_PROJECT)), await conn.fetchrow(SELECT_DEMO_TEAM)

    result: tuple[int, Any] = _db(database_url, job)
    return result


def test_the_311_flow_on_a_phone(browser: Browser, live_server) -> None:
    base = live_server.url
    contract_id, demo_team = _ensure_project(live_server.database_url)
    assert demo_team is not None
    org: Page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    log_in(org, base, "org.leling", PASSWORDS["org.leling"])
    follow_nav(org, "311类家庭小组")
    expect(org.get_by_role("heading", name="311类家庭", exact=True)).to_be_visible()
    org.locator(f'a[href="/teams/projects/{contract_id}"]').click()
    expect(org.get_by_role("heading", name="服务对象家庭")).to_be_visible()
    assert demo_team["address"] not in org.content()
    org.get_by_role("button", name="组建或更新小组").click()
    expect(org.get_by_text("组队运算已开始")).to_be_visible()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=RUN_MS)
    expect(org.locator("#run")).to_contain_text("户家庭组队")
    screenshot(org, "teams-project-phone")
    # The run may move a carer so another household gets a team: look volunteer.demo's team up again.
    demo_team = _db(live_server.database_url, lambda conn: conn.fetchrow(SELECT_DEMO_TEAM))
    assert demo_team is not None
    org.goto(f"{base}/teams/{demo_team['id']}")
    expect(org.locator("#minimum")).to_be_visible()
    select = org.get_by_label("服务对象家庭拒绝这位照护者")
    options = select.locator("option").all_inner_texts()
    refused = next(o for o in options if o != "王海燕")
    select.select_option(label=refused)
    org.get_by_role("button", name="记录拒绝").click()
    expect(org.get_by_text("已记录拒绝")).to_be_visible()
    expect(org.locator("details")).to_contain_text(refused)
    screenshot(org, "teams-refusal-phone")

    volunteer: Page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    log_in(volunteer, base, "volunteer.demo", PASSWORDS["volunteer.demo"])
    follow_nav(volunteer, "311类家庭小组")
    expect(volunteer.get_by_role("heading", name="我的311类家庭小组")).to_be_visible()
    volunteer.locator(f'a[href="/teams/{demo_team["id"]}"]').click()
    assert demo_team["address"] not in volunteer.content()
    volunteer.get_by_label("分钟数").fill("75")
    volunteer.get_by_label("联系方式").select_option(label="电话联系")
    volunteer.get_by_role("button", name="登记", exact=True).click()
    expect(volunteer.get_by_text("探访已登记")).to_be_visible()
    expect(volunteer.locator("table")).to_contain_text("电话联系")
    screenshot(volunteer, "teams-team-phone")
    volunteer.get_by_role("link", name="地址和照护要点").click()
    expect(volunteer.locator("#address")).to_have_text(demo_team["address"])
    expect(volunteer.get_by_text(re.compile("您的查看已被记录"))).to_be_visible()
    screenshot(volunteer, "teams-household-phone")
