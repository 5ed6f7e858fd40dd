"""Use cases for the audit log: the admin's view and the tamper check."""

from __future__ import annotations

import asyncpg

from api.services.accounts import Identity
from api.services.errors import Forbidden
from sql import audit


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
