"""A committee's respite day as routes, in pages and over the API: the committee adds a certified volunteer to its
respite carers (a volunteer without the certificate is refused beside the field), the volunteer accepts on their
phone, the committee plans the day on its board (the contract board's routes and map) and sees a day already
scheduled as shifts refused beside the day; the carer sees their respite stops on /visits/today; a carer who calls in
sick is taken off the committee's own day, which is re-planned (another's carer refused beside the field)."""

from __future__ import annotations

from api.services import respite
from tests import factories
from tests import factories_teams as ft
from tests import factories_visit_plans as fv
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import ADDRESS, join_roster, plan_here, respite_day
from tests.worker_kit import JobQueueSpy

CARER_FORM = {"name": "赵阿姨", "lat": "31.281", "lon": "121.521", "work_days": ["1", "2", "3", "4", "5", "6", "7"],
              "work_starts": "08:00", "work_ends": "17:00", "travel_mode": "ebike", "active": "on"}  # fmt: skip


async def _login(client, conn, account_id: int) -> None:
    await login(client, await factories.username_of(conn, account_id))


async def test_the_committee_adds_a_certified_carer_plans_the_day_and_the_carer_sees_the_stop(client, conn, redis):
    who, homes, _, day = await respite_day(conn)
    uncertified = await ft.create_carer(conn)
    certified = await ft.create_carer(conn, trained=True)
    await _login(client, conn, who.account_id)
    refused = await post_form(
        client, "/carers", {**CARER_FORM, "username": await factories.username_of(conn, uncertified[1])}
    )
    assert refused.status_code == 422 and "没有喘息服务所需的、经核验且在有效期内的证书" in refused.text
    username = await factories.username_of(conn, certified[1])
    added = await post_form(client, "/carers", {**CARER_FORM, "username": username})
    assert added.status_code in (302, 303), added.text
    listed = await page_context(client, "/carers")
    assert [c.name for c in listed["carers"] if c.joined_at is None] == ["赵阿姨"]
    assert all(c.committee_id == who.committee_id for c in listed["carers"])
    assert "养老护理员证书" in listed.response.text
    # The committee plans tomorrow on its board; the worker's part is done here.
    started = await post_form(client, "/visits/respite/plan", {"day": day.isoformat()}, page="/visits/respite")
    assert started.status_code in (302, 303), started.text
    run_id = await conn.fetchval("SELECT max(id) FROM match_runs WHERE model = 'visits'")
    await fv.solve_run_here(conn, run_id)
    rendered = await page_context(client, f"/visits/respite?day={day.isoformat()}")
    assert rendered.template == "visit_plans/board.html"
    board = rendered["board"]
    assert board.contract is None and board.committee_id == who.committee_id
    assert sum(len(r.stops) for r in board.routes) == 3 and rendered["requests"].routed == 3
    assert '"routes":[' in rendered["map_json"] and rendered["timeline"]["rows"]
    text = rendered.response.text
    assert ADDRESS not in text and "喘息服务" in text and "全天路线" in text and "锁定" in text
    # The carer's phone: the new carer accepts the committee's invitation; a planned carer sees the respite stop.
    await client.post("/logout", follow_redirects=False)
    await _login(client, conn, certified[1])
    phone = await page_context(client, "/visits/today")
    assert [i.committee_id for i in phone["view"].invitations] == [who.committee_id]
    assert "居委会已将您加入其喘息服务护理员名册" in phone.response.text
    await client.post("/logout", follow_redirects=False)
    planned = await conn.fetchrow(
        "SELECT pv.volunteer_id, v.account_id FROM planned_visits pv JOIN volunteers v ON v.id = pv.volunteer_id"
        " WHERE pv.household_id = $1 AND pv.status = 'planned'",
        homes[0],
    )
    await _login(client, conn, planned["account_id"])
    mine = await page_context(client, f"/visits/today?day={day.isoformat()}")
    stops = mine["view"].stops
    assert any(s.household.id == homes[0] and s.service == "respite" for s in stops)
    assert "喘息服务" in mine.response.text


async def test_a_day_scheduled_as_shifts_is_refused_beside_the_day_and_as_a_problem(client, conn, redis):
    who, _, _, day = await respite_day(conn)
    await respite.schedule(conn, JobQueueSpy(redis), who, respite.ScheduleWeek(week_starts=day))
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    problem = await client.post("/api/visits/respite/plans", json={"day": day.isoformat()}, headers=headers)
    assert problem.status_code == 409 and problem.headers["content-type"].startswith("application/problem+json")
    board = await client.get(f"/api/visits/respite/days/{day.isoformat()}", headers=headers)
    assert board.status_code == 200 and board.json()["requests"]["scheduled"] == 3
    assert board.json()["board"]["contract"] is None
    await _login(client, conn, who.account_id)
    refused = await post_form(client, "/visits/respite/plan", {"day": day.isoformat()}, page="/visits/respite")
    assert refused.status_code == 409 and "当天的喘息服务已排成班次" in refused.text


async def test_the_committee_calls_its_carer_in_sick_on_its_board_and_over_the_api(client, conn, redis):
    who, _, roster, day = await respite_day(conn)
    roster.append(await join_roster(conn, who, (31.2800, 121.5250)))
    await plan_here(conn, redis, who, day)
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE committee_id = $1", who.committee_id)
    _, _, others, _ = await respite_day(conn)
    # Over the API: another committee's day is no day (404); the committee's own carer is a 202 run.
    stranger = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    headers = await bearer(client, await factories.username_of(conn, stranger.account_id))
    missing = await client.post(f"/api/visits/days/{day_id}/absences", json={"carer_id": roster[1][0]}, headers=headers)
    assert missing.status_code == 404
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    run = await client.post(f"/api/visits/days/{day_id}/absences", json={"carer_id": roster[1][0]}, headers=headers)
    assert run.status_code == 202, run.text
    await fv.solve_run_here(conn, run.json()["id"])
    # On the board: another committee's carer refused beside the field; its own carer taken off, the day re-planned.
    board = f"/visits/respite?day={day.isoformat()}"
    await _login(client, conn, who.account_id)
    refused = await post_form(
        client, f"/visits/days/{day_id}/sick", {"carer_id": str(others[0][0]), "day": day.isoformat()}, page=board
    )
    assert refused.status_code == 422 and "没有这位护理员" in refused.text and "全天路线" in refused.text
    called = await post_form(
        client, f"/visits/days/{day_id}/sick", {"carer_id": str(roster[0][0]), "day": day.isoformat()}, page=board
    )
    assert called.status_code in (302, 303) and called.headers["location"].startswith("/visits/respite?")
    shown = await client.get(called.headers["location"])
    assert "该护理员当天余下时间请假，正在重新排班。" in shown.text
    absent = await conn.fetch("SELECT carer_id FROM carer_absences WHERE visit_day_id = $1 ORDER BY id", day_id)
    assert [a["carer_id"] for a in absent] == [roster[1][0], roster[0][0]]
