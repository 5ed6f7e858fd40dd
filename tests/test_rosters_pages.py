"""Roster and respite pages in Chinese: staff a week, read the plan, accept or decline, respite from entitlement
to schedule."""

from __future__ import annotations

import datetime as dt

from sql import match_runs as runs_sql
from tests.factories_rosters import (
    add_certificate,
    at,
    consent,
    create_entitlement,
    create_request,
    next_monday,
    solve_now,
)
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.factories_tendering import create_household
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}


async def test_an_organisation_staffs_a_week_and_reads_the_plan(client, conn):
    org = await publisher_identity(conn, "organisation")
    await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1, title="助餐送餐")
    volunteer = await volunteer_identity(conn, **NEAR)
    await login(client, org.username)
    page = await client.get("/rosters")
    assert page.status_code == 200 and "为一周排班" in page.text and "生成排班建议" in page.text
    past = (next_monday() - dt.timedelta(days=21)).isoformat()
    refused = await post_form(client, "/rosters", {"week_starts": past}, page="/rosters")
    assert refused.status_code == 422
    assert parse_page(refused.text).errors["week_starts"] == "该周已经结束，请选择本周或之后的一周"
    started = await post_form(client, "/rosters", {"week_starts": next_monday().isoformat()}, page="/rosters")
    assert started.status_code in (302, 303), started.text
    location = started.headers["location"]
    run_id = int(location.rsplit("/", 1)[1])
    running = await client.get(location)
    assert running.status_code == 200
    assert (
        f'data-progress-url="/api/rosters/runs/{run_id}/progress"' in running.text and "排队中" in running.text
    ) or "等待" in running.text
    run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    await solve_now(conn, run)
    done = await client.get(location)
    name = await conn.fetchval("SELECT display_name FROM volunteers WHERE id = $1", volunteer.volunteer_id)
    assert "助餐送餐" in done.text and name in done.text and "等待志愿者答复" in done.text
    assert "1 个空位中已为 1 个推荐人选" in done.text
    listing = await client.get("/rosters")
    assert f"/roster-runs/{run_id}" in listing.text


async def test_a_volunteer_accepts_one_proposal_declines_another_and_sees_a_refusal(client, conn):
    org = await publisher_identity(conn, "organisation")
    first = await create_shift(
        conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1, title="甲班次"
    )
    await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(1, 9), headcount=1, title="乙班次")
    third = await create_shift(
        conn, organisation_id=org.organisation_id, starts_at=at(2, 9), headcount=1, title="丙班次"
    )
    volunteer = await volunteer_identity(conn, **NEAR)
    from api.services import rosters
    from tests.factories_rosters import QueueSpy

    run = await rosters.start_run(conn, QueueSpy(), org, rosters.RosterStart(week_starts=next_monday()))
    await solve_now(conn, run)
    await login(client, volunteer.username)
    page = await client.get("/proposals")
    assert page.status_code == 200 and "我的排班建议" in page.text
    assert "甲班次" in page.text and "推荐理由" in page.text and "您的服务半径 5" in page.text
    ids = {p.shift_id: p.id for p in await rosters.my_proposals(conn, volunteer)}
    accepted = await post_form(client, f"/proposals/{ids[first]}/accept", {}, page="/proposals")
    assert accepted.status_code in (302, 303) and accepted.headers["location"] == "/proposals?done=accepted"
    assert "名额已为您保留" in (await client.get("/proposals?done=accepted")).text
    declined = await post_form(client, f"/proposals/{ids[third]}/decline", {}, page="/proposals")
    assert declined.status_code in (302, 303)
    assert "已婉拒" in (await client.get("/proposals?done=declined")).text
    # The second shift was taken first-come meanwhile: accepting it shows the shift's reason, in Chinese.
    other = await volunteer_identity(conn, **NEAR)
    second = next(s for s in ids if s not in (first, third))
    await add_signup(conn, second, other.volunteer_id)
    refused = await post_form(client, f"/proposals/{ids[second]}/accept", {}, page="/proposals")
    assert refused.status_code == 409 and "此班次名额已满" in refused.text


