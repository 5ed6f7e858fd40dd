"""Headless Chromium, in Chinese, on the demo district: org.leling downloads its points, uploads a travel-times CSV
with a wrong row (refused, each row's error beside the upload), then a right one (in use), at a phone's and a
desktop's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser_helpers import both_widths, browser, logged_in_phone, patient_expect

__all__ = ["browser", "patient_expect"]  # fixtures, used by name
pytestmark = pytest.mark.browser


def test_the_organisation_uploads_measured_travel_times_on_its_carers_page(browser: Browser, live_server) -> None:
    base = live_server.url
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    page = logged_in_phone(browser, contexts, errors, base, "org.leling")
    page.goto(f"{base}/carers")
    expect(page.locator("#travel-current")).to_contain_text("尚未上传")
    points = page.request.get(f"{base}/carers/travel-points.csv")
    assert points.ok
    codes = [line.split(",")[0] for line in points.text().lstrip("\ufeff").splitlines()[1:]]
    carers = [c for c in codes if c.startswith("C")]
    homes = [c for c in codes if c.startswith("H")]
    assert carers and homes
    good = "起点,终点,分钟\n" + "\n".join(f"{c},{h},{5 + k % 7}.5" for k, (c, h) in enumerate(
        (c, h) for c in carers for h in homes[:4]
    ))  # fmt: skip
    bad = good + f"\n{carers[0]},{homes[0]},6\n{homes[0]},H999999999,7\n{homes[1]},{carers[0]},八分钟\n"
    page.locator("#travel-file").set_input_files({"name": "高德路线矩阵.csv", "mimeType": "text/csv",
                                                  "buffer": bad.encode()})  # fmt: skip
    page.get_by_role("button", name="上传路程时间").click()
    alert = page.locator("#travel-errors")
    expect(alert).to_contain_text("未保存任何内容")
    expect(alert).to_contain_text("前面的行里已经出现过")
    expect(alert).to_contain_text("您名下没有这个编号")
    expect(alert).to_contain_text("分钟数须为大于 0")
    both_widths(page, "travel-times-refused")
    page.locator("#travel-file").set_input_files({"name": "高德路线矩阵.csv", "mimeType": "text/csv",
                                                  "buffer": good.encode()})  # fmt: skip
    page.get_by_role("button", name="上传路程时间").click()
    expect(page.locator("#travel-current")).to_contain_text(f"正在使用：高德路线矩阵.csv，共 {len(carers) * 4} 对")
    both_widths(page, "travel-times-stored")
    for context in contexts:
        context.close()
    assert errors == []
