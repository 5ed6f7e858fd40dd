"""Optimised rosters (use cases): a week staffed by the optimiser, proposals with reasons, accept, decline."""

from __future__ import annotations

import datetime as dt

import pytest

from api.services import rosters
from api.services.errors import Conflict, Forbidden, Invalid, NotFound
from api.services.shifts import SignupRefused
from tests.factories_rosters import QueueSpy, add_certificate, at, consent, next_monday, set_windows, solve_now
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.factories_tendering import create_household

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}


async def week(conn, headcounts=(1, 2)):
    """An organisation's two shifts next week (Monday and Tuesday, 9-11) and its Identity."""
    org = await publisher_identity(conn, "organisation")
    ids = [
        await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(d, 9), headcount=h)
        for d, h in enumerate(headcounts)
    ]
    return org, ids


async def started(conn, org, day=None):
    queue = QueueSpy()
    run = await rosters.start_run(conn, queue, org, rosters.RosterStart(week_starts=day or next_monday()))
    return run, queue


async def solved(conn, publisher):
    """A run on next week, solved in-process: the run as its publisher sees it, with its proposals."""
    run, _ = await started(conn, publisher)
    await solve_now(conn, run)
    return await rosters.get_run(conn, publisher, run.id)


async def one_proposal(conn):
    """One place on Monday, one volunteer near it, and the proposal a solved run made them."""
    org, (monday,) = await week(conn, headcounts=(1,))
    a = await volunteer_identity(conn, **NEAR)
    await solved(conn, org)
    (proposal,) = await rosters.my_proposals(conn, a)
    return monday, a, proposal


async def test_a_run_proposes_near_volunteers_with_reasons_and_each_sees_only_their_own(conn):
    org, _ = await week(conn)
    a = await volunteer_identity(conn, **NEAR)
    b = await volunteer_identity(conn, **NEAR)
    far = await volunteer_identity(conn, lat=31.40, lon=121.52, travel_km=2)
    run, queue = await started(conn, org)
    assert run.model == "roster" and run.subject_type == "roster" and run.status == "queued"
    assert queue.calls == [("run_roster", (run.id,), f"match-run-{run.id}")]
    outcome = await solve_now(conn, run)
    assert outcome["written"] is True
    view = await rosters.get_run(conn, org, run.id)
    pairs = {(p.volunteer_id, p.shift_id) for p in view.proposals}
    # Three places, two volunteers within reach (the far one's radius does not reach): both shifts filled.
    assert len(pairs) == 3 and far.volunteer_id not in {v for v, _ in pairs}
    assert view.run.status == "succeeded" and view.run.result is not None
    assert view.run.result["proposed"] == 3 and view.run.result["unfilled"] == []
    mine = await rosters.my_proposals(conn, a)
    assert mine and {p.volunteer_id for p in mine} == {a.volunteer_id}
    assert {p.volunteer_id for p in await rosters.my_proposals(conn, far)} == set()
    reasons = mine[0].reasons
    assert reasons["km"] < 0.2 and reasons["max_km"] == 5 and reasons["minutes"] == 120
    assert reasons["continuity"] is None and "skills" in reasons
    # Another volunteer's proposal is not found, as if it did not exist.
    with pytest.raises(NotFound):
        await rosters.my_proposal(conn, b, mine[0].id)
    with pytest.raises(NotFound):
        await rosters.accept(conn, b, mine[0].id)
    with pytest.raises(Forbidden):
        await rosters.my_proposals(conn, org)
    # Each volunteer with new proposals is told once, in the run's own transaction; the far one is not.
    told = await conn.fetch(
        "SELECT account_id, (params->>'count')::int AS n FROM notifications WHERE kind = 'roster_proposal'"
    )
    assert {r["account_id"] for r in told} == {a.account_id, b.account_id}
    assert sum(r["n"] for r in told) == 3


async def test_starting_twice_gives_the_same_run_and_a_past_week_is_refused(conn):
    org, _ = await week(conn)
    await volunteer_identity(conn, **NEAR)
    first, _ = await started(conn, org)
    second, _ = await started(conn, org, next_monday() + dt.timedelta(days=3))  # any day of that week
    assert second.id == first.id
    with pytest.raises(Invalid) as refused:
        await started(conn, org, next_monday() - dt.timedelta(days=14))
    assert "week_starts" in refused.value.fields
    other, _ = await week(conn)
    with pytest.raises(Conflict):
        await started(conn, other, next_monday() + dt.timedelta(days=14))  # no shifts that week
    volunteer = await volunteer_identity(conn, **NEAR)
    with pytest.raises(Forbidden):
        await started(conn, volunteer)


