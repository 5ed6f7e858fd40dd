"""What the pages' maps are drawn from: one JSON document per map, in WGS-84, with the tile source the settings name
(read by web/static/js/maps.js)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar.datastructures import State

from api.i18n import gettext as _
from api.services import maps, places
from api.services.accounts import Identity
from api.services.errors import DomainError

# Marker sizes by urgency: the urgent stand out, committees stay small beside the needs.
RADIUS = {"urgent": 9, "high": 8, "normal": 7, "low": 6, "committee": 4}


def tiles_of(state: State) -> maps.TileSource:
    """The tile source the app was started with."""
    tiles: maps.TileSource = state.tiles
    return tiles


def to_json(document: dict[str, Any]) -> str:
    """A map's document as JSON for a `<script type="application/json">` (Jinja's tojson would escape it again)."""
    return msgspec.json.encode(document).decode()


def marker(lat: float, lon: float, label: str, kind: str, href: str | None) -> dict[str, Any]:
    """One marker: a need (kind = its urgency) or a committee."""
    return {"lat": lat, "lon": lon, "label": label, "kind": kind, "href": href, "radius": RADIUS.get(kind, 7)}


def _controls() -> dict[str, str]:
    """The words on the map's own buttons, in the page's language."""
    return {"zoom_in": _("Zoom in"), "zoom_out": _("Zoom out")}


def map_document(tiles: maps.TileSource, outlines: list[maps.Outline], markers: list[dict[str, Any]]) -> dict[str, Any]:
    """The needs map's document: tiles, areas' outlines, markers and the words on its buttons."""
    return {
        "tiles": msgspec.to_builtins(tiles),
        "outlines": msgspec.to_builtins(outlines),
        "markers": markers,
        "words": _controls(),
    }


async def place_picker(conn: asyncpg.Connection, who: Identity, tiles: maps.TileSource) -> dict[str, Any] | None:
    """The place picker of the caller: its document as JSON, its places and its centre (None when it has nowhere to
    start, e.g. an organisation that names no area yet: the form keeps its lat/lon boxes)."""
    try:
        picker = await places.picker(conn, who)
    except DomainError:
        return None
    document = {
        "tiles": msgspec.to_builtins(tiles),
        "centre": msgspec.to_builtins(picker.centre),
        "places": msgspec.to_builtins(picker.places),
        "outlines": msgspec.to_builtins(await maps.outlines(conn, picker.centre.area_id)),
        "words": {
            **_controls(),
            "clicked": _("The point you clicked on the map is chosen."),
            "chosen": _("Chosen: %(name)s"),
            "typed": _("The point in the latitude and longitude boxes is shown."),
            "centre": _("Starting at %(name)s; click the map or choose a saved place."),
        },
    }
    # The template lists the places in a select (its options work before the script runs) and hands the script
    # the document; an organisation's list spans several committees, so each place says whose it is.
    several = len({p.committee_id for p in picker.places}) > 1
    return {"json": to_json(document), "places": picker.places, "several": several, "centre": picker.centre}


def start_at_centre(values: dict[str, Any], picker: dict[str, Any] | None) -> dict[str, Any]:
    """A new form's values with its place starting, visibly, at the picker's centre (the committee's own point), when
    the caller has one."""
    if picker is not None:
        values.update(lat=picker["centre"].lat, lon=picker["centre"].lon)
    return values
