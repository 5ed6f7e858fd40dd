"""Social organisation pages: the list, a profile, and the manager's edit form."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, roles
from api.services import areas, contracts, directory, orgs
from api.services.orgs import OrgProfileUpdate
from web.forms import parse_form, submit
from web.routes._common import PAGE_SIZE, SAVED, FormData, Pager, PageRedirect, multi, offset_of, redisplay

PROFILE_LISTS = ("category_codes", "area_ids")
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
    ) -> Template:
        """One organisation's public profile."""
        org = await orgs.get_org(conn, who, org_id)
        return Template(
            template_name="organisations/profile.html",
            context={
                "who": who,
                "org": org,
                "catalogue": await areas.catalogue(conn),
                "saved": bool(saved),
                "performance": await contracts.performance(conn, org.id),
            },
        )

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
        return _edit_page(user, page, {}, values, 200)

    @post("/organisations/{org_id:int}/edit", name="organisation_edit_submit", guards=[roles("organisation")])
    async def edit_submit(self, conn: Conn, user: User, org_id: FromPath[int], data: FormData) -> Response[Any]:
        """Save the profile and show it."""
        form = multi(data)

        async def again(errors: dict[str, str], status: int) -> Template:
            page = await directory.organisation_edit(conn, user, org_id)
            return _edit_page(user, page, errors, redisplay(form, PROFILE_LISTS), status)

        return await submit(
            parse_form(OrgProfileUpdate, form),
            lambda command: orgs.update_profile(conn, user, org_id, command),
            lambda _row: PageRedirect("organisation", org_id=org_id, query=SAVED),
            again,
        )


def _edit_page(user: User, page: Any, errors: dict[str, str], values: dict[str, Any], status: int) -> Template:
    return Template(
        template_name="organisations/edit.html",
        context={"who": user, "org": page.organisation, "choices": page.choices, "errors": errors, "values": values},
        status_code=status,
    )
