"""Liveness and readiness."""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get
from litestar.datastructures import State

from api.schemas.common import Health, Ready
from api.services import health


class SystemController(Controller):
    """Health checks for load balancers and `make run`."""

    path = "/api"
    tags = ("system",)

    @get("/health", operation_id="health")
    async def health(self) -> Health:
        """The process is alive."""
        return Health(status="ok")

    @get("/ready", operation_id="ready")
    async def ready(self, state: State) -> Response[Ready]:
        """PostgreSQL and Redis both answer."""
        migrations = 0
        database = redis = False
        try:
            async with state.pool.acquire() as conn:
                migrations = await health.database_ready(conn)
            database = True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            database = False
        try:
            redis = bool(await state.redis.ping())
        except (OSError, ConnectionError):
            redis = False
        result = Ready(
            status="ready" if database and redis else "unavailable",
            database=database,
            redis=redis,
            migrations=migrations,
        )
        return Response(result, status_code=200 if database and redis else 503)
