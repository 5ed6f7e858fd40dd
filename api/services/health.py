"""Readiness: do PostgreSQL and Redis answer, and which one does not."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import msgspec

from api.services.runs import QUEUE_DOWN

# A check that takes longer than this counts as down: a load balancer must get its answer quickly.
CHECK_TIMEOUT_S = 2.0
# What a caller is told to wait before asking again while a dependency is down.
RETRY_AFTER_S = 5


class Readiness(msgspec.Struct, frozen=True):
    """Whether each backing service answered, and how many migrations the database holds."""

    database: bool
    redis: bool
    migrations: int

    @property
    def ready(self) -> bool:
        """Both answered."""
        return self.database and self.redis

    @property
    def down(self) -> list[str]:
        """The dependencies that did not answer, by name ("database", "redis")."""
        return [name for name, up in (("database", self.database), ("redis", self.redis)) if not up]


async def database_ready(conn: asyncpg.Connection) -> int:
    """How many migrations are applied (raises if the database does not answer)."""
    return int(await conn.fetchval("SELECT count(*) FROM schema_migrations"))


async def _migrations(pool: Any) -> int | None:
    """The applied migrations' count, or None when PostgreSQL does not answer in time."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            async with pool.acquire() as conn:
                return await database_ready(conn)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None


async def _redis_answers(redis: Any) -> bool:
    """Whether Redis answers PING in time."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return bool(await redis.ping())
    except QUEUE_DOWN:
        return False


async def readiness(pool: Any, redis: Any) -> Readiness:
    """Ask PostgreSQL (through the app's pool) and Redis at once."""
    migrations, redis_up = await asyncio.gather(_migrations(pool), _redis_answers(redis))
    return Readiness(database=migrations is not None, redis=redis_up, migrations=migrations or 0)
