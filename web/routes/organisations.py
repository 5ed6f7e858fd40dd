"""Social organisation pages: the list, a profile, and the manager's edit form."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, roles
from api.services import areas, contracts, directory, org_checks, orgs
from api.services.accounts import Identity
from api.services.org_checks import OrgCheckState, RevokeOrgValue, VerifyOrgValue
from api.services.orgs import OrgProfileUpdate
from web.forms import parse_form, submit
from web.routes._common import (
    PAGE_SIZE,
    SAVED,
    FormData,
    Pager,
    PageRedirect,
    confirm_page,
    multi,
    offset_of,
    redisplay,
)

PROFILE_LISTS = ("category_codes", "area_ids")
VERIFIERS = [roles("funder", "admin")]
# The name search is a substring match in SQL; LIKE's wildcard characters typed into the box are dropped.
_WILDCARDS = str.maketrans("", "", "%_\\")


class OrganisationPages(Controller):
    """社会组织: browse, view, and edit one's own."""

    include_in_schema = False

    @get("/organisations", name="organisations")
    async def list_orgs(
        self,
        conn: Conn,
        who: Who,
        q: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")] = None,
        category: Annotated[str | None, QueryParameter(pattern=r"^([a-z0-9_]{2,40})?$")] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """Verified organisations (admins see every status), by name and service category."""
        term = (q or "").strip().translate(_WILDCARDS) or None
        result = await orgs.list_orgs(
            conn, who, status=None, category=category or None, q=term, limit=PAGE_SIZE, offset=offset_of(page)
        )
        return Template(
            template_name="organisations/list.html",
            context={
                "who": who,
                "page": result,
                "q": q or "",
                "category": category or "",
                "catalogue": await areas.catalogue(conn),
                "pager": Pager("organisations", {"q": q, "category": category}, page, result.total),
            },
        )

    @get("/organisations/{org_id:int}", name="organisation")
    async def profile(
        self,
        conn: Conn,
        who: Who,
        org_id: FromPath[int],
        saved: Annotated[str | None, QueryParameter(pattern=r"^1$")] = None,
        done: Annotated[str | None, QueryParameter(pattern=r"^(verified|revoked)$")] = None,
    ) -> Template:
        """One organisation's public profile; funders and the admin also see, verify and revoke its capacity and
        rating, its own staff see their states."""
        org = await orgs.get_org(conn, who, org_id)
        return Template(
            template_name="organisations/profile.html",
            context={
                "who": who,
                "org": org,
                "catalogue": await areas.catalogue(conn),
                "saved": bool(saved),
                "performance": await contracts.performance(conn, org.id),
                "checks": await _checks_if_shown(conn, who, org.id),
                "may_verify": org_checks.may_verify(who),
                "done": done,
            },
        )

    @get("/organisations/{org_id:int}/checks/{subject:str}/verify", name="org_value_verify_ask", guards=VERIFIERS)
    async def verify_ask(self, conn: Conn, user: User, org_id: FromPath[int], subject: FromPath[str]) -> Template:
        """Ask what the declared value was checked against before verifying it."""
        return await _value_page(conn, user, org_id, subject, "verify")

    @post("/organisations/{org_id:int}/checks/{subject:str}/verify", name="org_value_verify", guards=VERIFIERS)
    async def verify(
        self, conn: Conn, user: User, org_id: FromPath[int], subject: FromPath[str], data: FormData
    ) -> Response[Any]:
        """Verify the declared capacity or rating: the award run and the rating rules then read it."""
        return await _decide(conn, user, org_id, subject, data, "verify")

    @get("/organisations/{org_id:int}/checks/{subject:str}/revoke", name="org_value_revoke_ask", guards=VERIFIERS)
    async def revoke_ask(self, conn: Conn, user: User, org_id: FromPath[int], subject: FromPath[str]) -> Template:
        """Ask for the reason before revoking a verified value."""
        return await _value_page(conn, user, org_id, subject, "revoke")

    @post("/organisations/{org_id:int}/checks/{subject:str}/revoke", name="org_value_revoke", guards=VERIFIERS)
    async def revoke(
        self, conn: Conn, user: User, org_id: FromPath[int], subject: FromPath[str], data: FormData
    ) -> Response[Any]:
        """Revoke the verified capacity or rating: it counts as declared only again."""
        return await _decide(conn, user, org_id, subject, data, "revoke")

    @get("/organisations/{org_id:int}/checks/{subject:str}/back", name="org_value_back", guards=VERIFIERS)
    async def value_back(self, org_id: FromPath[int]) -> PageRedirect:
        """The way back from the verify and revoke pages: the profile, at its capacity and rating."""
        return PageRedirect("organisation", org_id=org_id, fragment="checks")

    @get("/organisations/{org_id:int}/edit", name="organisation_edit", guards=[roles("organisation")])
    async def edit_form(self, conn: Conn, user: User, org_id: FromPath[int]) -> Template:
        """The profile form for the organisation's own manager."""
        page = await directory.organisation_edit(conn, user, org_id)
        org = page.organisation
        values: dict[str, Any] = {
            "name": org.name,
            "staff_hours_capacity": org.staff_hours_capacity,
            "contact_phone": org.contact_phone,
            "address": org.address,
            "description": org.description,
            "category_codes": org.category_codes,
            "area_ids": org.area_ids,
        }
        return _edit_page(user, page, {}, values, 200, await org_checks.states(conn, user, org_id))

    @post("/organisations/{org_id:int}/edit", name="organisation_edit_submit", guards=[roles("organisation")])
    async def edit_submit(self, conn: Conn, user: User, org_id: FromPath[int], data: FormData) -> Response[Any]:
        """Save the profile and show it."""
        form = multi(data)

        async def again(errors: dict[str, str], status: int) -> Template:
            page = await directory.organisation_edit(conn, user, org_id)
            checks = await org_checks.states(conn, user, org_id)
            return _edit_page(user, page, errors, redisplay(form, PROFILE_LISTS), status, checks)

        return await submit(
            parse_form(OrgProfileUpdate, form),
            lambda command: orgs.update_profile(conn, user, org_id, command),
            lambda _row: PageRedirect("organisation", org_id=org_id, query=SAVED),
            again,
        )


def _edit_page(
    user: User, page: Any, errors: dict[str, str], values: dict[str, Any], status: int, checks: list[OrgCheckState]
) -> Template:
    return Template(
        template_name="organisations/edit.html",
        context={
            "who": user,
            "org": page.organisation,
            "choices": page.choices,
            "errors": errors,
            "values": values,
            "checks": checks,
            "may_verify": False,
        },
        status_code=status,
    )


async def _checks_if_shown(conn: Conn, who: Identity | None, org_id: int) -> list[OrgCheckState] | None:
    """The capacity's and rating's states for funders, the admin and the organisation's own staff; None for others."""
    if who is None or not (org_checks.may_verify(who) or who.organisation_id == org_id):
        return None
    return await org_checks.states(conn, who, org_id)


async def _decide(
    conn: Conn, user: Identity, org_id: int, subject: str, data: FormData, action: Literal["verify", "revoke"]
) -> Response[Any]:
    """Verify (against what) or revoke (why) from the question page; its refusals beside the page's one field."""
    form = multi(data)
    field = "against" if action == "verify" else "reason"
    done = "verified" if action == "verify" else "revoked"
    parsed: tuple[Any, dict[str, str]] = parse_form(VerifyOrgValue if action == "verify" else RevokeOrgValue, form)
    save = org_checks.verify if action == "verify" else org_checks.revoke
    return await submit(
        parsed,
        lambda command: save(conn, user, org_id, subject, command),
        lambda _state: PageRedirect("organisation", org_id=org_id, query={"done": done}, fragment="checks"),
        lambda errors, status: _value_page(
            conn, user, org_id, subject, action, errors=errors, values={field: form.get(field, "")}, status=status
        ),
        refusal=field,
        refusal_statuses=(409, 422),
    )


async def _value_page(
    conn: Conn,
    user: Identity,
    org_id: int,
    subject: str,
    action: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    what = org_checks.parse_subject(subject)
    org = await orgs.get_org(conn, user, org_id)
    state = next(s for s in await org_checks.states(conn, user, org_id) if s.subject == what)
    page = confirm_page(
        f"org_value_{action}",
        user,
        action=f"org_value_{action}",
        back="org_value_back",
        params={"org_id": org_id, "subject": what},
        org=org,
        state=state,
        errors=errors or {},
        values=values or {},
    )
    page.status_code = status
    return page
