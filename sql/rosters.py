"""Optimised rosters: a publisher's week, what its runs decide from, and the proposals volunteers take or decline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from sql.rows import fetch_all, with_json


class RosterRow(msgspec.Struct, frozen=True):
    """A publisher's week of shifts staffed by the optimiser."""

    id: int
    organisation_id: int | None
    committee_id: int | None
    week_starts: dt.date
    kind: str
    created_at: dt.datetime


class RosterShiftRow(msgspec.Struct, frozen=True):
    """An open shift of a roster's week with its places still free (the place of a household's visit is its home)."""

    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    lat: float
    lon: float
    places: int
    required_skills: list[str]
    required_certificates: list[str]
    min_age: int
    insurance_required: bool
    household_id: int | None
    minors_in_groups_only: bool = False


class Interval(msgspec.Struct, frozen=True, array_like=True):
    """A time range."""

    starts: dt.datetime
    ends: dt.datetime


class Window(msgspec.Struct, frozen=True, array_like=True):
    """A weekly availability window in Shanghai wall time (1 = Monday)."""

    weekday: int
    starts: dt.time
    ends: dt.time


class Exception_(msgspec.Struct, frozen=True, array_like=True):
    """A one-off change to the weekly pattern: away, or an extra time."""

    starts: dt.datetime
    ends: dt.datetime
    available: bool


class RosterVolunteerRow(msgspec.Struct, frozen=True):
    """A volunteer as a roster sees them: home, radius, cap, skills, verified certificates, insurance (its verified
    expiry) and date of birth, windows and busy times."""

    id: int
    lat: float
    lon: float
    travel_km: float
    weekly_hour_cap: int
    skills: list[str]
    birth_year: int
    guardian_consent: bool
    insured_until: dt.date | None
    consented: bool
    birth_date: dt.date | None
    certificates: list[str]
    windows: list[Window]
    exceptions: list[Exception_]
    busy: list[Interval]
    proven_birth_date: dt.date | None = None


class ProposalPublic(msgspec.Struct, frozen=True):
    """What the API may show of a proposal: the shift, the volunteer, its status and the reasons behind it."""

    id: int
    roster_id: int
    run_id: int
    shift_id: int
    volunteer_id: int
    volunteer_name: str
    status: str
    reasons: dict[str, Any]
    signup_id: int | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    title: str
    place_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    publisher_name: str


class ProposalRow(ProposalPublic, frozen=True):
    """A proposal with its shift, as the volunteer or the publisher sees it, and the household the shift serves."""

    household_id: int | None


class NewProposal(msgspec.Struct, frozen=True):
    """A (shift, volunteer) pair of a plan and its reasons."""

    shift_id: int
    volunteer_id: int
    reasons: dict[str, Any]


