"""Hand a place over (转让名额): offer one's place, list and take offered places (409 with the reasons), withdraw; the
publisher's approval where the shift asks for it."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from api.auth import READS, Conn, User, login_required, roles
from api.routes.paging import Limit, Offset
from api.routes.shifts import unprocessable
from api.schemas.common import out
from api.schemas.handovers import (
    HandoverOutcomeOut,
    OfferedOut,
    ShiftHandoversOut,
    offered_out,
    shift_handovers_out,
)
from api.services import handovers
from api.services.handovers import ApprovalSetting


class HandoverController(Controller):
    """Places handed over between volunteers, under the shift's guarded sign-up."""

    path = "/api/shifts"
    tags = ("shifts",)
    exception_handlers = {ValidationException: unprocessable}  # noqa: RUF012 (Litestar reads instance attributes)

    @get("/handovers", operation_id="listOfferedPlaces", guards=[roles("volunteer")], dependencies=READS)
    async def offered(self, conn: Conn, user: User, limit: Limit = 20, offset: Offset = 0) -> list[OfferedOut]:
        """Places other volunteers offer on shifts to come: the ones the caller may take first, the others with
        reasons."""
        return [offered_out(p) for p in await handovers.offered(conn, user, limit=limit, offset=offset)]

    @get("/{shift_id:int}/handovers", operation_id="getShiftHandovers", guards=[login_required])
    async def on_shift(self, conn: Conn, user: User, shift_id: FromPath[int]) -> ShiftHandoversOut:
        """Hand-overs on one shift: the caller's own offer and others' offered places, or for its publisher the live
        offers and the requests waiting for a decision."""
        return shift_handovers_out(await handovers.on_shift(conn, user, shift_id))

    @post("/{shift_id:int}/handovers", operation_id="offerMyPlace", guards=[roles("volunteer")], status_code=201)
    async def offer(self, conn: Conn, user: User, shift_id: FromPath[int]) -> HandoverOutcomeOut:
        """Offer my held place: `taken` at once by the first eligible person waiting (before the cancellation
        window), else `open` for any eligible volunteer; 409 handover-no-place or handover-already-offered."""
        return out(await handovers.offer(conn, user, shift_id), HandoverOutcomeOut)

    @delete(
        "/{shift_id:int}/handovers/mine", operation_id="withdrawMyOffer", guards=[roles("volunteer")], status_code=200
    )
    async def withdraw(self, conn: Conn, user: User, shift_id: FromPath[int]) -> HandoverOutcomeOut:
        """Withdraw my offer before it is taken; I keep the place."""
        return out(await handovers.withdraw(conn, user, shift_id), HandoverOutcomeOut)

    @post(
        "/{shift_id:int}/handovers/{handover_id:int}/take",
        operation_id="takeOfferedPlace",
        guards=[roles("volunteer")],
        status_code=200,
    )
    async def take(
        self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]
    ) -> HandoverOutcomeOut:
        """Take an offered place (`taken`), or ask to where the publisher approves (`requested`); 409 handover-gone,
        handover-not-eligible (the reasons as fields), handover-overlap, handover-own, handover-already."""
        return out(await handovers.take(conn, user, shift_id, handover_id), HandoverOutcomeOut)

    @post(
        "/{shift_id:int}/handovers/{handover_id:int}/approve",
        operation_id="approveHandover",
        guards=[roles("organisation", "committee")],
        status_code=200,
    )
    async def approve(
        self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]
    ) -> HandoverOutcomeOut:
        """Let the volunteer who asked take the place; 409 with the reasons if they no longer may."""
        return out(await handovers.approve(conn, user, shift_id, handover_id), HandoverOutcomeOut)

    @post(
        "/{shift_id:int}/handovers/{handover_id:int}/decline",
        operation_id="declineHandover",
        guards=[roles("organisation", "committee")],
        status_code=200,
    )
    async def decline(
        self, conn: Conn, user: User, shift_id: FromPath[int], handover_id: FromPath[int]
    ) -> HandoverOutcomeOut:
        """Decline a request: the offerer keeps the place and it is offered again."""
        return out(await handovers.decline(conn, user, shift_id, handover_id), HandoverOutcomeOut)

    @put(
        "/{shift_id:int}/handover-approval",
        operation_id="setHandoverApproval",
        guards=[roles("organisation", "committee")],
    )
    async def set_approval(
        self, conn: Conn, user: User, shift_id: FromPath[int], data: JSONBody[ApprovalSetting]
    ) -> ApprovalSetting:
        """Whether takes of this shift's offered places wait for the publisher's approval."""
        return ApprovalSetting(approval=await handovers.set_approval(conn, user, shift_id, data))
