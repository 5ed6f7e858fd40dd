"""311 teams over the JSON API: the organisation's projects, runs and refusals; members' visits; household details
only for the volunteer serving the household now, every view logged."""

from __future__ import annotations

import datetime as dt

from tests import factories
from tests import factories_teams as ft
from tests.factories_shifts import add_signup, create_shift
from tests.helpers import bearer
from tests.test_teams_service import MON_TUE, solve_and_write

ADDRESS = "长阳路1567弄33号402室"
NOTE = "左腿不便，需搀扶"


async def _project(conn):
    project = await ft.create_project(conn, households=0)
    household = await ft.add_household(conn, project, address=ADDRESS, care_notes=NOTE)
    carers = [await ft.create_carer(conn, trained=k == 0, windows=MON_TUE) for k in range(4)]
    return project, household, carers


async def _as(client, conn, account_id: int) -> dict[str, str]:
    return await bearer(client, await factories.username_of(conn, account_id))


async def test_the_organisation_runs_teams_and_sees_households_masked(client, conn):
    project, _, _ = await _project(conn)
    org = await _as(client, conn, project.organisation_account)
    projects = (await client.get("/api/teams/projects", headers=org)).json()
    assert [p["contract_id"] for p in projects] == [project.contract_id] and projects[0]["households"] == 1
    started = await client.post(f"/api/teams/projects/{project.contract_id}/runs", headers=org)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.json()["status"] == "queued" and not started.json()["finished"]
    await solve_and_write(conn, run_id, project.contract_id)
    run = (await client.get(f"/api/teams/runs/{run_id}", headers=org)).json()
    assert run["finished"] and run["result"]["covered"] == 1
    detail = await client.get(f"/api/teams/projects/{project.contract_id}", headers=org)
    assert ADDRESS not in detail.text and NOTE not in detail.text
    row = detail.json()["households"][0]
    assert row["household"]["masked_address"] == "长阳路1567弄**号" and row["team_size"] == 3
    team = (await client.get(f"/api/teams/{row['team_id']}", headers=org)).json()
    assert len(team["members"]) == 3 and len(team["visits"]) >= 1 and not team["month"]["met"]
    assert ADDRESS not in str(team)


async def test_a_refusal_over_the_api_replaces_the_carer(client, conn):
    project, household, carers = await _project(conn)
    team_id = await ft.form_team(conn, project, household, [v for v, _ in carers[:3]], "mon-am")
    org = await _as(client, conn, project.organisation_account)
    refused = carers[1][0]
    response = await client.post(f"/api/teams/{team_id}/refusals", json={"volunteer_id": refused}, headers=org)
    assert response.status_code == 201, response.text
    assert response.json()["replacement"] == carers[3][0]
    again = await client.post(f"/api/teams/{team_id}/refusals", json={"volunteer_id": refused}, headers=org)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "volunteer_id"


