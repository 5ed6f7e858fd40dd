"""Factories for portfolio-run tests: foundation calls past (or before) their deadline, pools, scored proposals."""

from __future__ import annotations

import hashlib

import asyncpg

from tests import factories


async def create_call(
    conn: asyncpg.Connection,
    *,
    pools: list[int],
    closed: bool = True,
    max_grants_per_org: int = 1,
    funder_id: int | None = None,
) -> tuple[int, list[int], int]:
    """A call with pools of the given budgets, opened when closed; returns (call, pool ids, funder)."""
    funder_id = funder_id or await factories.create_funder(conn, kind="community_foundation")
    account = await factories.create_account(conn, "funder", funder_id=funder_id)
    close = "now() - interval '1 minute'" if closed else "now() + interval '10 days'"
    call_id = await conn.fetchval(
        f"""
        INSERT INTO calls (funder_id, title, proposals_open_at, proposals_close_at, grant_min_fen, grant_max_fen,
                           max_proposals_per_org, max_grants_per_org, created_by, status)
        VALUES ($1, '2027年公益创投', now() - interval '20 days', {close}, 100, 100000000000, 5, $2, $3, $4)
        RETURNING id
        """,
        funder_id,
        max_grants_per_org,
        account,
        "review" if closed else "open",
    )
    pool_ids = [
        await conn.fetchval(
            "INSERT INTO call_pools (call_id, number, area_of_giving, budget_fen) VALUES ($1, $2, $3, $4) RETURNING id",
            call_id,
            n,
            f"领域{n}",
            budget,
        )
        for n, budget in enumerate(pools, start=1)
    ]
    return int(call_id), [int(p) for p in pool_ids], funder_id


async def create_proposal(
    conn: asyncpg.Connection,
    call_id: int,
    pool_id: int,
    organisation_id: int,
    amount_fen: int,
    score: float | None,
    area_id: int | None = None,
) -> str:
    """A submitted proposal with the foundation's score (if given); returns its public id."""
    area_id = area_id or await factories.create_area(conn, "subdistrict")
    row = await conn.fetchrow(
        """
        INSERT INTO proposals (call_id, pool_id, organisation_id, area_id, title, plan, amount_fen, receipt)
        VALUES ($1, $2, $3, $4, '项目' || $5::bigint::text, '计划', $5::bigint, $6) RETURNING id, public_id
        """,
        call_id,
        pool_id,
        organisation_id,
        area_id,
        amount_fen,
        hashlib.sha256(f"{call_id}-{pool_id}-{organisation_id}-{amount_fen}".encode()).hexdigest(),
    )
    if score is not None:
        account = await conn.fetchval("SELECT created_by FROM calls WHERE id = $1", call_id)
        await conn.execute(
            "INSERT INTO proposal_scores (proposal_id, call_id, score, scored_by) VALUES ($1, $2, $3, $4)",
            row["id"],
            call_id,
            score,
            account,
        )
    return str(row["public_id"])


async def funder_account(conn: asyncpg.Connection, call_id: int) -> str:
    """The username of the account that opened the call."""
    return str(
        await conn.fetchval(
            "SELECT a.username FROM calls c JOIN accounts a ON a.id = c.created_by WHERE c.id = $1", call_id
        )
    )
