"""Headless Chromium on a phone, in Chinese, on the demo district's home-care contract: the organisation plans a day,
pins a visit to its carer on the board and re-plans keeping it (the real worker runs matching.visits each time), then
pins another visit to another carer (a start outside the household's slot is refused beside the field)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser_helpers import (
    VISITS_RUN_MS,
    browser,
    patient_expect,
    plan_the_visits_day,
    screenshot,
    wider_than_the_screen,
)

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser


def test_pin_a_visit_and_re_plan_around_it_on_a_phone(browser: Browser, live_server) -> None:
    base = live_server.url
    org = plan_the_visits_day(browser, base)
    pin = re.compile("^把这项上门锁定给")
    stop = org.locator("li.stop").filter(has=org.get_by_role("button", name=pin)).first
    when = stop.locator("strong").first.inner_text()
    stop.get_by_role("button", name=pin).click()
    expect(org.get_by_text("这项上门已锁定给该照护者；这一天之后的排班都会保留它。")).to_be_visible()
    pinned = org.locator("li.stop").filter(has_text="已锁定")
    expect(pinned).to_have_count(1)
    org.get_by_role("button", name="保留锁定并重新排班").click()
    expect(org.locator("#run-progress")).to_contain_text("已完成", timeout=VISITS_RUN_MS)
    expect(org.locator("li.stop").filter(has_text="已锁定")).to_have_count(1)
    assert when
    screenshot(org, "visit-pins-board-phone")
    org.set_viewport_size({"width": 1280, "height": 900})
    screenshot(org, "visit-pins-board-desktop")
    org.set_viewport_size({"width": 390, "height": 844})
    # Another visit, to another of the day's carers: first at a start outside the household's slot.
    stop = org.locator("li.stop").filter(has=org.get_by_role("button", name=pin)).first
    stop.get_by_text("锁定给其他护理员或指定时间").click()
    carer = stop.get_by_label("锁定给哪位护理员")
    # A carer who cannot take the visit is marked with why, after those who can.
    options = carer.locator("option").all()
    marked = ["（" in o.inner_text() for o in options]
    assert any(marked) and marked == sorted(marked)
    # A marked carer chosen (the longest text the closed select shows), and every option listed, to look at.
    chosen = carer.input_value()
    carer.select_option(options[marked.index(True)].get_attribute("value") or "")
    carer.evaluate("e => e.size = e.options.length")
    screenshot(org, "visit-pin-choices-phone", part="li.stop:has(details[open])")
    org.set_viewport_size({"width": 1280, "height": 900})
    screenshot(org, "visit-pin-choices-desktop", part="li.stop:has(details[open])")
    org.set_viewport_size({"width": 390, "height": 844})
    carer.evaluate("e => e.size = 0")
    carer.select_option(chosen)
    other = next(o for o in options if o.get_attribute("value") != carer.input_value() and "（" not in o.inner_text())
    name, value = other.inner_text(), other.get_attribute("value") or ""
    carer.select_option(value)
    stop.get_by_label("开始时间（可不填）").fill("03:00")
    stop.locator("form.pin-form").get_by_role("button", name="锁定", exact=True).click()
    refused = org.locator("li.stop").filter(has=org.locator("details[open]"))
    expect(refused.get_by_text("请选择住户当天上门时段内的开始时间")).to_be_visible()
    expect(refused.get_by_label("锁定给哪位护理员")).to_have_value(value)
    screenshot(org, "visit-pin-other-carer-refused-phone", part="li.stop:has(details[open])")
    org.set_viewport_size({"width": 1280, "height": 900})
    screenshot(org, "visit-pin-other-carer-refused-desktop", part="li.stop:has(details[open])")
    org.set_viewport_size({"width": 390, "height": 844})
    refused.get_by_label("开始时间（可不填）").fill("")
    refused.locator("form.pin-form").get_by_role("button", name="锁定", exact=True).click()
    expect(org.get_by_text("锁定已保存，重新排班后生效。")).to_be_visible()
    expect(org.get_by_text(f"已锁定给{name}，重新排班后生效")).to_be_visible()
    # The timeline scrolls sideways on purpose; the stops and their pin forms fit the phone.
    assert not [e for e in wider_than_the_screen(org) if "stop" in e or "pin" in e or "FORM" in e]
    screenshot(org, "visit-pin-other-carer-phone")
    screenshot(org, "visit-pin-other-carer-stop-phone", part="li.stop:has(p.repin)")
    org.set_viewport_size({"width": 1280, "height": 900})
    screenshot(org, "visit-pin-other-carer-desktop")
    screenshot(org, "visit-pin-other-carer-stop-desktop", part="section.route-card:has(p.repin)")
