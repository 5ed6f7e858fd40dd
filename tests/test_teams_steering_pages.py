"""Steering 311 teams on their pages, in Chinese: the run page lists each live team's members with a pin button,
pinning and unpinning come back to it, a pin the plan could not keep is shown with its reason, and re-planning
opens the new run."""

from __future__ import annotations

from tests import factories
from tests import factories_teams as ft
from tests.helpers import login, post_form
from tests.pages_kit import page_context
from tests.test_teams_service import solve_and_write
from tests.test_teams_steering_api import _formed


async def test_a_planner_pins_a_carer_on_the_run_page_and_re_plans(client, conn):
    project, household, (_, _, farther), _, run_id = await _formed(client, conn)
    await login(client, await factories.username_of(conn, project.organisation_account))
    location = f"/teams/runs/{run_id}"
    project_page = await client.get(f"/teams/projects/{project.contract_id}")
    assert f'href="{location}"' in project_page.text and "锁定照护者并重新组队" in project_page.text
    page = await page_context(client, location)
    assert page.response.status_code == 200
    (team,) = page.context["steering"].teams
    assert len(team.members) == 3 and all(m.pin_id is None for m in team.members)
    text = page.response.text
    assert "小组方案" in text and "调整下一版组队方案" in text and "保留锁定并重新组队" in text and "锁定" in text
    assert "长阳路" not in text or "**" in text
    member = next(m for m in team.members if m.volunteer_id == farther)
    pinned = await post_form(client, f"{location}/pins", {"member_id": str(member.member_id)}, page=location)
    assert pinned.status_code in (302, 303), pinned.text
    again = await page_context(client, location)
    (pin,) = again.context["steering"].pins
    assert (pin.household_id, pin.volunteer_id) == (household, farther)
    assert [m.pin_id for m in again.context["steering"].teams[0].members if m.volunteer_id == farther] == [pin.id]
    assert "取消锁定" in again.response.text

    # The household refuses the pinned carer: the re-plan lists the pin with its reason, in Chinese.
    team_id = team.team_id
    refused = await post_form(
        client, f"/teams/{team_id}/refuse", {"volunteer_id": str(farther)}, page=f"/teams/{team_id}"
    )
    assert refused.status_code in (302, 303), refused.text
    replanned = await post_form(client, f"{location}/replan", {}, page=location)
    assert replanned.status_code in (302, 303)
    new_location = replanned.headers["location"]
    assert new_location != location
    queued = await page_context(client, new_location)
    assert queued.response.status_code == 200 and queued.context["run"].status == "queued"
    assert "组队运算" in queued.response.text or "排队" in queued.response.text or "状态" in queued.response.text
    await solve_and_write(conn, int(new_location.rsplit("/", 1)[1]), project.contract_id)
    last = await page_context(client, new_location)
    assert last.context["result"]["pin_conflicts"] == [{"pin_id": pin.id, "household_id": household, "why": "refused"}]
    assert "本方案未能保留的锁定" in last.response.text and "该家庭拒绝了这位照护者" in last.response.text

    removed = await post_form(client, f"{new_location}/pins/{pin.id}/delete", {}, page=new_location)
    assert removed.status_code in (302, 303)
    assert await conn.fetchval("SELECT count(*) FROM team_pins") == 0


async def test_another_organisation_gets_no_run_page(client, conn):
    _, _, _, _, run_id = await _formed(client, conn)
    other = await ft.create_project(conn, households=0)
    await login(client, await factories.username_of(conn, other.organisation_account))
    assert (await client.get(f"/teams/runs/{run_id}")).status_code == 404
    refused = await post_form(client, f"/teams/runs/{run_id}/replan", {}, page="/teams")
    assert refused.status_code == 404
