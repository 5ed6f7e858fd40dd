"""Households (服务对象家庭): the committee's register (list, create, change, archive) and one household's details
for its own committee or the volunteer confirmed to serve it (every view of the details is logged)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.routes.paging import Limit, Offset
from api.schemas.common import out, outs
from api.schemas.households import ConfirmedOut, OpeningOut, RegisterPageOut
from api.schemas.teams import HouseholdOut, household_out
from api.services import household_access, households
from api.services.household_access import ConfirmVolunteer
from api.services.households import HouseholdCommand, RegisterFilters


def _cap(state: State) -> int:
    return int(state.settings.household_daily_cap)


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
    async def create(self, state: State, conn: Conn, user: User, data: JSONBody[HouseholdCommand]) -> HouseholdOut:
        """The committee registers a household, with the written consent on file (`consent: true`)."""
        household_id = await households.create_household(conn, user, data)
        return household_out(await household_access.view_household(conn, user, household_id, daily_cap=_cap(state)))

    @get("/{household_id:int}", operation_id="getHousehold", guards=[roles("volunteer", "committee", "organisation")])
    async def household(self, state: State, conn: Conn, user: User, household_id: FromPath[int]) -> HouseholdOut:
        """Exact address and care notes: its own committee, a contract-holding organisation, or a confirmed volunteer
        around a shift or in a 311 team."""
        return household_out(await household_access.view_household(conn, user, household_id, daily_cap=_cap(state)))

    @put("/{household_id:int}", operation_id="updateHousehold", guards=[roles("committee")])
    async def update(
        self, state: State, conn: Conn, user: User, household_id: FromPath[int], data: JSONBody[HouseholdCommand]
    ) -> HouseholdOut:
        """The committee changes its own household (not once it has left the service)."""
        await households.update_household(conn, user, household_id, data)
        return household_out(await household_access.view_household(conn, user, household_id, daily_cap=_cap(state)))

    @post("/{household_id:int}/archive", operation_id="archiveHousehold", guards=[roles("committee")], status_code=200)
    async def archive(self, state: State, conn: Conn, user: User, household_id: FromPath[int]) -> HouseholdOut:
        """The household leaves the service: its details are erased and it is offered for no new work."""
        await households.archive_household(conn, user, household_id)
        return household_out(await household_access.view_household(conn, user, household_id, daily_cap=_cap(state)))

    @get("/{household_id:int}/openings", operation_id="listHouseholdOpenings", guards=[roles("committee")])
    async def openings(
        self, conn: Conn, user: User, household_id: FromPath[int], limit: Limit = 20, offset: Offset = 0
    ) -> list[OpeningOut]:
        """Who opened one of my committee's households' files and when, on what basis, the latest first."""
        rows = await household_access.openings(conn, user, household_id, limit=limit, offset=offset)
        return outs(rows, OpeningOut)

    @post(
        "/confirmations", operation_id="confirmHouseholdVolunteer", guards=[roles("committee", "organisation")],
        status_code=201,
    )  # fmt: skip
    async def confirm(self, conn: Conn, user: User, data: JSONBody[ConfirmVolunteer]) -> ConfirmedOut:
        """As a home-visit shift's publisher, confirm a volunteer holding a place on it before their first visit."""
        return ConfirmedOut(household_id=await household_access.confirm_volunteer(conn, user, data))
