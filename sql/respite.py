"""Respite visits (喘息服务): a household's entitlement, its visit requests, and the shifts that schedule them."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.households import HOUSEHOLD_PLACE_COLUMNS
from sql.rows import fetch_all, fetch_one
from sql.visits import DayHouseholdRow


class HouseholdRow(msgspec.Struct, frozen=True):
    """One of the committee's households, as the committee's respite pages need it (no address, no care notes)."""

    id: int
    head_name: str
    care_level: int | None


class EntitlementPublic(msgspec.Struct, frozen=True):
    """What the API may show of a household's respite entitlement (the household by id, never its head's name)."""

    id: int
    household_id: int
    kind: str
    amount: int
    period: str
    basis: str
    visit_minutes: int
    starts: dt.time
    valid_from: dt.date
    valid_until: dt.date
    status: str


class EntitlementRow(EntitlementPublic, frozen=True):
    """A household's respite entitlement, with the head's name for the committee's pages."""

    head_name: str
    created_at: dt.datetime


class RequestPublic(msgspec.Struct, frozen=True):
    """What the API may show of a visit request (the household by id, never its head's name)."""

    id: int
    household_id: int
    entitlement_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    minutes: int
    status: str
    shift_id: int | None
    carers: list[str]
    proposed: list[str]
    # 2: two carers at once (lifting a bedridden elder; one stays with an elder with dementia while the other helps).
    carers_needed: int


class RequestRow(RequestPublic, frozen=True):
    """A visit request with its shift, the carers holding it and those proposed for it; a routed one with the carers
    whose routes hold its visit (two for a two-carer visit) and its state ('planned'; 'checked_in' once one has)."""

    head_name: str
    route_carers: list[str] = []
    visit_status: str | None = None


