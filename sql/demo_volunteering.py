"""The demo's volunteering writes and look-ups (api/demo: shifts.py, timebank.py, teams.py, rosters.py): shifts and
places taken, past attendance and the time bank, 311 teams' history, and the respite carers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
import msgspec

from sql.demo import CopyTarget

# Each statement of the shifts seed is small; PostgreSQL's JIT would spend longer compiling than running them.
NO_JIT = "SET LOCAL jit = off"
# Inside the seed's transaction the bulk-loaded tables have no statistics yet, and without them the planner walks each
# volunteer's reliability and roster row the slow way (a roster week of 20,000 volunteers: 10 s instead of 0.5).
ANALYZE = "ANALYZE"
SELECT_COMMITTEE_IDS = "SELECT id FROM committees ORDER BY id"
# A committee's point, or for an organisation the point of the first committee area it serves.
SELECT_COMMITTEE_POINT = """
SELECT ar.lat, ar.lon, ar.name FROM committees c JOIN areas ar ON ar.id = c.area_id WHERE c.id = $1
"""
SELECT_ORG_POINT = """
SELECT ar.lat, ar.lon, ar.name FROM organisation_areas oa
JOIN areas sub ON sub.id = oa.area_id
JOIN areas ar ON ar.parent_id = sub.id AND ar.level = 'committee'
WHERE oa.organisation_id = $1
ORDER BY ar.id LIMIT 1
"""
SELECT_ANY_COMMITTEE_POINT = "SELECT lat, lon, name FROM areas WHERE level = 'committee' ORDER BY id LIMIT 1"
INSERT_SHIFT = """
INSERT INTO shifts (organisation_id, committee_id, title, description, place_name, lat, lon, starts_at, ends_at,
                    headcount, required_certificates, min_age, insurance_required, minors_in_groups_only, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING id
"""
SELECT_SHIFTS_TO_FILL = """
SELECT id, lat, lon, starts_at, ends_at, headcount, required_certificates, insurance_required FROM shifts
WHERE id = ANY ($1::bigint[]) ORDER BY id
"""
# Everyone who could hold a place, with their certificates' kinds and expiry dates (one that never expires: 9999).
SELECT_POOL = """
SELECT v.id, v.lat, v.lon, v.birth_year, v.insured_until,
       coalesce((SELECT array_agg(c.kind ORDER BY c.kind) FROM volunteer_certificates c
                 WHERE c.volunteer_id = v.id), '{}') AS certificate_kinds,
       coalesce((SELECT array_agg(coalesce(c.expires_on, '9999-12-31') ORDER BY c.kind) FROM volunteer_certificates c
                 WHERE c.volunteer_id = v.id), '{}') AS certificate_expiries
FROM volunteers v ORDER BY v.id
"""
# Places already held (another part of the demo may have run first), so that nobody gets two overlapping places.
SELECT_HELD = (
    "SELECT volunteer_id, lower(during) AS starts_at, upper(during) AS ends_at FROM signups WHERE status = 'active'"
)
SET_TAKEN_ALL = """
UPDATE shifts s SET taken = c.n
FROM (SELECT shift_id, count(*)::int AS n FROM signups WHERE status = 'active' AND shift_id = ANY ($1::bigint[])
      GROUP BY shift_id) c
WHERE s.id = c.shift_id
"""
SET_TAKEN = """
UPDATE shifts SET taken = (SELECT count(*) FROM signups WHERE shift_id = $1 AND status = 'active') WHERE id = $1
"""
# Children registered with a guardian's consent get the guardian's name (same surname), which the under-14 rule asks.
NAME_GUARDIANS = """
UPDATE volunteers
SET guardian_name = left(display_name, 1) || (ARRAY['建国', '丽华', '志强', '秀英', '海军', '桂芳'])[1 + id % 6]
WHERE guardian_consent AND guardian_name IS NULL
"""
DEMO_PROFILE = """
UPDATE volunteers
SET dialects = ARRAY['上海话', '宁波话'], languages = ARRAY['普通话'],
    skills = (SELECT array_agg(DISTINCT s ORDER BY s) FROM unnest(skills || ARRAY['first_aid', 'cooking']) s),
    insured_until = greatest(coalesce(insured_until, $2), $2), weekly_hour_cap = greatest(weekly_hour_cap, 10),
    travel_km = greatest(travel_km, 5)
WHERE id = $1
"""
INSERT_AWAY = """
INSERT INTO availability_exceptions (volunteer_id, during, available) VALUES ($1, tstzrange($2, $3, '[)'), false)
"""
# The demo volunteer's places: the first demo shifts this week she fits (no certificate she lacks, insured).
DEMO_PLACES = """
SELECT s.id FROM shifts s JOIN volunteers v ON v.id = $1
WHERE s.id = ANY ($2::bigint[]) AND s.taken < s.headcount AND s.starts_at > now() AND s.starts_at < $3
  AND s.required_certificates <@ ARRAY(SELECT kind FROM volunteer_certificates WHERE volunteer_id = $1)
  AND (NOT s.insurance_required OR v.insured_until >= (s.ends_at AT TIME ZONE 'Asia/Shanghai')::date)
  AND date_part('year', s.starts_at AT TIME ZONE 'Asia/Shanghai')::int - v.birth_year >= s.min_age
ORDER BY s.starts_at, s.id
"""
TAKE_PLACE = """
INSERT INTO signups (shift_id, volunteer_id, status, during)
SELECT id, $2, 'active', tstzrange(starts_at, ends_at, '[)') FROM shifts s
WHERE id = $1 AND NOT EXISTS (
    SELECT 1 FROM signups g WHERE g.volunteer_id = $2 AND g.status = 'active'
      AND g.during && tstzrange(s.starts_at, s.ends_at, '[)'))
  AND NOT EXISTS (SELECT 1 FROM signups g WHERE g.volunteer_id = $2 AND g.shift_id = s.id)
RETURNING id
"""
# The demo volunteer first, then volunteers living under the demo committee, then the others.
SELECT_SERVING_VOLUNTEERS = """
SELECT v.id FROM volunteers v LEFT JOIN accounts a ON a.id = v.account_id
ORDER BY (a.username = 'volunteer.demo') DESC NULLS LAST,
         (v.home_area_id = (SELECT area_id FROM committees WHERE id = $1)) DESC, v.id
LIMIT $2
"""
SELECT_SYSTEM_ACCOUNTS = "SELECT kind, id FROM ledger_accounts WHERE kind <> 'volunteer'"
SELECT_OPEN_ACCOUNTS = "SELECT volunteer_id, id FROM ledger_accounts WHERE volunteer_id = ANY ($1::bigint[])"
# The empty-nest households nearest the committee, not yet served by a 311 team.
SELECT_NEAREST_EMPTY_NESTS = """
SELECT h.id, h.committee_id
FROM households h, committees c JOIN areas a ON a.id = c.area_id
WHERE c.id = $1 AND h.empty_nest
  AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.household_id = h.id AND t.status = 'live')
