"""The audit log: what a use case records of its caller's step, the admin's view and the tamper check."""

from __future__ import annotations

from typing import Any

import asyncpg

from api.services.accounts import Identity
from api.services.errors import Forbidden
from sql import audit


async def record(
    conn: asyncpg.Connection,
    who: Identity,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit a step the caller took (they are the actor), inside the use case's transaction."""
    await audit.append(
        conn,
        actor_account_id=who.account_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )


async def entries(
    conn: asyncpg.Connection, who: Identity, action_prefix: str | None, limit: int, offset: int
) -> list[audit.AuditRow]:
    """The newest audit entries; admins only."""
    if who.role != "admin":
        raise Forbidden("Only an admin may read the audit log")
    return await audit.list_entries(conn, action_prefix, limit, offset)


async def verify(conn: asyncpg.Connection) -> list[audit.ChainBreak]:
    """Rows whose hash chain is broken; empty when the log is intact."""
    return await audit.verify_chain(conn)


async def seal(conn: asyncpg.Connection) -> int:
    """Chain the committed entries that wait for it; how many were sealed."""
    return await audit.seal(conn)


async def unsealed(conn: asyncpg.Connection) -> audit.Unsealed:
    """The entries not sealed yet (a few seconds' worth while the worker runs)."""
    return await audit.unsealed(conn)
