"""Foundation calls (公益创投征集) with budget pools and area quotas, and their sealed proposals (项目申报书).

Before a call's deadline every proposal read is scoped to the proposing organisation; the foundation reads
them only once the call has left 'open'. Deadlines are compared with clock_timestamp().
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one, with_json


class PoolRow(msgspec.Struct, frozen=True):
    """A budget pool of a call, for one area of giving."""

    id: int
    number: int
    area_of_giving: str
    budget_fen: int


class QuotaRow(msgspec.Struct, frozen=True):
    """How many grants an area may (or must) get."""

    area_id: int
    area_name: str
    min_grants: int
    max_grants: int | None


class CallPublic(msgspec.Struct, frozen=True):
    """What the API may show of a call, besides its pools and quotas."""

    id: int
    funder_id: int
    funder_name: str
    title: str
    description: str
    status: str
    proposals_open_at: dt.datetime
    proposals_close_at: dt.datetime
    grant_min_fen: int
    grant_max_fen: int
    max_proposals_per_org: int


class CallRow(CallPublic, frozen=True):
    """A call with its pools and quotas, and the funder's kind and rule the eligibility checks read."""

    funder_kind: str
    unqualified_bar_years: int
    pools: list[PoolRow]
    quotas: list[QuotaRow]


class ProposalPublic(msgspec.Struct, frozen=True):
    """What the API may show of a proposal to its proposer (and the foundation once opened), besides its public id."""

    call_id: int
    call_title: str
    pool_id: int
    pool_number: int
    area_of_giving: str
    organisation_id: int
    organisation_name: str
    area_id: int
    area_name: str
    title: str
    plan: str
    amount_fen: int
    status: str
    receipt: str
    submitted_at: dt.datetime
    updated_at: dt.datetime
    proposals_close_at: dt.datetime


class ProposalRow(ProposalPublic, frozen=True):
    """A proposal with its call and pool, and the id people see (the API's `id`)."""

    public_id: uuid.UUID


class SealedProposalTerms(msgspec.Struct, frozen=True):
    """What a proposer stores of its proposal: the terms, the receipt that seals them and when they were sealed."""

    pool_id: int
    area_id: int
    title: str
    plan: str
    amount_fen: int
    receipt: str
    sealed_at: dt.datetime


class CallWindowRow(msgspec.Struct, frozen=True):
    """What a proposal is checked against: the call's state, window, grant range and limit."""

    call_id: int
    status: str
    window_open: bool
    deadline_passed: bool
    grant_min_fen: int
    grant_max_fen: int
    max_proposals_per_org: int


