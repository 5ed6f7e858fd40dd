"""The time-bank demo seed: volunteers with histories, a balanced ledger within the rules, the same per rng."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import asyncpg

from api.demo import seed_into
from api.demo.timebank import seed_timebank
from tests.helpers import fingerprint_undone

TODAY = dt.date(2026, 11, 20)

FINGERPRINT = """
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT s.title || s.starts_at::text || a.status || a.minutes::text || v.display_name AS x
    FROM attendance a JOIN shifts s ON s.id = a.shift_id JOIN volunteers v ON v.id = a.volunteer_id
    UNION ALL
    SELECT t.kind || coalesce(t.service, '') || e.minutes::text || e.bucket
    FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
) rows
"""


async def _seeded(conn: asyncpg.Connection, seed: int):
    await seed_into(conn, seed=1, scale=0.05, today=TODAY, volunteering=False)
    report = await seed_timebank(conn, random.Random(seed), TODAY)
    # The ledger's deferred checks (each transaction sums to zero, nobody overdrawn) run now, not at commit.
    await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return report


async def test_volunteers_get_histories_and_balances_within_the_rules(conn):
    report = await _seeded(conn, 5)
    assert report.shifts == 56 and report.confirmed > 100 and report.volunteers_with_coins > 20
    # The report counts what was written: eight weeks of shifts, one place and one attendance per volunteer on each.
    written = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM shifts) AS shifts, (SELECT count(*) FROM signups) AS signups,"
        " (SELECT count(*) FROM attendance) AS attendance,"
        " (SELECT count(*) FROM attendance WHERE status = 'confirmed') AS confirmed,"
        " (SELECT count(*) FROM ledger_transactions) AS transactions"
    )
    assert dict(written) == {
        "shifts": report.shifts,
        "signups": report.signups,
        "attendance": report.attendance,
        "confirmed": report.confirmed,
        "transactions": report.transactions,
    }
    assert report.signups == report.attendance
    assert await conn.fetchval("SELECT sum(minutes) FROM ledger_entries") == 0
    negative = await conn.fetchval(
        "SELECT count(*) FROM (SELECT account_id, bucket, sum(minutes) AS m FROM ledger_entries e"
        " JOIN ledger_accounts a ON a.id = e.account_id WHERE a.kind = 'volunteer'"
        " GROUP BY account_id, bucket) b WHERE m < 0"
    )
    assert negative == 0
    kinds = {r["kind"] for r in await conn.fetch("SELECT DISTINCT kind FROM ledger_transactions")}
    assert kinds == {"earn", "give", "spend", "donate"}
    statuses = {r["status"] for r in await conn.fetch("SELECT DISTINCT status FROM attendance")}
    assert {"confirmed", "pending", "rejected"} <= statuses
    demo = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE a.status = 'confirmed') AS confirmed,"
        " (SELECT sum(e.minutes) FROM ledger_entries e JOIN ledger_accounts la ON la.id = e.account_id"
        "  WHERE la.volunteer_id = v.id) AS balance"
        " FROM volunteers v JOIN accounts u ON u.id = v.account_id LEFT JOIN attendance a ON a.volunteer_id = v.id"
        " WHERE u.username = 'volunteer.demo' GROUP BY v.id"
    )
    assert demo["confirmed"] >= 10 and demo["balance"] > 0
    # Nothing is dated after the day the demo was seeded for: no confirmation and no transfer tomorrow.
    end_of_today = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(0), ZoneInfo("Asia/Shanghai"))
    future = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM ledger_transactions WHERE created_at >= $1) AS transactions,"
        " (SELECT count(*) FROM attendance WHERE confirmed_at >= $1 OR checked_out_at >= $1) AS attendance",
        end_of_today,
    )
    assert dict(future) == {"transactions": 0, "attendance": 0}


async def test_the_same_rng_gives_the_same_histories(conn):
    prints = [await fingerprint_undone(conn, FINGERPRINT, _seeded(conn, seed)) for seed in (5, 5, 6)]
    assert prints[0] == prints[1] != prints[2]
