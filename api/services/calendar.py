"""One calendar per volunteer: every commitment they hold (shift places, accepted roster proposals, respite and
home visits, 311 team visits, an organisation's planned care visits) in date order, read from the commitments table
that no two active entries of a person may overlap in (migration 0022)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from api.services.accounts import Identity
from api.services.household_access import MaskedHousehold, masked
from api.services.types import SHANGHAI
from sql import calendar as calendar_sql

_ONLY_VOLUNTEERS = "Only volunteers have a calendar"
# How far back and ahead the page shows (team visits are planned eight weeks ahead, api/services/teams.py).
PAST = dt.timedelta(days=1)
AHEAD = dt.timedelta(weeks=9)
LIMIT = 300


class CalendarEntry(msgspec.Struct, frozen=True):
    """One commitment as the volunteer sees it: what (a shift, a home visit, a 311 team visit, a care visit an
    organisation planned), when, where, for whom, and the page it belongs to (shift_id or team_id; a care visit's
    page is the carer's day)."""

    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    title: str
    place_name: str
    publisher_name: str
    shift_id: int | None = None
    team_id: int | None = None
    household: MaskedHousehold | None = None
    # A care visit's day in Shanghai (its page is the carer's day).
    day: dt.date | None = None


def _entry(row: calendar_sql.CommitmentRow) -> CalendarEntry:
    if row.kind in ("team_visit", "care_visit"):
        assert row.household_id is not None
        assert row.committee_id is not None
        household = masked(row.household_id, row.committee_id, row.committee_name or "", row.address or "")
        return CalendarEntry(
            kind=row.kind,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            title="",
            place_name=household.masked_address,
            publisher_name=row.publisher_name,
            team_id=row.team_id,
            household=household,
            day=row.starts_at.astimezone(SHANGHAI).date(),
        )
    return CalendarEntry(
        kind="home_visit" if row.serves_household else "shift",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        title=row.shift_title or "",
        place_name=row.place_name or "",
        publisher_name=row.publisher_name,
        shift_id=row.shift_id,
    )


async def entries(
    conn: asyncpg.Connection, volunteer_id: int, *, now: dt.datetime | None = None
) -> list[CalendarEntry]:
    """A volunteer's commitments from yesterday to nine weeks ahead, in date order."""
    now = now or dt.datetime.now(dt.UTC)
    rows = await calendar_sql.commitments(conn, volunteer_id, now - PAST, now + AHEAD, limit=LIMIT)
    return [_entry(r) for r in rows]


async def my_calendar(
    conn: asyncpg.Connection, who: Identity, *, now: dt.datetime | None = None
) -> list[CalendarEntry]:
    """The calling volunteer's calendar: every commitment, whatever made it, in date order."""
    return await entries(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS), now=now)
