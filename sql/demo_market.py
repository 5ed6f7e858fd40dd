"""The demo marketplace's writes (api/demo/tendering.py, api/demo/teams.py): needs, tenders with lots, sealed bids,
reviews, award runs, objections, contracts with milestones and payments, each at a stage given by the demo rather
than reached through the use cases, with every CHECK of the schema kept."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from sql.needs import NeedFields
from sql.rows import fetch_all

# The committees, the funder office's own area first, and the demo committee before all.
SELECT_COMMITTEES = """
SELECT c.id, c.name, a.lat, a.lon, a.parent_id = $1 AS in_area
FROM committees c JOIN areas a ON a.id = c.area_id
ORDER BY (c.id = $2) DESC, (a.parent_id = $1) DESC, c.id
"""
SELECT_ORGANISATIONS = "SELECT id, name FROM organisations WHERE status = 'verified' ORDER BY id"
INSERT_NEED = """
INSERT INTO needs (catalogue_item_id, title, description, beneficiaries, lat, lon, starts_on, ends_on, schedule,
                   urgency, committee_id, status, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id
"""
# A need at the committee's own point, created now (the 311 project's needs, one per committee served).
INSERT_NEED_AT_COMMITTEE = """
INSERT INTO needs (committee_id, catalogue_item_id, title, description, beneficiaries, lat, lon, starts_on, ends_on,
                   urgency, status, created_by)
SELECT c.id, $2, $3, $4, $5, a.lat, a.lon, $6, $7, 'normal', 'funded', $8
FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
RETURNING id
"""
INSERT_NEED_HOUSEHOLD = "INSERT INTO need_households (need_id, household_id) VALUES ($1, $2)"
INSERT_TENDER = """
INSERT INTO tenders (funder_id, catalogue_item_id, title, description, status, bids_open_at, bids_close_at,
                     min_rating, min_years_registered, price_weight_pct, criteria, max_lots_per_bidder,
                     notice_starts_at, notice_ends_at, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16) RETURNING id
"""
INSERT_LOT = """
INSERT INTO lots (tender_id, number, title, budget_fen, staff_hours, deliverables, contract_months, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
"""
INSERT_LOT_NEED = "INSERT INTO lot_needs (lot_id, need_id) VALUES ($1, $2)"
INSERT_BID = """
INSERT INTO bids (lot_id, organisation_id, price_fen, hours, plan, team, receipt, submitted_at, updated_at, public_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id
"""
INSERT_BID_EVENT = """
INSERT INTO bid_events (bid_id, organisation_id, actor_account_id, event, receipt, at)
VALUES ($1, $2, $3, 'submitted', $4, $5)
"""
INSERT_REVIEWER = "INSERT INTO tender_reviewers (tender_id, account_id, assigned_at) VALUES ($1, $2, $3)"
INSERT_REVIEW = """
INSERT INTO reviews (bid_id, reviewer_id, scores, quality_score, comment, submitted_at)
VALUES ($1, $2, $3::jsonb, $4, $5, $6)
"""
# A finished award run, solved to proof: the bound is the objective.
INSERT_AWARD_RUN = """
INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, status, time_limit_s, seed, progress,
                        objective, bound, gap, solver_status, result, attempts, created_by, created_at, started_at,
                        finished_at, inputs_digest)
VALUES ('award', 'tender', $1, 1, 'succeeded', 10, 0, $2::jsonb, $3, $3, 0, 'optimal', $4::jsonb, 1, $5, $6, $6,
        $7, $8)
RETURNING id
"""
INSERT_AWARD = """
INSERT INTO awards (lot_id, bid_id, run_id, organisation_id, price_fen, score, reasons, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) RETURNING id
"""
# Pending until it has a reply; the demo's replies reject.
INSERT_OBJECTION = """
INSERT INTO objections (tender_id, lot_id, filed_by, body, filed_at, reply_due_at, reply, outcome, replied_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::timestamptz IS NULL THEN 'pending' ELSE 'rejected' END, $8)
"""
INSERT_CONTRACT = """
INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, signed_at, starts_on, ends_on,
                       status, grade, graded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id
"""
INSERT_MILESTONE = """
INSERT INTO milestones (contract_id, seq, title, due_on, amount_fen, midterm, status, report, reported_at, decided_at,
                        decision_note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id
"""
INSERT_PAYMENT = "INSERT INTO payments (milestone_id, amount_fen, paid_at) VALUES ($1, $2, $3)"


class CommitteeRow(msgspec.Struct, frozen=True):
    """A committee, its point, and whether it lies in the funder office's sub-district."""

    id: int
    name: str
    lat: float
    lon: float
    in_area: bool


class OrganisationRow(msgspec.Struct, frozen=True):
    """A verified organisation that may bid."""

    id: int
    name: str


# What the demo writes, one struct per statement with its fields in the statement's parameter order.


class Need(NeedFields, frozen=True, kw_only=True):
    """A need at a given point, stage and time: what a committee stores of it, and whose it is, its stage and when."""

    committee_id: int
    status: str
    created_by: int
    created_at: dt.datetime


class FundedNeed(msgspec.Struct, frozen=True, kw_only=True):
    """A funded need of normal urgency at its committee's own point, created now."""

    committee_id: int
    catalogue_item_id: int
    title: str
    description: str
    beneficiaries: int
    starts_on: dt.date
    ends_on: dt.date
    created_by: int


class Tender(msgspec.Struct, frozen=True, kw_only=True):
    """A tender at a given stage (the use cases' rules on its fields hold by the schema's CHECKs)."""

    funder_id: int
    catalogue_item_id: int
    title: str
    description: str
    status: str
    bids_open_at: dt.datetime
    bids_close_at: dt.datetime
    min_rating: int | None
    min_years_registered: int
    price_weight_pct: int
    criteria: str
    max_lots_per_bidder: int | None
    notice_starts_at: dt.datetime | None
    notice_ends_at: dt.datetime | None
    created_by: int
    created_at: dt.datetime


class Lot(msgspec.Struct, frozen=True, kw_only=True):
    """A lot of a tender."""

    tender_id: int
    number: int
    title: str
    budget_fen: int
    staff_hours: int
    deliverables: str
    contract_months: int
    status: str


class Bid(msgspec.Struct, frozen=True, kw_only=True):
    """A sealed bid, with the receipt of its sealed content."""

    lot_id: int
    organisation_id: int
    price_fen: int
    hours: int
    plan: str
    team: str
    receipt: str
    submitted_at: dt.datetime
    public_id: uuid.UUID


class AwardRun(msgspec.Struct, frozen=True, kw_only=True):
    """A succeeded award run: its progress and result as JSON, who asked, when it started and finished."""

    tender_id: int
    progress: str
    objective: float
    result: str
    created_by: int | None
    started_at: dt.datetime
    finished_at: dt.datetime
    inputs_digest: str | None


class Award(msgspec.Struct, frozen=True, kw_only=True):
    """A lot's award to a bid by a run, with its reasons as JSON."""

    lot_id: int
    bid_id: int
    run_id: int
    organisation_id: int
    price_fen: int
    score: float
    reasons: str
    status: str
    created_at: dt.datetime


class Objection(msgspec.Struct, frozen=True, kw_only=True):
    """An objection: pending, or with a reply that rejects it."""

    tender_id: int
    lot_id: int | None
    filed_by: int
    body: str
    filed_at: dt.datetime
    reply_due_at: dt.datetime
    reply: str | None = None
    replied_at: dt.datetime | None = None


class Contract(msgspec.Struct, frozen=True, kw_only=True):
    """A signed contract, graded or not."""

    award_id: int
    funder_id: int
    organisation_id: int
    amount_fen: int
    sign_by: dt.date
    signed_at: dt.datetime
    starts_on: dt.date
    ends_on: dt.date
    status: str
    grade: str | None = None
    graded_at: dt.datetime | None = None


class Milestone(msgspec.Struct, frozen=True, kw_only=True):
    """A contract's milestone at the stage the demo gives it."""

    contract_id: int
    seq: int
    title: str
    due_on: dt.date
    amount_fen: int
    midterm: bool
    status: str
    report: str | None
    reported_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_note: str | None


async def _insert(conn: asyncpg.Connection, statement: str, row: msgspec.Struct) -> int:
    """Run an INSERT … RETURNING id with the struct's fields as its parameters, in order; the id."""
    return int(await conn.fetchval(statement, *msgspec.structs.astuple(row)))


async def committees(conn: asyncpg.Connection, office_area_id: int, demo_committee_id: int) -> list[CommitteeRow]:
    """Every committee: the demo committee first, then those in the office's sub-district, then the rest."""
    return await fetch_all(conn, SELECT_COMMITTEES, CommitteeRow, office_area_id, demo_committee_id)


async def verified_organisations(conn: asyncpg.Connection) -> list[OrganisationRow]:
    """The verified organisations, by id."""
    return await fetch_all(conn, SELECT_ORGANISATIONS, OrganisationRow)


async def insert_need(conn: asyncpg.Connection, need: Need) -> int:
    """A need; its id."""
    return await _insert(conn, INSERT_NEED, need)


async def insert_funded_need(conn: asyncpg.Connection, need: FundedNeed) -> int:
    """A funded need at its committee's point; its id."""
    return await _insert(conn, INSERT_NEED_AT_COMMITTEE, need)


async def name_households(conn: asyncpg.Connection, need_id: int, household_ids: Sequence[int]) -> None:
    """The households a personal service's need reaches."""
    await conn.executemany(INSERT_NEED_HOUSEHOLD, [(need_id, h) for h in household_ids])


async def insert_tender(conn: asyncpg.Connection, tender: Tender) -> int:
    """A tender; its id."""
    return await _insert(conn, INSERT_TENDER, tender)


async def insert_lot(conn: asyncpg.Connection, lot: Lot) -> int:
    """A lot; its id."""
    return await _insert(conn, INSERT_LOT, lot)


async def link_needs(conn: asyncpg.Connection, lot_id: int, need_ids: Sequence[int]) -> None:
    """The needs a lot covers."""
    await conn.executemany(INSERT_LOT_NEED, [(lot_id, n) for n in need_ids])


async def insert_bid(conn: asyncpg.Connection, bid: Bid) -> int:
    """A sealed bid; its id."""
    return await _insert(conn, INSERT_BID, bid)


async def record_submission(
    conn: asyncpg.Connection, bid_id: int, organisation_id: int, actor: int | None, receipt: str, at: dt.datetime
) -> None:
    """The bid's first history event: submitted, with its receipt."""
    await conn.execute(INSERT_BID_EVENT, bid_id, organisation_id, actor, receipt, at)


async def assign_reviewer(conn: asyncpg.Connection, tender_id: int, account_id: int, at: dt.datetime) -> None:
    """A reviewer on the tender's panel."""
    await conn.execute(INSERT_REVIEWER, tender_id, account_id, at)


async def insert_review(
    conn: asyncpg.Connection, bid_id: int, reviewer_id: int, scores: str, quality: float, comment: str, at: dt.datetime
) -> None:
    """A reviewer's scores (a JSON object by criterion) and quality score for a bid."""
    await conn.execute(INSERT_REVIEW, bid_id, reviewer_id, scores, quality, comment, at)


async def insert_award_run(conn: asyncpg.Connection, run: AwardRun) -> int:
    """A succeeded award run; its id."""
    return await _insert(conn, INSERT_AWARD_RUN, run)


async def insert_award(conn: asyncpg.Connection, award: Award) -> int:
    """An award; its id."""
    return await _insert(conn, INSERT_AWARD, award)


async def file_objection(conn: asyncpg.Connection, objection: Objection) -> None:
    """An objection, pending or answered."""
    await conn.execute(INSERT_OBJECTION, *msgspec.structs.astuple(objection))


async def insert_contract(conn: asyncpg.Connection, contract: Contract) -> int:
    """A signed contract; its id."""
    return await _insert(conn, INSERT_CONTRACT, contract)


async def insert_milestone(conn: asyncpg.Connection, milestone: Milestone) -> int:
    """A milestone; its id."""
    return await _insert(conn, INSERT_MILESTONE, milestone)


async def record_payment(conn: asyncpg.Connection, milestone_id: int, amount_fen: int, at: dt.datetime) -> None:
    """An instalment paid for an accepted milestone."""
    await conn.execute(INSERT_PAYMENT, milestone_id, amount_fen, at)


# The demo's funder verified every organisation's capacity and rating but one's: a verified organisation that bid on
# nothing keeps them declared only, so the pages show both states and no demo award run loses a bidder.
SELECT_DECLARED_ONLY_ORG = """
SELECT o.id FROM organisations o
WHERE o.status = 'verified' AND o.rating IS NOT NULL AND o.id <> $1
  AND NOT EXISTS (SELECT 1 FROM bids b WHERE b.organisation_id = o.id)
ORDER BY o.id LIMIT 1
"""
INSERT_DEMO_ORG_CHECKS = """
INSERT INTO organisation_checks (organisation_id, subject, staff_hours_capacity, rating, rating_expires_on, against,
                                 decided_by, funder_id)
SELECT o.id, s.subject,
       CASE s.subject WHEN 'capacity' THEN o.staff_hours_capacity END,
       CASE s.subject WHEN 'rating' THEN o.rating END,
       CASE s.subject WHEN 'rating' THEN o.rating_expires_on END,
       CASE s.subject WHEN 'capacity' THEN '年度检查报告与社保缴纳名单' ELSE '民政局社会组织评估等级公告' END,
       $1, $2
FROM organisations o CROSS JOIN (VALUES ('capacity'), ('rating')) AS s (subject)
WHERE o.id IS DISTINCT FROM $3 AND (s.subject = 'capacity' OR o.rating IS NOT NULL)
ORDER BY o.id, s.subject
"""
POINT_DEMO_ORGS_AT_CHECKS = """
UPDATE organisations o
SET capacity_check_id = (SELECT max(c.id) FROM organisation_checks c
                         WHERE c.organisation_id = o.id AND c.subject = 'capacity' AND c.state = 'verified'),
    rating_check_id = (SELECT max(c.id) FROM organisation_checks c
                       WHERE c.organisation_id = o.id AND c.subject = 'rating' AND c.state = 'verified')
WHERE o.id IS DISTINCT FROM $1
"""


async def verify_demo_orgs(
    conn: asyncpg.Connection, *, verifier_account_id: int, funder_id: int, demo_organisation_id: int
) -> int | None:
    """The funder verifies every organisation's capacity and rating but one's; that one's id (None if none fits)."""
    declared_only = await conn.fetchval(SELECT_DECLARED_ONLY_ORG, demo_organisation_id)
    await conn.execute(INSERT_DEMO_ORG_CHECKS, verifier_account_id, funder_id, declared_only)
    await conn.execute(POINT_DEMO_ORGS_AT_CHECKS, declared_only)
    return None if declared_only is None else int(declared_only)
