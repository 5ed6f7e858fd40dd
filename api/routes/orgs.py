"""Social organisations: browse, register, edit the profile, verify."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, Who, roles
from api.routes.paging import Limit, Offset
from api.schemas.common import Created, OrgCheckOut, OrgOut, OrgPageOut, out, outs
from api.services import accounts, org_checks, orgs
from api.services.accounts import OrganisationRegistration
from api.services.org_checks import RevokeOrgValue, VerifyOrgValue


class OrganisationController(Controller):
    """Social organisations (社会组织)."""

    path = "/api/organisations"
    tags = ("organisations",)

    @get("/", operation_id="listOrganisations")
    async def list_orgs(
        self,
        conn: Conn,
        who: Who,
        status: Annotated[str | None, QueryParameter(pattern=r"^(pending|verified|suspended)$")] = None,
        category: Annotated[str | None, QueryParameter(pattern=r"^[a-z0-9_]{2,40}$")] = None,
        q: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00%_\\]*$")] = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> OrgPageOut:
        """Verified organisations (admins may filter by any status)."""
        page = await orgs.list_orgs(conn, who, status=status, category=category, q=q, limit=limit, offset=offset)
        return out(page, OrgPageOut)

    @get("/{org_id:int}", operation_id="getOrganisation")
    async def get_org(self, conn: Conn, who: Who, org_id: FromPath[int]) -> OrgOut:
        """One organisation's profile."""
        return out(await orgs.get_org(conn, who, org_id), OrgOut)

    @post("/", operation_id="registerOrganisation", status_code=201)
    async def register(self, conn: Conn, data: JSONBody[OrganisationRegistration]) -> Created:
        """Register an organisation and its manager's account; it stays pending until an admin verifies it."""
        return Created(id=await accounts.register_organisation(conn, data))

    @put("/{org_id:int}", operation_id="updateOrganisation", guards=[roles("organisation")])
    async def update(
        self, conn: Conn, user: User, org_id: FromPath[int], data: JSONBody[orgs.OrgProfileUpdate]
    ) -> OrgOut:
        """The organisation's manager edits its profile."""
        return out(await orgs.update_profile(conn, user, org_id, data), OrgOut)

    @post("/{org_id:int}/verify", operation_id="verifyOrganisation", guards=[roles("admin")], status_code=200)
    async def verify(self, conn: Conn, user: User, org_id: FromPath[int]) -> OrgOut:
        """An admin verifies a pending organisation."""
        return out(await orgs.decide(conn, user, org_id, "verify"), OrgOut)

    @post("/{org_id:int}/suspend", operation_id="suspendOrganisation", guards=[roles("admin")], status_code=200)
    async def suspend(self, conn: Conn, user: User, org_id: FromPath[int]) -> OrgOut:
        """An admin suspends an organisation."""
        return out(await orgs.decide(conn, user, org_id, "suspend"), OrgOut)

    @post("/{org_id:int}/reinstate", operation_id="reinstateOrganisation", guards=[roles("admin")], status_code=200)
    async def reinstate(self, conn: Conn, user: User, org_id: FromPath[int]) -> OrgOut:
        """An admin reinstates a suspended organisation."""
        return out(await orgs.decide(conn, user, org_id, "reinstate"), OrgOut)

    @get(
        "/{org_id:int}/checks", operation_id="listOrganisationChecks", guards=[roles("funder", "admin", "organisation")]
    )
    async def checks(self, conn: Conn, user: User, org_id: FromPath[int]) -> list[OrgCheckOut]:
        """The organisation's declared capacity and rating with their states (funders, the admin, its own staff)."""
        return outs(await org_checks.states(conn, user, org_id), OrgCheckOut)

    @post(
        "/{org_id:int}/checks/{subject:str}/verify",
        operation_id="verifyOrganisationValue",
        guards=[roles("funder", "admin")],
        status_code=200,
    )
    async def verify_value(
        self, conn: Conn, user: User, org_id: FromPath[int], subject: FromPath[str], data: JSONBody[VerifyOrgValue]
    ) -> OrgCheckOut:
        """A funder or the admin verifies the declared `capacity` or `rating` against a document (never the
        organisation itself)."""
        return out(await org_checks.verify(conn, user, org_id, subject, data), OrgCheckOut)

    @post(
        "/{org_id:int}/checks/{subject:str}/revoke",
        operation_id="revokeOrganisationValue",
        guards=[roles("funder", "admin")],
        status_code=200,
    )
    async def revoke_value(
        self, conn: Conn, user: User, org_id: FromPath[int], subject: FromPath[str], data: JSONBody[RevokeOrgValue]
    ) -> OrgCheckOut:
        """A funder or the admin revokes a verified `capacity` or `rating`, with the reason."""
        return out(await org_checks.revoke(conn, user, org_id, subject, data), OrgCheckOut)
