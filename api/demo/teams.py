"""Demo data for 311 quasi-families: org.leling runs a 311 project for the empty-nest households nearest
开鲁四村, with live teams of three (one trained) formed six weeks ago, weekly visits recorded since, and the next
four weeks planned; volunteer.demo is in one of the teams. Deterministic per seed; a fraction of a second."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid

import asyncpg
import msgspec

from api.demo.verification import verify_certificates
from api.services import teams as teams_service
from api.services.types import SHANGHAI
from matching import teams as teams_model
from sql import areas as areas_sql
from sql import demo as demo_sql
from sql import demo_market as market_sql
from sql import demo_volunteering as volunteering_sql
from sql import teams as teams_sql

HOUSEHOLDS = 36
CARERS = 150
TRAINED_SHARE = 0.35
WEEKS_RUNNING = 6

# Windows that overlap often enough for three neighbours to share a slot, as real weekly habits do.
WINDOWS = (
    ((1, "08:30", "12:00"), (3, "08:30", "12:00")),
    ((1, "08:30", "12:00"), (4, "13:30", "17:00")),
    ((2, "13:30", "17:00"), (4, "13:30", "17:00")),
    ((3, "08:30", "12:00"), (5, "13:30", "17:00")),
    ((2, "13:30", "17:00"), (6, "08:30", "12:00")),
    ((5, "13:30", "17:00"), (6, "08:30", "12:00")),
)


class TeamsSeedReport(msgspec.Struct, frozen=True):
    """What the 311 demo wrote."""

    contract_id: int
    households: int
    teams: int
    members: int
    visits_done: int
    visits_planned: int


class DemoParties(msgspec.Struct, frozen=True):
    """Who runs, funds and hosts the 311 project."""

    organisation_id: int
    funder_id: int
    funder_account: int
    committee_id: int
    committee_account: int
    volunteer_id: int | None
    item_id: int


async def demo_parties(conn: asyncpg.Connection, item_code: str = "companionship_311") -> DemoParties:
    """org.leling, funder.yinhang, committee.kailu4 and volunteer.demo, and the project's catalogue item."""
    logins = await demo_sql.logins(conn, ["org.leling", "funder.yinhang", "committee.kailu4", "volunteer.demo"])
    org, funder, committee = logins.get("org.leling"), logins.get("funder.yinhang"), logins.get("committee.kailu4")
    item = await areas_sql.get_catalogue_item(conn, item_code)
    if org is None or org.organisation_id is None or committee is None or committee.committee_id is None:
        raise RuntimeError("seed the demo district (api.demo) before the 311 teams")
    if funder is None or funder.funder_id is None or item is None:
        raise RuntimeError("seed the demo district (api.demo) before the 311 teams")
    volunteer = logins.get("volunteer.demo")
    return DemoParties(
        organisation_id=org.organisation_id,
        funder_id=funder.funder_id,
        funder_account=funder.account_id,
        committee_id=committee.committee_id,
        committee_account=committee.account_id,
        volunteer_id=volunteer.volunteer_id if volunteer is not None else None,
        item_id=item.id,
    )


