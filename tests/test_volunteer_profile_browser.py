"""Headless Chromium on a phone, in Chinese: a committee publishes a weekly shift that needs an elderly-care
worker certificate; a new volunteer sees why they cannot take it, records the certificate and a weekly window on
their profile page, still cannot take it until the committee has opened the evidence and verified the certificate
(a photo sent from the profile, opened and verified on the committee's 待核验 page), then sees the 报名 button;
their calendar address serves an iCal feed without a session."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from api.services.types import SHANGHAI
from tests.browser_helpers import (
    PASSWORDS,
    browser,
    follow_nav,
    logged_in_phone,
    patient_expect,
    phone_page,
    screenshot,
)

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser

COMMITTEE = "committee.kailu4"
VOLUNTEER = "liuyang.profile"
VOLUNTEER_PASSWORD = "liuyang-password-2026"
TITLE = "每周二失能老人助浴（浏览器测试）"


def _next_tuesday() -> dt.date:
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    return day + dt.timedelta(days=(2 - day.isoweekday()) % 7)


def _token(base: str, username: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{base}/api/auth/token", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


def _take_a_plain_shift(base: str, tuesday: dt.date) -> None:
    """The volunteer takes a plain shift of the committee, which makes it one they serve with."""
    me = _token(base, VOLUNTEER, VOLUNTEER_PASSWORD)
    staff = _token(base, COMMITTEE, PASSWORDS[COMMITTEE])
    monday = dt.datetime.combine(tuesday - dt.timedelta(days=1), dt.time(14), tzinfo=SHANGHAI)
    plain = httpx.post(
        f"{base}/api/shifts",
        json={"title": "社区清洁（浏览器测试）", "place_name": "开鲁四村睦邻中心", "lat": 31.3105, "lon": 121.5322,
              "starts_at": monday.isoformat(), "ends_at": (monday + dt.timedelta(hours=1)).isoformat(), "headcount": 3},
        headers=staff,
    )  # fmt: skip
    assert plain.status_code == 201, plain.text
    assert httpx.post(f"{base}/api/shifts/{plain.json()['id']}/signups", headers=me).status_code == 201


def _send_proof(volunteer: Page, name: str, mime: str, content: bytes) -> None:
    """From the profile's elderly-carer claim, send one file as the proof to verify."""
    box = volunteer.locator("#claim-elderly_carer")
    box.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": content}])
    box.get_by_role("button", name="提交核验").click()


