"""Use cases for the district's areas and the service catalogue (public reference data)."""

from __future__ import annotations

import asyncpg
import msgspec

from api.services.errors import NotFound, found
from sql import areas as areas_sql


class AreaView(msgspec.Struct, frozen=True):
    """An area, the path down to it, and the areas directly under it."""

    area: areas_sql.AreaRow
    path: list[areas_sql.AreaRow]
    children: list[areas_sql.AreaRow]


async def top_areas(conn: asyncpg.Connection) -> list[areas_sql.AreaRow]:
    """The districts."""
    return await areas_sql.list_areas(conn, None)


async def children(conn: asyncpg.Connection, parent_id: int) -> list[areas_sql.AreaRow]:
    """The areas directly under one area."""
    if await areas_sql.get_area(conn, parent_id) is None:
        raise NotFound("No such area")
    return await areas_sql.list_areas(conn, parent_id)


async def view_area(conn: asyncpg.Connection, area_id: int) -> AreaView:
    """One area with its path and children."""
    area = found(await areas_sql.get_area(conn, area_id), "No such area")
    return AreaView(
        area=area,
        path=await areas_sql.area_path(conn, area_id),
        children=await areas_sql.list_areas(conn, area_id),
    )


async def catalogue(conn: asyncpg.Connection) -> list[areas_sql.CatalogueItemRow]:
    """The service catalogue."""
    return await areas_sql.list_catalogue(conn)


async def catalogue_item(conn: asyncpg.Connection, code: str) -> areas_sql.CatalogueItemRow:
    """One catalogue item."""
    item = found(await areas_sql.get_catalogue_item(conn, code), "No such catalogue item")
    return item
