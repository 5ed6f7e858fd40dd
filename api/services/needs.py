"""Use cases for needs (需求): a committee posts and edits its own; everyone logged in browses them.

Households (data subjects) are named only on personal needs, only from the committee's own, and only the
committee that lists them ever sees them, masked to the lane ("控江路1018弄**号").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, horizon, places
from api.services.accounts import Identity, logged_in
from api.services.errors import Conflict, Invalid, NotFound, found
from api.services.exports import Column, Table, label
from api.services.types import Id, Name, Page, Text, today
from sql import areas as areas_sql
from sql import needs as needs_sql

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_COMMITTEES = "Only a residents' committee may post or change needs"

Urgency = Literal["low", "normal", "high", "urgent"]
NeedStatus = Literal["open", "in_tender", "funded", "closed"]
CatalogueCode = Annotated[str, Meta(pattern=r"^[a-z0-9_]{2,40}$")]
ShortText = Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")]
Beneficiaries = Annotated[int, Meta(ge=1, le=1_000_000)]
Lat = Annotated[float, Meta(ge=-90, le=90)]
Lon = Annotated[float, Meta(ge=-180, le=180)]
# A given point must lie within the district's areas, give or take this margin (the places' rule).
POINT_MARGIN_DEG = places.POINT_MARGIN_DEG
HOUSEHOLD_CHOICES = 500


class NeedCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a committee says about a need; the place defaults to the committee's own area."""

    catalogue_code: CatalogueCode
    title: Name
    beneficiaries: Beneficiaries
    starts_on: dt.date
    ends_on: dt.date
    description: Text = ""
    schedule: ShortText = ""
    urgency: Urgency = "normal"
    lat: Lat | None = None
    lon: Lon | None = None
    household_ids: list[Id] = []


class HouseholdChoice(msgspec.Struct, frozen=True):
    """One of the committee's households as its staff see it when choosing: masked address, size."""

    id: int
    masked_address: str
    members: int


class NeedView(msgspec.Struct, frozen=True):
    """A need, and for its own committee the (masked) households it names."""

    need: needs_sql.NeedRow
    own: bool
    households: list[HouseholdChoice]


class NeedFilters(msgspec.Struct, frozen=True):
    """How to narrow the needs: by sub-district, committee, catalogue code and status."""

    subdistrict_id: int | None = None
    committee_id: int | None = None
    category: str | None = None
    status: str | None = None


class MapData(msgspec.Struct, frozen=True):
    """What the district map plots: the extent, every committee, and the needs that match the filters."""

    bounds: needs_sql.BoundsRow | None
    committees: list[needs_sql.PointRow]
    needs: list[needs_sql.NeedRow]
    truncated: bool


# Masking: an address is cut to its road and lane (or, without a road, its estate), the part a neighbour may know.
# Full-width digits and brackets are folded to ASCII first (NFKC), so "７号楼" is a building like "7号楼".
_CJK = "\u3400-\u9fff"
_ROAD_END = "(?:公路|大道|路|街|道|巷)"
# A lane anywhere in the address, also inside a remark such as "（近开鲁路764弄）".
_ROAD_AND_LANE = re.compile(rf"([{_CJK}]+?{_ROAD_END})(\d+弄)")
# A road without a lane: it ends where a house number, a remark or the end of the address begins.
_ROAD = re.compile(rf"([{_CJK}]+?{_ROAD_END})(?=\d|[^{_CJK}]|$)")
# Words that name a building, unit, floor, room or house; whatever stands before them is no part of a road's name.
_HOUSE_WORDS = re.compile(r"号|室|栋|幢|座|层|单元")
# What may be left before a road's name: a remark's "近" (near) and the like, or the 楼 of a building before it.
_BEFORE_ROAD = re.compile(r"^(?:靠近|临近|邻近|近|临|邻|在|楼)+")
# A building, unit, floor, room or house number, also with Chinese numerals or a letter (十二号楼, A座, 东楼).
_BUILDING = re.compile(r"[0-9A-Za-z一二三四五六七八九十百零〇甲乙丙丁东西南北]+(?:号楼|号|栋|幢|座|单元|室|层|楼)")
_REMARK = re.compile(r"\(.*?(?:\)|$)")
_CJK_RUN = re.compile(rf"[{_CJK}]*")


def _road_name(text: str) -> str:
    return _BEFORE_ROAD.sub("", _HOUSE_WORDS.split(text)[-1])


