"""The append-only audit log: writers append freely, one sealer chains the committed rows (migration 0017)."""

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


class Unsealed(msgspec.Struct, frozen=True):
    """The rows not sealed yet: how many, and the age of the oldest (seconds)."""

    rows: int
    oldest_age_s: float


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
# Recompute every sealed row's hash from its contents and its predecessor's stored hash, in chain order; a missing
# place in the chain (a deleted row) shows as the next row's broken link.
VERIFY_AUDIT_CHAIN = """
SELECT id,
       CASE
         WHEN prev_hash IS DISTINCT FROM coalesce(lag(hash) OVER w, '\\x'::bytea)
           OR seq <> coalesce(lag(seq) OVER w, 0) + 1 THEN 'link'
         WHEN hash <> audit_row_hash(prev_hash, id, at, actor_account_id, action, object_type, object_id, detail)
           THEN 'content'
       END AS reason
FROM audit_log
WHERE seq IS NOT NULL
WINDOW w AS (ORDER BY seq)
ORDER BY seq
"""
SEAL_AUDIT = "SELECT audit_log_seal($1)"
SELECT_UNSEALED = """
SELECT count(*) AS rows, coalesce(extract(epoch FROM now() - min(at)), 0)::float8 AS oldest_age_s
FROM audit_log WHERE seq IS NULL
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
    """Append one entry, unsealed; the sealer chains it soon after its transaction commits."""
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


async def seal(conn: asyncpg.Connection, batch: int = 5000) -> int:
    """Chain up to `batch` committed, unsealed entries; how many were sealed (0 when another sealer is at work)."""
    async with conn.transaction():
        return int(await conn.fetchval(SEAL_AUDIT, batch))


async def unsealed(conn: asyncpg.Connection) -> Unsealed:
    """How many entries wait for the sealer, and for how long the oldest has waited."""
    row = await conn.fetchrow(SELECT_UNSEALED)
    assert row is not None
    return Unsealed(rows=row["rows"], oldest_age_s=row["oldest_age_s"])
