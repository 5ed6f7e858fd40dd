"""`linli seed --preset city` (issue #13): Shanghai's 16 districts, sub-districts under them, committees, funders,
organisations, volunteers with accounts sharing one password, households and shifts in the coming month — valid
against the schema (COPY checks every constraint), in proportion at any scale, and the same for the same seed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest

from api.demo import AlreadySeededError
from api.demo.city import CITY_PASSWORD, DISTRICTS, SHIFT_DAYS, seed_city
from api.security import verify_password
from api.services.types import SHANGHAI
from tests.conftest import Servers, scratch_database

pytestmark = pytest.mark.slow

TODAY = date(2026, 12, 6)
SCALE = 0.002
# Natural keys only (ids come from sequences): what two seeds with the same seed must agree on.
FINGERPRINT = """
SELECT md5(string_agg(line, E'\\n' ORDER BY line)) FROM (
    SELECT concat_ws('|', level, code, name, lat, lon) AS line FROM areas
    UNION ALL SELECT concat_ws('|', o.name, o.credit_code) FROM organisations o
    UNION ALL SELECT concat_ws('|', a.username, v.display_name, v.birth_year, v.skills, v.lat)
              FROM volunteers v JOIN accounts a ON a.id = v.account_id
    UNION ALL SELECT concat_ws('|', head_name, address, care_level) FROM households
    UNION ALL SELECT concat_ws('|', title, place_name, starts_at, headcount) FROM shifts
) lines
"""


async def test_a_small_city_is_whole_valid_and_the_same_for_a_seed(empty_database_url: str, servers: Servers) -> None:
    report = await seed_city(empty_database_url, seed=3, scale=SCALE, today=TODAY)
    conn = await asyncpg.connect(empty_database_url)
    try:
        districts = await conn.fetch("SELECT code, name FROM areas WHERE level = 'district' ORDER BY code")
        assert [(r["code"], r["name"]) for r in districts] == sorted((code, name) for name, code, *_ in DISTRICTS)
        # Every sub-district under a district with its code as prefix, every committee under a sub-district.
        assert not await conn.fetchval(
            "SELECT count(*) FROM areas c JOIN areas p ON p.id = c.parent_id"
            " WHERE NOT starts_with(c.code, p.code) OR (c.level, p.level) NOT IN"
            " (('subdistrict', 'district'), ('committee', 'subdistrict'))"
        )
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM committees) AS committees, (SELECT count(*) FROM volunteers) AS volunteers,"
            " (SELECT count(*) FROM volunteers WHERE account_id IS NULL) AS without_account,"
            " (SELECT count(*) FROM households) AS households, (SELECT count(*) FROM shifts) AS shifts,"
            " (SELECT count(*) FROM memberships) AS managers, (SELECT count(*) FROM funders) AS funders,"
            " (SELECT count(DISTINCT password_hash) FROM accounts) AS hashes"
        )
        assert counts is not None
        assert (counts["committees"], counts["volunteers"], counts["households"], counts["shifts"]) == (
            report.committees,
            2000,
            400,
            200,
        )
        assert counts["without_account"] == 0 and counts["hashes"] == 1
        assert counts["managers"] == report.committees + report.organisations + report.funders
        password_hash = await conn.fetchval("SELECT password_hash FROM accounts LIMIT 1")
        assert verify_password(password_hash, CITY_PASSWORD)
        # Shifts are open, untaken, from tomorrow over the coming month (Beijing days).
        first, last, taken = await conn.fetchrow(
            "SELECT min(starts_at), max(starts_at), sum(taken) FROM shifts WHERE status = 'open'"
        )
        tomorrow = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), SHANGHAI)
        assert tomorrow <= first and last < tomorrow + timedelta(days=SHIFT_DAYS)
        assert taken == 0
        fingerprint = await conn.fetchval(FINGERPRINT)
    finally:
        await conn.close()
    with pytest.raises(AlreadySeededError):
        await seed_city(empty_database_url, seed=3, scale=SCALE, today=TODAY)

    # The same seed on another empty database gives the same city.
    async with scratch_database(servers) as other:
        await seed_city(other, seed=3, scale=SCALE, today=TODAY)
        again = await asyncpg.connect(other)
        try:
            assert await again.fetchval(FINGERPRINT) == fingerprint
        finally:
            await again.close()