def street_of(address: str) -> str:
    """The part of an address anyone may see: its road and lane ("开鲁路764弄"), its road ("控江路") or, without
    a road, its estate ("鞍山四村"); never a building, unit, floor, room or house number; "" when none is left."""
    text = "".join(unicodedata.normalize("NFKC", address).split())
    lane = _ROAD_AND_LANE.search(text)
    if lane:
        return _road_name(lane.group(1)) + lane.group(2)
    outside = _REMARK.sub("", text)
    road = _ROAD.search(outside)
    if road:
        return _road_name(road.group(1))
    building = _BUILDING.search(outside)
    estate = _CJK_RUN.match(outside[: building.start()] if building else outside)
    return _HOUSE_WORDS.split(estate.group(0) if estate else "")[0]


def mask_address(address: str) -> str:
    """An address cut to its road and lane so a household can be told apart but not found ("开鲁路764弄**号")."""
    street = street_of(address)
    return f"{street}**号" if street else "**"


async def list_needs(
    conn: asyncpg.Connection, who: Identity | None, filters: NeedFilters, *, limit: int, offset: int
) -> Page[needs_sql.NeedRow]:
    """Browse needs (no household data in them); any logged-in account."""
    logged_in(who)
    rows, total = await needs_sql.list_needs(
        conn,
        subdistrict_id=filters.subdistrict_id,
        committee_id=filters.committee_id,
        category=filters.category,
        status=filters.status,
        within_area_id=None,
        limit=limit,
        offset=offset,
    )
    return Page(items=rows, total=total, limit=limit, offset=offset)


async def map_data(conn: asyncpg.Connection, who: Identity | None, filters: NeedFilters, limit: int = 2000) -> MapData:
    """The points of the district map: committees, and the needs matching the filters (at most `limit`)."""
    page = await list_needs(conn, who, filters, limit=limit, offset=0)
    return MapData(
        bounds=await needs_sql.area_bounds(conn),
        committees=await needs_sql.committee_points(conn, filters.subdistrict_id),
        needs=page.items,
        truncated=page.total > len(page.items),
    )


async def get_need(conn: asyncpg.Connection, who: Identity | None, need_id: int) -> NeedView:
    """One need; its households (masked) only for the committee that lists it."""
    who = logged_in(who)
    need = found(await needs_sql.get_need(conn, need_id), "No such need")
    own = who.role == "committee" and who.committee_id == need.committee_id
    households: list[HouseholdChoice] = []
    if own and who.committee_id is not None:
        rows = await needs_sql.need_households(conn, need_id, who.committee_id)
        households = [HouseholdChoice(id=h.id, masked_address=mask_address(h.address), members=h.members) for h in rows]
    return NeedView(need=need, own=own, households=households)


async def household_choices(conn: asyncpg.Connection, who: Identity) -> list[HouseholdChoice]:
    """The committee's own households, masked, to choose from for a personal need."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    rows = await needs_sql.committee_households(conn, committee_id, HOUSEHOLD_CHOICES)
    return [HouseholdChoice(id=h.id, masked_address=mask_address(h.address), members=h.members) for h in rows]


async def own_household_ids(conn: asyncpg.Connection, who: Identity, need_id: int) -> list[int]:
    """The household ids of the committee's own need (to fill its edit form)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    return [h.id for h in await needs_sql.need_households(conn, need_id, committee_id)]


async def _checked(conn: asyncpg.Connection, committee_id: int, form: NeedCommand) -> needs_sql.NeedFields:
    """The need's stored fields (its catalogue item and place resolved), or Invalid naming every field that is wrong."""
    errors: dict[str, str] = {}
    item = await needs_sql.catalogue_item_by_code(conn, form.catalogue_code)
    if item is None:
        errors["catalogue_code"] = "No such catalogue item"
    if form.ends_on < form.starts_on:
        errors["ends_on"] = "The period must end on or after its first day"
    elif form.ends_on < today():
        errors["ends_on"] = "The period has already ended"
    horizon.check(errors, starts_on=form.starts_on, ends_on=form.ends_on)
    if item is not None and not item[1] and form.household_ids:
        errors["household_ids"] = "Households can be named only for personal services"
    if len(set(form.household_ids)) > form.beneficiaries:
        errors["beneficiaries"] = "There are more households named than beneficiaries"
    place = found(await needs_sql.committee_place(conn, committee_id), "No such committee")
    lat, lon = place.lat, place.lon
    if (form.lat is None) != (form.lon is None):
        errors["lat"] = "Give both the latitude and the longitude, or neither"
    elif form.lat is not None and form.lon is not None:
        lat, lon = form.lat, form.lon
        if await places.outside_district(conn, lat, lon):
            errors["lat"] = "The point lies outside the district"
    if errors or item is None:
        raise Invalid("The need is not valid", fields=errors)
    return needs_sql.NeedFields(
        catalogue_item_id=item[0],
        title=form.title.strip(),
        description=form.description,
        beneficiaries=form.beneficiaries,
        lat=lat,
        lon=lon,
        starts_on=form.starts_on,
        ends_on=form.ends_on,
        schedule=form.schedule.strip() or None,
        urgency=form.urgency,
    )