async def test_a_committee_records_respite_makes_requests_and_schedules_a_week(client, conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    await conn.execute("UPDATE households SET care_level = 3, lat = 31.2815, lon = 121.5215 WHERE id = $1", household)
    carer = await volunteer_identity(conn, **NEAR)
    await add_certificate(conn, carer.volunteer_id)
    await consent(conn, carer.volunteer_id)
    await login(client, committee.username)
    page = await client.get("/respite")
    assert page.status_code == 200 and "登记喘息服务待遇" in page.text and "照护等级 3" in page.text
    monday = next_monday()
    bad = await post_form(
        client,
        "/respite/entitlements",
        {
            "household_id": str(household),
            "kind": "days",
            "valid_from": monday.isoformat(),
            "valid_until": monday.isoformat(),
        },
        page="/respite",
    )
    assert bad.status_code == 422 and parse_page(bad.text).errors["amount"] == "请填写天数或次数"
    recorded = await post_form(
        client,
        "/respite/entitlements",
        {
            "household_id": str(household),
            "kind": "care_level",
            "amount": "",
            "period": "month",
            "starts": "8:30",
            "valid_from": monday.isoformat(),
            "valid_until": (monday + dt.timedelta(days=30)).isoformat(),
        },
        page="/respite",
    )
    assert recorded.status_code in (302, 303), recorded.text
    listing = await client.get("/respite?done=recorded")
    assert "每周上门 3 次" in listing.text and "按照护等级" in listing.text
    entitlement = await conn.fetchval("SELECT id FROM respite_entitlements WHERE household_id = $1", household)
    made = await post_form(
        client,
        f"/respite/entitlements/{entitlement}/requests",
        {"period_from": monday.isoformat(), "period_until": (monday + dt.timedelta(days=6)).isoformat()},
        page="/respite",
    )
    assert made.status_code in (302, 303)
    week = await client.get(made.headers["location"])
    assert week.text.count("待安排") == 3
    scheduled = await post_form(
        client, "/respite/schedule", {"week_starts": monday.isoformat()}, page=made.headers["location"]
    )
    assert scheduled.status_code in (302, 303), scheduled.text
    run_id = int(scheduled.headers["location"].rsplit("/", 1)[1])
    run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    await solve_now(conn, run)
    after = await client.get(f"/respite/schedule?week={monday.isoformat()}")
    name = await conn.fetchval("SELECT display_name FROM volunteers WHERE id = $1", carer.volunteer_id)
    assert after.text.count("已安排") == 3 and name in after.text
    address = await conn.fetchval("SELECT address FROM households WHERE id = $1", household)
    await login(client, carer.username)
    proposals = await client.get("/proposals")
    assert "喘息服务上门" in proposals.text and address not in proposals.text


async def test_the_pages_refuse_the_wrong_roles(client, conn):
    volunteer = await volunteer_identity(conn, **NEAR)
    await login(client, volunteer.username)
    assert (await client.get("/rosters")).status_code == 403
    assert (await client.get("/respite")).status_code == 403
    org = await publisher_identity(conn, "organisation")
    await login(client, org.username)
    assert (await client.get("/proposals")).status_code == 403
    assert (await client.get("/respite")).status_code == 403


async def test_a_committee_cancels_a_pending_visit_and_another_committee_cannot(client, conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    entitlement = await create_entitlement(conn, household)
    request = await create_request(conn, entitlement, at(2, 9))
    week = f"/respite/schedule?week={next_monday().isoformat()}"
    other = await publisher_identity(conn, "committee")
    await login(client, other.username)
    foreign = await post_form(client, f"/respite/requests/{request}/cancel", {"week": ""}, page="/respite")
    assert foreign.status_code == 404
    await login(client, committee.username)
    page = await client.get(week)
    assert "取消这次上门" in page.text and "待安排" in page.text
    done = await post_form(
        client, f"/respite/requests/{request}/cancel", {"week": next_monday().isoformat()}, page=week
    )
    assert done.status_code in (302, 303)
    assert done.headers["location"] == f"/respite/schedule?done=cancelled&week={next_monday().isoformat()}"
    assert await conn.fetchval("SELECT status FROM respite_requests WHERE id = $1", request) == "cancelled"


async def test_the_run_page_is_given_each_proposal_and_the_places_left_unfilled(client, conn):
    org = await publisher_identity(conn, "organisation")
    monday = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(0, 9), headcount=1)
    thursday = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(3, 9), headcount=2)
    near = await volunteer_identity(conn, **NEAR)
    far = await volunteer_identity(conn, lat=31.40, lon=121.52, travel_km=2)
    await login(client, org.username)
    started = await post_form(client, "/rosters", {"week_starts": next_monday().isoformat()}, page="/rosters")
    location = started.headers["location"]
    run_id = int(location.rsplit("/", 1)[1])
    run = await runs_sql.get_run(conn, run_id)
    assert run is not None
    await solve_now(conn, run)
    rendered = await page_context(client, location)
    assert rendered.template == "rosters/run.html"
    view = rendered["view"]
    assert view.roster.week_starts == next_monday() and rendered["run"].status == "succeeded"
    # The one volunteer within reach takes a place on each shift; the far one is proposed nowhere.
    assert sorted((p.shift_id, p.volunteer_id, p.status) for p in view.proposals) == [
        (monday, near.volunteer_id, "proposed"), (thursday, near.volunteer_id, "proposed"),
    ]  # fmt: skip
    assert far.volunteer_id not in {p.volunteer_id for p in view.proposals}
    result = rendered["result"]
    assert (result["shifts"], result["places"], result["proposed"]) == (2, 3, 2)
    assert [(int(u["shift_id"]), u["places"]) for u in result["unfilled"]] == [(thursday, 1)]
    weeks = await page_context(client, "/rosters")
    assert [(s.roster.week_starts, s.latest.id) for s in weeks["rosters"]] == [(next_monday(), run_id)]
