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

from api.services import teams as teams_service
from api.services.types import SHANGHAI
from matching import teams as teams_model
from sql import teams as teams_sql

HOUSEHOLDS = 36
CARERS = 150
TRAINED_SHARE = 0.35
WEEKS_RUNNING = 6

SELECT_DEMO = """
SELECT (SELECT m.organisation_id FROM memberships m JOIN accounts a ON a.id = m.account_id
        WHERE a.username = 'org.leling') AS organisation_id,
       (SELECT m.funder_id FROM memberships m JOIN accounts a ON a.id = m.account_id
        WHERE a.username = 'funder.yinhang') AS funder_id,
       (SELECT a.id FROM accounts a WHERE a.username = 'funder.yinhang') AS funder_account,
       (SELECT m.committee_id FROM memberships m JOIN accounts a ON a.id = m.account_id
        WHERE a.username = 'committee.kailu4') AS committee_id,
       (SELECT a.id FROM accounts a WHERE a.username = 'committee.kailu4') AS committee_account,
       (SELECT v.id FROM volunteers v JOIN accounts a ON a.id = v.account_id
        WHERE a.username = 'volunteer.demo') AS volunteer_id,
       (SELECT id FROM catalogue_items WHERE code = 'companionship_311') AS item_id
"""
# The empty-nest households nearest the demo committee, not yet served by a 311 team.
SELECT_HOUSEHOLDS = """
SELECT h.id, h.committee_id, h.lat, h.lon
FROM households h, committees c JOIN areas a ON a.id = c.area_id
WHERE c.id = $1 AND h.empty_nest
  AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.household_id = h.id AND t.status = 'live')
ORDER BY earth_distance(ll_to_earth(a.lat, a.lon), ll_to_earth(h.lat, h.lon)), h.id
LIMIT $2
"""
SELECT_CARERS = """
SELECT v.id FROM volunteers v
WHERE v.sensitive_data_consent_at IS NOT NULL AND EXISTS (SELECT 1 FROM households h WHERE h.id = ANY($1::bigint[])
              AND earth_distance(ll_to_earth(h.lat, h.lon), ll_to_earth(v.lat, v.lon)) <= $2 * 1000.0)
ORDER BY v.id LIMIT $3
"""
INSERT_TENDER = """
INSERT INTO tenders (funder_id, catalogue_item_id, title, description, status, bids_open_at, bids_close_at,
                     price_weight_pct, notice_starts_at, notice_ends_at, created_by, created_at)
VALUES ($1, $2, $3, $4, 'contracting', $5, $6, 30, $7, $8, $9, $5) RETURNING id
"""
INSERT_LOT = """
INSERT INTO lots (tender_id, number, title, budget_fen, staff_hours, deliverables, contract_months, status)
VALUES ($1, 1, $2, $3, 2400, $4, 12, 'awarded') RETURNING id
"""
INSERT_BID = """
INSERT INTO bids (lot_id, organisation_id, price_fen, hours, plan, receipt, submitted_at, updated_at, public_id)
VALUES ($1, $2, $3, 2200, $4, $5, $6, $6, $7) RETURNING id
"""
INSERT_AWARD_RUN = """
INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, status, time_limit_s, result, objective,
                        bound, gap, solver_status, attempts, created_at, started_at, finished_at)
VALUES ('award', 'tender', $1, 1, 'succeeded', 10, '{}'::jsonb, 86, 86, 0, 'optimal', 1, $2, $2, $2) RETURNING id
"""
INSERT_AWARD = """
INSERT INTO awards (lot_id, bid_id, run_id, organisation_id, price_fen, score, reasons, status, created_at)
VALUES ($1, $2, $3, $4, $5, 86, '{}'::jsonb, 'final', $6) RETURNING id
"""
INSERT_CONTRACT = """
INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, signed_at, starts_on, ends_on, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active') RETURNING id
"""
INSERT_NEED = """
INSERT INTO needs (committee_id, catalogue_item_id, title, description, beneficiaries, lat, lon, starts_on, ends_on,
                   urgency, status, created_by)
SELECT c.id, $2, $3, $4, $5, a.lat, a.lon, $6, $7, 'normal', 'funded', $8
FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
RETURNING id
"""
INSERT_LOT_NEED = "INSERT INTO lot_needs (lot_id, need_id) VALUES ($1, $2)"
INSERT_NEED_HOUSEHOLD = "INSERT INTO need_households (need_id, household_id) VALUES ($1, $2)"
# Volunteers may already have windows or certificates (the profile seed): theirs stand, ours fill the gaps.
INSERT_WINDOW = """
INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
"""
INSERT_CERTIFICATE = """
INSERT INTO volunteer_certificates (volunteer_id, kind, number, issued_on, expires_on)
VALUES ($1, 'elderly_carer', $2, $3, $4) ON CONFLICT DO NOTHING
"""
BACKDATE_TEAMS = """
WITH t AS (UPDATE teams SET formed_at = $2 WHERE contract_id = $1 RETURNING id)
UPDATE team_members SET since = $2 WHERE team_id IN (SELECT id FROM t)
"""
INSERT_PAST_VISIT = """
INSERT INTO team_visits (team_id, at, status, minutes, contact_kind, recorded_by, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (team_id, at) WHERE status IN ('planned', 'done') DO NOTHING
"""
INSERT_EX_MEMBER = """
INSERT INTO team_members (team_id, volunteer_id, trained, since, until, ended_reason)
VALUES ($1, $2, false, $3, $4, 'refused')
"""
INSERT_REFUSAL = """
INSERT INTO household_refusals (household_id, volunteer_id, team_id, recorded_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
"""
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


