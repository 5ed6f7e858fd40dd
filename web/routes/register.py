"""Registration pages: choose a kind of account, register as a volunteer or as a social organisation."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import MultiDict
from litestar.response import Redirect, Template

from api.auth import Conn, Who
from api.i18n import current_locale
from api.services import accounts, directory
from api.services.accounts import OrganisationRegistration, VolunteerRegistration
from api.services.errors import DomainError
from web.forms import parse_form
from web.routes._common import FormData, multi, redisplay, split_list

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
        return Template(
            template_name="register/volunteer.html",
            context={
                "who": who,
                "errors": {},
                "values": {**VOLUNTEER_DEFAULTS, "skills": []},
                "groups": await directory.committee_groups(conn),
                "skills": directory.SKILLS,
            },
        )

    @post("/register/volunteer", name="register_volunteer_submit")
    async def volunteer_submit(self, conn: Conn, who: Who, data: FormData) -> Response[Any]:
        """Create the volunteer's account, then send them to log in."""
        form = multi(data)
        command, errors = parse_form(VolunteerRegistration, form, _volunteer_extra(form))
        status = 422
        if command is not None:
            try:
                await accounts.register_volunteer(conn, command)
            except DomainError as exc:
                errors, status = exc.fields or {"__all__": exc.detail}, exc.status
            else:
                return Redirect(path="/login?registered=volunteer")
        return Template(
            template_name="register/volunteer.html",
            context={
                "who": who,
                "errors": errors,
                "values": redisplay(form, ("skills",)),
                "groups": await directory.committee_groups(conn),
                "skills": directory.SKILLS,
            },
            status_code=status,
        )

    @get("/register/organisation", name="register_organisation")
    async def organisation_form(self, conn: Conn, who: Who) -> Template:
        """The organisation registration form."""
        return Template(
            template_name="register/organisation.html",
            context={
                "who": who,
                "errors": {},
                "values": {"staff_hours_capacity": "0", "category_codes": [], "area_ids": []},
                "choices": await directory.organisation_choices(conn),
            },
        )

    @post("/register/organisation", name="register_organisation_submit")
    async def organisation_submit(self, conn: Conn, who: Who, data: FormData) -> Response[Any]:
        """Create the pending organisation and its manager's account."""
        form = multi(data)
        command, errors = parse_form(OrganisationRegistration, form, _organisation_extra(form))
        status = 422
        if command is not None:
            try:
                await accounts.register_organisation(conn, command)
            except DomainError as exc:
                errors, status = exc.fields or {"__all__": exc.detail}, exc.status
            else:
                return Redirect(path="/register/organisation/pending")
        return Template(
            template_name="register/organisation.html",
            context={
                "who": who,
                "errors": errors,
                "values": redisplay(form, ORGANISATION_LISTS),
                "choices": await directory.organisation_choices(conn),
            },
            status_code=status,
        )

    @get("/register/organisation/pending", name="register_organisation_pending")
    async def organisation_pending(self, who: Who) -> Template:
        """What happens next: an admin verifies the organisation before it appears to others."""
        return Template(template_name="register/pending.html", context={"who": who})
