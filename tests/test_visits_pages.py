"""Home-visit pages: the roster of carers (add, edit, the carer accepts), the planner's board (routes as a timeline
and on the map, households masked) and the carer's phone page (own stops, address, navigation, check-in)."""

from __future__ import annotations

import datetime as dt

from api.services import notifications, visits
from tests import factories
from tests import factories_teams as ft
from tests import factories_visit_plans as fv
from tests.helpers import login, post_form
from tests.pages_kit import page_context
from tests.test_visits import ADDRESS, _day, _live
from tests.worker_kit import JobQueueSpy


async def _login(client, conn, account_id: int) -> None:
    await login(client, await factories.username_of(conn, account_id))


async def _a_planned_carer_logged_in(client, conn, redis) -> tuple[dt.date, list, tuple]:
    """Tomorrow planned on a test contract, and one of its carers with stops logged in: the day, the plan's live
    stops and that carer."""
    contract, _, carers = await _day(conn)
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    rows = await _live(conn, day)
    carer = next(c for c in carers if any(r["carer_id"] == c[0] for r in rows))
    await _login(client, conn, carer[2])
    return day, rows, carer


async def test_the_organisation_adds_a_carer_who_accepts_on_their_phone(client, conn):
    contract = await fv.create_contract(conn)
    _, account_id = await ft.create_carer(conn)
    username = await factories.username_of(conn, account_id)
    await _login(client, conn, contract.organisation_account)
    form = {"username": username, "name": "王阿姨", "lat": "31.28", "lon": "121.52", "work_days": ["1", "3", "5"],
            "work_starts": "08:30", "work_ends": "16:30", "travel_mode": "walk", "active": "on"}  # fmt: skip
    bad = await post_form(client, "/carers", {**form, "work_ends": "07:00"})
    assert bad.status_code == 422 and "下班时间须晚于上班时间" in bad.text
    response = await post_form(client, "/carers", form)
    assert response.status_code in (302, 303), response.text
    rendered = await page_context(client, "/carers")
    assert rendered.template == "visit_plans/carers.html"
    [carer] = rendered["carers"]
    assert (carer.name, carer.work_days, carer.travel_mode, carer.joined_at) == ("王阿姨", [1, 3, 5], "walk", None)
    assert "王阿姨" in rendered.response.text and "步行" in rendered.response.text
    again = await post_form(client, "/carers", form)
    assert again.status_code == 409
    await client.post("/logout", follow_redirects=False)
    await _login(client, conn, account_id)
    phone = await page_context(client, "/visits/today")
    assert [i.id for i in phone["view"].invitations] == [carer.id]
    joined = await post_form(client, f"/carers/{carer.id}/join", {}, page="/visits/today")
    assert joined.status_code in (302, 303)
    assert await conn.fetchval("SELECT joined_at IS NOT NULL FROM carers WHERE id = $1", carer.id)
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action IN ('carer.add', 'carer.join')") == 2


async def test_the_board_shows_routes_as_a_timeline_and_on_the_map_with_households_masked(client, conn, redis):
    contract, _, _ = await _day(conn)
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    await _login(client, conn, contract.organisation_account)
    rendered = await page_context(client, f"/visits/contracts/{contract.contract_id}?day={day.isoformat()}")
    assert rendered.template == "visit_plans/board.html"
    board = rendered["board"]
    assert sum(len(r.stops) for r in board.routes) == 6
    rows = rendered["timeline"]["rows"]
    assert [r["route"].carer_id for r in rows] == [r.carer_id for r in board.routes]
    assert all(0 <= b["left"] <= 100 for r in rows for b in r["bars"])
    assert '"routes":[' in rendered["map_json"] and str(board.routes[0].stops[0].lat) in rendered["map_json"]
    text = rendered.response.text
    assert ADDRESS not in text and "开鲁路793弄**号" in text and "为何由此护理员" in text
    other = await fv.create_contract(conn)
    await client.post("/logout", follow_redirects=False)
    await _login(client, conn, other.organisation_account)
    refused = await client.get(f"/visits/contracts/{contract.contract_id}?day={day.isoformat()}")
    assert refused.status_code == 404


