"""Response structs for group sign-ups."""

from __future__ import annotations

from api.schemas.common import out
from api.schemas.shifts import ShiftOut, shift_out
from api.services.groups import GroupView
from sql.groups import GroupMemberPublic, GroupRow


class GroupMemberOut(GroupMemberPublic, frozen=True):
    """A member: a volunteer account (`volunteer_id`, hours credited to it) or a person without an account (`name`,
    `birth_year`, when a guardian consented); `status` active, cancelled or late_cancelled."""


class GroupOut(GroupRow, frozen=True):
    """A group on a shift: its leader, members and the shift as it now stands."""

    members: list[GroupMemberOut]
    shift: ShiftOut


def group_out(view: GroupView) -> GroupOut:
    """The public shape of a group the caller leads."""
    return out(
        view.group,
        GroupOut,
        members=[out(m, GroupMemberOut) for m in view.members],
        shift=shift_out(view.shift),
    )
