"""Hand-written factories: each inserts one row with sensible defaults and returns its id."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import asyncpg

from api.security import hash_password
from api.services import accounts
from api.services.accounts import Identity
from api.services.credit_code import check_character
from sql import accounts as accounts_sql

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)


def next_n() -> int:
    """A number unique within the test session."""
    return next(_counter)


def credit_code(n: int | None = None) -> str:
    """A valid unified social credit code for a social organisation (prefix 52, Shanghai Yangpu)."""
    n = next_n() if n is None else n
    body = f"52310110{n:09d}"
    return body + check_character(body)


async def create_area(
    conn: asyncpg.Connection, level: str = "district", parent_id: int | None = None, **kw: Any
) -> int:
    """An area; a sub-district or committee gets a parent made for it when none is given."""
    if parent_id is None and level == "subdistrict":
        parent_id = await create_area(conn, "district")
    if parent_id is None and level == "committee":
        parent_id = await create_area(conn, "subdistrict")
    n = next_n()
    return int(
        await conn.fetchval(
            "INSERT INTO areas (parent_id, level, code, name, lat, lon) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            parent_id,
            level,
            kw.get("code", f"{310110000000 + n}"),
            kw.get("name", f"测试{level}{n}"),
            kw.get("lat", 31.28),
            kw.get("lon", 121.52),
        )
    )


async def create_catalogue_item(conn: asyncpg.Connection, code: str | None = None, personal: bool = False) -> int:
    """A catalogue item."""
    n = next_n()
    return int(
        await conn.fetchval(
            "INSERT INTO catalogue_items (code, name_zh, name_en, personal, sort_order)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            code or f"item_{n}",
            f"服务{n}",
            f"Service {n}",
            personal,
            n,
        )
    )


async def create_committee(conn: asyncpg.Connection, area_id: int | None = None) -> int:
    """A residents' committee with its own committee-level area."""
    area_id = area_id or await create_area(conn, "committee")
    return int(
        await conn.fetchval(
            "INSERT INTO committees (area_id, name, residents, households) VALUES ($1, $2, 5000, 1800) RETURNING id",
            area_id,
            f"测试居委会{next_n()}",
        )
    )


async def create_funder(conn: asyncpg.Connection, kind: str = "subdistrict_office", area_id: int | None = None) -> int:
    """A funder for a sub-district."""
    area_id = area_id or await create_area(conn, "subdistrict")
    return int(
        await conn.fetchval(
            "INSERT INTO funders (kind, name, area_id) VALUES ($1, $2, $3) RETURNING id",
            kind,
            f"测试出资方{next_n()}",
            area_id,
        )
    )


async def create_org(conn: asyncpg.Connection, status: str = "verified", *, serves: bool = True, **kw: Any) -> int:
    """An organisation, verified and rated 4A unless told otherwise; unless `serves` is false it registers every
    catalogue item and every district that exists now as its service categories and areas (so it may bid); an
    admin verified its capacity and rating unless `values_verified=False` (then they are declared only)."""
    rating = kw.get("rating", 4)
    org_id = int(
        await conn.fetchval(
            """
            INSERT INTO organisations (name, credit_code, rating, rating_expires_on, registered_on, status,
                                       staff_hours_capacity, verified_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 <> 'pending' THEN now() END) RETURNING id
            """,
            kw.get("name", f"测试社工服务中心{next_n()}"),
            kw.get("credit_code", credit_code()),
            rating,
            kw.get("rating_expires_on", dt.date(2029, 12, 31) if rating else None),
            kw.get("registered_on", dt.date(2015, 3, 1)),
            status,
            kw.get("staff_hours_capacity", 2000),
        )
    )
    if serves:
        await conn.execute(
            "INSERT INTO organisation_categories (organisation_id, catalogue_item_id)"
            " SELECT $1, id FROM catalogue_items",
            org_id,
        )
        await conn.execute(
            "INSERT INTO organisation_areas (organisation_id, area_id)"
            " SELECT $1, id FROM areas WHERE level = 'district'",
            org_id,
        )
    if kw.get("values_verified", True):
        await verify_org_values(conn, org_id)
    return org_id