async def test_the_carer_phone_page_lists_own_stops_and_checks_in(client, conn, redis):
    day, rows, carer = await _a_planned_carer_logged_in(client, conn, redis)
    mine = [r for r in rows if r["carer_id"] == carer[0]]
    rendered = await page_context(client, f"/visits/today?day={day.isoformat()}")
    assert rendered.template == "visit_plans/mine.html"
    assert [s.id for s in rendered["view"].stops] == [r["id"] for r in mine]
    now = dt.datetime.now(dt.UTC)
    for stop in rendered["view"].stops:
        # The address (and the 高德 link) only from 24 hours before the visit to 2 hours after it.
        opened = stop.starts_at - dt.timedelta(hours=24) <= now <= stop.ends_at + dt.timedelta(hours=2)
        assert (stop.address is not None) == opened == (stop.navigation is not None)
    # A stop of tomorrow cannot be checked in at today: refused beside the stop, the page shown again.
    refused = await post_form(
        client, f"/visits/stops/{mine[0]['id']}/check-in", {"day": day.isoformat()}, page="/visits/today"
    )
    assert refused.status_code == 404 and "您今天没有这次上门服务" in refused.text
    # The last day there is has no next day to link to (it was a server error).
    last = await page_context(client, "/visits/today?day=9999-12-31")
    assert last.response.status_code == 200 and last["next_day"] is None and "下一天" not in last.response.text


async def test_planned_visits_are_in_the_carers_one_calendar(client, conn, redis):
    day, rows, carer = await _a_planned_carer_logged_in(client, conn, redis)
    rendered = await page_context(client, "/calendar")
    entries = [e for e in rendered["entries"] if e.kind == "care_visit"]
    assert [e.starts_at for e in entries] == [r["starts_at"] for r in rows if r["carer_id"] == carer[0]]
    assert all(e.day == day for e in entries) and ADDRESS not in rendered.response.text
    assert "上门护理" in rendered.response.text and f"/visits/today?day={day.isoformat()}" in rendered.response.text


async def test_the_inbox_says_what_a_replan_changed(client, conn):
    contract = await fv.create_contract(conn)
    _, account_id = await ft.create_carer(conn)
    await notifications.enqueue(
        conn, account_id=contract.committee_account, kind="visit_moved", dedupe_key="visit_moved:test:1",
        params={"day": "2026-12-07", "at": "10:30", "household": "开鲁四村居委会 · 开鲁路793弄**号"},
    )  # fmt: skip
    await notifications.enqueue(
        conn, account_id=account_id, kind="visits_changed", dedupe_key="visits_changed:test:2",
        params={"day": "2026-12-07", "count": 3},
    )  # fmt: skip
    await _login(client, conn, contract.committee_account)
    page = await client.get("/inbox")
    assert "开鲁四村居委会 · 开鲁路793弄**号 2026-12-07 的上门服务已重新安排，现于 10:30 开始" in page.text
    await client.post("/logout", follow_redirects=False)
    await _login(client, conn, account_id)
    page = await client.get("/inbox")
    assert "您 2026-12-07 的上门服务已重新安排，现共 3 站" in page.text and "您的上门服务安排有变" in page.text


async def test_a_carer_without_an_account_is_on_the_roster_and_can_be_called_in_sick(client, conn, redis):
    contract, _, carers = await _day(conn)
    await conn.execute("UPDATE volunteers SET account_id = NULL WHERE id = $1", carers[0][1])
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    await _login(client, conn, contract.organisation_account)
    roster = await page_context(client, "/carers")
    assert carers[0][0] in {c.id for c in roster["carers"]}
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE day = $1", day)
    page = f"/visits/contracts/{contract.contract_id}?day={day.isoformat()}"
    sick = await post_form(
        client, f"/visits/days/{day_id}/sick",
        {"carer_id": str(carers[0][0]), "contract_id": str(contract.contract_id), "day": day.isoformat()}, page=page,
    )  # fmt: skip
    assert sick.status_code in (302, 303), sick.text
    assert await conn.fetchval("SELECT count(*) FROM carer_absences WHERE carer_id = $1", carers[0][0]) == 1


