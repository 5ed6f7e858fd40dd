"""Registration pages: choose a kind of account, register as a volunteer or as a social organisation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import MultiDict
from litestar.response import Template

from api.auth import Conn, Who
from api.i18n import current_locale
from api.services import accounts, directory
from api.services.accounts import Identity, OrganisationRegistration, VolunteerRegistration
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay, split_list
from web.routes.session import logged_in_redirect, session_start
from web.routes.volunteers import details_form

VOLUNTEER_DEFAULTS = {"travel_km": "5", "weekly_hour_cap": "8", "languages": "普通话"}
ORGANISATION_LISTS = ("category_codes", "area_ids")


def _volunteer_extra(form: MultiDict[str]) -> dict[str, Any]:
    # Usernames are stored in lower case; accept what people type on a phone keyboard.
    return {
        "username": form.get("username", "").strip().lower(),
        "languages": split_list(form.get("languages", "")),
        "locale": current_locale.get(),
    }


def _organisation_extra(form: MultiDict[str]) -> dict[str, Any]:
    # Credit codes are printed in capitals, often with spaces between groups; the check needs them bare.
    return {
        "username": form.get("username", "").strip().lower(),
        "credit_code": "".join(form.get("credit_code", "").split()).upper(),
        "locale": current_locale.get(),
    }


def _register(
    request: Request[Any, Any, Any], conn: Conn
) -> Callable[[VolunteerRegistration | OrganisationRegistration], Awaitable[accounts.LoginResult]]:
    """Registration that logs the new account in (a new session id, as login makes)."""
    return lambda form: accounts.register_and_log_in(conn, form, session_start(request))


async def _organisation_form(
    conn: Conn, who: Identity | None, errors: dict[str, str], values: dict[str, Any], status: int
) -> Template:
    return Template(
        template_name="register/organisation.html",
        context={"who": who, "errors": errors, "values": values, "choices": await directory.organisation_choices(conn)},
        status_code=status,
    )


class RegisterPages(Controller):
    """Self-registration for volunteers and social organisations (staff accounts are made by an admin)."""

    include_in_schema = False

    @get("/register", name="register")
    async def choose(self, who: Who) -> Template:
        """Choose between volunteering and registering an organisation."""
        return Template(template_name="register/choose.html", context={"who": who})

    @get("/register/volunteer", name="register_volunteer")
    async def volunteer_form(self, conn: Conn, who: Who) -> Template:
        """The volunteer registration form."""
        return await details_form("register/volunteer.html", conn, who, {}, {**VOLUNTEER_DEFAULTS, "skills": []}, 200)

    @post("/register/volunteer", name="register_volunteer_submit")
    async def volunteer_submit(
        self, request: Request[Any, Any, Any], conn: Conn, who: Who, data: FormData
    ) -> Response[Any]:
        """Create the volunteer's account and log them in; their home page says what to do first."""
        form = multi(data)
        return await submit(
            parse_form(VolunteerRegistration, form, _volunteer_extra(form)),
            _register(request, conn),
            lambda result: logged_in_redirect(request, result, PageRedirect("home")),
            lambda errors, status: details_form(
                "register/volunteer.html", conn, who, errors, redisplay(form, ("skills",)), status
            ),
            refusal="__all__",
        )

    @get("/register/organisation", name="register_organisation")
    async def organisation_form(self, conn: Conn, who: Who) -> Template:
        """The organisation registration form."""
        values = {"staff_hours_capacity": "0", "category_codes": [], "area_ids": []}
        return await _organisation_form(conn, who, {}, values, 200)

    @post("/register/organisation", name="register_organisation_submit")
    async def organisation_submit(
        self, request: Request[Any, Any, Any], conn: Conn, who: Who, data: FormData
    ) -> Response[Any]:
        """Create the pending organisation and its manager's account, logged in."""
        form = multi(data)
        return await submit(
            parse_form(OrganisationRegistration, form, _organisation_extra(form)),
            _register(request, conn),
            lambda result: logged_in_redirect(request, result, PageRedirect("register_organisation_pending")),
            lambda errors, status: _organisation_form(conn, who, errors, redisplay(form, ORGANISATION_LISTS), status),
            refusal="__all__",
        )

    @get("/register/organisation/pending", name="register_organisation_pending")
    async def organisation_pending(self, who: Who) -> Template:
        """What happens next: an admin verifies the organisation before it appears to others."""
        return Template(template_name="register/pending.html", context={"who": who})
