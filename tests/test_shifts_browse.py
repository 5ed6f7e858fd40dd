"""Browse at city scale answers exactly as the plain statement did: same rows, reasons, order and pages."""

from __future__ import annotations

import datetime as dt
import math
import random

import asyncpg

from sql import shifts as shifts_sql
from sql.shifts import _MY_STATUS, _REASONS, _SHIFT_COLUMNS, _SHIFT_FROM
from tests.factories import create_committee
from tests.factories_shifts import FAR_EXPIRY, add_signup, create_shift, soon, volunteer_identity
from tests.factories_tendering import create_household

# The statement browse ran before issue #13: every reason for every open shift to come, then sort and page. Kept
# here only as the reference the fast one must equal.
REFERENCE = f"""
SELECT * FROM (
    SELECT {_SHIFT_COLUMNS}, {_REASONS}, {_MY_STATUS}
    {_SHIFT_FROM} CROSS JOIN volunteers v
    WHERE v.id = $1 AND s.status = 'open' AND s.starts_at > now()
) x
WHERE NOT $2 OR cardinality(reasons) = 0
ORDER BY cardinality(reasons) = 0 DESC, starts_at, distance_km, id
LIMIT $3 OFFSET $4
"""
HOME = (31.281, 121.521)
ALL_REASONS = {
    "skills", "certificates", "age", "age_unverified", "guardian", "insurance", "minor_group", "hours_cap",
    "overlap", "availability", "consent", "distance",
}  # fmt: skip


async def _scene(conn: asyncpg.Connection) -> tuple[list[int], int]:
    """Three volunteers at HOME and open shifts around them that are eligible or not for each reason; the
    volunteers' ids and how many open shifts are to come."""
    rng = random.Random(13)
    adult = await volunteer_identity(
        conn, skills=["first_aid"], birth_year=1990, travel_km=3, weekly_hour_cap=8, lat=HOME[0], lon=HOME[1]
    )
    unproven = await volunteer_identity(
        conn, verified=False, birth_year=1985, travel_km=15, insured_until=FAR_EXPIRY, lat=HOME[0], lon=HOME[1]
    )
    child = await volunteer_identity(
        conn, verified=False, birth_year=dt.date.today().year - 12, travel_km=5, lat=HOME[0], lon=HOME[1]
    )
    ids = [v.volunteer_id for v in (adult, unproven, child)]
    assert None not in ids
    first, second, third = (soon(3, 9), soon(4, 14), soon(20, 8))
    # Several shifts at each start time, near ones at various distances (and some at the very same place, so that
    # the id decides), far ones among them.
    for starts in (first, second, soon(6, 10)):
        for _ in range(6):
            north = rng.choice((0.0, 0.0, 0.004, 0.009, 0.02))
            await create_shift(conn, starts_at=starts, lat=HOME[0] + north, lon=HOME[1] + rng.uniform(0, 0.01))
        for far in (0.08, 0.15, 0.5):
            await create_shift(conn, starts_at=starts, lat=HOME[0] + far, lon=HOME[1])
    # Due north and due east of the adult, just inside and just outside their 3 km: the box must hold the inside ones.
    for km in (2.98, 3.02):
        arc = math.degrees(km / 6378.168)
        await create_shift(conn, starts_at=second, lat=HOME[0] + arc, lon=HOME[1])
        await create_shift(conn, starts_at=second, lat=HOME[0], lon=HOME[1] + arc / math.cos(math.radians(HOME[0])))
    near = {"starts_at": first, "lat": HOME[0] + 0.001, "lon": HOME[1]}
    await create_shift(conn, required_skills=["cooking"], **near)
    await create_shift(conn, required_certificates=["health"], **near)
    await create_shift(conn, insurance_required=True, **near)
    await create_shift(conn, min_age=60, **{**near, "starts_at": second})
    await create_shift(conn, min_age=18, **{**near, "starts_at": second})
    await create_shift(conn, minors_in_groups_only=True, headcount=4, **{**near, "starts_at": second})
    committee_id = await create_committee(conn)
    home_visit = await create_household(conn, committee_id)
    await create_shift(conn, committee_id=committee_id, household_id=home_visit, **near)
    # The adult holds seven hours on the third day: another shift that week breaks their cap of 8, one at the same
    # time overlaps too.
    held = await create_shift(conn, starts_at=third, hours=7, lat=HOME[0], lon=HOME[1])
    await add_signup(conn, held, ids[0])
    await create_shift(conn, starts_at=third + dt.timedelta(hours=9), lat=HOME[0], lon=HOME[1])
    await create_shift(conn, starts_at=third + dt.timedelta(hours=2), lat=HOME[0], lon=HOME[1])
    # The unproven adult is free only on the first day's weekday mornings and away on the second day.
    await conn.execute(
        "INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, '07:00', '12:00')",
        ids[1],
        first.isoweekday(),
    )
    await conn.execute(
        "INSERT INTO availability_exceptions (volunteer_id, during, available) VALUES ($1, tstzrange($2, $3), false)",
        ids[1],
        second - dt.timedelta(hours=1),
        second + dt.timedelta(hours=6),
    )
    # Not listed: a shift that has started and one called off.
    await create_shift(conn, starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), lat=HOME[0], lon=HOME[1])
    await create_shift(conn, status="cancelled", **near)
    to_come = await conn.fetchval("SELECT count(*) FROM shifts WHERE status = 'open' AND starts_at > now()")
    return ids, int(to_come)


async def _same(conn: asyncpg.Connection, volunteer_id: int, eligible_only: bool, limit: int, offset: int) -> list:
    args = (volunteer_id, eligible_only, limit, offset)
    expected = [dict(r) for r in await conn.fetch(REFERENCE, *args)]
    assert [dict(r) for r in await conn.fetch(shifts_sql.SELECT_SHIFTS_FOR_VOLUNTEER, *args)] == expected, args
    return expected


async def test_browse_answers_every_page_as_the_plain_statement_did(conn):
    ids, to_come = await _scene(conn)
    seen: set[str] = set()
    for volunteer_id in ids:
        whole = await _same(conn, volunteer_id, False, 100, 0)
        assert len(whole) == to_come
        seen.update(reason for row in whole for reason in row["reasons"])
        eligible = await _same(conn, volunteer_id, True, 100, 0)
        assert all(row["reasons"] == [] for row in eligible)
        e = len(eligible)
        for eligible_only in (False, True):
            end = e if eligible_only else to_come
            # Every page of four, and single rows where the eligible part ends and where the list does.
            for offset in range(0, end + 2):
                await _same(conn, volunteer_id, eligible_only, 4, offset)
            for offset in {0, max(e - 1, 0), e, e + 1, max(end - 1, 0), end}:
                await _same(conn, volunteer_id, eligible_only, 1, offset)
    # The scene is varied enough to mean something: every reason occurs, and the eligible parts differ in size
    # (the child is eligible for nothing).
    assert seen == ALL_REASONS
    sizes = [len(await _same(conn, v, True, 100, 0)) for v in ids]
    assert sizes[0] > 4 and sizes[2] == 0 and len(set(sizes)) == 3
    edge = [r["distance_km"] for r in await _same(conn, ids[0], False, 100, 0) if 2.9 < r["distance_km"] < 3.1]
    inside = [r["distance_km"] for r in await _same(conn, ids[0], True, 100, 0) if 2.9 < r["distance_km"] < 3.1]
    assert len(edge) == 4 and len(inside) == 2 and max(inside) < 3 < min(set(edge) - set(inside))
