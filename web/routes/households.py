"""Household register pages (服务对象家庭) for a residents' committee: the register with search, filters and pages,
the form to register or change a household (14 weekly visit slots, consent), and archiving with a confirmation.
One household's details page is web/routes/teams.py's /households/{id} (shared with the volunteers serving it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import MultiDict
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import household_access, households
from api.services.accounts import Identity
from api.services.households import CONSENT_REQUIRED, VISIT_SLOTS, HouseholdCommand, RegisterFilters
from web.forms import parse_form, submit
from web.routes._common import (
    PAGE_SIZE,
    SAVED,
    FormData,
    Pager,
    PageRedirect,
    multi,
    offset_of,
    redisplay,
    split_list,
)

FORM_LISTS = ("visit_slots",)
SearchQuery = Annotated[str | None, QueryParameter(max_length=100, pattern=r"^[^\x00]*$")]
LevelQuery = Annotated[str | None, QueryParameter(pattern=r"^[1-6]?$")]
FlagQuery = Annotated[str | None, QueryParameter(pattern=r"^[01]?$")]


def _command(form: MultiDict[str]) -> tuple[HouseholdCommand | None, dict[str, str]]:
    """The command from the form: dialects typed in one box, the visit slots as checkboxes."""
    command, errors = parse_form(HouseholdCommand, form, {"dialects": split_list(form.get("dialects", ""))})
    if command is None and not form.get("consent"):
        # The use case would say so too; say it now, beside the other fields' errors.
        errors["consent"] = CONSENT_REQUIRED
    return command, errors


def _form(user: Identity, values: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"who": user, "values": values, "errors": errors, "slots": VISIT_SLOTS, **extra}


def _values(h: Any) -> dict[str, Any]:
    """The stored household as the form shows it (the consent on file stays ticked)."""
    return {
        "head_name": h.head_name,
        "address": h.address,
        "phone": h.phone or "",
        "lat": h.lat,
        "lon": h.lon,
        "members": h.members,
        "empty_nest": "on" if h.empty_nest else "",
        "care_level": h.care_level or "",
        "dialects": "、".join(h.dialects),
        "care_notes": h.care_notes,
        "visit_slots": list(h.visit_slots),
        "consent": "on",
    }


async def _submit(
    conn: Conn,
    user: Identity,
    data: dict[str, Any],
    save: Callable[[HouseholdCommand], Awaitable[int]],
    household_id: int | None = None,
) -> Response[Any]:
    """Save the form and show the household, or show the form again with each field's error."""
    form = multi(data)

    async def again(errors: dict[str, str], status: int) -> Template:
        extra: dict[str, Any] = {}
        if household_id is not None:
            extra["household"] = (
                await household_access.view_household(conn, user, household_id, daily_cap=COMMITTEE_PAGE)
            ).household
        context = _form(user, redisplay(form, FORM_LISTS), errors, **extra)
        return Template(template_name="households/form.html", context=context, status_code=status)

    return await submit(
        _command(form), save, lambda saved: PageRedirect("household", household_id=saved, query=SAVED), again
    )


# These pages are the committee's own (guarded to its role): the volunteers' daily cap does not apply to them.
COMMITTEE_PAGE = 0


class HouseholdPages(Controller):
    """服务对象家庭: the committee's register, its forms and archiving."""

    include_in_schema = False

    @get("/households", name="households", guards=[roles("committee")])
    async def register(
        self,
        conn: Conn,
        user: User,
        q: SearchQuery = None,
        care_level: LevelQuery = None,
        empty_nest: FlagQuery = None,
        archived: FlagQuery = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        saved: Annotated[str | None, QueryParameter(pattern=r"^(archived)$")] = None,
    ) -> Template:
        """The committee's households: name and masked address, by name or address fragment, care level, 311."""
        filters = RegisterFilters(
            q=(q or "").strip() or None,
            care_level=int(care_level) if care_level else None,
            empty_nest=None if not empty_nest else empty_nest == "1",
            archived=archived == "1",
        )
        result = await households.list_register(conn, user, filters, limit=PAGE_SIZE, offset=offset_of(page))
        query = {"q": q, "care_level": care_level, "empty_nest": empty_nest, "archived": archived}
        return Template(
            template_name="households/list.html",
            context={
                "who": user,
                "page": result,
                "filters": filters,
                "query": {k: v for k, v in query.items() if v},
                "pager": Pager("households", query, page, result.total),
                "saved": saved,
            },
        )

    @get("/households/new", name="household_new", guards=[roles("committee")])
    async def new_form(self, user: User) -> Template:
        """The form to register a household."""
        values: dict[str, Any] = {"members": 1, "empty_nest": "on", "visit_slots": []}
        return Template(template_name="households/form.html", context=_form(user, values, {}))

    @post("/households/new", name="household_new_submit", guards=[roles("committee")])
    async def new_submit(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Register the household and show its details; the form comes back with each field's error."""
        return await _submit(conn, user, data, lambda command: households.create_household(conn, user, command))

    @get("/households/{household_id:int}/edit", name="household_edit", guards=[roles("committee")])
    async def edit_form(self, conn: Conn, user: User, household_id: FromPath[int]) -> Template:
        """The form for one of the committee's own households (opening it is a logged view of its details)."""
        view = await household_access.view_household(conn, user, household_id, daily_cap=COMMITTEE_PAGE)
        h = view.household
        return Template(template_name="households/form.html", context=_form(user, _values(h), {}, household=h))

    @post("/households/{household_id:int}/edit", name="household_edit_submit", guards=[roles("committee")])
    async def edit_submit(self, conn: Conn, user: User, household_id: FromPath[int], data: FormData) -> Response[Any]:
        """Save the changes and show the household; the form comes back with each field's error."""

        async def save(command: HouseholdCommand) -> int:
            return await households.update_household(conn, user, household_id, command)

        return await _submit(conn, user, data, save, household_id)

    @get("/households/{household_id:int}/archive", name="household_archive", guards=[roles("committee")])
    async def archive_form(self, conn: Conn, user: User, household_id: FromPath[int]) -> Template:
        """Ask before the household leaves the service (its details are erased for good)."""
        h = (await household_access.view_household(conn, user, household_id, daily_cap=COMMITTEE_PAGE)).household
        return Template(template_name="households/archive.html", context={"who": user, "household": h})

    @post("/households/{household_id:int}/archive", name="household_archive_submit", guards=[roles("committee")])
    async def archive(self, conn: Conn, user: User, household_id: FromPath[int]) -> PageRedirect:
        """The household leaves the service; back to the register."""
        await households.archive_household(conn, user, household_id)
        return PageRedirect("households", query={"saved": "archived"})
