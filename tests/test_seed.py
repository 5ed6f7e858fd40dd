"""The demo district: deterministic for a seed, realistic, valid against the schema, and with working demo logins."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from api.demo import DEMO_LOGINS, AlreadySeededError, is_seeded, seed_demo, seed_into
from api.demo.district import DEMO_VOLUNTEERS_PASSWORD, LAT_RANGE, LON_RANGE
from api.security import verify_password
from api.services import credit_code
from tests.conftest import DEMO_SCALE, DEMO_SEED, rolled_back
from tests.helpers import fingerprint_undone

TODAY = date(2026, 3, 2)

# Natural keys only: ids come from sequences, which a rolled-back transaction does not rewind.
FINGERPRINT = """
SELECT md5(string_agg(line, E'\\n' ORDER BY line)) FROM (
    SELECT concat_ws('|', 'area', level, code, name, lat, lon) AS line FROM areas
    UNION ALL
    SELECT concat_ws('|', 'committee', a.code, c.name, c.staff_count, c.residents, c.households)
    FROM committees c JOIN areas a ON a.id = c.area_id
    UNION ALL
    SELECT concat_ws('|', 'funder', f.kind, f.name, a.code, f.created_at)
    FROM funders f JOIN areas a ON a.id = f.area_id
    UNION ALL
    SELECT concat_ws('|', 'organisation', o.credit_code, o.name, o.rating, o.rating_expires_on, o.registered_on,
                     o.status, o.staff_hours_capacity, o.contact_phone, o.address, o.description,
                     (SELECT string_agg(ci.code, ',' ORDER BY ci.code) FROM organisation_categories oc
                      JOIN catalogue_items ci ON ci.id = oc.catalogue_item_id WHERE oc.organisation_id = o.id),
                     (SELECT string_agg(a.code, ',' ORDER BY a.code) FROM organisation_areas oa
                      JOIN areas a ON a.id = oa.area_id WHERE oa.organisation_id = o.id))
    FROM organisations o
    UNION ALL
    SELECT concat_ws('|', 'volunteer', v.display_name, v.birth_year, v.phone, a.code, v.lat, v.lon, v.travel_km,
                     v.weekly_hour_cap, v.skills::text, v.languages::text, v.insured_until, v.guardian_consent,
                     v.sensitive_data_consent_at, v.account_id IS NOT NULL)
    FROM volunteers v JOIN areas a ON a.id = v.home_area_id
    UNION ALL
    SELECT concat_ws('|', 'household', a.code, h.head_name, h.address, h.lat, h.lon, h.members, h.empty_nest,
                     h.care_level, h.dialects::text, h.care_notes, h.consent_recorded_at)
    FROM households h JOIN committees c ON c.id = h.committee_id JOIN areas a ON a.id = c.area_id
) AS lines
"""
# What must not move from one day to the next for the same seed: names, codes and points.
NAMES_CODES_POINTS = """
SELECT md5(string_agg(line, E'\\n' ORDER BY line)) FROM (
    SELECT concat_ws('|', code, name, lat, lon) AS line FROM areas
    UNION ALL SELECT concat_ws('|', credit_code, name) FROM organisations
    UNION ALL SELECT concat_ws('|', display_name, lat, lon) FROM volunteers
    UNION ALL SELECT concat_ws('|', head_name, address, lat, lon) FROM households
) AS lines
"""


@pytest.fixture
async def conn(empty_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the empty database whose work is rolled back, so each seed starts from empty."""
    async with rolled_back(empty_database_url) as connection:
        yield connection


async def _tally(conn: asyncpg.Connection, query: str) -> dict[Any, int]:
    """A `SELECT key, count(*) … GROUP BY key` as a dict."""
    return {row[0]: row[1] for row in await conn.fetch(query)}


async def _row(conn: asyncpg.Connection, query: str, *args: object) -> asyncpg.Record:
    """The one row a query returns."""
    row = await conn.fetchrow(query, *args)
    assert row is not None
    return row


async def _is_personal(conn: asyncpg.Connection, code: str) -> bool:
    """Whether the catalogue item reaches named households."""
    return bool(await conn.fetchval("SELECT personal FROM catalogue_items WHERE code = $1", code))


