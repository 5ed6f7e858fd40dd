"""Reads from a streaming replica (issue #13): browsing shifts comes from a replica that is close behind the primary;
whoever just wrote reads their own write at once; a replica further behind than the bound, or down, is skipped for
the primary — and nobody gets an error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis
from litestar import Litestar

from api.app import create_app
from api.auth import WROTE_COOKIE
from api.dev import servers as devservers
from sql.migrate import migrate
from tests import conftest, factories
from tests.factories import PASSWORD
from tests.factories_shifts import create_shift

pytestmark = pytest.mark.slow

MAX_LAG_S = 3.0


@pytest.fixture
def cluster() -> Iterator[tuple[devservers.LocalPostgres, devservers.LocalPostgres]]:
    """A primary of its own and a streaming replica of it (a base backup, then WAL as it is written)."""
    with (
        devservers.scratch_dir(parent=devservers.memory_dir()) as folder,
        devservers.start_postgres(folder / "primary", durable=False) as primary,
        devservers.start_replica(primary, folder / "replica") as replica,
    ):
        yield primary, replica


async def caught_up(primary: asyncpg.Connection, replica: asyncpg.Connection) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    # The insert position, not the write position: with synchronous_commit off (the test cluster) a commit record
    # can still be in the WAL buffers, and a replica "caught up" to the write position would not show its rows yet.
    target = await primary.fetchval("SELECT pg_current_wal_insert_lsn()")
    for _ in range(200):
        if await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the replica did not catch up in 10 s")


async def volunteer_client(app: Litestar, conn: asyncpg.Connection, name: str) -> httpx.AsyncClient:
    """A client logged in (bearer token) as a new volunteer who may take any shift of the area."""
    area = await factories.create_area(conn, "committee")
    account_id = await factories.create_account(conn, "volunteer", username=name)
    await conn.execute(
        "UPDATE volunteers SET home_area_id = $2, weekly_hour_cap = 60 WHERE account_id = $1", account_id, area
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")
    token = await client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
    assert token.status_code == 201, token.text
    # Logging in is a write; the reader should start as someone who has not written.
    client.cookies.clear()
    client.headers["authorization"] = f"Bearer {token.json()['token']}"
    return client


async def browse(client: httpx.AsyncClient) -> dict[int, str | None]:
    """Shift id → the caller's status on it, as the browse list shows it."""
    response = await client.get("/api/shifts/", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {item["shift"]["id"]: item["my_status"] for item in response.json()}


@pytest.fixture
async def stack(
    cluster: tuple[devservers.LocalPostgres, devservers.LocalPostgres], tmp_path: Path, redis: ArqRedis
) -> AsyncIterator[tuple[Litestar, asyncpg.Connection, asyncpg.Connection]]:
    primary, replica = cluster
    await migrate(primary.url)
    settings = conftest.test_settings(
        tmp_path,
        database_url=primary.url,
        database_replica_urls=replica.url,
        database_replica_max_lag_s=MAX_LAG_S,
    )
    app: Litestar = create_app(settings, redis=redis)
    on_primary = await asyncpg.connect(primary.url)
    on_replica = await asyncpg.connect(replica.url)
    try:
        async with app.lifespan():
            yield app, on_primary, on_replica
    finally:
        await on_primary.close()
        await on_replica.close()


async def test_reads_come_from_a_close_replica_writers_read_their_writes_and_a_lagging_one_is_skipped(
    stack: tuple[Litestar, asyncpg.Connection, asyncpg.Connection],
    cluster: tuple[devservers.LocalPostgres, devservers.LocalPostgres],
) -> None:
    app, on_primary, on_replica = stack
    writer = await volunteer_client(app, on_primary, "writer")
    reader = await volunteer_client(app, on_primary, "reader")
    first = await create_shift(on_primary)
    await caught_up(on_primary, on_replica)
    assert first in await browse(reader)

    # The replica stops replaying (as one falls behind under load); the primary goes on writing.
    await on_replica.execute("SELECT pg_wal_replay_pause()")
    paused_at = time.monotonic()
    second = await create_shift(on_primary)
    seen = await browse(reader)
    assert first in seen and second not in seen, "the reader is served by the replica, a moment behind"

    # The writer's sign-up is theirs to see at once, although the replica does not have it.
    signed = await writer.post(f"/api/shifts/{first}/signups")
    assert signed.status_code == 201, signed.text
    assert WROTE_COOKIE in writer.cookies
    assert (await browse(writer))[first] == "active"
    assert second not in await browse(reader)

    # Past the bound the replica is skipped: the reader gets the primary's answer.
    await asyncio.sleep(max(0.0, paused_at + MAX_LAG_S + 1.5 - time.monotonic()))
    assert second in await browse(reader)

    # Replaying again, it catches up and serves reads again; stopped, the primary answers with no error.
    await on_replica.execute("SELECT pg_wal_replay_resume()")
    await caught_up(on_primary, on_replica)
    assert second in await browse(reader)
    cluster[1].stop()
    await asyncio.sleep(1.2)  # the next lag check finds it gone
    assert second in await browse(reader)

    # Started again on its folder and port (what `linli up --replica` does when it dies): no new base backup, and it
    # catches up with what the primary wrote while it was down.
    third = await create_shift(on_primary)
    with devservers.start_replica(cluster[0], cluster[1].data_dir, port=cluster[1].port) as again:
        on_again = await asyncpg.connect(again.url)
        try:
            await caught_up(on_primary, on_again)
            assert await on_again.fetchval("SELECT count(*) FROM shifts WHERE id = $1", third) == 1
        finally:
            await on_again.close()
    await writer.aclose()
    await reader.aclose()
