"""Response structs for a volunteer's own profile and calendar feed."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.services.volunteers import Profile
from sql.verification import ClaimRow
from sql.volunteers import ExceptionRow, VolunteerPublic


class CertificateOut(msgspec.Struct, frozen=True):
    """A certificate held; `expires_on` null means it does not expire."""

    kind: str
    number: str
    issued_on: dt.date | None
    expires_on: dt.date | None
    valid_today: bool


class ClaimOut(ClaimRow, frozen=True):
    """A declared certificate (`certificate_kind`), the insurance or the date of birth, with its state: declared,
    verified, expired, rejected or revoked. Only a verified, unexpired claim counts for restricted shifts."""


class WindowOut(msgspec.Struct, frozen=True):
    """A weekly window in Beijing time (weekday 1 = Monday)."""

    weekday: int
    starts: str
    ends: str


class ExceptionOut(ExceptionRow, frozen=True):
    """A one-off change to the weekly pattern: away, or an extra available time."""


class ProfileOut(VolunteerPublic, frozen=True):
    """A volunteer's own profile."""

    age: int
    certificates: list[CertificateOut]
    availability: list[WindowOut]
    exceptions: list[ExceptionOut]
    claims: list[ClaimOut]


class CalendarOut(msgspec.Struct, frozen=True):
    """The secret address of one's calendar feed; anyone holding it can read one's shifts."""

    url: str


def _hhmm(value: dt.time) -> str:
    return value.strftime("%H:%M")


def profile_out(p: Profile) -> ProfileOut:
    """The public shape of one's own profile."""
    return out(
        p.volunteer,
        ProfileOut,
        age=p.age,
        certificates=[out(c.row, CertificateOut, valid_today=c.valid_today) for c in p.certificates],
        availability=[out(w, WindowOut, starts=_hhmm(w.starts), ends=_hhmm(w.ends)) for w in p.windows],
        exceptions=p.exceptions,
        claims=[out(c, ClaimOut) for c in p.claims],
    )
