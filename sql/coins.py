"""What time coins buy (时间币兑换): committees' catalogue items and their slots, bookings with their redemption
codes, and where each booking's coins were earned (for the district's settlement between committees)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class ItemRow(msgspec.Struct, frozen=True):
    """A catalogue item of a committee: goods with a stock, or a service booked by slot."""

    id: int
    committee_id: int
    committee_name: str
    name: str
    description: str
    price_minutes: int
    kind: str
    stock: int | None
    status: str
    created_at: dt.datetime


class SlotRow(msgspec.Struct, frozen=True):
    """A bookable time of a service item, with its capacity and the places taken."""

    id: int
    item_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    taken: int


class ItemForBooking(msgspec.Struct, frozen=True):
    """What a booking needs to know of an item, and whether it is in the volunteer's district."""

    id: int
    committee_id: int
    name: str
    kind: str
    price_minutes: int
    status: str
    in_district: bool


class BookingPublic(msgspec.Struct, frozen=True):
    """A booking as its volunteer and the selling committee see it."""

    id: int
    item_id: int
    item_name: str
    committee_id: int
    committee_name: str
    slot_id: int | None
    slot_starts_at: dt.datetime | None
    slot_ends_at: dt.datetime | None
    price_minutes: int
    code: str
    status: str
    booked_at: dt.datetime
    cancelled_at: dt.datetime | None
    redeemed_at: dt.datetime | None


class BookingRow(BookingPublic, frozen=True):
    """A booking with the volunteer it belongs to (the committee sees their name to check who came)."""

    volunteer_id: int
    volunteer_name: str


class SettlementRow(msgspec.Struct, frozen=True):
    """Redeemed coins between this committee and another (None: organisations' shifts and gifts)."""

    other_committee_id: int | None
    other_committee_name: str | None
    bookings: int
    minutes: int


class EarnedRow(msgspec.Struct, frozen=True):
    """Own-time minutes a volunteer earned (or received) by the committee whose shift they came from."""

    committee_id: int | None
    minutes: int


_ITEM_COLUMNS = """
i.id, i.committee_id, c.name AS committee_name, i.name, i.description, i.price_minutes, i.kind, i.stock, i.status,
i.created_at
"""
INSERT_ITEM = """
INSERT INTO coin_items (committee_id, name, description, price_minutes, kind, stock, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""
# Only an active item of the caller's own committee changes; a goods item keeps its stock column, a service none.
UPDATE_ITEM = """
UPDATE coin_items SET name = $3, description = $4, price_minutes = $5,
       stock = CASE WHEN kind = 'goods' THEN coalesce($6, stock) END
WHERE id = $1 AND committee_id = $2 AND status = 'active'
RETURNING id
"""
WITHDRAW_ITEM = """
UPDATE coin_items SET status = 'withdrawn', withdrawn_at = now()
WHERE id = $1 AND committee_id = $2 AND status = 'active'
RETURNING id
"""
SELECT_ITEM = f"""
SELECT {_ITEM_COLUMNS} FROM coin_items i JOIN committees c ON c.id = i.committee_id WHERE i.id = $1
"""
SELECT_COMMITTEE_ITEMS = f"""
SELECT {_ITEM_COLUMNS} FROM coin_items i JOIN committees c ON c.id = i.committee_id
WHERE i.committee_id = $1
ORDER BY i.status, i.created_at DESC, i.id DESC
"""
# The district's catalogue for a volunteer: every committee's active items in the district of their home area.
SELECT_DISTRICT_ITEMS = f"""
SELECT {_ITEM_COLUMNS} FROM coin_items i JOIN committees c ON c.id = i.committee_id
WHERE i.status = 'active'
  AND area_district(c.area_id) = (SELECT area_district(home_area_id) FROM volunteers WHERE id = $1)
ORDER BY c.name, i.price_minutes, i.id
"""
SELECT_ITEM_FOR_BOOKING = """
SELECT i.id, i.committee_id, i.name, i.kind, i.price_minutes, i.status,
       area_district(c.area_id) IS NOT DISTINCT FROM area_district(v.home_area_id) AS in_district
