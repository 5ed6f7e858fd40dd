"""Areas of the district and the service catalogue (public reference data)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from api.auth import Conn
from api.schemas.common import AreaOut, CatalogueItemOut, out, outs
from api.services import areas


class ReferenceController(Controller):
    """Browse the district's areas and the catalogue of purchasable services."""

    path = "/api"
    tags = ("reference",)

    @get("/areas", operation_id="listDistricts")
    async def districts(self, conn: Conn) -> list[AreaOut]:
        """The districts (top-level areas)."""
        return outs(await areas.top_areas(conn), AreaOut)

    @get("/areas/{area_id:int}", operation_id="getArea")
    async def area(self, conn: Conn, area_id: FromPath[int]) -> AreaOut:
        """One area."""
        return out((await areas.view_area(conn, area_id)).area, AreaOut)

    @get("/areas/{area_id:int}/children", operation_id="listAreaChildren")
    async def children(self, conn: Conn, area_id: FromPath[int]) -> list[AreaOut]:
        """The areas directly under one area (sub-districts of a district, committees of a sub-district)."""
        return outs(await areas.children(conn, area_id), AreaOut)

    @get("/catalogue", operation_id="listCatalogue")
    async def catalogue(self, conn: Conn) -> list[CatalogueItemOut]:
        """The service catalogue."""
        return outs(await areas.catalogue(conn), CatalogueItemOut)

    @get("/catalogue/{code:str}", operation_id="getCatalogueItem")
    async def catalogue_item(self, conn: Conn, code: FromPath[str]) -> CatalogueItemOut:
        """One catalogue item by its code."""
        return out(await areas.catalogue_item(conn, code), CatalogueItemOut)
