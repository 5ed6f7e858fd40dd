"""Factories for review, award and notice tests: tenders past their deadline, lots, opened bids, panels, scores."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import msgspec

from tests import factories

CRITERIA = [{"name": "方案质量", "weight": 60}, {"name": "团队经验", "weight": 40}]


async def create_tender(
    conn: asyncpg.Connection,
    funder_id: int | None = None,
    *,
    closed: bool = True,
    status: str | None = None,
    price_weight_pct: int = 30,
    criteria: list[dict[str, Any]] | None = None,
    max_lots_per_bidder: int | None = None,
) -> int:
    """A tender whose bid window closed an hour ago (or closes tomorrow), in review unless told otherwise."""
    funder_id = funder_id or await factories.create_funder(conn)
    creator = await factories.create_account(conn, "funder", funder_id=funder_id)
    item = await factories.create_catalogue_item(conn)
    status = status or ("review" if closed else "open")
    return int(
        await conn.fetchval(
            """
            INSERT INTO tenders (funder_id, catalogue_item_id, title, status, bids_open_at, bids_close_at,
                                 price_weight_pct, criteria, max_lots_per_bidder, created_by)
            VALUES ($1, $2, $3, $4, now() - interval '10 days',
                    CASE WHEN $5 THEN now() - interval '1 hour' ELSE now() + interval '1 day' END,
                    $6, $7::jsonb, $8, $9)
            RETURNING id
            """,
            funder_id,
            item,
            f"为老服务项目{factories.next_n()}",
            status,
            closed,
            price_weight_pct,
            msgspec.json.encode(CRITERIA if criteria is None else criteria).decode(),
            max_lots_per_bidder,
            creator,
        )
    )


async def create_lot(conn: asyncpg.Connection, tender_id: int, number: int = 1, budget_fen: int = 10_000_000) -> int:
    """A lot of a tender."""
    return int(
        await conn.fetchval(
            "INSERT INTO lots (tender_id, number, title, budget_fen, staff_hours, contract_months)"
            " VALUES ($1, $2, $3, $4, 500, 12) RETURNING id",
            tender_id,
            number,
            f"标段{number}",
            budget_fen,
        )
    )


async def create_bid(
    conn: asyncpg.Connection,
    lot_id: int,
    organisation_id: int | None = None,
    *,
    price_fen: int = 8_000_000,
    hours: int = 400,
    plan: str = "每周上门服务两次",
    conflict: bool = False,
) -> int:
    """A submitted bid."""
    organisation_id = organisation_id or await factories.create_org(conn)
    receipt = hashlib.sha256(f"{lot_id}-{organisation_id}-{price_fen}".encode()).hexdigest()
    return int(
        await conn.fetchval(
            "INSERT INTO bids (lot_id, organisation_id, price_fen, hours, plan, conflict_of_interest,"
            " conflict_detail, receipt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            lot_id,
            organisation_id,
            price_fen,
            hours,
            plan,
            conflict,
            "理事兼任" if conflict else "",
            receipt,
        )
    )


async def public_id(conn: asyncpg.Connection, bid_id: int) -> str:
    """A bid's public id."""
    return str(await conn.fetchval("SELECT public_id FROM bids WHERE id = $1", bid_id))


async def create_reviewer(conn: asyncpg.Connection) -> int:
    """A reviewer account."""
    return await factories.create_account(conn, "reviewer")


async def assign(conn: asyncpg.Connection, tender_id: int, *reviewer_ids: int) -> None:
    """Put reviewers on a tender's panel."""
    for reviewer_id in reviewer_ids:
        await conn.execute(
            "INSERT INTO tender_reviewers (tender_id, account_id) VALUES ($1, $2)", tender_id, reviewer_id
        )


async def score(
    conn: asyncpg.Connection,
    bid_id: int,
    reviewer_id: int,
    quality: float,
    *,
    necessary: bool | None = None,
    feasible: bool | None = None,
) -> None:
    """A review giving the same score on every criterion."""
    scores = {c["name"]: quality for c in CRITERIA}
    await conn.execute(
        "INSERT INTO reviews (bid_id, reviewer_id, scores, quality_score, necessary, feasible)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, $6)",
        bid_id,
        reviewer_id,
        msgspec.json.encode(scores).decode(),
        quality,
        necessary,
        feasible,
    )


async def funder_account(conn: asyncpg.Connection, tender_id: int) -> str:
    """The username of a funder account of the tender's funder."""
    funder_id = await conn.fetchval("SELECT funder_id FROM tenders WHERE id = $1", tender_id)
    return await factories.username_of(conn, await factories.create_account(conn, "funder", funder_id=funder_id))
