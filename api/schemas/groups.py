"""Response structs for group sign-ups."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.schemas.shifts import ShiftOut, shift_out
from api.services.groups import GroupView


class GroupMemberOut(msgspec.Struct, frozen=True):
    """A member: a volunteer account (`volunteer_id`, hours credited to it) or a person without an account (`name`,
    `birth_year`, when a guardian consented); `status` active, cancelled or late_cancelled."""

    id: int
    volunteer_id: int | None
    name: str
    birth_year: int | None
    guardian_consent_at: dt.datetime | None
    status: str
    is_leader: bool


class GroupOut(msgspec.Struct, frozen=True):
    """A group on a shift: its leader, members and the shift as it now stands."""

    id: int
    shift_id: int
    name: str
    status: str
    leader_volunteer_id: int
    leader_name: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
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
