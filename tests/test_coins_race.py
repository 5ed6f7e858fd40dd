"""Booking with time coins under real concurrency, each booking on its own connection, released together: many
volunteers for the last place of a slot and for the last unit of goods — exactly one wins, the others are told it is
full and keep their coins; and one volunteer's bookings racing for more than their balance never overdraw it."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import coins
from api.services.coins import BookingCreate, ItemCreate, SlotCreate
from api.services.errors import Conflict
from api.services.timebank import NotEnoughCoins
from tests.factories import create_area
from tests.test_coins import committee_in, later, volunteer_in
from tests.test_confirmations_race import _race

pytestmark = [pytest.mark.race]

ROUNDS = 3
PEOPLE = 12


async def _spent(pool: asyncpg.Pool, volunteer_ids: list[int | None]) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT coalesce(-sum(e.minutes), 0) FROM ledger_entries e"
                " JOIN ledger_accounts a ON a.id = e.account_id JOIN ledger_transactions t ON t.id = e.transaction_id"
                " WHERE a.volunteer_id = ANY($1::bigint[]) AND t.kind IN ('book', 'refund')",
                volunteer_ids,
            )
        )


async def test_many_volunteers_for_the_last_place_exactly_one_books_it(empty_database_url: str) -> None:
    pool = await asyncpg.create_pool(empty_database_url, min_size=PEOPLE, max_size=PEOPLE)
    try:
        for _ in range(ROUNDS):
            async with pool.acquire() as conn:
                district = await create_area(conn, "district")
                committee = await committee_in(conn, district)
                service = await coins.add_item(
                    conn, committee, ItemCreate(name="理发", price_minutes=60, kind="service")
                )
                slot = await coins.add_slot(
                    conn,
                    committee,
                    service.item.id,
                    SlotCreate(starts_at=later(), ends_at=later() + dt.timedelta(hours=1), capacity=1),
                )
                goods = await coins.add_item(
                    conn, committee, ItemCreate(name="米一袋", price_minutes=30, kind="goods", stock=1)
                )
                people = [await volunteer_in(conn, district, minutes=120) for _ in range(PEOPLE)]
            slot_id = slot.slots[0].id
            half = PEOPLE // 2
            haircut = BookingCreate(item_id=service.item.id, slot_id=slot_id)
            rice = BookingCreate(item_id=goods.item.id)
            outcomes = await _race(
                pool,
                [
                    *((lambda c, who=who, form=haircut: coins.book(c, who, form)) for who in people[:half]),
                    *((lambda c, who=who, form=rice: coins.book(c, who, form)) for who in people[half:]),
                ],
            )
            for group in (outcomes[:half], outcomes[half:]):
                won = [o for o in group if not isinstance(o, Exception)]
                assert len(won) == 1, group
                assert all(isinstance(o, Conflict) and o.kind == "coins-full" for o in group if o not in won)
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT taken FROM coin_slots WHERE id = $1", slot_id) == 1
                assert await conn.fetchval("SELECT stock FROM coin_items WHERE id = $1", goods.item.id) == 0
                assert (
                    await conn.fetchval(
                        "SELECT count(*) FROM coin_bookings WHERE item_id = ANY($1::bigint[])",
                        [service.item.id, goods.item.id],
                    )
                    == 2
                )
            assert await _spent(pool, [p.volunteer_id for p in people]) == 60 + 30
    finally:
        await pool.close()


async def test_one_volunteers_racing_bookings_never_overdraw(empty_database_url: str) -> None:
    pool = await asyncpg.create_pool(empty_database_url, min_size=6, max_size=6)
    try:
        async with pool.acquire() as conn:
            district = await create_area(conn, "district")
            committee = await committee_in(conn, district)
            goods = await coins.add_item(
                conn, committee, ItemCreate(name="米一袋", price_minutes=60, kind="goods", stock=50)
            )
            who = await volunteer_in(conn, district, minutes=150)
        outcomes = await _race(pool, [lambda c: coins.book(c, who, BookingCreate(item_id=goods.item.id))] * 6)
        assert sum(not isinstance(o, Exception) for o in outcomes) == 2
        assert all(isinstance(o, NotEnoughCoins) for o in outcomes if isinstance(o, Exception))
        assert await _spent(pool, [who.volunteer_id]) == 120
    finally:
        await pool.close()
