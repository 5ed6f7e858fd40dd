"""Factories for attendance and the time bank: a shift running now with a volunteer holding a place, credits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from api.services.accounts import Identity
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity


class Scene(msgspec.Struct):
    """A publisher, its shift, a volunteer holding a place on it."""

    publisher: Identity
    volunteer: Identity
    shift_id: int
    signup_id: int
    secret: str
    code: str


async def running_shift_scene(
    conn: asyncpg.Connection,
    *,
    started_minutes_ago: int = 30,
    hours: float = 2,
    role: str = "organisation",
    **shift: Any,
) -> Scene:
    """A shift that started some minutes ago (negative: starts later), its publisher and one volunteer on it."""
    publisher = await publisher_identity(conn, role)
    starts_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=started_minutes_ago)
    shift_id = await create_shift(
        conn,
        organisation_id=publisher.organisation_id,
        committee_id=publisher.committee_id,
        starts_at=starts_at,
        hours=hours,
        **shift,
    )
    volunteer = await volunteer_identity(conn)
    signup_id = await add_signup(conn, shift_id, volunteer.volunteer_id or 0)
    row = await conn.fetchrow("SELECT checkin_secret, checkin_code FROM shifts WHERE id = $1", shift_id)
    assert row is not None
    return Scene(
        publisher=publisher,
        volunteer=volunteer,
        shift_id=shift_id,
        signup_id=signup_id,
        secret=row["checkin_secret"],
        code=row["checkin_code"],
    )


async def credit(conn: asyncpg.Connection, volunteer_id: int, minutes: int, bucket: str = "own") -> None:
    """Put minutes straight into a volunteer's time-bank account, balanced against the issuance account."""
    account = await conn.fetchval(
        "INSERT INTO ledger_accounts (kind, volunteer_id, name)"
        " VALUES ('volunteer', $1::bigint, 'volunteer:' || $1::bigint::text)"
        " ON CONFLICT (volunteer_id) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        volunteer_id,
    )
    issuance = await conn.fetchval("SELECT id FROM ledger_accounts WHERE kind = 'issuance'")
    transaction_id = await conn.fetchval("INSERT INTO ledger_transactions (kind) VALUES ('donate') RETURNING id")
    await conn.execute(
        "INSERT INTO ledger_entries (transaction_id, account_id, bucket, minutes) VALUES ($1, $2, $4, $3),"
        " ($1, $5, $4, -$3)",
        transaction_id,
        account,
        minutes,
        bucket,
        issuance,
    )


async def add_attendance(
    conn: asyncpg.Connection,
    shift_id: int,
    signup_id: int,
    volunteer_id: int,
    *,
    minutes: int = 120,
    confirmed_by: int | None = None,
) -> int:
    """Hours at a shift, checked in by QR `minutes` ago and out now: pending, or confirmed by `confirmed_by`."""
    return int(
        await conn.fetchval(
            "INSERT INTO attendance (signup_id, shift_id, volunteer_id, checked_in_at, checked_out_at, minutes,"
            " status, method, confirmed_at, confirmed_by)"
            " VALUES ($1, $2, $3, now() - make_interval(mins => $4), now(), $4,"
            " CASE WHEN $5::bigint IS NULL THEN 'pending' ELSE 'confirmed' END, 'qr',"
            " CASE WHEN $5::bigint IS NOT NULL THEN now() END, $5::bigint) RETURNING id",
            signup_id,
            shift_id,
            volunteer_id,
            minutes,
            confirmed_by,
        )
    )