async def seed_teams(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> TeamsSeedReport:
    """Write org.leling's running 311 project with teams and recorded visits (needs the base demo seed first)."""
    demo = await conn.fetchrow(SELECT_DEMO)
    if demo is None or demo["organisation_id"] is None or demo["item_id"] is None or demo["committee_id"] is None:
        raise RuntimeError("seed the demo district (api.seed) before the 311 teams")
    now = dt.datetime.combine(today, dt.time(20, 0), tzinfo=SHANGHAI)
    signed = now - dt.timedelta(days=60)
    households = await conn.fetch(SELECT_HOUSEHOLDS, demo["committee_id"], HOUSEHOLDS)
    contract_id, lot_id = await _project(conn, rng, demo, today, signed)
    by_committee: dict[int, list[int]] = {}
    for h in households:
        by_committee.setdefault(int(h["committee_id"]), []).append(int(h["id"]))
    for committee_id, ids in sorted(by_committee.items()):
        need_id = await conn.fetchval(
            INSERT_NEED, committee_id, demo["item_id"], "空巢老人311类家庭结对陪伴",
            "独居或空巢老人需要每周探访、电话问候和生活照料。", len(ids), today - dt.timedelta(days=70),
            today + dt.timedelta(days=300), demo["committee_account"],
        )  # fmt: skip
        await conn.execute(INSERT_LOT_NEED, lot_id, need_id)
        await conn.executemany(INSERT_NEED_HOUSEHOLD, [(need_id, h) for h in ids])
    household_ids = [int(h["id"]) for h in households]
    carers = [int(r["id"]) for r in await conn.fetch(SELECT_CARERS, household_ids, teams_service.WALKING_KM, CARERS)]
    if demo["volunteer_id"] is not None and demo["volunteer_id"] not in carers:
        carers.append(int(demo["volunteer_id"]))
    windows, certificates = [], []
    for v in carers:
        for weekday, starts, ends in rng.choice(WINDOWS):
            windows.append((v, weekday, dt.time.fromisoformat(starts), dt.time.fromisoformat(ends)))
        if rng.random() < TRAINED_SHARE or v == demo["volunteer_id"]:
            number = f"YLHL{rng.randrange(10**8):08d}"
            certificates.append((v, number, today - dt.timedelta(days=400), today + dt.timedelta(days=1000)))
    await conn.executemany(INSERT_WINDOW, windows)
    await conn.executemany(INSERT_CERTIFICATE, certificates)

    project = await teams_sql.get_project_by_id(conn, contract_id)
    assert project is not None
    inputs = await teams_service.load_inputs(conn, project)
    plan = _plan(inputs.problem, demo["volunteer_id"])
    formed = now - dt.timedelta(weeks=WEEKS_RUNNING)
    await teams_service.apply_plan(conn, inputs, plan, None, now=now)
    await conn.execute(BACKDATE_TEAMS, contract_id, formed)
    done = await _history(conn, rng, contract_id, formed, now, carers)
    return TeamsSeedReport(
        contract_id=contract_id,
        households=len(household_ids),
        teams=len(plan),
        members=sum(len(t.carers) for t in plan),
        visits_done=done,
        visits_planned=int(
            await conn.fetchval(
                "SELECT count(*) FROM team_visits v JOIN teams t ON t.id = v.team_id"
                " WHERE t.contract_id = $1 AND v.status = 'planned'",
                contract_id,
            )
        ),
    )


async def _project(
    conn: asyncpg.Connection, rng: random.Random, demo: asyncpg.Record, today: dt.date, signed: dt.datetime
) -> tuple[int, int]:
    """The tender, lot, bid, award and signed contract of the 311 project; (contract, lot)."""
    opened = signed - dt.timedelta(days=90)
    tender_id = await conn.fetchval(
        INSERT_TENDER, demo["funder_id"], demo["item_id"], "开鲁新村空巢老人311类家庭结对服务项目（一期）",
        "为开鲁新村及周边空巢老人家庭组建“一户三人”的311类家庭，每月探访不少于4小时、情感联系不少于2次。",
        opened, opened + dt.timedelta(days=30), opened + dt.timedelta(days=45), opened + dt.timedelta(days=60),
        demo["funder_account"],
    )  # fmt: skip
    price = 36_000_000
    lot_id = await conn.fetchval(INSERT_LOT, tender_id, "311类家庭结对（36户）", 40_000_000, "36户空巢老人家庭结对")
    receipt = hashlib.sha256(f"311:{lot_id}:{demo['organisation_id']}".encode()).hexdigest()
    public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    bid_id = await conn.fetchval(
        INSERT_BID, lot_id, demo["organisation_id"], price, "社工带领志愿者组建311类家庭，每户三人，每周探访。",
        receipt, opened + dt.timedelta(days=20), public_id,
    )  # fmt: skip
    run_id = await conn.fetchval(INSERT_AWARD_RUN, tender_id, opened + dt.timedelta(days=40))
    award_id = await conn.fetchval(
        INSERT_AWARD, lot_id, bid_id, run_id, demo["organisation_id"], price, opened + dt.timedelta(days=40)
    )
    starts = signed.date() + dt.timedelta(days=7)
    contract_id = await conn.fetchval(
        INSERT_CONTRACT, award_id, demo["funder_id"], demo["organisation_id"], price, signed.date(), signed,
        starts, starts + dt.timedelta(days=364),
    )  # fmt: skip
    return int(contract_id), int(lot_id)


def _plan(problem: teams_model.TeamsProblem, demo_volunteer: int | None) -> list[teams_model.Team]:
    """Teams by the model's own greedy start (deterministic, instant at this size), volunteer.demo in one of them."""
    data = teams_model.TeamsData(problem)
    plan = teams_model.greedy(data)
    carer_ids = [int(c.id) for c in problem.carers]
    demo = carer_ids.index(demo_volunteer) if demo_volunteer in carer_ids else None
    if demo is not None and not any(demo in members for members in plan.values()):
        for h, members in sorted(plan.items()):
            for k in range(len(members)):
                # Swap one member for volunteer.demo where the others and the demo still make a valid team.
                others = tuple(c for i, c in enumerate(members) if i != k)
                best = data.best_team(h, None, (*others, demo))
                if best is not None:
                    plan[h] = best[1]
                    break
            if demo in plan[h]:
                break
    teams = []
    for h, members in sorted(plan.items()):
        house = problem.households[h]
        shared = set(house.slots)
        for c in members:
            shared &= set(problem.carers[c].slots)
        teams.append(
            teams_model.Team(
                household=house.id,
                carers=tuple(problem.carers[c].id for c in members),
                value=data.team_value(h, members),
                shared_slots=tuple(s for s in house.slots if s in shared),
            )
        )
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
    await conn.executemany(INSERT_PAST_VISIT, rows)
    if live:
        first = live[0]
        refused = next((c for c in carers if c not in first.members), None)
        if refused is not None:
            until = formed + dt.timedelta(days=10)
            await conn.execute(INSERT_EX_MEMBER, first.id, refused, formed, until)
            await conn.execute(INSERT_REFUSAL, first.household_id, refused, first.id, until)
    return sum(1 for r in rows if r[2] == "done")