async def test_a_member_records_a_visit_and_bad_times_are_422(client, conn):
    project, household, carers = await _project(conn)
    team_id = await ft.form_team(conn, project, household, [v for v, _ in carers[:3]], "mon-am")
    member = await _as(client, conn, carers[0][1])
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    made = await client.post(
        f"/api/teams/{team_id}/visits", json={"at": at, "minutes": 90, "contact_kind": "home_visit"}, headers=member
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "done" and made.json()["minutes"] == 90
    naive = await client.post(
        f"/api/teams/{team_id}/visits", json={"at": "2026-01-05T09:00:00", "minutes": 30}, headers=member
    )
    assert naive.status_code in (400, 422)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    later = await client.post(f"/api/teams/{team_id}/visits", json={"at": future, "minutes": 30}, headers=member)
    assert later.status_code == 422
    twice = await client.post(f"/api/teams/{team_id}/visits", json={"at": at, "minutes": 30}, headers=member)
    assert twice.status_code == 409
    mine = (await client.get("/api/teams/mine", headers=member)).json()
    assert [t["id"] for t in mine] == [team_id] and ADDRESS not in str(mine)
    outsider = await _as(client, conn, carers[3][1])
    assert (await client.get(f"/api/teams/{team_id}", headers=outsider)).status_code == 404


async def test_household_details_follow_the_shift_window_and_team_membership_and_every_view_is_logged(client, conn):
    project, household, carers = await _project(conn)
    (member_v, member_a), (shift_v, shift_a), (_, other_a) = carers[:3]
    await ft.form_team(conn, project, household, [member_v], "mon-am")
    member, on_shift, other = [await _as(client, conn, a) for a in (member_a, shift_a, other_a)]
    # A team member sees the details, and the view is logged without them.
    seen = await client.get(f"/api/households/{household}", headers=member)
    assert seen.status_code == 200 and seen.json()["address"] == ADDRESS and seen.json()["care_notes"] == NOTE
    assert seen.json()["basis"] == "team"
    logged = await conn.fetch(
        "SELECT actor_account_id, object_id, detail::text AS detail FROM audit_log WHERE action = 'household.viewed'"
    )
    assert [(r["actor_account_id"], r["object_id"]) for r in logged] == [(member_a, str(household))]
    assert ADDRESS not in logged[0]["detail"] and NOTE not in logged[0]["detail"]
    # No link at all: 404, as if there were no such household.
    assert (await client.get(f"/api/households/{household}", headers=other)).status_code == 404
    # A held place on a shift three days away: linked but not yet open (403); a shift starting within 24 h opens it.
    far = await create_shift(conn, organisation_id=project.organisation_id)
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", far, household)
    await add_signup(conn, far, shift_v)
    early = await client.get(f"/api/households/{household}", headers=on_shift)
    assert early.status_code == 403 and ADDRESS not in early.text
    near = await create_shift(
        conn, organisation_id=project.organisation_id, starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    )
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", near, household)
    await add_signup(conn, near, shift_v)
    # Before a first visit, the shift's publisher confirms the person (issue 11, step 4).
    unconfirmed = await client.get(f"/api/households/{household}", headers=on_shift)
    assert unconfirmed.status_code == 403 and ADDRESS not in unconfirmed.text
    await conn.execute(
        "INSERT INTO household_confirmations (household_id, volunteer_id, shift_id, confirmed_by, organisation_id)"
        " VALUES ($1, $2, $3, $4, $5)",
        household, shift_v, near, project.organisation_account, project.organisation_id,
    )  # fmt: skip
    opened = await client.get(f"/api/households/{household}", headers=on_shift)
    assert opened.status_code == 200 and opened.json()["basis"] == "shift" and opened.json()["shift_id"] == near
    # Cancelled: closed again.
    await conn.execute("UPDATE signups SET status = 'cancelled', cancelled_at = now() WHERE shift_id = $1", near)
    assert (await client.get(f"/api/households/{household}", headers=on_shift)).status_code == 403
    # A member who left the team loses access at once.
    await conn.execute("UPDATE team_members SET until = now(), ended_reason = 'left' WHERE volunteer_id = $1", member_v)
    assert (await client.get(f"/api/households/{household}", headers=member)).status_code == 404
    # The organisation holding the contract employs the carers and vouches for them; its views are logged too.
    org = await _as(client, conn, project.organisation_account)
    vouched = await client.get(f"/api/households/{household}", headers=org)
    assert vouched.status_code == 200 and vouched.json()["basis"] == "contract"
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'household.viewed'") == 3
    # Other roles never get the details.
    funder = await _as(client, conn, await factories.create_account(conn, "funder"))
    assert (await client.get(f"/api/households/{household}", headers=funder)).status_code == 403


async def test_bad_input_gets_a_clear_problem_never_a_server_error(client, conn):
    project, household, carers = await _project(conn)
    team_id = await ft.form_team(conn, project, household, [v for v, _ in carers[:3]], "mon-am")
    member = await _as(client, conn, carers[0][1])
    org = await _as(client, conn, project.organisation_account)
    now = dt.datetime.now(dt.UTC).isoformat()
    cases = [
        (member, "POST", f"/api/teams/{team_id}/visits", {"at": now, "minutes": 0}),
        (member, "POST", f"/api/teams/{team_id}/visits", {"at": now, "minutes": 30, "contact_kind": "letter"}),
        (member, "POST", f"/api/teams/{team_id}/visits", {"at": "0001-01-01T00:00:00+00:00", "minutes": 30}),
        (member, "POST", f"/api/teams/{team_id}/visits", {"at": now, "minutes": 30, "extra": 1}),
        (member, "POST", f"/api/teams/{2**63 + 5}/visits", {"at": now, "minutes": 30}),
        (member, "GET", f"/api/teams/{2**63 + 5}", None),
        (member, "GET", f"/api/households/{2**63 + 5}", None),
        (org, "POST", f"/api/teams/{team_id}/refusals", {"volunteer_id": 0}),
        (org, "POST", f"/api/teams/{team_id}/refusals", {"volunteer_id": "x"}),
        (org, "POST", "/api/teams/projects/999999/runs", None),
        (org, "GET", "/api/teams/runs/999999", None),
    ]
    for headers, method, path, body in cases:
        response = await client.request(method, path, json=body, headers=headers)
        assert 400 <= response.status_code < 500, (path, body, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), (path, body)


async def test_the_committee_follows_the_teams_of_its_households_masked(client, conn):
    project, household, carers = await _project(conn)
    team_id = await ft.form_team(conn, project, household, [v for v, _ in carers[:3]], "mon-am")
    committee = await _as(client, conn, project.committee_account)
    listed = await client.get("/api/teams/committee", headers=committee)
    assert listed.status_code == 200 and ADDRESS not in listed.text and NOTE not in listed.text
    [row] = listed.json()
    assert row["id"] == team_id and row["members"] == 3 and row["household"]["masked_address"] == "长阳路1567弄**号"
    assert (await client.get(f"/api/teams/{team_id}", headers=committee)).status_code == 200
    other = await _as(client, conn, await factories.create_account(conn, "committee"))
    assert (await client.get("/api/teams/committee", headers=other)).json() == []
    assert (await client.get(f"/api/teams/{team_id}", headers=other)).status_code == 404
    # The household's own committee registered it and sees its details (the view is logged); another does not.
    details = await client.get(f"/api/households/{household}", headers=committee)
    assert details.status_code == 200 and details.json()["basis"] == "committee"
    assert (await client.get(f"/api/households/{household}", headers=other)).status_code == 404