def test_a_volunteer_qualifies_for_a_weekly_shift_through_the_profile(browser: Browser, live_server) -> None:
    base = live_server.url
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    tuesday = _next_tuesday()
    try:
        committee = logged_in_phone(browser, contexts, errors, base, COMMITTEE)
        committee.goto(f"{base}/shifts/new")
        committee.locator("#f-title").fill(TITLE)
        committee.locator("#f-place_name").fill("开鲁四村睦邻中心")
        # The point typed as numbers: the folded box under the map (the map itself is tried in test_maps_browser).
        committee.locator("details.latlon summary").click()
        committee.locator("#f-lat").fill("31.3105")
        committee.locator("#f-lon").fill("121.5322")
        committee.locator("#f-starts_at").fill(f"{tuesday.isoformat()}T09:00")
        committee.locator("#f-ends_at").fill(f"{tuesday.isoformat()}T11:00")
        committee.locator("#f-headcount").fill("2")
        committee.get_by_role("group", name="所需证书").get_by_label("养老护理员职业技能等级证书").check()
        committee.get_by_label("这是每周重复的班次").check()
        committee.get_by_label("周二").check()
        committee.locator("#f-until").fill((tuesday + dt.timedelta(days=21)).isoformat())
        committee.get_by_role("button", name="发布", exact=True).click()
        expect(committee.get_by_role("status")).to_contain_text("周期性班次已发布，共 4 个班次")
        first_shift = committee.locator(".shift-list a").first.get_attribute("href")
        assert first_shift is not None and re.fullmatch(r"/shifts/\d+", first_shift)
        screenshot(committee, "volunteer-profile-series")

        volunteer = phone_page(browser, contexts, errors, VOLUNTEER)
        volunteer.goto(f"{base}/register/volunteer")
        volunteer.locator("#f-username").fill(VOLUNTEER)
        volunteer.locator("#f-password").fill(VOLUNTEER_PASSWORD)
        volunteer.locator("#f-display_name").fill("刘洋")
        volunteer.locator("#f-birth_year").fill("1988")
        volunteer.locator("#f-home_area_id").select_option(label="开鲁四村居委会")
        volunteer.locator("#f-travel_km").fill("5")
        volunteer.locator("#f-weekly_hour_cap").fill("8")
        volunteer.get_by_role("button", name="注册", exact=True).click()
        volunteer.wait_for_url(f"{base}/home")  # registering logs in

        volunteer.goto(f"{base}{first_shift}")
        expect(volunteer.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(volunteer.get_by_text("您没有此班次要求的全部证书")).to_be_visible()
        expect(volunteer.get_by_role("button", name="报名", exact=True)).to_have_count(0)

        follow_nav(volunteer, "我的资料")
        expect(volunteer.get_by_role("heading", level=1)).to_have_text("我的志愿者资料")
        volunteer.locator("#f-kind").select_option(label="养老护理员职业技能等级证书")
        volunteer.locator("#f-number").fill("YL-2026-0042")
        volunteer.locator("#f-expires_on").fill((tuesday + dt.timedelta(days=400)).isoformat())
        volunteer.get_by_role("button", name="添加或更新").click()
        expect(volunteer.get_by_role("status")).to_have_text("证书已更新。")
        volunteer.locator("#f-w2_0_starts").fill("08:00")
        volunteer.locator("#f-w2_0_ends").fill("12:00")
        volunteer.get_by_role("button", name="保存每周时间").click()
        expect(volunteer.get_by_role("status")).to_have_text("每周可服务时间已保存。")
        screenshot(volunteer, "volunteer-profile-phone")
        feed_url = volunteer.locator("#calendar-url").input_value()

        # Declared only, the certificate opens nothing (issue 11, step 4) ...
        volunteer.goto(f"{base}{first_shift}")
        expect(volunteer.get_by_text("须经核验")).to_be_visible()
        expect(volunteer.get_by_role("button", name="报名", exact=True)).to_have_count(0)
        # ... until the volunteer sends a photo of it from the profile (a GIF is refused beside the field) ...
        volunteer.goto(f"{base}/volunteer/profile#verification")
        expect(volunteer.locator("#claim-elderly_carer")).to_contain_text("已声明")
        _send_proof(volunteer, "zheng.gif", "image/gif", b"GIF89a" + b"\x00" * 20)
        expect(volunteer.locator("#e-elderly_carer-file")).to_contain_text("JPEG")
        screenshot(volunteer, "verification-upload-error-phone")
        _send_proof(volunteer, "zheng.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 200)
        expect(volunteer.get_by_role("status")).to_contain_text("证明材料已提交")
        screenshot(volunteer, "verification-profile-phone")
        _take_a_plain_shift(base, tuesday)

        # ... and the committee, which the volunteer now serves with, opens it on 待核验 and verifies it.
        committee.goto(f"{base}/")
        follow_nav(committee, "待核验")
        expect(committee.get_by_role("heading", level=1)).to_have_text("待核验")
        with committee.expect_popup() as opened:
            committee.get_by_role("link", name="查看证明材料").first.click()
        opened.value.close()
        committee.reload()
        expect(committee.get_by_text("您已查看")).to_be_visible()
        screenshot(committee, "verification-pending-phone")
        committee.get_by_role("link", name="核验通过…").first.click()
        committee.locator("#f-expires_on").fill((tuesday + dt.timedelta(days=400)).isoformat())
        screenshot(committee, "verification-verify-confirm-phone")
        committee.locator("#confirm").click()
        expect(committee.get_by_role("status")).to_contain_text("已核验通过")
        screenshot(committee, "verification-verified-phone")
        volunteer.goto(f"{base}{first_shift}")
        volunteer.get_by_role("button", name="报名", exact=True).click()
        expect(volunteer.get_by_role("status")).to_contain_text("报名成功")

        feed = httpx.get(feed_url, timeout=10)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert TITLE in feed.text and "TZID=Asia/Shanghai" in feed.text
        assert errors == []
    finally:
        for context in contexts:
            context.close()
