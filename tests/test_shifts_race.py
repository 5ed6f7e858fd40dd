"""The pick-up under real concurrency: separate connections released together for a shift's last places.

Each round: shift A has its last K places free, C of its holders cancel (each cancellation hands the place to the
next person on the waitlist in the same transaction), and at the same instant volunteers pick up A, others pick up
B (overlapping A in time), and some pick up both. Since a cancellation refills its place atomically, exactly K
pick-ups of A must succeed and exactly K_B of B, `taken` must equal the active sign-ups, and nobody may hold two
overlapping shifts. The same rounds with a naive read-then-write pick-up (kept only here) must oversell.

Sizing: 30 rounds of 500 requests on 500 separate connections, each holding its connection before a barrier
releases them together (the test cluster allows 900 connections; the two tests of this module take a lock on the
shared server so that they never hold 1,000 at once); the naive run stops at its first oversell, which comes in its
first round. Each round sends the requests in another order (seeded), so the rounds differ in who arrives first and
not only in when. A round costs both cores about 1.5 s (500 backends woken in turn): 100 rounds, as before, held a
quarter of `make test`'s time budget for no race a round here would not also meet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from api.services import shifts
from api.services.accounts import Identity
from api.services.errors import DomainError
from tests import factories
from tests.conftest import Servers
from tests.factories_shifts import add_signup, create_shift
from tests.race_kit import race_pool, racers

# About a minute on an idle 2-core machine; a busy one must not cut it at the suite's per-test limit of 300 s.
pytestmark = [pytest.mark.race, pytest.mark.timeout(900)]

ROUNDS = 30
K = 10  # the last places of shift A, and of shift B
CANCELLING = 20  # holders of A who cancel; the waitlist refills each place
WAITING = CANCELLING + 2
SINGLES_A = 300  # far more than K: most of them are refused only because A is full
SINGLES_B = 80
BOTH = 50  # each sends two requests at once, for A and for B
HELD_BEFORE = CANCELLING + 3  # places of A already taken before the round
CONCURRENCY = CANCELLING + SINGLES_A + SINGLES_B + 2 * BOTH
GROUPS = {"holders": HELD_BEFORE, "waiting": WAITING, "a": SINGLES_A, "b": SINGLES_B, "both": BOTH}

PickUp = Callable[[asyncpg.Connection, Identity, int], Awaitable[bool]]
Job = Callable[[Any], Awaitable[bool]]


def job(action: PickUp, who: Identity, shift_id: int) -> Job:
    """One request of the round, waiting for its connection."""

    async def run(conn: Any) -> bool:
        return await action(conn, who, shift_id)

    return run


async def real_pick_up(conn: asyncpg.Connection, who: Identity, shift_id: int) -> bool:
    """The use case the API calls."""
    try:
        await shifts.sign_up(conn, who, shift_id)
    except DomainError:
        return False
    return True


async def naive_pick_up(conn: asyncpg.Connection, who: Identity, shift_id: int) -> bool:
    """Read the count, decide in Python, write the count back: the version that must not be used."""
    assert who.volunteer_id is not None
    try:
        async with conn.transaction():
            row = await conn.fetchrow("SELECT taken, headcount FROM shifts WHERE id = $1", shift_id)
            assert row is not None
            if row["taken"] >= row["headcount"]:
                return False
            await conn.execute("UPDATE shifts SET taken = $2 WHERE id = $1", shift_id, row["taken"] + 1)
            await conn.execute(
                """
                INSERT INTO signups (shift_id, volunteer_id, status, during)
                SELECT id, $2, 'active', tstzrange(starts_at, ends_at, '[)') FROM shifts WHERE id = $1
                """,
                shift_id,
                who.volunteer_id,
            )
    except asyncpg.PostgresError:
        return False
    return True


async def cancel(conn: asyncpg.Connection, who: Identity, shift_id: int) -> bool:
    """Cancel and report whether the place went to someone waiting."""
    outcome = await shifts.cancel(conn, who, shift_id)
    assert outcome.status == "cancelled"
    return outcome.promoted


@dataclass
class Outcome:
    """What one round did."""

    picked_a: int
    picked_b: int
    promoted: int
    violations: list[str]


@pytest.fixture
async def pool(empty_database_url: str, servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    async with race_pool(empty_database_url, servers, CONCURRENCY) as p:
        yield p


async def _round(pool: asyncpg.Pool, people: dict[str, list[Identity]], day: int, pick_up: PickUp) -> Outcome:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3 + day)
    async with pool.acquire() as proxy:
        conn: Any = proxy
        org = await factories.create_org(conn)
        shift_a = await create_shift(conn, organisation_id=org, starts_at=start, headcount=HELD_BEFORE + K)
        shift_b = await create_shift(conn, organisation_id=org, starts_at=start + dt.timedelta(minutes=30), headcount=K)
        for who in people["holders"]:
            assert who.volunteer_id is not None
            await add_signup(conn, shift_a, who.volunteer_id)
        for who in people["waiting"]:
            assert who.volunteer_id is not None
            await add_signup(conn, shift_a, who.volunteer_id, status="waitlisted")

    jobs: list[tuple[str, Job]] = []
    for who in people["holders"][:CANCELLING]:
        jobs.append(("cancel", job(cancel, who, shift_a)))
    for who in people["a"]:
        jobs.append(("a", job(pick_up, who, shift_a)))
    for who in people["b"]:
        jobs.append(("b", job(pick_up, who, shift_b)))
    for who in people["both"]:
        jobs.append(("a", job(pick_up, who, shift_a)))
        jobs.append(("b", job(pick_up, who, shift_b)))
    assert len(jobs) == CONCURRENCY == 500
    # Who is first at the row lock follows the order of the tasks: each round another (reproducible) order.
    random.Random(day).shuffle(jobs)
    barrier = asyncio.Barrier(len(jobs))

    async def run(request: Job) -> bool:
        # Every task holds its own connection before the barrier lets them all go at once.
        async with pool.acquire() as conn:
            await barrier.wait()
            return await request(conn)

    results = await asyncio.gather(*(run(request) for _, request in jobs))
    picked = {"a": 0, "b": 0, "cancel": 0}
    for (kind, _), ok in zip(jobs, results, strict=True):
        picked[kind] += int(ok)

    violations: list[str] = []
    async with pool.acquire() as conn:
        for shift_id in (shift_a, shift_b):
            row = await conn.fetchrow(
                "SELECT taken, headcount, (SELECT count(*) FROM signups WHERE shift_id = s.id AND status = 'active')"
                " AS active FROM shifts s WHERE id = $1",
                shift_id,
            )
            assert row is not None
            if row["taken"] != row["active"]:
                violations.append(f"shift {shift_id}: taken {row['taken']} but {row['active']} active sign-ups")
            if row["active"] > row["headcount"]:
                violations.append(f"shift {shift_id}: {row['active']} active for {row['headcount']} places")
        overlaps = await conn.fetchval(
            "SELECT count(*) FROM signups x JOIN signups y ON x.volunteer_id = y.volunteer_id AND x.id < y.id"
            " AND x.during && y.during WHERE x.status = 'active' AND y.status = 'active'"
        )
        if overlaps:
            violations.append(f"{overlaps} overlapping pairs of active sign-ups")
    if picked["a"] != K or picked["b"] != K:
        violations.append(f"picked up {picked['a']} of A and {picked['b']} of B, expected {K} each")
    return Outcome(picked_a=picked["a"], picked_b=picked["b"], promoted=picked["cancel"], violations=violations)


async def _setup(pool: asyncpg.Pool) -> dict[str, list[Identity]]:
    async with pool.acquire() as conn:
        # Rounds fall on consecutive days with the same people: every one of them stays eligible all week.
        everyone = await racers(conn, sum(GROUPS.values()), "racer")
    people: dict[str, list[Identity]] = {}
    for name, size in GROUPS.items():
        people[name], everyone = everyone[:size], everyone[size:]
    return people


async def test_exactly_the_last_places_are_taken_under_concurrency(pool: asyncpg.Pool) -> None:
    people = await _setup(pool)
    for day in range(ROUNDS):
        outcome = await _round(pool, people, day, real_pick_up)
        assert outcome.violations == [], f"round {day}: {outcome.violations}"
        assert outcome.promoted == CANCELLING, f"round {day}: every cancellation hands its place on"


async def test_the_naive_read_then_write_pick_up_oversells(pool: asyncpg.Pool) -> None:
    people = await _setup(pool)
    failures = []
    for day in range(ROUNDS):
        outcome = await _round(pool, people, day, naive_pick_up)
        failures += outcome.violations
        if any("active for" in v or "taken" in v for v in outcome.violations):
            break
    assert any("active for" in v for v in failures), "the naive version never oversold: the race is not exercised"
