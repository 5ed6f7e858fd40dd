"""311 team pages in Chinese: the organisation's projects, its run and refusals; a member's team page, visit form
and the household's details; the monthly minimum shown met or not."""

from __future__ import annotations

import datetime as dt

from api.services.types import SHANGHAI
from tests import factories
from tests import factories_teams as ft
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context
from tests.test_teams_api import ADDRESS, NOTE
from tests.test_teams_service import MON_TUE


async def _scene(conn):
    project = await ft.create_project(conn, households=0)
    household = await ft.add_household(conn, project, address=ADDRESS, care_notes=NOTE)
    carers = [await ft.create_carer(conn, trained=k == 0, windows=MON_TUE) for k in range(4)]
    team_id = await ft.form_team(conn, project, household, [v for v, _ in carers[:3]], "tue-pm")
    return project, household, carers, team_id


async def _login(client, conn, account_id: int) -> None:
    await login(client, await factories.username_of(conn, account_id))


async def test_the_organisation_sees_its_project_masked_and_starts_a_run_from_the_page(client, conn):
    project, _, _, team_id = await _scene(conn)
    await _login(client, conn, project.organisation_account)
    listing = await client.get("/teams")
    assert listing.status_code == 200 and "311类家庭" in listing.text and "1 / 1 户家庭已组队" in listing.text
    page = await client.get(f"/teams/projects/{project.contract_id}")
    assert page.status_code == 200 and "长阳路1567弄**号" in page.text and ADDRESS not in page.text
    assert f'href="/teams/{team_id}"' in page.text and "周二下午（14:00）" in page.text
    response = await post_form(
        client, f"/teams/projects/{project.contract_id}/run", {}, page=f"/teams/projects/{project.contract_id}"
    )
    assert response.status_code in (302, 303), response.text
    shown = await client.get(response.headers["location"])
    assert "组队运算已开始" in shown.text and "排队中" in shown.text  # no worker runs in this test
    assert await conn.fetchval("SELECT count(*) FROM match_runs WHERE model = 'teams'") == 1
    # The page reloads itself at the same address when the run ends: the "started" notice goes with the run.
    await conn.execute(
        "UPDATE match_runs SET status = 'failed', error = 'stopped', started_at = now(), finished_at = now()"
        " WHERE model = 'teams'"
    )
    ended = await client.get(response.headers["location"])
    assert "done=started" in response.headers["location"] and "组队运算已开始" not in ended.text


async def test_the_organisation_records_a_refusal_on_the_team_page(client, conn):
    project, _, carers, team_id = await _scene(conn)
    await _login(client, conn, project.organisation_account)
    page = await client.get(f"/teams/{team_id}")
    assert "服务对象家庭拒绝这位照护者" in page.text and ADDRESS not in page.text and NOTE not in page.text
    response = await post_form(
        client, f"/teams/{team_id}/refuse", {"volunteer_id": str(carers[2][0])}, page=f"/teams/{team_id}"
    )
    assert response.status_code in (302, 303), response.text
    shown = await client.get(response.headers["location"])
    assert "已记录拒绝" in shown.text and "被服务对象家庭拒绝" in shown.text


