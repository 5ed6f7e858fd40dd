"""311 teams meet in a slot the household accepts: its registered visit slots restrict the shared slot (none means
any), and a household that has left the service is in no teams run."""

from __future__ import annotations

import json

from api.services import households, teams
from sql import calendar as calendar_sql
from tests import factories_shifts as fs
from tests import factories_teams as ft
from tests.test_teams_service import MON_TUE, live_members, solve_and_write
from tests.worker_kit import JobQueueSpy


async def _project_with_carers(conn):
    project = await ft.create_project(conn, households=1)
    for k in range(4):
        await ft.create_carer(conn, trained=k == 0, windows=MON_TUE, at=(31.2805, 121.5203))
    return project


async def test_the_team_meets_in_a_slot_the_household_registered(conn, redis):
    project = await _project_with_carers(conn)
    household_id = project.households[0]
    await conn.execute("UPDATE households SET visit_slots = '{tue-pm}' WHERE id = $1", household_id)
    inputs = await teams.load_inputs(conn, await teams.teams_sql.get_project_by_id(conn, project.contract_id))
    assert inputs.problem.households[0].slots == ("tue-pm",)
    run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await solve_and_write(conn, run.id, project.contract_id)
    assert len(await live_members(conn, household_id)) == 3
    assert await conn.fetchval("SELECT slot FROM teams WHERE household_id = $1", household_id) == "tue-pm"


async def test_no_team_forms_when_no_carer_shares_a_registered_slot(conn, redis):
    project = await _project_with_carers(conn)
    household_id = project.households[0]
    await conn.execute("UPDATE households SET visit_slots = '{sat-am,sun-pm}' WHERE id = $1", household_id)
    run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await solve_and_write(conn, run.id, project.contract_id)
    assert await live_members(conn, household_id) == []


async def test_no_registered_slot_means_every_slot_and_an_archived_household_is_left_out(conn):
    project = await _project_with_carers(conn)
    kept = await ft.add_household(conn, project)
    gone = project.households[0]
    carers = [r["id"] for r in await conn.fetch("SELECT id FROM volunteers ORDER BY id DESC LIMIT 3")]
    team_id = await ft.form_team(conn, project, gone, carers, "mon-am")
    staff = project.committee()
    await households.archive_household(conn, staff, gone)
    assert await conn.fetchval("SELECT status FROM teams WHERE id = $1", team_id) == "dissolved"
    assert await live_members(conn, gone) == []
    inputs = await teams.load_inputs(conn, await teams.teams_sql.get_project_by_id(conn, project.contract_id))
    assert [h.id for h in inputs.problem.households] == [kept]
    assert inputs.problem.households[0].slots == teams.ALL_SLOTS


async def test_leaving_the_service_calls_off_the_households_visits_and_shifts_to_come(conn):
    project = await _project_with_carers(conn)
    gone = project.households[0]
    carers = [r["id"] for r in await conn.fetch("SELECT id FROM volunteers ORDER BY id DESC LIMIT 3")]
    team_id = await ft.form_team(conn, project, gone, carers, "mon-am")
    await conn.execute(
        "INSERT INTO team_visits (team_id, at) VALUES ($1, now() + interval '3 days'), ($1, now() - interval '1 day')",
        team_id,
    )
    visit_shift = await fs.create_shift(conn, committee_id=project.committee_id, household_id=gone)
    past_shift = await fs.create_shift(
        conn, committee_id=project.committee_id, household_id=gone, starts_at=fs.soon(days=-2)
    )
    other_shift = await fs.create_shift(conn, committee_id=project.committee_id)
    helper = await fs.volunteer_identity(conn)
    await fs.add_signup(conn, visit_shift, helper.volunteer_id)
    staff = project.committee()
    await households.archive_household(conn, staff, gone)
    visits = await conn.fetch("SELECT status, at > now() AS ahead FROM team_visits WHERE team_id = $1", team_id)
    assert {(v["ahead"], v["status"]) for v in visits} == {(True, "cancelled"), (False, "planned")}
    status = {r["id"]: r["status"] for r in await conn.fetch("SELECT id, status FROM shifts")}
    assert (status[visit_shift], status[past_shift], status[other_shift]) == ("cancelled", "open", "open")
    assert await conn.fetchval("SELECT status FROM signups WHERE shift_id = $1", visit_shift) == "cancelled"
    told = await conn.fetchval(
        "SELECT count(*) FROM notifications WHERE account_id = $1 AND kind = 'shift_cancelled' AND shift_id = $2",
        helper.account_id,
        visit_shift,
    )
    assert told == 1
    log = await conn.fetchval(
        "SELECT detail FROM audit_log WHERE action = 'shift.called_off' AND object_id = $1", str(visit_shift)
    )
    assert json.loads(log) == {"household_id": gone, "signups_cancelled": 1}


async def test_three_carers_visit_two_households_in_different_slots_or_only_one(conn, redis):
    project = await ft.create_project(conn, households=2)
    for k in range(3):
        await ft.create_carer(conn, trained=k == 0, windows=MON_TUE, at=(31.2805, 121.5203))
    first, second = project.households
    await conn.execute("UPDATE households SET visit_slots = '{mon-am}' WHERE id = ANY($1::bigint[])", [first, second])

    async def run() -> dict[int, str]:
        started = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
        result = await solve_and_write(conn, started.id, project.contract_id)
        assert all(t.slot in t.shared_slots for t in result.assignments)
        assert await calendar_sql.uncommitted_visits(conn) == []
        rows = await conn.fetch(
            "SELECT household_id, slot FROM teams WHERE status = 'live' AND contract_id = $1", project.contract_id
        )
        return {r["household_id"]: r["slot"] for r in rows}

    # Both households take Monday mornings only: the same three carers cannot be at both at once.
    assert list((await run()).values()) == ["mon-am"]
    await conn.execute("UPDATE households SET visit_slots = '{mon-am,tue-pm}' WHERE id = $1", second)
    slots = await run()
    assert slots == {first: "mon-am", second: "tue-pm"}
    summary = await conn.fetchval("SELECT result FROM match_runs WHERE model = 'teams' ORDER BY id DESC LIMIT 1")
    assert sorted(t["slot"] for t in json.loads(summary)["teams"]) == ["mon-am", "tue-pm"]
