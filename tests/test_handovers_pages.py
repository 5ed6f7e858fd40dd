"""Handing a place over on the pages: 转让名额 on my place with its confirm page, the list of offered places, taking
one (again with the reasons when refused), and the publisher's approval on the shift page."""

from __future__ import annotations

from api.services import handovers, shifts
from tests import factories
from tests.factories_shifts import create_shift, publisher_identity, volunteer_identity
from tests.helpers import csrf_token, login, post_form
from tests.pages_kit import page_context


async def _logged_in(client, conn, who) -> None:
    assert (await login(client, await factories.username_of(conn, who.account_id))).status_code in (302, 303)


async def test_a_volunteer_hands_over_their_place_after_a_confirm_page(client, conn):
    shift_id = await create_shift(conn, headcount=1, title="周末助餐")
    holder = await volunteer_identity(conn)
    await shifts.sign_up(conn, holder, shift_id)
    await _logged_in(client, conn, holder)
    mine = await page_context(client, "/shifts/mine")
    assert "转让名额" in mine.response.text and f"/shifts/{shift_id}/handover" in mine.response.text
    page = await page_context(client, f"/shifts/{shift_id}")
    assert page.context["handovers"].mine is None and "转让名额" in page.response.text
    ask = await page_context(client, f"/shifts/{shift_id}/handover")
    assert ask.template == "confirm/handover_offer.html"
    assert ask.response.headers["content-type"].startswith("text/html")
    assert ask.context["waitlist_first"] is False and ask.context["shift"].id == shift_id
    assert "确定转让您的名额吗？" in ask.response.text and "不计为临时取消" in ask.response.text
    done = await post_form(client, f"/shifts/{shift_id}/handover", {}, page=f"/shifts/{shift_id}/handover")
    assert done.status_code in (302, 303), done.text
    after = await page_context(client, done.headers["location"])
    assert after.context["done"] == "handover_open" and after.context["handovers"].mine.status == "open"
    assert "您的名额已开放转让" in after.response.text and "撤回转让" in after.response.text


async def test_another_volunteer_sees_the_offered_place_and_takes_it(client, conn):
    shift_id = await create_shift(conn, headcount=1, title="社区助老")
    holder = await volunteer_identity(conn)
    await shifts.sign_up(conn, holder, shift_id)
    offered = await handovers.offer(conn, holder, shift_id)
    taker = await volunteer_identity(conn)
    await _logged_in(client, conn, taker)
    listed = await page_context(client, "/shifts/handovers")
    assert [p.handover_id for p in listed.context["items"]] == [offered.handover_id]
    assert "转让中的名额" in listed.response.text and "社区助老" in listed.response.text
    take_url = f"/shifts/{shift_id}/handovers/{offered.handover_id}/take"
    ask = await page_context(client, take_url)
    assert ask.context["place"].handover_id == offered.handover_id and ask.context["blocking"] == []
    assert "名额将立即归您" in ask.response.text and ask.response.headers["content-type"].startswith("text/html")
    done = await post_form(client, take_url, {}, page=take_url)
    assert done.status_code in (302, 303), done.text
    after = await page_context(client, done.headers["location"])
    assert after.context["done"] == "handover_taken" and after.context["view"].my_status == "active"
    assert "名额已完成转让" in after.response.text


async def test_a_refused_take_shows_the_reasons_beside_the_button(client, conn):
    shift_id = await create_shift(conn, headcount=1)
    holder = await volunteer_identity(conn)
    await shifts.sign_up(conn, holder, shift_id)
    offered = await handovers.offer(conn, holder, shift_id)
    taker = await volunteer_identity(conn)
    await _logged_in(client, conn, taker)
    take_url = f"/shifts/{shift_id}/handovers/{offered.handover_id}/take"
    token = await csrf_token(client, take_url)
    # The offerer withdraws while the taker reads the confirm page.
    await handovers.withdraw(conn, holder, shift_id)
    refused = await page_context(client, take_url, method="POST", status=409, data={"_csrf_token": token})
    assert refused.context["refusal"].kind == "handover-gone"
    assert "这个名额已不再转让" in refused.response.text


async def test_the_publisher_sets_approval_and_decides_on_the_shift_page(client, conn):
    publisher = await publisher_identity(conn)
    shift_id = await create_shift(conn, headcount=1, organisation_id=publisher.organisation_id)
    holder, taker = await volunteer_identity(conn), await volunteer_identity(conn)
    await shifts.sign_up(conn, holder, shift_id)
    await _logged_in(client, conn, publisher)
    page_url = f"/shifts/{shift_id}"
    saved = await post_form(client, f"/shifts/{shift_id}/handover-approval", {"approval": "on"}, page=page_url)
    assert saved.status_code in (302, 303), saved.text
    offered = await handovers.offer(conn, holder, shift_id)
    assert (await handovers.take(conn, taker, shift_id, offered.handover_id)).status == "requested"
    page = await page_context(client, f"/shifts/{shift_id}")
    view = page.context["handovers"]
    assert view.approval is True and [r.status for r in view.requests] == ["requested"]
    assert "审核名额转让的接收人" in page.response.text and "同意" in page.response.text
    decided = await post_form(
        client, f"/shifts/{shift_id}/handovers/{offered.handover_id}/approve", {}, page=f"/shifts/{shift_id}"
    )
    assert decided.status_code in (302, 303), decided.text
    after = await page_context(client, decided.headers["location"])
    assert after.context["done"] == "handover_approved" and after.context["handovers"].requests == []
