"""Factories for needs, tenders and their lots, and households (each inserts one row with defaults)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from tests.factories import create_account, create_area, create_catalogue_item, create_committee, next_n

HOUSEHOLD_POINT = (31.28, 121.52)
# The household the register tests enter, through the API and the use cases alike.
REGISTERED_ADDRESS = "控江路1018弄7号302室"


def registered_household(**fields: Any) -> dict[str, Any]:
    """王秀英's household as a committee registers it, with her written consent; `fields` add to it or replace."""
    values: dict[str, Any] = {
        "head_name": "王秀英",
        "address": REGISTERED_ADDRESS,
        "lat": 31.30,
        "lon": 121.54,
        "consent": True,
        "phone": "13800001111",
        "care_level": 3,
    }
    return {**values, **fields}


async def create_household(
    conn: asyncpg.Connection,
    committee_id: int,
    address: str | None = None,
    *,
    at: tuple[float, float] = HOUSEHOLD_POINT,
) -> int:
    """A household of a committee, with an exact address (personal data) and its point."""
    n = next_n()
    return int(
        await conn.fetchval(
            "INSERT INTO households (committee_id, head_name, address, lat, lon, consent_recorded_at)"
            " VALUES ($1, $2, $3, $4, $5, now()) RETURNING id",
            committee_id,
            f"张{n}",
            address or f"控江路{1000 + n}弄{n % 40 + 1}号{n % 6 + 1}0{n % 4 + 1}室",
            at[0],
            at[1],
        )
    )


class District:
    """A small district: one sub-district with two committees, their accounts, and a funder of the sub-district."""

    def __init__(self, **ids: int | str) -> None:
        self.__dict__.update(ids)

    district_id: int
    subdistrict_id: int
    committee_id: int
    committee_account: int
    other_committee_id: int
    other_committee_account: int
    funder_id: int
    funder_account: int
    item_id: int
    item_code: str
    personal_item_id: int
    personal_item_code: str


async def create_district(conn: asyncpg.Connection) -> District:
    """Areas, two committees with accounts, a sub-district funder with an account, two catalogue items."""
    district_id = await create_area(conn, "district", lat=31.28, lon=121.52)
    subdistrict_id = await create_area(conn, "subdistrict", district_id, lat=31.29, lon=121.53)
    area_a = await create_area(conn, "committee", subdistrict_id, lat=31.30, lon=121.54)
    area_b = await create_area(conn, "committee", subdistrict_id, lat=31.27, lon=121.51)
    committee_id = await create_committee(conn, area_a)
    other_committee_id = await create_committee(conn, area_b)
    funder_id = int(
        await conn.fetchval(
            "INSERT INTO funders (kind, name, area_id) VALUES ('subdistrict_office', $1, $2) RETURNING id",
            f"测试街道办事处{next_n()}",
            subdistrict_id,
        )
    )
    n = next_n()
    item_code, personal_code = f"elder_{n}", f"respite_{n}"
    return District(
        district_id=district_id,
        subdistrict_id=subdistrict_id,
        committee_id=committee_id,
        committee_account=await create_account(conn, "committee", committee_id=committee_id),
        other_committee_id=other_committee_id,
        other_committee_account=await create_account(conn, "committee", committee_id=other_committee_id),
        funder_id=funder_id,
        funder_account=await create_account(conn, "funder", funder_id=funder_id),
        item_id=await create_catalogue_item(conn, item_code),
        item_code=item_code,
        personal_item_id=await create_catalogue_item(conn, personal_code, personal=True),
        personal_item_code=personal_code,
    )


async def create_need(
    conn: asyncpg.Connection, committee_id: int, catalogue_item_id: int, created_by: int, **kw: Any
) -> int:
    """An open need of a committee at its area's point."""
    return int(
        await conn.fetchval(
            """
            INSERT INTO needs (committee_id, catalogue_item_id, title, beneficiaries, lat, lon, starts_on, ends_on,
                               urgency, status, created_by)
            SELECT $1, $2, $3, $4, a.lat, a.lon, $5, $6, $7, $8, $9
            FROM committees c JOIN areas a ON a.id = c.area_id WHERE c.id = $1
            RETURNING id
            """,
            committee_id,
            catalogue_item_id,
            kw.get("title", f"需求{next_n()}"),
            kw.get("beneficiaries", 30),
            kw.get("starts_on", dt.date.today()),
            kw.get("ends_on", dt.date.today() + dt.timedelta(days=365)),
            kw.get("urgency", "normal"),
            kw.get("status", "open"),
            created_by,
        )
    )


def tender_body(item_code: str, need_ids: list[int] | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid tender as the API takes it: one lot of 200,000 yuan, price weight 30%, deadline in a week."""
    close = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    body: dict[str, Any] = {
        "title": "为老助餐服务采购",
        "catalogue_code": item_code,
        "description": "为辖区老人提供助餐服务",
        "bids_close_at": close.isoformat(),
        "min_rating": 3,
        "min_years_registered": 2,
        "price_weight_pct": 30,
        "criteria": [{"name": "服务方案", "weight": 50}, {"name": "团队经验", "weight": 20}],
        "max_lots_per_bidder": 1,
        "lots": [
            {
                "title": "第一标段",
                "budget_fen": 20_000_000,
                "staff_hours": 1500,
                "contract_months": 12,
                "deliverables": "每周五天助餐",
                "need_ids": need_ids or [],
            }
        ],
    }
    body.update(overrides)
    return body


async def close_bidding(conn: asyncpg.Connection, tender_id: int) -> None:
    """Move a tender's deadline into the past (inside the test's transaction)."""
    await conn.execute(
        "UPDATE tenders SET bids_open_at = now() - interval '2 days', bids_close_at = now() - interval '1 minute'"
        " WHERE id = $1",
        tender_id,
    )
