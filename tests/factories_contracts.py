"""Factories for contracts: a tender with a lot, a sealed bid, an award run and an award whose notice is over."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from tests.factories import create_account, create_catalogue_item, create_funder, create_org, next_n
from tests.factories_awards import create_bid


class AwardSetup(msgspec.Struct, frozen=True):
    """Everything a contract test needs: the award, its tender and lot, and the two parties' accounts."""

    award_id: int
    tender_id: int
    lot_id: int
    funder_id: int
    organisation_id: int
    funder_account: int
    organisation_account: int
    price_fen: int
    catalogue_item_id: int


async def create_tender(
    conn: asyncpg.Connection,
    funder_id: int,
    created_by: int,
    *,
    status: str = "notice",
    catalogue_item_id: int | None = None,
    notice_ends_at: dt.datetime | None = None,
) -> int:
    """A tender whose bid window closed a month ago, in notice until `notice_ends_at` (default: yesterday)."""
    now = dt.datetime.now(dt.UTC)
    item = catalogue_item_id or await create_catalogue_item(conn)
    ends = notice_ends_at or now - dt.timedelta(days=1)
    return int(
        await conn.fetchval(
            """
            INSERT INTO tenders (funder_id, catalogue_item_id, title, status, bids_open_at, bids_close_at,
                                 price_weight_pct, notice_starts_at, notice_ends_at, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, 30, $7, $8, $9) RETURNING id
            """,
            funder_id,
            item,
            f"测试招标项目{next_n()}",
            status,
            now - dt.timedelta(days=60),
            now - dt.timedelta(days=30),
            ends - dt.timedelta(days=15),
            ends,
            created_by,
        )
    )


async def create_lot(
    conn: asyncpg.Connection, tender_id: int, *, budget_fen: int = 20_000_000, number: int = 1, months: int = 12
) -> int:
    """A lot of a tender."""
    return int(
        await conn.fetchval(
            "INSERT INTO lots (tender_id, number, title, budget_fen, staff_hours, contract_months)"
            " VALUES ($1, $2, $3, $4, 2000, $5) RETURNING id",
            tender_id,
            number,
            f"标段{number}",
            budget_fen,
            months,
        )
    )


async def create_award(
    conn: asyncpg.Connection, lot_id: int, bid_id: int, organisation_id: int, price_fen: int, tender_id: int, **kw: Any
) -> int:
    """A succeeded award run and its award for the lot (published unless told otherwise)."""
    run_id = await conn.fetchval(
        """
        INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, status, time_limit_s, result,
                                objective, bound, gap, solver_status, finished_at)
        VALUES ('award', 'tender', $1, $2, 'succeeded', 10, $3::jsonb, 90, 90, 0, 'optimal', now()) RETURNING id
        """,
        tender_id,
        next_n(),
        msgspec.json.encode({"winners": {str(lot_id): bid_id}}).decode(),
    )
    return int(
        await conn.fetchval(
            "INSERT INTO awards (lot_id, bid_id, run_id, organisation_id, price_fen, score, reasons, status)"
            " VALUES ($1, $2, $3, $4, $5, 88.5, '{}'::jsonb, $6) RETURNING id",
            lot_id,
            bid_id,
            run_id,
            organisation_id,
            price_fen,
            kw.get("status", "published"),
        )
    )


async def create_objection(
    conn: asyncpg.Connection, tender_id: int, lot_id: int | None, filed_by: int, outcome: str = "pending"
) -> int:
    """A written objection to a tender's award (for one lot, or the whole tender when lot_id is None)."""
    return int(
        await conn.fetchval(
            """
            INSERT INTO objections (tender_id, lot_id, filed_by, body, reply_due_at, outcome, reply, replied_at)
            VALUES ($1, $2, $3, '评分有误', now() + interval '5 days', $4,
                    CASE WHEN $4 <> 'pending' THEN '已答复' END, CASE WHEN $4 <> 'pending' THEN now() END)
            RETURNING id
            """,
            tender_id,
            lot_id,
            filed_by,
            outcome,
        )
    )


async def award_ready(
    conn: asyncpg.Connection,
    *,
    price_fen: int = 12_000_000,
    funder_id: int | None = None,
    funder_account: int | None = None,
    catalogue_item_id: int | None = None,
    notice_ends_at: dt.datetime | None = None,
    award_status: str = "published",
    tender_status: str = "notice",
    budget_fen: int = 20_000_000,
) -> AwardSetup:
    """A published award whose notice ended yesterday (unless told otherwise), with a funder and an organisation."""
    if funder_id is None:
        funder_id = await create_funder(conn)
    if funder_account is None:
        funder_account = await create_account(conn, "funder", funder_id=funder_id)
    organisation_id = await create_org(conn)
    organisation_account = await create_account(conn, "organisation", organisation_id=organisation_id)
    item = catalogue_item_id or await create_catalogue_item(conn)
    tender_id = await create_tender(
        conn,
        funder_id,
        funder_account,
        status=tender_status,
        catalogue_item_id=item,
        notice_ends_at=notice_ends_at,
    )
    lot_id = await create_lot(conn, tender_id, budget_fen=budget_fen)
    bid_id = await create_bid(conn, lot_id, organisation_id, price_fen=price_fen, hours=1500, plan="服务方案")
    award_id = await create_award(conn, lot_id, bid_id, organisation_id, price_fen, tender_id, status=award_status)
    return AwardSetup(
        award_id=award_id,
        tender_id=tender_id,
        lot_id=lot_id,
        funder_id=funder_id,
        organisation_id=organisation_id,
        funder_account=funder_account,
        organisation_account=organisation_account,
        price_fen=price_fen,
        catalogue_item_id=item,
    )
