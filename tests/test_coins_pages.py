"""Spending time coins on the pages: the committee adds an item and a time (errors beside the field), the volunteer
sees the district's catalogue, books (the reason beside the item when refused), sees the code and cancels; the
committee redeems the code (errors beside it) and reads its settlement."""

from __future__ import annotations

import datetime as dt

import httpx

from api.services import coins
from api.services.coins import BookingCreate, ItemCreate, SlotCreate
from api.services.types import SHANGHAI
from tests import factories
from tests.factories import create_area
from tests.helpers import login, post_form
from tests.pages_kit import page_context
from tests.test_coins import committee_in, later, volunteer_in


async def _logged_in(client, conn, who) -> None:
    assert (await login(client, await factories.username_of(conn, who.account_id))).status_code in (302, 303)


async def test_the_committee_adds_an_item_with_errors_beside_the_fields_then_a_time(client, conn):
    committee = await committee_in(conn, await create_area(conn, "district"))
    await _logged_in(client, conn, committee)
    page = await page_context(client, "/coins/manage")
    assert page.template == "coins/items.html" and page.context["items"] == []
    assert "时间币兑换目录" in page.response.text and "添加兑换项" in page.response.text
    bad = await post_form(
        client, "/coins/manage", {"name": "", "kind": "goods", "price": "abc", "stock": ""}, page="/coins/manage"
    )
    assert bad.status_code == 422
    assert 'id="e-price"' in bad.text and "请输入0.1到100之间的时间币数" in bad.text and 'id="e-name"' in bad.text
    no_stock = await post_form(
        client, "/coins/manage", {"name": "食用油", "kind": "goods", "price": "2", "stock": ""}, page="/coins/manage"
    )
    assert no_stock.status_code == 422 and 'id="e-stock"' in no_stock.text and "请填写数量" in no_stock.text
    made = await post_form(
        client,
        "/coins/manage",
        {"name": "理发", "kind": "service", "price": "1.5", "description": "周二上午"},
        page="/coins/manage",
    )
    assert made.status_code in (302, 303), made.text
    item = await page_context(client, made.headers["location"])
    assert item.template == "coins/item.html" and item.context["view"].item.price_minutes == 90
    assert "请添加可预约的时间" in item.response.text
    item_id = item.context["view"].item.id
    start = later().astimezone(SHANGHAI).replace(tzinfo=None)

    async def add_slot(end: dt.datetime) -> httpx.Response:
        """The item page's slot form: two places from `start` to `end`."""
        return await post_form(
            client,
            f"/coins/manage/{item_id}/slots",
            {
                "starts_at": start.isoformat(timespec="minutes"),
                "ends_at": end.isoformat(timespec="minutes"),
                "capacity": "2",
            },
            page=f"/coins/manage/{item_id}",
        )

    wrong = await add_slot(start)
    assert wrong.status_code == 422 and 'id="e-ends_at"' in wrong.text and "结束时间必须晚于开始时间" in wrong.text
    added = await add_slot(start + dt.timedelta(hours=2))
    assert added.status_code in (302, 303), added.text
    after = await page_context(client, added.headers["location"])
    [slot] = after.context["view"].slots
    assert (slot.capacity, slot.taken) == (2, 0)


async def test_a_volunteer_books_sees_the_code_and_cancels(client, conn):
    district = await create_area(conn, "district")
    committee = await committee_in(conn, district)
    item = await coins.add_item(conn, committee, ItemCreate(name="理发", price_minutes=60, kind="service"))
    view = await coins.add_slot(
        conn,
        committee,
        item.item.id,
        SlotCreate(starts_at=later(), ends_at=later() + dt.timedelta(hours=1), capacity=1),
    )
    dear = await coins.add_item(conn, committee, ItemCreate(name="电饭煲", price_minutes=3000, kind="goods", stock=1))
    volunteer = await volunteer_in(conn, district, minutes=120)
    await _logged_in(client, conn, volunteer)
    page = await page_context(client, "/coins")
    assert page.template == "coins/catalogue.html"
    assert {v.item.id for v in page.context["items"]} >= {item.item.id, dear.item.id}
    assert page.context["balance"].own_minutes == 120 and "通存通兑" in page.response.text
    refused = await post_form(client, "/coins/book", {"item_id": str(dear.item.id)}, page="/coins")
    assert refused.status_code == 409
    assert f'id="e-item-{dear.item.id}"' in refused.text and "所需时间币超过您的余额" in refused.text
    booked = await post_form(
        client, "/coins/book", {"item_id": str(item.item.id), "slot_id": str(view.slots[0].id)}, page="/coins"
    )
    assert booked.status_code in (302, 303), booked.text
    mine = await page_context(client, booked.headers["location"])
    [booking] = mine.context["bookings"]
    assert mine.context["done"] == "booked" and booking.status == "booked"
    assert f"{booking.code[:4]} {booking.code[4:]}" in mine.response.text and "兑换码" in mine.response.text
    cancelled = await post_form(client, f"/coins/bookings/{booking.id}/cancel", {}, page="/coins/bookings")
    assert cancelled.status_code in (302, 303), cancelled.text
    back = await page_context(client, cancelled.headers["location"])
    assert back.context["bookings"][0].status == "cancelled" and "时间币已退回" in back.response.text
    history = await page_context(client, "/timebank")
    assert [h.kind for h in history.context["history"]][:2] == ["refund", "book"]
    assert "兑换取消，时间币退回" in history.response.text


async def test_the_committee_redeems_a_code_and_reads_the_settlement(client, conn):
    district = await create_area(conn, "district")
    committee = await committee_in(conn, district)
    item = await coins.add_item(conn, committee, ItemCreate(name="米一袋", price_minutes=60, kind="goods", stock=3))
    volunteer = await volunteer_in(conn, district, minutes=60)
    booking = await coins.book(conn, volunteer, BookingCreate(item_id=item.item.id))
    await _logged_in(client, conn, committee)
    page = await page_context(client, "/coins/redemptions")
    assert [b.id for b in page.context["bookings"]] == [booking.id] and booking.code in page.response.text
    wrong = await post_form(client, "/coins/redemptions", {"code": "ZZZZ ZZZZ"}, page="/coins/redemptions")
    assert wrong.status_code == 404 and 'id="e-code"' in wrong.text and "本居委会没有使用这个兑换码的预约" in wrong.text
    done = await post_form(client, "/coins/redemptions", {"code": booking.code.lower()}, page="/coins/redemptions")
    assert done.status_code in (302, 303), done.text
    after = await page_context(client, done.headers["location"])
    assert after.context["bookings"][0].status == "redeemed" and "核销成功" in after.response.text
    today = dt.datetime.now(SHANGHAI).date()
    report = await page_context(client, f"/coins/settlement?since={today.replace(day=1)}&until={today}")
    assert report.context["report"].redeemed_bookings == 1
    assert [r.minutes for r in report.context["report"].redeemed_here_earned_elsewhere] == [60]
    assert "在本居委会核销、在其他居委会获得" in report.response.text
    backwards = await page_context(
        client, f"/coins/settlement?since={today}&until={today - dt.timedelta(days=1)}", status=422
    )
    assert backwards.context["errors"]["until"]