async def _attach_households(conn: asyncpg.Connection, need_id: int, committee_id: int, ids: list[int]) -> None:
    wanted = sorted(set(ids))
    if await needs_sql.replace_need_households(conn, need_id, committee_id, wanted) != len(wanted):
        raise Invalid("The need is not valid", fields={"household_ids": "Choose only households of your own committee"})


async def post_need(conn: asyncpg.Connection, who: Identity, form: NeedCommand) -> NeedView:
    """A committee posts a need for its residents."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        values = await _checked(conn, committee_id, form)
        need_id = await needs_sql.insert_need(conn, committee_id, values, who.account_id)
        await _attach_households(conn, need_id, committee_id, list(form.household_ids))
        # The audit entry names the need, never its households.
        await audit_log.record(conn, who, "need.post", "need", need_id)
    return await get_need(conn, who, need_id)


async def update_need(conn: asyncpg.Connection, who: Identity, need_id: int, form: NeedCommand) -> NeedView:
    """The committee changes its own need while it is open."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        status = await needs_sql.need_status_for_committee(conn, need_id, committee_id)
        if status is None:
            # Another committee's need answers as a missing one.
            raise NotFound("No such need")
        if status != "open":
            raise Conflict("Only an open need can be changed; this one is in a tender or closed")
        values = await _checked(conn, committee_id, form)
        if not await needs_sql.update_need(conn, need_id, committee_id, values):
            raise Conflict("Only an open need can be changed; this one is in a tender or closed")
        await _attach_households(conn, need_id, committee_id, list(form.household_ids))
        await audit_log.record(conn, who, "need.update", "need", need_id)
    return await get_need(conn, who, need_id)


async def close_need(conn: asyncpg.Connection, who: Identity, need_id: int) -> NeedView:
    """The committee withdraws its own open need."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        if not await needs_sql.close_need(conn, need_id, committee_id):
            if await needs_sql.need_status_for_committee(conn, need_id, committee_id) is None:
                raise NotFound("No such need")
            raise Conflict("Only an open need can be closed")
        await audit_log.record(conn, who, "need.close", "need", need_id)
    return await get_need(conn, who, need_id)


async def open_needs_for_funder(
    conn: asyncpg.Connection, who: Identity, catalogue_item_id: int | None = None
) -> list[needs_sql.NeedRow]:
    """Open needs in the funder's area (its sub-district, or the whole district), to bundle into lots."""
    funder_id = who.funder_id_or_refuse("Only a funder may open tenders")
    funder = found(await areas_sql.get_funder(conn, funder_id), "No such funder")
    return await needs_sql.open_needs_in_area(conn, funder.area_id, catalogue_item_id)


NEED_COLUMNS = [
    Column("Need", "需求编号", "int"),
    Column("Title", "标题"),
    Column("Catalogue code", "目录编码"),
    Column("Committee", "居委会"),
    Column("Sub-district", "街道"),
    Column("Beneficiaries", "受益人数", "int"),
    Column("First day", "开始日期", "date"),
    Column("Last day", "结束日期", "date"),
    Column("Schedule", "服务时间"),
    Column("Urgency", "紧急程度"),
    Column("Status", "状态"),
    Column("Latitude", "纬度"),
    Column("Longitude", "经度"),
]
NEED_STATUS_WORDS = {
    "open": ("待对接", "Awaiting a tender"), "in_tender": ("招标中", "In a tender"),
    "funded": ("已落实资金", "Funded"), "closed": ("已结束", "Closed"),
}  # fmt: skip
URGENCY_WORDS = {
    "low": ("低", "Low"), "normal": ("一般", "Normal"), "high": ("高", "High"), "urgent": ("紧急", "Urgent"),
}  # fmt: skip


async def needs_table(
    conn: asyncpg.Connection, who: Identity | None, filters: NeedFilters, locale: str, limit: int = 10_000
) -> Table:
    """The needs matching the filters, ready to export (no household data)."""
    page = await list_needs(conn, who, filters, limit=limit, offset=0)
    return Table(
        name="needs",
        columns=NEED_COLUMNS,
        rows=[
            (n.id, n.title, n.catalogue_code, n.committee_name, n.subdistrict_name, n.beneficiaries, n.starts_on,
             n.ends_on, n.schedule, label(n.urgency, URGENCY_WORDS, locale), label(n.status, NEED_STATUS_WORDS, locale),
             n.lat, n.lon)
            for n in page.items
        ],
    )  # fmt: skip
