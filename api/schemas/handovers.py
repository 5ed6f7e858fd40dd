"""Response structs of hand-overs (转让名额): offers, offered places, and requests for the publisher."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.schemas.shifts import ShiftOut, seen_out
from api.services.handovers import HandoverOutcome, ShiftHandovers
from sql.handovers import HandoverRow, OfferedPlace, RequestRow


class HandoverOutcomeOut(HandoverOutcome, frozen=True):
    """An offer after a step: `open` (listed), `requested` (the publisher decides), `taken` or `withdrawn`."""


class MyOfferOut(msgspec.Struct, frozen=True):
    """The caller's own live offer of their place."""

    id: int
    status: str
    offered_at: dt.datetime
    requested_at: dt.datetime | None


class OfferedOut(msgspec.Struct, frozen=True):
    """A place another volunteer offers: the shift, whether the caller may take it (or why not), and whether the
    caller's request waits for the publisher."""

    handover_id: int
    status: str
    offered_at: dt.datetime
    requested_by_me: bool
    shift: ShiftOut
    eligible: bool
    reasons: list[str]
    distance_km: float


class RequestOut(RequestRow, frozen=True):
    """A live offer on the publisher's shift, with who offers it and who asks to take it."""


class ShiftHandoversOut(msgspec.Struct, frozen=True):
    """Hand-overs on one shift as the caller sees them."""

    approval: bool
    mine: MyOfferOut | None
    offered: list[OfferedOut]
    requests: list[RequestOut]


def offered_out(place: OfferedPlace) -> OfferedOut:
    """The public shape of an offered place."""
    return seen_out(place, OfferedOut)


def _mine(row: HandoverRow | None) -> MyOfferOut | None:
    return None if row is None else out(row, MyOfferOut)


def shift_handovers_out(view: ShiftHandovers) -> ShiftHandoversOut:
    """The public shape of a shift's hand-overs."""
    return ShiftHandoversOut(
        approval=view.approval,
        mine=_mine(view.mine),
        offered=[offered_out(p) for p in view.offered],
        requests=[out(r, RequestOut) for r in view.requests],
    )
