"""Maps: the tile source the settings name, the areas' outlines, and navigation links to 高德 and 百度.

Coordinates are WGS-84 everywhere they are stored and sent to pages; a page converts them for a GCJ-02 tile source
(web/static/js/datum.js) and the links here convert them for the apps that read GCJ-02 or BD-09.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

import asyncpg
import msgspec

from api.services import datum
from sql import areas as areas_sql

Datum = Literal["wgs84", "gcj02"]
TILE_SOURCES = ("amap", "tianditu", "osm", "none")


class TileLayer(msgspec.Struct, frozen=True):
    """One layer of tiles, as Leaflet's L.tileLayer takes it."""

    url: str
    subdomains: str
    attribution: str
    max_zoom: int = 18


class TileSource(msgspec.Struct, frozen=True):
    """The street tiles under every map: their layers (none: a plain background), datum and hosts (for the CSP)."""

    name: str
    datum: Datum
    layers: list[TileLayer]
    hosts: list[str]


def tile_source(kind: str, tianditu_key: str | None = None) -> TileSource:
    """The tile source `LINLI_MAP_TILES` names; ValueError for an unknown one or 天地图 without its key."""
    if kind == "none":
        return TileSource(name="none", datum="wgs84", layers=[], hosts=[])
    if kind == "amap":
        layer = TileLayer(
            url="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            subdomains="1234",
            attribution="© 高德地图 AutoNavi",
        )
        return TileSource(name="amap", datum="gcj02", layers=[layer], hosts=["https://*.is.autonavi.com"])
    if kind == "tianditu":
        if not tianditu_key:
            raise ValueError("LINLI_MAP_TILES=tianditu needs LINLI_MAP_TIANDITU_KEY")
        # CGCS2000, which 天地图 uses, is within a metre of WGS-84: no conversion. Streets, then their names.
        layers = [
            TileLayer(
                url=f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                f"&TILECOL={{x}}&tk={tianditu_key}",
                subdomains="01234567",
                attribution="© 天地图 国家地理信息公共服务平台",
            )
            for layer in ("vec", "cva")
        ]
        return TileSource(name="tianditu", datum="wgs84", layers=layers, hosts=["https://*.tianditu.gov.cn"])
    if kind == "osm":
        layer = TileLayer(
            url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            subdomains="",
            attribution="© OpenStreetMap contributors",
            max_zoom=19,
        )
        return TileSource(name="osm", datum="wgs84", layers=[layer], hosts=["https://tile.openstreetmap.org"])
    raise ValueError(f"LINLI_MAP_TILES must be one of {', '.join(TILE_SOURCES)}, not {kind!r}")


class Outline(msgspec.Struct, frozen=True):
    """An area drawn on a map: its name, level and GeoJSON outline (WGS-84), and whether the outline is approximate."""

    id: int
    name: str
    level: str
    outline: dict[str, Any]
    approximate: bool


async def outlines(conn: asyncpg.Connection, area_id: int | None = None) -> list[Outline]:
    """The sub-districts' and committees' outlines that are stored (of one area and the areas under it, if given)."""
    rows = await areas_sql.area_outlines(conn, area_id)
    return [
        Outline(id=r.id, name=r.name, level=r.level, outline=msgspec.json.decode(r.outline), approximate=r.approximate)
        for r in rows
    ]


class NavigationLinks(msgspec.Struct, frozen=True):
    """Links that open a place in the map apps people navigate with, each in the datum the app reads."""

    amap: str
    baidu: str


def navigation_links(lat: float, lon: float, name: str) -> NavigationLinks:
    """高德 (GCJ-02) and 百度 (BD-09) links to a WGS-84 point, labelled with the place's name."""
    g_lat, g_lon = datum.wgs84_to_gcj02(lat, lon)
    b_lat, b_lon = datum.wgs84_to_bd09(lat, lon)
    amap = "https://uri.amap.com/marker?" + urlencode(
        {"position": f"{g_lon:.6f},{g_lat:.6f}", "name": name, "coordinate": "gaode", "callnative": "1"}
    )
    baidu = "https://api.map.baidu.com/marker?" + urlencode(
        {
            "location": f"{b_lat:.6f},{b_lon:.6f}",
            "title": name,
            "content": name,
            "coord_type": "bd09ll",
            "output": "html",
            "src": "webapp.linli",
        }
    )
    return NavigationLinks(amap=amap, baidu=baidu)
