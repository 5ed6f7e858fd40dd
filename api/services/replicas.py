"""Reads from PostgreSQL streaming replicas: each is used only while it is at most a bound behind the primary."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog

from api.services.health import CHECK_TIMEOUT_S
from sql import operations as operations_sql

log = structlog.get_logger("linli.replicas")
# How often one web process asks a replica how far behind it is; requests between two checks use the last answer.
CHECK_EVERY_S = 1.0
# Who wrote reads from the primary for the bound plus this (the check's age, clocks) before a replica may serve it.
WROTE_MARGIN_S = 2.0
# Requests that cannot write: they neither need nor set the write cookie.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_your_writes_s(max_lag_s: float) -> float:
    """How long after a write its writer reads from the primary, when replicas may be `max_lag_s` behind."""
    return max_lag_s + WROTE_MARGIN_S


class Replica:
    """One replica's pool and what it said when last asked."""

    def __init__(self, pool: Any, where: str) -> None:
        self.pool = pool
        self.where = where
        self.lag_s: float | None = None
        self.checked_at = -math.inf
        self.failures = 0


class Replicas:
    """The replicas of one web process; `usable()` names the one to read from, or None for the primary."""

    def __init__(self, pools: Sequence[tuple[Any, str]], max_lag_s: float) -> None:
        """`pools`: each replica's pool and where it is (host, port and database, for the log)."""
        self.replicas = [Replica(pool, where) for pool, where in pools]
        self.max_lag_s = max_lag_s

    @property
    def read_your_writes_s(self) -> float:
        """How long after a write its writer reads from the primary."""
        return read_your_writes_s(self.max_lag_s)

    async def usable(self) -> Any | None:
        """The pool of the replica least behind, if one is within the bound; None when none is (or none answers)."""
        now = time.monotonic()
        stale = [r for r in self.replicas if now - r.checked_at >= CHECK_EVERY_S]
        for replica in stale:
            # Marked before asking, so the requests arriving meanwhile use the last answer instead of asking too.
            replica.checked_at = now
        if stale:
            await asyncio.gather(*(self._ask(replica) for replica in stale))
        close = [r for r in self.replicas if r.lag_s is not None and r.lag_s <= self.max_lag_s]
        return min(close, key=lambda r: r.lag_s or 0.0).pool if close else None

    def failed(self, pool: Any) -> None:
        """A replica that broke while a request used it is skipped until it is asked again."""
        for replica in self.replicas:
            if replica.pool is pool:
                replica.lag_s = None

    async def _ask(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S), replica.pool.acquire() as conn:
                replica.lag_s = await operations_sql.replica_lag_s(conn)
        except (TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            # Whatever is wrong with a replica (down, no such database, a wrong password), reads go to the primary.
            if replica.lag_s is not None or replica.failures == 0:
                log.warning("replica not used; reading from the primary", replica=replica.where, error=str(exc))
            replica.failures += 1
            replica.lag_s = None
            return
        replica.failures = 0

    async def close(self) -> None:
        """Close every replica's pool."""
        await asyncio.gather(*(replica.pool.close() for replica in self.replicas))
