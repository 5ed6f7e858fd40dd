"""Response structs of what time coins buy (时间币兑换): catalogue items with their slots, bookings, settlement."""

from __future__ import annotations

import msgspec

from api.schemas.common import out
from api.services.coins import ItemView, Settlement
from sql.coins import BookingPublic, BookingRow, ItemRow, SettlementRow, SlotRow


class SlotOut(SlotRow, frozen=True):
    """A bookable time of a service item: its capacity and places taken."""


class ItemOut(ItemRow, frozen=True):
    """A catalogue item (price in minutes: 60 = one coin) with the slots still to come of a service."""

    slots: list[SlotOut]


class BookingOut(BookingPublic, frozen=True):
    """A booking: what, at which committee, when, its price, its redemption code and state."""


class CommitteeBookingOut(BookingRow, frozen=True):
    """A booking of the committee's catalogue, with the volunteer's name to check who came."""


class SettlementLineOut(SettlementRow, frozen=True):
    """Redeemed coins between the committee and another (null: organisations' shifts and gifts)."""


class SettlementOut(msgspec.Struct, frozen=True):
    """The committee's coins redeemed over a period: in all, earned at others, and earned here redeemed elsewhere."""

    committee_id: int
    since: str
    until: str
    redeemed_bookings: int
    redeemed_minutes: int
    redeemed_here_earned_elsewhere: list[SettlementLineOut]
    earned_here_redeemed_elsewhere: list[SettlementLineOut]


def item_out(view: ItemView) -> ItemOut:
    """The public shape of an item and its slots."""
    return out(view.item, ItemOut, slots=[out(s, SlotOut) for s in view.slots])


def settlement_out(view: Settlement) -> SettlementOut:
    """The public shape of a committee's settlement."""
    return out(
        view,
        SettlementOut,
        since=view.since.isoformat(),
        until=view.until.isoformat(),
        redeemed_here_earned_elsewhere=[out(r, SettlementLineOut) for r in view.redeemed_here_earned_elsewhere],
        earned_here_redeemed_elsewhere=[out(r, SettlementLineOut) for r in view.earned_here_redeemed_elsewhere],
    )
