"""Handing a place over under real concurrency, each step on its own connection, released together: two takers for
one offered place (exactly one wins), and the offerer cancelling or withdrawing while someone takes (never both).
After each round the count of places taken equals the places held, and the shift is never oversold."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from api.services import handovers, shifts
from api.services.errors import DomainError
from tests.factories_shifts import create_shift, volunteer_identity
from tests.test_confirmations_race import _race

pytestmark = [pytest.mark.race]

ROUNDS = 5


def _take(who: Any, shift_id: int, handover_id: int) -> Any:
    return lambda c: handovers.take(c, who, shift_id, handover_id)


def _leave(step: Any, who: Any, shift_id: int) -> Any:
    return lambda c: step(c, who, shift_id)


async def _scene(pool: asyncpg.Pool, takers: int) -> dict[str, Any]:
    """A shift with 2 places, one held by a bystander and one offered by its holder; `takers` volunteers."""
    async with pool.acquire() as conn:
        shift_id = await create_shift(conn, headcount=2)
        holder, bystander = await volunteer_identity(conn), await volunteer_identity(conn)
        await shifts.sign_up(conn, bystander, shift_id)
        await shifts.sign_up(conn, holder, shift_id)
        offer = await handovers.offer(conn, holder, shift_id)
        people = [await volunteer_identity(conn) for _ in range(takers)]
    return {"shift_id": shift_id, "holder": holder, "handover_id": offer.handover_id, "takers": people}


async def _held(pool: asyncpg.Pool, shift_id: int) -> tuple[int, int, dict[int, str]]:
    async with pool.acquire() as conn:
        taken = await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id)
        rows = await conn.fetch("SELECT volunteer_id, status FROM signups WHERE shift_id = $1", shift_id)
        live = await conn.fetchval(
            "SELECT count(*) FROM commitments c JOIN signups g ON g.id = c.signup_id"
            " WHERE g.shift_id = $1 AND c.status = 'active'",
            shift_id,
        )
    held = {r["volunteer_id"]: r["status"] for r in rows if r["status"] == "active"}
    return int(taken), int(live), held


async def test_two_takers_for_one_offered_place_exactly_one_wins(empty_database_url: str) -> None:
    pool = await asyncpg.create_pool(empty_database_url, min_size=4, max_size=4)
    try:
        for _ in range(ROUNDS):
            scene = await _scene(pool, 3)
            shift_id, handover_id = scene["shift_id"], scene["handover_id"]
            outcomes = await _race(
                pool,
                [_take(who, shift_id, handover_id) for who in scene["takers"]],
            )
            won = [o for o in outcomes if isinstance(o, handovers.HandoverOutcome)]
            assert len(won) == 1 and won[0].status == "taken"
            assert all(isinstance(o, handovers.HandoverRefused) for o in outcomes if o not in won)
            taken, live, held = await _held(pool, shift_id)
            assert taken == live == len(held) == 2
            assert scene["holder"].volunteer_id not in held
    finally:
        await pool.close()


async def test_the_offerer_cancelling_or_withdrawing_while_someone_takes_never_gives_both(empty_database_url: str):
    pool = await asyncpg.create_pool(empty_database_url, min_size=4, max_size=4)
    try:
        for round_ in range(2 * ROUNDS):
            scene = await _scene(pool, 2)
            shift_id, handover_id, holder = scene["shift_id"], scene["handover_id"], scene["holder"]
            leave = shifts.cancel if round_ % 2 == 0 else handovers.withdraw
            outcomes = await _race(
                pool,
                [_leave(leave, holder, shift_id), *[_take(who, shift_id, handover_id) for who in scene["takers"]]],
            )
            left, takes = outcomes[0], outcomes[1:]
            took = [o for o in takes if isinstance(o, handovers.HandoverOutcome)]
            taken, live, held = await _held(pool, shift_id)
            assert taken == live == len(held) <= 2
            if isinstance(left, DomainError):
                # The place changed hands first: the offerer holds nothing to cancel or withdraw.
                assert len(took) == 1 and holder.volunteer_id not in held and len(held) == 2
            else:
                assert took == []
                # A cancellation frees the place; a withdrawal keeps it with the offerer.
                assert (holder.volunteer_id in held) == (leave is handovers.withdraw)
            async with pool.acquire() as conn:
                status = await conn.fetchval("SELECT status FROM handovers WHERE id = $1", handover_id)
            assert status == ("taken" if took else "withdrawn")
    finally:
        await pool.close()
