"""The demo marketplace: tenders at every stage for the demo logins, consistent with the use cases, deterministic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest

from api.demo import seed_into
from api.services import contracts, dashboard
from api.services.accounts import Identity
from sql import contracts as contracts_sql
from tests.conftest import rolled_back
from tests.helpers import fingerprint_undone

TODAY = date(2026, 3, 2)

# One query per stage: what a newcomer should find at each step of the flow.
STAGES = {
    "open for bids, with sealed bids": """
        SELECT count(*) FROM tenders t WHERE t.status = 'open' AND t.bids_close_at > now()
          AND EXISTS (SELECT 1 FROM lots l JOIN bids b ON b.lot_id = l.id WHERE l.tender_id = t.id)""",
    "in review after the deadline, with reviewer scores": """
        SELECT count(*) FROM tenders t WHERE t.status = 'review' AND t.bids_close_at <= now()
          AND EXISTS (SELECT 1 FROM tender_reviewers r WHERE r.tender_id = t.id)
          AND EXISTS (SELECT 1 FROM lots l JOIN bids b ON b.lot_id = l.id JOIN reviews v ON v.bid_id = b.id
                      WHERE l.tender_id = t.id)""",
    "awarded by a succeeded run, awaiting publication": """
        SELECT count(*) FROM tenders t WHERE t.status = 'awarded'
          AND EXISTS (SELECT 1 FROM match_runs m WHERE m.subject_type = 'tender' AND m.subject_id = t.id
                      AND m.status = 'succeeded' AND m.result IS NOT NULL)
          AND EXISTS (SELECT 1 FROM lots l JOIN awards a ON a.lot_id = l.id WHERE l.tender_id = t.id
                      AND a.status = 'proposed')""",
    "in its notice period, with an objection pending": """
        SELECT count(*) FROM tenders t WHERE t.status = 'notice'
          AND now() BETWEEN t.notice_starts_at AND t.notice_ends_at
          AND EXISTS (SELECT 1 FROM lots l JOIN awards a ON a.lot_id = l.id WHERE l.tender_id = t.id
                      AND a.status = 'published')
          AND EXISTS (SELECT 1 FROM objections o WHERE o.tender_id = t.id AND o.outcome = 'pending')""",
    "notice over, award ready for its contract": """
        SELECT count(*) FROM tenders t JOIN lots l ON l.tender_id = t.id JOIN awards a ON a.lot_id = l.id
        WHERE t.status = 'notice' AND t.notice_ends_at < now() AND a.status = 'published'
          AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.award_id = a.id)
          AND NOT EXISTS (SELECT 1 FROM objections o WHERE o.tender_id = t.id AND o.outcome <> 'rejected')""",
    "under contract, some milestones paid": """
        SELECT count(*) FROM tenders t WHERE t.status = 'contracting' AND t.notice_ends_at < now()
          AND EXISTS (SELECT 1 FROM lots l JOIN awards a ON a.lot_id = l.id JOIN contracts c ON c.award_id = a.id
                      JOIN milestones m ON m.contract_id = c.id JOIN payments p ON p.milestone_id = m.id
                      WHERE l.tender_id = t.id AND c.status = 'active' AND EXISTS (
                          SELECT 1 FROM milestones u WHERE u.contract_id = c.id AND u.status <> 'accepted'))""",
    "closed with a performance grade": """
        SELECT count(*) FROM tenders t WHERE t.status = 'closed'
          AND NOT EXISTS (SELECT 1 FROM lots l JOIN awards a ON a.lot_id = l.id
                          LEFT JOIN contracts c ON c.award_id = a.id WHERE l.tender_id = t.id AND c.grade IS NULL)
          AND EXISTS (SELECT 1 FROM lots l JOIN awards a ON a.lot_id = l.id JOIN contracts c ON c.award_id = a.id
                      WHERE l.tender_id = t.id)""",
    "cancelled": "SELECT count(*) FROM tenders WHERE status = 'cancelled'",
}

FINGERPRINT = """
SELECT md5(string_agg(line, E'\\n' ORDER BY line)) FROM (
    SELECT concat_ws('|', 'need', n.title, n.beneficiaries, n.lat, n.lon, n.starts_on, n.status, n.urgency) AS line
    FROM needs n
    UNION ALL SELECT concat_ws('|', 'tender', t.title, t.status, t.bids_close_at, t.notice_ends_at) FROM tenders t
    UNION ALL SELECT concat_ws('|', 'lot', l.title, l.budget_fen, l.status) FROM lots l
    -- Not the receipt: it hashes the bid's ids, which come from sequences that a rollback does not rewind.
    UNION ALL SELECT concat_ws('|', 'bid', o.credit_code, b.price_fen, b.hours, b.plan, b.team, b.public_id)
              FROM bids b JOIN organisations o ON o.id = b.organisation_id
    UNION ALL SELECT concat_ws('|', 'review', r.scores::text, r.quality_score) FROM reviews r
    UNION ALL SELECT concat_ws('|', 'award', a.price_fen, a.score, a.status, a.reasons::text) FROM awards a
    UNION ALL SELECT concat_ws('|', 'contract', c.amount_fen, c.sign_by, c.starts_on, c.status, c.grade)
              FROM contracts c
    UNION ALL SELECT concat_ws('|', 'milestone', m.seq, m.amount_fen, m.due_on, m.status) FROM milestones m
    UNION ALL SELECT concat_ws('|', 'payment', p.amount_fen, p.paid_at) FROM payments p
) AS lines
"""


@pytest.fixture
async def conn(empty_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to an empty database whose work is rolled back."""
    async with rolled_back(empty_database_url) as connection:
        yield connection


