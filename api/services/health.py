"""Readiness: are PostgreSQL and Redis reachable."""

from __future__ import annotations

import asyncpg
import msgspec


class Readiness(msgspec.Struct, frozen=True):
    """Whether each backing service answered."""

    database: bool
    redis: bool
    migrations: int

    @property
    def ready(self) -> bool:
        """Both answered."""
        return self.database and self.redis


async def database_ready(conn: asyncpg.Connection) -> int:
    """How many migrations are applied (raises if the database does not answer)."""
    return int(await conn.fetchval("SELECT count(*) FROM schema_migrations"))


async def database_writable(conn: asyncpg.Connection) -> bool:
    """Whether this session may write: off on a standby, or while writes are switched off (raises if no answer)."""
    return bool(await conn.fetchval("SHOW transaction_read_only") == "off")
