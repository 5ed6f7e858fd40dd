"""Readiness: are PostgreSQL and Redis reachable."""

from __future__ import annotations

import asyncpg
import msgspec

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
    if isinstance(exc, ConnectionError | TimeoutError):
        # Refused or reset while connecting, or no answer in the connect timeout.
        return True
    # Connecting to a host with several addresses fails with a plain OSError ("Multiple exceptions: …"); any other
    # OSError (a file, say) is a bug, so only one raised on asyncpg's way to the server counts.
    return isinstance(exc, OSError) and _raised_in_asyncpg(exc)
