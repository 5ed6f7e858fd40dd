"""The audit log's sealer: chains committed entries every second, so writers never wait for one another."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog

from api.services import audit_log

log = structlog.get_logger("linli.worker.sealer")


async def seal_forever(pool: Any, interval_s: float) -> None:
    """Seal what is waiting, then sleep; a failure (the database away) is logged once and retried."""
    failing = False
    while True:
        try:
            async with pool.acquire() as conn:
                while await audit_log.seal(conn) > 0:
                    pass
            if failing:
                log.info("audit sealer working again")
            failing = False
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if not failing:
                log.warning("audit sealer cannot reach the database; retrying", error=str(exc))
            failing = True
        await asyncio.sleep(interval_s)