_ENTITLEMENT_COLUMNS = """
e.id, e.household_id, h.head_name, e.kind, e.amount::int AS amount, e.period, e.basis,
e.visit_minutes::int AS visit_minutes, e.starts, e.valid_from, e.valid_until, e.status, e.created_at
"""
SELECT_HOUSEHOLDS = """
SELECT id, head_name, care_level::int AS care_level FROM households WHERE committee_id = $1 AND archived_at IS NULL
ORDER BY id LIMIT $2
"""
SELECT_HOUSEHOLD = """
SELECT id, head_name, care_level::int AS care_level FROM households
WHERE id = $1 AND committee_id = $2 AND archived_at IS NULL
"""
# Only for a household of the caller's committee: the ownership test is part of the insert.
INSERT_ENTITLEMENT = """
INSERT INTO respite_entitlements (household_id, kind, amount, period, basis, visit_minutes, starts, valid_from,
                                  valid_until, created_by)
SELECT h.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM households h
WHERE h.id = $1 AND h.committee_id = $2 AND h.archived_at IS NULL
RETURNING id
"""
SELECT_ENTITLEMENTS = f"""
SELECT {_ENTITLEMENT_COLUMNS} FROM respite_entitlements e JOIN households h ON h.id = e.household_id
WHERE h.committee_id = $1 ORDER BY e.status, h.id, e.valid_from DESC, e.id LIMIT $2
"""
SELECT_ENTITLEMENT = f"""
SELECT {_ENTITLEMENT_COLUMNS} FROM respite_entitlements e JOIN households h ON h.id = e.household_id
WHERE e.id = $1 AND h.committee_id = $2
"""
# Visits at the given starts, each as long as the entitlement says; a start already requested or overlapping a
# live visit of the household is skipped (the exclusion constraint backs this up under concurrency).
INSERT_REQUESTS = """
INSERT INTO respite_requests (household_id, entitlement_id, wanted, minutes, created_by, carers_needed)
SELECT e.household_id, e.id, tstzrange(x.starts, x.starts + make_interval(mins => e.visit_minutes), '[)'),
       e.visit_minutes, $3, $4
FROM respite_entitlements e CROSS JOIN unnest($2::timestamptz[]) AS x (starts)
WHERE e.id = $1 AND e.status = 'active'
  AND NOT EXISTS (
      SELECT 1 FROM respite_requests o
      WHERE o.household_id = e.household_id AND o.status <> 'cancelled'
        AND o.wanted && tstzrange(x.starts, x.starts + make_interval(mins => e.visit_minutes), '[)'))
ON CONFLICT DO NOTHING
RETURNING id
"""
_REQUESTS = """
SELECT q.id, q.household_id, h.head_name, q.entitlement_id, lower(q.wanted) AS starts_at, upper(q.wanted) AS ends_at,
       q.minutes::int AS minutes, q.status, q.shift_id, q.carers_needed::int AS carers_needed,
       ARRAY(SELECT v.display_name FROM signups g JOIN volunteers v ON v.id = g.volunteer_id
             WHERE g.shift_id = q.shift_id AND g.status = 'active' ORDER BY g.id) AS carers,
       ARRAY(SELECT v.display_name FROM roster_proposals p JOIN volunteers v ON v.id = p.volunteer_id
             WHERE p.shift_id = q.shift_id AND p.status = 'proposed' ORDER BY p.id) AS proposed,
       coalesce(rv.carer_names, '{}') AS route_carers, rv.status AS visit_status
FROM respite_requests q JOIN households h ON h.id = q.household_id
-- A two-carer visit is two planned visits of the request: one row of both carers, checked in once either has.
LEFT JOIN LATERAL (SELECT array_agg(ca.name ORDER BY pv.id) AS carer_names,
                          CASE WHEN bool_or(pv.status = 'checked_in') THEN 'checked_in' ELSE min(pv.status)
                          END AS status
                   FROM planned_visits pv JOIN carers ca ON ca.id = pv.carer_id
                   WHERE pv.respite_request_id = q.id AND pv.status <> 'released' AND q.status = 'routed') rv ON true
"""
SELECT_REQUESTS = f"""{_REQUESTS}
WHERE h.committee_id = $1 AND q.wanted && tstzrange($2, $3)
ORDER BY lower(q.wanted), q.id
LIMIT $4
"""
SELECT_REQUEST = f"""{_REQUESTS}
WHERE q.id = $1 AND h.committee_id = $2
"""
# Scheduling a week, in one statement: each pending visit still to come becomes a one-place shift serving the
# household, requiring the carer's certificate; the shift shows only a rounded location (about a kilometre), the
# exact home stays with the household row. The request is matched to its shift by household and start, which the
# no-overlap constraint makes unique.
SCHEDULE_WEEK = """
WITH q AS (
    SELECT q.id, q.household_id, lower(q.wanted) AS starts_at, upper(q.wanted) AS ends_at, h.committee_id, h.lat, h.lon,
           q.carers_needed
    FROM respite_requests q JOIN households h ON h.id = q.household_id
    WHERE h.committee_id = $1 AND q.status = 'pending' AND lower(q.wanted) > now()
      AND lower(q.wanted) >= $2 AND lower(q.wanted) < $3
      -- A day the committee plans as routes stays routes (a request made after its plan waits for the next one).
      AND NOT EXISTS (SELECT 1 FROM visit_days d WHERE d.committee_id = $1
                                                   AND d.day = (lower(q.wanted) AT TIME ZONE 'Asia/Shanghai')::date)
    FOR UPDATE OF q
), made AS (
    INSERT INTO shifts (committee_id, household_id, title, place_name, lat, lon, starts_at, ends_at, headcount,
                        required_certificates, created_by, required_skills)
    SELECT committee_id, household_id, $4, $5, round(lat::numeric, 2)::float8, round(lon::numeric, 2)::float8,
           starts_at, ends_at, carers_needed, $6::text[], $7, $8::text[]
    FROM q
    RETURNING id, household_id, starts_at
)
UPDATE respite_requests r SET status = 'scheduled', shift_id = made.id
FROM made
WHERE r.household_id = made.household_id AND lower(r.wanted) = made.starts_at AND r.status = 'pending'
RETURNING r.id, made.id AS shift_id
"""


class RequestStates(msgspec.Struct, frozen=True):
    """How many of a committee's respite requests of a day are waiting, scheduled as shifts, or routed."""

    pending: int
    scheduled: int
    routed: int


class RoutedRow(msgspec.Struct, frozen=True):
    """A respite request routed on a visit day: whose, when it was asked for, how long, by how many carers at once."""

    id: int
    household_id: int
    starts_at: dt.datetime
    minutes: int
    carers_needed: int = 1