_ROSTER_COLUMNS = "id, organisation_id, committee_id, week_starts, kind, created_at"
SELECT_ROSTER = f"SELECT {_ROSTER_COLUMNS} FROM rosters WHERE id = $1"
# Found or made in one statement; a concurrent insert of the same week loses to the unique index and finds none,
# and the caller asks again.
ENSURE_ROSTER = f"""
WITH found AS (
    SELECT {_ROSTER_COLUMNS} FROM rosters
    WHERE organisation_id IS NOT DISTINCT FROM $1 AND committee_id IS NOT DISTINCT FROM $2
      AND week_starts = $3 AND kind = $4
), made AS (
    INSERT INTO rosters (organisation_id, committee_id, week_starts, kind, created_by)
    SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM found)
    ON CONFLICT DO NOTHING
    RETURNING {_ROSTER_COLUMNS}
)
SELECT {_ROSTER_COLUMNS} FROM found UNION ALL SELECT {_ROSTER_COLUMNS} FROM made
"""
SELECT_PUBLISHER_ROSTERS = f"""
SELECT {_ROSTER_COLUMNS} FROM rosters
WHERE ($1::bigint IS NOT NULL AND organisation_id = $1) OR ($2::bigint IS NOT NULL AND committee_id = $2)
ORDER BY week_starts DESC, kind, id
LIMIT $3
"""
# The week's open shifts of the roster's publisher that still have places and have not started: for a respite
# roster the scheduled visits, for a shifts roster everything else. A household's visit takes place at its home.
SELECT_ROSTER_SHIFTS = """
SELECT s.id, s.title, s.starts_at, s.ends_at, coalesce(h.lat, s.lat) AS lat, coalesce(h.lon, s.lon) AS lon,
       s.headcount - s.taken AS places, s.required_skills, s.required_certificates, s.min_age::int AS min_age,
       s.insurance_required, s.household_id, s.minors_in_groups_only
FROM rosters r
JOIN shifts s ON (s.organisation_id = r.organisation_id OR s.committee_id = r.committee_id)
LEFT JOIN households h ON h.id = s.household_id
WHERE r.id = $1 AND s.status = 'open' AND s.taken < s.headcount AND s.starts_at > now()
  AND s.starts_at >= (r.week_starts::timestamp AT TIME ZONE 'Asia/Shanghai')
  AND s.starts_at < ((r.week_starts + 7)::timestamp AT TIME ZONE 'Asia/Shanghai')
  AND (r.kind = 'respite') = EXISTS (SELECT 1 FROM respite_requests q WHERE q.shift_id = s.id)
ORDER BY s.starts_at, s.id
"""
# Every volunteer with a live account, with what the optimiser needs about their week: certificates and insurance
# as verified (never only declared: the sign-up guard would refuse them, sql/shifts.py) and valid at its end, the
# verified date of birth beside the declared one, weekly windows, exceptions and the places they already hold in it.
SELECT_ROSTER_VOLUNTEERS = """
SELECT v.id, v.lat, v.lon, v.travel_km::float8 AS travel_km, v.weekly_hour_cap::int AS weekly_hour_cap, v.skills,
       v.birth_year::int AS birth_year, v.birth_date, v.guardian_consent,
       (SELECT ik.expires_on FROM credential_checks ik
        WHERE ik.id = v.insurance_check_id AND ik.state = 'verified') AS insured_until,
       (SELECT pk.born_on FROM credential_checks pk
        WHERE pk.id = v.birth_date_check_id AND pk.state = 'verified') AS proven_birth_date,
       (v.sensitive_data_consent_at IS NOT NULL) AS consented,
       ARRAY(SELECT c.kind FROM volunteer_certificates c JOIN credential_checks ck ON ck.id = c.check_id
             WHERE c.volunteer_id = v.id AND ck.state = 'verified' AND ck.expires_on >= $1::date + 6
             ORDER BY c.kind) AS certificates,
       coalesce((SELECT jsonb_agg(jsonb_build_array(w.weekday, w.starts, w.ends) ORDER BY w.weekday, w.starts)
                 FROM volunteer_availability w WHERE w.volunteer_id = v.id), '[]')::text AS windows,
       coalesce((SELECT jsonb_agg(jsonb_build_array(lower(e.during), upper(e.during), e.available)
                                  ORDER BY lower(e.during))
                 FROM availability_exceptions e
                 WHERE e.volunteer_id = v.id AND e.during && tstzrange($2, $3)), '[]')::text AS exceptions,
       coalesce((SELECT jsonb_agg(jsonb_build_array(lower(g.during), upper(g.during)) ORDER BY lower(g.during))
                 FROM signups g
                 WHERE g.volunteer_id = v.id AND g.status = 'active' AND g.during && tstzrange($2, $3)), '[]')::text
           AS busy
FROM volunteers v
JOIN accounts a ON a.id = v.account_id AND a.disabled_at IS NULL
ORDER BY v.id
"""
# Continuity: who served the same household last week or holds another of its visits this week, or held the same
# shift a week earlier (the same series, or the same title at the same time from the same publisher).
SELECT_CONTINUITY = """
SELECT DISTINCT g.volunteer_id, s.id AS shift_id, (s.household_id IS NOT NULL) AS same_household
FROM shifts s
JOIN shifts p ON p.id <> s.id
  AND p.starts_at >= $2::timestamptz - interval '7 days'
  AND ((s.household_id IS NOT NULL AND p.household_id = s.household_id
        AND p.starts_at < $2::timestamptz + interval '7 days')
       OR (s.household_id IS NULL AND p.household_id IS NULL AND p.starts_at < $2::timestamptz
           AND ((s.series_id IS NOT NULL AND p.series_id = s.series_id)
                OR (p.title = s.title AND p.starts_at = s.starts_at - interval '7 days'
                    AND p.organisation_id IS NOT DISTINCT FROM s.organisation_id
                    AND p.committee_id IS NOT DISTINCT FROM s.committee_id))))
JOIN signups g ON g.shift_id = p.id AND g.status = 'active'
WHERE s.id = ANY($1::bigint[])
ORDER BY 2, 1
"""
# The week's newest finished run planned with another spread weight than the given one, with its figures.
SELECT_OTHER_SPREAD = """
SELECT id AS run_id, coalesce((result->>'spread')::int, 0) AS spread, (result->>'proposed')::int AS proposed,
       (result->>'places')::int AS places, coalesce((result->>'hours_gini_assigned')::float8, 0) AS hours_gini_assigned
FROM match_runs
WHERE model = 'roster' AND subject_type = 'roster' AND subject_id = $1 AND status = 'succeeded'
  AND result ? 'proposed' AND coalesce((result->>'spread')::int, 0) <> $2
ORDER BY id DESC LIMIT 1
"""
SELECT_PAIRS_BY_STATUS = """
SELECT volunteer_id, shift_id FROM roster_proposals WHERE roster_id = $1 AND status = $2 ORDER BY shift_id, volunteer_id
"""
# Only the newest run of a roster writes its plan: an older one finishing late must not overwrite it.
IS_NEWEST_RUN = """
SELECT NOT EXISTS (
    SELECT 1 FROM match_runs m, match_runs me
    WHERE me.id = $1 AND m.model = me.model AND m.subject_type = me.subject_type AND m.subject_id = me.subject_id
      AND m.inputs_version > me.inputs_version
)
"""
SUPERSEDE_OPEN = """
UPDATE roster_proposals SET status = 'superseded' WHERE roster_id = $1 AND status = 'proposed' AND run_id <> $2
"""
# A pair someone already holds live (it can only appear through a race) is skipped, not doubled.
INSERT_PROPOSALS = """
INSERT INTO roster_proposals (roster_id, run_id, shift_id, volunteer_id, reasons)
SELECT $1, $2, x.shift_id, x.volunteer_id, x.reasons::jsonb
FROM unnest($3::bigint[], $4::bigint[], $5::text[]) AS x (shift_id, volunteer_id, reasons)
ON CONFLICT DO NOTHING
"""
_PROPOSAL_COLUMNS = """
p.id, p.roster_id, p.run_id, p.shift_id, p.volunteer_id, v.display_name AS volunteer_name, p.status,
p.reasons::text AS reasons, p.signup_id, p.created_at, p.decided_at, s.title, s.place_name, s.starts_at, s.ends_at,
coalesce(o.name, c.name) AS publisher_name, s.household_id
"""
_PROPOSAL_FROM = """
FROM roster_proposals p
JOIN shifts s ON s.id = p.shift_id
JOIN volunteers v ON v.id = p.volunteer_id
LEFT JOIN organisations o ON o.id = s.organisation_id
LEFT JOIN committees c ON c.id = s.committee_id
"""
# A volunteer's own proposals only: the volunteer id comes from the caller, never from the request.
SELECT_MY_PROPOSALS = f"""
SELECT {_PROPOSAL_COLUMNS} {_PROPOSAL_FROM}
WHERE p.volunteer_id = $1 AND p.status <> 'superseded' AND ($2 OR s.ends_at > now())
ORDER BY (p.status = 'proposed') DESC, s.starts_at, p.id
LIMIT $3
"""
SELECT_MY_PROPOSAL = f"SELECT {_PROPOSAL_COLUMNS} {_PROPOSAL_FROM} WHERE p.id = $1 AND p.volunteer_id = $2"
SELECT_RUN_PROPOSALS = f"""
SELECT {_PROPOSAL_COLUMNS} {_PROPOSAL_FROM} WHERE p.run_id = $1 ORDER BY s.starts_at, s.id, p.volunteer_id
"""
# Both take the row only while it is open and the caller's own.
LOCK_OPEN_PROPOSAL = """
SELECT roster_id, shift_id FROM roster_proposals WHERE id = $1 AND volunteer_id = $2 AND status = 'proposed'
FOR UPDATE
"""
ACCEPT = """
UPDATE roster_proposals SET status = 'accepted', signup_id = $3, decided_at = now()
WHERE id = $1 AND volunteer_id = $2 AND status = 'proposed'
RETURNING id
"""
DECLINE = """
UPDATE roster_proposals SET status = 'declined', decided_at = now()
WHERE id = $1 AND volunteer_id = $2 AND status = 'proposed'
RETURNING roster_id, shift_id
"""
COUNT_BY_STATUS = """
SELECT status, count(*)::int AS n FROM roster_proposals WHERE run_id = $1 GROUP BY status ORDER BY status
"""