FROM coin_items i JOIN committees c ON c.id = i.committee_id, volunteers v
WHERE i.id = $1 AND v.id = $2
"""
INSERT_SLOT = """
INSERT INTO coin_slots (item_id, starts_at, ends_at, capacity)
SELECT id, $3, $4, $5 FROM coin_items
WHERE id = $1 AND committee_id = $2 AND kind = 'service' AND status = 'active'
ON CONFLICT (item_id, starts_at) DO NOTHING
RETURNING id
"""
_SLOT_COLUMNS = "id, item_id, starts_at, ends_at, capacity, taken"
# Slots still to come of these items, soonest first.
SELECT_SLOTS = f"""
SELECT {_SLOT_COLUMNS} FROM coin_slots
WHERE item_id = ANY($1::bigint[]) AND starts_at > $2
ORDER BY item_id, starts_at
"""
# The guarded statements that take a place: under READ COMMITTED a racing UPDATE waits for the row and re-checks
# the condition on the committed row, so the last place goes to exactly one booking.
TAKE_SLOT_PLACE = """
UPDATE coin_slots SET taken = taken + 1
WHERE id = $1 AND item_id = $2 AND taken < capacity AND starts_at > now()
RETURNING id
"""
TAKE_STOCK = """
UPDATE coin_items SET stock = stock - 1
WHERE id = $1 AND kind = 'goods' AND status = 'active' AND stock > 0
RETURNING id
"""
RETURN_SLOT_PLACE = "UPDATE coin_slots SET taken = taken - 1 WHERE id = $1 RETURNING id"
RETURN_STOCK = "UPDATE coin_items SET stock = stock + 1 WHERE id = $1 AND kind = 'goods' RETURNING id"
HOLDS_SLOT = (
    "SELECT EXISTS (SELECT 1 FROM coin_bookings WHERE slot_id = $1 AND volunteer_id = $2 AND status = 'booked')"
)
INSERT_BOOKING = """
INSERT INTO coin_bookings (item_id, committee_id, slot_id, volunteer_id, price_minutes, code, book_transaction_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (code) DO NOTHING
RETURNING id
"""
# Own-time minutes that came into the account, by where they were earned: earnings by the shift's committee (NULL
# for an organisation's shift), gifts received as NULL. Refunds are left out: they only give back a booking.
SELECT_EARNED = """
SELECT s.committee_id, sum(e.minutes)::bigint AS minutes
FROM ledger_entries e
JOIN ledger_transactions t ON t.id = e.transaction_id
LEFT JOIN attendance a ON a.id = t.attendance_id
LEFT JOIN shifts s ON s.id = a.shift_id
WHERE e.account_id = $1 AND e.bucket = 'own' AND e.minutes > 0 AND t.kind IN ('earn', 'give')
GROUP BY s.committee_id
ORDER BY s.committee_id NULLS LAST
"""
INSERT_ORIGINS = """
INSERT INTO coin_booking_origins (booking_id, earned_committee_id, minutes)
SELECT $1, c, m FROM unnest($2::bigint[], $3::int[]) AS o (c, m)
"""
_BOOKING_COLUMNS = """
b.id, b.item_id, i.name AS item_name, b.committee_id, c.name AS committee_name, b.slot_id,
s.starts_at AS slot_starts_at, s.ends_at AS slot_ends_at, b.price_minutes, b.code, b.status, b.booked_at,
b.cancelled_at, b.redeemed_at, b.volunteer_id, v.display_name AS volunteer_name
"""
_BOOKING_FROM = """
FROM coin_bookings b
JOIN coin_items i ON i.id = b.item_id
JOIN committees c ON c.id = b.committee_id
JOIN volunteers v ON v.id = b.volunteer_id
LEFT JOIN coin_slots s ON s.id = b.slot_id
"""
SELECT_BOOKING = f"SELECT {_BOOKING_COLUMNS} {_BOOKING_FROM} WHERE b.id = $1"
SELECT_VOLUNTEER_BOOKINGS = f"""
SELECT {_BOOKING_COLUMNS} {_BOOKING_FROM}
WHERE b.volunteer_id = $1
ORDER BY b.booked_at DESC, b.id DESC
LIMIT $2 OFFSET $3
"""
# The committee's bookings: the live ones first (soonest slot first), then the rest, latest first.
SELECT_COMMITTEE_BOOKINGS = f"""
SELECT {_BOOKING_COLUMNS} {_BOOKING_FROM}
WHERE b.committee_id = $1
ORDER BY b.status <> 'booked', s.starts_at NULLS LAST, b.booked_at DESC, b.id DESC
LIMIT $2 OFFSET $3
"""
# A cancellation by the volunteer: only a live booking, and a service only before its slot starts.
CANCEL_BOOKING = """
UPDATE coin_bookings b SET status = 'cancelled', cancelled_at = now(), refund_transaction_id = $3
WHERE b.id = $1 AND b.volunteer_id = $2 AND b.status = 'booked'
  AND (b.slot_id IS NULL OR (SELECT starts_at FROM coin_slots WHERE id = b.slot_id) > now())
RETURNING b.id, b.slot_id, b.item_id, b.price_minutes
"""
# The booking the volunteer may cancel now (read under the account's lock, before the refund is written).
SELECT_CANCELLABLE = """
SELECT b.id, b.price_minutes, b.item_id, i.name
FROM coin_bookings b JOIN coin_items i ON i.id = b.item_id
WHERE b.id = $1 AND b.volunteer_id = $2 AND b.status = 'booked'
  AND (b.slot_id IS NULL OR (SELECT starts_at FROM coin_slots WHERE id = b.slot_id) > now())
FOR UPDATE OF b
"""
REDEEM_BOOKING = """
UPDATE coin_bookings SET status = 'redeemed', redeemed_at = now(), redeemed_by = $3
WHERE code = $1 AND committee_id = $2 AND status = 'booked'
RETURNING id
"""
SELECT_BOOKING_BY_CODE = "SELECT id, status FROM coin_bookings WHERE code = $1 AND committee_id = $2"
# Redeemed coins sold here, by the committee where they were earned (the other committee's share is what this one
# claims from it), and coins earned here that were redeemed at other committees (what it owes them).
SELECT_REDEEMED_HERE = """
SELECT o.earned_committee_id AS other_committee_id, c.name AS other_committee_name,
       count(DISTINCT b.id)::int AS bookings, sum(o.minutes)::bigint AS minutes
FROM coin_bookings b
JOIN coin_booking_origins o ON o.booking_id = b.id
LEFT JOIN committees c ON c.id = o.earned_committee_id
WHERE b.committee_id = $1 AND b.status = 'redeemed' AND o.earned_committee_id IS DISTINCT FROM $1
  AND b.redeemed_at >= $2 AND b.redeemed_at < $3
GROUP BY o.earned_committee_id, c.name
ORDER BY sum(o.minutes) DESC, c.name NULLS LAST
"""
SELECT_EARNED_HERE_REDEEMED_ELSEWHERE = """
SELECT b.committee_id AS other_committee_id, c.name AS other_committee_name,
       count(DISTINCT b.id)::int AS bookings, sum(o.minutes)::bigint AS minutes
FROM coin_bookings b
JOIN coin_booking_origins o ON o.booking_id = b.id
JOIN committees c ON c.id = b.committee_id
WHERE o.earned_committee_id = $1 AND b.committee_id <> $1 AND b.status = 'redeemed'
  AND b.redeemed_at >= $2 AND b.redeemed_at < $3
GROUP BY b.committee_id, c.name
ORDER BY sum(o.minutes) DESC, c.name
"""
SELECT_REDEEMED_TOTAL = """
SELECT count(*)::int AS bookings, coalesce(sum(price_minutes), 0)::bigint AS minutes
FROM coin_bookings
WHERE committee_id = $1 AND status = 'redeemed' AND redeemed_at >= $2 AND redeemed_at < $3
"""


async def insert_item(
    conn: asyncpg.Connection,
    committee_id: int,
    *,
    name: str,
    description: str,
    price_minutes: int,
    kind: str,
    stock: int | None,
    created_by: int | None,
) -> int:
    """Add an item to the committee's catalogue (created_by None: written by the demo seed)."""
    return int(
        await conn.fetchval(INSERT_ITEM, committee_id, name, description, price_minutes, kind, stock, created_by)
    )


async def update_item(
    conn: asyncpg.Connection,
    item_id: int,
    committee_id: int,
    *,
    name: str,
    description: str,
    price_minutes: int,
    stock: int | None,
) -> bool:
    """Change an active item of the committee; False if there is none."""
    found = await conn.fetchval(UPDATE_ITEM, item_id, committee_id, name, description, price_minutes, stock)
    return found is not None


async def withdraw_item(conn: asyncpg.Connection, item_id: int, committee_id: int) -> bool:
    """Withdraw an active item of the committee; False if there is none."""
    return await conn.fetchval(WITHDRAW_ITEM, item_id, committee_id) is not None


async def item(conn: asyncpg.Connection, item_id: int) -> ItemRow | None:
    """One item, whatever its state."""
    return await fetch_one(conn, SELECT_ITEM, ItemRow, item_id)


async def committee_items(conn: asyncpg.Connection, committee_id: int) -> list[ItemRow]:
    """The committee's items, active ones first."""
    return await fetch_all(conn, SELECT_COMMITTEE_ITEMS, ItemRow, committee_id)


async def district_items(conn: asyncpg.Connection, volunteer_id: int) -> list[ItemRow]:
    """Active items of every committee in the volunteer's district."""
    return await fetch_all(conn, SELECT_DISTRICT_ITEMS, ItemRow, volunteer_id)


async def item_for_booking(conn: asyncpg.Connection, item_id: int, volunteer_id: int) -> ItemForBooking | None:
    """The item as a booking sees it."""
    return await fetch_one(conn, SELECT_ITEM_FOR_BOOKING, ItemForBooking, item_id, volunteer_id)


async def insert_slot(
    conn: asyncpg.Connection,
    item_id: int,
    committee_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
) -> int | None:
    """Add a slot to an active service item of the committee; None if there is none or the start is taken."""
    found = await conn.fetchval(INSERT_SLOT, item_id, committee_id, starts_at, ends_at, capacity)
    return None if found is None else int(found)


async def slots(conn: asyncpg.Connection, item_ids: list[int], after: dt.datetime) -> list[SlotRow]:
    """The items' slots that start after `after`."""
    return await fetch_all(conn, SELECT_SLOTS, SlotRow, item_ids, after)


async def take_slot_place(conn: asyncpg.Connection, slot_id: int, item_id: int) -> bool:
    """Take one place of a slot still to come; False when it is full, past or not the item's."""
    return await conn.fetchval(TAKE_SLOT_PLACE, slot_id, item_id) is not None


async def take_stock(conn: asyncpg.Connection, item_id: int) -> bool:
    """Take one unit of an active goods item; False when none is left."""
    return await conn.fetchval(TAKE_STOCK, item_id) is not None


async def give_back(conn: asyncpg.Connection, item_id: int, slot_id: int | None) -> None:
    """Give a cancelled booking's place (or unit) back."""
    if slot_id is None:
        await conn.fetchval(RETURN_STOCK, item_id)
    else:
        await conn.fetchval(RETURN_SLOT_PLACE, slot_id)


async def holds_slot(conn: asyncpg.Connection, slot_id: int, volunteer_id: int) -> bool:
    """Whether the volunteer already holds a live booking of this slot."""
    return bool(await conn.fetchval(HOLDS_SLOT, slot_id, volunteer_id))


async def insert_booking(
    conn: asyncpg.Connection,
    *,
    item_id: int,
    committee_id: int,
    slot_id: int | None,
    volunteer_id: int,
    price_minutes: int,
    code: str,
    transaction_id: int,
) -> int | None:
    """Record a booking; None if its code is already in use (the caller draws another)."""
    found = await conn.fetchval(
        INSERT_BOOKING, item_id, committee_id, slot_id, volunteer_id, price_minutes, code, transaction_id
    )
    return None if found is None else int(found)


async def earned(conn: asyncpg.Connection, account_id: int) -> list[EarnedRow]:
    """Own-time minutes the account took in, by the committee they were earned at."""
    return await fetch_all(conn, SELECT_EARNED, EarnedRow, account_id)


async def insert_origins(conn: asyncpg.Connection, booking_id: int, origins: list[tuple[int | None, int]]) -> None:
    """Record where the booking's coins were earned."""
    await conn.execute(INSERT_ORIGINS, booking_id, [o[0] for o in origins], [o[1] for o in origins])


async def booking(conn: asyncpg.Connection, booking_id: int) -> BookingRow | None:
    """One booking."""
    return await fetch_one(conn, SELECT_BOOKING, BookingRow, booking_id)


async def volunteer_bookings(
    conn: asyncpg.Connection, volunteer_id: int, *, limit: int, offset: int
) -> list[BookingRow]:
    """The volunteer's bookings, latest first."""
    return await fetch_all(conn, SELECT_VOLUNTEER_BOOKINGS, BookingRow, volunteer_id, limit, offset)


async def committee_bookings(
    conn: asyncpg.Connection, committee_id: int, *, limit: int, offset: int
) -> list[BookingRow]:
    """Bookings of the committee's items: live ones first."""
    return await fetch_all(conn, SELECT_COMMITTEE_BOOKINGS, BookingRow, committee_id, limit, offset)


async def cancellable(conn: asyncpg.Connection, booking_id: int, volunteer_id: int) -> asyncpg.Record | None:
    """The volunteer's live booking that may still be cancelled, locked."""
    record: asyncpg.Record | None = await conn.fetchrow(SELECT_CANCELLABLE, booking_id, volunteer_id)
    return record


async def cancel(
    conn: asyncpg.Connection, booking_id: int, volunteer_id: int, refund_transaction_id: int
) -> asyncpg.Record | None:
    """Mark the booking cancelled with its refund; None if it may no longer be cancelled."""
    record: asyncpg.Record | None = await conn.fetchrow(CANCEL_BOOKING, booking_id, volunteer_id, refund_transaction_id)
    return record


async def redeem(conn: asyncpg.Connection, code: str, committee_id: int, redeemed_by: int) -> int | None:
    """Mark the committee's live booking with this code redeemed; None if there is none."""
    found = await conn.fetchval(REDEEM_BOOKING, code, committee_id, redeemed_by)
    return None if found is None else int(found)


async def booking_by_code(conn: asyncpg.Connection, code: str, committee_id: int) -> asyncpg.Record | None:
    """The committee's booking with this code, in any state."""
    record: asyncpg.Record | None = await conn.fetchrow(SELECT_BOOKING_BY_CODE, code, committee_id)
    return record


async def settlement(
    conn: asyncpg.Connection, committee_id: int, since: dt.datetime, until: dt.datetime
) -> tuple[list[SettlementRow], list[SettlementRow], int, int]:
    """Redeemed here, earned elsewhere; earned here, redeemed elsewhere; all redeemed here (count, minutes)."""
    here = [
        msgspec.convert(dict(r), SettlementRow)
        for r in await conn.fetch(SELECT_REDEEMED_HERE, committee_id, since, until)
    ]
    away = [
        msgspec.convert(dict(r), SettlementRow)
        for r in await conn.fetch(SELECT_EARNED_HERE_REDEEMED_ELSEWHERE, committee_id, since, until)
    ]
    total = await conn.fetchrow(SELECT_REDEEMED_TOTAL, committee_id, since, until)
    assert total is not None
    return here, away, int(total["bookings"]), int(total["minutes"])


# The demo's second committee: another committee of the same district, the first by id.
SELECT_NEIGHBOUR_COMMITTEE = """
SELECT n.id FROM committees c JOIN committees n ON n.id <> c.id
WHERE c.id = $1 AND area_district(n.area_id) = area_district(c.area_id)
ORDER BY n.id LIMIT 1
"""


async def neighbour_committee(conn: asyncpg.Connection, committee_id: int) -> int | None:
    """Another committee of the same district, if there is one."""
    found = await conn.fetchval(SELECT_NEIGHBOUR_COMMITTEE, committee_id)
    return None if found is None else int(found)
