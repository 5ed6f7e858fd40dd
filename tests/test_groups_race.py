"""Group sign-ups under real concurrency: groups (some sharing an account member) and single volunteers released
together, each on its own connection, for a shift's last places. Never oversold: `taken` equals the active sign-ups
plus the named people holding places; all or none: a group either holds every member's place or left nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from api.services import groups, shifts
from api.services.accounts import Identity
from api.services.errors import DomainError
from api.services.groups import GroupMemberIn, GroupSignupForm
from api.services.types import SHANGHAI
from tests import race_kit
from tests.conftest import Servers
from tests.factories_shifts import add_signup, create_shift

pytestmark = [pytest.mark.race, pytest.mark.timeout(600)]

ROUNDS = 4
LAST = 5  # places left on the shift
GROUPS = 12  # each: the leader, one account member (shared by two groups) and a child
SINGLES = 10
CONCURRENCY = GROUPS + SINGLES


@pytest.fixture
async def race_pool(empty_database_url: str, servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    async with race_kit.race_pool(empty_database_url, servers, CONCURRENCY + 1) as pool:
        yield pool


async def test_groups_racing_for_the_last_places_never_oversell_and_stay_whole(race_pool: asyncpg.Pool) -> None:
    year = dt.datetime.now(SHANGHAI).year
    async with race_pool.acquire() as proxy:
        conn: Any = proxy
        people = await race_kit.racers(conn, 2 * GROUPS + SINGLES + 20, "grouper")
    leaders, shared, singles, holders = (
        people[:GROUPS],
        people[GROUPS : 2 * GROUPS : 2],
        people[2 * GROUPS : 2 * GROUPS + SINGLES],
        people[2 * GROUPS + SINGLES :],
    )
    for day in range(ROUNDS):
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3 + day)
        async with race_pool.acquire() as proxy:
            conn = proxy
            shift_id = await create_shift(conn, starts_at=start, headcount=len(holders) + LAST)
            for who in holders:
                assert who.volunteer_id is not None
                await add_signup(conn, shift_id, who.volunteer_id)

        barrier = asyncio.Barrier(GROUPS + SINGLES)

        async def group(i: int, shift_id: int = shift_id, barrier: asyncio.Barrier = barrier) -> bool:
            member = GroupMemberIn(account=shared[i // 2].username)
            form = GroupSignupForm(
                name=f"第{i}组",
                members=[member, GroupMemberIn(name="小朋友", birth_year=year - 8, guardian_consent=True)],
            )
            async with race_pool.acquire() as c:
                await barrier.wait()
                try:
                    await groups.sign_up_group(c, leaders[i], shift_id, form)
                except DomainError:
                    return False
                return True

        async def single(who: Identity, shift_id: int = shift_id, barrier: asyncio.Barrier = barrier) -> bool:
            async with race_pool.acquire() as c:
                await barrier.wait()
                try:
                    await shifts.sign_up(c, who, shift_id)
                except DomainError:
                    return False
                return True

        jobs = [group(i) for i in range(GROUPS)] + [single(w) for w in singles]
        random.Random(day).shuffle(jobs)
        await asyncio.gather(*jobs)

        async with race_pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT taken, headcount,"
                " (SELECT count(*) FROM signups WHERE shift_id = s.id AND status = 'active') AS accounts,"
                " (SELECT count(*) FROM group_members WHERE shift_id = s.id AND volunteer_id IS NULL"
                "  AND status = 'active') AS named"
                " FROM shifts s WHERE id = $1",
                shift_id,
            )
            assert row["taken"] == row["accounts"] + row["named"] <= row["headcount"]
            # Every group that exists holds all three places; none left a partial trace.
            sizes = await conn.fetch(
                "SELECT sg.id, count(m.id) AS n FROM shift_groups sg LEFT JOIN group_members m ON m.group_id = sg.id"
                " WHERE sg.shift_id = $1 GROUP BY sg.id",
                shift_id,
            )
            assert all(r["n"] == 3 for r in sizes)
            strays = await conn.fetchval(
                "SELECT count(*) FROM signups g WHERE g.shift_id = $1 AND g.status = 'active'"
                " AND g.volunteer_id = ANY($2) AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.signup_id = g.id)",
                shift_id,
                [w.volunteer_id for w in leaders + shared],
            )
            assert strays == 0
            # The last places went to someone: a group of three fits in five, so at least one got in.
            assert row["taken"] >= row["headcount"] - 2
