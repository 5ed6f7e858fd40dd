"""Operations you can see: a request id on every response, problem and log line; `/metrics` behind its token."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import structlog
from arq.connections import ArqRedis
from litestar import Litestar
from prometheus_client.parser import text_string_to_metric_families

from api import logs
from api.app import create_app
from api.services import operations
from tests import conftest, factories
from tests.conftest import Servers, SharedConnectionPool, _client_of, scratch_database

TOKEN = "metrics-token-" + "m" * 24
GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def metrics_app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    """An app with LINLI_METRICS_TOKEN set (built once: building one costs about a second)."""
    return create_app(
        conftest.test_settings(tmp_path_factory.mktemp("metrics"), metrics_token=TOKEN), pool=None, redis=None
    )


@pytest.fixture
async def metrics_client(
    metrics_app: Litestar, conn: asyncpg.Connection, redis: ArqRedis
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the token-holding app on the test's connection and Redis."""
    metrics_app.state.pool = SharedConnectionPool(conn)
    metrics_app.state.redis = redis
    try:
        async with _client_of(metrics_app) as client:
            yield client
    finally:
        metrics_app.state.pool = metrics_app.state.redis = None


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_every_response_carries_a_request_id_and_a_problem_names_it(client: httpx.AsyncClient) -> None:
    ok = await client.get("/api/health")
    missing = await client.get("/api/no-such-thing")
    wrong_method = await client.delete("/api/health")
    page = await client.get("/no-such-page")
    for response in (ok, missing, wrong_method, page):
        assert GENERATED.match(response.headers["x-request-id"]), response
    assert len({r.headers["x-request-id"] for r in (ok, missing, wrong_method, page)}) == 4
    assert missing.status_code == 404
    assert missing.json()["request_id"] == missing.headers["x-request-id"]
    assert wrong_method.json()["request_id"] == wrong_method.headers["x-request-id"]


async def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(client: httpx.AsyncClient) -> None:
    kept = await client.get("/api/health", headers={"X-Request-ID": "edge-7f3a9c1e.42"})
    assert kept.headers["x-request-id"] == "edge-7f3a9c1e.42"
    for bad in ("short", "x" * 129, "has space in it", "quote\"injection'here", "-leading-dash-1"):
        replaced = await client.get("/api/health", headers={"X-Request-ID": bad})
        assert GENERATED.match(replaced.headers["x-request-id"]), bad


async def test_log_lines_written_while_handling_a_request_carry_its_id(client: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs(processors=[logs.add_request_id]) as lines:
        # An id beyond bigint: the database refuses the value, and the handler logs that.
        response = await client.get("/api/areas/99999999999999999999", headers={"X-Request-ID": "trace-0001-abcd"})
    assert response.status_code == 422
    assert response.json()["request_id"] == "trace-0001-abcd"
    refused = [line for line in lines if line["event"] == "database refused a value"]
    assert refused and refused[0]["request_id"] == "trace-0001-abcd"


def test_standard_library_log_records_carry_the_request_id_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s request_id=%(request_id)s"))
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger("linli.test_observe")
    logger.addHandler(handler)
    try:
        reset = logs.request_id.set("trace-0002-abcd")
        try:
            logger.warning("inside")
        finally:
            logs.request_id.reset(reset)
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == ["inside request_id=trace-0002-abcd", "outside request_id=-"]


async def test_metrics_are_not_there_without_a_token_setting(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404


async def test_metrics_refuse_a_wrong_or_missing_token(metrics_client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await metrics_client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_metrics_show_requests_by_route_and_what_waits(
    metrics_client: httpx.AsyncClient, conn: asyncpg.Connection, redis: ArqRedis
) -> None:
    account = await factories.create_account(conn)
    for number, status in enumerate(("queued", "queued", "running", "failed"), start=1):
        await conn.execute(
            "INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, status, time_limit_s) "
            "VALUES ('award', 'tender', 1, $1, $2, 5)",
            number,
            status,
        )
    for number, (status, attempts) in enumerate((("failed", 5), ("pending", 2), ("pending", 0)), start=1):
        await conn.execute(
            "INSERT INTO notifications (account_id, kind, dedupe_key, status, attempts) "
            "VALUES ($1, 'signup_cancelled', $2, $3, $4)",
            account,
            f"observe:{number}",
            status,
            attempts,
        )
    await operations.record_backup(conn, file="linli.backup", size_bytes=1, migration="0016_x.sql")
    await redis.enqueue_job("run_award", 1, _job_id="observe-1")
    for _ in range(3):
        assert (await metrics_client.get("/api/areas/999999")).status_code == 404

    response = await metrics_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    area_404 = (("method", "GET"), ("route", "/api/areas/{area_id}"), ("status", "404"))
    assert samples["linli_http_request_duration_seconds_count", area_404] >= 3
    assert samples["linli_dependency_up", (("dependency", "database"),)] == 1
    assert samples["linli_dependency_up", (("dependency", "redis"),)] == 1
    assert samples["linli_runs_waiting", (("status", "queued"),)] == 2
    assert samples["linli_runs_waiting", (("status", "running"),)] == 1
    assert samples["linli_notifications_failed", ()] == 1
    assert samples["linli_notifications_retrying", ()] == 1
    assert samples["linli_queue_depth", ()] == 1
    assert 0 <= samples["linli_backup_age_seconds", ()] < 60
    # No raw paths: an id in the URL never becomes a series of its own.
    assert not any("999999" in dict(labels).get("route", "") for _, labels in samples)


async def test_metrics_still_answer_when_the_database_is_down(
    metrics_app: Litestar, servers: Servers, redis: ArqRedis
) -> None:
    async with scratch_database(servers) as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            metrics_app.state.pool = pool
            metrics_app.state.redis = redis
            admin = await asyncpg.connect(servers.pg_url)
            try:
                await admin.execute(f"DROP DATABASE {url.rsplit('/', 1)[1]} WITH (FORCE)")
            finally:
                await admin.close()
            with structlog.testing.capture_logs(processors=[logs.add_request_id]) as lines:
                async with _client_of(metrics_app) as client:
                    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        finally:
            metrics_app.state.pool = metrics_app.state.redis = None
            pool.terminate()
    assert response.status_code == 200
    samples = _samples(response.text)
    assert samples["linli_dependency_up", (("dependency", "database"),)] == 0
    assert samples["linli_dependency_up", (("dependency", "redis"),)] == 1
    assert ("linli_runs_waiting", (("status", "queued"),)) not in samples
    down = [line for line in lines if line["event"] == "metrics: the database did not answer"]
    assert down and down[0]["request_id"] == response.headers["x-request-id"]
