"""Liveness and readiness."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from api.errors import PROBLEM_MEDIA_TYPE, Problem
from api.schemas.common import Health, Ready
from api.services import health


class Unready(Problem, frozen=True, kw_only=True):
    """An RFC 9457 problem naming the dependencies that did not answer, with each one's state."""

    down: list[str]
    database: bool
    redis: bool


class SystemController(Controller):
    """Health checks for load balancers and `make run`."""

    path = "/api"
    tags = ("system",)

    @get("/health", operation_id="health")
    async def health(self) -> Health:
        """The process is alive."""
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="ready",
        responses={
            503: ResponseSpec(
                data_container=Unready,
                description="A dependency does not answer; `down` names it and Retry-After says when to ask again",
                media_type=PROBLEM_MEDIA_TYPE,
                # The document must be the same on every build (it is a committed snapshot): no random examples.
                generate_examples=False,
                examples=[Example(value={"type": "/problems/unavailable", "status": 503, "down": ["redis"]})],
            )
        },
    )
    async def ready(self, request: Request[object, object, State], state: State) -> Response[Ready]:
        """PostgreSQL and Redis both answer (200, each one's state), or 503 naming the one that does not."""
        checked = await health.readiness(state.pool, state.redis)
        if checked.ready:
            return Response(
                Ready(status="ready", database=True, redis=True, migrations=checked.migrations), status_code=200
            )
        down = checked.down
        problem = Unready(
            type="/problems/unavailable",
            title="Service unavailable",
            status=503,
            detail=f"Not ready: {' and '.join(down)} {'is' if len(down) == 1 else 'are'} not answering",
            instance=request.url.path,
            down=down,
            database=checked.database,
            redis=checked.redis,
        )
        return Response(
            msgspec.json.encode(problem),  # type: ignore[arg-type]  # a problem, not a Ready, when not ready
            status_code=503,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={"retry-after": str(health.RETRY_AFTER_S)},
        )
