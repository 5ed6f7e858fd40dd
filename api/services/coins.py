"""What time coins buy (时间币兑换): a committee's catalogue of goods and booked services, bookings paid through the
ledger, cancellation with a refund, redemption by code, and the settlement between a district's committees.

The rules (docs/volunteer-profile-and-shifts.md "Rules: spending time coins (issue 15, item 8)"):
- Coins earned anywhere in a district are spent at any committee of that district (通存通兑); another district's
  items are not offered, and booking one is refused.
- A booking pays its price from own time (group time can only be donated): in one transaction the volunteer's
  account is locked, its balance read, a place (a slot's, or a unit of stock) taken by a guarded statement, the
  coins moved to the spent-coins account, and the booking written with its redemption code.
- The volunteer cancels a booking until its slot starts (goods until redeemed): a reversing transaction gives the
  coins back and the place is freed. The committee marks a booking redeemed when the volunteer shows the code.
- Where a booking's coins were earned is fixed when it is made, pro rata to all the own-time coins the volunteer
  has earned, by the committee of each shift; a committee's settlement counts the redeemed ones.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services.accounts import Identity
from api.services.attendance import AwareDateTime
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.horizon import span_errors
from api.services.timebank import MINUTES_PER_COIN, NotEnoughCoins, beyond_own
from api.services.types import SHANGHAI, Id, Name, Text
from sql import coins as coins_sql
from sql import ledger as ledger_sql
from sql.coins import BookingRow, ItemRow, SettlementRow, SlotRow

_ONLY_COMMITTEES = "Only a residents' committee keeps a catalogue of what time coins buy"
_ONLY_VOLUNTEERS = "Only volunteers spend time coins"
NO_ITEM = "No such item in your committee's catalogue"
NO_BOOKING = "No such booking"
# Redemption codes: no 0/O, 1/I/L look-alikes, so a code read aloud or typed from a phone is the code.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_PRICE_MINUTES = 100 * MINUTES_PER_COIN

PriceMinutes = Annotated[int, Meta(ge=1, le=MAX_PRICE_MINUTES)]
Stock = Annotated[int, Meta(ge=0, le=100_000)]
Code = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[^\x00]*$")]


class ItemCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A catalogue item: goods with a stock, or a service booked by slot; the price in minutes (60 = one coin)."""

    name: Name
    price_minutes: PriceMinutes
    kind: Literal["goods", "service"]
    description: Text = ""
    stock: Stock | None = None


class ItemEdit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What may change of an active item (its kind stays); the stock only for goods."""

    name: Name
    price_minutes: PriceMinutes
    description: Text = ""
    stock: Stock | None = None


class SlotCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A bookable time of a service item and how many people it takes; times carry their UTC offset."""

    starts_at: AwareDateTime
    ends_at: AwareDateTime
    capacity: Annotated[int, Meta(ge=1, le=1000)]


class BookingCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Book an item of the district's catalogue: a service names one of its slots, goods none."""

    item_id: Id
    slot_id: Id | None = None