def _roster(record: asyncpg.Record | None) -> RosterRow | None:
    return None if record is None else msgspec.convert(dict(record), RosterRow)


def _proposal(record: asyncpg.Record) -> ProposalRow:
    return with_json(record, ProposalRow, "reasons")


async def get_roster(conn: asyncpg.Connection, roster_id: int) -> RosterRow | None:
    """One roster by id."""
    return _roster(await conn.fetchrow(SELECT_ROSTER, roster_id))


async def ensure_roster(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    week_starts: dt.date,
    kind: str,
    created_by: int,
) -> RosterRow | None:
    """The publisher's roster of a week, made if it did not exist; None if a concurrent call made it first."""
    args = (organisation_id, committee_id, week_starts, kind, created_by)
    return _roster(await conn.fetchrow(ENSURE_ROSTER, *args))


async def publisher_rosters(
    conn: asyncpg.Connection, *, organisation_id: int | None, committee_id: int | None, limit: int = 30
) -> list[RosterRow]:
    """An organisation's or committee's rosters, latest week first."""
    return await fetch_all(conn, SELECT_PUBLISHER_ROSTERS, RosterRow, organisation_id, committee_id, limit)


async def roster_shifts(conn: asyncpg.Connection, roster_id: int) -> list[RosterShiftRow]:
    """The roster's open shifts with places free."""
    return await fetch_all(conn, SELECT_ROSTER_SHIFTS, RosterShiftRow, roster_id)


