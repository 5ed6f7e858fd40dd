"""Response structs for shifts and sign-ups."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import msgspec

from api.schemas.common import S, out
from api.services.confirmations import PlaceView
from api.services.shifts import BLOCKING_REASONS, CancelOutcome, SeriesView, SignupOutcome
from sql.confirmations import PlacePublic
from sql.shift_series import SeriesPublic
from sql.shifts import ShiftForVolunteer, ShiftRow


class ShiftOut(ShiftRow, frozen=True):
    """A shift: where, when, how many places and how many are taken."""

    places_left: int


class SeriesOut(SeriesPublic, frozen=True):
    """A weekly rule (Beijing wall time) and the ids of the shifts it generated, in time order."""

    starts: str
    shift_ids: list[int]


class SkipDate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A date of a weekly rule to skip: its shift is called off."""

    date: dt.date


class ShiftForMeOut(msgspec.Struct, frozen=True):
    """A shift as the calling volunteer sees it: eligible or why not, how far, and their own sign-up."""

    shift: ShiftOut
    eligible: bool
    reasons: list[str]
    distance_km: float
    my_status: str | None


class SignupOut(msgspec.Struct, frozen=True):
    """A sign-up just made (a place, or a place on the waitlist) and the shift as it now stands."""

    signup_id: int
    status: str
    shift: ShiftOut


class CancelOut(CancelOutcome, frozen=True):
    """A cancellation: `cancelled` or `late_cancelled`, and whether someone waiting got the place."""


def shift_out(row: ShiftRow) -> ShiftOut:
    """The public shape of a shift."""
    return out(row, ShiftOut, places_left=max(0, row.headcount - row.taken))


class SeenByVolunteer(Protocol):
    """A shift, or a place offered on one, as one volunteer sees it."""

    @property
    def shift(self) -> ShiftRow:
        """The shift."""

    @property
    def distance_km(self) -> float:
        """How far it is from the volunteer's home area."""

    @property
    def reasons(self) -> list[str]:
        """Why the volunteer may not take it (some reasons only warn)."""


def seen_out(view: SeenByVolunteer, cls: type[S]) -> S:
    """A shift as the calling volunteer sees it, in `cls`: eligible unless a reason blocks, the distance to 10 m."""
    return out(
        view,
        cls,
        shift=shift_out(view.shift),
        eligible=not any(r in BLOCKING_REASONS for r in view.reasons),
        distance_km=round(view.distance_km, 2),
    )


def for_me_out(view: ShiftForVolunteer) -> ShiftForMeOut:
    """The public shape of a shift seen by a volunteer."""
    return seen_out(view, ShiftForMeOut)


def signup_out(outcome: SignupOutcome) -> SignupOut:
    """The public shape of a sign-up outcome."""
    return out(outcome, SignupOut, shift=shift_out(outcome.shift))


def series_out(view: SeriesView) -> SeriesOut:
    """The public shape of a weekly rule."""
    return out(view.series, SeriesOut, starts=view.series.starts.strftime("%H:%M"), shift_ids=view.shift_ids)


class PlaceOut(PlacePublic, frozen=True):
    """A place behind its confirm link: the shift, whether it is confirmed, by when it must be, and what can be done."""

    confirm_by: dt.datetime | None
    can_confirm: bool
    can_cancel: bool
    late_if_cancelled: bool


def place_out(view: PlaceView) -> PlaceOut:
    """The public shape of a place behind its confirm link."""
    return out(
        view.place,
        PlaceOut,
        confirm_by=view.confirm_by,
        can_confirm=view.can_confirm,
        can_cancel=view.can_cancel,
        late_if_cancelled=view.late_if_cancelled,
    )
