"""Spending time coins (时间币兑换): the committee's catalogue, booking through the ledger within the district
(通存通兑), cancellation with a refund, redemption by code, the audit trail and the settlement between committees."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from api.services import coins, timebank
from api.services.accounts import Identity
from api.services.coins import BookingCreate, ItemCreate, ItemEdit, Redemption, SlotCreate
from api.services.errors import Conflict, Forbidden, Invalid, NotFound
from api.services.timebank import NotEnoughCoins
from sql import coins as coins_sql
from sql.coins import EarnedRow
from tests.factories import create_area, create_volunteer
from tests.factories_attendance import add_attendance, credit
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity


def later(days: float = 2, hour: int = 9) -> dt.datetime:
    """A time `days` ahead, on the hour."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


async def committee_in(conn: asyncpg.Connection, district_id: int) -> Identity:
    """A committee account whose committee lies in this district."""
    who = await publisher_identity(conn, "committee")
    sub = await create_area(conn, "subdistrict", district_id)
    area = await create_area(conn, "committee", sub)
    await conn.execute("UPDATE committees SET area_id = $2 WHERE id = $1", who.committee_id, area)
    return who


async def volunteer_in(conn: asyncpg.Connection, district_id: int, minutes: int = 0) -> Identity:
    """A volunteer living in this district, with `minutes` of own time."""
    who = await volunteer_identity(conn)
    sub = await create_area(conn, "subdistrict", district_id)
    area = await create_area(conn, "committee", sub)
    await conn.execute("UPDATE volunteers SET home_area_id = $2 WHERE id = $1", who.volunteer_id, area)
    if minutes:
        assert who.volunteer_id is not None
        await credit(conn, who.volunteer_id, minutes)
    return who


async def scene(conn: asyncpg.Connection) -> dict[str, Any]:
    """A district with two committees (a haircut service and a goods item at the first), a volunteer with 5 coins."""
    district = await create_area(conn, "district")
    east, west = await committee_in(conn, district), await committee_in(conn, district)
    haircut = await coins.add_item(conn, east, ItemCreate(name="理发", price_minutes=60, kind="service"))
    slot = await coins.add_slot(
        conn, east, haircut.item.id, SlotCreate(starts_at=later(), ends_at=later() + dt.timedelta(hours=2), capacity=2)
    )
    oil = await coins.add_item(conn, west, ItemCreate(name="食用油一桶", price_minutes=120, kind="goods", stock=1))
    volunteer = await volunteer_in(conn, district, minutes=300)
    return {
        "district": district,
        "east": east,
        "west": west,
        "haircut": haircut.item.id,
        "slot": slot.slots[0].id,
        "oil": oil.item.id,
        "volunteer": volunteer,
    }


async def balance(conn: asyncpg.Connection, who: Identity) -> int:
    account = await conn.fetchval("SELECT id FROM ledger_accounts WHERE volunteer_id = $1", who.volunteer_id)
    return int(
        await conn.fetchval("SELECT coalesce(sum(minutes), 0) FROM ledger_entries WHERE account_id = $1", account)
    )


async def test_booking_moves_coins_to_spent_takes_a_place_and_gives_a_code(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    spent_before = await conn.fetchval(
        "SELECT coalesce(sum(minutes), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
        " WHERE a.kind = 'services'"
    )
    booking = await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    assert booking.status == "booked" and booking.price_minutes == 60 and len(booking.code) == 8
    assert booking.committee_id == s["east"].committee_id
    assert await balance(conn, s["volunteer"]) == 240
    spent_after = await conn.fetchval(
        "SELECT coalesce(sum(minutes), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
        " WHERE a.kind = 'services'"
    )
    assert spent_after - spent_before == 60
    assert await conn.fetchval("SELECT taken FROM coin_slots WHERE id = $1", s["slot"]) == 1
    actions = await conn.fetch(
        "SELECT action, detail FROM audit_log WHERE object_type = 'coin_booking' AND object_id = $1",
        str(booking.id),
    )
    assert [a["action"] for a in actions] == ["coins.booked"]


async def test_a_volunteer_spends_at_another_committee_of_the_district(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    listed = {v.item.id for v in await coins.district_catalogue(conn, s["volunteer"])}
    assert {s["haircut"], s["oil"]} <= listed
    booking = await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["oil"]))
    assert booking.committee_id == s["west"].committee_id
    assert await conn.fetchval("SELECT stock FROM coin_items WHERE id = $1", s["oil"]) == 0
    with pytest.raises(Conflict) as refused:
        await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["oil"]))
    assert refused.value.kind == "coins-full"


