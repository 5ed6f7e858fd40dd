"""Staff of the caller's committee or organisation: list, invite, change a role, remove."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, roles
from api.schemas.common import out, outs
from api.schemas.staff import IssuedInvitationOut, StaffInvitationOut, StaffListOut, StaffMemberOut
from api.services import staff
from api.services.staff import InvitationForm, RoleChange


class StaffController(Controller):
    """A manager's staff: one-time invitation links, roles (manager or staff) and removal."""

    path = "/api/staff"
    tags = ("staff",)
    guards = [roles("committee", "organisation")]  # noqa: RUF012 (litestar reads it from the class)

    @get("", operation_id="listStaff")
    async def list_staff(self, conn: Conn, user: User) -> StaffListOut:
        """The caller's committee's or organisation's staff, managers first."""
        listing = await staff.staff_list(conn, user)
        return StaffListOut(
            members=outs(listing.members, StaffMemberOut),
            invitations=outs(listing.invitations, StaffInvitationOut),
            can_manage=listing.can_manage,
        )

    @post("/invitations", operation_id="inviteStaff", status_code=201)
    async def invite(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, data: JSONBody[InvitationForm]
    ) -> IssuedInvitationOut:
        """A manager makes a one-time invitation link, valid 72 hours (its secret is shown only now)."""
        issued = await staff.invite(conn, user, data)
        return out(issued, IssuedInvitationOut, path=request.app.route_reverse("staff_join", token=issued.token))

    @delete("/invitations/{invitation_id:int}", operation_id="withdrawStaffInvitation")
    async def withdraw(self, conn: Conn, user: User, invitation_id: FromPath[int]) -> None:
        """A manager withdraws an invitation nobody has used yet."""
        await staff.withdraw_invitation(conn, user, invitation_id)

    @put("/{account_id:int}/role", operation_id="setStaffRole", status_code=204)
    async def set_role(self, conn: Conn, user: User, account_id: FromPath[int], data: JSONBody[RoleChange]) -> None:
        """A manager makes a member a manager or staff (409 for the last manager)."""
        await staff.change_role(conn, user, account_id, data)

    @delete("/{account_id:int}", operation_id="removeStaff")
    async def remove(self, conn: Conn, user: User, account_id: FromPath[int]) -> None:
        """A manager removes a member: the account is closed, its sessions and tokens end (409 for the last manager)."""
        await staff.remove(conn, user, account_id)