async def test_a_member_records_a_visit_and_sees_the_monthly_minimum(client, conn):
    _, household, carers, team_id = await _scene(conn)
    await _login(client, conn, carers[0][1])
    mine = await client.get("/teams/mine")
    assert mine.status_code == 200 and "我的311类家庭小组" in mine.text and f'href="/teams/{team_id}"' in mine.text
    assert ADDRESS not in mine.text
    page = await client.get(f"/teams/{team_id}")
    assert "尚未达到每月最低要求" in page.text and f'href="/households/{household}"' in page.text
    assert ADDRESS not in page.text and NOTE not in page.text
    future = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    refused = await post_form(
        client,
        f"/teams/{team_id}/visits",
        {"at": future, "minutes": "60", "contact_kind": "phone"},
        page=f"/teams/{team_id}",
    )
    assert refused.status_code == 422 and parse_page(refused.text).errors["at"] == "探访须在完成后登记"
    now = dt.datetime.now(SHANGHAI)
    start = now.replace(day=1, hour=0, minute=1, second=0, microsecond=0)
    for hours, minutes in ((5, 150), (3, 90)):
        at = max(start + dt.timedelta(minutes=hours), now - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")
        done = await post_form(
            client, f"/teams/{team_id}/visits", {"at": at, "minutes": str(minutes), "contact_kind": "home_visit"},
            page=f"/teams/{team_id}",
        )  # fmt: skip
        assert done.status_code in (302, 303), done.text
    shown = await client.get(f"/teams/{team_id}?done=recorded")
    assert "探访已登记" in shown.text and "已达到每月最低要求" in shown.text and "上门探访" in shown.text


async def test_a_member_opens_the_household_details_and_the_view_is_logged(client, conn):
    _, household, carers, _ = await _scene(conn)
    await _login(client, conn, carers[1][1])
    page = await client.get(f"/households/{household}")
    assert page.status_code == 200 and ADDRESS in page.text and NOTE in page.text and "您的查看已被记录" in page.text
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'household.viewed'") == 1
    await _login(client, conn, carers[3][1])  # not in the team
    refused = await client.get(f"/households/{household}")
    assert refused.status_code == 404 and ADDRESS not in refused.text and NOTE not in refused.text


async def test_the_committee_sees_the_teams_of_its_households(client, conn):
    project, _, _, team_id = await _scene(conn)
    await _login(client, conn, project.committee_account)
    page = await client.get("/teams")
    assert (
        page.status_code == 200 and "本居委会的311类家庭小组" in page.text and f'href="/teams/{team_id}"' in page.text
    )
    assert "长阳路1567弄**号" in page.text and ADDRESS not in page.text and "尚未达到每月最低要求" in page.text


async def _visit(conn, team_id: int, volunteer_id: int, minutes: int, hours_ago: int) -> None:
    """A visit done earlier this month (never before its first minute, whenever the test runs)."""
    now = dt.datetime.now(SHANGHAI)
    start = now.replace(day=1, hour=0, minute=1, second=0, microsecond=0)
    await conn.execute(
        "INSERT INTO team_visits (team_id, at, status, minutes, contact_kind, recorded_by, recorded_at)"
        " VALUES ($1, $2, 'done', $3, 'home_visit', $4, now())",
        team_id,
        max(start + dt.timedelta(minutes=hours_ago), now - dt.timedelta(hours=hours_ago)),
        minutes,
        volunteer_id,
    )


async def test_the_project_and_team_pages_are_given_each_households_team_and_its_month(client, conn):
    project, household, carers, team_id = await _scene(conn)
    alone = await ft.add_household(conn, project)
    for minutes, hours_ago in ((150, 5), (90, 3)):
        await _visit(conn, team_id, carers[0][0], minutes, hours_ago)
    await _login(client, conn, project.organisation_account)
    rendered = await page_context(client, f"/teams/projects/{project.contract_id}")
    assert rendered.template == "teams/project.html"
    view = rendered["view"]
    assert (view.project.contract_id, view.project.households, view.project.live_teams) == (project.contract_id, 2, 1)
    assert view.latest_run is None
    rows = {h.household.id: h for h in view.households}
    assert set(rows) == {household, alone}
    served = rows[household]
    assert (served.team_id, served.team_slot, served.team_size) == (team_id, "tue-pm", 3)
    assert (served.month_minutes, served.month_contacts, served.month_met) == (240, 2, True)
    assert (rows[alone].team_id, rows[alone].team_size, rows[alone].month_met) == (None, 0, False)
    assert ADDRESS not in {h.household.masked_address for h in view.households}
    team = await page_context(client, f"/teams/{team_id}")
    assert team.template == "teams/team.html"
    t = team["team"]
    assert sorted(m.volunteer_id for m in t.members) == sorted(v for v, _ in carers[:3])
    assert (t.month.minutes, t.month.contacts, t.month.met) == (240, 2, True)
    assert (t.is_organisation, t.is_member) == (True, False)
    assert len(t.visits) == 2
