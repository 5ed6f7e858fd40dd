"""A database that is down, restarting or read-only answers 503 with Retry-After (never 500), logged once per
outage; the pool recovers by itself; a failed commit is a 503 and leaves nothing behind."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import structlog
from arq.connections import ArqRedis
from litestar import Litestar
from litestar.datastructures import State

from api import errors as errors_module
from api.app import create_app
from api.auth import provide_conn
from api.dev import servers as devservers
from api.errors import DatabaseOutage
from api.services import health
from api.services.health import database_outage
from tests import conftest
from tests.factories import PASSWORD, create_account, username_of

RETRY_AFTER = 7
DOWN = "database unavailable; answering 503 until it is back"


@asynccontextmanager
async def serving(tmp_path: Path, database_url: str, redis: ArqRedis) -> AsyncIterator[httpx.AsyncClient]:
    """An app with a pool of its own on `database_url`, started through its lifespan, and a client for it."""
    settings = conftest.test_settings(tmp_path, database_url=database_url, database_retry_after_s=RETRY_AFTER)
    app: Litestar = create_app(settings, redis=redis)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER)


def events(logs: list[dict[str, object]], level: str) -> list[str]:
    return [str(entry["event"]) for entry in logs if entry["log_level"] == level]


async def test_an_app_started_while_the_database_is_down_starts_and_answers_503(tmp_path: Path, redis: ArqRedis):
    nobody_listens = f"postgresql://linli@127.0.0.1:{devservers.free_port()}/linli"
    with structlog.testing.capture_logs() as logs:
        async with serving(tmp_path, nobody_listens, redis) as client:
            api = await client.get("/api/areas")
            token = await client.post("/api/auth/token", json={"username": "a", "password": "b"})
            bearer = await client.get("/api/accounts/me", headers={"authorization": "Bearer some-token"})
            page = await client.get("/areas", headers={"cookie": "linli_session=some-session"})
            stylesheet = await client.get("/static/css/linli.css", headers={"cookie": "linli_session=some-session"})
    for response in (api, token, bearer, page):
        assert_unavailable(response)
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"] == "/problems/service-unavailable"
    assert api.json()["status"] == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "服务暂时不可用，请稍后再试" in page.text
    assert stylesheet.status_code == 200  # the 503 page keeps its style for someone logged in
    # One warning for the outage (at start-up), not one line or traceback per request.
    assert events(logs, "warning") == [DOWN]
    assert events(logs, "error") == []


async def test_a_read_only_database_answers_503(tmp_path: Path, empty_database_url: str, redis: ArqRedis):
    name = empty_database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(empty_database_url)
    try:
        # What the app sees of a primary that became a standby: every write fails with 25006.
        await admin.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        wrong = {"username": "nobody", "password": "wrong"}  # a failed login is written down
        with structlog.testing.capture_logs() as logs:
            async with serving(tmp_path, empty_database_url, redis) as client:
                read = await client.get("/api/areas")
                writes = [await client.post("/api/auth/token", json=wrong) for _ in range(2)]
                read_during = await client.get("/api/areas")
                # Writable again (a failover finished): the next request writes, without restarting anything.
                await admin.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
                after = await client.post("/api/auth/token", json=wrong)
    finally:
        await admin.close()
    assert read.status_code == read_during.status_code == 200
    for write in writes:
        assert_unavailable(write)
        assert write.json()["type"] == "/problems/service-unavailable"
    assert after.status_code == 401
    assert events(logs, "warning") == [DOWN]
    back = [entry for entry in logs if str(entry["event"]).startswith("database back after")]
    assert len(back) == 1 and back[0]["answered_503"] == 2
    assert events(logs, "error") == []


async def _backend_waiting(admin: asyncpg.Connection, query_start: str) -> int:
    """The pid of the app's backend that waits on a lock while running a statement starting so (in this test's own
    database: the server is shared with the other workers' tests, whose backends wait on locks too)."""
    for _ in range(500):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query ILIKE $1 AND pid <> pg_backend_pid()"
            " AND datname = current_database()",
            query_start + "%",
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no backend waits in {query_start!r}")


async def test_a_backend_terminated_mid_request_answers_503_and_the_next_request_works(
    tmp_path: Path, empty_database_url: str, redis: ArqRedis
):
    admin = await asyncpg.connect(empty_database_url)
    try:
        username = await username_of(admin, await create_account(admin))
        login = {"username": username, "password": PASSWORD}
        with structlog.testing.capture_logs() as logs:
            async with serving(tmp_path, empty_database_url, redis) as client:
                async with admin.transaction():
                    await admin.execute("LOCK TABLE login_attempts IN ACCESS EXCLUSIVE MODE")
                    request = asyncio.ensure_future(client.post("/api/auth/token", json=login))
                    pid = await _backend_waiting(admin, "")
                    # What a server restart or an administrator's pg_terminate_backend does: 57P01 mid-statement.
                    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                    cut = await request
                again = await client.post("/api/auth/token", json=login)
    finally:
        await admin.close()
    assert_unavailable(cut)
    assert again.status_code == 201, again.text
    assert events(logs, "warning") == [DOWN]
    back = [entry for entry in logs if str(entry["event"]).startswith("database back after")]
    assert len(back) == 1 and back[0]["answered_503"] == 1
    assert events(logs, "error") == []


