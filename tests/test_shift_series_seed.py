"""The demo shifts seed: this week's one-off shifts and weekly series across the district, places never oversold
or overlapping, the demo volunteer's profile and places; the same seed and day give the same shifts."""

from __future__ import annotations

import datetime as dt
import random

import asyncpg

from api.demo import seed_into
from api.demo.shifts import seed_shifts
from api.services.types import SHANGHAI
from tests.helpers import fingerprint_undone

FINGERPRINT = """
SELECT md5(string_agg(concat_ws('|', title, place_name, starts_at, headcount, taken, required_certificates,
                                 series_id IS NOT NULL), ';' ORDER BY starts_at, title, place_name, taken))
FROM shifts
"""


async def _seeded(conn: asyncpg.Connection, seed: str, today: dt.date):
    await seed_into(conn, seed=1, scale=0.05, today=today, volunteering=False)
    return await seed_shifts(conn, random.Random(seed), today)


async def test_the_seed_fills_this_week_safely(conn: asyncpg.Connection) -> None:
    today = dt.datetime.now(SHANGHAI).date()
    report = await _seeded(conn, "shifts", today)
    assert report.series == 4 and report.series_shifts > 0 and report.shifts > 100
    assert report.signups > 0 and report.waitlisted > 0
    assert not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM volunteers WHERE guardian_consent AND guardian_name IS NULL)"
    )
    monday = today - dt.timedelta(days=today.weekday())
    this_week = await conn.fetchval(
        "SELECT count(*) FROM shifts WHERE (starts_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1 AND $2",
        today,
        monday + dt.timedelta(days=6),
    )
    assert this_week > 0
    publishers = await conn.fetchval("SELECT count(DISTINCT coalesce(organisation_id, -committee_id)) FROM shifts")
    assert publishers >= 10
    oversold = await conn.fetchval(
        "SELECT count(*) FROM shifts s WHERE taken <> (SELECT count(*) FROM signups g"
        " WHERE g.shift_id = s.id AND g.status = 'active') OR taken > headcount"
    )
    assert oversold == 0
    # Only full shifts have people waiting.
    assert await conn.fetchval(
        "SELECT bool_and(s.taken = s.headcount) FROM signups g JOIN shifts s ON s.id = g.shift_id"
        " WHERE g.status = 'waitlisted'"
    )
    # Series shifts sit at their rule's Beijing wall time and skip the exception dates.
    rows = await conn.fetch(
        "SELECT r.starts, r.exceptions, s.starts_at FROM shifts s JOIN shift_series r ON r.id = s.series_id"
    )
    assert all(r["starts_at"].astimezone(SHANGHAI).time() == r["starts"] for r in rows)
    assert not any(r["starts_at"].astimezone(SHANGHAI).date() in r["exceptions"] for r in rows)
    demo = await conn.fetchrow(
        "SELECT v.id, v.dialects FROM volunteers v JOIN accounts a ON a.id = v.account_id"
        " WHERE a.username = 'volunteer.demo'"
    )
    assert demo["dialects"] == ["上海话", "宁波话"]
    kinds = await conn.fetch(
        "SELECT kind FROM volunteer_certificates WHERE volunteer_id = $1 ORDER BY kind", demo["id"]
    )
    assert [k["kind"] for k in kinds] == ["first_aid", "health"]
    assert await conn.fetchval("SELECT count(*) FROM volunteer_availability WHERE volunteer_id = $1", demo["id"]) == 3
    assert report.demo_places == await conn.fetchval(
        "SELECT count(*) FROM signups WHERE volunteer_id = $1 AND status = 'active'", demo["id"]
    )


async def test_the_same_seed_and_day_give_the_same_shifts(conn: asyncpg.Connection) -> None:
    # A day a week ahead keeps every shift in the future, so nothing depends on the hour the test runs.
    today = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=7)
    prints = [await fingerprint_undone(conn, FINGERPRINT, _seeded(conn, seed, today)) for seed in ("a", "a", "b")]
    assert prints[0] == prints[1] != prints[2]
