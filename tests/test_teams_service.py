"""311 teams: a run forms teams of three with one trained carer sharing a slot; a re-run keeps them; a refusal
re-plans that team alone; members record visits against the monthly minimum."""

from __future__ import annotations

import datetime as dt

import pytest

from api.services import runs, teams
from api.services.errors import Conflict, Invalid, NotFound
from api.services.teams import RefusalCreate, VisitCreate
from matching import teams as teams_model
from tests import factories_teams as ft
from tests.worker_kit import JobQueueSpy

MON_AM = ((1, "08:30", "12:00"),)
MON_TUE = ((1, "08:30", "12:00"), (2, "13:00", "17:00"))


async def solve_and_write(conn, run_id: int, contract_id: int) -> teams_model.TeamsResult:
    """What the worker does, in the test's transaction: load, solve, write once."""
    project = await teams.teams_sql.get_project_by_id(conn, contract_id)
    inputs = await teams.load_inputs(conn, project)
    result = runs.solve_here(teams.RUNS, inputs.problem, 2.0)
    assert await runs.write_result(conn, teams.RUNS, run_id, inputs, result)
    return result


async def live_members(conn, household_id: int) -> list[int]:
    return [
        r["volunteer_id"]
        for r in await conn.fetch(
            "SELECT m.volunteer_id FROM team_members m JOIN teams t ON t.id = m.team_id"
            " WHERE t.household_id = $1 AND t.status = 'live' AND m.until IS NULL ORDER BY m.volunteer_id",
            household_id,
        )
    ]


async def two_households_six_carers(conn):
    project = await ft.create_project(conn, households=2)
    trained = [(await ft.create_carer(conn, trained=True, windows=MON_TUE))[0] for _ in range(2)]
    helpers = [(await ft.create_carer(conn, windows=MON_TUE, at=(31.281, 121.5205)))[0] for _ in range(4)]
    return project, trained, helpers


async def test_a_run_forms_a_team_of_three_with_a_trained_carer_sharing_a_slot_and_plans_weekly_visits(conn, redis):
    project, trained, _ = await two_households_six_carers(conn)
    run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    assert run.model == "teams" and run.subject_type == "contract" and run.status == "queued"
    result = await solve_and_write(conn, run.id, project.contract_id)
    assert result.covered == 2 or len(result.assignments) == 2
    for household_id in project.households:
        members = await live_members(conn, household_id)
        assert len(members) == 3 and len(set(members) & set(trained)) >= 1
    slots = await conn.fetch("SELECT slot FROM teams WHERE contract_id = $1", project.contract_id)
    assert {r["slot"] for r in slots} <= {"mon-am", "tue-pm"}
    planned = await conn.fetch(
        "SELECT team_id, count(*) AS n, min(at) AS first FROM team_visits WHERE status = 'planned' GROUP BY team_id"
    )
    assert len(planned) == 2 and all(r["n"] == teams.PLAN_WEEKS for r in planned)
    assert all(r["first"] > dt.datetime.now(dt.UTC) for r in planned)
    assert await conn.fetchval("SELECT status FROM match_runs WHERE id = $1", run.id) == "succeeded"
    # A second run of the same inputs is the same run: nothing is re-planned.
    again = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    assert again.id != run.id  # the live teams are new inputs...
    await solve_and_write(conn, again.id, project.contract_id)
    third = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    assert third.id == again.id  # ...and once they are kept, the inputs no longer change


async def test_a_rerun_keeps_the_live_teams_even_when_a_closer_carer_appears(conn, redis):
    project, _, _ = await two_households_six_carers(conn)
    run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await solve_and_write(conn, run.id, project.contract_id)
    before = {h: await live_members(conn, h) for h in project.households}
    team_ids = await conn.fetch("SELECT id FROM teams WHERE status = 'live' ORDER BY id")
    await ft.create_carer(conn, trained=True, windows=MON_TUE, at=ft.BASE)  # right next door
    rerun = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await solve_and_write(conn, rerun.id, project.contract_id)
    assert {h: await live_members(conn, h) for h in project.households} == before
    assert await conn.fetch("SELECT id FROM teams WHERE status = 'live' ORDER BY id") == team_ids
    assert await conn.fetchval("SELECT count(*) FROM team_members WHERE until IS NOT NULL") == 0


