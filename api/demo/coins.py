"""Demo data for spending time coins: catalogue items at the demo committee (开鲁四村居委会) and at another
committee of the district, with times over the next three weeks; volunteer.demo has booked a haircut and a bag of
rice at the other committee, and a bottle of oil the demo committee has already redeemed, so `linli up` shows the
catalogue, the bookings with their codes, redemption and the settlement. Deterministic for a given day."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from api.demo.rosters import login_identity
from api.services import coins
from api.services.coins import BookingCreate, Redemption
from api.services.errors import DomainError
from api.services.types import SHANGHAI
from sql import coins as coins_sql
from sql import demo as demo_sql

# (0: the demo committee, 1: its neighbour), name, description, price in minutes, kind, stock,
# and for a service its weekly time: (weekday, 0 = Monday; start hour; hours; capacity).
CATALOGUE: list[tuple[int, str, str, int, str, int | None, tuple[int, int, int, int] | None]] = [
    (0, "社区理发", "开鲁四村活动室，志愿理发师服务，每周二上午。", 60, "service", None, (1, 9, 2, 4)),
    (0, "家电小修", "电饭煲、台灯、电风扇等小家电维修，每周五下午在睦邻点。", 120, "service", None, (4, 14, 2, 2)),
    (0, "食用油一桶（5升）", "凭兑换码到居委会办公室领取。", 180, "goods", 20, None),
    (1, "中医推拿", "社区卫生服务站志愿医师，每周四上午。", 90, "service", None, (3, 9, 2, 3)),
    (1, "大米一袋（10斤）", "凭兑换码到居委会办公室领取。", 120, "goods", 30, None),
]
WEEKS = 3


class CoinSeedReport(msgspec.Struct, frozen=True):
    """What the time-coin catalogue seed wrote."""

    items: int
    slots: int
    bookings: int


def _weekly(today: dt.date, weekday: int, hour: int, hours: int) -> list[tuple[dt.datetime, dt.datetime]]:
    first = today + dt.timedelta(days=(weekday - today.weekday()) % 7 or 7)
    starts = [dt.datetime.combine(first + dt.timedelta(weeks=w), dt.time(hour), SHANGHAI) for w in range(WEEKS)]
    return [(s, s + dt.timedelta(hours=hours)) for s in starts]


async def seed_coins(conn: asyncpg.Connection, today: dt.date) -> CoinSeedReport:
    """The catalogue of two committees and volunteer.demo's bookings; call after the time bank's histories."""
    logins = await demo_sql.logins(conn, ["committee.kailu4", "volunteer.demo"])
    staff = logins.get("committee.kailu4")
    if staff is None or staff.committee_id is None:
        return CoinSeedReport(items=0, slots=0, bookings=0)
    committees = [staff.committee_id, await coins_sql.neighbour_committee(conn, staff.committee_id)]
    items: list[int] = []
    slot_count = 0
    for which, name, description, price, kind, stock, weekly in CATALOGUE:
        committee_id = committees[which]
        if committee_id is None:
            continue
        item_id = await coins_sql.insert_item(
            conn,
            committee_id,
            name=name,
            description=description,
            price_minutes=price,
            kind=kind,
            stock=stock,
            created_by=staff.account_id if which == 0 else None,
        )
        items.append(item_id)
        if weekly is not None:
            weekday, hour, hours, capacity = weekly
            for starts, ends in _weekly(today, weekday, hour, hours):
                slot_count += (
                    await coins_sql.insert_slot(conn, item_id, committee_id, starts, ends, capacity) is not None
                )
    bookings = 0
    who, desk = login_identity(logins.get("volunteer.demo")), login_identity(staff)
    if who is not None and desk is not None and who.volunteer_id is not None:
        for item_id in items:
            view = await coins_sql.item(conn, item_id)
            if view is None or view.name not in ("社区理发", "大米一袋（10斤）", "食用油一桶（5升）"):
                continue
            upcoming = await coins_sql.slots(conn, [item_id], dt.datetime.now(dt.UTC))
            try:
                booking = await coins.book(
                    conn, who, BookingCreate(item_id=item_id, slot_id=upcoming[0].id if upcoming else None)
                )
            except DomainError:  # a balance too small for it on this seed: the demo goes on without the booking
                continue
            bookings += 1
            if view.committee_id == staff.committee_id and view.kind == "goods":
                await coins.redeem(conn, desk, Redemption(code=booking.code))
    return CoinSeedReport(items=len(items), slots=slot_count, bookings=bookings)