async def _fingerprint(conn: asyncpg.Connection, seed: int, today: date) -> str:
    seeding = seed_into(conn, seed=seed, scale=0.05, today=today, volunteering=False)
    return await fingerprint_undone(conn, FINGERPRINT, seeding)


async def test_every_stage_is_there(conn: asyncpg.Connection) -> None:
    report = await seed_into(
        conn, seed=1, scale=0.05, today=TODAY + timedelta((date.today() - TODAY).days), volunteering=False
    )
    found = {stage: await conn.fetchval(query) for stage, query in STAGES.items()}
    assert all(n >= 1 for n in found.values()), found
    assert report.tenders == await conn.fetchval("SELECT count(*) FROM tenders")
    assert report.contracts == 3
    committees = await conn.fetchval("SELECT count(DISTINCT committee_id) FROM needs")
    assert committees >= 4


async def test_the_demo_logins_see_their_part(conn: asyncpg.Connection) -> None:
    await seed_into(conn, seed=1, scale=0.05, today=date.today(), volunteering=False)
    account = {r["username"]: r for r in await conn.fetch(
        "SELECT a.id, a.username, m.funder_id, m.organisation_id, m.committee_id FROM accounts a"
        " LEFT JOIN memberships m ON m.account_id = a.id"
    )}  # fmt: skip
    funder, org = account["funder.yinhang"], account["org.leling"]
    owned = await conn.fetchval("SELECT count(DISTINCT status) FROM tenders WHERE funder_id = $1", funder["funder_id"])
    assert owned >= 7
    assert await conn.fetchval("SELECT count(*) FROM tenders WHERE funder_id = $1",
                               account["funder.jiangpu"]["funder_id"]) >= 1  # fmt: skip
    assert await conn.fetchval("SELECT count(*) FROM bids WHERE organisation_id = $1", org["organisation_id"]) >= 4
    assert await conn.fetchval("SELECT count(*) FROM contracts WHERE organisation_id = $1 AND status = 'active'",
                               org["organisation_id"]) == 1  # fmt: skip
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM tender_reviewers r JOIN tenders t ON t.id = r.tender_id"
            " WHERE r.account_id = $1 AND t.status = 'review'",
            account["reviewer.demo"]["id"],
        )
        == 1
    )
    assert await conn.fetchval("SELECT count(*) FROM needs WHERE committee_id = $1",
                               account["committee.kailu4"]["committee_id"]) >= 3  # fmt: skip
    # The use cases read the seeded rows as they read their own.
    who = Identity(account_id=funder["id"], username="funder.yinhang", display_name="", role="funder",
                   locale="zh_CN", funder_id=funder["funder_id"])  # fmt: skip
    board = await dashboard.dashboard(conn, who)
    assert board.totals.committed_fen > board.totals.awarded_fen > board.totals.paid_fen > 0
    mine = await contracts.list_contracts(conn, who, status=None, limit=10, offset=0)
    assert mine.total == 3
    assert len(await contracts.ready_awards(conn, who)) == 1
    for contract in mine.items:
        detail = await contracts.get_contract(conn, who, contract.id)
        assert sum(m.amount_fen for m in detail.milestones) == contract.amount_fen
        assert contract.paid_fen == sum(m.paid_fen or 0 for m in detail.milestones)
    # Instalments paid never exceed what was accepted, and an unqualified grade bars its organisation now.
    barred = await conn.fetchval("SELECT organisation_id FROM contracts WHERE grade = 'unqualified'")
    assert await contracts_sql.barred_until(conn, barred) is not None
    assert await contracts_sql.barred_until(conn, org["organisation_id"]) is None


async def test_the_same_seed_gives_the_same_marketplace(conn: asyncpg.Connection) -> None:
    first = await _fingerprint(conn, 4, TODAY)
    second = await _fingerprint(conn, 4, TODAY)
    other = await _fingerprint(conn, 5, TODAY)
    assert first == second
    assert first != other


async def test_a_funder_verified_the_demo_organisations_but_one(conn: asyncpg.Connection) -> None:
    await seed_into(conn, seed=1, scale=0.05, today=date.today(), volunteering=False)
    rows = await conn.fetch(
        """
        SELECT o.id, o.rating IS NOT NULL AS rated, o.capacity_check_id IS NOT NULL AS capacity_verified,
               o.rating_check_id IS NOT NULL AS rating_verified,
               EXISTS (SELECT 1 FROM bids b WHERE b.organisation_id = o.id) AS bid
        FROM organisations o
        """
    )
    declared_only = [r for r in rows if not r["capacity_verified"]]
    assert len(declared_only) == 1 and not declared_only[0]["bid"] and declared_only[0]["rated"]
    assert all(r["rating_verified"] == r["rated"] for r in rows if r["capacity_verified"])
    deciders = await conn.fetch(
        "SELECT DISTINCT a.username FROM organisation_checks c JOIN accounts a ON a.id = c.decided_by"
    )
    assert [r["username"] for r in deciders] == ["funder.yinhang"]
