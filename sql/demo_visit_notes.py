"""The demo's visit record: past home-care shifts of the carers, the notes carers wrote on their visits, the
incidents they raised and the households' ratings (their SQL; api/demo/visit_notes.py decides what they say)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
import msgspec

from sql.demo import CopyTarget


class DoneVisitRow(msgspec.Struct, frozen=True):
    """A 311 team's done contact of an organisation: whom it served, who made it, when and how."""

    team_visit_id: int
    household_id: int
    committee_id: int
    organisation_id: int
    carer: int
    contact_kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class CarePlaceRow(msgspec.Struct, frozen=True):
    """A household a carer of the home-care contract serves: where it is and whose committee it belongs to."""

    id: int
    committee_id: int
    lat: float
    lon: float


class BusyRow(msgspec.Struct, frozen=True):
    """A time a volunteer is held elsewhere (an active commitment)."""

    volunteer_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


# The organisation's done team contacts that ended before $2, oldest first.
SELECT_DONE_TEAM_VISITS = """
SELECT tv.id AS team_visit_id, t.household_id, h.committee_id, t.organisation_id, tv.recorded_by AS carer,
       tv.contact_kind, tv.at AS starts_at, tv.at + make_interval(mins => tv.minutes) AS ends_at
FROM team_visits tv JOIN teams t ON t.id = tv.team_id JOIN households h ON h.id = t.household_id
WHERE t.organisation_id = $1 AND tv.status = 'done' AND tv.recorded_by IS NOT NULL AND h.archived_at IS NULL
  AND tv.at + make_interval(mins => tv.minutes) <= $2
ORDER BY tv.at, tv.id
"""

# Each carer's households on the planned days (the elders they keep visiting), then the contract's households.
SELECT_PLANNED_HOUSEHOLDS = """
SELECT DISTINCT pv.volunteer_id, pv.household_id FROM planned_visits pv
WHERE pv.volunteer_id = ANY ($1::bigint[]) AND pv.household_id = ANY ($2::bigint[]) AND pv.status <> 'released'
ORDER BY pv.volunteer_id, pv.household_id
"""

SELECT_PLACES = """
SELECT id, committee_id, lat, lon FROM households WHERE id = ANY ($1::bigint[]) AND archived_at IS NULL ORDER BY id
"""

SELECT_BUSY = """
SELECT volunteer_id, lower(during) AS starts_at, upper(during) AS ends_at FROM commitments
WHERE volunteer_id = ANY ($1::bigint[]) AND status = 'active' AND during && tstzrange($2, $3)
ORDER BY volunteer_id, lower(during)
"""

# A relative's mobile on the household's file: where the rating link's SMS goes.
GIVE_PHONES = """
UPDATE households h SET phone = x.phone
FROM unnest($1::bigint[], $2::text[]) AS x (id, phone)
WHERE h.id = x.id AND h.phone IS NULL AND h.archived_at IS NULL
"""

HOME_CARE_SHIFTS = CopyTarget("shifts", (
    "id", "organisation_id", "title", "description", "place_name", "lat", "lon", "starts_at", "ends_at", "headcount",
    "taken", "status", "created_by", "household_id", "required_certificates", "created_at",
))  # fmt: skip
HELD_PLACES = CopyTarget("signups", ("id", "shift_id", "volunteer_id", "status", "during", "created_at"))
# Checked in and out at the door, awaiting the organisation's confirmation (no hours credited yet).
CHECKED_OUT = CopyTarget("attendance", (
    "signup_id", "shift_id", "volunteer_id", "checked_in_at", "checked_out_at", "method", "minutes", "status",
    "created_at",
))  # fmt: skip
NOTES = CopyTarget("visit_notes", (
    "household_id", "team_visit_id", "shift_id", "visit_kind", "volunteer_id", "mood", "signals", "needs",
    "needs_other", "remarks", "created_at",
))  # fmt: skip
RATINGS = CopyTarget("visit_ratings", (
    "id", "household_id", "team_visit_id", "shift_id", "visit_kind", "organisation_id", "score", "comment", "source",
    "entered_by", "created_at",
))  # fmt: skip
RATING_LINKS = CopyTarget("visit_rating_links", (
    "token_hash", "household_id", "team_visit_id", "shift_id", "visit_kind", "expires_at", "used_at", "rating_id",
    "sms_status", "sms_attempts", "next_attempt_at", "sent_at", "created_at",
))  # fmt: skip
INCIDENTS = CopyTarget("visit_incidents", (
    "id", "household_id", "committee_id", "team_visit_id", "shift_id", "visit_kind", "organisation_id",
    "volunteer_id", "kind", "severity", "what_happened", "status", "raised_at", "acknowledged_by",
    "acknowledged_at", "closed_by", "closed_at", "action_taken",
))  # fmt: skip


async def done_team_visits(conn: asyncpg.Connection, organisation_id: int, before: dt.datetime) -> list[DoneVisitRow]:
    """The organisation's 311 teams' done contacts that ended before `before`, oldest first."""
    rows = await conn.fetch(SELECT_DONE_TEAM_VISITS, organisation_id, before)
    return [msgspec.convert(dict(r), DoneVisitRow) for r in rows]


async def planned_households(
    conn: asyncpg.Connection, volunteer_ids: Sequence[int], household_ids: Sequence[int]
) -> dict[int, list[int]]:
    """Each carer's households on their planned visits, by volunteer."""
    found: dict[int, list[int]] = {}
    for r in await conn.fetch(SELECT_PLANNED_HOUSEHOLDS, list(volunteer_ids), list(household_ids)):
        found.setdefault(int(r["volunteer_id"]), []).append(int(r["household_id"]))
    return found


async def places(conn: asyncpg.Connection, household_ids: Sequence[int]) -> list[CarePlaceRow]:
    """The households' points and committees, by id."""
    return [msgspec.convert(dict(r), CarePlaceRow) for r in await conn.fetch(SELECT_PLACES, list(household_ids))]


async def busy(
    conn: asyncpg.Connection, volunteer_ids: Sequence[int], since: dt.datetime, until: dt.datetime
) -> list[BusyRow]:
    """The volunteers' active commitments overlapping the period."""
    rows = await conn.fetch(SELECT_BUSY, list(volunteer_ids), since, until)
    return [msgspec.convert(dict(r), BusyRow) for r in rows]


async def give_phones(conn: asyncpg.Connection, phones: Sequence[tuple[int, str]]) -> None:
    """A phone on each household's file that has none yet."""
    await conn.execute(GIVE_PHONES, [h for h, _ in phones], [p for _, p in phones])
