"""Hand a place over (转让名额): the places offered, the confirm pages to offer and to take one, withdrawing, and the
publisher's approval."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import READS, Conn, User, roles
from api.services import handovers, shifts
from api.services.accounts import Identity
from api.services.handovers import ApprovalSetting, HandoverRefused
from web.routes._common import PAGE_SIZE, FormData, PageRedirect, confirm_page, multi, offset_of

PageQuery = Annotated[int, QueryParameter(ge=1, le=100_000)]


async def _take_page(
    conn: Conn, user: Identity, shift_id: int, handover_id: int, refusal: HandoverRefused | None = None
) -> Response[Any]:
    """The page that asks before taking an offered place (again with the reasons when the take was refused)."""
    view = await handovers.on_shift(conn, user, shift_id)
    place = next((p for p in view.offered if p.handover_id == handover_id), None)
    if place is None:
        if refusal is None:
            return PageRedirect("shift", shift_id=shift_id)
        shift = await shifts.get_shift(conn, user, shift_id)
    else:
        shift = place.shift
    page = confirm_page(
        "handover_take",
        user,
        action="handover_take",
        back="handovers",
        params={"shift_id": shift_id, "handover_id": handover_id},
        back_params={},
        shift=shift,
        place=place,
        approval=view.approval,
        blocking=shifts.blocking(place.reasons) if place else [],
        refusal=refusal,
    )
    if refusal is not None:
        page.status_code = refusal.status
    return page


class HandoverPages(Controller):
    """转让名额: offered places, offer my place, take one; approve or decline for publishers."""

    include_in_schema = False

    @get("/shifts/handovers", name="handovers", guards=[roles("volunteer")], dependencies=READS)
    async def offered(self, conn: Conn, user: User, page: PageQuery = 1) -> Template:
        """Places other volunteers offer, the ones I may take first."""
        items = await handovers.offered(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="handovers/list.html",
            context={"who": user, "items": items, "blocking": shifts.blocking, "page": page},
        )

    @get("/shifts/{shift_id:int}/handover", name="handover_offer_confirm", guards=[roles("volunteer")])
    async def offer_confirm(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Response[Any]:
        """Ask before offering my place, saying where it goes (the waitlist first, before the window)."""
        view = await shifts.view_for_volunteer(conn, user, shift_id)
        mine = await handovers.on_shift(conn, user, shift_id)
        if view is None or view.my_status != "active" or mine.mine is not None:
            return PageRedirect("shift", shift_id=shift_id)
        return confirm_page(
            "handover_offer",
            user,
            action="handover_offer",
            back="shift",
            params={"shift_id": shift_id},
            shift=view.shift,
            free_until=shifts.free_cancellation_until(view.shift),
            waitlist_first=handovers.goes_to_waitlist(view.shift),
            approval=mine.approval,
        )

    @post("/shifts/{shift_id:int}/handover", name="handover_offer", guards=[roles("volunteer")])
    async def offer(self, conn: Conn, user: User, shift_id: FromPath[int]) -> PageRedirect:
        """Offer my place; the shift page says whether someone waiting took it at once."""
        outcome = await handovers.offer(conn, user, shift_id)
        return PageRedirect("shift", shift_id=shift_id, query={"done": f"handover_{outcome.status}"})

    @post("/shifts/{shift_id:int}/handover/withdraw", name="handover_withdraw", guards=[roles("volunteer")])
    async def withdraw(self, conn: Conn, user: User, shift_id: FromPath[int]) -> PageRedirect:
        """Withdraw my offer; I keep the place."""
        await handovers.withdraw(conn, user, shift_id)
        return PageRedirect("shift", shift_id=shift_id, query={"done": "handover_withdrawn"})

    @get(
        "/shifts/{shift_id:int}/handovers/{handover_id:int}/take",
        name="handover_take_confirm",
        guards=[roles("volunteer")],
    )
    async def take_confirm(
        self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]
    ) -> Response[Any]:
        """Ask before taking an offered place."""
        return await _take_page(conn, user, shift_id, handover_id)

    @post("/shifts/{shift_id:int}/handovers/{handover_id:int}/take", name="handover_take", guards=[roles("volunteer")])
    async def take(self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]) -> Response[Any]:
        """Take the place (or ask to), or show the page again with why not."""
        try:
            outcome = await handovers.take(conn, user, shift_id, handover_id)
        except HandoverRefused as exc:
            return await _take_page(conn, user, shift_id, handover_id, refusal=exc)
        return PageRedirect("shift", shift_id=shift_id, query={"done": f"handover_{outcome.status}"})

    @post(
        "/shifts/{shift_id:int}/handovers/{handover_id:int}/approve",
        name="handover_approve",
        guards=[roles("organisation", "committee")],
    )
    async def approve(
        self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]
    ) -> Response[Any]:
        """Let the volunteer who asked take the place."""
        await handovers.approve(conn, user, shift_id, handover_id)
        return PageRedirect("shift", shift_id=shift_id, query={"done": "handover_approved"})

    @post(
        "/shifts/{shift_id:int}/handovers/{handover_id:int}/decline",
        name="handover_decline",
        guards=[roles("organisation", "committee")],
    )
    async def decline(
        self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]
    ) -> Response[Any]:
        """Decline the request; the offerer keeps the place."""
        await handovers.decline(conn, user, shift_id, handover_id)
        return PageRedirect("shift", shift_id=shift_id, query={"done": "handover_declined"})

    @post(
        "/shifts/{shift_id:int}/handover-approval",
        name="handover_approval",
        guards=[roles("organisation", "committee")],
    )
    async def set_approval(self, conn: Conn, user: User, shift_id: FromPath[int], data: FormData) -> PageRedirect:
        """Whether takes of this shift's offered places wait for our approval."""
        approval = multi(data).get("approval") == "on"
        await handovers.set_approval(conn, user, shift_id, ApprovalSetting(approval=approval))
        return PageRedirect("shift", shift_id=shift_id, query={"done": "handover_approval"})