async def _seed_and_fingerprint(conn: asyncpg.Connection, query: str, **kwargs: object) -> str:
    """Seed inside a savepoint, read the fingerprint, and undo the seed."""
    return await fingerprint_undone(conn, query, seed_into(conn, **kwargs))  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_the_same_seed_gives_the_same_district(conn: asyncpg.Connection) -> None:
    first = await _seed_and_fingerprint(conn, FINGERPRINT, seed=7, scale=0.05, today=TODAY, volunteering=False)
    second = await _seed_and_fingerprint(conn, FINGERPRINT, seed=7, scale=0.05, today=TODAY, volunteering=False)
    other = await _seed_and_fingerprint(conn, FINGERPRINT, seed=8, scale=0.05, today=TODAY, volunteering=False)
    assert first == second
    assert first != other


@pytest.mark.anyio
async def test_names_codes_and_points_do_not_depend_on_the_day(
    conn: asyncpg.Connection, demo_conn: asyncpg.Connection
) -> None:
    # The session's demo district is the same seed seeded today, with its volunteering half (seeding one here took
    # seconds): neither the day nor the volunteering moves a name, code or point.
    earlier = await _seed_and_fingerprint(
        conn, NAMES_CODES_POINTS, seed=DEMO_SEED, scale=DEMO_SCALE, today=TODAY, volunteering=False
    )
    seeded_on = "SELECT (at AT TIME ZONE 'Asia/Shanghai')::date FROM audit_log WHERE action = 'seed.demo'"
    assert await demo_conn.fetchval(seeded_on) != TODAY
    assert earlier == await demo_conn.fetchval(NAMES_CODES_POINTS)


@pytest.mark.anyio
async def test_counts_at_a_twentieth_scale(conn: asyncpg.Connection) -> None:
    report = await seed_into(conn, seed=1, scale=0.05, today=TODAY, volunteering=False)
    counts = {
        table: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("areas", "committees", "funders", "organisations", "volunteers", "households", "accounts",
                      "memberships", "catalogue_items")
    }  # fmt: skip
    assert counts == {
        "areas": 1 + 12 + 8,
        "committees": 8,
        "funders": 12 + 2,
        "organisations": 15,
        "volunteers": 1000,
        "households": 150,
        # The demo logins, and one account for each volunteer but the demo one (who logs in as volunteer.demo).
        "accounts": len(DEMO_LOGINS) + 1000 - 1,
        "memberships": 4,
        "catalogue_items": report.catalogue_items,
    }
    assert (report.committees, report.organisations, report.volunteers, report.households) == (8, 15, 1000, 150)
    assert report.accounts == counts["accounts"]
    assert report.catalogue_items >= 12
    levels = await _tally(conn, "SELECT level, count(*) FROM areas GROUP BY level")
    assert levels == {"district": 1, "subdistrict": 12, "committee": 8}
    kinds = await _tally(conn, "SELECT kind, count(*) FROM funders GROUP BY kind")
    assert kinds == {"subdistrict_office": 12, "community_foundation": 2}
    statuses = await _tally(conn, "SELECT status, count(*) FROM organisations GROUP BY status")
    assert statuses["pending"] >= 1
    assert statuses["suspended"] >= 1
    audit = await conn.fetch("SELECT action, detail FROM audit_log")
    assert [row["action"] for row in audit] == ["seed.demo"]
    assert '"volunteers": 1000' in audit[0]["detail"]
    assert await _is_personal(conn, "respite_care")
    assert not await _is_personal(conn, "food_bank")