_CALL_SELECT = """
SELECT c.id, c.funder_id, f.name AS funder_name, f.kind AS funder_kind, c.title, c.description, c.status,
       c.proposals_open_at, c.proposals_close_at, c.grant_min_fen, c.grant_max_fen, c.max_proposals_per_org,
       r.unqualified_bar_years,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', p.id, 'number', p.number,
                                                     'area_of_giving', p.area_of_giving, 'budget_fen', p.budget_fen)
                                  ORDER BY p.number)
                 FROM call_pools p WHERE p.call_id = c.id), '[]'::jsonb)::text AS pools,
       coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', q.area_id, 'area_name', a.name,
                                                     'min_grants', q.min_grants, 'max_grants', q.max_grants)
                                  ORDER BY a.code)
                 FROM call_area_quotas q JOIN areas a ON a.id = q.area_id WHERE q.call_id = c.id), '[]'::jsonb)::text
           AS quotas
FROM calls c JOIN funders f ON f.id = c.funder_id JOIN funder_rules r ON r.funder_id = c.funder_id
"""
SELECT_CALL = _CALL_SELECT + " WHERE c.id = $1"
SELECT_CALLS = (
    _CALL_SELECT
    + """
WHERE ($1::text IS NULL OR c.status = $1) AND ($2::bigint IS NULL OR c.funder_id = $2)
ORDER BY c.proposals_close_at DESC, c.id DESC LIMIT $3 OFFSET $4
"""
)
COUNT_CALLS = """
SELECT count(*) FROM calls c WHERE ($1::text IS NULL OR c.status = $1) AND ($2::bigint IS NULL OR c.funder_id = $2)
"""
INSERT_CALL = """
INSERT INTO calls (funder_id, title, description, proposals_open_at, proposals_close_at, grant_min_fen,
                   grant_max_fen, max_proposals_per_org, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
"""
INSERT_POOL = "INSERT INTO call_pools (call_id, number, area_of_giving, budget_fen) VALUES ($1, $2, $3, $4)"
# A quota's area must lie at or under the foundation's own area; the count back tells whether all did.
INSERT_QUOTAS = """
WITH added AS (
    INSERT INTO call_area_quotas (call_id, area_id, min_grants, max_grants)
    SELECT $1, q.area_id, q.min_grants, q.max_grants
    FROM jsonb_to_recordset($2::jsonb) AS q(area_id bigint, min_grants int, max_grants int)
    JOIN areas a ON a.id = q.area_id
    LEFT JOIN areas p ON p.id = a.parent_id
    WHERE $3 IN (a.id, a.parent_id, p.parent_id)
    RETURNING area_id
)
SELECT count(*) FROM added
"""
# The share lock makes a proposal in flight and the opening at the deadline wait for each other.
SELECT_CALL_WINDOW = """
SELECT c.id AS call_id, c.status, c.proposals_open_at <= clock_timestamp() AS window_open,
       c.proposals_close_at <= clock_timestamp() AS deadline_passed, c.grant_min_fen, c.grant_max_fen,
       c.max_proposals_per_org
FROM calls c WHERE c.id = $1
FOR SHARE OF c
"""
SELECT_POOL_BUDGET = "SELECT budget_fen FROM call_pools WHERE id = $1 AND call_id = $2"
AREA_EXISTS = "SELECT EXISTS (SELECT 1 FROM areas WHERE id = $1)"
COUNT_OWN_LIVE_PROPOSALS = """
SELECT count(*) FROM proposals WHERE call_id = $1 AND organisation_id = $2 AND status = 'submitted'
"""
_PROPOSAL_SELECT = """
SELECT p.public_id, c.id AS call_id, c.title AS call_title, p.pool_id, cp.number AS pool_number,
       cp.area_of_giving, p.organisation_id, o.name AS organisation_name, p.area_id, a.name AS area_name,
       p.title, p.plan, p.amount_fen, p.status, p.receipt, p.submitted_at, p.updated_at, c.proposals_close_at
FROM proposals p
JOIN calls c ON c.id = p.call_id
JOIN call_pools cp ON cp.id = p.pool_id
JOIN organisations o ON o.id = p.organisation_id
JOIN areas a ON a.id = p.area_id
"""
SELECT_OWN_PROPOSAL = _PROPOSAL_SELECT + " WHERE p.public_id = $1 AND p.organisation_id = $2"
SELECT_OWN_PROPOSALS = (
    _PROPOSAL_SELECT + " WHERE p.organisation_id = $1 ORDER BY c.proposals_close_at DESC, p.submitted_at DESC LIMIT 200"
)
SELECT_OPENED_PROPOSALS = (
    _PROPOSAL_SELECT
    + """
WHERE c.id = $1 AND c.funder_id = $2 AND c.status <> 'open' AND c.proposals_close_at <= clock_timestamp()
  AND p.status = 'submitted'
ORDER BY cp.number, p.amount_fen, p.submitted_at
"""
)
SELECT_OPENED_PROPOSAL_FOR_FUNDER = (
    _PROPOSAL_SELECT
    + """
WHERE p.public_id = $1 AND c.funder_id = $2 AND c.status <> 'open' AND c.proposals_close_at <= clock_timestamp()
"""
)
INSERT_PROPOSAL = """
INSERT INTO proposals (public_id, call_id, pool_id, organisation_id, area_id, title, plan, amount_fen, receipt,
                       submitted_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id
"""
# Revisions and withdrawals: the proposer's own live proposal, and only while its call is open and before the deadline.
_OWN_LIVE_PROPOSAL_BEFORE_DEADLINE = """
FROM calls c
WHERE p.public_id = $1 AND p.organisation_id = $2 AND p.status = 'submitted' AND c.id = p.call_id
  AND c.status = 'open' AND c.proposals_close_at > clock_timestamp()
RETURNING p.id
"""
UPDATE_OWN_PROPOSAL = f"""
UPDATE proposals p SET pool_id = $3, area_id = $4, title = $5, plan = $6, amount_fen = $7, receipt = $8,
                       updated_at = $9
{_OWN_LIVE_PROPOSAL_BEFORE_DEADLINE}"""
WITHDRAW_OWN_PROPOSAL = f"""
UPDATE proposals p SET status = 'withdrawn', updated_at = now()
{_OWN_LIVE_PROPOSAL_BEFORE_DEADLINE}"""
MOVE_CALL_TO_REVIEW = """
UPDATE calls SET status = 'review'
WHERE id = $1 AND status = 'open' AND proposals_close_at <= clock_timestamp() RETURNING id
"""
SELECT_OPENED_PROPOSAL_RECEIPTS = """
SELECT p.receipt FROM proposals p JOIN calls c ON c.id = p.call_id
WHERE p.call_id = $1 AND p.status = 'submitted' AND c.status <> 'open' AND c.proposals_close_at <= clock_timestamp()
ORDER BY p.receipt
"""
SELECT_DUE_CALLS = "SELECT id FROM calls WHERE status = 'open' AND proposals_close_at <= clock_timestamp() ORDER BY id"