async def test_accept_takes_the_place_through_the_pick_up_and_only_once(conn):
    monday, a, proposal = await one_proposal(conn)
    accepted = await rosters.accept(conn, a, proposal.id)
    assert accepted.status == "accepted" and accepted.signup_id is not None
    row = await conn.fetchrow("SELECT taken FROM shifts WHERE id = $1", monday)
    assert row["taken"] == 1
    assert await conn.fetchval("SELECT status FROM signups WHERE id = $1", accepted.signup_id) == "active"
    with pytest.raises(Conflict):
        await rosters.accept(conn, a, proposal.id)
    assert await conn.fetchval("SELECT count(*) FROM signups WHERE shift_id = $1", monday) == 1


async def test_a_refused_pick_up_is_a_409_with_its_reason_and_the_proposal_stays_open(conn):
    monday, a, proposal = await one_proposal(conn)
    first_come = await volunteer_identity(conn, **NEAR)
    await add_signup(conn, monday, first_come.volunteer_id)  # someone took the place first-come meanwhile
    with pytest.raises(SignupRefused) as refused:
        await rosters.accept(conn, a, proposal.id)
    assert refused.value.reason == "full" and refused.value.status == 409
    assert (await rosters.my_proposal(conn, a, proposal.id)).status == "proposed"


async def test_a_decline_re_plans_with_the_least_change_and_keeps_the_decliner_off_that_shift(conn):
    org, (monday, tuesday) = await week(conn, headcounts=(1, 1))
    a = await volunteer_identity(conn, **NEAR)
    b = await volunteer_identity(conn, **NEAR)
    # a and b can do both days; c only Tuesday, so c is the one to step in for Tuesday.
    c = await volunteer_identity(conn, **NEAR)
    await set_windows(conn, c.volunteer_id, [(2, 8, 12)])
    await conn.execute("UPDATE volunteers SET weekly_hour_cap = 2 WHERE id = ANY($1::bigint[])", [a.volunteer_id])
    run, _ = await started(conn, org)
    await solve_now(conn, run)
    plan = {p.shift_id: p for p in (await rosters.get_run(conn, org, run.id)).proposals}
    assert set(plan) == {monday, tuesday}
    tuesday_volunteer = plan[tuesday].volunteer_id
    monday_volunteer = plan[monday].volunteer_id
    decliner = {a.volunteer_id: a, b.volunteer_id: b, c.volunteer_id: c}[tuesday_volunteer]
    queue = QueueSpy()
    outcome = await rosters.decline(conn, queue, decliner, plan[tuesday].id)
    assert outcome.proposal.status == "declined" and outcome.run is not None
    assert outcome.run.id != run.id
    assert queue.calls == [("run_roster", (outcome.run.id,), f"match-run-{outcome.run.id}")]
    await solve_now(conn, outcome.run)
    replan = {p.shift_id: p for p in (await rosters.get_run(conn, org, outcome.run.id)).proposals}
    assert replan[tuesday].volunteer_id != tuesday_volunteer  # the decliner is kept off that shift
    if monday_volunteer != tuesday_volunteer:
        assert replan[monday].volunteer_id == monday_volunteer  # the rest stays as it was
        assert replan[monday].reasons["continuity"] == "plan"
    assert outcome.run.result is None
    done = await rosters.get_run(conn, org, outcome.run.id)
    assert done.run.result is not None and done.run.result["written"] is True
    # The earlier run's open proposals were superseded; the decline stays on record.
    statuses = await conn.fetch("SELECT status FROM roster_proposals WHERE run_id = $1 ORDER BY id", run.id)
    assert {r["status"] for r in statuses} <= {"superseded", "declined"}
    with pytest.raises(Conflict):
        await rosters.decline(conn, QueueSpy(), decliner, plan[tuesday].id)


async def test_continuity_with_last_weeks_carer_of_the_same_household(conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id, at=(31.2815, 121.5215))
    last = await create_shift(
        conn, committee_id=committee.committee_id, starts_at=at(0, 9) - dt.timedelta(days=7), headcount=1
    )
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", last, household)
    this = await create_shift(conn, committee_id=committee.committee_id, starts_at=at(2, 14), headcount=1, title="探访")
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", this, household)
    # The usual carer lives a little further than the others: without continuity someone nearer would win.
    usual = await volunteer_identity(conn, lat=31.2900, lon=121.5215, travel_km=5)
    others = [await volunteer_identity(conn, **NEAR) for _ in range(2)]
    await consent(conn, usual.volunteer_id, *(o.volunteer_id for o in others))
    await add_signup(conn, last, usual.volunteer_id)
    (proposal,) = (await solved(conn, committee)).proposals
    assert proposal.volunteer_id == usual.volunteer_id
    assert proposal.reasons["continuity"] == "household" and proposal.reasons["continuity_bonus"] > 0