async def roster_volunteers(
    conn: asyncpg.Connection, week_starts: dt.date, week_from: dt.datetime, week_until: dt.datetime
) -> list[RosterVolunteerRow]:
    """Every active volunteer with their week: windows, exceptions and held places in [week_from, week_until)."""
    rows = await conn.fetch(SELECT_ROSTER_VOLUNTEERS, week_starts, week_from, week_until)
    return [with_json(r, RosterVolunteerRow, "windows", "exceptions", "busy") for r in rows]


async def continuity(
    conn: asyncpg.Connection, shift_ids: list[int], week_from: dt.datetime
) -> list[tuple[int, int, bool]]:
    """(volunteer, shift of this week, same household?) for who held the matching place the week before."""
    rows = await conn.fetch(SELECT_CONTINUITY, shift_ids, week_from)
    return [(int(r["volunteer_id"]), int(r["shift_id"]), bool(r["same_household"])) for r in rows]


async def pairs_by_status(conn: asyncpg.Connection, roster_id: int, status: str) -> list[tuple[int, int]]:
    """(volunteer, shift) of the roster's proposals in one status."""
    rows = await conn.fetch(SELECT_PAIRS_BY_STATUS, roster_id, status)
    return [(int(r["volunteer_id"]), int(r["shift_id"])) for r in rows]