async def test_the_carer_opens_the_households_file_for_a_visit_and_its_committee_sees_on_what_basis(
    client, conn, redis
):
    contract, homes, carers = await _day(conn)
    day = visits.today()
    await fv.plan_here(
        conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day + dt.timedelta(days=1)
    )
    # Tomorrow's visit to the first household, moved to an hour from now so its file is open.
    row = next(r for r in await _live(conn, day + dt.timedelta(days=1)) if r["household_id"] == homes[0])
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    await conn.execute(
        "UPDATE planned_visits SET during = tstzrange($2::timestamptz, $2::timestamptz + interval '45 minutes'),"
        " arrives_at = $2 WHERE id = $1",
        row["id"], soon,
    )  # fmt: skip
    owner = next(c for c in carers if c[0] == row["carer_id"])
    await _login(client, conn, owner[2])
    rendered = await page_context(client, f"/households/{homes[0]}")
    assert (
        rendered["view"].basis == "visit"
        and ADDRESS in rendered.response.text
        and "我的上门服务" in rendered.response.text
    )
    await client.post("/logout", follow_redirects=False)
    await _login(client, conn, contract.committee_account)
    own = await client.get(f"/households/{homes[0]}")
    assert own.status_code == 200 and "已安排的上门服务" in own.text


async def test_the_board_shows_last_times_carer_and_a_return_past_working_hours(client, conn, redis):
    # Two households, one of them with a nurse's medication visit after its care visit; an e-bike carer until 17:00
    # and the only nurse, on foot, whose day ends at 08:30: her medication visit brings her back after it.
    contract = await fv.create_contract(conn)
    await fv.add_household(conn, contract, at=(31.2800, 121.5200), care_level=3)
    await fv.add_household(conn, contract, at=(31.2900, 121.5300), care_level=4)
    rider, _, _ = await fv.add_carer(conn, contract, at=(31.2810, 121.5210))
    walker, _, _ = await fv.add_carer(
        conn, contract, at=(31.2890, 121.5290), abilities=("nurse",), hours=("08:00", "08:30"), mode="walk"
    )
    day1 = fv.tomorrow()
    day2 = day1 + dt.timedelta(days=1)
    for day in (day1, day2):
        await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE day = $1", day2)
    inputs = await visits.load_inputs(conn, await visits.visits_sql.get_day(conn, day_id))
    factors = {c.id: (c.travel_factor, c.hours, c.start == c.end) for c in inputs.problem.problem.carers}
    walking = visits.walk_factor(fv.SPEEDS.ebike_kmh, fv.SPEEDS.walk_kmh)
    assert walking == 3.4
    assert factors == {rider: (1.0, (0.0, 540.0), True), walker: (walking, (0.0, 30.0), True)}
    await _login(client, conn, contract.organisation_account)
    rendered = await page_context(client, f"/visits/contracts/{contract.contract_id}?day={day2.isoformat()}")
    board = rendered["board"]
    stops = [s for r in board.routes for s in r.stops]
    assert len(stops) == 3 and all(s.preferred is not None for s in stops)
    assert (board.continuity_total, board.continuity_kept) == (3, 3)
    text = rendered.response.text
    assert text.count("上次：") == 3 and text.count("同一护理员</span>") == 3 and "换人" not in text
    assert "与上次同一护理员：3 次上门中 3 次" in text
    [late] = [r for r in board.routes if r.overtime_minutes > 0]
    assert late.carer_id == walker and late.after_hours
    assert "超出下班时间" in text and "步行再 × 3.4" in text
    # A run written before walkers had their own factor says what it assumed then.
    await conn.execute("UPDATE match_runs SET result = result - 'walk_factor' WHERE id = $1", board.latest_run.id)
    older = await page_context(client, f"/visits/contracts/{contract.contract_id}?day={day2.isoformat()}")
    assert "当天护理员中最慢的出行方式" in older.response.text
