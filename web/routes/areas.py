"""Browsing the district's areas and the service catalogue (public reference data, no personal data)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Template

from api.auth import Conn, Who
from api.services import areas, directory


class AreaPages(Controller):
    """区 › 街道 › 居委会, and the 政府购买服务目录."""

    include_in_schema = False

    @get("/areas", name="areas")
    async def districts(self, conn: Conn, who: Who) -> Template:
        """The districts."""
        return Template(template_name="areas/index.html", context={"who": who, "areas": await areas.top_areas(conn)})

    @get("/areas/{area_id:int}", name="area")
    async def area(self, conn: Conn, who: Who, area_id: FromPath[int]) -> Template:
        """One area: where it lies, what lies under it, and for a sub-district its committees."""
        page = await directory.area_page(conn, area_id)
        return Template(
            template_name="areas/area.html",
            context={
                "who": who,
                "area": page.view.area,
                "path": page.view.path,
                "children": page.view.children,
                "committees": page.committees,
            },
        )

    @get("/catalogue", name="catalogue")
    async def catalogue(self, conn: Conn, who: Who) -> Template:
        """Every purchasable service in the catalogue."""
        return Template(
            template_name="areas/catalogue.html", context={"who": who, "items": await areas.catalogue(conn)}
        )