async def test_certificates_and_availability_decide_who_is_proposed(conn):
    org = await publisher_identity(conn, "organisation")
    shift = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(3, 9), headcount=3)
    await conn.execute("UPDATE shifts SET required_certificates = '{elderly_carer}' WHERE id = $1", shift)
    certified = await volunteer_identity(conn, **NEAR)
    await add_certificate(conn, certified.volunteer_id)
    busy = await volunteer_identity(conn, **NEAR)
    await add_certificate(conn, busy.volunteer_id)
    await set_windows(conn, busy.volunteer_id, [(1, 9, 17)])  # Mondays only; the shift is on Thursday
    await volunteer_identity(conn, **NEAR)  # no certificate
    # Declared only: the sign-up guard would refuse this person, so the roster never proposes them.
    declared = await volunteer_identity(conn, **NEAR)
    await add_certificate(conn, declared.volunteer_id, verified=False)
    view = await solved(conn, org)
    assert [p.volunteer_id for p in view.proposals] == [certified.volunteer_id]
    assert view.proposals[0].reasons["certificates"] == ["elderly_carer"]
    assert view.run.result is not None and view.run.result["unfilled"][0]["places"] == 2


async def test_minors_are_not_proposed_where_they_may_serve_only_alongside_an_adult(conn):
    org = await publisher_identity(conn, "organisation")
    day = at(2, 9)
    group_only = await create_shift(conn, organisation_id=org.organisation_id, starts_at=day, headcount=2)
    await conn.execute("UPDATE shifts SET minors_in_groups_only = true WHERE id = $1", group_only)
    # The same kind of shift a day later, without the rule: there the minor may be proposed.
    open_to_all = await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(3, 9), headcount=2)
    adult = await volunteer_identity(conn, **NEAR)
    # Born 18 years before the day after the shift: still 17 on the day (the birth year alone would say 18).
    after = day.astimezone(dt.timezone(dt.timedelta(hours=8))).date() + dt.timedelta(days=1)
    leap_day = (after.month, after.day) == (2, 29)
    birthday = dt.date(after.year - 18, 3, 1) if leap_day else after.replace(year=after.year - 18)
    minor = await volunteer_identity(
        conn, **NEAR, birth_year=birthday.year, birth_date=birthday, guardian_consent=True, guardian_name="家长"
    )
    proposals = (await solved(conn, org)).proposals
    by_shift: dict[int, set[int]] = {}
    for p in proposals:
        by_shift.setdefault(p.shift_id, set()).add(p.volunteer_id)
    assert by_shift[group_only] == {adult.volunteer_id}
    assert by_shift[open_to_all] == {adult.volunteer_id, minor.volunteer_id}


async def test_another_publishers_run_is_not_found(conn):
    org, _ = await week(conn)
    await volunteer_identity(conn, **NEAR)
    run, _ = await started(conn, org)
    other = await publisher_identity(conn, "organisation")
    with pytest.raises(NotFound):
        await rosters.get_run(conn, other, run.id)
    committee = await publisher_identity(conn, "committee")
    with pytest.raises(NotFound):
        await rosters.get_run(conn, committee, run.id)


async def test_home_visits_are_proposed_only_to_volunteers_who_consented_to_personal_data(conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id, at=(31.2815, 121.5215))
    visit = await create_shift(conn, committee_id=committee.committee_id, starts_at=at(4, 10), headcount=2)
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", visit, household)
    consented = await volunteer_identity(conn, **NEAR)
    await volunteer_identity(conn, **NEAR)  # no consent on file
    await consent(conn, consented.volunteer_id)
    view = await solved(conn, committee)
    assert [p.volunteer_id for p in view.proposals] == [consented.volunteer_id]


async def test_the_carer_holding_one_visit_of_a_household_this_week_is_kept_for_its_others(conn):
    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id, at=(31.2815, 121.5215))
    visits = [
        await create_shift(conn, committee_id=committee.committee_id, starts_at=at(d, 10), headcount=1) for d in (0, 2)
    ]
    await conn.execute("UPDATE shifts SET household_id = $1 WHERE id = ANY($2::bigint[])", household, visits)
    carer = await volunteer_identity(conn, lat=31.2900, lon=121.5215, travel_km=5)  # a little further away
    nearer = await volunteer_identity(conn, **NEAR)
    await consent(conn, carer.volunteer_id, nearer.volunteer_id)
    await add_signup(conn, visits[0], carer.volunteer_id)  # she took Monday's visit
    (proposal,) = (await solved(conn, committee)).proposals
    assert (proposal.shift_id, proposal.volunteer_id) == (visits[1], carer.volunteer_id)
    assert proposal.reasons["continuity"] == "household"


