"""What time coins buy (时间币兑换): the district's catalogue and the volunteer's bookings; the committee's catalogue
(add, edit, withdraw, slots), redemption by code with its bookings, and its settlement with other committees."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import attendance, coins, timebank
from api.services.coins import BookingCreate, ItemCreate, ItemEdit, Redemption, SlotCreate
from api.services.errors import DomainError, Invalid
from api.services.types import today
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, read_local_times, redisplay

BookedQuery = Annotated[str | None, QueryParameter(pattern=r"^(booked|cancelled)$")]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(added|changed|withdrawn|slot|redeemed)$")]
DateQuery = Annotated[dt.date | None, QueryParameter()]
# The page's names for the service's fields: prices are typed in coins, not minutes.
PAGE_FIELDS = {"price_minutes": "price"}


def _page_fields(errors: dict[str, str]) -> dict[str, str]:
    return {PAGE_FIELDS.get(k, k): v for k, v in errors.items()}


def _price(form: Any, extra: dict[str, Any], errors: dict[str, str]) -> None:
    """The price box (coins, e.g. 1.5) into `extra` as minutes, or its error."""
    raw = str(form.get("price", "")).strip()
    minutes = timebank.minutes_of_coins(raw) if raw else None
    if not raw:
        errors["price"] = "This field is required"
    elif minutes is None or minutes > coins.MAX_PRICE_MINUTES:
        errors["price"] = "Enter a price from 0.1 to 100 coins, e.g. 1.5"
    else:
        extra["price_minutes"] = minutes


def _stock(form: Any, extra: dict[str, Any]) -> None:
    """An empty stock box means no stock (a service); the service says whether the kind needs one."""
    if not str(form.get("stock", "")).strip():
        extra["stock"] = None


def _item_form(form: Any, cls: type[Any]) -> tuple[Any, dict[str, str]]:
    extra: dict[str, Any] = {}
    errors: dict[str, str] = {}
    _price(form, extra, errors)
    _stock(form, extra)
    command, parse_errors = parse_form(cls, form, extra)
    errors = {**_page_fields(parse_errors), **errors}
    return (None if errors else command), errors


def _page(user: User, template: str, status: int, **context: Any) -> Template:
    """A page of the catalogue's: the caller and the coins filter beside its own values."""
    return Template(
        template_name=f"coins/{template}.html",
        context={"who": user, "coins": timebank.coins, **context},
        status_code=status,
    )


