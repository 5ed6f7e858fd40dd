"""Real PostgreSQL and Valkey started by the project; each test in a transaction that the app shares.

Under pytest-xdist (`make test`) the controller starts one PostgreSQL and one Valkey and migrates the template
database once; each worker clones the template into a database of its own and uses Redis databases of its own.
A plain run (`pytest tests/test_x.py`) starts them itself. LINLI_TEST_SERVERS carries them to the workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from litestar import Litestar

from api import security
from api.app import create_app
from api.dev import servers as devservers
from api.settings import Settings
from sql.migrate import migrate

# Logging in verifies an Argon2id hash; at the production profile (64 MiB, 3 passes) that is a tenth of a second a
# login, a third of the suite's time. The tests hash and verify with the same algorithm at its lowest cost; the
# processes the tests start (live servers, `linli seed`) keep the production profile, which
# tests/test_security.py holds.
security.use_profile(dataclasses.replace(security.PROFILE, time_cost=1, memory_cost=8, parallelism=1))

TEMPLATE_DB = "linli_template"
SERVERS_ENV = "LINLI_TEST_SERVERS"
# Redis databases a worker uses: its tests, its live server, its fuzz server (Valkey is started with enough).
REDIS_DBS_PER_WORKER = 3
MAX_WORKERS = 16


class Servers:
    """The session's PostgreSQL and Valkey, by URL."""

    def __init__(self, pg_url: str, valkey_url: str) -> None:
        self.pg_url = pg_url
        self.valkey_url = valkey_url

    def database_url(self, name: str) -> str:
        """The URL of another database on the same cluster."""
        return self.pg_url.rsplit("/", 1)[0] + "/" + name

    def redis_url(self, db: int) -> str:
        """The URL of one of Valkey's numbered databases."""
        return self.valkey_url.rsplit("/", 1)[0] + f"/{db}"


async def _recreate_database(pg_url: str, name: str, template: str | None = None) -> str:
    """A database of this name made anew (empty, or a clone of `template`); its URL."""
    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    finally:
        await admin.close()
    return pg_url.rsplit("/", 1)[0] + "/" + name


async def _create_template(pg_url: str) -> None:
    await migrate(await _recreate_database(pg_url, TEMPLATE_DB))


@contextlib.contextmanager
def started_servers() -> Iterator[Servers]:
    """A throw-away PostgreSQL and Valkey with the migrated template database, stopped afterwards."""
    import asyncio

    # In memory where the machine allows: hundreds of databases are created and dropped in a run (docs/testing.md).
    with devservers.scratch_dir(parent=devservers.memory_dir()) as folder:
        # The pick-up race test holds 500 separate connections at once, on top of the other workers' connections.
        pg = devservers.start_postgres(folder / "pg", durable=False, options={"max_connections": "900"})
        try:
            valkey = devservers.start_valkey(
                folder / "valkey", durable=False, databases=REDIS_DBS_PER_WORKER * (MAX_WORKERS + 1)
            )
            try:
                asyncio.run(_create_template(pg.url))
                yield Servers(pg.url, valkey.url)
            finally:
                valkey.stop()
        finally:
            pg.stop()


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None) not in (None, 0)


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist the controller starts the servers once for all workers (they inherit the environment)."""
    if _is_xdist_controller(config) and SERVERS_ENV not in os.environ:
        stack = contextlib.ExitStack()
        servers = stack.enter_context(started_servers())
        os.environ[SERVERS_ENV] = json.dumps({"pg": servers.pg_url, "valkey": servers.valkey_url})
        config.add_cleanup(stack.close)
        config.add_cleanup(lambda: os.environ.pop(SERVERS_ENV, None))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """All async tests and fixtures run on asyncio, in one loop for the session."""
    return "asyncio"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Every coroutine test runs under anyio without a marker on each (marked before anyio's own hook looks)."""
    import inspect

    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        own = getattr(obj, "pytestmark", [])
        if not any(mark.name == "anyio" for mark in own):
            pytest.mark.anyio(obj)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The session's PostgreSQL and Valkey: the controller's under xdist, else started here."""
    given = os.environ.get(SERVERS_ENV)
    if given:
        urls = json.loads(given)
        yield Servers(urls["pg"], urls["valkey"])
        return
    with started_servers() as own:
        yield own


def _redis_db(worker_index: int, slot: int) -> int:
    """A worker's own Redis database: slot 0 for its tests, 1 for its live server, 2 for its fuzz server."""
    return REDIS_DBS_PER_WORKER * worker_index + slot