def test_availability_is_the_weekly_windows_plus_extra_times_minus_away_and_held_places():
    from sql.rosters import Exception_, Interval, RosterVolunteerRow, Window

    monday = next_monday()

    def row(windows=(), exceptions=(), busy=()):
        return RosterVolunteerRow(
            id=1, lat=0, lon=0, travel_km=5, weekly_hour_cap=8, skills=[], birth_year=1980, guardian_consent=False,
            insured_until=None, consented=True, certificates=[], windows=list(windows), exceptions=list(exceptions),
            busy=list(busy), birth_date=None,
        )  # fmt: skip

    whole = rosters.availability(row(), monday)
    assert whole == [rosters.week_bounds(monday)]  # nothing on the profile: any time of the week
    spans = rosters.availability(
        row(
            windows=[Window(1, dt.time(9), dt.time(12)), Window(1, dt.time(12), dt.time(15))],
            exceptions=[Exception_(at(2, 9), at(2, 11), True), Exception_(at(0, 10), at(0, 11), False)],
            busy=[Interval(at(0, 13), at(0, 14))],
        ),
        monday,
    )
    # Monday 9-15 (two touching windows), minus 10-11 away and 13-14 held; Wednesday 9-11 added.
    assert spans == [(at(0, 9), at(0, 10)), (at(0, 11), at(0, 13)), (at(0, 14), at(0, 15)), (at(2, 9), at(2, 11))]


def test_visits_are_spread_over_the_week_or_the_month():
    from api.services import respite
    from sql.respite import EntitlementRow

    assert respite.spread(3, 7) == [0, 2, 4] and respite.spread(7, 7) == list(range(7)) and respite.spread(5, 7)[0] == 0
    monday = next_monday()
    weekly = EntitlementRow(
        id=1, household_id=1, head_name="", kind="visits", amount=3, period="week", basis="care_level",
        visit_minutes=60, starts=dt.time(9), valid_from=monday, valid_until=monday + dt.timedelta(days=9),
        status="active", created_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    days = respite.visit_days(weekly, monday, monday + dt.timedelta(days=13))
    # Mon, Wed, Fri of the first week; Mon and Wed of the second, where the entitlement ends.
    assert [(d - monday).days for d in days] == [0, 2, 4, 7, 9]
    assert respite.parse_rule("2:3,3:3,4:5") == {2: 3, 3: 3, 4: 5}


async def test_the_care_level_rule_is_a_setting_passed_in(conn):
    from api.services import respite
    from tests.factories_tendering import create_household

    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    await conn.execute("UPDATE households SET care_level = 4 WHERE id = $1", household)
    form = respite.EntitlementCreate(
        household_id=household, kind="care_level", valid_from=next_monday(), valid_until=next_monday()
    )
    assert (await respite.record_entitlement(conn, committee, form)).amount == 5  # the default rule
    custom = await respite.record_entitlement(conn, committee, form, rule=respite.parse_rule("4:2"))
    assert (custom.amount, custom.period, custom.basis) == (2, "week", "care_level")
    with pytest.raises(Invalid) as refused:
        await respite.record_entitlement(conn, committee, form, rule=respite.parse_rule("5:7"))
    assert "kind" in refused.value.fields


async def test_respite_carers_may_be_required_to_hold_a_skill_instead_of_a_certificate(conn):
    from api.services import respite
    from tests.factories_rosters import create_entitlement, create_request
    from tests.factories_tendering import create_household

    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    await create_request(conn, await create_entitlement(conn, household), at(1, 9))
    skilled = await volunteer_identity(conn, skills=["elderly_care"], **NEAR)
    certified = await volunteer_identity(conn, **NEAR)
    await add_certificate(conn, certified.volunteer_id)
    await consent(conn, skilled.volunteer_id, certified.volunteer_id)
    done = await respite.schedule(
        conn, QueueSpy(), committee, respite.ScheduleWeek(week_starts=next_monday()), certificate="skill:elderly_care"
    )
    assert done.scheduled == 1
    await solve_now(conn, done.run)
    (proposal,) = (await rosters.get_run(conn, committee, done.run.id)).proposals
    assert proposal.volunteer_id == skilled.volunteer_id and proposal.reasons["skills"] == ["elderly_care"]