async def _catalogue_page(
    conn: Conn,
    user: User,
    state: State,
    *,
    item_id: int | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    cap = attendance.rules_of(state.settings).timebank_cap_minutes
    return _page(
        user,
        "catalogue",
        status,
        items=await coins.district_catalogue(conn, user),
        balance=await timebank.my_account(conn, user, cap_minutes=cap),
        failed_item=item_id,
        errors=errors or {},
    )


async def _bookings_page(
    conn: Conn, user: User, *, done: str | None = None, error: str | None = None, status: int = 200
) -> Template:
    return _page(
        user,
        "bookings",
        status,
        bookings=await coins.my_bookings(conn, user, limit=100, offset=0),
        done=done,
        error=error,
        now=dt.datetime.now(dt.UTC),
    )


async def _items_page(
    conn: Conn,
    user: User,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Template:
    return _page(
        user,
        "items",
        status,
        items=await coins.committee_catalogue(conn, user),
        values=values if values is not None else {"kind": "service"},
        errors=errors or {},
        done=done,
    )


async def _item_page(
    conn: Conn,
    user: User,
    item_id: int,
    *,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Template:
    view = await coins.committee_item(conn, user, item_id)
    item = view.item
    edit_values = {
        "name": item.name,
        "description": item.description,
        "price": timebank.coins(item.price_minutes),
        "stock": "" if item.stock is None else item.stock,
    }
    return _page(
        user,
        "item",
        status,
        view=view,
        form=form,
        edit_values=values if form == "edit" and values is not None else edit_values,
        slot_values=values if form == "slot" and values is not None else {"capacity": 1},
        errors=errors or {},
        done=done,
    )


async def _redemptions_page(
    conn: Conn,
    user: User,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Template:
    return _page(
        user,
        "redemptions",
        status,
        bookings=await coins.committee_bookings(conn, user, limit=100, offset=0),
        values=values or {},
        errors=errors or {},
        done=done,
    )


class CoinPages(Controller):
    """时间币兑换: what coins buy, for volunteers and the committees that keep the catalogue."""

    include_in_schema = False

    @get("/coins", name="coins", guards=[roles("volunteer")])
    async def catalogue(self, conn: Conn, user: User, state: State) -> Template:
        """The district's catalogue: every committee's items, with the caller's own coins."""
        return await _catalogue_page(conn, user, state)

    @post("/coins/book", name="coin_book", guards=[roles("volunteer")])
    async def book(self, conn: Conn, user: User, state: State, data: FormData) -> Response[Any]:
        """Book an item (a service at the chosen time); the catalogue again with the reason beside the item."""
        form = multi(data)
        raw_item, raw_slot = str(form.get("item_id", "")), str(form.get("slot_id", "")).strip()
        item_id = int(raw_item) if raw_item.isdigit() else None
        errors: dict[str, str] = {}
        command = None
        if item_id is None:
            errors["item_id"] = "Choose an item"
        elif raw_slot and not raw_slot.isdigit():
            errors["slot_id"] = "Choose a time"
        else:
            command = BookingCreate(item_id=item_id, slot_id=int(raw_slot) if raw_slot else None)
        return await submit(
            (command, errors),
            lambda command: coins.book(conn, user, command),
            lambda _row: PageRedirect("coin_bookings", query={"done": "booked"}),
            lambda errors, status: _catalogue_page(conn, user, state, item_id=item_id, errors=errors, status=status),
            refusal="item_id",
        )

    @get("/coins/bookings", name="coin_bookings", guards=[roles("volunteer")])
    async def bookings(self, conn: Conn, user: User, done: BookedQuery = None) -> Template:
        """My bookings with their redemption codes; live ones can be cancelled before their time."""
        return await _bookings_page(conn, user, done=done)

    @post("/coins/bookings/{booking_id:int}/cancel", name="coin_cancel", guards=[roles("volunteer")])
    async def cancel(self, conn: Conn, user: User, booking_id: FromPath[int]) -> Response[Any]:
        """Cancel my booking (the coins come back), or the list again with the reason."""
        try:
            await coins.cancel(conn, user, booking_id)
        except DomainError as exc:
            if exc.status == 404:
                raise
            return await _bookings_page(conn, user, error=exc.detail, status=exc.status)
        return PageRedirect("coin_bookings", query={"done": "cancelled"})

    @get("/coins/manage", name="coin_items", guards=[roles("committee")])
    async def items(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """The committee's catalogue and the form to add an item."""
        return await _items_page(conn, user, done=done)

    @post("/coins/manage", name="coin_item_add", guards=[roles("committee")])
    async def add(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Add an item, or the form again with each field's error."""
        form = multi(data)
        return await submit(
            _item_form(form, ItemCreate),
            lambda command: coins.add_item(conn, user, command),
            lambda view: PageRedirect("coin_item", item_id=view.item.id, query={"done": "added"}),
            lambda errors, status: _items_page(conn, user, values=redisplay(form), errors=errors, status=status),
            fields=_page_fields,
        )

    @get("/coins/manage/{item_id:int}", name="coin_item", guards=[roles("committee")])
    async def item(self, conn: Conn, user: User, item_id: FromPath[int], done: DoneQuery = None) -> Template:
        """One item: its slots to come, the forms to change it, add a slot, or withdraw it."""
        return await _item_page(conn, user, item_id, done=done)

    @post("/coins/manage/{item_id:int}", name="coin_item_edit", guards=[roles("committee")])
    async def edit(self, conn: Conn, user: User, item_id: FromPath[int], data: FormData) -> Response[Any]:
        """Save the item's changes, or the form again with each field's error."""
        form = multi(data)
        return await submit(
            _item_form(form, ItemEdit),
            lambda command: coins.edit_item(conn, user, item_id, command),
            lambda _view: PageRedirect("coin_item", item_id=item_id, query={"done": "changed"}),
            lambda errors, status: _item_page(
                conn, user, item_id, form="edit", values=redisplay(form), errors=errors, status=status
            ),
            fields=_page_fields,
            refusal="name",
        )

    @post("/coins/manage/{item_id:int}/slots", name="coin_slot_add", guards=[roles("committee")])
    async def add_slot(self, conn: Conn, user: User, item_id: FromPath[int], data: FormData) -> Response[Any]:
        """Add a bookable time, or the form again with each field's error."""
        form = multi(data)
        extra: dict[str, Any] = {}
        errors: dict[str, str] = {}
        read_local_times(form, ("starts_at", "ends_at"), extra, errors)
        command, parse_errors = parse_form(SlotCreate, form, extra)
        errors = {**parse_errors, **errors}
        return await submit(
            (None if errors else command, errors),
            lambda command: coins.add_slot(conn, user, item_id, command),
            lambda _view: PageRedirect("coin_item", item_id=item_id, query={"done": "slot"}),
            lambda errors, status: _item_page(
                conn, user, item_id, form="slot", values=redisplay(form), errors=errors, status=status
            ),
            refusal="starts_at",
        )

    @post("/coins/manage/{item_id:int}/withdraw", name="coin_item_withdraw", guards=[roles("committee")])
    async def withdraw(self, conn: Conn, user: User, item_id: FromPath[int]) -> Response[Any]:
        """Withdraw the item: no new bookings; those made stay valid."""
        await coins.withdraw_item(conn, user, item_id)
        return PageRedirect("coin_item", item_id=item_id, query={"done": "withdrawn"})

    @get("/coins/redemptions", name="coin_redemptions", guards=[roles("committee")])
    async def redemptions(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """The form to redeem a code, and the bookings of the committee's items."""
        return await _redemptions_page(conn, user, done=done)

    @post("/coins/redemptions", name="coin_redeem", guards=[roles("committee")])
    async def redeem(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Mark the booking with the typed code redeemed, or the form again with the reason beside the code."""
        form = multi(data)
        return await submit(
            parse_form(Redemption, form),
            lambda command: coins.redeem(conn, user, command),
            lambda _row: PageRedirect("coin_redemptions", query={"done": "redeemed"}),
            lambda errors, status: _redemptions_page(conn, user, values=redisplay(form), errors=errors, status=status),
            refusal="code",
        )

    @get("/coins/settlement", name="coin_settlement", guards=[roles("committee")])
    async def settlement(self, conn: Conn, user: User, since: DateQuery = None, until: DateQuery = None) -> Template:
        """Coins redeemed here that were earned at other committees, and the reverse, over a period."""
        end = until or today()
        start = since or end.replace(day=1)
        errors: dict[str, str] = {}
        try:
            report = await coins.settlement(conn, user, start, end)
        except Invalid as exc:
            errors = exc.fields
            report = await coins.settlement(conn, user, start, start)
        return _page(
            user,
            "settlement",
            422 if errors else 200,
            report=report,
            values={"since": start.isoformat(), "until": end.isoformat()},
            errors=errors,
        )
