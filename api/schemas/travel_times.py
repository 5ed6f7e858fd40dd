"""Response structs of an owner's measured travel times (the pairs it uploaded, by e-bike)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.services.travel_times import Supplied


class TravelTimeOut(msgspec.Struct, frozen=True):
    """One supplied pair: from a point ('H42' a household, 'C7' a carer's base) to another, minutes by e-bike."""

    from_point: str
    to_point: str
    minutes: float


class TravelTimesOut(msgspec.Struct, frozen=True):
    """The caller's measured travel times: the file they came from, when, and every pair."""

    id: int
    filename: str
    pairs: int
    uploaded_at: dt.datetime
    rows: list[TravelTimeOut]


def travel_times_out(supplied: Supplied) -> TravelTimesOut:
    """The response of a matrix the caller owns (the use case refused one it has not)."""
    m = supplied.matrix
    assert m is not None
    return TravelTimesOut(
        id=m.id, filename=m.filename, pairs=m.pairs, uploaded_at=m.uploaded_at,
        rows=[TravelTimeOut(from_point=r.from_point.upper(), to_point=r.to_point.upper(), minutes=r.minutes)
              for r in supplied.rows],
    )  # fmt: skip
