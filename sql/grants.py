"""Portfolio runs of foundation calls: proposal scores, what a run decides from, and the grants it writes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from sql.rows import fetch_all, with_json


class PortfolioProposalPublic(msgspec.Struct, frozen=True):
    """What the API may show the foundation of an opened proposal: its public id, pool and area by number and name."""

    public_id: uuid.UUID
    pool_number: int
    organisation_id: int
    organisation_name: str
    area_name: str
    title: str
    amount_fen: int
    score: float | None


class PortfolioProposalRow(PortfolioProposalPublic, frozen=True):
    """An opened, live proposal of a call with the foundation's score (None until scored)."""

    id: int
    pool_id: int
    area_id: int


class GrantPublic(msgspec.Struct, frozen=True):
    """What the API may show of a grant a run proposes: the proposal, the organisation, the amount and the reasons."""

    id: int
    proposal: uuid.UUID
    title: str
    organisation_id: int
    organisation_name: str
    amount_fen: int
    score: float
    reasons: dict[str, Any]


class GrantRow(GrantPublic, frozen=True):
    """A grant a run proposes, with its reasons, its call and its run."""

    call_id: int
    run_id: int
    created_at: dt.datetime


# Opened proposals only: the call has left 'open' and its deadline has passed.
SELECT_PORTFOLIO_PROPOSALS = """
SELECT p.id, p.public_id, p.pool_id, cp.number AS pool_number, p.organisation_id, o.name AS organisation_name,
       p.area_id, a.name AS area_name, p.title, p.amount_fen, s.score::float8 AS score
FROM proposals p
JOIN calls c ON c.id = p.call_id
JOIN call_pools cp ON cp.id = p.pool_id
JOIN organisations o ON o.id = p.organisation_id
JOIN areas a ON a.id = p.area_id
LEFT JOIN proposal_scores s ON s.proposal_id = p.id
WHERE c.id = $1 AND c.status <> 'open' AND c.proposals_close_at <= clock_timestamp() AND p.status = 'submitted'
ORDER BY p.id
"""
SELECT_MAX_GRANTS_PER_ORG = "SELECT max_grants_per_org FROM calls WHERE id = $1"
# The foundation scores a proposal of its own call once opened and before any grant of it is written.
UPSERT_SCORE = """
INSERT INTO proposal_scores (proposal_id, call_id, score, scored_by)
SELECT p.id, c.id, $3, $4
FROM proposals p JOIN calls c ON c.id = p.call_id
WHERE p.public_id = $1 AND c.funder_id = $2 AND p.status = 'submitted' AND c.status IN ('review', 'awarded')
  AND c.proposals_close_at <= clock_timestamp()
ON CONFLICT (proposal_id) DO UPDATE SET score = excluded.score, scored_by = excluded.scored_by, scored_at = now()
RETURNING call_id
"""
SET_CALL_STATUS = "UPDATE calls SET status = $3 WHERE id = $1 AND status = ANY($2::text[]) RETURNING id"
INSERT_GRANT = """
INSERT INTO grants (call_id, proposal_id, run_id, organisation_id, amount_fen, score, reasons)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
"""
SELECT_RUN_GRANTS = """
SELECT g.id, g.call_id, g.run_id, p.public_id AS proposal, p.title, g.organisation_id, o.name AS organisation_name,
       g.amount_fen, g.score::float8 AS score, g.reasons::text AS reasons, g.created_at
FROM grants g JOIN proposals p ON p.id = g.proposal_id JOIN organisations o ON o.id = g.organisation_id
WHERE g.run_id = $1
ORDER BY g.score DESC, g.id
"""


async def portfolio_proposals(conn: asyncpg.Connection, call_id: int) -> list[PortfolioProposalRow]:
    """A call's opened live proposals with their scores."""
    return await fetch_all(conn, SELECT_PORTFOLIO_PROPOSALS, PortfolioProposalRow, call_id)


async def max_grants_per_org(conn: asyncpg.Connection, call_id: int) -> int:
    """How many grants one organisation may get from the call."""
    return int(await conn.fetchval(SELECT_MAX_GRANTS_PER_ORG, call_id))


async def set_score(
    conn: asyncpg.Connection, public_id: uuid.UUID, funder_id: int, score: float, account_id: int
) -> int | None:
    """Record the foundation's score of an opened proposal of its call; the call's id, or None if refused."""
    value = await conn.fetchval(UPSERT_SCORE, public_id, funder_id, score, account_id)
    return None if value is None else int(value)


async def set_call_status(conn: asyncpg.Connection, call_id: int, from_status: list[str], to_status: str) -> bool:
    """Move a call between states; False if it was in none of `from_status`."""
    return await conn.fetchval(SET_CALL_STATUS, call_id, from_status, to_status) is not None


async def insert_grant(
    conn: asyncpg.Connection,
    *,
    call_id: int,
    proposal_id: int,
    run_id: int,
    organisation_id: int,
    amount_fen: int,
    score: float,
    reasons: dict[str, Any],
) -> None:
    """Store one grant of a run."""
    await conn.execute(
        INSERT_GRANT,
        call_id,
        proposal_id,
        run_id,
        organisation_id,
        amount_fen,
        score,
        msgspec.json.encode(reasons).decode(),
    )


async def run_grants(conn: asyncpg.Connection, run_id: int) -> list[GrantRow]:
    """The grants a run wrote, best score first."""
    return [with_json(record, GrantRow, "reasons") for record in await conn.fetch(SELECT_RUN_GRANTS, run_id)]
