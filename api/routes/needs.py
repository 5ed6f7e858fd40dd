"""Needs (需求): committees post and edit their own; everyone logged in browses, filters and exports them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from api.auth import READS, Conn, User, Who, login_required, roles
from api.routes.downloads import file_response, locale_of
from api.routes.paging import Limit, Offset
from api.schemas.common import out, outs
from api.schemas.tendering import HouseholdOut, NeedDetailOut, NeedPageOut
from api.services import needs
from api.services.needs import NeedCommand, NeedFilters

StatusQuery = Annotated[str | None, QueryParameter(pattern=r"^(open|in_tender|funded|closed)$")]
CategoryQuery = Annotated[str | None, QueryParameter(pattern=r"^[a-z0-9_]{2,40}$")]
AreaQuery = Annotated[int | None, QueryParameter(ge=1, le=2**62)]


def need_filters(
    subdistrict_id: AreaQuery = None,
    committee_id: AreaQuery = None,
    category: CategoryQuery = None,
    status: StatusQuery = None,
) -> NeedFilters:
    """The needs' filters from the query string, the same for the list and its export."""
    return NeedFilters(subdistrict_id, committee_id, category, status)


# The list and its export take the same filters.
# The lists and their exports only read: a replica may answer them (api.auth.READS).
_FILTERS = {"filters": Provide(need_filters, sync_to_thread=False), **READS}


class NeedController(Controller):
    """Needs posted by residents' committees."""

    path = "/api/needs"
    tags = ("needs",)

    @get("/", operation_id="listNeeds", guards=[login_required], dependencies=_FILTERS)
    async def list_needs(
        self,
        conn: Conn,
        who: Who,
        filters: NamedDependency[NeedFilters],
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> NeedPageOut:
        """Needs, filtered by sub-district, committee, catalogue code and status."""
        page = await needs.list_needs(conn, who, filters, limit=limit, offset=offset)
        return out(page, NeedPageOut)

    @get(
        "/export.csv",
        operation_id="exportNeeds",
        guards=[login_required],
        dependencies=_FILTERS,
        media_type="text/csv",
    )
    async def export(
        self, conn: Conn, who: Who, request: Request[Any, Any, Any], filters: NamedDependency[NeedFilters]
    ) -> Stream:
        """The filtered needs as CSV (Chinese headers unless English was chosen; formulas disarmed)."""
        locale = locale_of(request)
        return file_response(await needs.needs_table(conn, who, filters, locale), "csv", locale)

    @get("/households", operation_id="listNeedHouseholdChoices", guards=[roles("committee")])
    async def households(self, conn: Conn, user: User) -> list[HouseholdOut]:
        """The committee's own households, addresses masked, to name on a personal need."""
        return outs(await needs.household_choices(conn, user), HouseholdOut)

    @get("/{need_id:int}", operation_id="getNeed", guards=[login_required])
    async def get_need(self, conn: Conn, who: Who, need_id: FromPath[int]) -> NeedDetailOut:
        """One need; its households (masked) only for the committee that lists it."""
        return out(await needs.get_need(conn, who, need_id), NeedDetailOut)

    @post("/", operation_id="postNeed", guards=[roles("committee")], status_code=201)
    async def post_need(self, conn: Conn, user: User, data: JSONBody[NeedCommand]) -> NeedDetailOut:
        """A committee posts a need."""
        return out(await needs.post_need(conn, user, data), NeedDetailOut)

    @put("/{need_id:int}", operation_id="updateNeed", guards=[roles("committee")])
    async def update_need(
        self, conn: Conn, user: User, need_id: FromPath[int], data: JSONBody[NeedCommand]
    ) -> NeedDetailOut:
        """The committee changes its own open need."""
        return out(await needs.update_need(conn, user, need_id, data), NeedDetailOut)

    @post("/{need_id:int}/close", operation_id="closeNeed", guards=[roles("committee")], status_code=200)
    async def close_need(self, conn: Conn, user: User, need_id: FromPath[int]) -> NeedDetailOut:
        """The committee closes its own open need."""
        return out(await needs.close_need(conn, user, need_id), NeedDetailOut)