async def test_another_districts_items_are_not_offered_and_booking_one_is_refused(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    elsewhere = await volunteer_in(conn, await create_area(conn, "district"), minutes=600)
    listed = {v.item.id for v in await coins.district_catalogue(conn, elsewhere)}
    assert s["haircut"] not in listed and s["oil"] not in listed
    with pytest.raises(Forbidden) as refused:
        await coins.book(conn, elsewhere, BookingCreate(item_id=s["oil"]))
    assert refused.value.kind == "coins-other-district"
    assert await balance(conn, elsewhere) == 600


async def test_not_enough_coins_is_409_and_nothing_moves(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    poor = await volunteer_in(conn, s["district"], minutes=30)
    with pytest.raises(NotEnoughCoins) as refused:
        await coins.book(conn, poor, BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    assert refused.value.status == 409 and "item_id" in refused.value.fields
    assert await conn.fetchval("SELECT taken FROM coin_slots WHERE id = $1", s["slot"]) == 0
    assert await balance(conn, poor) == 30


async def test_group_time_does_not_buy(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    grouped = await volunteer_in(conn, s["district"])
    assert grouped.volunteer_id is not None
    await credit(conn, grouped.volunteer_id, 600, "group")
    with pytest.raises(NotEnoughCoins) as refused:
        await coins.book(conn, grouped, BookingCreate(item_id=s["oil"]))
    assert refused.value.fields["item_id"] == "Group-earned coins can only be donated"


async def test_the_schema_refuses_an_overdrawn_booking(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    account = await conn.fetchval("SELECT id FROM ledger_accounts WHERE volunteer_id = $1", s["volunteer"].volunteer_id)
    spent = await conn.fetchval("SELECT id FROM ledger_accounts WHERE kind = 'services'")
    savepoint = conn.transaction()
    await savepoint.start()
    await conn.execute("SET CONSTRAINTS ledger_entries_balanced IMMEDIATE")
    t = await conn.fetchval("INSERT INTO ledger_transactions (kind) VALUES ('book') RETURNING id")
    with pytest.raises(asyncpg.CheckViolationError, match="overdrawn"):
        await conn.execute(
            "INSERT INTO ledger_entries (transaction_id, account_id, bucket, minutes)"
            " VALUES ($1, $2, 'own', -100000), ($1, $3, 'own', 100000)",
            t,
            account,
            spent,
        )
    await savepoint.rollback()


async def test_a_service_needs_a_slot_and_one_booking_a_slot_each(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    with pytest.raises(Invalid) as no_slot:
        await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"]))
    assert "slot_id" in no_slot.value.fields
    await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    with pytest.raises(Conflict) as again:
        await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    assert again.value.kind == "coins-already"


async def test_cancelling_refunds_by_a_reversing_transaction_and_frees_the_place(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    booking = await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    cancelled = await coins.cancel(conn, s["volunteer"], booking.id)
    assert cancelled.status == "cancelled"
    assert await balance(conn, s["volunteer"]) == 300
    assert await conn.fetchval("SELECT taken FROM coin_slots WHERE id = $1", s["slot"]) == 0
    kinds = await conn.fetch(
        "SELECT t.kind FROM coin_bookings b JOIN ledger_transactions t"
        " ON t.id IN (b.book_transaction_id, b.refund_transaction_id) WHERE b.id = $1 ORDER BY t.id",
        booking.id,
    )
    assert [k["kind"] for k in kinds] == ["book", "refund"]
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'coins.cancelled' AND object_id = $1", str(booking.id)
        )
        == 1
    )
    with pytest.raises(Conflict):
        await coins.cancel(conn, s["volunteer"], booking.id)


async def test_no_cancelling_once_the_slot_began_nor_anothers_booking(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    booking = await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    other = await volunteer_in(conn, s["district"], minutes=60)
    with pytest.raises(NotFound):
        await coins.cancel(conn, other, booking.id)
    await conn.execute("UPDATE coin_slots SET starts_at = now() - interval '1 minute' WHERE id = $1", s["slot"])
    with pytest.raises(Conflict, match="begun"):
        await coins.cancel(conn, s["volunteer"], booking.id)


async def test_the_committee_redeems_by_code_once(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    booking = await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    with pytest.raises(NotFound) as elsewhere:
        await coins.redeem(conn, s["west"], Redemption(code=booking.code))
    assert "code" in elsewhere.value.fields
    typed = f"{booking.code[:4].lower()}-{booking.code[4:]}"
    redeemed = await coins.redeem(conn, s["east"], Redemption(code=typed))
    assert redeemed.status == "redeemed" and redeemed.id == booking.id
    with pytest.raises(Conflict, match="already redeemed"):
        await coins.redeem(conn, s["east"], Redemption(code=booking.code))
    with pytest.raises(Conflict):
        await coins.cancel(conn, s["volunteer"], booking.id)
    listed = await coins.committee_bookings(conn, s["east"], limit=10, offset=0)
    assert [b.id for b in listed] == [booking.id]


async def test_the_committee_edits_withdraws_and_only_its_own_items(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    edited = await coins.edit_item(conn, s["west"], s["oil"], ItemEdit(name="食用油", price_minutes=90, stock=5))
    assert (edited.item.name, edited.item.price_minutes, edited.item.stock) == ("食用油", 90, 5)
    with pytest.raises(NotFound):
        await coins.edit_item(conn, s["east"], s["oil"], ItemEdit(name="x", price_minutes=1, stock=1))
    with pytest.raises(Invalid) as no_stock:
        await coins.edit_item(conn, s["east"], s["haircut"], ItemEdit(name="理发", price_minutes=60, stock=3))
    assert "stock" in no_stock.value.fields
    await coins.withdraw_item(conn, s["west"], s["oil"])
    assert s["oil"] not in {v.item.id for v in await coins.district_catalogue(conn, s["volunteer"])}
    with pytest.raises(Conflict) as refused:
        await coins.book(conn, s["volunteer"], BookingCreate(item_id=s["oil"]))
    assert refused.value.kind == "coins-withdrawn"
    with pytest.raises(Forbidden):
        await coins.add_item(conn, s["volunteer"], ItemCreate(name="x", price_minutes=60, kind="goods", stock=1))
    actions = await conn.fetch(
        "SELECT action, detail FROM audit_log WHERE object_type = 'coin_item' AND object_id = $1 ORDER BY id",
        str(s["oil"]),
    )
    assert [a["action"] for a in actions] == ["coins.item_added", "coins.item_edited", "coins.item_withdrawn"]


def test_split_by_origin_is_pro_rata_in_whole_minutes() -> None:
    earned = [EarnedRow(committee_id=1, minutes=200), EarnedRow(committee_id=2, minutes=100)]
    assert coins.split_by_origin(100, earned) == [(1, 67), (2, 33)]
    assert coins.split_by_origin(60, [EarnedRow(committee_id=None, minutes=5)]) == [(None, 60)]
    assert sum(m for _, m in coins.split_by_origin(7, [EarnedRow(committee_id=k, minutes=1) for k in range(3)])) == 7


async def test_settlement_counts_redeemed_coins_earned_at_other_committees(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    east, west = s["east"], s["west"]
    # The volunteer earned 2 hours at a shift of the west committee (and 5 hours of plain credit, of no committee).
    earner = await volunteer_in(conn, s["district"])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    shift = await create_shift(conn, committee_id=west.committee_id, starts_at=past)
    signup = await add_signup(conn, shift, earner.volunteer_id or 0)
    attendance = await add_attendance(
        conn, shift, signup, earner.volunteer_id or 0, minutes=120, confirmed_by=west.account_id
    )
    await timebank.credit_attendance(
        conn,
        attendance_id=attendance,
        volunteer_id=earner.volunteer_id or 0,
        minutes=120,
        group=False,
        cap_minutes=90000,
        decided_by=west.account_id,
    )
    booking = await coins.book(conn, earner, BookingCreate(item_id=s["haircut"], slot_id=s["slot"]))
    origins = await conn.fetch(
        "SELECT earned_committee_id, minutes FROM coin_booking_origins WHERE booking_id = $1", booking.id
    )
    assert {(o["earned_committee_id"], o["minutes"]) for o in origins} == {(west.committee_id, 60)}
    today = dt.datetime.now(dt.UTC).date()
    assert (await coins.settlement(conn, east, today, today)).redeemed_bookings == 0  # booked, not yet redeemed
    await coins.redeem(conn, east, Redemption(code=booking.code))
    window = (today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    here = await coins.settlement(conn, east, *window)
    assert (here.redeemed_bookings, here.redeemed_minutes) == (1, 60)
    assert [(r.other_committee_id, r.minutes) for r in here.redeemed_here_earned_elsewhere] == [(west.committee_id, 60)]
    there = await coins.settlement(conn, west, *window)
    assert [(r.other_committee_id, r.minutes) for r in there.earned_here_redeemed_elsewhere] == [
        (east.committee_id, 60)
    ]
    assert there.redeemed_bookings == 0
    rows = await coins_sql.committee_bookings(conn, east.committee_id or 0, limit=5, offset=0)
    assert rows[0].status == "redeemed"


async def test_a_volunteer_whose_home_is_a_district_itself_sees_that_district(conn: asyncpg.Connection) -> None:
    s = await scene(conn)
    volunteer_id = await create_volunteer(conn, home_area_id=s["district"])
    assert {s["haircut"], s["oil"]} <= {i.id for i in await coins_sql.district_items(conn, volunteer_id)}