def _call(record: asyncpg.Record) -> CallRow:
    return with_json(record, CallRow, "pools", "quotas")


async def get_call(conn: asyncpg.Connection, call_id: int) -> CallRow | None:
    """One call with its pools and quotas."""
    record = await conn.fetchrow(SELECT_CALL, call_id)
    return None if record is None else _call(record)


async def list_calls(
    conn: asyncpg.Connection, *, status: str | None, funder_id: int | None, limit: int, offset: int
) -> tuple[list[CallRow], int]:
    """A page of calls and the total."""
    rows = await conn.fetch(SELECT_CALLS, status, funder_id, limit, offset)
    return [_call(r) for r in rows], int(await conn.fetchval(COUNT_CALLS, status, funder_id))


async def insert_call(
    conn: asyncpg.Connection,
    *,
    funder_id: int,
    title: str,
    description: str,
    proposals_open_at: dt.datetime,
    proposals_close_at: dt.datetime,
    grant_min_fen: int,
    grant_max_fen: int,
    max_proposals_per_org: int,
    created_by: int,
) -> int:
    """Store an open call; returns its id."""
    return int(
        await conn.fetchval(
            INSERT_CALL,
            funder_id,
            title,
            description,
            proposals_open_at,
            proposals_close_at,
            grant_min_fen,
            grant_max_fen,
            max_proposals_per_org,
            created_by,
        )
    )


async def insert_pool(
    conn: asyncpg.Connection, call_id: int, number: int, area_of_giving: str, budget_fen: int
) -> None:
    """Store one budget pool of a call."""
    await conn.execute(INSERT_POOL, call_id, number, area_of_giving, budget_fen)


async def insert_quotas(
    conn: asyncpg.Connection, call_id: int, quotas: list[dict[str, int | None]], funder_area_id: int
) -> int:
    """Store the area quotas whose areas lie in the funder's area; returns how many were stored."""
    return int(await conn.fetchval(INSERT_QUOTAS, call_id, msgspec.json.encode(quotas).decode(), funder_area_id))


async def call_window(conn: asyncpg.Connection, call_id: int) -> CallWindowRow | None:
    """The call's state and window, share-locked for the rest of the transaction."""
    return await fetch_one(conn, SELECT_CALL_WINDOW, CallWindowRow, call_id)