# A committee's requests of a Shanghai day (those still to come, for pending ones: a past request is not planned).
_OF_THE_DAY = """
FROM respite_requests q JOIN households h ON h.id = q.household_id
WHERE h.committee_id = $1
  AND lower(q.wanted) >= ($2::date)::timestamp AT TIME ZONE 'Asia/Shanghai'
  AND lower(q.wanted) < ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
"""
SELECT_DAY_REQUEST_STATES = f"""
SELECT count(*) FILTER (WHERE q.status = 'pending' AND lower(q.wanted) > now())::int AS pending,
       count(*) FILTER (WHERE q.status = 'scheduled')::int AS scheduled,
       count(*) FILTER (WHERE q.status = 'routed')::int AS routed
{_OF_THE_DAY}
"""
# The day's pending requests still to come join the committee's visit day (its plan reads them from there).
ROUTE_REQUESTS = f"""
UPDATE respite_requests r SET status = 'routed', visit_day_id = $3
WHERE r.id IN (SELECT q.id {_OF_THE_DAY} AND q.status = 'pending' AND lower(q.wanted) > now() FOR UPDATE OF q)
RETURNING r.id
"""
# A committee's respite day, made on first use with its travel assumptions and the certificate its visits ask (both
# kept afterwards, like a contract's day).
UPSERT_COMMITTEE_DAY = """
INSERT INTO visit_days (committee_id, day, detour_factor, ebike_kmh, walk_kmh, continuity_weight, certificate)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (committee_id, day) DO UPDATE SET day = EXCLUDED.day
RETURNING id
"""
SELECT_ROUTED = """
SELECT id, household_id, lower(wanted) AS starts_at, minutes::int AS minutes, carers_needed::int AS carers_needed
FROM respite_requests
WHERE visit_day_id = $1 AND status = 'routed' ORDER BY household_id, lower(wanted), id
"""
SELECT_ROUTED_HOUSEHOLDS = f"""
SELECT {HOUSEHOLD_PLACE_COLUMNS}, h.care_level::int AS care_level, h.visit_slots
FROM households h JOIN committees cm ON cm.id = h.committee_id
WHERE h.id IN (SELECT household_id FROM respite_requests WHERE visit_day_id = $1 AND status = 'routed')
  AND h.archived_at IS NULL
ORDER BY h.id
"""
COUNT_ROUTED = """
SELECT count(*) FROM respite_requests q JOIN households h ON h.id = q.household_id
WHERE h.committee_id = $1 AND q.status = 'routed' AND lower(q.wanted) >= $2 AND lower(q.wanted) < $3
"""
# A request of the committee's household still waiting or routed (a routed one keeps its day, whose board shows it
# cancelled); another committee's, or one scheduled as a shift or cancelled already, is none.
CANCEL_REQUEST = """
UPDATE respite_requests q SET status = 'cancelled'
FROM households h
WHERE q.id = $1 AND h.id = q.household_id AND h.committee_id = $2 AND q.status IN ('pending', 'routed')
RETURNING q.id, q.household_id, q.visit_day_id
"""
# The request's visit leaves its carer's route (its commitment with it, by the trigger), both halves of a two-carer
# visit; a visit checked in is kept (the update waits for a check-in under way and then finds it no longer planned).
RELEASE_REQUEST_VISIT = """
UPDATE planned_visits SET status = 'released', released_at = now()
WHERE respite_request_id = $1 AND status = 'planned'
RETURNING id, carer_id, volunteer_id, lower(during) AS starts_at
"""
# A waiting or routed request of the committee's household, its visit not checked in (a routed one takes the new
# number at its day's next plan).
SET_CARERS_NEEDED = """
UPDATE respite_requests q SET carers_needed = $3
FROM households h
WHERE q.id = $1 AND h.id = q.household_id AND h.committee_id = $2 AND q.status IN ('pending', 'routed')
  AND NOT EXISTS (SELECT 1 FROM planned_visits pv WHERE pv.respite_request_id = q.id AND pv.status = 'checked_in')
RETURNING q.id, q.household_id, q.visit_day_id
"""
SELECT_REQUEST_CHECKED_IN = """
SELECT EXISTS (SELECT 1 FROM planned_visits WHERE respite_request_id = $1 AND status = 'checked_in')
"""
# The routed requests of a visit day cancelled since, with the visit (carer, time) their last plan gave them: that
# plan's visits of the request (both carers of a two-carer visit).
SELECT_CANCELLED_ON_DAY = """
SELECT q.id AS request_id, q.household_id, lower(q.wanted) AS starts_at, q.minutes::int AS minutes,
       pv.carer_names[1] AS carer_name, pv.carer_names[2] AS partner_name, pv.planned_at
FROM respite_requests q
LEFT JOIN LATERAL (SELECT array_agg(ca.name ORDER BY p.id) AS carer_names, min(lower(p.during)) AS planned_at
                   FROM planned_visits p JOIN carers ca ON ca.id = p.carer_id
                   WHERE p.respite_request_id = q.id
                     AND p.run_id = (SELECT max(l.run_id) FROM planned_visits l WHERE l.respite_request_id = q.id)
                  ) pv ON true
WHERE q.visit_day_id = $1 AND q.status = 'cancelled'
ORDER BY lower(q.wanted), q.id
"""


