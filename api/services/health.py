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

# What PostgreSQL going away looks like through asyncpg: the server shut down or crashed (57P01, 57P02), is
# starting or stopping (57P03), lost the connection (class 08), has no slot left (53300), or is a read-only
# standby after a failover (25006). A cancelled statement (57014, a timeout) is not an outage.
_OUTAGE_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
)


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


async def database_writable(conn: asyncpg.Connection) -> bool:
    """Whether this session may write: off on a standby, or while writes are switched off (raises if no answer)."""
    return bool(await conn.fetchval("SHOW transaction_read_only") == "off")


def _raised_in_asyncpg(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if "/asyncpg/" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def database_outage(exc: BaseException) -> bool:
    """Whether the error means the database cannot be reached or written right now (not a bug, not bad input)."""
    if isinstance(exc, BaseExceptionGroup):
        # A failed request whose connection then also failed to reset reaches us as a group of both.
        return all(database_outage(inner) for inner in exc.exceptions)
    if isinstance(exc, _OUTAGE_ERRORS):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # A pool connection that dies is released under the request holding it (our code never releases one
        # early), so using it afterwards says "released back to the pool" rather than "closed".
        return any(words in str(exc) for words in ("connection is closed", "released back to the pool"))
    if isinstance(exc, asyncpg.InternalClientError):
        # A connection that an outage left in the middle of an operation, handed out after the outage ended (so the
        # pool's check during an outage did not see it), fails its next statement so; the pool drops it on release.
        return "another operation" in str(exc) and "in progress" in str(exc)
    if isinstance(exc, ConnectionError | TimeoutError):
        # Refused or reset while connecting, or no answer in the connect timeout.
        return True
    # Connecting to a host with several addresses fails with a plain OSError ("Multiple exceptions: …"); any other
    # OSError (a file, say) is a bug, so only one raised on asyncpg's way to the server counts.
    return isinstance(exc, OSError) and _raised_in_asyncpg(exc)
