"""What time coins buy (时间币兑换): a committee's catalogue (add, edit, withdraw, slots), the district's catalogue
for volunteers (通存通兑), bookings and their cancellation, redemption by code, and the committee's settlement."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.routes.paging import Limit, Offset
from api.routes.shifts import unprocessable
from api.schemas.coins import BookingOut, CommitteeBookingOut, ItemOut, SettlementOut, item_out, settlement_out
from api.schemas.common import out, outs
from api.services import coins
from api.services.coins import BookingCreate, ItemCreate, ItemEdit, Redemption, SlotCreate
from api.services.types import today

DateQuery = Annotated[dt.date | None, QueryParameter()]


class CoinCatalogueController(Controller):
    """时间币兑换: what time coins buy, booked and redeemed."""

    path = "/api/coins"
    tags = ("timebank",)
    exception_handlers = {ValidationException: unprocessable}  # noqa: RUF012 (Litestar reads instance attributes)

    @get("/items", operation_id="listCoinItems", guards=[roles("volunteer", "committee")])
    async def items(self, conn: Conn, user: User) -> list[ItemOut]:
        """For a volunteer, the active items of every committee in their district (通存通兑); for a committee, its
        own catalogue, withdrawn items too."""
        views = (
            await coins.district_catalogue(conn, user)
            if user.role == "volunteer"
            else await coins.committee_catalogue(conn, user)
        )
        return [item_out(v) for v in views]

    @post("/items", operation_id="addCoinItem", guards=[roles("committee")], status_code=201)
    async def add(self, conn: Conn, user: User, data: JSONBody[ItemCreate]) -> ItemOut:
        """Add an item to my committee's catalogue: goods with a stock, or a service (then add its slots)."""
        return item_out(await coins.add_item(conn, user, data))

    @get("/items/{item_id:int}", operation_id="getCoinItem", guards=[roles("committee")])
    async def item(self, conn: Conn, user: User, item_id: FromPath[int]) -> ItemOut:
        """One item of my committee's catalogue with its slots to come."""
        return item_out(await coins.committee_item(conn, user, item_id))

    @put("/items/{item_id:int}", operation_id="editCoinItem", guards=[roles("committee")])
    async def edit(self, conn: Conn, user: User, item_id: FromPath[int], data: JSONBody[ItemEdit]) -> ItemOut:
        """Change an active item's name, description, price or stock; 409 once withdrawn."""
        return item_out(await coins.edit_item(conn, user, item_id, data))

    @post(
        "/items/{item_id:int}/withdraw", operation_id="withdrawCoinItem", guards=[roles("committee")], status_code=200
    )
    async def withdraw(self, conn: Conn, user: User, item_id: FromPath[int]) -> ItemOut:
        """Withdraw an item: no new bookings; bookings made stay valid."""
        return item_out(await coins.withdraw_item(conn, user, item_id))

    @post("/items/{item_id:int}/slots", operation_id="addCoinSlot", guards=[roles("committee")], status_code=201)
    async def add_slot(self, conn: Conn, user: User, item_id: FromPath[int], data: JSONBody[SlotCreate]) -> ItemOut:
        """Add a bookable time to a service item, with how many people it takes."""
        return item_out(await coins.add_slot(conn, user, item_id, data))

    @post("/bookings", operation_id="bookCoinItem", guards=[roles("volunteer")], status_code=201)
    async def book(self, conn: Conn, user: User, data: JSONBody[BookingCreate]) -> BookingOut:
        """Book an item with my time coins (own time): 409 insufficient-coins, coins-full, coins-already or
        coins-withdrawn; 403 coins-other-district for another district's item."""
        return out(await coins.book(conn, user, data), BookingOut)

    @get("/bookings/mine", operation_id="listMyCoinBookings", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User, limit: Limit = 50, offset: Offset = 0) -> list[BookingOut]:
        """My bookings with their redemption codes, latest first."""
        return outs(await coins.my_bookings(conn, user, limit=limit, offset=offset), BookingOut)

    @post(
        "/bookings/{booking_id:int}/cancel",
        operation_id="cancelCoinBooking",
        guards=[roles("volunteer")],
        status_code=200,
    )
    async def cancel(self, conn: Conn, user: User, booking_id: FromPath[int]) -> BookingOut:
        """Cancel my booking before its time starts: the coins come back; 409 once begun, redeemed or cancelled."""
        return out(await coins.cancel(conn, user, booking_id), BookingOut)

    @get("/bookings", operation_id="listCommitteeCoinBookings", guards=[roles("committee")])
    async def bookings(
        self, conn: Conn, user: User, limit: Limit = 50, offset: Offset = 0
    ) -> list[CommitteeBookingOut]:
        """Bookings of my committee's catalogue: live ones first, soonest time first."""
        return outs(await coins.committee_bookings(conn, user, limit=limit, offset=offset), CommitteeBookingOut)

    @post("/redemptions", operation_id="redeemCoinBooking", guards=[roles("committee")], status_code=200)
    async def redeem(self, conn: Conn, user: User, data: JSONBody[Redemption]) -> CommitteeBookingOut:
        """Mark the booking with this code redeemed (the volunteer came); 404 unknown code, 409 already redeemed or
        cancelled."""
        return out(await coins.redeem(conn, user, data), CommitteeBookingOut)

    @get("/settlement", operation_id="getCoinSettlement", guards=[roles("committee")])
    async def settlement(
        self, conn: Conn, user: User, since: DateQuery = None, until: DateQuery = None
    ) -> SettlementOut:
        """Coins redeemed at my committee over a period (default: this month so far): in all, by the committee
        they were earned at, and coins earned here that were redeemed at other committees."""
        end = until or today()
        start = since or end.replace(day=1)
        return settlement_out(await coins.settlement(conn, user, start, end))