async def pool_budget(conn: asyncpg.Connection, pool_id: int, call_id: int) -> int | None:
    """A pool's budget if the pool belongs to the call."""
    value = await conn.fetchval(SELECT_POOL_BUDGET, pool_id, call_id)
    return None if value is None else int(value)


async def area_exists(conn: asyncpg.Connection, area_id: int) -> bool:
    """Whether an area exists."""
    return bool(await conn.fetchval(AREA_EXISTS, area_id))


async def count_own_live_proposals(conn: asyncpg.Connection, call_id: int, organisation_id: int) -> int:
    """How many live proposals the organisation has in the call."""
    return int(await conn.fetchval(COUNT_OWN_LIVE_PROPOSALS, call_id, organisation_id))


async def get_own_proposal(conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int) -> ProposalRow | None:
    """The organisation's own proposal."""
    return await fetch_one(conn, SELECT_OWN_PROPOSAL, ProposalRow, public_id, organisation_id)


async def list_own_proposals(conn: asyncpg.Connection, organisation_id: int) -> list[ProposalRow]:
    """The organisation's own proposals."""
    return await fetch_all(conn, SELECT_OWN_PROPOSALS, ProposalRow, organisation_id)


async def list_opened_proposals(conn: asyncpg.Connection, call_id: int, funder_id: int) -> list[ProposalRow]:
    """The live proposals of the funder's call, once opened."""
    return await fetch_all(conn, SELECT_OPENED_PROPOSALS, ProposalRow, call_id, funder_id)


async def get_opened_proposal_for_funder(
    conn: asyncpg.Connection, public_id: uuid.UUID, funder_id: int
) -> ProposalRow | None:
    """A proposal of the funder's call, once opened."""
    return await fetch_one(conn, SELECT_OPENED_PROPOSAL_FOR_FUNDER, ProposalRow, public_id, funder_id)


async def insert_proposal(
    conn: asyncpg.Connection, public_id: uuid.UUID, call_id: int, organisation_id: int, sealed: SealedProposalTerms
) -> int:
    """Store a sealed proposal; returns its internal id."""
    proposal_id = await conn.fetchval(
        INSERT_PROPOSAL, public_id, call_id, sealed.pool_id, organisation_id, sealed.area_id, sealed.title,
        sealed.plan, sealed.amount_fen, sealed.receipt, sealed.sealed_at,
    )  # fmt: skip
    return int(proposal_id)


async def update_own_proposal(
    conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int, sealed: SealedProposalTerms
) -> bool:
    """Revise the organisation's own live proposal before the deadline."""
    value = await conn.fetchval(
        UPDATE_OWN_PROPOSAL, public_id, organisation_id, sealed.pool_id, sealed.area_id, sealed.title, sealed.plan,
        sealed.amount_fen, sealed.receipt, sealed.sealed_at,
    )  # fmt: skip
    return value is not None


async def withdraw_own_proposal(conn: asyncpg.Connection, public_id: uuid.UUID, organisation_id: int) -> bool:
    """Withdraw the organisation's own live proposal before the deadline."""
    return await conn.fetchval(WITHDRAW_OWN_PROPOSAL, public_id, organisation_id) is not None


async def move_to_review(conn: asyncpg.Connection, call_id: int) -> bool:
    """Close a call past its deadline for review; False if not open or not yet due."""
    return await conn.fetchval(MOVE_CALL_TO_REVIEW, call_id) is not None


async def opened_receipts(conn: asyncpg.Connection, call_id: int) -> list[str]:
    """The receipts of the live proposals of an opened call."""
    return [str(r["receipt"]) for r in await conn.fetch(SELECT_OPENED_PROPOSAL_RECEIPTS, call_id)]


async def due_calls(conn: asyncpg.Connection) -> list[int]:
    """Open calls whose deadline has passed."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_DUE_CALLS)]