class Redemption(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The code a volunteer shows at the committee."""

    code: Code


class ItemView(msgspec.Struct, frozen=True):
    """An item with its slots still to come."""

    item: ItemRow
    slots: list[SlotRow]


class Settlement(msgspec.Struct, frozen=True):
    """A committee's coins between it and the district's other committees over a period (redeemed bookings)."""

    committee_id: int
    since: dt.date
    until: dt.date
    redeemed_bookings: int
    redeemed_minutes: int
    redeemed_here_earned_elsewhere: list[SettlementRow]
    earned_here_redeemed_elsewhere: list[SettlementRow]


class BookingRefused(Conflict):
    """A booking answered 409, the reason in the problem's type: full, withdrawn, already."""

    def __init__(self, reason: str, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail, fields=fields)
        self.kind = f"coins-{reason}"


class OtherDistrict(Forbidden):
    """An item of another district's catalogue: coins are spent within the district they were earned in."""

    kind = "coins-other-district"


def _stock_errors(kind: str, stock: int | None) -> dict[str, str]:
    if kind == "goods" and stock is None:
        return {"stock": "Enter how many there are"}
    if kind == "service" and stock is not None:
        return {"stock": "A service is booked by slot: add slots instead of a stock"}
    return {}


async def _with_slots(conn: asyncpg.Connection, items: list[ItemRow]) -> list[ItemView]:
    upcoming = await coins_sql.slots(conn, [i.id for i in items], dt.datetime.now(dt.UTC))
    by_item: dict[int, list[SlotRow]] = {}
    for slot in upcoming:
        by_item.setdefault(slot.item_id, []).append(slot)
    return [ItemView(item=i, slots=by_item.get(i.id, [])) for i in items]


async def _own_item(conn: asyncpg.Connection, committee_id: int, item_id: int) -> ItemRow:
    row = await coins_sql.item(conn, item_id)
    if row is None or row.committee_id != committee_id:
        raise NotFound(NO_ITEM)
    return row


async def add_item(conn: asyncpg.Connection, who: Identity, form: ItemCreate) -> ItemView:
    """Add an item to the caller's committee catalogue."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    if errors := _stock_errors(form.kind, form.stock):
        raise Invalid("The item is not valid", fields=errors)
    async with conn.transaction():
        item_id = await coins_sql.insert_item(
            conn,
            committee_id,
            name=form.name.strip(),
            description=form.description.strip(),
            price_minutes=form.price_minutes,
            kind=form.kind,
            stock=form.stock,
            created_by=who.account_id,
        )
        await audit_log.record(conn, who, "coins.item_added", "coin_item", item_id)
    return ItemView(item=await _own_item(conn, committee_id, item_id), slots=[])


async def edit_item(conn: asyncpg.Connection, who: Identity, item_id: int, form: ItemEdit) -> ItemView:
    """Change an active item of the caller's committee (bookings made keep the price they paid)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    current = await _own_item(conn, committee_id, item_id)
    if errors := _stock_errors(current.kind, form.stock):
        raise Invalid("The item is not valid", fields=errors)
    async with conn.transaction():
        changed = await coins_sql.update_item(
            conn,
            item_id,
            committee_id,
            name=form.name.strip(),
            description=form.description.strip(),
            price_minutes=form.price_minutes,
            stock=form.stock,
        )
        if not changed:
            raise Conflict("A withdrawn item cannot be changed")
        await audit_log.record(conn, who, "coins.item_edited", "coin_item", item_id)
    return (await _with_slots(conn, [await _own_item(conn, committee_id, item_id)]))[0]


async def withdraw_item(conn: asyncpg.Connection, who: Identity, item_id: int) -> ItemView:
    """Withdraw an item: no new bookings; those made stay valid until redeemed or cancelled."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    await _own_item(conn, committee_id, item_id)
    async with conn.transaction():
        if not await coins_sql.withdraw_item(conn, item_id, committee_id):
            raise Conflict("This item is already withdrawn")
        await audit_log.record(conn, who, "coins.item_withdrawn", "coin_item", item_id)
    return (await _with_slots(conn, [await _own_item(conn, committee_id, item_id)]))[0]


async def add_slot(conn: asyncpg.Connection, who: Identity, item_id: int, form: SlotCreate) -> ItemView:
    """Add a bookable slot to an active service item of the caller's committee."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    current = await _own_item(conn, committee_id, item_id)
    day = dt.timedelta(hours=24)
    too_long = "A slot lasts at most 24 hours"
    if errors := span_errors(form.starts_at, form.ends_at, longest=day, too_long=too_long, to_come="starts_at"):
        raise Invalid("The slot is not valid", fields=errors)
    if current.kind != "service":
        raise Conflict("Goods are taken from the stock; only a service has slots")
    if current.status != "active":
        raise Conflict("A withdrawn item cannot be changed")
    async with conn.transaction():
        slot_id = await coins_sql.insert_slot(conn, item_id, committee_id, form.starts_at, form.ends_at, form.capacity)
        if slot_id is None:
            raise Conflict("The item is not valid", fields={"starts_at": "This item already has a slot starting then"})
        await audit_log.record(conn, who, "coins.slot_added", "coin_slot", slot_id, detail={"item_id": item_id})
    return (await _with_slots(conn, [current]))[0]


async def committee_catalogue(conn: asyncpg.Connection, who: Identity) -> list[ItemView]:
    """The caller's committee catalogue, withdrawn items too."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    return await _with_slots(conn, await coins_sql.committee_items(conn, committee_id))


async def committee_item(conn: asyncpg.Connection, who: Identity, item_id: int) -> ItemView:
    """One item of the caller's committee, with its slots to come."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    return (await _with_slots(conn, [await _own_item(conn, committee_id, item_id)]))[0]


async def district_catalogue(conn: asyncpg.Connection, who: Identity) -> list[ItemView]:
    """What the caller's coins buy: the active items of every committee in their district."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    return await _with_slots(conn, await coins_sql.district_items(conn, volunteer_id))


def split_by_origin(price: int, earned: list[coins_sql.EarnedRow]) -> list[tuple[int | None, int]]:
    """The price split pro rata over where the coins were earned, in whole minutes (largest remainder)."""
    total = sum(e.minutes for e in earned)
    if total <= 0:
        return [(None, price)]
    shares = [(e.committee_id, price * e.minutes // total, price * e.minutes % total) for e in earned]
    left = price - sum(s[1] for s in shares)
    # The minutes rounding left over go to the largest remainders (ties: the order the query gave).
    order = sorted(range(len(shares)), key=lambda k: -shares[k][2])
    extra = set(order[:left])
    split = [(c, whole + (1 if k in extra else 0)) for k, (c, whole, _r) in enumerate(shares)]
    return [(c, m) for c, m in split if m > 0]


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def book(conn: asyncpg.Connection, who: Identity, form: BookingCreate) -> BookingRow:
    """Book an item: coins to the spent account, a place taken, a redemption code; one transaction."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        item = found(await coins_sql.item_for_booking(conn, form.item_id, volunteer_id), "No such item")
        if not item.in_district:
            raise OtherDistrict("Coins are spent in the district they were earned in: this item is another district's")
        if item.status != "active":
            raise BookingRefused("withdrawn", "This item has been withdrawn")
        if item.kind == "service" and form.slot_id is None:
            raise Invalid("The booking is not valid", fields={"slot_id": "Choose a time"})
        if item.kind == "goods" and form.slot_id is not None:
            raise Invalid("The booking is not valid", fields={"slot_id": "Goods have no times to choose"})
        # The account's lock first, then the place's row: every booking takes them in this order, so none deadlock.
        account = await ledger_sql.volunteer_account(conn, volunteer_id)
        await ledger_sql.lock_accounts(conn, [account])
        if form.slot_id is not None and await coins_sql.holds_slot(conn, form.slot_id, volunteer_id):
            raise BookingRefused("already", "You have already booked this time")
        balance = await ledger_sql.balance(conn, account)
        if message := beyond_own(balance, item.price_minutes, "This costs more coins than your balance"):
            raise NotEnoughCoins("You do not have enough time coins for this", fields={"item_id": message})
        if form.slot_id is not None:
            if not await coins_sql.take_slot_place(conn, form.slot_id, item.id):
                raise BookingRefused(
                    "full", "This time is fully booked or has passed", fields={"slot_id": "This time is full"}
                )
        elif not await coins_sql.take_stock(conn, item.id):
            raise BookingRefused("full", "None of these are left", fields={"item_id": "None of these are left"})
        spent = await ledger_sql.system_account(conn, "services")
        transaction_id = await ledger_sql.post(
            conn,
            kind="book",
            entries=[(account, "own", -item.price_minutes), (spent, "own", item.price_minutes)],
            created_by=who.account_id,
            memo=item.name[:200],
        )
        booking_id = None
        while booking_id is None:  # a code already in use (one in a trillion) draws another
            booking_id = await coins_sql.insert_booking(
                conn,
                item_id=item.id,
                committee_id=item.committee_id,
                slot_id=form.slot_id,
                volunteer_id=volunteer_id,
                price_minutes=item.price_minutes,
                code=_new_code(),
                transaction_id=transaction_id,
            )
        origins = split_by_origin(item.price_minutes, await coins_sql.earned(conn, account))
        await coins_sql.insert_origins(conn, booking_id, origins)
        await audit_log.record(
            conn, who, "coins.booked", "coin_booking", booking_id,
            detail={"item_id": item.id, "slot_id": form.slot_id, "transaction_id": transaction_id},
        )  # fmt: skip
        return found(await coins_sql.booking(conn, booking_id), NO_BOOKING)


async def cancel(conn: asyncpg.Connection, who: Identity, booking_id: int) -> BookingRow:
    """Cancel one's booking before its slot starts (goods: before redeemed): the coins come back by a reversing
    transaction and the place is freed."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        current = await coins_sql.booking(conn, booking_id)
        if current is None or current.volunteer_id != volunteer_id:
            raise NotFound(NO_BOOKING)
        account = await ledger_sql.volunteer_account(conn, volunteer_id)
        await ledger_sql.lock_accounts(conn, [account])
        live = await coins_sql.cancellable(conn, booking_id, volunteer_id)
        if live is None:
            if current.status != "booked":
                raise Conflict("This booking is already cancelled or redeemed")
            raise Conflict("The time of this booking has begun: it can no longer be cancelled")
        spent = await ledger_sql.system_account(conn, "services")
        refund = await ledger_sql.post(
            conn,
            kind="refund",
            entries=[(spent, "own", -current.price_minutes), (account, "own", current.price_minutes)],
            created_by=who.account_id,
            memo=current.item_name[:200],
        )
        cancelled = await coins_sql.cancel(conn, booking_id, volunteer_id, refund)
        if cancelled is None:  # the slot began between the two statements
            raise Conflict("The time of this booking has begun: it can no longer be cancelled")
        await coins_sql.give_back(conn, current.item_id, current.slot_id)
        await audit_log.record(
            conn, who, "coins.cancelled", "coin_booking", booking_id, detail={"transaction_id": refund}
        )
        return found(await coins_sql.booking(conn, booking_id), NO_BOOKING)


def normal_code(text: str) -> str:
    """A code as typed (spaces, dashes, small letters) in its stored form."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


async def redeem(conn: asyncpg.Connection, who: Identity, form: Redemption) -> BookingRow:
    """Mark the booking with this code redeemed at the caller's committee (the volunteer came)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    code = normal_code(form.code)
    async with conn.transaction():
        booking_id = await coins_sql.redeem(conn, code, committee_id, who.account_id)
        if booking_id is None:
            existing = await coins_sql.booking_by_code(conn, code, committee_id)
            if existing is None:
                raise NotFound("No such booking", fields={"code": "No booking of your committee has this code"})
            message = (
                "This booking was already redeemed"
                if existing["status"] == "redeemed"
                else "This booking was cancelled"
            )
            raise Conflict(message, fields={"code": message})
        await audit_log.record(conn, who, "coins.redeemed", "coin_booking", booking_id)
        return found(await coins_sql.booking(conn, booking_id), NO_BOOKING)


async def my_bookings(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[BookingRow]:
    """The caller's bookings, latest first."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    return await coins_sql.volunteer_bookings(conn, volunteer_id, limit=limit, offset=offset)


async def committee_bookings(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[BookingRow]:
    """Bookings of the caller's committee items: live ones first, soonest slot first."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    return await coins_sql.committee_bookings(conn, committee_id, limit=limit, offset=offset)


async def settlement(conn: asyncpg.Connection, who: Identity, since: dt.date, until: dt.date) -> Settlement:
    """Coins redeemed at the caller's committee from `since` to `until` (inclusive, Shanghai dates): in all, those
    earned at other committees (what it claims from each), and those earned here and redeemed elsewhere."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    if until < since:
        raise Invalid("The period is not valid", fields={"until": "The end must not be before the start"})
    start = dt.datetime.combine(since, dt.time(), SHANGHAI)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), SHANGHAI)
    here, away, count, minutes = await coins_sql.settlement(conn, committee_id, start, end)
    return Settlement(
        committee_id=committee_id,
        since=since,
        until=until,
        redeemed_bookings=count,
        redeemed_minutes=minutes,
        redeemed_here_earned_elsewhere=here,
        earned_here_redeemed_elsewhere=away,
    )
