"""Need pages (需求): the list with filters, the district map, one need, and the committee's forms."""

from __future__ import annotations

import math
from typing import Annotated, Any, NamedTuple

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import MultiDict, State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, login_required, roles
from api.services import directory, households, needs
from api.services.errors import NotFound
from api.services.maps import navigation_links
from api.services.maps import outlines as map_outlines
from api.services.needs import MapData, NeedCommand, NeedFilters
from web import maps
from web.forms import parse_form, submit
from web.routes._common import PAGE_SIZE, SAVED, FormData, Pager, PageRedirect, multi, offset_of, redisplay

NEED_LISTS = ("household_ids",)
# The household picker's search (a name or a street), as a link may carry it.
HouseholdQuery = Annotated[str | None, QueryParameter(max_length=100)]
MAP_WIDTH = 800
MAP_HEIGHT = 560
MAP_PAD = 24
Optional = Annotated[str | None, QueryParameter(max_length=20, pattern=r"^[0-9]*$")]
CategoryQuery = Annotated[str | None, QueryParameter(pattern=r"^([a-z0-9_]{2,40})?$")]
StatusQuery = Annotated[str | None, QueryParameter(pattern=r"^(open|in_tender|funded|closed)?$")]


def _id(value: str | None) -> int | None:
    """An optional id from a filter box (empty means no filter)."""
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**62 else None


class AskedFilters(NamedTuple):
    """The need filters as typed in the query string (kept for the page's links) and as read."""

    typed: dict[str, str | None]
    read: NeedFilters


def need_filters(
    subdistrict_id: Optional = None,
    committee_id: Optional = None,
    category: CategoryQuery = None,
    status: StatusQuery = None,
) -> AskedFilters:
    """The need filters from the query string, the same for the list and the map."""
    typed = {"subdistrict_id": subdistrict_id, "committee_id": committee_id, "category": category, "status": status}
    return AskedFilters(typed, NeedFilters(_id(subdistrict_id), _id(committee_id), category or None, status or None))


# The list and the map take the same filters.
_FILTERS = {"filters": Provide(need_filters, sync_to_thread=False)}


class MapPoint:
    """A point placed on the SVG map: a committee or a need, by its id (the page links it)."""

    def __init__(self, x: float, y: float, label: str, id: int, kind: str) -> None:
        self.x = round(x, 1)
        self.y = round(y, 1)
        self.label = label
        self.id = id
        self.kind = kind


def project(data: MapData) -> tuple[list[MapPoint], list[MapPoint]]:
    """Committees and needs placed on the map: longitude scaled by the cosine of the latitude, north up."""
    if data.bounds is None:
        return [], []
    b = data.bounds
    kx = math.cos(math.radians((b.min_lat + b.max_lat) / 2))
    span_x = max((b.max_lon - b.min_lon) * kx, 1e-3)
    span_y = max(b.max_lat - b.min_lat, 1e-3)
    scale = min((MAP_WIDTH - 2 * MAP_PAD) / span_x, (MAP_HEIGHT - 2 * MAP_PAD) / span_y)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        x = MAP_PAD + (lon - b.min_lon) * kx * scale
        y = MAP_HEIGHT - MAP_PAD - (lat - b.min_lat) * scale
        return min(max(x, 2.0), MAP_WIDTH - 2.0), min(max(y, 2.0), MAP_HEIGHT - 2.0)

    committees = [MapPoint(*xy(c.lat, c.lon), label=c.name, id=c.id, kind="committee") for c in data.committees]
    points = [
        MapPoint(*xy(n.lat, n.lon), label=f"{n.title} · {n.committee_name}", id=n.id, kind=n.urgency)
        for n in data.needs
    ]
    return committees, points


def _ids(values: list[Any]) -> list[int]:
    """The household ids ticked on the form (anything else is left out)."""
    return [int(v) for v in values if str(v).isdigit() and len(str(v)) < 19]


async def _form_context(
    conn: Conn, user: User, values: dict[str, Any], errors: dict[str, str], state: State
) -> dict[str, Any]:
    return {
        "place_picker": await maps.place_picker(conn, user, maps.tiles_of(state)),
        "who": user,
        "values": values,
        "errors": errors,
        "catalogue": (await directory.organisation_choices(conn)).categories,
        "households": await households.picker(
            conn, user, str(values.get("hq", "")), _ids(list(values.get("household_ids", [])))
        ),
    }


async def _form_again(
    conn: Conn,
    user: User,
    form: MultiDict[str],
    errors: dict[str, str],
    status: int,
    state: State,
    need_id: int | None = None,
) -> Template:
    """The need form again with what was typed and each field's error (for an edit, beside the need)."""
    context = await _form_context(conn, user, redisplay(form, NEED_LISTS), errors, state)
    if need_id is not None:
        context["need"] = (await needs.get_need(conn, user, need_id)).need
    return Template(template_name="needs/form.html", context=context, status_code=status)