class ChangedRequestRow(msgspec.Struct, frozen=True):
    """A request cancelled or changed (by the caller's committee): whose, and its day if it was routed on one."""

    id: int
    household_id: int
    visit_day_id: int | None


class ReleasedVisitRow(msgspec.Struct, frozen=True):
    """A planned visit released from its carer's route."""

    id: int
    carer_id: int
    volunteer_id: int
    starts_at: dt.datetime


class CancelledOnDayRow(msgspec.Struct, frozen=True):
    """A request routed on a day and cancelled since, with its last planned carer and time (none if never planned)."""

    request_id: int
    household_id: int
    starts_at: dt.datetime
    minutes: int
    carer_name: str | None
    planned_at: dt.datetime | None
    # The other carer of a two-carer visit.
    partner_name: str | None = None


async def households(conn: asyncpg.Connection, committee_id: int, limit: int = 500) -> list[HouseholdRow]:
    """The committee's households."""
    return await fetch_all(conn, SELECT_HOUSEHOLDS, HouseholdRow, committee_id, limit)


async def household(conn: asyncpg.Connection, household_id: int, committee_id: int) -> HouseholdRow | None:
    """One household of the committee."""
    return await fetch_one(conn, SELECT_HOUSEHOLD, HouseholdRow, household_id, committee_id)


async def insert_entitlement(
    conn: asyncpg.Connection,
    *,
    household_id: int,
    committee_id: int,
    kind: str,
    amount: int,
    period: str,
    basis: str,
    visit_minutes: int,
    starts: dt.time,
    valid_from: dt.date,
    valid_until: dt.date,
    created_by: int,
) -> int | None:
    """Record an entitlement for a household of the committee; None if the household is not the committee's."""
    found = await conn.fetchval(
        INSERT_ENTITLEMENT,
        household_id,
        committee_id,
        kind,
        amount,
        period,
        basis,
        visit_minutes,
        starts,
        valid_from,
        valid_until,
        created_by,
    )
    return None if found is None else int(found)


async def entitlements(conn: asyncpg.Connection, committee_id: int, limit: int = 500) -> list[EntitlementRow]:
    """The committee's households' entitlements."""
    return await fetch_all(conn, SELECT_ENTITLEMENTS, EntitlementRow, committee_id, limit)


async def entitlement(conn: asyncpg.Connection, entitlement_id: int, committee_id: int) -> EntitlementRow | None:
    """One entitlement of a household of the committee."""
    return await fetch_one(conn, SELECT_ENTITLEMENT, EntitlementRow, entitlement_id, committee_id)


async def insert_requests(
    conn: asyncpg.Connection, entitlement_id: int, starts: list[dt.datetime], created_by: int, carers_needed: int = 1
) -> list[int]:
    """Visit requests at these starts, each for that many carers at once; the ids of those made (repeats and overlaps
    are skipped)."""
    rows = await conn.fetch(INSERT_REQUESTS, entitlement_id, starts, created_by, carers_needed)
    return [int(r["id"]) for r in rows]


async def requests(
    conn: asyncpg.Connection, committee_id: int, week_from: dt.datetime, week_until: dt.datetime, limit: int = 500
) -> list[RequestRow]:
    """The committee's visit requests in a time range, with carers and proposals."""
    return await fetch_all(conn, SELECT_REQUESTS, RequestRow, committee_id, week_from, week_until, limit)


async def request(conn: asyncpg.Connection, request_id: int, committee_id: int) -> RequestRow | None:
    """One visit request of the committee's households, with its carers."""
    return await fetch_one(conn, SELECT_REQUEST, RequestRow, request_id, committee_id)


