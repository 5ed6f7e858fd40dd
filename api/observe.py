"""Operations you can see: a request id on every response and log line, and Prometheus metrics at `/metrics`.

`install(app, settings)` wraps the whole application (outside Litestar's routing, so 404s and 405s are counted
and carry the id too). `/metrics` is answered here, before identity and CSRF, so a scrape needs neither the
database nor a session: when PostgreSQL or Valkey is down it still answers, saying so.

Request counts and latencies live in the process that served them; with several web processes, set
PROMETHEUS_MULTIPROC_DIR (an empty folder, the same for all of them) and every scrape reads all processes' files.
The other figures are read from PostgreSQL and Valkey at scrape time, so they are the same whichever process
answers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import math
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import structlog
from arq.constants import default_queue_name
from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from api import logs
from api.services import operations
from api.settings import Settings

log = structlog.get_logger("linli.observe")

REQUEST_ID_HEADER = "x-request-id"
# A caller's id is kept only if it is a plain token (a proxy's UUID, a trace id); anything else is replaced.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
METRICS_PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A scrape must answer even when a dependency hangs: each is given this long.
DEPENDENCY_TIMEOUT_S = 3.0

REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "linli_http_request_duration_seconds",
    "Requests by method, route template and status, and how long they took (its _count is the request rate)",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a sane token, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if SANE_REQUEST_ID.match(given):
                return given
            break
    return secrets.token_hex(16)


class _Families:
    """A collector of metric families computed before the scrape is rendered."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        """The families, as computed."""
        return iter(self.families)


def _gauge(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    if labels is None:
        return GaugeMetricFamily(name, documentation, value=value)
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


async def _database_families(state: Any) -> tuple[bool, list[Metric]]:
    try:
        async with asyncio.timeout(DEPENDENCY_TIMEOUT_S), state.pool.acquire() as conn:
            row = await operations.figures(conn)
    except Exception as exc:  # any failure means "down" here; the scrape must still answer
        log.warning("metrics: the database did not answer", error=type(exc).__name__)
        return False, []
    runs = GaugeMetricFamily("linli_runs_waiting", "Optimiser runs queued or running (match_runs)", labels=["status"])
    runs.add_metric(["queued"], row.runs_queued)
    runs.add_metric(["running"], row.runs_running)
    age = math.inf
    if row.last_backup_at is not None:
        age = max(0.0, (dt.datetime.now(dt.UTC) - row.last_backup_at).total_seconds())
    return True, [
        runs,
        _gauge("linli_notifications_failed", "Notifications given up on", row.notifications_failed),
        _gauge("linli_notifications_retrying", "Notifications waiting to be tried again", row.notifications_retrying),
        _gauge("linli_backup_age_seconds", "Seconds since the last `linli backup` (+Inf: none recorded)", age),
    ]


async def _redis_families(state: Any) -> tuple[bool, list[Metric]]:
    try:
        async with asyncio.timeout(DEPENDENCY_TIMEOUT_S):
            depth = await state.redis.zcard(default_queue_name)
    except Exception as exc:  # as above: report "down", never fail the scrape
        log.warning("metrics: Redis did not answer", error=type(exc).__name__)
        return False, []
    return True, [_gauge("linli_queue_depth", "Jobs waiting in the arq queue (Redis)", depth)]


async def scrape(state: Any) -> bytes:
    """The metrics in Prometheus' text format: this process's (or all processes') requests and the figures."""
    (db_up, db_families), (redis_up, redis_families) = await asyncio.gather(
        _database_families(state), _redis_families(state)
    )
    up = GaugeMetricFamily("linli_dependency_up", "Whether a dependency answered this scrape", labels=["dependency"])
    up.add_metric(["database"], float(db_up))
    up.add_metric(["redis"], float(redis_up))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client's multiprocess module carries no type hints.
        requests: Iterable[Metric] = MultiProcessCollector(None).collect()  # type: ignore[no-untyped-call]
    else:
        requests = REGISTRY.collect()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([*requests, up, *db_families, *redis_families]))
    return generate_latest(registry)


class ObserveMiddleware:
    """Request id and request metrics around the whole app; answers `/metrics` itself."""

    def __init__(self, app: ASGIApp, metrics_token: str | None) -> None:
        self.app = app
        self.metrics_token = metrics_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = rid  # api.errors puts it into problem bodies
        reset = logs.request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            if scope["path"] == METRICS_PATH and self.metrics_token:
                await self._metrics(scope, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"  # type: ignore[typeddict-item]
            # The route's template, never the raw path: ids in paths would make a series per object.
            route = scope.get("path_template") or ("/metrics" if scope["path"] == METRICS_PATH else "unmatched")
            REQUEST_SECONDS.labels(method, route, str(status)).observe(time.perf_counter() - started)
            logs.request_id.reset(reset)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        token = self.metrics_token or ""
        given = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value.decode("latin-1")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            problem = {
                "type": "/problems/not-authenticated",
                "title": "Authentication required",
                "status": 401,
                "detail": "The metrics need the bearer token of LINLI_METRICS_TOKEN",
                "instance": METRICS_PATH,
                "request_id": scope["state"]["request_id"],
            }
            await _answer(
                send,
                401,
                msgspec.json.encode(problem),
                "application/problem+json",
                [(b"www-authenticate", b'Bearer realm="metrics"')],
            )
            return
        body = await scrape(scope["litestar_app"].state)
        await _answer(send, 200, body, CONTENT_TYPE_LATEST, [])


async def _answer(send: Send, status: int, body: bytes, media_type: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def install(app: Litestar, settings: Settings) -> None:
    """Wrap the app's request handling in the request id, the request metrics and `/metrics`."""
    app.asgi_handler = ObserveMiddleware(app.asgi_handler, settings.metrics_token)
