"""Releasing unconfirmed places under real concurrency: two sweeps at once, a holder cancelling, newcomers signing up
and a waitlist, each on its own connection, released together. No place is oversold, none released twice, and the
calendar (commitments) stays equal to the places held."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg

from api.services import confirmations, shifts
from api.services.errors import DomainError
from tests.factories_shifts import add_signup, create_shift, volunteer_identity

ROUNDS = 6


async def _scene(conn: asyncpg.Connection) -> dict[str, Any]:
    """A shift 5 hours ahead with 3 places: two unconfirmed holders, one confirmed, three waiting, two newcomers."""
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=5)
    shift_id = await create_shift(conn, starts_at=starts, headcount=3, cancellation_window_hours=0)
    people = {name: await volunteer_identity(conn) for name in ("a", "b", "kept", "w1", "w2", "w3", "n1", "n2")}
    for name in ("a", "b", "kept"):
        await add_signup(conn, shift_id, people[name].volunteer_id or 0)
    for name in ("w1", "w2", "w3"):
        await add_signup(conn, shift_id, people[name].volunteer_id or 0, "waitlisted")
    await conn.execute(
        "UPDATE signups SET confirmed_at = now() WHERE shift_id = $1 AND volunteer_id = $2",
        shift_id,
        people["kept"].volunteer_id,
    )
    # The shift asks from now on: the cut-off (12 h before) has passed for a and b.
    await conn.execute("UPDATE shifts SET confirm_hours_before = 12 WHERE id = $1", shift_id)
    return {"shift_id": shift_id, **people}


async def _race(pool: asyncpg.Pool, steps: list[Any]) -> list[Any]:
    """Each step on its own connection, all released together; a refusal is an outcome, not a failure."""
    gate = asyncio.Event()

    async def run(step: Any) -> Any:
        async with pool.acquire() as conn:
            await gate.wait()
            try:
                return await step(conn)
            except DomainError as exc:
                return exc

    tasks = [asyncio.create_task(run(step)) for step in steps]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.gather(*tasks)


async def test_release_against_cancel_and_sign_up_never_oversells(empty_database_url: str) -> None:
    pool = await asyncpg.create_pool(empty_database_url, min_size=5, max_size=5)
    try:
        for _ in range(ROUNDS):
            async with pool.acquire() as conn:
                scene = await _scene(conn)
            shift_id = scene["shift_id"]
            kept, n1, n2 = scene["kept"], scene["n1"], scene["n2"]
            sweeps = (
                await _race(
                    pool,
                    [
                        confirmations.sweep,
                        confirmations.sweep,
                        lambda c, who=kept, s=shift_id: shifts.cancel(c, who, s),
                        lambda c, who=n1, s=shift_id: shifts.sign_up(c, who, s),
                        lambda c, who=n2, s=shift_id: shifts.sign_up(c, who, s),
                    ],
                )
            )[:2]
            assert sum(s.released for s in sweeps) == 2  # a and b, each exactly once
            async with pool.acquire() as conn:
                taken, headcount = await conn.fetchrow("SELECT taken, headcount FROM shifts WHERE id = $1", shift_id)
                held = {
                    r["volunteer_id"]
                    for r in await conn.fetch(
                        "SELECT volunteer_id FROM signups WHERE shift_id = $1 AND status = 'active'", shift_id
                    )
                }
                assert taken == len(held) <= headcount
                committed = {
                    r["volunteer_id"]
                    for r in await conn.fetch(
                        "SELECT c.volunteer_id FROM commitments c JOIN signups g ON g.id = c.signup_id"
                        " WHERE g.shift_id = $1 AND c.status = 'active'",
                        shift_id,
                    )
                }
                assert committed == held
                released = await conn.fetch(
                    "SELECT volunteer_id FROM signups WHERE shift_id = $1 AND status = 'released'", shift_id
                )
                assert sorted(r["volunteer_id"] for r in released) == sorted(
                    [scene["a"].volunteer_id, scene["b"].volunteer_id]
                )
                # Told once each, audited once each.
                assert (
                    await conn.fetchval(
                        "SELECT count(*) FROM notifications WHERE shift_id = $1 AND kind = 'place_released'", shift_id
                    )
                    == 2
                )
                assert (
                    await conn.fetchval(
                        "SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = 'shift.place_released'",
                        str(shift_id),
                    )
                    == 2
                )
                # The three freed places (a, b and the cancellation) all went to someone: the waitlist first.
                assert taken == headcount
    finally:
        await pool.close()
