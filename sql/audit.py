"""The append-only, hash-chained audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec


class AuditRow(msgspec.Struct, frozen=True):
    """One audit entry."""

    id: int
    at: dt.datetime
    actor_account_id: int | None
    actor_username: str | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


class ChainBreak(msgspec.Struct, frozen=True):
    """A row whose stored hash or link does not match what its contents give."""

    id: int
    reason: str


INSERT_AUDIT = """
INSERT INTO audit_log (actor_account_id, action, object_type, object_id, detail)
VALUES ($1, $2, $3, $4, $5::jsonb)
"""
SELECT_AUDIT = """
SELECT l.id, l.at, l.actor_account_id, a.username AS actor_username, l.action, l.object_type, l.object_id,
       l.detail::text AS detail
FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_account_id
WHERE ($1::text IS NULL OR l.action LIKE $1 || '%')
ORDER BY l.id DESC LIMIT $2 OFFSET $3
"""
# Recompute every row's hash from its contents and its predecessor's stored hash.
VERIFY_AUDIT_CHAIN = """
SELECT id,
       CASE
         WHEN prev_hash IS DISTINCT FROM coalesce(lag(hash) OVER w, '\\x'::bytea) THEN 'link'
         WHEN hash <> audit_row_hash(prev_hash, id, at, actor_account_id, action, object_type, object_id, detail)
           THEN 'content'
       END AS reason
FROM audit_log
WINDOW w AS (ORDER BY id)
ORDER BY id
"""


async def append(
    conn: asyncpg.Connection,
    *,
    actor_account_id: int | None,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry; the database chains its hash to the previous entry."""
    await conn.execute(
        INSERT_AUDIT,
        actor_account_id,
        action,
        object_type,
        str(object_id),
        msgspec.json.encode(detail or {}).decode(),
    )


async def list_entries(conn: asyncpg.Connection, action_prefix: str | None, limit: int, offset: int) -> list[AuditRow]:
    """The newest entries first, optionally those whose action starts with a prefix."""
    rows = await conn.fetch(SELECT_AUDIT, action_prefix, limit, offset)
    return [
        AuditRow(
            id=r["id"],
            at=r["at"],
            actor_account_id=r["actor_account_id"],
            actor_username=r["actor_username"],
            action=r["action"],
            object_type=r["object_type"],
            object_id=r["object_id"],
            detail=msgspec.json.decode(r["detail"]),
        )
        for r in rows
    ]


async def verify_chain(conn: asyncpg.Connection) -> list[ChainBreak]:
    """Every row whose hash or link is wrong; empty when the log is intact."""
    rows = await conn.fetch(VERIFY_AUDIT_CHAIN)
    return [ChainBreak(id=r["id"], reason=r["reason"]) for r in rows if r["reason"] is not None]