async def verify_org_values(
    conn: asyncpg.Connection, org_id: int, subjects: tuple[str, ...] = ("capacity", "rating")
) -> None:
    """An admin verifies the organisation's declared capacity and rating (the rating only if it declares one); the
    first admin account there is does it (one is made if there is none)."""
    admin = await conn.fetchval("SELECT id FROM accounts WHERE role = 'admin' ORDER BY id LIMIT 1")
    if admin is None:
        admin = await create_account(conn, "admin")
    for subject in subjects:
        check_id = await conn.fetchval(
            """
            INSERT INTO organisation_checks (organisation_id, subject, staff_hours_capacity, rating, rating_expires_on,
                                             against, decided_by)
            SELECT o.id, $2, CASE $2 WHEN 'capacity' THEN o.staff_hours_capacity END,
                   CASE $2 WHEN 'rating' THEN o.rating END, CASE $2 WHEN 'rating' THEN o.rating_expires_on END,
                   'test document', $3
            FROM organisations o WHERE o.id = $1 AND ($2 = 'capacity' OR o.rating IS NOT NULL)
            RETURNING id
            """,
            org_id,
            subject,
            admin,
        )
        if check_id is not None:
            column = "capacity_check_id" if subject == "capacity" else "rating_check_id"
            await conn.execute(f"UPDATE organisations SET {column} = $2 WHERE id = $1", org_id, check_id)


async def create_account(
    conn: asyncpg.Connection,
    role: str = "volunteer",
    *,
    username: str | None = None,
    organisation_id: int | None = None,
    committee_id: int | None = None,
    funder_id: int | None = None,
) -> int:
    """An account of a role with its tenant (made for it when the role needs one); password is PASSWORD."""
    username = username or f"{role}{next_n()}"
    account_id = int(
        await conn.fetchval(
            "INSERT INTO accounts (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING id",
            username,
            f"测试{role}",
            _PASSWORD_HASH,
            role,
        )
    )
    if role == "organisation" and organisation_id is None:
        organisation_id = await create_org(conn)
    if role == "committee" and committee_id is None:
        committee_id = await create_committee(conn)
    if role == "funder" and funder_id is None:
        funder_id = await create_funder(conn)
    if organisation_id or committee_id or funder_id:
        await conn.execute(
            "INSERT INTO memberships (account_id, organisation_id, committee_id, funder_id) VALUES ($1, $2, $3, $4)",
            account_id,
            organisation_id,
            committee_id,
            funder_id,
        )
    if role == "volunteer":
        await create_volunteer(conn, account_id=account_id)
    return account_id


async def create_volunteer(
    conn: asyncpg.Connection, account_id: int | None = None, home_area_id: int | None = None
) -> int:
    """A volunteer living in a committee area."""
    home_area_id = home_area_id or await create_area(conn, "committee")
    return int(
        await conn.fetchval(
            "INSERT INTO volunteers (account_id, display_name, birth_year, home_area_id, lat, lon)"
            " VALUES ($1, $2, 1985, $3, 31.28, 121.52) RETURNING id",
            account_id,
            f"志愿者{next_n()}",
            home_area_id,
        )
    )


async def username_of(conn: asyncpg.Connection, account_id: int) -> str:
    """The username of an account."""
    return str(await conn.fetchval("SELECT username FROM accounts WHERE id = $1", account_id))


async def identity_of(conn: asyncpg.Connection, account_id: int) -> Identity:
    """The Identity the app gives the account's session: its names, role and tenant as stored."""
    row = await accounts_sql.get_account(conn, account_id)
    assert row is not None
    return accounts.identity_of(row, "session")
