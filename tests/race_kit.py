"""What the race tests share: a pool of many connections held one race test at a time across the xdist workers, and
volunteers who may take any shift of one area all week (only places, overlaps and waitlists decide)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from api.services.accounts import Identity
from tests import factories
from tests.conftest import Servers


@asynccontextmanager
async def race_pool(database_url: str, servers: Servers, size: int) -> AsyncIterator[asyncpg.Pool]:
    """`size` connections to the test's database; the lock is on the shared server's own database (advisory locks
    belong to one database), so two race tests never hold their hundreds of connections at once (the test cluster
    allows 900), whatever order xdist gives them."""
    holder = await asyncpg.connect(servers.pg_url)
    try:
        await holder.execute("SELECT pg_advisory_lock(hashtext('linli_race_tests'))")
        pool = await asyncpg.create_pool(database_url, min_size=size, max_size=size)
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        await holder.close()


async def racers(conn: Any, n: int, prefix: str) -> list[Identity]:
    """n volunteers living in one new committee area, with a weekly hour cap generous enough for every round."""
    area = await factories.create_area(conn, "committee")
    people = []
    for i in range(n):
        account_id = await factories.create_account(conn, "volunteer", username=f"{prefix}{i:04d}")
        await conn.execute(
            "UPDATE volunteers SET home_area_id = $2, weekly_hour_cap = 60 WHERE account_id = $1", account_id, area
        )
        people.append(await factories.identity_of(conn, account_id))
    return people
