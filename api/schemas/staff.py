"""Staff of a committee or an organisation, and invitations (API shapes)."""

from __future__ import annotations

import msgspec

from api.services.staff import IssuedInvitation
from sql.staff import InvitationRow, MemberRow


class StaffMemberOut(MemberRow, frozen=True):
    """A member of the staff: account, name, role (manager or staff) and when last seen."""


class StaffInvitationOut(InvitationRow, frozen=True):
    """An invitation not yet used (its link is never shown again)."""


class StaffListOut(msgspec.Struct, frozen=True):
    """The staff, the open invitations (a manager's view only) and whether the caller may manage them."""

    members: list[StaffMemberOut]
    invitations: list[StaffInvitationOut]
    can_manage: bool


class IssuedInvitationOut(IssuedInvitation, frozen=True):
    """A new invitation with the path of its one-time link (shown once)."""

    path: str