@pytest.mark.anyio
async def test_every_demo_login_works_and_belongs_where_its_label_says(conn: asyncpg.Connection) -> None:
    await seed_into(conn, seed=1, scale=0.05, today=TODAY, volunteering=False)
    rows = {
        row["username"]: row
        for row in await conn.fetch(
            """
            SELECT a.username, a.role, a.password_hash, m.role AS membership_role, f.kind AS funder_kind,
                   m.committee_id, o.status AS organisation_status, o.rating, o.rating_expires_on,
                   (SELECT count(*) FROM volunteers v WHERE v.account_id = a.id) AS volunteer_rows
            FROM accounts a
            LEFT JOIN memberships m ON m.account_id = a.id
            LEFT JOIN funders f ON f.id = m.funder_id
            LEFT JOIN organisations o ON o.id = m.organisation_id
            """
        )
    }
    # The demo logins, and the other volunteers' accounts: volunteer.00001 … in the order of their ids.
    others = sorted(username for username in rows if re.fullmatch(r"volunteer\.\d{5}", username))
    assert set(rows) - set(others) == {username for _, username, _ in DEMO_LOGINS}
    assert others == [f"volunteer.{n:05d}" for n in range(1, 1000)]
    assert all(len(password) >= 10 for _, _, password in DEMO_LOGINS)
    # Argon2 is slow by design; checking the seven in threads keeps this test short.
    verified = await asyncio.gather(
        *(
            asyncio.to_thread(verify_password, rows[username]["password_hash"], password)
            for _, username, password in DEMO_LOGINS
        )
    )
    assert verified == [True] * len(DEMO_LOGINS)
    roles = [rows[username]["role"] for _, username, _ in DEMO_LOGINS]
    assert roles == ["admin", "funder", "funder", "committee", "organisation", "volunteer", "reviewer"]
    assert all(rows[username]["membership_role"] is None for username in ("admin", "reviewer.demo"))
    funders = sorted(row["funder_kind"] for row in rows.values() if row["role"] == "funder")
    assert funders == ["community_foundation", "subdistrict_office"]
    committee = next(row for row in rows.values() if row["role"] == "committee")
    assert committee["committee_id"] is not None
    organisation = next(row for row in rows.values() if row["role"] == "organisation")
    assert organisation["organisation_status"] == "verified"
    assert organisation["rating"] == 4
    assert organisation["rating_expires_on"] > TODAY
    volunteer = rows["volunteer.demo"]
    assert volunteer["volunteer_rows"] == 1
    # Every other volunteer logs in with an account of their own, as a volunteer, all with the one demo password
    # (hashed once: the same hash).
    assert await conn.fetchval("SELECT count(*) FROM volunteers WHERE account_id IS NULL") == 0
    assert all(rows[u]["role"] == "volunteer" and rows[u]["volunteer_rows"] == 1 for u in others)
    assert all(rows[u]["membership_role"] is None for u in others)
    assert len({rows[u]["password_hash"] for u in others}) == 1
    assert verify_password(rows[others[0]]["password_hash"], DEMO_VOLUNTEERS_PASSWORD)
    assert not verify_password(rows[others[0]]["password_hash"], "demo-volunteer-2026")


