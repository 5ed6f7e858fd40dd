"""311 teams people can steer, over the API and the real database: a pinned carer stays on the household's team
in the re-plan, pins no plan can keep are reported with their reason, pinning is audited and only the project's
organisation may steer it."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec
import pytest

from api.services import teams
from matching import teams as teams_model
from sql import match_runs as runs_sql
from sql.team_pins import TeamPinRow
from tests import factories_teams as ft
from tests.test_teams_api import _as
from tests.test_teams_service import MON_TUE, live_members, solve_and_write

A_KM_AWAY = (ft.BASE[0] + 0.009, ft.BASE[1])


async def _formed(client, conn):
    """A project with one household and its team formed by a run: a trained carer and one more next door, and
    one about a kilometre away (the team needs all three)."""
    project = await ft.create_project(conn)
    (household,) = project.households
    trained = (await ft.create_carer(conn, trained=True, windows=MON_TUE))[0]
    nearby = (await ft.create_carer(conn, windows=MON_TUE))[0]
    farther = (await ft.create_carer(conn, windows=MON_TUE, at=A_KM_AWAY))[0]
    org = await _as(client, conn, project.organisation_account)
    started = await client.post(f"/api/teams/projects/{project.contract_id}/runs", headers=org)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    await solve_and_write(conn, run_id, project.contract_id)
    assert await live_members(conn, household) == sorted([trained, nearby, farther])
    return project, household, (trained, nearby, farther), org, run_id


async def test_a_pinned_carer_stays_in_the_re_plan_and_a_pin_that_cannot_hold_says_why(client, conn):
    project, household, (_, _, farther), org, run_id = await _formed(client, conn)
    steering = (await client.get(f"/api/teams/runs/{run_id}/steering", headers=org)).json()
    (team,) = steering["teams"]
    member = next(m for m in team["members"] if m["volunteer_id"] == farther)
    assert member["pin_id"] is None and steering["pins"] == []
    pinned = await client.post(f"/api/teams/runs/{run_id}/pins", json={"member_id": member["member_id"]}, headers=org)
    assert pinned.status_code == 201, pinned.text
    pin = pinned.json()
    assert (pin["household_id"], pin["volunteer_id"]) == (household, farther)
    again = await client.post(f"/api/teams/runs/{run_id}/pins", json={"member_id": member["member_id"]}, headers=org)
    assert again.json()["id"] == pin["id"]
    bad = await client.post(f"/api/teams/runs/{run_id}/pins", json={"member_id": 2**40}, headers=org)
    assert bad.status_code == 404
    audit = await conn.fetch("SELECT action, object_type, detail FROM audit_log WHERE action LIKE 'team_pin.%'")
    assert [(a["action"], a["object_type"]) for a in audit] == [("team_pin.pin", "contract")] * 2

    # The team is gone and a carer moves in next door: unsteered, the plan would take them over the farther one.
    await conn.execute("UPDATE team_members SET until = now(), ended_reason = 'dissolved' WHERE until IS NULL")
    await conn.execute("UPDATE teams SET status = 'dissolved', dissolved_at = now()")
    newcomer = (await ft.create_carer(conn, windows=MON_TUE))[0]
    inputs = await teams.load_inputs(conn, await teams.teams_sql.get_project_by_id(conn, project.contract_id))
    assert inputs.problem.pinned == ((household, farther),) and inputs.pin_conflicts == []
    unsteered = teams_model.solve(msgspec.structs.replace(inputs.problem, pinned=()), time_limit_s=5, seed=1, work=0.5)
    assert farther not in unsteered.assignments[0].carers and newcomer in unsteered.assignments[0].carers

    replan = await client.post(f"/api/teams/runs/{run_id}/replan", headers=org)
    assert replan.status_code == 202, replan.text
    new_id = replan.json()["id"]
    first, second = await runs_sql.get_run(conn, run_id), await runs_sql.get_run(conn, new_id)
    assert first is not None and second is not None and first.inputs_digest != second.inputs_digest
    await solve_and_write(conn, new_id, project.contract_id)
    assert farther in await live_members(conn, household)
    result = (await client.get(f"/api/teams/runs/{new_id}", headers=org)).json()["result"]
    assert result["pinned"] == 1 and result["pin_conflicts"] == []

    # The household refuses the pinned carer: the pin cannot hold, and the next plan says so.
    team_id = await conn.fetchval("SELECT id FROM teams WHERE status = 'live'")
    refused = await client.post(f"/api/teams/{team_id}/refusals", json={"volunteer_id": farther}, headers=org)
    assert refused.status_code == 201, refused.text
    last = await client.post(f"/api/teams/runs/{new_id}/replan", headers=org)
    await solve_and_write(conn, last.json()["id"], project.contract_id)
    result = (await client.get(f"/api/teams/runs/{last.json()['id']}", headers=org)).json()["result"]
    assert result["pinned"] == 0
    assert result["pin_conflicts"] == [{"pin_id": pin["id"], "household_id": household, "why": "refused"}]

    removed = await client.delete(f"/api/teams/runs/{run_id}/pins/{pin['id']}", headers=org)
    assert removed.status_code == 204
    assert (await client.delete(f"/api/teams/runs/{run_id}/pins/{pin['id']}", headers=org)).status_code == 404
    actions = await conn.fetch(
        "SELECT action, detail::text AS d FROM audit_log WHERE action LIKE 'team_pin.%' ORDER BY id"
    )
    assert [a["action"] for a in actions] == ["team_pin.pin", "team_pin.pin", "team_pin.unpin"]
    # Ids only: no name or address in what the audit keeps.
    assert all("volunteer_name" not in a["d"] and "长阳路" not in a["d"] for a in actions)


async def test_only_the_projects_organisation_steers_it(client, conn):
    _, _, carers, org, run_id = await _formed(client, conn)
    steering = (await client.get(f"/api/teams/runs/{run_id}/steering", headers=org)).json()
    member_id = steering["teams"][0]["members"][0]["member_id"]
    other_project = await ft.create_project(conn, households=0)
    other = await _as(client, conn, other_project.organisation_account)
    assert (await client.get(f"/api/teams/runs/{run_id}/steering", headers=other)).status_code == 404
    assert (await client.post(f"/api/teams/runs/{run_id}/pins", json={"member_id": member_id},
                              headers=other)).status_code == 404  # fmt: skip
    assert (await client.post(f"/api/teams/runs/{run_id}/replan", headers=other)).status_code == 404
    pin = (await client.post(f"/api/teams/runs/{run_id}/pins", json={"member_id": member_id}, headers=org)).json()
    assert (await client.delete(f"/api/teams/runs/{run_id}/pins/{pin['id']}", headers=other)).status_code == 404
    volunteer = await _as(client, conn, await conn.fetchval("SELECT account_id FROM volunteers WHERE id = $1",
                                                            carers[0]))  # fmt: skip
    assert (await client.get(f"/api/teams/runs/{run_id}/steering", headers=volunteer)).status_code == 403
    assert await conn.fetchval("SELECT count(*) FROM team_pins") == 1


async def test_a_pin_is_only_for_a_household_the_contract_formed_a_team_for(conn):
    project = await ft.create_project(conn)
    elsewhere = await ft.create_project(conn)
    carer = (await ft.create_carer(conn, windows=MON_TUE))[0]
    with pytest.raises(asyncpg.CheckViolationError, match="has no team in contract"):
        await conn.execute(
            "INSERT INTO team_pins (contract_id, household_id, volunteer_id, pinned_by) VALUES ($1, $2, $3, $4)",
            project.contract_id,
            elsewhere.households[0],
            carer,
            project.organisation_account,
        )


def _pin(pin_id: int, household: int, carer: int) -> TeamPinRow:
    return TeamPinRow(pin_id, 1, household, carer, "x", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_steer_names_a_household_that_left_and_a_carer_no_longer_available() -> None:
    problem = teams_model.TeamsProblem(
        carers=(teams_model.Carer(1, ft.BASE, trained=True, max_teams=2, slots=("mon-am",)),),
        households=(teams_model.Household(10, ft.BASE, 2.0, ("mon-am",)),),
        team_size=1,
    )
    steered, conflicts = teams.steer(problem, [_pin(1, 99, 1), _pin(2, 10, 7), _pin(3, 10, 1)])
    assert steered.pinned == ((10, 1),)
    assert conflicts == [
        {"pin_id": 1, "household_id": 99, "why": "household-left"},
        {"pin_id": 2, "household_id": 10, "why": "carer-unavailable"},
    ]
    assert set(teams.PIN_WHY) >= {c["why"] for c in conflicts}
