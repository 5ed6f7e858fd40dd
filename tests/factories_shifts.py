"""Factories for shifts and sign-ups, and the Identity of a volunteer or publisher for calling use cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from api.services.accounts import Identity
from sql import shift_series
from tests.factories import create_account, create_org, identity_of, next_n


def soon(days: float = 3, hour: int = 9) -> dt.datetime:
    """A time some days from now, at a whole hour in Shanghai (UTC+8), with its offset."""
    day = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


async def create_shift(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None = None,
    committee_id: int | None = None,
    starts_at: dt.datetime | None = None,
    hours: float = 2,
    headcount: int = 5,
    taken: int = 0,
    **kw: Any,
) -> int:
    """An open shift (published by a new organisation unless told), three days from now, 2 hours long."""
    if organisation_id is None and committee_id is None:
        organisation_id = await create_org(conn)
    starts_at = starts_at or soon()
    return int(
        await conn.fetchval(
            """
            INSERT INTO shifts (organisation_id, committee_id, title, place_name, lat, lon, starts_at, ends_at,
                                headcount, taken, required_skills, min_age, insurance_required,
                                cancellation_window_hours, status, household_id, required_certificates,
                                minors_in_groups_only)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id
            """,
            organisation_id,
            committee_id,
            kw.get("title", f"助老服务班次{next_n()}"),
            kw.get("place_name", "社区睦邻中心"),
            kw.get("lat", 31.281),
            kw.get("lon", 121.521),
            starts_at,
            starts_at + dt.timedelta(hours=hours),
            headcount,
            taken,
            kw.get("required_skills", []),
            kw.get("min_age", 0),
            kw.get("insurance_required", False),
            kw.get("cancellation_window_hours", 24),
            kw.get("status", "open"),
            kw.get("household_id"),
            kw.get("required_certificates", []),
            kw.get("minors_in_groups_only", False),
        )
    )


async def add_signup(conn: asyncpg.Connection, shift_id: int, volunteer_id: int, status: str = "active") -> int:
    """A sign-up written directly (an active one also counts its place), for setting the scene."""
    if status == "active":
        await conn.execute("UPDATE shifts SET taken = taken + 1 WHERE id = $1", shift_id)
    return int(
        await conn.fetchval(
            """
            INSERT INTO signups (shift_id, volunteer_id, status, during)
            SELECT id, $2, $3, tstzrange(starts_at, ends_at, '[)') FROM shifts WHERE id = $1 RETURNING id
            """,
            shift_id,
            volunteer_id,
            status,
        )
    )


async def verify_claim(
    conn: asyncpg.Connection,
    volunteer_id: int,
    subject: str,
    kind: str = "",
    *,
    expires_on: dt.date | None = None,
    born_on: dt.date | None = None,
) -> int:
    """Verify a declared claim as a committee's staff would (issuer's number as evidence); the check's id.

    Sets the scene directly: the use case itself (opening evidence first, who may verify) is tested through the API.
    """
    verifier = await create_account(conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", verifier)
    owner = await conn.fetchval("SELECT account_id FROM volunteers WHERE id = $1", volunteer_id)
    evidence_id = await conn.fetchval(
        "INSERT INTO credential_evidence (volunteer_id, subject, certificate_kind, issuer_number, uploaded_by)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        volunteer_id,
        subject,
        kind,
        f"NO{next_n()}",
        owner or verifier,
    )
    check_id = int(
        await conn.fetchval(
            "INSERT INTO credential_checks (volunteer_id, subject, certificate_kind, state, evidence_id, expires_on,"
            " born_on, decided_by, committee_id) VALUES ($1, $2, $3, 'verified', $4, $5, $6, $7, $8) RETURNING id",
            volunteer_id,
            subject,
            kind,
            evidence_id,
            expires_on,
            born_on,
            verifier,
            committee_id,
        )
    )
    if subject == "certificate":
        await conn.execute(
            "UPDATE volunteer_certificates SET check_id = $3 WHERE volunteer_id = $1 AND kind = $2",
            volunteer_id,
            kind,
            check_id,
        )
    else:
        await conn.execute(f"UPDATE volunteers SET {subject}_check_id = $2 WHERE id = $1", volunteer_id, check_id)
    return check_id


# Far enough ahead that no test's shift outlives it: what a verifier confirms for a claim with no expiry given.
FAR_EXPIRY = dt.date(2099, 12, 31)


async def volunteer_identity(conn: asyncpg.Connection, *, verified: bool = True, **profile: Any) -> Identity:
    """A new volunteer account; profile fields (skills, birth_year, insured_until, lat, lon, …) are set on it.

    With `verified` (the default), the date of birth (1 January of the birth year unless a birth date is given) and
    any insurance are verified too, as most tests are about other rules; `verified=False` leaves them declared only.
    """
    account_id = await create_account(conn, "volunteer")
    for column, value in profile.items():
        assert column in {
            "skills",
            "birth_year",
            "insured_until",
            "lat",
            "lon",
            "travel_km",
            "guardian_consent",
            "birth_date",
            "guardian_name",
            "weekly_hour_cap",
            "languages",
            "dialects",
        }
        await conn.execute(f"UPDATE volunteers SET {column} = $2 WHERE account_id = $1", account_id, value)
    if verified:
        row = await conn.fetchrow(
            "UPDATE volunteers SET birth_date = coalesce(birth_date, make_date(birth_year, 1, 1))"
            " WHERE account_id = $1 RETURNING id, birth_date, insured_until",
            account_id,
        )
        assert row is not None
        await verify_claim(conn, row["id"], "birth_date", born_on=row["birth_date"])
        if row["insured_until"] is not None:
            await verify_claim(conn, row["id"], "insurance", expires_on=row["insured_until"])
    return await identity_of(conn, account_id)


async def publisher_identity(conn: asyncpg.Connection, role: str = "organisation") -> Identity:
    """A new organisation or committee account and the Identity it acts with."""
    account_id = await create_account(conn, role)
    row = await conn.fetchrow(
        "SELECT a.username, m.organisation_id, m.committee_id FROM accounts a"
        " JOIN memberships m ON m.account_id = a.id WHERE a.id = $1",
        account_id,
    )
    assert row is not None
    return Identity(
        account_id=account_id,
        username=row["username"],
        display_name="测试",
        role=role,
        locale="zh_CN",
        organisation_id=row["organisation_id"],
        committee_id=row["committee_id"],
    )


async def create_series(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None = None,
    committee_id: int | None = None,
    first_day: dt.date | None = None,
    weeks: int = 2,
    weekdays: list[int] | None = None,
    starts: dt.time = dt.time(9, 0),
    minutes: int = 120,
    **kw: Any,
) -> int:
    """A weekly series (by default on the weekday of 3 days from now, for two weeks) with its shifts generated."""
    if organisation_id is None and committee_id is None:
        organisation_id = await create_org(conn)
    first_day = first_day or (soon(3).date())
    series_id = await conn.fetchval(
        """
        INSERT INTO shift_series (organisation_id, committee_id, household_id, title, place_name, lat, lon, weekdays,
                                  starts, minutes, from_date, until_date, exceptions, headcount, required_skills,
                                  required_certificates, min_age, minors_in_groups_only)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id
        """,
        organisation_id,
        committee_id,
        kw.get("household_id"),
        kw.get("title", f"每周助老班次{next_n()}"),
        kw.get("place_name", "社区睦邻中心"),
        kw.get("lat", 31.281),
        kw.get("lon", 121.521),
        weekdays or [first_day.isoweekday()],
        starts,
        minutes,
        first_day,
        first_day + dt.timedelta(days=7 * weeks - 1),
        kw.get("exceptions", []),
        kw.get("headcount", 3),
        kw.get("required_skills", []),
        kw.get("required_certificates", []),
        kw.get("min_age", 0),
        kw.get("minors_in_groups_only", False),
    )
    await shift_series.generate_shifts(conn, series_id)
    return int(series_id)


async def add_certificate(
    conn: asyncpg.Connection,
    volunteer_id: int,
    kind: str = "elderly_carer",
    expires_on: dt.date | None = None,
    *,
    verified: bool = True,
) -> int:
    """A certificate on a volunteer's profile (no expiry unless told), verified unless told (then declared only)."""
    certificate_id = int(
        await conn.fetchval(
            "INSERT INTO volunteer_certificates (volunteer_id, kind, number, expires_on) VALUES ($1, $2, $3, $4)"
            " RETURNING id",
            volunteer_id,
            kind,
            f"CERT{next_n()}",
            expires_on,
        )
    )
    if verified:
        await verify_claim(conn, volunteer_id, "certificate", kind, expires_on=expires_on or FAR_EXPIRY)
    return certificate_id
