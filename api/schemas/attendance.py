"""Response structs for check-in, attendance and confirming hours."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.services.attendance import CheckinOutcome, DecisionOutcome, ShiftAttendance
from sql.attendance import AttendancePublic, PendingRow, RosterRow
from sql.groups import NamedMemberRow


class AttendanceOut(AttendancePublic, frozen=True):
    """One volunteer's attendance at one shift: times, minutes and where the hours stand."""


class CheckinOut(msgspec.Struct, frozen=True):
    """A check-in: the shift's title and times, the attendance, and whether it had been made before."""

    shift_id: int
    shift_title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    attendance: AttendanceOut
    already: bool


class RosterOut(RosterRow, frozen=True):
    """A volunteer holding a place, and their attendance if any."""


class GroupPersonOut(NamedMemberRow, frozen=True):
    """A person without an account holding a place in a group: their hours stay on the group's record."""


class ShiftAttendanceOut(msgspec.Struct, frozen=True):
    """The publisher's view of a shift: check-in URL path and short code, and who came."""

    shift_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    checkin_path: str
    checkin_code: str
    group_activity: bool
    roster: list[RosterOut]
    # People without an account who came in a group (a child): name and birth year, under the group's leader.
    group_people: list[GroupPersonOut] = []


class PendingOut(PendingRow, frozen=True):
    """Hours waiting for the publisher's decision."""


class DecisionOut(DecisionOutcome, frozen=True):
    """What a decision changed: attendances, minutes, coins credited and minutes kept out by the cap."""


def checkin_out(outcome: CheckinOutcome) -> CheckinOut:
    """The public shape of a check-in (the shift's times by name, its id and title renamed)."""
    shift, attendance = outcome.shift, outcome.attendance
    return out(
        shift, CheckinOut, shift_id=shift.id, shift_title=shift.title, attendance=attendance, already=outcome.already
    )


def shift_attendance_out(view: ShiftAttendance) -> ShiftAttendanceOut:
    """The public shape of a publisher's shift attendance."""
    return out(
        view.shift,
        ShiftAttendanceOut,
        shift_id=view.shift.id,
        checkin_path=f"/attendance/check-in/{view.shift.checkin_secret}",
        roster=view.roster,
        group_people=view.group_people,
    )
