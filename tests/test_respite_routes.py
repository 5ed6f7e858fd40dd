"""A committee plans a day of its respite visits as its carers' routes (issue 14, step 3): its respite roster of
certified volunteers who accepted, the day's requests planned through the visits pipeline into each carer's calendar
and phone page, and the refusals (no certificate, another committee, a day scheduled as shifts or the other way)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import calendar, carers, respite, respite_days, visits
from api.services.accounts import Identity
from api.services.carers import CarerCreate
from api.services.errors import Conflict, Invalid, NotFound
from api.services.types import SHANGHAI
from tests import factories
from tests import factories_rosters as fr
from tests import factories_teams as ft
from tests import factories_visit_plans as fv
from tests.worker_kit import JobQueueSpy

ADDRESS = "长阳路1467弄5号201室"


async def _committee(conn: asyncpg.Connection) -> Identity:
    return await factories.identity_of(conn, await factories.create_account(conn, "committee"))


async def _household(conn: asyncpg.Connection, who: Identity, at: tuple[float, float], address: str = "") -> int:
    n = factories.next_n()
    return int(
        await conn.fetchval(
            "INSERT INTO households (committee_id, head_name, address, lat, lon, care_level, consent_recorded_at)"
            " VALUES ($1, $2, $3, $4, $5, 3, now()) RETURNING id",
            who.committee_id,
            f"张{n}",
            address or f"长阳路{1000 + n}弄{n % 40 + 1}号",
            at[0],
            at[1],
        )
    )


async def _request(conn: asyncpg.Connection, household_id: int, day: dt.date, at: str, minutes: int = 60) -> int:
    entitlement = await fr.create_entitlement(conn, household_id, visit_minutes=minutes)
    return await fr.create_request(
        conn, entitlement, dt.datetime.combine(day, dt.time.fromisoformat(at), tzinfo=SHANGHAI)
    )


async def join_roster(
    conn: asyncpg.Connection, who: Identity, at: tuple[float, float], *, trained: bool = True
) -> tuple[int, Identity]:
    """A volunteer (with a verified elderly-carer certificate unless told) put on the committee's respite roster,
    who accepts; (carer, the volunteer's identity)."""
    volunteer = await ft.create_carer(conn, at=at, trained=trained)
    form = CarerCreate(
        username=await factories.username_of(conn, volunteer[1]), name=f"志愿护理员{factories.next_n()}",
        lat=at[0], lon=at[1], work_days=[1, 2, 3, 4, 5, 6, 7], work_starts="08:00", work_ends="17:00",
    )  # fmt: skip
    row = await carers.add_carer(conn, who, form)
    volunteer_who = await ft.volunteer_identity(conn, volunteer)
    await carers.join(conn, volunteer_who, row.id)
    return row.id, volunteer_who


async def respite_day(conn: asyncpg.Connection) -> tuple[Identity, list[int], list[tuple[int, Identity]], dt.date]:
    """A committee with three households asking for respite tomorrow (09:00, 09:00, 10:00) and two certified
    volunteers on its respite roster."""
    who = await _committee(conn)
    day = fv.tomorrow()
    homes = [
        await _household(conn, who, (31.2800, 121.5200), ADDRESS),
        await _household(conn, who, (31.2830, 121.5230)),
        await _household(conn, who, (31.2770, 121.5260)),
    ]
    for home, at in zip(homes, ("09:00", "09:00", "10:00"), strict=True):
        await _request(conn, home, day, at)
    roster = [await join_roster(conn, who, (31.2810, 121.5210)), await join_roster(conn, who, (31.2790, 121.5230))]
    return who, homes, roster, day


async def plan_here(conn: asyncpg.Connection, redis: object, who: Identity, day: dt.date) -> int:
    """The committee starts the day's plan, then what the worker does, in the test's transaction; the run."""
    run = await respite_days.start_plan(conn, JobQueueSpy(redis), who, visits.PlanDay(day=day), fv.SPEEDS)
    return await fv.solve_run_here(conn, run.id)


async def test_a_committee_plans_its_respite_day_as_routes_into_its_carers_calendars_and_phones(conn, redis):
    who, homes, roster, day = await respite_day(conn)
    run_id = await plan_here(conn, redis, who, day)
    run = await conn.fetchrow("SELECT status, model, subject_type FROM match_runs WHERE id = $1", run_id)
    assert tuple(run) == ("succeeded", "visits", "visit_day")
    rows = await conn.fetch(
        "SELECT pv.id, pv.visit_key, pv.service, pv.household_id, pv.carer_id, lower(pv.during) AS starts_at"
        " FROM planned_visits pv JOIN visit_days d ON d.id = pv.visit_day_id"
        " WHERE d.committee_id = $1 AND d.day = $2 AND pv.status = 'planned' ORDER BY lower(pv.during)",
        who.committee_id,
        day,
    )
    assert {r["visit_key"] for r in rows} == {f"{h}:respite" for h in homes}
    assert {r["service"] for r in rows} == {"respite"} and {r["carer_id"] for r in rows} <= {c for c, _ in roster}
    # Each starts from a quarter of an hour before the time the family was told to half an hour after it.
    wanted = {homes[0]: dt.time(9), homes[1]: dt.time(9), homes[2]: dt.time(10)}
    for r in rows:
        told = dt.datetime.combine(day, wanted[r["household_id"]], tzinfo=SHANGHAI)
        assert -15 * 60 <= (r["starts_at"] - told).total_seconds() <= 30 * 60
    # Each is a commitment in its carer's one calendar; the requests are routed on the day, not left pending.
    held = await conn.fetchval(
        "SELECT count(*) FROM commitments c JOIN planned_visits pv ON pv.id = c.planned_visit_id"
        " WHERE c.status = 'active' AND pv.id = ANY ($1::bigint[])",
        [r["id"] for r in rows],
    )
    assert held == 3
    states = await conn.fetch(
        "SELECT q.status, q.visit_day_id IS NOT NULL AS linked FROM respite_requests q WHERE q.household_id = ANY ($1)",
        homes,
    )
    assert {(s["status"], s["linked"]) for s in states} == {("routed", True)}
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'respite.route'") == 1
    # The committee's board: each carer's route, households masked.
    shown = await respite_days.board(conn, who, day)
    assert sum(len(r.stops) for r in shown.board.routes) == 3 and shown.board.contract is None
    assert (shown.requests.routed, shown.requests.pending, shown.requests.scheduled) == (3, 0, 0)
    assert ADDRESS not in str(shown)
    # The carer's phone: their own stops, the address opened through household_access (logged).
    first = next(r for r in rows if r["household_id"] == homes[0])
    carer_who = next(w for c, w in roster if c == first["carer_id"])
    mine = await visits.my_day(conn, carer_who, day, daily_cap=5, now=first["starts_at"])
    stop = next(s for s in mine.stops if s.id == first["id"])
    assert stop.address == ADDRESS and stop.service == "respite" and stop.navigation is not None
    assert {s.id for s in mine.stops} == {r["id"] for r in rows if r["carer_id"] == first["carer_id"]}
    # In the carer's one calendar, as the committee's visit, the household masked.
    entries = await calendar.my_calendar(conn, carer_who)
    entry = next(e for e in entries if e.starts_at == first["starts_at"])
    assert entry.kind == "care_visit" and entry.publisher_name and ADDRESS not in str(entry)
    assert entry.publisher_name == await conn.fetchval("SELECT name FROM committees WHERE id = $1", who.committee_id)
    # The same inputs again: the same run; the run is the committee's to read.
    again = await respite_days.start_plan(conn, JobQueueSpy(redis), who, visits.PlanDay(day=day), fv.SPEEDS)
    assert again.id == run_id and (await visits.get_run(conn, who, run_id)).id == run_id


async def test_only_a_certified_volunteer_joins_and_another_committee_sees_nothing(conn, redis):
    who, _, roster, day = await respite_day(conn)
    with pytest.raises(Invalid) as refused:
        await join_roster(conn, who, (31.28, 121.52), trained=False)
    assert "username" in (refused.value.fields or {})
    # The requirement is the setting's (LINLI_RESPITE_CERTIFICATE): an elderly carer is no nurse; a skill is no route.
    volunteer = await ft.create_carer(conn, trained=True)
    form = CarerCreate(username=await factories.username_of(conn, volunteer[1]), name="钱护士", lat=31.28, lon=121.52,
                       work_days=[1, 2, 3])  # fmt: skip
    with pytest.raises(Invalid):
        await carers.add_carer(conn, who, form, certificate="nurse")
    with pytest.raises(Conflict):
        await carers.add_carer(conn, who, form, certificate="skill:elderly_care_cert")
    queue = JobQueueSpy(redis)
    with pytest.raises(Conflict) as nobody:
        await respite_days.start_plan(conn, queue, who, visits.PlanDay(day=day), fv.SPEEDS, certificate="nurse")
    assert "carers" in nobody.value.detail
    run_id = await plan_here(conn, redis, who, day)
    other = await _committee(conn)
    with pytest.raises(NotFound):
        await carers.get_carer(conn, other, roster[0][0])
    with pytest.raises(NotFound):
        await visits.get_run(conn, other, run_id)
    assert (await respite_days.board(conn, other, day)).board.routes == []
    assert await carers.roster(conn, other) == []
    organisation = (await fv.create_contract(conn)).organisation()
    with pytest.raises(NotFound):
        await carers.get_carer(conn, organisation, roster[0][0])
    with pytest.raises(NotFound):
        await visits.get_run(conn, organisation, run_id)


async def test_a_day_is_planned_as_shifts_or_as_routes_never_both(conn, redis):
    who, _, _, day = await respite_day(conn)
    queue = JobQueueSpy(redis)
    scheduled = await respite.schedule(conn, queue, who, respite.ScheduleWeek(week_starts=day))
    assert scheduled.scheduled == 3
    with pytest.raises(Conflict) as refused:
        await respite_days.start_plan(conn, queue, who, visits.PlanDay(day=day), fv.SPEEDS)
    assert "shifts" in refused.value.detail
    # The other way round: a committee whose day is routed cannot schedule it as shifts.
    routed, _, _, _ = await respite_day(conn)
    await plan_here(conn, redis, routed, day)
    with pytest.raises(Conflict):
        await respite.schedule(conn, queue, routed, respite.ScheduleWeek(week_starts=day))
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM respite_requests q JOIN households h ON h.id = q.household_id"
            " WHERE h.committee_id = $1 AND q.status = 'scheduled'",
            routed.committee_id,
        )
        == 0
    )
    # A day with no request is refused beside the day.
    with pytest.raises(Conflict):
        await respite_days.start_plan(conn, queue, routed, visits.PlanDay(day=day + dt.timedelta(days=1)), fv.SPEEDS)


