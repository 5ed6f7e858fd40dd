"""Objections (质疑) to a published award, filed during its notice period and answered by the funder."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class ObjectionPublic(msgspec.Struct, frozen=True):
    """What the API may show of an objection to its filer and the funder: its body, its answer, whether overdue."""

    id: int
    tender_id: int
    lot_id: int | None
    filed_at: dt.datetime
    body: str
    reply_due_at: dt.datetime
    reply: str | None
    outcome: str
    replied_at: dt.datetime | None
    overdue: bool


class ObjectionRow(ObjectionPublic, frozen=True):
    """An objection, its answer and whether the answer is overdue, with its lot's number and the filing account."""

    lot_number: int | None
    filed_by: int


_OBJECTION_SELECT = """
SELECT x.id, x.tender_id, x.lot_id, l.number AS lot_number, x.filed_by, x.filed_at, x.body, x.reply_due_at, x.reply,
       x.outcome, x.replied_at, x.outcome = 'pending' AND x.reply_due_at < now() AS overdue
FROM objections x LEFT JOIN lots l ON l.id = x.lot_id
"""
# Filing is allowed only while the tender's notice period runs; the reply is due within the funder's period.
INSERT_OBJECTION = """
INSERT INTO objections (tender_id, lot_id, filed_by, body, reply_due_at)
SELECT t.id, $2, $3, $4, now() + make_interval(days => coalesce(r.objection_reply_days, 5))
FROM tenders t LEFT JOIN funder_rules r ON r.funder_id = t.funder_id
WHERE t.id = $1 AND t.status = 'notice' AND now() BETWEEN t.notice_starts_at AND t.notice_ends_at
RETURNING id
"""
SELECT_OBJECTIONS = (
    _OBJECTION_SELECT + " WHERE x.tender_id = $1 AND ($2::bigint IS NULL OR x.filed_by = $2) ORDER BY x.filed_at, x.id"
)
SELECT_OBJECTION = _OBJECTION_SELECT + " WHERE x.id = $1"
# Only the tender's own funder answers, and only once.
ANSWER_OBJECTION = """
UPDATE objections x SET reply = $3, outcome = $4, replied_at = now()
FROM tenders t
WHERE x.id = $1 AND t.id = x.tender_id AND t.funder_id = $2 AND x.outcome = 'pending'
RETURNING x.id
"""
OBJECTION_OF_FUNDER = """
SELECT x.id FROM objections x JOIN tenders t ON t.id = x.tender_id WHERE x.id = $1 AND t.funder_id = $2
"""


async def insert_objection(
    conn: asyncpg.Connection, *, tender_id: int, lot_id: int | None, filed_by: int, body: str
) -> int | None:
    """File an objection; None when the tender is not in its notice period."""
    found = await conn.fetchval(INSERT_OBJECTION, tender_id, lot_id, filed_by, body)
    return None if found is None else int(found)


async def list_objections(conn: asyncpg.Connection, tender_id: int, filed_by: int | None) -> list[ObjectionRow]:
    """A tender's objections: all of them, or those one account filed."""
    return await fetch_all(conn, SELECT_OBJECTIONS, ObjectionRow, tender_id, filed_by)


async def get_objection(conn: asyncpg.Connection, objection_id: int) -> ObjectionRow | None:
    """One objection."""
    return await fetch_one(conn, SELECT_OBJECTION, ObjectionRow, objection_id)


async def objection_of_funder(conn: asyncpg.Connection, objection_id: int, funder_id: int) -> bool:
    """Whether the objection concerns one of this funder's tenders."""
    return await conn.fetchval(OBJECTION_OF_FUNDER, objection_id, funder_id) is not None


async def answer_objection(
    conn: asyncpg.Connection, objection_id: int, funder_id: int, reply: str, outcome: str
) -> bool:
    """Record the funder's answer; False if not theirs or already answered."""
    return await conn.fetchval(ANSWER_OBJECTION, objection_id, funder_id, reply, outcome) is not None