async def test_a_refusal_replaces_that_carer_only_and_is_never_undone_by_a_rerun(conn, redis):
    project = await ft.create_project(conn, households=2)
    carers = [(await ft.create_carer(conn, trained=k < 2, windows=MON_AM))[0] for k in range(7)]
    run = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await solve_and_write(conn, run.id, project.contract_id)
    first, second = project.households
    team_id = await conn.fetchval("SELECT id FROM teams WHERE household_id = $1 AND status = 'live'", first)
    members = await live_members(conn, first)
    other_before = await live_members(conn, second)
    refused = (
        next(m for m in members if m not in carers[:2]) if any(m not in carers[:2] for m in members) else members[0]
    )
    outcome = await teams.refuse(conn, project.organisation(), team_id, RefusalCreate(volunteer_id=refused))
    after = await live_members(conn, first)
    assert outcome.refused == refused and outcome.replacement is not None
    assert refused not in after and len(after) == 3
    assert set(members) - {refused} <= set(after)  # the other members stay
    assert await live_members(conn, second) == other_before  # the other team is untouched
    ended = await conn.fetchrow(
        "SELECT ended_reason FROM team_members WHERE team_id = $1 AND volunteer_id = $2", team_id, refused
    )
    assert ended["ended_reason"] == "refused"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM household_refusals WHERE household_id = $1 AND volunteer_id = $2", first, refused
        )
        == 1
    )
    rerun = await teams.start_run(conn, JobQueueSpy(redis), project.organisation(), project.contract_id)
    await solve_and_write(conn, rerun.id, project.contract_id)
    assert refused not in await live_members(conn, first)
    detail = await conn.fetchval("SELECT detail::text FROM audit_log WHERE action = 'team.refuse'")
    assert "李" not in detail and "路" not in detail


async def test_a_refusal_with_nobody_to_replace_leaves_the_team_short_and_keeps_the_others(conn, redis):
    project = await ft.create_project(conn, households=1)
    carers = [(await ft.create_carer(conn, trained=k == 0, windows=MON_AM))[0] for k in range(3)]
    team_id = await ft.form_team(conn, project, project.households[0], carers, "mon-am")
    outcome = await teams.refuse(conn, project.organisation(), team_id, RefusalCreate(volunteer_id=carers[2]))
    assert outcome.replacement is None
    assert await live_members(conn, project.households[0]) == sorted(carers[:2])
    with pytest.raises(Invalid):
        await teams.refuse(conn, project.organisation(), team_id, RefusalCreate(volunteer_id=carers[2]))


async def test_another_organisation_cannot_see_run_or_refuse_for_the_project(conn, redis):
    project = await ft.create_project(conn, households=1)
    other = await ft.create_project(conn, households=1)
    carers = [(await ft.create_carer(conn, trained=True))[0] for _ in range(3)]
    team_id = await ft.form_team(conn, project, project.households[0], carers, "mon-am")
    with pytest.raises(NotFound):
        await teams.project_view(conn, other.organisation(), project.contract_id)
    with pytest.raises(NotFound):
        await teams.start_run(conn, JobQueueSpy(redis), other.organisation(), project.contract_id)
    with pytest.raises(NotFound):
        await teams.refuse(conn, other.organisation(), team_id, RefusalCreate(volunteer_id=carers[0]))
    with pytest.raises(NotFound):
        await teams.team_view(conn, other.organisation(), team_id)


async def _team_of_three(conn, *, households: int = 1, slot: str = "mon-am"):
    """A project, three carers (the first trained) and their live team for the project's first household."""
    project = await ft.create_project(conn, households=households)
    made = [await ft.create_carer(conn, trained=k == 0) for k in range(3)]
    team_id = await ft.form_team(conn, project, project.households[0], [v for v, _ in made], slot)
    return project, made, team_id


async def test_members_record_visits_and_the_month_shows_the_minimum_met(conn):
    _, made, team_id = await _team_of_three(conn)
    member = await ft.volunteer_identity(conn, made[0])
    now = dt.datetime.now(dt.UTC)
    start, _ = teams.month_bounds(now)
    view = await teams.team_view(conn, member, team_id)
    assert view.is_member and not view.month.met and view.month.minutes == 0
    await teams.record_visit(
        conn, member, team_id, VisitCreate(at=max(start, now - dt.timedelta(hours=3)), minutes=180)
    )
    assert not (await teams.team_view(conn, member, team_id)).month.met  # 3 hours, one contact
    second = max(start + dt.timedelta(minutes=1), now - dt.timedelta(hours=1))
    await teams.record_visit(conn, member, team_id, VisitCreate(at=second, minutes=60, contact_kind="phone"))
    view = await teams.team_view(conn, member, team_id)
    assert view.month.minutes == 240 and view.month.contacts == 2 and view.month.met
    with pytest.raises(Conflict):
        await teams.record_visit(conn, member, team_id, VisitCreate(at=second, minutes=30))
    with pytest.raises(Invalid) as future:
        await teams.record_visit(conn, member, team_id, VisitCreate(at=now + dt.timedelta(days=1), minutes=30))
    assert "at" in future.value.fields
    outsider = await ft.volunteer_identity(conn, await ft.create_carer(conn))
    with pytest.raises(NotFound):
        await teams.record_visit(conn, outsider, team_id, VisitCreate(at=now, minutes=30))
    with pytest.raises(NotFound):
        await teams.team_view(conn, outsider, team_id)
    assert len(await teams.my_teams(conn, member)) == 1