@pytest.mark.anyio
@pytest.mark.slow
async def test_full_scale_district_is_valid_and_realistic(conn: asyncpg.Connection) -> None:
    report = await seed_into(conn, seed=1, scale=1.0, today=TODAY, volunteering=False)
    assert (report.subdistricts, report.committees, report.funders) == (12, 150, 14)
    assert (report.organisations, report.volunteers, report.households) == (300, 20_000, 3_000)
    codes = [row["credit_code"] for row in await conn.fetch("SELECT credit_code FROM organisations")]
    assert len(set(codes)) == 300
    assert all(credit_code.is_valid(code) for code in codes)
    assert all(code[:2] in credit_code.SOCIAL_ORGANISATION_PREFIXES for code in codes)
    assert await conn.fetchval("SELECT bool_and(valid_credit_code(credit_code)) FROM organisations")
    box = await _row(
        conn,
        """
        SELECT min(lat) AS lat_min, max(lat) AS lat_max, min(lon) AS lon_min, max(lon) AS lon_max
        FROM (SELECT lat, lon FROM areas UNION ALL SELECT lat, lon FROM volunteers
              UNION ALL SELECT lat, lon FROM households) AS points
        """,
    )
    assert LAT_RANGE[0] <= box["lat_min"] <= box["lat_max"] <= LAT_RANGE[1]
    assert LON_RANGE[0] <= box["lon_min"] <= box["lon_max"] <= LON_RANGE[1]
    committees = await _row(
        conn,
        "SELECT min(staff_count) AS staff_min, max(staff_count) AS staff_max, min(residents) AS residents_min, "
        "max(residents) AS residents_max, count(DISTINCT name) AS names FROM committees",
    )
    assert (committees["staff_min"], committees["staff_max"]) == (7, 8)
    assert 2_000 <= committees["residents_min"] <= committees["residents_max"] <= 10_000
    assert committees["names"] == 150
    assert await conn.fetchval("SELECT residents FROM committees WHERE name = '开鲁四村居委会'") == 4215
    ratings = await _tally(conn, "SELECT rating, count(*) FROM organisations GROUP BY rating")
    assert ratings[3] + ratings[4] > 150
    assert ratings[None] > 0
    assert await conn.fetchval("SELECT count(*) FROM organisations WHERE rating_expires_on < $1", TODAY) > 0
    assert await conn.fetchval("SELECT count(*) FROM organisations WHERE status = 'suspended'") in (1, 2)
    per_org = await _row(
        conn,
        """
        SELECT min(c) AS categories_min, max(c) AS categories_max, min(a) AS areas_min, max(a) AS areas_max
        FROM (SELECT o.id,
                     (SELECT count(*) FROM organisation_categories oc WHERE oc.organisation_id = o.id) AS c,
                     (SELECT count(*) FROM organisation_areas oa WHERE oa.organisation_id = o.id) AS a
              FROM organisations o) AS counts
        """,
    )
    assert (per_org["categories_min"], per_org["categories_max"]) == (1, 3)
    assert (per_org["areas_min"], per_org["areas_max"]) == (1, 2)
    volunteers = await _row(
        conn,
        """
        SELECT count(*) FILTER (WHERE $1 - birth_year < 18) AS minors,
               count(*) FILTER (WHERE $1 - birth_year >= 60) AS retirees,
               count(*) FILTER (WHERE insured_until IS NOT NULL) AS insured,
               min(travel_km) AS travel_min, max(travel_km) AS travel_max,
               min(weekly_hour_cap) AS cap_min, max(weekly_hour_cap) AS cap_max,
               min(cardinality(skills)) AS skills_min, max(cardinality(skills)) AS skills_max
        FROM volunteers
        """,
        TODAY.year,
    )
    assert 0 < volunteers["minors"] < 1_000
    assert volunteers["retirees"] > 8_000
    assert volunteers["insured"] > 15_000
    assert (float(volunteers["travel_min"]), float(volunteers["travel_max"])) == (3.0, 10.0)
    assert (volunteers["cap_min"], volunteers["cap_max"]) == (4, 20)
    assert (volunteers["skills_min"], volunteers["skills_max"]) == (1, 4)
    assert await conn.fetchval("SELECT count(*) FROM volunteers WHERE $1 - birth_year < 14 AND NOT guardian_consent",
                               TODAY.year) == 0  # fmt: skip
    addresses = [row["address"] for row in await conn.fetch("SELECT address FROM households LIMIT 50")]
    assert all(address.endswith("室") and "弄" in address and "号" in address for address in addresses)


@pytest.mark.anyio
async def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale"):
        await seed_into(None, scale=0)  # type: ignore[arg-type]


# Credit codes (GB 32100-2015).

KNOWN_VALID = "91350100M000100Y43"


def test_a_known_code_is_valid() -> None:
    assert credit_code.is_valid(KNOWN_VALID)
    assert credit_code.check_character(KNOWN_VALID[:17]) == KNOWN_VALID[17]


@pytest.mark.parametrize("position", range(18))
def test_changing_any_one_character_makes_a_code_invalid(position: int) -> None:
    for replacement in credit_code.ALPHABET:
        if replacement != KNOWN_VALID[position]:
            changed = KNOWN_VALID[:position] + replacement + KNOWN_VALID[position + 1 :]
            assert not credit_code.is_valid(changed), changed


