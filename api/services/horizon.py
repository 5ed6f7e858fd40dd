"""How far ahead and back needs, shifts, tender and call deadlines may be dated: a typo's year 9999 or 1900 is an
error beside its field, not a row. The horizon comes from LINLI_MAX_HORIZON_DAYS (create_app sets it once); the
schema holds the fixed lower bound (the year 2000) as CHECK constraints too."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from api.services.types import SHANGHAI, today

EARLIEST = dt.date(2000, 1, 1)
EARLIEST_MOMENT = dt.datetime(2000, 1, 1, tzinfo=SHANGHAI)
DEFAULT_MAX_DAYS = 730
TOO_EARLY = "Dates before the year 2000 are not accepted"
TOO_FAR = "The date lies too far ahead; plan it nearer to the day"

_max_days = DEFAULT_MAX_DAYS


def configure(max_days: int) -> None:
    """Set how many days ahead a date may lie (from the settings, once at start-up)."""
    global _max_days  # one process-wide setting, read by every use case that takes a date
    if max_days < 1:
        raise ValueError("the horizon must be at least one day")
    _max_days = max_days


def max_days() -> int:
    """How many days ahead a date may lie."""
    return _max_days


def date_error(day: dt.date) -> str | None:
    """Why a calendar day lies outside the horizon, or None."""
    if day < EARLIEST:
        return TOO_EARLY
    if day > today() + dt.timedelta(days=_max_days):
        return TOO_FAR
    return None


def moment_error(at: dt.datetime) -> str | None:
    """Why a moment lies outside the horizon, or None (compared as moments: year 9999 overflows no arithmetic)."""
    if at < EARLIEST_MOMENT:
        return TOO_EARLY
    if at > dt.datetime.now(SHANGHAI) + dt.timedelta(days=_max_days):
        return TOO_FAR
    return None


def check(errors: dict[str, str], **fields: dt.date | None) -> dict[str, str]:
    """Add a horizon error for each given date or moment that lies outside it (a field's first error stays)."""
    for name, value in fields.items():
        if value is None or name in errors:
            continue
        error = moment_error(value) if isinstance(value, dt.datetime) else date_error(value)
        if error is not None:
            errors[name] = error
    return errors


def span_errors(
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    longest: dt.timedelta,
    too_long: str,
    to_come: Literal["starts_at", "ends_at"],
) -> dict[str, str]:
    """A time span's errors by field: its end after its start and at most `longest` later (`too_long`), and its start
    (or its end, for a span that may have begun) still to come."""
    errors: dict[str, str] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = "The end must be after the start"
    elif ends_at - starts_at > longest:
        errors["ends_at"] = too_long
    if (starts_at if to_come == "starts_at" else ends_at) <= dt.datetime.now(dt.UTC):
        errors[to_come] = (
            "The start must be in the future" if to_come == "starts_at" else "The end must be in the future"
        )
    return errors