async def test_a_committee_calls_its_own_carer_in_sick_on_its_own_respite_day_and_the_day_is_re_planned(conn, redis):
    who, homes, roster, day = await respite_day(conn)
    first_run = await plan_here(conn, redis, who, day)
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE committee_id = $1", who.committee_id)
    live = "SELECT visit_key, carer_id FROM planned_visits WHERE visit_day_id = $1 AND status <> 'released'"
    before = await conn.fetch(live, day_id)
    sick = before[0]["carer_id"]
    queue = JobQueueSpy(redis)
    # Another committee, an organisation: no such day; the committee's own day with another's carer: refused.
    other = await _committee(conn)
    _, _, other_roster, _ = await respite_day(conn)
    organisation = (await fv.create_contract(conn)).organisation()
    for stranger in (other, organisation):
        with pytest.raises(NotFound):
            await visits.call_in_sick(conn, queue, stranger, day_id, visits.AbsenceCreate(carer_id=sick))
    with pytest.raises(Invalid) as refused:
        await visits.call_in_sick(conn, queue, who, day_id, visits.AbsenceCreate(carer_id=other_roster[0][0]))
    assert "carer_id" in (refused.value.fields or {})
    assert await conn.fetchval("SELECT count(*) FROM carer_absences") == 0
    # The committee's own carer: off for the rest of the day, the day re-planned through the same pipeline.
    call = dt.datetime.combine(day, dt.time(7, 0), tzinfo=SHANGHAI)
    run = await visits.call_in_sick(conn, queue, who, day_id, visits.AbsenceCreate(carer_id=sick), now=call)
    assert run.id != first_run and run.subject_id == day_id
    await fv.solve_run_here(conn, run.id)
    after = await conn.fetch(live, day_id)
    assert {r["visit_key"] for r in after} == {f"{h}:respite" for h in homes}
    assert sick not in {r["carer_id"] for r in after} and {r["carer_id"] for r in after} <= {c for c, _ in roster}
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'carer.absent'") == 1
    # The board: the sick carer has no route left and is not counted as free that day.
    shown = await respite_days.board(conn, who, day)
    sick_name = await conn.fetchval("SELECT name FROM carers WHERE id = $1", sick)
    assert sick not in {r.carer_id for r in shown.board.routes} and sick_name not in shown.board.idle
    assert sum(len(r.stops) for r in shown.board.routes) == len(homes)
    with pytest.raises(Conflict):
        await visits.call_in_sick(conn, queue, who, day_id, visits.AbsenceCreate(carer_id=sick), now=call)
