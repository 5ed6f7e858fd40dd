"""Volunteers: the basic profile (skills, languages, home, radius, weekly cap, insurance, consent)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec


class VolunteerRow(msgspec.Struct, frozen=True):
    """A volunteer's profile with the name of their home committee area."""

    id: int
    account_id: int | None
    display_name: str
    birth_year: int
    phone: str
    home_area_id: int
    home_area_name: str
    lat: float
    lon: float
    travel_km: float
    weekly_hour_cap: int
    skills: list[str]
    languages: list[str]
    insured_until: dt.date | None
    guardian_consent: bool
    sensitive_data_consent: bool


SELECT_VOLUNTEER_BY_ACCOUNT = """
SELECT v.id, v.account_id, v.display_name, v.birth_year, v.phone, v.home_area_id, a.name AS home_area_name,
       v.lat, v.lon, v.travel_km::float8 AS travel_km, v.weekly_hour_cap, v.skills, v.languages, v.insured_until,
       v.guardian_consent, v.sensitive_data_consent_at IS NOT NULL AS sensitive_data_consent
FROM volunteers v JOIN areas a ON a.id = v.home_area_id
WHERE v.account_id = $1
"""
# A volunteer's home point starts at their committee's point; they can move it later.
INSERT_VOLUNTEER = """
INSERT INTO volunteers (account_id, display_name, birth_year, phone, home_area_id, lat, lon, travel_km,
                        weekly_hour_cap, skills, languages, guardian_consent, sensitive_data_consent_at)
SELECT $1, $2, $3, $4, a.id, a.lat, a.lon, $6, $7, $8, $9, $10, CASE WHEN $11 THEN now() END
FROM areas a WHERE a.id = $5 AND a.level = 'committee'
RETURNING id
"""


async def get_volunteer_by_account(conn: asyncpg.Connection, account_id: int) -> VolunteerRow | None:
    """The volunteer profile belonging to an account."""
    record = await conn.fetchrow(SELECT_VOLUNTEER_BY_ACCOUNT, account_id)
    return None if record is None else msgspec.convert(record, VolunteerRow)


async def insert_volunteer(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    display_name: str,
    birth_year: int,
    phone: str,
    home_area_id: int,
    travel_km: float,
    weekly_hour_cap: int,
    skills: list[str],
    languages: list[str],
    guardian_consent: bool,
    sensitive_data_consent: bool,
) -> int | None:
    """Create a volunteer living in a committee area; None if that area is not a committee."""
    found = await conn.fetchval(
        INSERT_VOLUNTEER,
        account_id,
        display_name,
        birth_year,
        phone,
        home_area_id,
        travel_km,
        weekly_hour_cap,
        skills,
        languages,
        guardian_consent,
        sensitive_data_consent,
    )
    return None if found is None else int(found)
