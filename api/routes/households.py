"""Households (服务对象家庭): the committee's register (list, create, change, archive) and one household's details
for its own committee or the volunteer confirmed to serve it (every view of the details is logged)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.routes.paging import Limit, Offset
from api.schemas.common import out
from api.schemas.households import RegisterPageOut
from api.schemas.teams import HouseholdOut, household_out
from api.services import household_access, households
from api.services.households import HouseholdCommand, RegisterFilters


class HouseholdController(Controller):
    """The committee's household register, and a household's details for those entitled to them."""

    path = "/api/households"
    tags = ("households",)

    @get("/", operation_id="listHouseholds", guards=[roles("committee")])
    async def list_households(
        self,
        conn: Conn,
        user: User,
        q: Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")] = None,
        care_level: Annotated[int | None, QueryParameter(ge=1, le=6)] = None,
        empty_nest: Annotated[bool | None, QueryParameter()] = None,
        archived: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> RegisterPageOut:
        """The committee's own households (names, masked addresses), by name or address fragment, care level, 311."""
        filters = RegisterFilters(q=q, care_level=care_level, empty_nest=empty_nest, archived=archived)
        page = await households.list_register(conn, user, filters, limit=limit, offset=offset)
        return out(page, RegisterPageOut)

    @post("/", operation_id="createHousehold", guards=[roles("committee")], status_code=201)
    async def create(self, conn: Conn, user: User, data: JSONBody[HouseholdCommand]) -> HouseholdOut:
        """The committee registers a household, with the written consent on file (`consent: true`)."""
        household_id = await households.create_household(conn, user, data)
        return household_out(await household_access.view_household(conn, user, household_id))

    @get("/{household_id:int}", operation_id="getHousehold", guards=[roles("volunteer", "committee")])
    async def household(self, conn: Conn, user: User, household_id: FromPath[int]) -> HouseholdOut:
        """Exact address and care notes: for its own committee, or around a confirmed shift or in a 311 team."""
        return household_out(await household_access.view_household(conn, user, household_id))

    @put("/{household_id:int}", operation_id="updateHousehold", guards=[roles("committee")])
    async def update(
        self, conn: Conn, user: User, household_id: FromPath[int], data: JSONBody[HouseholdCommand]
    ) -> HouseholdOut:
        """The committee changes its own household (not once it has left the service)."""
        await households.update_household(conn, user, household_id, data)
        return household_out(await household_access.view_household(conn, user, household_id))

    @post("/{household_id:int}/archive", operation_id="archiveHousehold", guards=[roles("committee")], status_code=200)
    async def archive(self, conn: Conn, user: User, household_id: FromPath[int]) -> HouseholdOut:
        """The household leaves the service: its details are erased and it is offered for no new work."""
        await households.archive_household(conn, user, household_id)
        return household_out(await household_access.view_household(conn, user, household_id))
