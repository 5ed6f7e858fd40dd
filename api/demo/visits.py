"""Demo home visits: org.leling holds a home-care contract (居家照护上门服务) for the households with a care level
nearest 开鲁四村; eight carers are on its roster (two nurses among them, one on foot), and today and tomorrow are
planned by the visits model, so `linli up` shows a board, each carer's phone route and a plannable day after.
volunteer.demo is a carer too when their calendar leaves them free. Deterministic per seed; a few seconds."""

from __future__ import annotations

import datetime as dt
import random

import asyncpg
import msgspec

from api.demo.teams import ContractTexts, DemoParties, contract_for, demo_parties, name_on_needs
from api.demo.verification import verify_certificates
from api.demo.visit_notes import VisitRecordReport, seed_visit_record
from api.services import runs, visits
from api.services.types import SHANGHAI
from sql import demo as base_sql
from sql import demo_visits as demo_sql
from sql import visits as visits_sql
from sql.visits import CarerFields

HOUSEHOLDS = 16
CARERS = 8
NURSES = 2
WITHIN_KM = 2.0
SEED_TIME_LIMIT_S = 1.0
HOME_CARE = ContractTexts(
    tender="开鲁新村居家照护上门服务项目",
    description="为开鲁新村及周边有护理等级的老人提供生活照料、助浴和用药护理等上门服务。",
    lot="居家照护上门服务（16户）",
    deliverables="16户老人每日上门照护",
    plan="护理员骑电动自行车或步行上门，每日按路线排班，重度护理双人助浴。",
    key="home_care",
)
SPEEDS = visits.TravelSpeeds(detour_factor=1.3, ebike_kmh=15.0, walk_kmh=4.5)


class VisitsSeedReport(msgspec.Struct, frozen=True):
    """What the home-visit demo wrote."""

    contract_id: int
    households: int
    carers: int
    planned_visits: int
    record: VisitRecordReport | None = None


async def seed_visits(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> VisitsSeedReport:
    """Write org.leling's home-care contract, its carers and the plans of today and tomorrow (after the teams)."""
    demo = await demo_parties(conn, "home_care")
    signed = dt.datetime.combine(today, dt.time(10, 0), tzinfo=SHANGHAI) - dt.timedelta(days=30)
    contract_id, lot_id = await contract_for(conn, rng, demo, signed, HOME_CARE)
    households = await demo_sql.care_households(conn, demo.committee_id, HOUSEHOLDS)
    await name_on_needs(
        conn, demo, lot_id, [(h.committee_id, h.id) for h in households], "有护理等级老人居家照护上门服务",
        "老人需要每日生活照料，重度护理需双人助浴，部分需要用药护理。",
        (today - dt.timedelta(days=40), today + dt.timedelta(days=330)),
    )  # fmt: skip
    carers, nurses = await _carers(conn, rng, demo, [h.id for h in households], today)
    organisation = (await base_sql.logins(conn, ["org.leling"]))["org.leling"].account_id
    made = 0
    for day in (today, today + dt.timedelta(days=1)):
        made += await _plan(conn, organisation, contract_id, day)
    # The carers' last days at these homes and the 311 teams' contacts, noted, rated and with incidents (after the
    # plans: each carer's past shifts are at the homes they are planned to visit again).
    record = await seed_visit_record(conn, rng, today, demo, [h.id for h in households], carers, nurses)
    return VisitsSeedReport(
        contract_id=contract_id, households=len(households), carers=len(carers), planned_visits=made, record=record
    )


async def _carers(
    conn: asyncpg.Connection, rng: random.Random, demo: DemoParties, household_ids: list[int], today: dt.date
) -> tuple[list[int], list[int]]:
    """Eight volunteers near the households, free today and tomorrow, with verified certificates, on the roster;
    the roster's volunteers and its nurses."""
    start = dt.datetime.combine(today, dt.time(0, 0), tzinfo=SHANGHAI)
    people = await demo_sql.free_carers(
        conn, household_ids, WITHIN_KM, CARERS, [demo.volunteer_id or 0], start, start + dt.timedelta(days=2)
    )
    certificates: list[tuple[int, str, str, dt.date | None, dt.date | None]] = []
    issued, expires = today - dt.timedelta(days=500), today + dt.timedelta(days=900)
    for k, p in enumerate(people):
        kinds = ("elderly_carer", "nurse") if k < NURSES else ("elderly_carer",)
        for kind in kinds:
            certificates.append((p.id, kind, f"HL{rng.randrange(10**8):08d}", issued, expires))
    # The residents' committee checked them when the organisation hired them: only verified certificates count.
    await base_sql.add_certificates(conn, certificates)
    await verify_certificates(
        conn, certificates, verifier_account_id=demo.committee_account, committee_id=demo.committee_id
    )
    joined = dt.datetime.combine(today, dt.time(9, 0), tzinfo=SHANGHAI) - dt.timedelta(days=20)
    roster = [(p.id, p.display_name, p.lat, p.lon) for p in people]
    if demo.volunteer_id is not None:
        # volunteer.demo (trained in the 311 demo) is a carer too: planned on the days their calendar leaves free.
        me = await demo_sql.volunteer(conn, demo.volunteer_id)
        roster.append((me.id, me.display_name, me.lat, me.lon))
    for k, (volunteer_id, name, lat, lon) in enumerate(roster):
        starts = dt.time(8, 0) if k % 3 else dt.time(8, 30)
        fields = CarerFields(
            name=name, lat=lat, lon=lon, work_days=[1, 2, 3, 4, 5, 6, 7], work_starts=starts,
            work_ends=dt.time(17, 0), travel_mode="walk" if k == CARERS - 1 else "ebike", active=True,
        )  # fmt: skip
        await visits_sql.insert_carer(conn, demo.organisation_id, volunteer_id, fields, joined)
    return [r[0] for r in roster], [p.id for p in people[:NURSES]]


async def _plan(conn: asyncpg.Connection, planner: int, contract_id: int, day: dt.date) -> int:
    """The day's plan through the run pipeline, solved here; how many visits it holds."""
    day_id = await visits_sql.upsert_day(
        conn, contract_id, day, SPEEDS.detour_factor, SPEEDS.ebike_kmh, SPEEDS.walk_kmh, SPEEDS.continuity_weight
    )
    return await solve_day(conn, planner, day_id)


async def solve_day(conn: asyncpg.Connection, planner: int, day_id: int) -> int:
    """A visit day (a contract's or a committee's respite day) planned through the run pipeline, solved here, as the
    worker would; how many visits it holds."""
    run = await runs.open_run(conn, visits.RUNS, day_id, planner)
    inputs = await visits.RUNS.load(conn, day_id)
    result = runs.solve_here(visits.RUNS, inputs.problem, SEED_TIME_LIMIT_S)
    await runs.write_result(conn, visits.RUNS, run.id, inputs, result)
    return len(await visits_sql.day_visits(conn, day_id))
