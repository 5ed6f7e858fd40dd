"""Home-visit day plans: a home-care contract's day planned through the optimiser-run pipeline, the planner's board,
the carer's own stops (addresses only for the carer serving the household, each view logged), check-in, the one
calendar (no double-booking) and the sick-call re-plan."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest

from api.services import visits
from api.services.errors import Conflict, NotFound
from api.services.types import SHANGHAI
from sql import visits as visits_sql
from tests import factories
from tests import factories_teams as ft
from tests import factories_visit_plans as fv
from tests.worker_kit import JobQueueSpy

ADDRESS = "开鲁路793弄17号302室"


async def _day(conn):
    """A contract with four households (one bathed by two carers, one with a medication visit after its care visit)
    and four carers, two of them nurses."""
    contract = await fv.create_contract(conn)
    homes = [
        await fv.add_household(conn, contract, at=(31.2800, 121.5200), address=ADDRESS),
        await fv.add_household(conn, contract, at=(31.2830, 121.5230), care_level=3, slots=("mon-am", "tue-am",
                               "wed-am", "thu-am", "fri-am", "sat-am", "sun-am")),
        await fv.add_household(conn, contract, at=(31.2770, 121.5260), care_level=5),
        await fv.add_household(conn, contract, at=(31.2850, 121.5180), care_level=4),
    ]  # fmt: skip
    carers = [
        await fv.add_carer(conn, contract, at=(31.2810, 121.5210)),
        await fv.add_carer(conn, contract, at=(31.2790, 121.5220)),
        await fv.add_carer(conn, contract, at=(31.2820, 121.5190), abilities=("elderly_carer", "nurse")),
        await fv.add_carer(conn, contract, at=(31.2800, 121.5240), abilities=("nurse",)),
    ]
    return contract, homes, carers


async def _live(conn, day: dt.date):
    return await conn.fetch(
        "SELECT pv.id, pv.visit_key, pv.household_id, pv.carer_id, pv.volunteer_id, lower(pv.during) AS starts_at,"
        " upper(pv.during) AS ends_at, pv.status FROM planned_visits pv JOIN visit_days d ON d.id = pv.visit_day_id"
        " WHERE d.day = $1 AND pv.status <> 'released' ORDER BY pv.carer_id, lower(pv.during)",
        day,
    )


async def test_a_day_is_planned_through_the_pipeline_into_visits_held_in_each_carers_calendar(conn, redis):
    contract, homes, carers = await _day(conn)
    day = fv.tomorrow()
    queue = JobQueueSpy(redis)
    run_id = await fv.plan_here(conn, queue, contract.organisation(), contract.contract_id, day)
    assert [c[0] for c in queue.calls] == ["run_visits"]
    run = await conn.fetchrow("SELECT status, model, subject_type, result::text FROM match_runs WHERE id = $1", run_id)
    assert (run["status"], run["model"], run["subject_type"]) == ("succeeded", "visits", "visit_day")
    rows = await _live(conn, day)
    keys = {r["visit_key"] for r in rows}
    # One care visit each; care level 5 is bathed by two carers at once (one a nurse); care level 4 gets a nurse's
    # medication visit within an hour after its care visit.
    assert keys == {f"{homes[0]}:care", f"{homes[1]}:care", f"{homes[2]}:bath1", f"{homes[2]}:bath2",
                    f"{homes[3]}:care", f"{homes[3]}:medication"}  # fmt: skip
    by_key = {r["visit_key"]: r for r in rows}
    bath1, bath2 = by_key[f"{homes[2]}:bath1"], by_key[f"{homes[2]}:bath2"]
    assert bath1["starts_at"] == bath2["starts_at"] and bath1["carer_id"] != bath2["carer_id"]
    nurses = {carers[2][0], carers[3][0]}
    assert bath2["carer_id"] in nurses
    care, medication = by_key[f"{homes[3]}:care"], by_key[f"{homes[3]}:medication"]
    assert care["ends_at"] <= medication["starts_at"] <= care["ends_at"] + dt.timedelta(minutes=60)
    assert medication["carer_id"] in nurses and medication["carer_id"] != care["carer_id"]
    # The morning-only household starts in its window (08:00–11:00 Shanghai).
    morning = by_key[f"{homes[1]}:care"]["starts_at"].astimezone(SHANGHAI)
    assert dt.time(8, 0) <= morning.time() <= dt.time(11, 0)
    # Every visit is a commitment of its carer: one calendar, no double-booking.
    held = await conn.fetchval(
        "SELECT count(*) FROM commitments c JOIN planned_visits pv ON pv.id = c.planned_visit_id"
        " WHERE c.kind = 'care_visit' AND c.status = 'active' AND c.volunteer_id = pv.volunteer_id"
    )
    assert held == len(rows)
    # The same inputs again: the same run (the plan just written is not a new problem).
    again = await visits.start_plan(conn, queue, contract.organisation(), contract.contract_id,
                                    visits.PlanDay(day=day), fv.SPEEDS)  # fmt: skip
    assert again.id == run_id


async def test_the_board_shows_each_carers_route_masked_and_another_organisation_sees_nothing(conn, redis):
    contract, _, _ = await _day(conn)
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    board = await visits.board(conn, contract.organisation(), contract.contract_id, day)
    stops = [s for r in board.routes for s in r.stops]
    assert len(stops) == 6 and board.latest_run is not None and board.latest_run.status == "succeeded"
    assert ADDRESS not in str(board) and stops[0].household.masked_address
    for route in board.routes:
        assert [s.starts_at for s in route.stops] == sorted(s.starts_at for s in route.stops)
    other = await fv.create_contract(conn)
    with pytest.raises(NotFound):
        await visits.board(conn, other.organisation(), contract.contract_id, day)
    with pytest.raises(NotFound):
        await visits.start_plan(conn, JobQueueSpy(redis), other.organisation(), contract.contract_id,
                                visits.PlanDay(day=day), fv.SPEEDS)  # fmt: skip
    with pytest.raises(NotFound):
        await visits.get_run(conn, other.organisation(), board.latest_run.id)


async def test_a_carer_sees_only_their_own_stops_and_the_address_is_a_logged_household_view(conn, redis):
    contract, homes, carers = await _day(conn)
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    rows = await _live(conn, day)
    first = next(r for r in rows if r["household_id"] == homes[0])
    owner = next(c for c in carers if c[0] == first["carer_id"])
    who = await factories.identity_of(conn, owner[2])
    # At the visit's time: its address opens 24 hours before it and closes 2 hours after it.
    mine = await visits.my_day(conn, who, day, daily_cap=5, now=first["starts_at"])
    assert {s.id for s in mine.stops} == {r["id"] for r in rows if r["carer_id"] == owner[0]}
    stop = next(s for s in mine.stops if s.household.id == homes[0])
    assert stop.address == ADDRESS and stop.navigation is not None
    assert stop.navigation.amap.startswith("https://uri.amap.com/marker?position=121.")
    logged = await conn.fetchval(
        "SELECT detail->>'basis' FROM audit_log WHERE action = 'household.viewed' AND object_id = $1"
        " AND actor_account_id = $2",
        str(homes[0]),
        owner[2],
    )
    assert logged == "visit"
    # Another carer of the day does not see that stop, and cannot check in at it.
    other = next(c for c in carers if c[0] not in {r["carer_id"] for r in rows if r["household_id"] == homes[0]})
    other_who = await factories.identity_of(conn, other[2])
    theirs = await visits.my_day(conn, other_who, day, daily_cap=5, now=first["starts_at"])
    assert homes[0] not in {s.household.id for s in theirs.stops}
    with pytest.raises(NotFound):
        await visits.check_in(conn, other_who, first["id"], now=first["starts_at"])
    done = await visits.check_in(conn, who, first["id"], now=first["starts_at"])
    assert done.status == "checked_in"
    with pytest.raises(Conflict):
        await visits.check_in(conn, who, first["id"], now=first["starts_at"])


async def test_a_carer_committed_elsewhere_is_left_out_and_the_database_refuses_a_double_booking(conn, redis):
    contract = await fv.create_contract(conn)
    home = await fv.add_household(conn, contract)
    busy, _, _ = await fv.add_carer(conn, contract)
    free, _, _ = await fv.add_carer(conn, contract)
    day = fv.tomorrow()
    volunteer = await conn.fetchval("SELECT volunteer_id FROM carers WHERE id = $1", busy)
    # A 311 team visit at 10:00 that day holds the busy carer's time.
    team = await ft.create_team(conn, home, contract.organisation_id, contract.contract_id)
    await conn.execute("INSERT INTO team_members (team_id, volunteer_id) VALUES ($1, $2)", team, volunteer)
    ten = dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)
    await conn.execute("INSERT INTO team_visits (team_id, at, status) VALUES ($1, $2, 'planned')", team, ten)
    run_id = await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    rows = await _live(conn, day)
    assert [r["carer_id"] for r in rows] == [free]
    result = await conn.fetchval("SELECT result->'busy_carers' FROM match_runs WHERE id = $1", run_id)
    assert str(busy) in result
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE day = $1", day)
    # A visit key no live visit holds, so that only the one calendar's exclusion can refuse the row.
    with pytest.raises(asyncpg.ExclusionViolationError):
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO planned_visits (visit_day_id, run_id, household_id, carer_id, volunteer_id, visit_key,"
                " service, seq, during, arrives_at) VALUES ($1, $2, $3, $4, $5, '999999:care', 'care', 1,"
                " tstzrange($6::timestamptz, $6::timestamptz + interval '1 hour'), $6)",
                day_id, run_id, home, busy, volunteer, ten + dt.timedelta(minutes=30),
            )  # fmt: skip


async def test_a_sick_call_replans_the_day_without_the_carer_keeping_what_is_checked_in(conn, redis):
    contract, _, carers = await _day(conn)
    day = fv.tomorrow()
    first_run = await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    rows = await _live(conn, day)
    done = rows[0]
    who = await factories.identity_of(conn, next(c for c in carers if c[0] == done["carer_id"])[2])
    await visits.check_in(conn, who, done["id"], now=done["starts_at"])
    sick = next(c[0] for c in carers if c[0] != done["carer_id"] and any(r["carer_id"] == c[0] for r in rows))
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE day = $1", day)
    call = dt.datetime.combine(day, dt.time(9, 0), tzinfo=SHANGHAI)
    run = await visits.call_in_sick(conn, JobQueueSpy(redis), contract.organisation(), day_id,
                                    visits.AbsenceCreate(carer_id=sick), now=call)  # fmt: skip
    assert run.id != first_run
    await fv.solve_run_here(conn, run.id)
    after = await _live(conn, day)
    assert sick not in {r["carer_id"] for r in after}
    kept = next(r for r in after if r["visit_key"] == done["visit_key"])
    assert (kept["id"], kept["status"], kept["carer_id"]) == (done["id"], "checked_in", done["carer_id"])
    assert {r["visit_key"] for r in after} == {r["visit_key"] for r in rows}
    assert all(r["starts_at"] >= call for r in after if r["id"] != done["id"] and r["visit_key"] != done["visit_key"])
    # The released visits left the carers' calendars; the new ones are in them.
    active = await conn.fetchval(
        "SELECT count(*) FROM commitments c JOIN planned_visits pv ON pv.id = c.planned_visit_id"
        " WHERE c.status = 'active' AND pv.visit_day_id = $1",
        day_id,
    )
    assert active == len(after)
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'carer.absent'") == 1
    # The carers with new stops and the households' committee are told; the first plan told nobody.
    told = await conn.fetch(
        "SELECT account_id, kind, params->>'household' AS household FROM notifications"
        " WHERE kind IN ('visits_changed', 'visit_moved')"
    )
    accounts = {c[0]: c[2] for c in carers}
    changed = {(r["visit_key"], r["carer_id"], r["starts_at"]) for r in after} - {
        (r["visit_key"], r["carer_id"], r["starts_at"]) for r in rows
    }
    assert {r["account_id"] for r in told if r["kind"] == "visits_changed"} == {accounts[c] for _, c, _ in changed}
    assert accounts[sick] not in {r["account_id"] for r in told}
    moved = [r for r in told if r["kind"] == "visit_moved"]
    assert moved and {r["account_id"] for r in moved} == {contract.committee_account}
    assert all("**" in r["household"] and ADDRESS not in r["household"] for r in moved)
    with pytest.raises(Conflict):
        await visits.call_in_sick(conn, JobQueueSpy(redis), contract.organisation(), day_id,
                                  visits.AbsenceCreate(carer_id=sick), now=call)  # fmt: skip


async def test_the_carer_from_last_time_is_preferred_and_the_board_shows_whether_kept(conn, redis):
    contract, _, carers = await _day(conn)
    org, queue = contract.organisation(), JobQueueSpy(redis)
    day1 = fv.tomorrow()
    day2 = day1 + dt.timedelta(days=1)
    await fv.plan_here(conn, queue, org, contract.contract_id, day1)
    first = {r["visit_key"]: r for r in await _live(conn, day1)}
    done = next(iter(first.values()))
    who = await factories.identity_of(conn, next(c for c in carers if c[0] == done["carer_id"])[2])
    await visits.check_in(conn, who, done["id"], now=done["starts_at"])
    await fv.plan_here(conn, queue, org, contract.contract_id, day2)
    day2_id = await conn.fetchval("SELECT id FROM visit_days WHERE day = $1", day2)
    inputs = await visits.load_inputs(conn, await visits_sql.get_day(conn, day2_id))
    assert inputs.problem.problem.continuity_weight == fv.SPEEDS.continuity_weight
    assert {str(v.id): v.preferred for v in inputs.problem.problem.visits} == {
        k: r["carer_id"] for k, r in first.items()
    }
    # The board says who it was last time and whether the plan kept them, and how many kept theirs.
    board = await visits.board(conn, org, contract.contract_id, day2)
    names = {r.carer_id: r.carer_name for r in board.routes}
    stops = {s.id: (s, r.carer_id) for r in board.routes for s in r.stops}
    second = await _live(conn, day2)
    for row in second:
        stop, carer_id = stops[row["id"]]
        assert stop.preferred == names.get(first[row["visit_key"]]["carer_id"], stop.preferred)
        assert stop.preferred is not None
        assert stop.same_carer == (carer_id == first[row["visit_key"]]["carer_id"])
    assert board.continuity_total == 6
    assert board.continuity_kept == sum(1 for r in second if r["carer_id"] == first[r["visit_key"]]["carer_id"])
    # Who checked in counts before who was planned later: day 2's visit moved to a carer with nothing else that day.
    other, _, _ = await fv.add_carer(conn, contract, abilities=())
    volunteer = await conn.fetchval("SELECT volunteer_id FROM carers WHERE id = $1", other)
    await conn.execute(
        "UPDATE planned_visits SET carer_id = $3, volunteer_id = $4 WHERE visit_day_id = $1 AND visit_key = $2"
        " AND status <> 'released'",
        day2_id, done["visit_key"], other, volunteer,
    )  # fmt: skip
    day3 = day2 + dt.timedelta(days=1)
    day3_id = await visits_sql.upsert_day(conn, contract.contract_id, day3, 1.3, 15.0, 4.5, 30.0)
    statements: list[str] = []

    def logged(record) -> None:
        statements.append(record.query)

    conn.add_query_logger(logged)
    try:
        later = await visits.load_inputs(conn, await visits_sql.get_day(conn, day3_id))
    finally:
        conn.remove_query_logger(logged)
    preferred = {str(v.id): v.preferred for v in later.problem.problem.visits}
    latest = {r["visit_key"]: r["carer_id"] for r in await _live(conn, day2)}
    assert preferred == {**latest, done["visit_key"]: done["carer_id"]}
    # One statement reads every visit's carer from last time, whatever the number of households.
    assert sum(1 for q in statements if "DISTINCT ON (pv.visit_key)" in q) == 1


async def test_the_last_carers_are_read_through_indexes(conn):
    await conn.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(
        r[0] for r in await conn.fetch("EXPLAIN " + visits_sql.SELECT_LAST_CARERS, 1, dt.date(2026, 1, 2),
                                       dt.date(2025, 10, 1))
    )  # fmt: skip
    # Both tables through an index, nothing scanned whole. (Which index reads the days is the planner's choice: on
    # the near-empty tables of a test run the primary key with a filter costs the same as (contract_id, day), and a
    # fresh-clone run chose it.)
    assert "Seq Scan" not in plan
    assert re.search(r"Index (Only )?Scan using \w+ on visit_days", plan), plan
    assert re.search(r"Index (Only )?Scan using \w+ on planned_visits", plan), plan