@pytest.fixture(scope="session")
def worker_index(worker_id: str) -> int:
    """0 for a plain run or xdist's first worker (gw0), 1 for gw1, …"""
    return int(worker_id[2:]) if worker_id.startswith("gw") else 0


async def _clone_template(servers: Servers, name: str, template: str = TEMPLATE_DB) -> str:
    return await _recreate_database(servers.pg_url, name, template)


DEMO_TEMPLATE_DB = "linli_demo_template"
DEMO_SEED, DEMO_SCALE = 1, 0.05
DEMO_SEED_ARGS = ("--seed", str(DEMO_SEED), "--scale", str(DEMO_SCALE))


async def _ensure_demo_template(servers: Servers) -> None:
    """The demo district (`linli seed --seed 1 --scale 0.05`), seeded once per session by whichever worker asks
    first; it is built under another name and renamed, so a half-seeded one is never cloned."""
    import subprocess
    import sys

    admin = await asyncpg.connect(servers.pg_url)
    try:
        # The lock lives on the shared server: the workers are separate processes.
        await admin.execute("SELECT pg_advisory_lock(hashtext('linli_demo_template'))")
        if await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", DEMO_TEMPLATE_DB):
            return
        building = DEMO_TEMPLATE_DB + "_building"
        url = await _clone_template(servers, building)
        env = {**os.environ, "LINLI_DATABASE_URL": url}
        done = subprocess.run(  # noqa: ASYNC221 - one seed per session, under the lock that makes the others wait
            [sys.executable, "-m", "api.cli", "seed", *DEMO_SEED_ARGS], env=env, capture_output=True, check=False
        )
        if done.returncode != 0:
            await admin.execute(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
            raise RuntimeError(f"linli seed failed:\n{done.stdout.decode()}\n{done.stderr.decode()}")
        await admin.execute(f"ALTER DATABASE {building} RENAME TO {DEMO_TEMPLATE_DB}")
    finally:
        await admin.close()


async def clone_demo(servers: Servers, name: str) -> str:
    """A database of its own holding the demo district (seeded once per session, cloned in well under a second)."""
    await _ensure_demo_template(servers)
    return await _clone_template(servers, name, DEMO_TEMPLATE_DB)


@pytest.fixture(scope="session")
def demo_database_url(servers: Servers, worker_id: str) -> str:
    """This worker's copy of the demo district, for tests that read it (write only inside `demo_conn`)."""
    import asyncio

    return asyncio.run(clone_demo(servers, f"linli_demo_{worker_id}"))


@pytest.fixture
async def demo_conn(demo_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the demo district inside a transaction that is rolled back after the test."""
    async with rolled_back(demo_database_url) as connection:
        yield connection


@pytest.fixture(scope="session")
def database_url(servers: Servers, worker_id: str) -> str:
    """This worker's migrated test database, a clone of the template (nobody connects to the template itself).

    A plain fixture on purpose: sync tests (the browser, the API fuzzer) need it too.
    """
    import asyncio

    return asyncio.run(_clone_template(servers, f"linli_{worker_id}"))


@asynccontextmanager
async def scratch_database(servers: Servers, template: str | None = TEMPLATE_DB) -> AsyncIterator[str]:
    """A new database of its own (a clone of the template, or empty with `template=None`), dropped afterwards."""
    name = f"linli_t_{secrets.token_hex(4)}"
    try:
        yield await _recreate_database(servers.pg_url, name, template)
    finally:
        await drop_database(servers, name)


async def drop_database(servers: Servers, name: str) -> None:
    """Drop a database of the test server, whoever is still connected to it."""
    admin = await asyncpg.connect(servers.pg_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def empty_database_url(servers: Servers) -> AsyncIterator[str]:
    """A new, migrated, empty database of its own, dropped afterwards (for tests that must commit)."""
    async with scratch_database(servers) as url:
        yield url


@asynccontextmanager
async def rolled_back(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back at the end of the block."""
    connection = await asyncpg.connect(url)
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with rolled_back(database_url) as connection:
        yield connection


class SharedConnectionPool:
    """Pool-shaped wrapper handing the app the test's connection, each use in a savepoint.

    As in production (autocommit outside a use case's transaction), what a request wrote stays when it
    ends with a domain error; a database error rolls back only that request's savepoint.
    """

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """The shared connection, inside a savepoint."""
        savepoint = self.connection.transaction()
        await savepoint.start()
        try:
            yield self.connection
        except asyncpg.PostgresError:
            await savepoint.rollback()
            raise
        except BaseException:
            await savepoint.commit()
            raise
        else:
            await savepoint.commit()

    async def close(self) -> None:
        """Nothing to close: the test owns the connection."""


@pytest.fixture
async def redis(servers: Servers, worker_index: int) -> AsyncIterator[ArqRedis]:
    """An arq Redis pool on this worker's Redis database, emptied before each test."""
    pool = await create_pool(RedisSettings.from_dsn(servers.redis_url(_redis_db(worker_index, 0))))
    await pool.flushdb()
    try:
        yield pool
    finally:
        await pool.aclose()


def test_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for an app under test (no servers of its own)."""
    values: dict[str, Any] = {
        "state_dir": tmp_path,
        "database_url": None,
        "redis_url": None,
        "secret_key": "test-secret-key-" + "x" * 32,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    """One app per worker: building it takes about a second, and it keeps no state but its pool and Redis."""
    return create_app(test_settings(tmp_path_factory.mktemp("app")), pool=None, redis=None)


@contextlib.contextmanager
def _app_on(app: Litestar, connection: asyncpg.Connection, redis: ArqRedis) -> Iterator[Litestar]:
    """The worker's app pointed at one test's connection and Redis for the length of the test."""
    app.state.pool = SharedConnectionPool(connection)
    app.state.redis = redis
    try:
        yield app
    finally:
        app.state.pool = None
        app.state.redis = None


@pytest.fixture
def app(shared_app: Litestar, conn: asyncpg.Connection, redis: ArqRedis) -> Iterator[Litestar]:
    """The app sharing the test's connection and Redis (a test that needs other settings builds its own)."""
    with _app_on(shared_app, conn, redis) as on_test:
        yield on_test


@asynccontextmanager
async def _client_of(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, in-process and on the test's event loop (no server)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app sharing the test's connection."""
    async with _client_of(app) as test_client:
        yield test_client


@pytest.fixture
async def demo_client(
    shared_app: Litestar, demo_conn: asyncpg.Connection, redis: ArqRedis
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app on the demo district (what the requests write is rolled back)."""
    with _app_on(shared_app, demo_conn, redis) as on_demo:
        async with _client_of(on_demo) as test_client:
            yield test_client


class LiveServer:
    """`linli serve` in its own process, on a seeded database of its own; `sms` holds the texts its SMS sender
    posted to the gateway the tests run for it (`{"to", "text"}` each)."""

    def __init__(self, url: str, database_url: str, sms: list[dict[str, Any]] | None = None) -> None:
        self.url = url
        self.database_url = database_url
        self.sms: list[dict[str, Any]] = [] if sms is None else sms


@contextlib.contextmanager
def _sms_gateway() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An SMS gateway in a thread (what LINLI_SMS_GATEWAY_URL points at): its URL and the texts it received."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict[str, Any]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read what arrived."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms", received
    finally:
        server.shutdown()
        server.server_close()


def _wait_ready(base: str, process: Any, log_path: Path, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/api/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"linli serve did not become ready:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def _run_live(
    servers: Servers, name: str, redis_db: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`linli serve` and `linli worker` on a copy of the demo district of their own, stopped afterwards."""
    import asyncio
    import subprocess
    import sys

    url = asyncio.run(clone_demo(servers, name))
    port = devservers.free_port()
    stack = contextlib.ExitStack()
    gateway_url, texts = stack.enter_context(_sms_gateway())
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": url,
        # A Redis database of its own: the other tests empty theirs and run their own burst workers on it.
        "LINLI_REDIS_URL": servers.redis_url(redis_db),
        "LINLI_STATE_DIR": str(tmp_path_factory.mktemp(f"{name}-state")),
        "LINLI_PORT": str(port),
        "LINLI_SOLVER_TIME_LIMIT_S": "3",
        # One web process: the test workers already keep every core busy (tests/test_serving.py runs several).
        "LINLI_WEB_WORKERS": "1",
        # Texts (reminders, password reset codes) go to a gateway the tests read, as they would to a phone.
        "LINLI_NOTIFY_SENDER": "sms",
        "LINLI_SMS_GATEWAY_URL": gateway_url,
    }
    logs = tmp_path_factory.mktemp(f"{name}-log")
    with (logs / "serve.log").open("wb") as serve_log, (logs / "worker.log").open("wb") as worker_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve"],
            env=env,
            stdout=serve_log,
            stderr=subprocess.STDOUT,
            preexec_fn=devservers.die_with_parent(),
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"],
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            preexec_fn=devservers.die_with_parent(),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Generous: on a loaded 2-core machine importing the app alone can take ten seconds.
            _wait_ready(base, server, logs / "serve.log", 120)
            yield LiveServer(base, url, texts)
        finally:
            for process in (server, worker):
                process.terminate()
            for process in (server, worker):
                process.wait(timeout=30)
            stack.close()


def _live_for_worker(
    kind: str, slot: int, servers: Servers, worker_id: str, worker_index: int, factory: pytest.TempPathFactory
) -> contextlib.AbstractContextManager[LiveServer]:
    """A live server of this worker; `slot` picks its Redis database among the worker's own."""
    return _run_live(servers, f"linli_{kind}_{worker_id}", _redis_db(worker_index, slot), factory)


@pytest.fixture(scope="session")
def live_server(
    servers: Servers, worker_id: str, worker_index: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real web app and an arq worker on the demo district, for the browser tests."""
    with _live_for_worker("live", 1, servers, worker_id, worker_index, tmp_path_factory) as live:
        yield live


@pytest.fixture(scope="session")
def fuzz_server(
    servers: Servers, worker_id: str, worker_index: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A second, separate server for the API fuzzer, whose admin calls suspend and disable at random."""
    with _live_for_worker("fuzz", 2, servers, worker_id, worker_index, tmp_path_factory) as live:
        yield live


@pytest.fixture
async def pool(empty_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on a database of its own, as a worker has (for tests whose jobs commit)."""
    p = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(scope="session")
def solver_pool() -> Iterator[ProcessPoolExecutor]:
    """A one-process solver pool, as the worker's, kept for the session (starting one per test cost a process)."""
    executor = ProcessPoolExecutor(max_workers=1)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


TIERS = ("browser", "fuzz", "race", "chaos", "slow")
TIERS_FILE_ENV = "LINLI_TEST_TIERS_FILE"
_TIER_COUNTS = pytest.StashKey[dict[str, int]]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Count the collected tests by tier before `-m` deselects any, and run the long tiers first."""
    counts = {tier: sum(1 for item in items if item.get_closest_marker(tier)) for tier in TIERS}
    counts["all"] = len(items)
    counts["untiered"] = sum(1 for item in items if not any(item.get_closest_marker(t) for t in TIERS))
    # Longest first: a two-minute race test started last would leave the other workers idle at the end.
    first = ("race", "fuzz", "browser", "slow")
    items.sort(key=lambda item: next((i for i, tier in enumerate(first) if item.get_closest_marker(tier)), len(first)))
    path = os.environ.get(TIERS_FILE_ENV)
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    if path and worker == "gw0":
        Path(path).write_text(json.dumps(counts), encoding="utf-8")
    config.stash[_TIER_COUNTS] = counts


def pytest_sessionstart(session: pytest.Session) -> None:
    """The controller (or a plain run) names a file where a worker writes the tier counts it collected."""
    if not hasattr(session.config, "workerinput") and TIERS_FILE_ENV not in os.environ:
        import tempfile

        handle, path = tempfile.mkstemp(prefix="linli-tiers-", suffix=".json")
        os.close(handle)
        os.environ[TIERS_FILE_ENV] = path
        session.config.add_cleanup(lambda: (Path(path).unlink(missing_ok=True), os.environ.pop(TIERS_FILE_ENV, None)))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line: how many tests this run ran, of how many, and how many each tier holds."""
    counts = config.stash.get(_TIER_COUNTS, None)
    path = os.environ.get(TIERS_FILE_ENV)
    if counts is None and path and Path(path).stat().st_size:
        counts = json.loads(Path(path).read_text(encoding="utf-8"))
    if not counts:
        return
    ran = sum(len(terminalreporter.stats.get(key, [])) for key in ("passed", "failed", "error", "skipped", "xfailed"))
    tiers = ", ".join(f"{tier} {counts[tier]}" for tier in TIERS)
    terminalreporter.write_line(
        f"tests: ran {ran} of {counts['all']} collected ({counts['untiered']} in no tier; {tiers})"
    )