@pytest.mark.parametrize(
    "code",
    [
        KNOWN_VALID.lower(),
        KNOWN_VALID[:-1],
        KNOWN_VALID + "0",
        "",
        "91350100M000100Y4 ",
        *(KNOWN_VALID[:8] + letter + KNOWN_VALID[9:] for letter in "IOZSV"),
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not credit_code.is_valid(code)


def test_check_character_refuses_malformed_input() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        credit_code.check_character("91350100M000100Y")
    with pytest.raises(ValueError, match="17 characters"):
        credit_code.check_character("91350100M000100I4")


@pytest.mark.parametrize("prefix", sorted(credit_code.SOCIAL_ORGANISATION_PREFIXES))
def test_made_codes_are_valid_social_organisation_codes(prefix: str) -> None:
    rng = random.Random(prefix)
    for _ in range(200):
        code = credit_code.make_code(rng, prefix=prefix, area="310110")
        assert credit_code.is_valid(code), code
        assert code.startswith(prefix + "310110")


def test_made_codes_without_a_prefix_use_a_social_organisation_prefix() -> None:
    rng = random.Random(5)
    codes = {credit_code.make_code(rng) for _ in range(100)}
    assert all(credit_code.is_valid(code) and code[:2] in ("51", "52", "53") for code in codes)
    assert credit_code.make_code(random.Random(9)) == credit_code.make_code(random.Random(9))


def test_make_code_refuses_a_company_prefix_or_a_bad_area() -> None:
    with pytest.raises(ValueError, match="prefix"):
        credit_code.make_code(random.Random(1), prefix="91")
    with pytest.raises(ValueError, match="area"):
        credit_code.make_code(random.Random(1), area="3101")


@pytest.mark.anyio
async def test_the_database_check_agrees_with_python(empty_database_url: str) -> None:
    rng = random.Random(11)
    codes = [credit_code.make_code(rng) for _ in range(50)]
    codes += [KNOWN_VALID, KNOWN_VALID.lower(), KNOWN_VALID[:-1] + "0", KNOWN_VALID[:8] + "I" + KNOWN_VALID[9:]]
    connection = await asyncpg.connect(empty_database_url)
    try:
        results = await connection.fetch(
            "SELECT code, valid_credit_code(code) AS ok FROM unnest($1::text[]) AS code", codes
        )
    finally:
        await connection.close()
    assert {row["code"]: row["ok"] for row in results} == {code: credit_code.is_valid(code) for code in codes}


# Last, because it commits: if the empty database is shared by the whole module, the tests above still found it empty.
@pytest.mark.anyio
@pytest.mark.slow
async def test_seed_demo_commits_once_and_refuses_a_second_time(empty_database_url: str) -> None:
    assert not await is_seeded(empty_database_url)
    report = await seed_demo(empty_database_url, seed=2, scale=0.02)
    assert report.volunteers == 400
    assert report.seconds > 0
    assert await is_seeded(empty_database_url)
    with pytest.raises(AlreadySeededError):
        await seed_demo(empty_database_url, seed=2, scale=0.02)


@pytest.mark.slow
async def test_the_demo_has_volunteering_this_week(conn: asyncpg.Connection) -> None:
    today = date.today()
    report = await seed_into(conn, seed=1, scale=0.05, today=today)
    made = report.volunteering
    assert made is not None
    assert made.shifts > 50 and made.signups > 50 and made.confirmed_hours_records > 50
    assert made.teams >= 10 and made.team_visits > made.teams and made.roster_proposals >= 2
    monday = today - timedelta(days=today.weekday())
    this_week = await conn.fetchval(
        "SELECT count(*) FROM shifts WHERE starts_at >= $1 AND starts_at < $1 + interval '7 days'",
        datetime.combine(monday, datetime.min.time(), tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    assert this_week > 20
    # Volunteers with histories: confirmed hours on their service record, and coins derived from the ledger.
    with_history = await conn.fetchval("SELECT count(DISTINCT volunteer_id) FROM attendance WHERE status = 'confirmed'")
    assert with_history >= 20
    live_teams = await conn.fetchval("SELECT count(*) FROM teams WHERE status = 'live'")
    assert live_teams == made.teams