async def test_a_commit_that_fails_answers_503_and_leaves_nothing(
    tmp_path: Path, empty_database_url: str, redis: ArqRedis
):
    admin = await asyncpg.connect(empty_database_url)
    try:
        account_id = await create_account(admin)
        username = await username_of(admin, account_id)
        # Test-only DDL in this throw-away database: a deferred trigger holds the token's COMMIT on a lock we hold,
        # so the connection can be cut exactly while the use case's transaction commits.
        await admin.execute(
            """
            CREATE FUNCTION wait_at_commit() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER wait_at_commit AFTER INSERT ON api_tokens DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION wait_at_commit();
            """
        )
        await admin.execute("SELECT pg_advisory_lock(4242)")
        async with serving(tmp_path, empty_database_url, redis) as client:
            request = asyncio.ensure_future(
                client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
            )
            pid = await _backend_waiting(admin, "COMMIT")
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            cut = await request
        await admin.execute("SELECT pg_advisory_unlock(4242)")
        tokens = await admin.fetchval("SELECT count(*) FROM api_tokens WHERE account_id = $1", account_id)
        audited = await admin.fetchval("SELECT count(*) FROM audit_log WHERE action = 'token.issue'")
    finally:
        await admin.close()
    assert_unavailable(cut)
    assert (tokens, audited) == (0, 0)


def _missing_file() -> FileNotFoundError:
    try:
        Path("/nonexistent/linli").read_text()
    except FileNotFoundError as exc:
        return exc
    raise AssertionError("the file exists")


async def test_what_counts_as_an_outage(empty_database_url: str):
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute("SET statement_timeout = 10")
        with pytest.raises(asyncpg.QueryCanceledError) as timed_out:
            await conn.execute("SELECT pg_sleep(1)")
    finally:
        await conn.close()
    with pytest.raises(asyncpg.InterfaceError) as closed:
        await conn.execute("SELECT 1")
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect(f"postgresql://linli@127.0.0.1:{devservers.free_port()}/linli")
    # A name that does not resolve fails with a plain OSError subclass on asyncpg's way to the server.
    with pytest.raises(socket.gaierror) as unresolved:
        await asyncpg.connect("postgresql://linli@linli-database.invalid:5432/linli")
    missing_file = _missing_file()
    assert database_outage(closed.value)
    assert database_outage(refused.value)
    assert database_outage(unresolved.value)
    # A statement timeout and a missing file are not outages: they stay 500s with a traceback, as bugs.
    assert not database_outage(timed_out.value)
    assert not database_outage(missing_file)
    # The chaos test's rare 500 (CI, 6 December 2026): BEGIN on a connection an outage left mid-operation.
    assert database_outage(
        asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    )
    assert not database_outage(asyncpg.InternalClientError("unexpected state"))
    assert database_outage(ExceptionGroup("cleanup", [closed.value, refused.value]))
    assert not database_outage(ExceptionGroup("cleanup", [closed.value, missing_file]))


def _terminate_blocking(database_url: str, pid: int) -> None:
    """Terminate a backend from another thread while this event loop stands still, so that the app's connection
    learns of it only when it next speaks to the server."""

    async def terminate() -> None:
        admin = await asyncpg.connect(database_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            # Until the backend is gone, so the server has closed the connection before the pool resets it.
            for _ in range(500):
                if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                    return
                await asyncio.sleep(0.01)
            raise AssertionError(f"backend {pid} is still there")
        finally:
            await admin.close()

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        executor.submit(asyncio.run, terminate()).result()


async def test_a_connection_that_breaks_after_the_answer_leaves_the_answer_standing(empty_database_url: str):
    pool = await asyncpg.create_pool(empty_database_url, min_size=0, max_size=1)
    try:
        dependency = provide_conn(State({"pool": pool}))
        conn = await anext(dependency)
        assert await health.database_ready(conn) > 0  # the request's work, done and answered
        _terminate_blocking(empty_database_url, conn.get_server_pid())
        # Going back to the pool, the reset meets the closed connection: the request's answer stands (no 503).
        with pytest.raises(StopAsyncIteration):
            await anext(dependency)
        # The pool opens a new connection for the next request.
        async with pool.acquire() as again:
            assert await health.database_ready(again) > 0
    finally:
        await pool.close()


async def test_during_an_outage_a_connection_left_mid_operation_is_dropped_and_its_request_answers_503(
    empty_database_url: str,
) -> None:
    outage = DatabaseOutage()
    outage.begin(ConnectionResetError("the server went away"), "a request")
    conn = await asyncpg.connect(empty_database_url)
    try:
        # What a request that ended when the server went away can leave behind: an operation still in progress.
        busy = asyncio.ensure_future(conn.execute("SELECT pg_sleep(0.5)"))
        await asyncio.sleep(0.05)
        with pytest.raises(ConnectionResetError) as raised:
            await outage.on_acquire(conn)
        assert database_outage(raised.value), "the request is answered 503 like the others of the outage"
        assert conn.is_closed()
        with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError)):
            await busy
    finally:
        conn.terminate()


async def test_a_request_failing_just_after_the_outage_ended_is_its_tail_not_a_new_outage(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outage = DatabaseOutage()
    outage.answered_503(ConnectionResetError("the server went away"), "a request")
    conn = await asyncpg.connect(empty_database_url)
    try:
        with structlog.testing.capture_logs() as events:
            await outage.on_acquire(conn)  # the database answers and takes writes: the outage ends
            # A connection the outage left behind fails the next request: answered 503, logged as the tail.
            outage.answered_503(asyncpg.InternalClientError("another operation is in progress"), "a request")
            assert outage.since is None
            # Later than the tail, a failure is a new outage again.
            monkeypatch.setattr(errors_module, "OUTAGE_TAIL_S", 0.0)
            outage.answered_503(ConnectionResetError("the server went away again"), "a request")
            assert outage.since is not None
    finally:
        await conn.close()
    kinds = [e["event"].split(";")[0].split(" after")[0] for e in events]
    assert kinds == [
        "database back",
        "a connection the database outage left behind failed a request",
        "database unavailable",
    ], events
