"""Steering a roster on its pages, in Chinese: figures, pin and unpin, re-plan with a spread weight, and a
volunteer's "why not me?" on a shift."""

from __future__ import annotations

import json

import pytest

from api.demo.rosters import DEMO_SPREAD
from sql import match_runs as runs_sql
from tests.factories_rosters import at, next_monday, solve_now
from tests.factories_shifts import create_shift, publisher_identity, volunteer_identity
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}
FARTHER = {"lat": 31.2995, "lon": 121.5215, "travel_km": 5}


async def test_a_planner_pins_a_proposal_and_re_plans_with_hours_spread(client, conn):
    org = await publisher_identity(conn, "organisation")
    await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1, title="助餐送餐",
                       lat=31.2815, lon=121.5215)  # fmt: skip
    await volunteer_identity(conn, **NEAR)
    await login(client, org.username)
    refused = await post_form(
        client, "/rosters", {"week_starts": next_monday().isoformat(), "spread": "101"}, page="/rosters"
    )
    assert refused.status_code == 422 and "spread" in parse_page(refused.text).errors
    assert 'id="f-spread"' in refused.text and "在志愿者之间均衡分配时长" in refused.text
    started = await post_form(
        client, "/rosters", {"week_starts": next_monday().isoformat(), "spread": "40"}, page="/rosters"
    )
    location = started.headers["location"]
    run = await runs_sql.get_run(conn, int(location.rsplit("/", 1)[1]))
    assert run is not None
    await solve_now(conn, run)
    page = await page_context(client, location)
    assert page.context["result"]["spread"] == 40 and page.context["steering"].spread == 40
    assert page.context["result"]["proposed"] == 1 and page.context["pinned"] == {}
    # The week's only plan: nothing to show it beside.
    assert page.context["spread_comparison"] is None and 'id="spread-comparison"' not in page.response.text
    text = page.response.text
    assert "已安排名额" in text and "时长基尼系数" in text and "调整下一版排班" in text and "保留锁定并重新排班" in text
    assert 'id="f-spread"' in text and "在志愿者之间均衡分配时长" in text and 'value="40"' in text
    (proposal,) = page.context["view"].proposals
    pinned = await post_form(client, f"{location}/pins", {"proposal_id": str(proposal.id)}, page=location)
    assert pinned.status_code in (302, 303), pinned.text
    again = await page_context(client, location)
    assert again.context["pinned"] == {(proposal.volunteer_id, proposal.shift_id): again.context["steering"].pins[0].id}
    assert "取消锁定" in again.response.text
    replanned = await post_form(client, f"{location}/replan", {"spread": "0"}, page=location)
    assert replanned.status_code in (302, 303) and replanned.headers["location"] != location
    # Solved, the re-plan (weight 0) shows its figures beside the first plan's (weight 40), the lesser weight first.
    newer = await runs_sql.get_run(conn, int(replanned.headers["location"].rsplit("/", 1)[1]))
    assert newer is not None
    await solve_now(conn, newer)
    beside = (await page_context(client, replanned.headers["location"])).context["spread_comparison"]
    assert (beside.low.run_id, beside.low.spread, beside.high.run_id, beside.high.spread) == (newer.id, 0, run.id, 40)
    assert (beside.low.proposed, beside.high.proposed, beside.places_change) == (1, 1, 0)
    pin_id = again.context["steering"].pins[0].id
    removed = await post_form(client, f"{location}/pins/{pin_id}/delete", {}, page=location)
    assert removed.status_code in (302, 303)
    assert await conn.fetchval("SELECT count(*) FROM roster_pins") == 0


async def test_a_volunteer_asks_why_not_me_on_a_shift(client, conn):
    org = await publisher_identity(conn, "organisation")
    shift = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(1, 9), headcount=1,
                               lat=31.2815, lon=121.5215)  # fmt: skip
    near = await volunteer_identity(conn, **NEAR)
    await conn.execute("UPDATE volunteers SET display_name = '陈秀英' WHERE id = $1", near.volunteer_id)
    farther = await volunteer_identity(conn, **FARTHER)
    await login(client, org.username)
    started = await post_form(client, "/rosters", {"week_starts": next_monday().isoformat()}, page="/rosters")
    run = await runs_sql.get_run(conn, int(started.headers["location"].rsplit("/", 1)[1]))
    assert run is not None
    await solve_now(conn, run)
    await login(client, farther.username)
    detail = await client.get(f"/shifts/{shift}")
    assert "为什么没有安排我？" in detail.text and f"/shifts/{shift}/why-not-me" in detail.text
    page = await page_context(client, f"/shifts/{shift}/why-not-me")
    assert page.template == "rosters/why_not.html"
    assert page.context["why"].kind == "outscored" and [r.code for r in page.context["why"].reasons] == ["closer"]
    assert "已安排的志愿者距离更近" in page.response.text and "陈秀英" not in page.response.text


async def test_the_demo_week_shows_its_plan_beside_the_plan_with_hours_spread(demo_client, demo_conn):
    # The demo plans the organisation's next week with hours spread and then without: each run's page shows its
    # places filled and Gini of hours beside the other's, with one line saying what spreading did.
    runs = await demo_conn.fetch(
        "SELECT m.id, m.result FROM match_runs m JOIN rosters r ON r.id = m.subject_id"
        " WHERE m.model = 'roster' AND r.kind = 'shifts' AND m.status = 'succeeded' ORDER BY m.id"
    )
    spread, plain = (json.loads(r["result"]) | {"id": r["id"]} for r in runs[-2:])
    assert (spread["spread"], plain["spread"]) == (DEMO_SPREAD, 0)
    # Only the plain plan (the newer) was sent to the volunteers.
    assert plain["written"] and not spread["written"]
    await login(demo_client, "org.leling", "demo-org-2026")
    for shown, other in ((plain, spread), (spread, plain)):
        page = await page_context(demo_client, f"/roster-runs/{shown['id']}")
        c = page.context["spread_comparison"]
        assert (c.low.run_id, c.high.run_id) == (plain["id"], spread["id"])
        for figures, run in ((c.low, plain), (c.high, spread)):
            assert (figures.proposed, figures.places) == (run["proposed"], run["places"]) and run["proposed"] >= 20
            assert figures.hours_gini_assigned == pytest.approx(run["hours_gini_assigned"])
        assert c.places_change == spread["proposed"] - plain["proposed"]
        assert c.gini_change_pct == round(100 * (spread["hours_gini_assigned"] / plain["hours_gini_assigned"] - 1))
        text = page.response.text
        assert "均衡分配时长：两版排班对比" in text and f'href="/roster-runs/{other["id"]}"' in text
        assert (
            f"均衡分配时长（均衡权重 {DEMO_SPREAD}，而非 0）使获安排志愿者的时长基尼系数从"
            f" {plain['hours_gini_assigned']:.3f} 变为 {spread['hours_gini_assigned']:.3f}（{c.gini_change_pct:+d}%），"
            f"已安排名额从 {plain['proposed']} 变为 {spread['proposed']}。"
        ) in text