ORDER BY earth_distance(ll_to_earth(a.lat, a.lon), ll_to_earth(h.lat, h.lon)), h.id
LIMIT $2
"""
# Volunteers who consented to personal data being processed, living within reach of any of the households.
SELECT_CARERS_WITHIN = """
SELECT v.id FROM volunteers v
WHERE v.sensitive_data_consent_at IS NOT NULL AND EXISTS (SELECT 1 FROM households h WHERE h.id = ANY ($1::bigint[])
              AND earth_distance(ll_to_earth(h.lat, h.lon), ll_to_earth(v.lat, v.lon)) <= $2 * 1000.0)
ORDER BY v.id LIMIT $3
"""
BACKDATE_TEAMS = """
WITH t AS (UPDATE teams SET formed_at = $2 WHERE contract_id = $1 RETURNING id)
UPDATE team_members SET since = $2 WHERE team_id IN (SELECT id FROM t)
"""
INSERT_PAST_VISIT = """
INSERT INTO team_visits (team_id, at, status, minutes, contact_kind, recorded_by, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (team_id, at) WHERE status IN ('planned', 'done') DO NOTHING
"""
INSERT_EX_MEMBER = """
INSERT INTO team_members (team_id, volunteer_id, trained, since, until, ended_reason)
VALUES ($1, $2, false, $3, $4, 'refused')
"""
INSERT_REFUSAL = """
INSERT INTO household_refusals (household_id, volunteer_id, team_id, recorded_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
"""
COUNT_PLANNED_VISITS = """
SELECT count(*) FROM team_visits v JOIN teams t ON t.id = v.team_id WHERE t.contract_id = $1 AND v.status = 'planned'
"""
# Volunteers with an account (they can log in to accept), the given one first, then the nearest to a point.
SELECT_NEAREST_WITH_ACCOUNTS = """
SELECT v.id FROM volunteers v JOIN accounts a ON a.id = v.account_id AND a.disabled_at IS NULL
ORDER BY v.id <> $1, (v.lat - $2) ^ 2 + (v.lon - $3) ^ 2, v.id LIMIT $4
"""
# Home visits are offered only to carers who consented to the processing of personal data.
READY_FOR_HOME_VISITS = """
UPDATE volunteers SET travel_km = greatest(travel_km, 5),
                      sensitive_data_consent_at = coalesce(sensitive_data_consent_at, now())
WHERE id = ANY ($1::bigint[])
"""
# Respite by care level needs an assessed level of 2 or more.
ASSESS_CARE_LEVEL = """
UPDATE households SET care_level = CASE WHEN care_level >= 2 THEN care_level ELSE 4 END WHERE id = $1
"""

# Every volunteer of the demo district who has no account yet gets one (the demo volunteer has hers), as the city
# preset's do: the prefix and a number in the order of the volunteers' ids (at least five digits), and one shared
# password hash, so that roster runs, "why not me?" and time coins have people who can log in and accept.
GIVE_VOLUNTEERS_ACCOUNTS = """
WITH numbered AS (
    SELECT id, display_name, $1 || lpad(n::text, greatest(5, length(n::text)), '0') AS username
    FROM (SELECT id, display_name, row_number() OVER (ORDER BY id) AS n FROM volunteers WHERE account_id IS NULL) v
), made AS (
    INSERT INTO accounts (username, display_name, role, password_hash)
    SELECT username, display_name, 'volunteer', $2 FROM numbered ORDER BY id
    RETURNING id, username
)
UPDATE volunteers v SET account_id = m.id FROM made m JOIN numbered n ON n.username = m.username WHERE v.id = n.id
"""

SIGNUPS = CopyTarget("signups", ("shift_id", "volunteer_id", "status", "during"))
PAST_SHIFTS = CopyTarget("shifts", (
    "id", "organisation_id", "committee_id", "title", "description", "place_name", "lat", "lon", "starts_at",
    "ends_at", "headcount", "taken", "status", "created_by", "group_activity",
))  # fmt: skip
PAST_SIGNUPS = CopyTarget("signups", ("id", "shift_id", "volunteer_id", "status", "during", "created_at"))
ATTENDANCE = CopyTarget("attendance", (
    "id", "signup_id", "shift_id", "volunteer_id", "checked_in_at", "checked_out_at", "method", "minutes", "status",
    "recorded_by", "confirmed_by", "confirmed_at", "reject_reason", "created_at",
))  # fmt: skip
LEDGER_ACCOUNTS = CopyTarget("ledger_accounts", ("id", "kind", "volunteer_id", "name"))
LEDGER_TRANSACTIONS = CopyTarget(
    "ledger_transactions", ("id", "kind", "attendance_id", "service", "memo", "created_by", "created_at")
)
LEDGER_ENTRIES = CopyTarget("ledger_entries", ("transaction_id", "account_id", "bucket", "minutes"))


class PointRow(msgspec.Struct, frozen=True):
    """A committee area's point and name."""

    lat: float
    lon: float
    name: str


class Shift(msgspec.Struct, frozen=True, kw_only=True):
    """A one-off shift as the demo publishes it (fields in INSERT_SHIFT's parameter order)."""

    organisation_id: int | None
    committee_id: int | None
    title: str
    description: str = ""
    place_name: str
    lat: float
    lon: float
    starts_at: dt.datetime
    ends_at: dt.datetime
    headcount: int
    required_certificates: list[str] = []
    min_age: int = 0
    insurance_required: bool = False
    minors_in_groups_only: bool = False
    created_by: int | None


class ShiftToFillRow(msgspec.Struct, frozen=True):
    """A shift whose places the demo fills, with what a volunteer needs to take one."""

    id: int
    lat: float
    lon: float
    starts_at: dt.datetime
    ends_at: dt.datetime
    headcount: int
    required_certificates: list[str]
    insurance_required: bool


class CandidateRow(msgspec.Struct, frozen=True):
    """A volunteer who might take a place, with their certificates' kinds and expiry dates, kind by kind."""

    id: int
    lat: float
    lon: float
    birth_year: int
    insured_until: dt.date | None
    certificate_kinds: list[str]
    certificate_expiries: list[dt.date]


class HeldRow(msgspec.Struct, frozen=True):
    """A place a volunteer already holds."""

    volunteer_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class EmptyNestRow(msgspec.Struct, frozen=True):
    """An empty-nest household and its committee."""

    id: int
    committee_id: int


async def no_jit(conn: asyncpg.Connection) -> None:
    """Turn PostgreSQL's JIT off for the rest of the transaction."""
    await conn.execute(NO_JIT)


async def analyze(conn: asyncpg.Connection) -> None:
    """Gather the planner's statistics of every table (the seed's transaction sees its own rows)."""
    await conn.execute(ANALYZE)


async def committee_ids(conn: asyncpg.Connection) -> list[int]:
    """Every committee, by id."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_COMMITTEE_IDS)]


async def committee_point(conn: asyncpg.Connection, committee_id: int) -> PointRow | None:
    """The committee's area: its point and name."""
    record = await conn.fetchrow(SELECT_COMMITTEE_POINT, committee_id)
    return None if record is None else msgspec.convert(record, PointRow)


async def publisher_point(
    conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None
) -> PointRow | None:
    """Where a publisher's shifts happen: its committee area, an organisation's first committee area served, or else
    the district's first committee area."""
    if committee_id is not None:
        record = await conn.fetchrow(SELECT_COMMITTEE_POINT, committee_id)
    else:
        record = await conn.fetchrow(SELECT_ORG_POINT, organisation_id)
    if record is None:
        record = await conn.fetchrow(SELECT_ANY_COMMITTEE_POINT)
    return None if record is None else msgspec.convert(record, PointRow)


async def insert_shift(conn: asyncpg.Connection, shift: Shift) -> int:
    """A one-off shift; its id."""
    return int(await conn.fetchval(INSERT_SHIFT, *msgspec.structs.astuple(shift)))


async def shifts_to_fill(conn: asyncpg.Connection, shift_ids: Sequence[int]) -> list[ShiftToFillRow]:
    """The shifts, by id."""
    return [msgspec.convert(r, ShiftToFillRow) for r in await conn.fetch(SELECT_SHIFTS_TO_FILL, list(shift_ids))]


async def candidates(conn: asyncpg.Connection) -> list[CandidateRow]:
    """Every volunteer with what decides whether they may take a place."""
    return [msgspec.convert(r, CandidateRow) for r in await conn.fetch(SELECT_POOL)]


async def held_places(conn: asyncpg.Connection) -> list[HeldRow]:
    """Every active place, as who holds it and when."""
    return [msgspec.convert(r, HeldRow) for r in await conn.fetch(SELECT_HELD)]


async def count_taken(conn: asyncpg.Connection, shift_ids: Sequence[int]) -> None:
    """Set the shifts' taken counts from their active places."""
    await conn.execute(SET_TAKEN_ALL, list(shift_ids))


async def name_guardians(conn: asyncpg.Connection) -> None:
    """Give every minor registered with a guardian's consent the guardian's name."""
    await conn.execute(NAME_GUARDIANS)


async def complete_demo_profile(conn: asyncpg.Connection, volunteer_id: int, insured_until: dt.date) -> None:
    """volunteer.demo's dialects, languages, skills, insurance, hours and reach."""
    await conn.execute(DEMO_PROFILE, volunteer_id, insured_until)


async def add_away(conn: asyncpg.Connection, volunteer_id: int, starts: dt.datetime, ends: dt.datetime) -> None:
    """A time the volunteer is away."""
    await conn.execute(INSERT_AWAY, volunteer_id, starts, ends)


async def places_for(
    conn: asyncpg.Connection, volunteer_id: int, shift_ids: Sequence[int], before: dt.datetime
) -> list[int]:
    """Of the shifts, those starting from now until `before` with a free place the volunteer qualifies for."""
    return [int(r["id"]) for r in await conn.fetch(DEMO_PLACES, volunteer_id, list(shift_ids), before)]


async def take_place(conn: asyncpg.Connection, shift_id: int, volunteer_id: int) -> bool:
    """The volunteer takes a place unless they hold one at the same time or on this shift; the count follows."""
    if await conn.fetchval(TAKE_PLACE, shift_id, volunteer_id) is None:
        return False
    await conn.execute(SET_TAKEN, shift_id)
    return True


async def serving_volunteers(conn: asyncpg.Connection, committee_id: int | None, limit: int) -> list[int]:
    """volunteer.demo, then the volunteers living under the committee, then the others: the first `limit`."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_SERVING_VOLUNTEERS, committee_id, limit)]


async def system_accounts(conn: asyncpg.Connection) -> dict[str, int]:
    """The ledger's own accounts (issuance, pool, services, …) by kind."""
    return {str(r["kind"]): int(r["id"]) for r in await conn.fetch(SELECT_SYSTEM_ACCOUNTS)}


async def volunteer_accounts(conn: asyncpg.Connection, volunteer_ids: Sequence[int]) -> dict[int, int]:
    """The ledger accounts the volunteers already have, by volunteer."""
    rows = await conn.fetch(SELECT_OPEN_ACCOUNTS, list(volunteer_ids))
    return {int(r["volunteer_id"]): int(r["id"]) for r in rows}


async def nearest_empty_nests(conn: asyncpg.Connection, committee_id: int, limit: int) -> list[EmptyNestRow]:
    """The empty-nest households nearest the committee without a live 311 team."""
    rows = await conn.fetch(SELECT_NEAREST_EMPTY_NESTS, committee_id, limit)
    return [msgspec.convert(r, EmptyNestRow) for r in rows]


async def carers_within(conn: asyncpg.Connection, household_ids: Sequence[int], km: float, limit: int) -> list[int]:
    """Consenting volunteers within `km` of any of the households, by id."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_CARERS_WITHIN, list(household_ids), km, limit)]


async def backdate_teams(conn: asyncpg.Connection, contract_id: int, formed_at: dt.datetime) -> None:
    """The project's teams and their members date from `formed_at`."""
    await conn.execute(BACKDATE_TEAMS, contract_id, formed_at)


async def record_past_visits(conn: asyncpg.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """(team, at, status, minutes, contact kind, recorded by, recorded at) each."""
    await conn.executemany(INSERT_PAST_VISIT, rows)


async def record_refusal(
    conn: asyncpg.Connection, team_id: int, household_id: int, volunteer_id: int, since: dt.datetime, until: dt.datetime
) -> None:
    """A former member the household refused, and the refusal."""
    await conn.execute(INSERT_EX_MEMBER, team_id, volunteer_id, since, until)
    await conn.execute(INSERT_REFUSAL, household_id, volunteer_id, team_id, until)


async def count_planned_visits(conn: asyncpg.Connection, contract_id: int) -> int:
    """The project's planned visits."""
    return int(await conn.fetchval(COUNT_PLANNED_VISITS, contract_id))


async def give_volunteers_accounts(conn: asyncpg.Connection, prefix: str, password_hash: str) -> int:
    """Give every volunteer without an account one (`prefix` and a number, one shared password); how many."""
    return int((await conn.execute(GIVE_VOLUNTEERS_ACCOUNTS, prefix, password_hash)).split()[-1])


async def nearest_with_accounts(conn: asyncpg.Connection, first: int, lat: float, lon: float, limit: int) -> list[int]:
    """Volunteers who can log in: `first`, then the nearest to the point."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_NEAREST_WITH_ACCOUNTS, first, lat, lon, limit)]


async def ready_for_home_visits(conn: asyncpg.Connection, volunteer_ids: Sequence[int]) -> None:
    """The volunteers travel at least 5 km and have consented to personal data being processed."""
    await conn.execute(READY_FOR_HOME_VISITS, list(volunteer_ids))


async def assess_care_level(conn: asyncpg.Connection, household_id: int) -> None:
    """The household has an assessed care level of 2 or more (4 where it had less)."""
    await conn.execute(ASSESS_CARE_LEVEL, household_id)


class DemoClaimRow(msgspec.Struct, frozen=True):
    """A declared claim of a demo volunteer who holds a place somewhere, with a staff account of that publisher."""

    volunteer_id: int
    owner_account_id: int
    subject: str
    certificate_kind: str
    issued_on: dt.date | None
    expires_on: dt.date | None
    born_on: dt.date | None
    verifier_account_id: int
    organisation_id: int | None
    committee_id: int | None


# Demo volunteers declare a birth year only; the ones who hold places declare the 1st of January (the same age).
DEMO_BIRTH_DATES = """
UPDATE volunteers v SET birth_date = make_date(v.birth_year, 1, 1)
WHERE v.birth_date IS NULL AND EXISTS (SELECT 1 FROM signups g WHERE g.volunteer_id = v.id AND g.status <> 'waitlisted')
"""
# Every still-unverified claim of a volunteer who holds or held a place, with a staff account of the first publisher
# they did (the rule of api/services/verification.py: a tenant the volunteer serves with). Volunteers with no place
# keep their claims declared only. A claim without a declared expiry is confirmed for ten years.
SELECT_DEMO_CLAIMS = """
WITH verifier AS (
    SELECT DISTINCT ON (g.volunteer_id) g.volunteer_id, m.account_id, m.organisation_id, m.committee_id
    FROM signups g JOIN shifts s ON s.id = g.shift_id
    JOIN memberships m ON m.organisation_id = s.organisation_id OR m.committee_id = s.committee_id
    WHERE g.status <> 'waitlisted'
    ORDER BY g.volunteer_id, g.id, m.account_id
), claims AS (
    SELECT c.volunteer_id, 'certificate' AS subject, c.kind AS certificate_kind, c.issued_on,
           coalesce(c.expires_on, $1::date + 3650) AS expires_on, NULL::date AS born_on
    FROM volunteer_certificates c WHERE c.check_id IS NULL AND (c.expires_on IS NULL OR c.expires_on >= $1::date)
    UNION ALL
    SELECT v.id, 'insurance', '', NULL, v.insured_until, NULL FROM volunteers v
    WHERE v.insurance_check_id IS NULL AND v.insured_until >= $1::date
    UNION ALL
    SELECT v.id, 'birth_date', '', NULL, NULL, v.birth_date FROM volunteers v
    WHERE v.birth_date_check_id IS NULL AND v.birth_date IS NOT NULL
)
SELECT c.volunteer_id, v.account_id AS owner_account_id, c.subject, c.certificate_kind, c.issued_on, c.expires_on,
       c.born_on, r.account_id AS verifier_account_id, r.organisation_id, r.committee_id
FROM claims c JOIN verifier r ON r.volunteer_id = c.volunteer_id JOIN volunteers v ON v.id = c.volunteer_id
WHERE v.account_id IS NOT NULL
ORDER BY c.volunteer_id, c.subject, c.certificate_kind
"""
# The publishers confirm every person holding a place on a home visit (the first-visit rule of household_access).
DEMO_CONFIRMATIONS = """
INSERT INTO household_confirmations (household_id, volunteer_id, shift_id, confirmed_by, committee_id, organisation_id)
SELECT DISTINCT ON (s.household_id, g.volunteer_id) s.household_id, g.volunteer_id, s.id, m.account_id,
       m.committee_id, m.organisation_id
FROM signups g JOIN shifts s ON s.id = g.shift_id
JOIN memberships m ON m.organisation_id = s.organisation_id OR m.committee_id = s.committee_id
WHERE s.household_id IS NOT NULL AND g.status = 'active'
ORDER BY s.household_id, g.volunteer_id, s.starts_at, m.account_id
ON CONFLICT (household_id, volunteer_id) DO NOTHING
"""


SELECT_OWNERS = "SELECT id, account_id FROM volunteers WHERE id = ANY($1::bigint[]) AND account_id IS NOT NULL"


async def owners(conn: asyncpg.Connection, volunteer_ids: list[int]) -> dict[int, int]:
    """volunteer id → account id, for volunteers with an account."""
    return {r["id"]: r["account_id"] for r in await conn.fetch(SELECT_OWNERS, volunteer_ids)}


async def demo_claims(conn: asyncpg.Connection, today: dt.date) -> list[DemoClaimRow]:
    """The claims to verify in the demo (after giving volunteers who hold places a declared birth date)."""
    await conn.execute(DEMO_BIRTH_DATES)
    rows = await conn.fetch(SELECT_DEMO_CLAIMS, today)
    return [msgspec.convert(dict(r), DemoClaimRow) for r in rows]


async def confirm_demo_visits(conn: asyncpg.Connection) -> int:
    """Confirm the people holding places on home visits for their households; how many confirmations were new."""
    status = await conn.execute(DEMO_CONFIRMATIONS)
    return int(status.split()[-1])
