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
