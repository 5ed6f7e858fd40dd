"""Check-in and check-out at shifts (QR or short code), the publisher's roster, manual records, confirming hours."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.routes.paging import Offset
from api.schemas.attendance import (
    AttendanceOut,
    CheckinOut,
    DecisionOut,
    PendingOut,
    ShiftAttendanceOut,
    checkin_out,
    shift_attendance_out,
)
from api.schemas.common import out, outs
from api.services import attendance, groups
from api.services.attendance import CheckIn, Decision, GroupActivity, ManualAttendance
from api.services.groups import NamedHours

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class AttendanceController(Controller):
    """签到 / 签退 and 服务时长: check-in at the place, hours confirmed by the shift's publisher."""

    path = "/api/attendance"
    tags = ("attendance",)

    @post("/check-in", operation_id="checkIn", guards=[roles("volunteer")], status_code=200)
    async def check_in(self, conn: Conn, user: User, state: State, data: JSONBody[CheckIn]) -> CheckinOut:
        """Check in with the QR code's secret or the shift id and short code; 409 too early, too late, no place."""
        rules = attendance.rules_of(state.settings)
        return checkin_out(await attendance.check_in(conn, user, data, rules))

    @post("/shifts/{shift_id:int}/check-out", operation_id="checkOut", guards=[roles("volunteer")], status_code=200)
    async def check_out(self, conn: Conn, user: User, state: State, shift_id: FromPath[int]) -> AttendanceOut:
        """Check out; minutes are capped at the shift's length plus a tolerance and wait for confirmation."""
        rules = attendance.rules_of(state.settings)
        return out(await attendance.check_out(conn, user, shift_id, rules), AttendanceOut)

    @get("/shifts/{shift_id:int}", operation_id="getShiftAttendance", guards=[roles("organisation", "committee")])
    async def shift_attendance(self, conn: Conn, user: User, shift_id: FromPath[int]) -> ShiftAttendanceOut:
        """The publisher's view of its shift: the check-in link and code, volunteers and their attendance."""
        return shift_attendance_out(await attendance.shift_attendance(conn, user, shift_id))

    @put(
        "/shifts/{shift_id:int}/group-activity",
        operation_id="setShiftGroupActivity",
        guards=[roles("organisation", "committee")],
    )
    async def group_activity(
        self, conn: Conn, user: User, shift_id: FromPath[int], data: JSONBody[GroupActivity]
    ) -> ShiftAttendanceOut:
        """Mark one's shift as a group activity (its hours can only be donated) until its first hours are confirmed."""
        return shift_attendance_out(await attendance.set_group_activity(conn, user, shift_id, data))

    @put(
        "/shifts/{shift_id:int}/group-people/{member_id:int}",
        operation_id="recordGroupPersonHours",
        guards=[roles("organisation", "committee")],
    )
    async def group_person_hours(
        self, conn: Conn, user: User, shift_id: FromPath[int], member_id: FromPath[int], data: JSONBody[NamedHours]
    ) -> ShiftAttendanceOut:
        """Record the minutes a group's member without an account served (on the group's record; once the shift has
        begun; 404 for another publisher's shift)."""
        await groups.record_named_hours(conn, user, shift_id, member_id, data)
        return shift_attendance_out(await attendance.shift_attendance(conn, user, shift_id))

    @post(
        "/shifts/{shift_id:int}/records",
        operation_id="recordAttendance",
        guards=[roles("organisation", "committee")],
        status_code=201,
    )
    async def record(
        self, conn: Conn, user: User, state: State, shift_id: FromPath[int], data: JSONBody[ManualAttendance]
    ) -> AttendanceOut:
        """The publisher records a volunteer's check-in and check-out times (the manual fallback)."""
        rules = attendance.rules_of(state.settings)
        return out(await attendance.record_manual(conn, user, shift_id, data, rules), AttendanceOut)

    @get("/pending", operation_id="listPendingHours", guards=[roles("organisation", "committee")])
    async def pending(self, conn: Conn, user: User, limit: Limit = 100, offset: Offset = 0) -> list[PendingOut]:
        """Hours waiting for the caller's decision on its own shifts."""
        return outs(await attendance.pending(conn, user, limit=limit, offset=offset), PendingOut)

    @post("/decisions", operation_id="decideHours", guards=[roles("organisation", "committee")], status_code=200)
    async def decide(self, conn: Conn, user: User, state: State, data: JSONBody[Decision]) -> DecisionOut:
        """Confirm or reject (with a reason) one or many pending hours, all or none, only on one's own shifts."""
        rules = attendance.rules_of(state.settings)
        return out(await attendance.decide(conn, user, data, rules), DecisionOut)