async def seed_teams(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> TeamsSeedReport:
    """Write org.leling's running 311 project with teams and recorded visits (needs the base demo seed first)."""
    demo = await demo_parties(conn)
    now = dt.datetime.combine(today, dt.time(20, 0), tzinfo=SHANGHAI)
    signed = now - dt.timedelta(days=60)
    households = await volunteering_sql.nearest_empty_nests(conn, demo.committee_id, HOUSEHOLDS)
    contract_id, lot_id = await contract_for(conn, rng, demo, signed, THREE_ONE_ONE)
    await name_on_needs(
        conn, demo, lot_id, [(h.committee_id, h.id) for h in households], "空巢老人311类家庭结对陪伴",
        "独居或空巢老人需要每周探访、电话问候和生活照料。",
        (today - dt.timedelta(days=70), today + dt.timedelta(days=300)),
    )  # fmt: skip
    household_ids = [h.id for h in households]
    carers = await volunteering_sql.carers_within(conn, household_ids, teams_service.WALKING_KM, CARERS)
    if demo.volunteer_id is not None and demo.volunteer_id not in carers:
        carers.append(demo.volunteer_id)
    windows: list[tuple[int, int, dt.time, dt.time]] = []
    certificates: list[tuple[int, str, str, dt.date | None, dt.date | None]] = []
    for v in carers:
        for weekday, starts, ends in rng.choice(WINDOWS):
            windows.append((v, weekday, dt.time.fromisoformat(starts), dt.time.fromisoformat(ends)))
        if rng.random() < TRAINED_SHARE or v == demo.volunteer_id:
            number = f"YLHL{rng.randrange(10**8):08d}"
            issued, expires = today - dt.timedelta(days=400), today + dt.timedelta(days=1000)
            certificates.append((v, "elderly_carer", number, issued, expires))
    await demo_sql.add_windows(conn, windows)
    await demo_sql.add_certificates(conn, certificates)
    # The residents' committee checked the trained carers' certificates when the project recruited them (a carer
    # without an account showed it at the office): only a verified certificate makes a carer trained.
    await verify_certificates(
        conn, certificates, verifier_account_id=demo.committee_account, committee_id=demo.committee_id
    )

    project = await teams_sql.get_project_by_id(conn, contract_id)
    assert project is not None
    inputs = await teams_service.load_inputs(conn, project)
    plan = _plan(inputs.problem, demo.volunteer_id)
    formed = now - dt.timedelta(weeks=WEEKS_RUNNING)
    await teams_service.apply_plan(conn, inputs, plan, None, now=now)
    await volunteering_sql.backdate_teams(conn, contract_id, formed)
    done = await _history(conn, rng, contract_id, formed, now, carers)
    return TeamsSeedReport(
        contract_id=contract_id,
        households=len(household_ids),
        teams=len(plan),
        members=sum(len(t.carers) for t in plan),
        visits_done=done,
        visits_planned=await volunteering_sql.count_planned_visits(conn, contract_id),
    )


async def name_on_needs(
    conn: asyncpg.Connection, demo: DemoParties, lot_id: int, households: list[tuple[int, int]], title: str,
    description: str, period: tuple[dt.date, dt.date],
) -> None:  # fmt: skip
    """A funded need of the project's item per committee of the (committee, household) pairs, naming its households,
    covered by the lot."""
    by_committee: dict[int, list[int]] = {}
    for committee_id, household_id in households:
        by_committee.setdefault(committee_id, []).append(household_id)
    for committee_id, ids in sorted(by_committee.items()):
        need_id = await market_sql.insert_funded_need(
            conn,
            market_sql.FundedNeed(
                committee_id=committee_id, catalogue_item_id=demo.item_id, title=title, description=description,
                beneficiaries=len(ids), starts_on=period[0], ends_on=period[1], created_by=demo.committee_account,
            ),
        )  # fmt: skip
        await market_sql.link_needs(conn, lot_id, [need_id])
        await market_sql.name_households(conn, need_id, ids)


class ContractTexts(msgspec.Struct, frozen=True):
    """What a demo contract's tender, lot and bid say (the 311 project's by default)."""

    tender: str = "开鲁新村空巢老人311类家庭结对服务项目（一期）"
    description: str = "为开鲁新村及周边空巢老人家庭组建“一户三人”的311类家庭，每月探访不少于4小时、情感联系不少于2次。"
    lot: str = "311类家庭结对（36户）"
    deliverables: str = "36户空巢老人家庭结对"
    plan: str = "社工带领志愿者组建311类家庭，每户三人，每周探访。"
    key: str = "311"


THREE_ONE_ONE = ContractTexts()


async def contract_for(
    conn: asyncpg.Connection, rng: random.Random, demo: DemoParties, signed: dt.datetime, texts: ContractTexts
) -> tuple[int, int]:
    """The tender, lot, bid, award and signed contract of a demo project; (contract, lot)."""
    opened = signed - dt.timedelta(days=90)
    tender_id = await market_sql.insert_tender(
        conn,
        market_sql.Tender(
            funder_id=demo.funder_id, catalogue_item_id=demo.item_id,
            title=texts.tender, description=texts.description,
            status="contracting", bids_open_at=opened, bids_close_at=opened + dt.timedelta(days=30), min_rating=None,
            min_years_registered=0, price_weight_pct=30, criteria="[]", max_lots_per_bidder=None,
            notice_starts_at=opened + dt.timedelta(days=45), notice_ends_at=opened + dt.timedelta(days=60),
            created_by=demo.funder_account, created_at=opened,
        ),
    )  # fmt: skip
    price = 36_000_000
    lot_id = await market_sql.insert_lot(
        conn,
        market_sql.Lot(
            tender_id=tender_id, number=1, title=texts.lot, budget_fen=40_000_000, staff_hours=2400,
            deliverables=texts.deliverables, contract_months=12, status="awarded",
        ),
    )  # fmt: skip
    receipt = hashlib.sha256(f"{texts.key}:{lot_id}:{demo.organisation_id}".encode()).hexdigest()
    public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    bid_id = await market_sql.insert_bid(
        conn,
        market_sql.Bid(
            lot_id=lot_id, organisation_id=demo.organisation_id, price_fen=price, hours=2200,
            plan=texts.plan, team="", receipt=receipt,
            submitted_at=opened + dt.timedelta(days=20), public_id=public_id,
        ),
    )  # fmt: skip
    decided = opened + dt.timedelta(days=40)
    run_id = await market_sql.insert_award_run(
        conn,
        market_sql.AwardRun(
            tender_id=tender_id, progress="[]", objective=86, result="{}", created_by=None, started_at=decided,
            finished_at=decided, inputs_digest=None,
        ),
    )  # fmt: skip
    award_id = await market_sql.insert_award(
        conn,
        market_sql.Award(
            lot_id=lot_id, bid_id=bid_id, run_id=run_id, organisation_id=demo.organisation_id, price_fen=price,
            score=86, reasons="{}", status="final", created_at=decided,
        ),
    )  # fmt: skip
    starts = signed.date() + dt.timedelta(days=7)
    contract_id = await market_sql.insert_contract(
        conn,
        market_sql.Contract(
            award_id=award_id, funder_id=demo.funder_id, organisation_id=demo.organisation_id, amount_fen=price,
            sign_by=signed.date(), signed_at=signed, starts_on=starts, ends_on=starts + dt.timedelta(days=364),
            status="active",
        ),
    )  # fmt: skip
    return contract_id, lot_id


def _plan(problem: teams_model.TeamsProblem, demo_volunteer: int | None) -> list[teams_model.Team]:
    """Teams by the model's own greedy start (deterministic, instant at this size), volunteer.demo in one of them;
    the model's checker holds them (slots included: nobody visits two households at once)."""
    data = teams_model.TeamsData(problem)
    plan = teams_model.greedy(data)
    carer_ids = [int(c.id) for c in problem.carers]
    demo = carer_ids.index(demo_volunteer) if demo_volunteer in carer_ids else None
    if demo is not None and not any(demo in members for members, _ in plan.values()):
        for h, (members, _) in sorted(plan.items()):
            # The slots the others' other teams take stay taken; this team's own slot is free to change.
            _, taken = teams_model.plan_load(data, {k: team for k, team in plan.items() if k != h})
            for k in range(len(members)):
                # Swap one member for volunteer.demo where the others and the demo still make a valid team.
                others = tuple(c for i, c in enumerate(members) if i != k)
                best = data.best_team(h, None, (*others, demo), 0, taken)
                if best is not None:
                    plan[h] = (best[1], best[2])
                    break
            if demo in plan[h][0]:
                break
    teams = teams_model.explain(data, plan)
    errors = teams_model.check(problem, teams)
    if errors:
        raise RuntimeError(f"the demo's teams break the model's rules: {errors[0]}")
    return teams


async def _history(
    conn: asyncpg.Connection, rng: random.Random, contract_id: int, formed: dt.datetime, now: dt.datetime,
    carers: list[int],
) -> int:  # fmt: skip
    """Weekly visits since the team formed (most done, some missed), phone calls between, one past refusal."""
    rows: list[tuple[object, ...]] = []
    live = await teams_sql.live_teams(conn, contract_id)
    for team in live:
        if not team.members:
            continue
        # Some teams keep up well, some fall short this month: the pages show both.
        keen = rng.random() < 0.7
        for at in teams_service.visit_times(team.slot, formed, WEEKS_RUNNING + 1):
            if at >= now:
                break
            missed = rng.random() < (0.1 if keen else 0.45)
            who = rng.choice(team.members)
            if missed:
                rows.append((team.id, at, "cancelled", None, None, None, None))
                continue
            minutes = rng.choice((60, 75, 90, 120))
            rows.append((team.id, at, "done", minutes, "home_visit", who, at + dt.timedelta(minutes=minutes)))
            if rng.random() < (0.6 if keen else 0.2):
                call = at + dt.timedelta(days=3, hours=rng.randrange(1, 5))
                if call < now:
                    rows.append((team.id, call, "done", rng.choice((15, 20, 30)), "phone", who, call))
    await volunteering_sql.record_past_visits(conn, rows)
    if live:
        first = live[0]
        refused = next((c for c in carers if c not in first.members), None)
        if refused is not None:
            until = formed + dt.timedelta(days=10)
            await volunteering_sql.record_refusal(conn, first.id, first.household_id, refused, formed, until)
    return sum(1 for r in rows if r[2] == "done")