class NeedPages(Controller):
    """需求: browse, map, post and edit."""

    include_in_schema = False

    @get("/needs", name="needs", guards=[login_required], dependencies=_FILTERS)
    async def list_needs(
        self,
        conn: Conn,
        who: Who,
        filters: NamedDependency[AskedFilters],
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """Needs by sub-district, committee, category and status."""
        result = await needs.list_needs(conn, who, filters.read, limit=PAGE_SIZE, offset=offset_of(page))
        choices = await directory.organisation_choices(conn)
        return Template(
            template_name="needs/list.html",
            context={
                "who": who,
                "page": result,
                "filters": filters.read,
                "subdistricts": choices.subdistricts,
                "catalogue": choices.categories,
                "pager": Pager("needs", filters.typed, page, result.total),
                "query": {k: v for k, v in filters.typed.items() if v},
            },
        )

    @get("/needs/map", name="needs_map", guards=[login_required], dependencies=_FILTERS)
    async def map(
        self,
        conn: Conn,
        who: Who,
        filters: NamedDependency[AskedFilters],
        state: State,
        request: Request[Any, Any, Any],
    ) -> Template:
        """The district map: areas' outlines, committees and the needs that match the filters, each a link."""
        data = await needs.map_data(conn, who, filters.read)
        committees, points = project(data)
        choices = await directory.organisation_choices(conn)
        outlines = await map_outlines(conn, filters.read.subdistrict_id)
        needs_url = request.app.route_reverse("needs")

        def need_url(need_id: int) -> str:
            return request.app.route_reverse("need", need_id=need_id)

        markers = [
            maps.marker(c.lat, c.lon, c.name, "committee", f"{needs_url}?committee_id={c.id}") for c in data.committees
        ] + [
            maps.marker(n.lat, n.lon, f"{n.title} · {n.committee_name}", n.urgency, need_url(n.id)) for n in data.needs
        ]
        return Template(
            template_name="needs/map.html",
            context={
                "who": who,
                "filters": filters.read,
                "subdistricts": choices.subdistricts,
                "catalogue": choices.categories,
                "committees": committees,
                "points": points,
                "truncated": data.truncated,
                "width": MAP_WIDTH,
                "height": MAP_HEIGHT,
                "outlines": outlines,
                "approximate": any(o.approximate for o in outlines),
                "map_json": maps.to_json(maps.map_document(maps.tiles_of(state), outlines, markers)),
                "tiles": maps.tiles_of(state),
            },
        )

    @get("/needs/new", name="need_new", guards=[roles("committee")])
    async def new_form(self, conn: Conn, user: User, state: State, hq: HouseholdQuery = None) -> Template:
        """The form for a committee's new need (its household picker narrowed by `hq`); its place starts, visibly,
        at the committee's own point."""
        values: dict[str, Any] = {"urgency": "normal", "household_ids": [], "hq": hq or ""}
        context = await _form_context(conn, user, values, {}, state)
        maps.start_at_centre(values, context["place_picker"])
        return Template(template_name="needs/form.html", context=context)

    @post("/needs/new", name="need_new_submit", guards=[roles("committee")])
    async def new_submit(self, conn: Conn, user: User, data: FormData, state: State) -> Response[Any]:
        """Post the need and show it; the picker's search button shows the form again, narrowed, saving nothing."""
        form = multi(data)
        if form.get("find"):
            return await _form_again(conn, user, form, {}, 200, state)
        return await submit(
            parse_form(NeedCommand, form),
            lambda command: needs.post_need(conn, user, command),
            lambda view: PageRedirect("need", need_id=view.need.id, query=SAVED),
            lambda errors, status: _form_again(conn, user, form, errors, status, state),
        )

    @get("/needs/{need_id:int}", name="need", guards=[login_required])
    async def detail(
        self,
        conn: Conn,
        who: Who,
        need_id: FromPath[int],
        saved: Annotated[str | None, QueryParameter(pattern=r"^1$")] = None,
    ) -> Template:
        """One need; its households (masked) for its own committee only."""
        view = await needs.get_need(conn, who, need_id)
        n = view.need
        navigation = navigation_links(n.lat, n.lon, n.title)
        context = {"who": who, "view": view, "saved": bool(saved), "navigation": navigation}
        return Template(template_name="needs/detail.html", context=context)

    @get("/needs/{need_id:int}/edit", name="need_edit", guards=[roles("committee")])
    async def edit_form(self, conn: Conn, user: User, need_id: FromPath[int], state: State) -> Template:
        """The committee's form for its own open need."""
        view = await needs.get_need(conn, user, need_id)
        if not view.own:
            # Another committee's need answers as a missing one, as in needs.update_need.
            raise NotFound("No such need")
        n = view.need
        values: dict[str, Any] = {
            "catalogue_code": n.catalogue_code,
            "title": n.title,
            "description": n.description,
            "beneficiaries": n.beneficiaries,
            "starts_on": n.starts_on.isoformat(),
            "ends_on": n.ends_on.isoformat(),
            "schedule": n.schedule or "",
            "urgency": n.urgency,
            "lat": n.lat,
            "lon": n.lon,
            "household_ids": await needs.own_household_ids(conn, user, need_id),
        }
        context = await _form_context(conn, user, values, {}, state)
        return Template(template_name="needs/form.html", context={**context, "need": n})

    @post("/needs/{need_id:int}/edit", name="need_edit_submit", guards=[roles("committee")])
    async def edit_submit(
        self, conn: Conn, user: User, need_id: FromPath[int], data: FormData, state: State
    ) -> Response[Any]:
        """Save the committee's changes to its own need (or, for the picker's search, show the form narrowed)."""
        form = multi(data)
        if form.get("find"):
            return await _form_again(conn, user, form, {}, 200, state, need_id)
        return await submit(
            parse_form(NeedCommand, form),
            lambda command: needs.update_need(conn, user, need_id, command),
            lambda _row: PageRedirect("need", need_id=need_id, query=SAVED),
            lambda errors, status: _form_again(conn, user, form, errors, status, state, need_id),
        )

    @post("/needs/{need_id:int}/close", name="need_close", guards=[roles("committee")])
    async def close(self, conn: Conn, user: User, need_id: FromPath[int]) -> PageRedirect:
        """Close the committee's own open need."""
        await needs.close_need(conn, user, need_id)
        return PageRedirect("need", need_id=need_id, query=SAVED)
