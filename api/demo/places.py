"""The demo district's map: approximate outlines around its committees and sub-districts, and each committee's
saved places (活动室, 睦邻点). The outlines are drawn from the committees' points, not surveyed; the map says so."""

from __future__ import annotations

import math

import asyncpg
import msgspec

from api.demo import streams
from sql import areas as areas_sql
from sql import demo as demo_sql

# Degrees of longitude shrink with the cosine of the latitude (Shanghai is at about 31° N): cells are cut in a plane
# where one unit is the same distance both ways.
_LON_SCALE = math.cos(math.radians(31.3))
# The district's outline lies this far (degrees of latitude, ~1.5 km) beyond its outermost points.
_DISTRICT_PAD = 0.014
# A committee's cell is cut down to at most this far (~700 m) from its point, so a committee alone in a large
# sub-district does not cover all of it.
_MAX_REACH = 0.0065

Point = tuple[float, float]


def _clip(polygon: list[Point], a: Point, b: Point) -> list[Point]:
    """The part of a convex polygon nearer to `a` than to `b` (one step of Sutherland–Hodgman)."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    nx, ny = b[0] - a[0], b[1] - a[1]

    def inside(p: Point) -> bool:
        return (p[0] - mx) * nx + (p[1] - my) * ny <= 0

    out: list[Point] = []
    for i, current in enumerate(polygon):
        previous = polygon[i - 1]
        if inside(current):
            if not inside(previous):
                out.append(_cross(previous, current, mx, my, nx, ny))
            out.append(current)
        elif inside(previous):
            out.append(_cross(previous, current, mx, my, nx, ny))
    return out


def _cross(p: Point, q: Point, mx: float, my: float, nx: float, ny: float) -> Point:
    dp = (p[0] - mx) * nx + (p[1] - my) * ny
    dq = (q[0] - mx) * nx + (q[1] - my) * ny
    t = dp / (dp - dq)
    return p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])


def _cell(centre: Point, others: list[Point], within: list[Point]) -> list[Point]:
    """The Voronoi cell of `centre` among `others`, inside the convex polygon `within`."""
    cell = within
    for other in others:
        if other != centre and cell:
            cell = _clip(cell, centre, other)
    return cell


def _reach(centre: Point, radius: float) -> list[Point]:
    """A twelve-sided polygon around a point, to cap a lone committee's cell."""
    return [
        (centre[0] + radius * math.cos(k * math.pi / 6), centre[1] + radius * math.sin(k * math.pi / 6))
        for k in range(12)
    ]


def _intersect(polygon: list[Point], convex: list[Point]) -> list[Point]:
    """A convex polygon cut down to another convex polygon (counter-clockwise)."""
    out = polygon
    for i, b in enumerate(convex):
        a = convex[i - 1]
        if not out:
            break
        # Keep what lies left of the edge a→b: reflect the edge's left side as "nearer to a point left of it".
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        left = (mid[0] - (b[1] - a[1]), mid[1] + (b[0] - a[0]))
        right = (mid[0] + (b[1] - a[1]), mid[1] - (b[0] - a[0]))
        out = _clip(out, left, right)
    return out


def _polygon(ring: list[Point]) -> str:
    """A GeoJSON Polygon of one closed ring (plane units back to degrees), as text."""
    coordinates = [[round(x / _LON_SCALE, 6), round(y, 6)] for x, y in ring]
    return msgspec.json.encode({"type": "Polygon", "coordinates": [[*coordinates, coordinates[0]]]}).decode()


def outlines(areas: list[tuple[object, ...]]) -> list[tuple[int, str, bool]]:
    """(area id, GeoJSON, approximate) for every sub-district and committee of the plan's area rows (id, parent,
    level, code, name, lat, lon): sub-districts are the Voronoi cells of their points within the district's box,
    committees the cells of theirs within their sub-district's (at most ~700 m from their point)."""
    plane = {int(str(a[0])): (float(str(a[6])) * _LON_SCALE, float(str(a[5]))) for a in areas}
    level = {int(str(a[0])): str(a[2]) for a in areas}
    parent = {int(str(a[0])): int(str(a[1])) for a in areas if a[1] is not None}
    points = [p for i, p in plane.items() if level[i] != "district"]
    if not points:
        return []
    x0, x1 = min(x for x, _ in points) - _DISTRICT_PAD, max(x for x, _ in points) + _DISTRICT_PAD
    y0, y1 = min(y for _, y in points) - _DISTRICT_PAD, max(y for _, y in points) + _DISTRICT_PAD
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    subs = [i for i in plane if level[i] == "subdistrict"]
    rows: list[tuple[int, str, bool]] = []
    cells: dict[int, list[Point]] = {}
    for sub in subs:
        cells[sub] = _cell(plane[sub], [plane[o] for o in subs], box)
        rows.append((sub, _polygon(cells[sub]), True))
    committees = [i for i in plane if level[i] == "committee"]
    for committee in committees:
        siblings = [plane[o] for o in committees if parent[o] == parent[committee]]
        cell = _cell(plane[committee], siblings, cells.get(parent[committee], box))
        cell = _intersect(cell, _reach(plane[committee], _MAX_REACH))
        if len(cell) >= 3:
            rows.append((committee, _polygon(cell), True))
    return rows


def saved_places(
    areas: list[tuple[object, ...]], committees: list[tuple[object, ...]], seed: int
) -> list[tuple[object, ...]]:
    """(committee, name, kind, address, lat, lon) rows: each committee's activity room at its point and a 睦邻点
    a short walk away."""
    rng = streams.stream(seed, "saved_places")
    point = {int(str(a[0])): (float(str(a[5])), float(str(a[6]))) for a in areas if a[2] == "committee"}
    rows: list[tuple[object, ...]] = []
    for committee in committees:
        committee_id, area_id, name = int(str(committee[0])), int(str(committee[1])), str(committee[2])
        lat, lon = point[area_id]
        estate = name.removesuffix("居委会")
        # The 睦邻点 two or three hundred metres away, in any direction, so the two read apart on the map.
        angle, away = rng.uniform(0, 2 * math.pi), rng.uniform(0.0018, 0.003)
        rows.append((committee_id, f"{name}活动室", "activity_room", f"{estate}{rng.randint(1, 90)}号底层", lat, lon))
        rows.append(
            (
                committee_id,
                f"{estate}睦邻点",
                "neighbourhood_point",
                f"{estate}{rng.randint(1, 90)}号",
                round(lat + away * math.sin(angle), 6),
                round(lon + away * math.cos(angle) / _LON_SCALE, 6),
            )
        )
    return rows


async def seed_map(
    conn: asyncpg.Connection, areas: list[tuple[object, ...]], committees: list[tuple[object, ...]], seed: int
) -> None:
    """Store the demo's approximate outlines and its committees' saved places."""
    await areas_sql.set_outlines(conn, outlines(areas))
    await demo_sql.copy_rows(conn, demo_sql.SAVED_PLACES, saved_places(areas, committees, seed))
