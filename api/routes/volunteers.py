"""A volunteer's own profile: details, certificates, weekly availability and exceptions, consent, calendar feed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, roles
from api.routes.shifts import unprocessable
from api.schemas.volunteers import CalendarOut, ProfileOut, profile_out
from api.services import volunteers
from api.services.volunteers import (
    AvailabilityUpdate,
    CertificateUpdate,
    ConsentUpdate,
    ExceptionCreate,
    ProfileUpdate,
)


def _feed_url(request: Request[Any, Any, Any], token: str) -> str:
    return str(request.base_url).rstrip("/") + volunteers.feed_path(token)


class VolunteerProfileController(Controller):
    """The calling volunteer's own profile (志愿者资料)."""

    path = "/api/volunteers/me"
    tags = ("volunteers",)
    # Litestar reads these as instance attributes, so ClassVar (which RUF012 asks for) fails mypy.
    guards = [roles("volunteer")]  # noqa: RUF012
    exception_handlers = {ValidationException: unprocessable}  # noqa: RUF012

    @get("/", operation_id="getMyVolunteerProfile")
    async def get_profile(self, conn: Conn, user: User) -> ProfileOut:
        """My profile with certificates, weekly availability and exceptions to come."""
        return profile_out(await volunteers.profile(conn, user))

    @put("/", operation_id="updateMyVolunteerProfile")
    async def update_profile(self, conn: Conn, user: User, data: JSONBody[ProfileUpdate]) -> ProfileOut:
        """Replace my editable profile (under 14: a guardian's consent and name are required)."""
        return profile_out(await volunteers.update_profile(conn, user, data))

    @put("/consent", operation_id="setMySensitiveDataConsent")
    async def set_consent(self, conn: Conn, user: User, data: JSONBody[ConsentUpdate]) -> ProfileOut:
        """Give or withdraw my consent to the processing of sensitive personal data (recorded on its own)."""
        return profile_out(await volunteers.set_consent(conn, user, data))

    @put("/certificates/{kind:str}", operation_id="putMyCertificate")
    async def put_certificate(
        self, conn: Conn, user: User, kind: FromPath[str], data: JSONBody[CertificateUpdate]
    ) -> ProfileOut:
        """Record or renew my certificate of a kind (elderly_carer, first_aid, health, …)."""
        return profile_out(await volunteers.put_certificate(conn, user, kind, data))

    @delete("/certificates/{kind:str}", operation_id="deleteMyCertificate", status_code=200)
    async def delete_certificate(self, conn: Conn, user: User, kind: FromPath[str]) -> ProfileOut:
        """Remove my certificate of a kind."""
        return profile_out(await volunteers.remove_certificate(conn, user, kind))

    @put("/availability", operation_id="setMyAvailability")
    async def set_availability(self, conn: Conn, user: User, data: JSONBody[AvailabilityUpdate]) -> ProfileOut:
        """Replace my weekly windows (Beijing time, HH:MM, not overlapping on a day)."""
        return profile_out(await volunteers.set_availability(conn, user, data))

    @post("/availability/exceptions", operation_id="addMyAvailabilityException", status_code=201)
    async def add_exception(self, conn: Conn, user: User, data: JSONBody[ExceptionCreate]) -> ProfileOut:
        """Mark a time away (available false) or an extra available time (true); times with their offset."""
        return profile_out(await volunteers.add_exception(conn, user, data))

    @delete(
        "/availability/exceptions/{exception_id:int}", operation_id="deleteMyAvailabilityException", status_code=200
    )
    async def delete_exception(self, conn: Conn, user: User, exception_id: FromPath[int]) -> ProfileOut:
        """Remove one of my exceptions."""
        return profile_out(await volunteers.remove_exception(conn, user, exception_id))

    @get("/calendar", operation_id="getMyCalendarFeed")
    async def calendar(self, request: Request[Any, Any, Any], conn: Conn, user: User) -> CalendarOut:
        """The secret iCal address of my shifts, for a calendar app to subscribe to without logging in."""
        token = await volunteers.calendar_token(conn, user, request.app.state.settings.secret_key)
        return CalendarOut(url=_feed_url(request, token))

    @post("/calendar/renew", operation_id="renewMyCalendarFeed", status_code=200)
    async def renew_calendar(self, request: Request[Any, Any, Any], conn: Conn, user: User) -> CalendarOut:
        """A new secret address; the old one stops working."""
        token = await volunteers.renew_calendar_token(conn, user, request.app.state.settings.secret_key)
        return CalendarOut(url=_feed_url(request, token))
