"""Group sign-ups: a leader signs up a group for several places of a shift at once (409 names each member who cannot
come), reads it, and cancels it whole or one member at a time."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, roles
from api.routes.shifts import unprocessable
from api.schemas.groups import GroupOut, group_out
from api.services import groups
from api.services.groups import GroupSignupForm


class GroupController(Controller):
    """Group sign-ups (团体报名) of volunteer shifts."""

    path = "/api"
    tags = ("shifts",)
    guards = [roles("volunteer")]  # noqa: RUF012 - Litestar reads it as an instance attribute
    exception_handlers = {ValidationException: unprocessable}  # noqa: RUF012

    @post("/shifts/{shift_id:int}/groups", operation_id="signUpGroupForShift", status_code=201)
    async def sign_up(
        self, conn: Conn, user: User, shift_id: FromPath[int], data: JSONBody[GroupSignupForm]
    ) -> GroupOut:
        """Sign up the caller and the group's members (accounts by username or phone, people without an account by
        name and birth year) for places of one shift, all or none; 409 with `members[i].<reason>` for each who cannot
        come, 422 for a member the form gets wrong."""
        return group_out(await groups.sign_up_group(conn, user, shift_id, data))

    @get("/groups/{group_id:int}", operation_id="getShiftGroup")
    async def get_group(self, conn: Conn, user: User, group_id: FromPath[int]) -> GroupOut:
        """A group the caller leads, with its members."""
        return group_out(await groups.view_group(conn, user, group_id))

    @post("/groups/{group_id:int}/cancel", operation_id="cancelShiftGroup", status_code=200)
    async def cancel(self, conn: Conn, user: User, group_id: FromPath[int]) -> GroupOut:
        """Give up every place of the group (late inside the shift's window); freed places go to the waitlist."""
        return group_out(await groups.cancel_group(conn, user, group_id))

    @post(
        "/groups/{group_id:int}/members/{member_id:int}/cancel", operation_id="cancelShiftGroupMember", status_code=200
    )
    async def cancel_member(
        self, conn: Conn, user: User, group_id: FromPath[int], member_id: FromPath[int]
    ) -> GroupOut:
        """Give up one member's place (the leader's own: cancel the group instead)."""
        return group_out(await groups.cancel_member(conn, user, group_id, member_id))
