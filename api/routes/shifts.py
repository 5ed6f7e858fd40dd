"""Volunteer shifts: publish (one-off or weekly), browse with reasons, pick up a place (409 with the reason),
wait, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import READS, Conn, User, login_required, roles
from api.errors import http_exception_handler
from api.routes.paging import Limit, Offset
from api.schemas.common import out
from api.schemas.shifts import (
    CancelOut,
    SeriesOut,
    ShiftForMeOut,
    ShiftOut,
    SignupOut,
    SkipDate,
    for_me_out,
    series_out,
    shift_out,
    signup_out,
)
from api.services import shifts
from api.services.shifts import SeriesCreate, ShiftCreate


def unprocessable(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A well-formed body whose values break the rules (a time without offset, a negative headcount) is 422."""
    if isinstance(exc.extra, list) and exc.extra:
        exc = ValidationException(detail=exc.detail, extra=exc.extra, status_code=422)
    return http_exception_handler(request, exc)


class ShiftController(Controller):
    """Volunteer shifts (服务班次) and sign-ups."""

    path = "/api/shifts"
    tags = ("shifts",)
    # Litestar reads these as instance attributes, so ClassVar (which RUF012 asks for) fails mypy.
    exception_handlers = {ValidationException: unprocessable}  # noqa: RUF012

    @get("/", operation_id="listShifts", guards=[roles("volunteer")], dependencies=READS)
    async def browse(
        self,
        conn: Conn,
        user: User,
        eligible_only: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> list[ShiftForMeOut]:
        """Open shifts to come for the calling volunteer: the ones they may take first, the others with reasons."""
        rows = await shifts.browse(conn, user, eligible_only=eligible_only, limit=limit, offset=offset)
        return [for_me_out(r) for r in rows]

    @get("/mine", operation_id="listMyShifts", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User, limit: Limit = 20, offset: Offset = 0) -> list[ShiftForMeOut]:
        """The shifts the calling volunteer signed up for (held, waiting or cancelled), latest first."""
        return [for_me_out(r) for r in await shifts.my_shifts(conn, user, limit=limit, offset=offset)]

    @get("/published", operation_id="listPublishedShifts", guards=[roles("organisation", "committee")])
    async def published(self, conn: Conn, user: User, limit: Limit = 20, offset: Offset = 0) -> list[ShiftOut]:
        """The shifts the caller's organisation or committee published."""
        return [shift_out(r) for r in await shifts.published(conn, user, limit=limit, offset=offset)]

    @get("/series", operation_id="listPublishedShiftSeries", guards=[roles("organisation", "committee")])
    async def published_series(self, conn: Conn, user: User, limit: Limit = 20, offset: Offset = 0) -> list[SeriesOut]:
        """The weekly rules the caller's organisation or committee published."""
        return [series_out(v) for v in await shifts.published_series(conn, user, limit=limit, offset=offset)]

    @post("/series", operation_id="publishShiftSeries", guards=[roles("organisation", "committee")], status_code=201)
    async def publish_series(self, conn: Conn, user: User, data: JSONBody[SeriesCreate]) -> SeriesOut:
        """Publish a weekly rule (first start and end with offset, weekdays, `until` required, dates to skip)."""
        return series_out(await shifts.publish_series(conn, user, data))

    @get("/series/{series_id:int}", operation_id="getShiftSeries", guards=[roles("organisation", "committee")])
    async def get_series(self, conn: Conn, user: User, series_id: FromPath[int]) -> SeriesOut:
        """One of the caller's weekly rules with its shifts."""
        return series_out(await shifts.get_series(conn, user, series_id))

    @post(
        "/series/{series_id:int}/exceptions",
        operation_id="skipShiftSeriesDate",
        guards=[roles("organisation", "committee")],
        status_code=200,
    )
    async def skip_date(self, conn: Conn, user: User, series_id: FromPath[int], data: JSONBody[SkipDate]) -> SeriesOut:
        """Skip a date of a weekly rule: that day's shift is called off with its sign-ups."""
        return series_out(await shifts.skip_date(conn, user, series_id, data.date))

    @get("/{shift_id:int}", operation_id="getShift", guards=[login_required])
    async def get_shift(self, conn: Conn, user: User, shift_id: FromPath[int]) -> ShiftOut:
        """One shift with its headcount and places taken."""
        return shift_out(await shifts.get_shift(conn, user, shift_id))

    @get("/{shift_id:int}/for-me", operation_id="getShiftForMe", guards=[roles("volunteer")])
    async def for_me(self, conn: Conn, user: User, shift_id: FromPath[int]) -> ShiftForMeOut:
        """One shift as the calling volunteer sees it: eligible or why not, and their own sign-up."""
        view = await shifts.view_for_volunteer(conn, user, shift_id)
        assert view is not None  # the guard admits volunteers only
        return for_me_out(view)

    @post("/", operation_id="publishShift", guards=[roles("organisation", "committee")], status_code=201)
    async def publish(self, conn: Conn, user: User, data: JSONBody[ShiftCreate]) -> ShiftOut:
        """Publish a one-off shift (times with their UTC offset; the end after the start; headcount at least 1)."""
        return shift_out(await shifts.publish(conn, user, data))

    @post("/{shift_id:int}/signups", operation_id="signUpForShift", guards=[roles("volunteer")], status_code=201)
    async def sign_up(self, conn: Conn, user: User, shift_id: FromPath[int]) -> SignupOut:
        """Take a place; 409 with the reason in the problem type: full, overlap, not-eligible, closed, already."""
        return signup_out(await shifts.sign_up(conn, user, shift_id))

    @post("/{shift_id:int}/waitlist", operation_id="joinShiftWaitlist", guards=[roles("volunteer")], status_code=201)
    async def join_waitlist(self, conn: Conn, user: User, shift_id: FromPath[int]) -> SignupOut:
        """Wait for a place on a full shift; a cancellation before the window hands it to the first eligible."""
        return signup_out(await shifts.join_waitlist(conn, user, shift_id))

    @delete("/{shift_id:int}/signups/mine", operation_id="cancelMySignup", guards=[roles("volunteer")], status_code=200)
    async def cancel(self, conn: Conn, user: User, shift_id: FromPath[int]) -> CancelOut:
        """Give up one's place (late inside the shift's cancellation window) or leave the waitlist."""
        return out(await shifts.cancel(conn, user, shift_id), CancelOut)
