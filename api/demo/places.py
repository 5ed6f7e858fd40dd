"""The demo district's map: approximate outlines around its committees and sub-districts, and each committee's
saved places (活动室, 睦邻点). The outlines are drawn from the committees' points, not surveyed; the map says so."""

from __future__ import annotations

import math
from collections import defaultdict

import asyncpg
import msgspec

from api.demo import streams
from sql import areas as areas_sql
from sql import demo as demo_sql

# Degrees of longitude shrink with the cosine of the latitude (Shanghai is at about 31° N).
_LON_SCALE = math.cos(math.radians(31.3))
# A committee's hexagon: at most this radius (degrees of latitude, about 400 m), and never more than just under half
# the way to its nearest neighbour, so that neighbouring hexagons do not overlap.
_MAX_RADIUS = 0.0036
_MIN_RADIUS = 0.0008
# A sub-district's outline: the hull of its committees' hexagons, pushed out this far from its centre (~150 m).
_SUB_PAD = 0.0014


def _hexagon(lat: float, lon: float, radius: float, turn: float) -> list[tuple[float, float]]:
    """Six corners around a point, as (lon, lat), a little turned so that neighbours do not look stamped."""
    return [
        (lon + radius * math.cos(turn + k * math.pi / 3) / _LON_SCALE, lat + radius * math.sin(turn + k * math.pi / 3))
        for k in range(6)
    ]


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of (x, y) points, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _polygon(ring: list[tuple[float, float]]) -> str:
    """A GeoJSON Polygon of one closed ring, as text."""
    coordinates = [[round(x, 6), round(y, 6)] for x, y in ring]
    return msgspec.json.encode({"type": "Polygon", "coordinates": [[*coordinates, coordinates[0]]]}).decode()


def outlines(areas: list[tuple[object, ...]], seed: int) -> list[tuple[int, str, bool]]:
    """(area id, GeoJSON, approximate) for every committee and sub-district of the plan's area rows
    (id, parent, level, code, name, lat, lon)."""
    rng = streams.stream(seed, "outlines")
    committees = [
        (int(str(a[0])), int(str(a[1])), float(str(a[5])), float(str(a[6]))) for a in areas if a[2] == "committee"
    ]
    centres = {int(str(a[0])): (float(str(a[5])), float(str(a[6]))) for a in areas if a[2] == "subdistrict"}
    rows: list[tuple[int, str, bool]] = []
    corners: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for area_id, parent, lat, lon in committees:
        others = (math.hypot(lat - y, (lon - x) * _LON_SCALE) for o, _, y, x in committees if o != area_id)
        nearest = min(others, default=2 * _MAX_RADIUS)
        radius = max(_MIN_RADIUS, min(_MAX_RADIUS, 0.48 * nearest))
        ring = _hexagon(lat, lon, radius, rng.uniform(0, math.pi / 3))
        corners[parent].extend(ring)
        rows.append((area_id, _polygon(ring), True))
    for sub_id, (lat, lon) in centres.items():
        points = corners.get(sub_id) or _hexagon(lat, lon, _MAX_RADIUS, 0.0)
        hull = _hull(points)
        # Push each corner out from the centre, so the committees on the edge sit inside the line.
        c_lon = sum(x for x, _ in hull) / len(hull)
        c_lat = sum(y for _, y in hull) / len(hull)
        padded = []
        for x, y in hull:
            dx, dy = (x - c_lon) * _LON_SCALE, y - c_lat
            d = math.hypot(dx, dy) or 1.0
            padded.append((x + _SUB_PAD * dx / d / _LON_SCALE, y + _SUB_PAD * dy / d))
        rows.append((sub_id, _polygon(padded), True))
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
        rows.append((committee_id, f"{name}活动室", "activity_room", f"{estate}{rng.randint(1, 90)}号底层", lat, lon))
        rows.append(
            (
                committee_id,
                f"{estate}睦邻点",
                "neighbourhood_point",
                f"{estate}{rng.randint(1, 90)}号",
                round(lat + rng.uniform(-0.0012, 0.0012), 6),
                round(lon + rng.uniform(-0.0014, 0.0014), 6),
            )
        )
    return rows


async def seed_map(
    conn: asyncpg.Connection, areas: list[tuple[object, ...]], committees: list[tuple[object, ...]], seed: int
) -> None:
    """Store the demo's approximate outlines and its committees' saved places."""
    await areas_sql.set_outlines(conn, outlines(areas, seed))
    await demo_sql.copy_rows(conn, demo_sql.SAVED_PLACES, saved_places(areas, committees, seed))