async def is_newest_run(conn: asyncpg.Connection, run_id: int) -> bool:
    """Whether no later run of the same roster exists."""
    return bool(await conn.fetchval(IS_NEWEST_RUN, run_id))


async def replace_open_proposals(
    conn: asyncpg.Connection, roster_id: int, run_id: int, proposals: list[NewProposal]
) -> None:
    """Supersede the roster's open proposals of earlier runs and write this run's."""
    await conn.execute(SUPERSEDE_OPEN, roster_id, run_id)
    await conn.execute(
        INSERT_PROPOSALS,
        roster_id,
        run_id,
        [p.shift_id for p in proposals],
        [p.volunteer_id for p in proposals],
        [msgspec.json.encode(p.reasons).decode() for p in proposals],
    )


async def my_proposals(
    conn: asyncpg.Connection, volunteer_id: int, *, include_past: bool = False, limit: int = 100
) -> list[ProposalRow]:
    """A volunteer's proposals (not the superseded ones), open ones first."""
    return [_proposal(r) for r in await conn.fetch(SELECT_MY_PROPOSALS, volunteer_id, include_past, limit)]


async def my_proposal(conn: asyncpg.Connection, proposal_id: int, volunteer_id: int) -> ProposalRow | None:
    """One of the volunteer's own proposals."""
    record = await conn.fetchrow(SELECT_MY_PROPOSAL, proposal_id, volunteer_id)
    return None if record is None else _proposal(record)


async def run_proposals(conn: asyncpg.Connection, run_id: int) -> list[ProposalRow]:
    """Every proposal a run wrote, by shift."""
    return [_proposal(r) for r in await conn.fetch(SELECT_RUN_PROPOSALS, run_id)]


async def lock_open_proposal(conn: asyncpg.Connection, proposal_id: int, volunteer_id: int) -> tuple[int, int] | None:
    """(roster, shift) of the volunteer's open proposal, locked; None if not theirs or not open."""
    record = await conn.fetchrow(LOCK_OPEN_PROPOSAL, proposal_id, volunteer_id)
    return None if record is None else (int(record["roster_id"]), int(record["shift_id"]))


async def accept(conn: asyncpg.Connection, proposal_id: int, volunteer_id: int, signup_id: int) -> bool:
    """Mark the volunteer's open proposal accepted with the sign-up it made."""
    return await conn.fetchval(ACCEPT, proposal_id, volunteer_id, signup_id) is not None


async def decline(conn: asyncpg.Connection, proposal_id: int, volunteer_id: int) -> tuple[int, int] | None:
    """Mark the volunteer's open proposal declined; its (roster, shift), or None if not theirs or not open."""
    record = await conn.fetchrow(DECLINE, proposal_id, volunteer_id)
    return None if record is None else (int(record["roster_id"]), int(record["shift_id"]))


async def count_by_status(conn: asyncpg.Connection, run_id: int) -> dict[str, int]:
    """How many of a run's proposals are in each status."""
    return {str(r["status"]): int(r["n"]) for r in await conn.fetch(COUNT_BY_STATUS, run_id)}


class SpreadFiguresRow(msgspec.Struct, frozen=True):
    """One run's spread weight, places filled of places open, and Gini of hours among the volunteers proposed."""

    run_id: int
    spread: int
    proposed: int
    places: int
    hours_gini_assigned: float


async def other_spread(conn: asyncpg.Connection, roster_id: int, spread: int) -> SpreadFiguresRow | None:
    """The roster's newest finished run with a spread weight other than `spread`, by its figures."""
    row = await conn.fetchrow(SELECT_OTHER_SPREAD, roster_id, spread)
    return None if row is None else msgspec.convert(dict(row), SpreadFiguresRow)