async def test_recording_at_a_planned_time_marks_that_visit_done(conn):
    _, made, team_id = await _team_of_three(conn)
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    await teams.teams_sql.plan_visits(conn, team_id, [at])
    await teams.record_visit(conn, await ft.volunteer_identity(conn, made[1]), team_id, VisitCreate(at=at, minutes=75))
    rows = await conn.fetch("SELECT status, minutes FROM team_visits WHERE team_id = $1", team_id)
    assert [(r["status"], r["minutes"]) for r in rows] == [("done", 75)]


def test_visit_times_fall_on_the_slot_in_shanghai():
    after = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # a Wednesday, 20:00 in Shanghai
    times = teams.visit_times("thu-pm", after)
    assert [t.astimezone(teams.SHANGHAI).isoformat() for t in times[:2]] == [
        "2026-11-26T14:00:00+08:00",
        "2026-12-03T14:00:00+08:00",
    ]
    assert teams.visit_times("wed-am", after)[0].astimezone(teams.SHANGHAI).day == 2  # next week's Wednesday


def test_the_model_never_puts_a_refused_carer_back():
    carers = tuple(
        teams_model.Carer(id=k, home=ft.BASE, trained=k == 0, max_teams=1, slots=("mon-am",)) for k in range(4)
    )
    house = teams_model.Household(id=1, home=ft.BASE, max_km=1.0, slots=("mon-am",))
    problem = teams_model.TeamsProblem(carers=carers, households=(house,), refused=((1, 1),))
    result = teams_model.solve(problem, time_limit_s=1.0, seed=0)
    assert [set(t.carers) for t in result.assignments] == [{0, 2, 3}]
    bad = teams_model.Team(household=1, carers=(0, 1, 2), value=teams_model.TEAM_VALUE)
    assert any("refused" in e for e in teams_model.check(problem, [bad]))


async def test_visits_are_kept_planned_four_weeks_ahead_once_each(conn):
    _, _, team_id = await _team_of_three(conn, slot="wed-pm")
    now = dt.datetime.now(dt.UTC)
    assert await teams.plan_ahead(conn, now) >= 1
    await teams.plan_ahead(conn, now)  # the daily job runs again: nothing doubles
    planned = await conn.fetch("SELECT at FROM team_visits WHERE team_id = $1 ORDER BY at", team_id)
    assert len(planned) == teams.PLAN_WEEKS
    assert all(r["at"].astimezone(teams.SHANGHAI).strftime("%a %H:%M") == "Wed 14:00" for r in planned)
    await teams.plan_ahead(conn, now + dt.timedelta(weeks=1))  # a week later: one more at the end
    assert await conn.fetchval("SELECT count(*) FROM team_visits WHERE team_id = $1", team_id) == teams.PLAN_WEEKS + 1


async def test_the_project_shows_each_teams_month_against_the_minimum(conn):
    project, made, busy = await _team_of_three(conn, households=2)
    member = await ft.volunteer_identity(conn, made[0])
    now = dt.datetime.now(dt.UTC)
    start, _ = teams.month_bounds(now)
    for k, minutes in enumerate((150, 100)):
        at = max(start + dt.timedelta(minutes=k + 1), now - dt.timedelta(hours=k + 1))
        await teams.record_visit(conn, member, busy, VisitCreate(at=at, minutes=minutes))
    view = await teams.project_view(conn, project.organisation(), project.contract_id)
    rows = {h.household.id: h for h in view.households}
    assert rows[project.households[0]].month_met and rows[project.households[0]].month_minutes == 250
    assert rows[project.households[1]].team_id is None and not rows[project.households[1]].month_met


async def test_a_refusal_keeps_the_teams_day_and_planned_visits_when_the_replacement_shares_it(conn):
    project = await ft.create_project(conn, households=1)
    carers = [(await ft.create_carer(conn, trained=k == 0, windows=MON_TUE))[0] for k in range(4)]
    team_id = await ft.form_team(conn, project, project.households[0], carers[:3], "tue-pm")
    await teams.plan_ahead(conn)
    before = await conn.fetch("SELECT id, at FROM team_visits WHERE team_id = $1 ORDER BY at", team_id)
    outcome = await teams.refuse(conn, project.organisation(), team_id, RefusalCreate(volunteer_id=carers[1]))
    assert outcome.replacement == carers[3] and outcome.slot == "tue-pm"
    assert await conn.fetch("SELECT id, at FROM team_visits WHERE team_id = $1 ORDER BY at", team_id) == before
