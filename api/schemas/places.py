"""Saved places (常用地点) in the JSON API."""

from __future__ import annotations

from sql.places import PlaceRow


class PlaceOut(PlaceRow, frozen=True):
    """A committee's saved place: name, kind, public address and WGS-84 point."""