async def schedule_week(
    conn: asyncpg.Connection,
    *,
    committee_id: int,
    week_from: dt.datetime,
    week_until: dt.datetime,
    title: str,
    place_name: str,
    certificates: list[str],
    created_by: int,
    skills: list[str] | None = None,
) -> list[tuple[int, int]]:
    """Turn the week's pending visits into shifts needing these certificates and skills; (request, shift) each."""
    rows = await conn.fetch(
        SCHEDULE_WEEK, committee_id, week_from, week_until, title, place_name, certificates, created_by, skills or []
    )
    return [(int(r["id"]), int(r["shift_id"])) for r in rows]


async def cancel_request(conn: asyncpg.Connection, request_id: int, committee_id: int) -> ChangedRequestRow | None:
    """Cancel a waiting or routed request of the committee's household; None when there is no such request."""
    return await fetch_one(conn, CANCEL_REQUEST, ChangedRequestRow, request_id, committee_id)


async def release_request_visits(conn: asyncpg.Connection, request_id: int) -> list[ReleasedVisitRow]:
    """Release the request's planned visits not checked in from their carers' routes (two for a two-carer visit)."""
    return await fetch_all(conn, RELEASE_REQUEST_VISIT, ReleasedVisitRow, request_id)


async def set_carers_needed(
    conn: asyncpg.Connection, request_id: int, committee_id: int, carers_needed: int
) -> ChangedRequestRow | None:
    """How many carers a waiting or routed request of the committee's household needs at once, its visit not checked
    in; None when there is no such request."""
    return await fetch_one(conn, SET_CARERS_NEEDED, ChangedRequestRow, request_id, committee_id, carers_needed)


async def request_checked_in(conn: asyncpg.Connection, request_id: int) -> bool:
    """Whether the request's visit was checked in at."""
    return bool(await conn.fetchval(SELECT_REQUEST_CHECKED_IN, request_id))


async def cancelled_on_day(conn: asyncpg.Connection, visit_day_id: int) -> list[CancelledOnDayRow]:
    """The requests routed on a visit day and cancelled since."""
    return await fetch_all(conn, SELECT_CANCELLED_ON_DAY, CancelledOnDayRow, visit_day_id)


async def day_request_states(conn: asyncpg.Connection, committee_id: int, day: dt.date) -> RequestStates:
    """How many of the committee's requests of a day wait, are scheduled as shifts, or are routed."""
    row = await fetch_one(conn, SELECT_DAY_REQUEST_STATES, RequestStates, committee_id, day)
    assert row is not None
    return row


async def route_requests(conn: asyncpg.Connection, committee_id: int, day: dt.date, visit_day_id: int) -> list[int]:
    """The day's pending requests joined to the committee's visit day; their ids."""
    return [int(r["id"]) for r in await conn.fetch(ROUTE_REQUESTS, committee_id, day, visit_day_id)]


async def upsert_committee_day(
    conn: asyncpg.Connection, committee_id: int, day: dt.date, detour: float, ebike_kmh: float, walk_kmh: float,
    continuity_weight: float, certificate: str,
) -> int:  # fmt: skip
    """The committee's respite day, made on first use with these travel assumptions and certificate (kept)."""
    return int(
        await conn.fetchval(
            UPSERT_COMMITTEE_DAY, committee_id, day, detour, ebike_kmh, walk_kmh, continuity_weight, certificate
        )
    )


async def routed(conn: asyncpg.Connection, visit_day_id: int) -> list[RoutedRow]:
    """The requests routed on a visit day."""
    return await fetch_all(conn, SELECT_ROUTED, RoutedRow, visit_day_id)


async def routed_households(conn: asyncpg.Connection, visit_day_id: int) -> list[DayHouseholdRow]:
    """The households of the requests routed on a visit day (current ones)."""
    return await fetch_all(conn, SELECT_ROUTED_HOUSEHOLDS, DayHouseholdRow, visit_day_id)


async def routed_between(conn: asyncpg.Connection, committee_id: int, lo: dt.datetime, hi: dt.datetime) -> int:
    """How many of the committee's requests starting in a time range are routed on its visit days."""
    return int(await conn.fetchval(COUNT_ROUTED, committee_id, lo, hi))
