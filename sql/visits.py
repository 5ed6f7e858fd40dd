"""Home visits: an organisation's carers, its home-care and respite contracts' days, their planned visits (migration
0039). A planned visit is a commitment in its carer's one calendar (a trigger keeps commitments equal to it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from sql.households import HOUSEHOLD_PLACE_COLUMNS, HouseholdPlaceRow
from sql.rows import fetch_all, fetch_one, with_json

# The catalogue items whose contracts plan home visits.
VISIT_CATALOGUE = ("home_care", "respite_care")


class CarerFields(msgspec.Struct, frozen=True):
    """What the organisation writes of a carer."""

    name: str
    lat: float
    lon: float
    work_days: list[int]
    work_starts: dt.time
    work_ends: dt.time
    travel_mode: str
    active: bool


class CarerRow(CarerFields, frozen=True):
    """A carer on an organisation's roster: who (their volunteer account), base, working days and hours, travel mode;
    their abilities are their certificates verified by staff and not expired today."""

    id: int
    # The roster it is on: an organisation's, or a committee's respite roster (exactly one).
    organisation_id: int | None
    volunteer_id: int
    # None for a carer without a Linli account (the demo's, recorded by the organisation): no phone page.
    username: str | None
    joined_at: dt.datetime | None
    abilities: list[str]
    committee_id: int | None = None


class DayCarerRow(msgspec.Struct, frozen=True):
    """A carer working on a day: base, hours, mode, abilities verified on that day, and whether something else they
    hold (a shift place, a team visit, another contract's visit) falls in their working hours that day."""

    id: int
    volunteer_id: int
    name: str
    lat: float
    lon: float
    work_starts: dt.time
    work_ends: dt.time
    travel_mode: str
    abilities: list[str]
    busy: bool


class ContractRow(msgspec.Struct, frozen=True):
    """An organisation's home-care or respite contract and how many households it serves."""

    contract_id: int
    organisation_id: int
    title: str
    status: str
    households: int


class DayHouseholdRow(HouseholdPlaceRow, frozen=True):
    """A household a contract serves, as a day's plan reads it (no name, no notes)."""

    care_level: int | None
    visit_slots: list[str]


class VisitDayRow(msgspec.Struct, frozen=True):
    """A visit day, its subject a contract's day (the organisation plans) or a committee's respite day: its travel
    assumptions and continuity weight, the standing run and when a re-plan counts from."""

    id: int
    contract_id: int | None
    organisation_id: int | None
    day: dt.date
    detour_factor: float
    ebike_kmh: float
    walk_kmh: float
    run_id: int | None
    replan_from: dt.datetime | None
    continuity_weight: float = 30.0
    committee_id: int | None = None
    # The certificate a committee's respite visits ask of their carers (None for a contract's day).
    certificate: str | None = None


class NewVisit(msgspec.Struct, frozen=True):
    """A visit of a plan to write."""

    household_id: int
    carer_id: int
    visit_key: str
    service: str
    seq: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    arrives_at: dt.datetime
    travel_minutes: float
    late_minutes: float
    reason: dict[str, Any]
    # The respite request a committee's visit gives (None for a contract's visit): cancelling it releases the visit.
    respite_request_id: int | None


class LiveVisitRow(NewVisit, frozen=True):
    """A planned (or checked-in) visit of a day as the planner's board shows it: the plan's visit with its place,
    carer and state (the household masked by the caller)."""

    id: int
    committee_id: int
    committee_name: str
    address: str
    lat: float
    lon: float
    carer_name: str
    volunteer_id: int
    status: str
    checked_in_at: dt.datetime | None


class AbsenceRow(msgspec.Struct, frozen=True):
    """A carer off for the rest of a day."""

    carer_id: int
    since: dt.datetime


_CARER_COLUMNS = """
c.id, c.organisation_id, c.committee_id, c.volunteer_id, a.username, c.name, c.lat, c.lon,
c.work_days::int[] AS work_days, c.work_starts, c.work_ends, c.travel_mode, c.active, c.joined_at,
coalesce((SELECT array_agg(DISTINCT vc.kind ORDER BY vc.kind)
          FROM volunteer_certificates vc JOIN credential_checks ck ON ck.id = vc.check_id
          WHERE vc.volunteer_id = c.volunteer_id AND ck.state = 'verified' AND ck.expires_on >= $2::date), '{}')
    AS abilities
"""
SELECT_CARERS = f"""
SELECT {_CARER_COLUMNS}
FROM carers c JOIN volunteers v ON v.id = c.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE (c.organisation_id = $1 OR c.committee_id = $3) ORDER BY c.active DESC, c.name, c.id
"""
SELECT_CARER = f"""
SELECT {_CARER_COLUMNS}
FROM carers c JOIN volunteers v ON v.id = c.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE (c.organisation_id = $1 OR c.committee_id = $4) AND c.id = $3
"""
SELECT_MY_ROSTERS = f"""
SELECT {_CARER_COLUMNS}
FROM carers c JOIN volunteers v ON v.id = c.volunteer_id LEFT JOIN accounts a ON a.id = v.account_id
WHERE c.volunteer_id = $1 ORDER BY c.id
"""
SELECT_VOLUNTEER_BY_USERNAME = """
SELECT v.id FROM volunteers v JOIN accounts a ON a.id = v.account_id
WHERE lower(a.username) = lower($1) AND a.role = 'volunteer' AND a.disabled_at IS NULL
"""
# On one roster at most once: the unique (organisation, volunteer) or (committee, volunteer) refuses a second row.
INSERT_CARER = """
INSERT INTO carers (organisation_id, volunteer_id, name, lat, lon, work_days, work_starts, work_ends, travel_mode,
                    active, joined_at, committee_id)
VALUES ($1, $2, $3, $4, $5, $6::smallint[], $7, $8, $9, $10, $11, $12)
ON CONFLICT DO NOTHING
RETURNING id
"""
UPDATE_CARER = """
UPDATE carers SET name = $3, lat = $4, lon = $5, work_days = $6::smallint[], work_starts = $7, work_ends = $8,
                  travel_mode = $9, active = $10, updated_at = now()
WHERE (organisation_id = $1 OR committee_id = $11) AND id = $2
RETURNING id
"""
JOIN_ROSTER = """
UPDATE carers SET joined_at = now() WHERE id = $1 AND volunteer_id = $2 AND joined_at IS NULL
RETURNING organisation_id, committee_id
"""
# The certificate kinds a volunteer holds verified by staff and not expired on a day.
SELECT_VERIFIED_KINDS = """
SELECT coalesce(array_agg(DISTINCT vc.kind ORDER BY vc.kind), '{}')
FROM volunteer_certificates vc JOIN credential_checks ck ON ck.id = vc.check_id
WHERE vc.volunteer_id = $1 AND ck.state = 'verified' AND ck.expires_on >= $2::date
"""

_VISIT_NEEDS = f"""
FROM lot_needs ln JOIN needs n ON n.id = ln.need_id
JOIN catalogue_items ci ON ci.id = n.catalogue_item_id AND ci.code IN {VISIT_CATALOGUE!r}
JOIN need_households nh ON nh.need_id = n.id
JOIN households h ON h.id = nh.household_id AND h.archived_at IS NULL
"""
_CONTRACTS = f"""
SELECT c.id AS contract_id, c.organisation_id, t.title || ' · ' || l.title AS title, c.status,
       (SELECT count(DISTINCT h.id) {_VISIT_NEEDS} WHERE ln.lot_id = l.id)::int AS households
FROM contracts c JOIN awards a ON a.id = c.award_id JOIN lots l ON l.id = a.lot_id JOIN tenders t ON t.id = l.tender_id
WHERE c.status IN ('unsigned', 'active') AND EXISTS (SELECT 1 {_VISIT_NEEDS} WHERE ln.lot_id = l.id)
"""
SELECT_CONTRACTS = _CONTRACTS + " AND c.organisation_id = $1 ORDER BY c.id DESC"
SELECT_CONTRACT = _CONTRACTS + " AND c.organisation_id = $1 AND c.id = $2"
SELECT_DAY_HOUSEHOLDS = f"""
SELECT DISTINCT {HOUSEHOLD_PLACE_COLUMNS}, h.care_level::int AS care_level, h.visit_slots
{_VISIT_NEEDS}
JOIN committees cm ON cm.id = h.committee_id
JOIN awards a ON a.lot_id = ln.lot_id JOIN contracts c ON c.award_id = a.id
WHERE c.id = $1
ORDER BY h.id
"""
# A carer's other commitments in their working hours that day (not this day's own planned visits) make them busy.
SELECT_DAY_CARERS = """
WITH d AS (SELECT $2::date AS day, extract(isodow FROM $2::date)::smallint AS weekday)
SELECT c.id, c.volunteer_id, c.name, c.lat, c.lon, c.work_starts, c.work_ends, c.travel_mode,
       coalesce((SELECT array_agg(DISTINCT vc.kind ORDER BY vc.kind)
                 FROM volunteer_certificates vc JOIN credential_checks ck ON ck.id = vc.check_id
                 WHERE vc.volunteer_id = c.volunteer_id AND ck.state = 'verified' AND ck.expires_on >= d.day), '{}')
           AS abilities,
       EXISTS (SELECT 1 FROM commitments cm LEFT JOIN planned_visits pv ON pv.id = cm.planned_visit_id
               WHERE cm.volunteer_id = c.volunteer_id AND cm.status = 'active'
                 AND (pv.id IS NULL OR pv.visit_day_id <> $3)
                 AND cm.during && tstzrange((d.day + c.work_starts) AT TIME ZONE 'Asia/Shanghai',
                                            (d.day + c.work_ends) AT TIME ZONE 'Asia/Shanghai')) AS busy
FROM carers c CROSS JOIN d
WHERE (c.organisation_id = $1 OR c.committee_id = $4)
  AND c.active AND c.joined_at IS NOT NULL AND d.weekday = ANY (c.work_days)
ORDER BY c.id
"""
UPSERT_DAY = """
INSERT INTO visit_days (contract_id, day, detour_factor, ebike_kmh, walk_kmh, continuity_weight)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (contract_id, day) DO UPDATE SET day = EXCLUDED.day
RETURNING id
"""
_DAY = """
SELECT d.id, d.contract_id, c.organisation_id, d.committee_id, d.certificate, d.day,
       d.detour_factor::float8 AS detour_factor,
       d.ebike_kmh::float8 AS ebike_kmh, d.walk_kmh::float8 AS walk_kmh, d.run_id,
       (SELECT min(ab.since) FROM carer_absences ab WHERE ab.visit_day_id = d.id) AS replan_from,
       d.continuity_weight::float8 AS continuity_weight
FROM visit_days d LEFT JOIN contracts c ON c.id = d.contract_id
"""
SELECT_DAY = _DAY + " WHERE d.id = $1"
# A day only if the caller holds it: an organisation's contract's day, or a committee's respite day.
SELECT_OWN_DAY = _DAY + " WHERE d.id = $1 AND (c.organisation_id = $2 OR d.committee_id = $3)"
SELECT_DAY_OF = _DAY + " WHERE d.contract_id = $1 AND d.day = $2 AND c.organisation_id = $3"
SELECT_COMMITTEE_DAY = _DAY + " WHERE d.committee_id = $1 AND d.day = $2"
SELECT_DAYS_OF_CONTRACT = _DAY + " WHERE d.contract_id = $1 ORDER BY d.day DESC LIMIT 14"
# Who each visit of a contract's households had last time, on its days from $3 up to (not including) $2: the carer
# who last checked in, failing that the one last planned (one statement for the whole day).
# The statement for a subject column (a template, not a statement itself).
_last_carers = """
SELECT DISTINCT ON (pv.visit_key) pv.visit_key, pv.carer_id
FROM visit_days d JOIN planned_visits pv ON pv.visit_day_id = d.id AND pv.status <> 'released'
WHERE d.{subject} = $1 AND d.day < $2 AND d.day >= $3
ORDER BY pv.visit_key, pv.status = 'checked_in' DESC, d.day DESC, lower(pv.during) DESC, pv.id DESC
"""
SELECT_LAST_CARERS = _last_carers.format(subject="contract_id")
# The same for a committee's respite days (the visit key names the household: '42:respite').
SELECT_LAST_CARERS_OF_COMMITTEE = _last_carers.format(subject="committee_id")
SELECT_ABSENCES = "SELECT carer_id, since FROM carer_absences WHERE visit_day_id = $1 ORDER BY carer_id"
INSERT_ABSENCE = """
INSERT INTO carer_absences (visit_day_id, carer_id, since, recorded_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (visit_day_id, carer_id) DO NOTHING RETURNING id
"""
_LIVE = """
SELECT pv.id, pv.visit_key, pv.service, pv.household_id, h.committee_id, cm.name AS committee_name, h.address,
       h.lat, h.lon, pv.carer_id, ca.name AS carer_name, pv.volunteer_id, pv.seq::int AS seq,
       lower(pv.during) AS starts_at, upper(pv.during) AS ends_at, pv.arrives_at,
       pv.travel_minutes::float8 AS travel_minutes, pv.late_minutes::float8 AS late_minutes, pv.reason::text AS reason,
       pv.status, pv.checked_in_at, pv.respite_request_id
FROM planned_visits pv
JOIN households h ON h.id = pv.household_id JOIN committees cm ON cm.id = h.committee_id
JOIN carers ca ON ca.id = pv.carer_id
WHERE pv.status <> 'released'
"""
SELECT_DAY_VISITS = _LIVE + " AND pv.visit_day_id = $1 ORDER BY ca.name, pv.carer_id, lower(pv.during), pv.id"
# The carer's own visits of a Shanghai day, whatever contract planned them.
SELECT_MY_VISITS = (
    _LIVE
    + """ AND pv.volunteer_id = $1
      AND lower(pv.during) >= ($2::date)::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND lower(pv.during) < ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
ORDER BY lower(pv.during), pv.id"""
)
# A carer's live visits to a household (the link that lets them open its file around the visit).
SELECT_VISIT_LINKS = """
SELECT id, lower(during) AS starts_at, upper(during) AS ends_at FROM planned_visits
WHERE volunteer_id = $1 AND household_id = $2 AND status <> 'released' ORDER BY lower(during)
"""
RELEASE_PLANNED = """
UPDATE planned_visits SET status = 'released', released_at = now()
WHERE visit_day_id = $1 AND status = 'planned'
RETURNING visit_key, carer_id, volunteer_id, household_id, lower(during) AS starts_at
"""
INSERT_VISITS = """
INSERT INTO planned_visits (visit_day_id, run_id, household_id, carer_id, volunteer_id, visit_key, service, seq,
                            during, arrives_at, travel_minutes, late_minutes, reason, respite_request_id)
SELECT $1, $2, x.household_id, x.carer_id, c.volunteer_id, x.visit_key, x.service, x.seq,
       tstzrange(x.starts_at, x.ends_at, '[)'), x.arrives_at, x.travel_minutes, x.late_minutes, x.reason::jsonb,
       x.respite_request_id
FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::int[], $8::timestamptz[], $9::timestamptz[],
            $10::timestamptz[], $11::real[], $12::real[], $13::text[], $14::bigint[])
     AS x (household_id, carer_id, visit_key, service, seq, starts_at, ends_at, arrives_at, travel_minutes,
           late_minutes, reason, respite_request_id)
JOIN carers c ON c.id = x.carer_id
ORDER BY x.carer_id, x.seq
"""
# The other carer of a two-carer visit, by visit: the same household's bath of the same day, or the other half of a
# two-carer respite visit (the same request).
SELECT_PARTNERS = """
SELECT pv.id, ca.name AS carer_name
FROM planned_visits pv
JOIN planned_visits other ON other.visit_day_id = pv.visit_day_id AND other.household_id = pv.household_id
     AND other.id <> pv.id AND other.status <> 'released'
     AND ((pv.service = 'bath' AND other.service = 'bath') OR other.respite_request_id = pv.respite_request_id)
JOIN carers ca ON ca.id = other.carer_id
WHERE pv.id = ANY ($1::bigint[])
"""
SELECT_ACCOUNTS = "SELECT id, account_id FROM volunteers WHERE id = ANY ($1::bigint[]) AND account_id IS NOT NULL"
SET_DAY_RUN = "UPDATE visit_days SET run_id = $2 WHERE id = $1"
CHECK_IN = """
UPDATE planned_visits SET status = 'checked_in', checked_in_at = now()
WHERE id = $1 AND volunteer_id = $2 AND status = 'planned'
RETURNING household_id, visit_day_id
"""


def _carer(record: asyncpg.Record) -> CarerRow:
    return msgspec.convert(dict(record), CarerRow)


async def carers(
    conn: asyncpg.Connection, organisation_id: int | None, today: dt.date, committee_id: int | None = None
) -> list[CarerRow]:
    """The roster of carers of an organisation (or of a committee), active first, with abilities verified on
    `today`."""
    return [_carer(r) for r in await conn.fetch(SELECT_CARERS, organisation_id, today, committee_id)]


async def get_carer(
    conn: asyncpg.Connection, organisation_id: int | None, carer_id: int, today: dt.date,
    committee_id: int | None = None,
) -> CarerRow | None:  # fmt: skip
    """One carer of the organisation (or of the committee)."""
    row = await conn.fetchrow(SELECT_CARER, organisation_id, today, carer_id, committee_id)
    return None if row is None else _carer(row)


async def verified_kinds(conn: asyncpg.Connection, volunteer_id: int, day: dt.date) -> list[str]:
    """The certificate kinds the volunteer holds verified and not expired on the day."""
    return list(await conn.fetchval(SELECT_VERIFIED_KINDS, volunteer_id, day))


async def my_rosters(conn: asyncpg.Connection, volunteer_id: int, today: dt.date) -> list[CarerRow]:
    """The rosters a volunteer is on (joined or not)."""
    return [_carer(r) for r in await conn.fetch(SELECT_MY_ROSTERS, volunteer_id, today)]


async def volunteer_by_username(conn: asyncpg.Connection, username: str) -> int | None:
    """A live volunteer account's volunteer id by its username."""
    value = await conn.fetchval(SELECT_VOLUNTEER_BY_USERNAME, username)
    return None if value is None else int(value)


def _fields(f: CarerFields) -> tuple[Any, ...]:
    return (f.name, f.lat, f.lon, f.work_days, f.work_starts, f.work_ends, f.travel_mode, f.active)


async def insert_carer(
    conn: asyncpg.Connection,
    organisation_id: int | None,
    volunteer_id: int,
    fields: CarerFields,
    joined_at: dt.datetime | None,
    committee_id: int | None = None,
) -> int | None:
    """A new carer on the organisation's (or the committee's) roster; None when the person is already on it."""
    value = await conn.fetchval(INSERT_CARER, organisation_id, volunteer_id, *_fields(fields), joined_at, committee_id)
    return None if value is None else int(value)


async def update_carer(
    conn: asyncpg.Connection, organisation_id: int | None, carer_id: int, fields: CarerFields,
    committee_id: int | None = None,
) -> bool:  # fmt: skip
    """Change a carer of the organisation (or the committee); False when there is no such carer."""
    return await conn.fetchval(UPDATE_CARER, organisation_id, carer_id, *_fields(fields), committee_id) is not None


async def join_roster(
    conn: asyncpg.Connection, carer_id: int, volunteer_id: int
) -> tuple[int | None, int | None] | None:
    """The volunteer accepts being on a roster; (organisation, committee) whose roster it is, or None when there was
    nothing to accept."""
    row = await conn.fetchrow(JOIN_ROSTER, carer_id, volunteer_id)
    return None if row is None else (row["organisation_id"], row["committee_id"])


async def contracts(conn: asyncpg.Connection, organisation_id: int) -> list[ContractRow]:
    """The organisation's live home-care and respite contracts."""
    return await fetch_all(conn, SELECT_CONTRACTS, ContractRow, organisation_id)


async def get_contract(conn: asyncpg.Connection, organisation_id: int, contract_id: int) -> ContractRow | None:
    """One live home-care or respite contract of the organisation."""
    return await fetch_one(conn, SELECT_CONTRACT, ContractRow, organisation_id, contract_id)


async def day_households(conn: asyncpg.Connection, contract_id: int | None) -> list[DayHouseholdRow]:
    """The households a contract serves (current ones)."""
    return await fetch_all(conn, SELECT_DAY_HOUSEHOLDS, DayHouseholdRow, contract_id)


async def day_carers(
    conn: asyncpg.Connection, organisation_id: int | None, day: dt.date, day_id: int, committee_id: int | None = None
) -> list[DayCarerRow]:
    """The organisation's (or the committee's) joined, active carers who work on that day."""
    return await fetch_all(conn, SELECT_DAY_CARERS, DayCarerRow, organisation_id, day, day_id, committee_id)


async def upsert_day(
    conn: asyncpg.Connection, contract_id: int, day: dt.date, detour: float, ebike_kmh: float, walk_kmh: float,
    continuity_weight: float,
) -> int:  # fmt: skip
    """The contract's day, made on first use with these travel assumptions and continuity weight (kept afterwards)."""
    return int(await conn.fetchval(UPSERT_DAY, contract_id, day, detour, ebike_kmh, walk_kmh, continuity_weight))


async def last_carers(
    conn: asyncpg.Connection, contract_id: int | None, day: dt.date, since: dt.date, committee_id: int | None = None
) -> dict[str, int]:
    """visit key → the carer who gave it last time before `day` (checked in), else who was last planned for it: on
    the contract's earlier days, or the committee's when the day is a committee's."""
    if committee_id is not None:
        rows = await conn.fetch(SELECT_LAST_CARERS_OF_COMMITTEE, committee_id, day, since)
    else:
        rows = await conn.fetch(SELECT_LAST_CARERS, contract_id, day, since)
    return {str(r["visit_key"]): int(r["carer_id"]) for r in rows}


async def get_day(conn: asyncpg.Connection, day_id: int) -> VisitDayRow | None:
    """A day by id, whoever holds its contract."""
    return await fetch_one(conn, SELECT_DAY, VisitDayRow, day_id)


async def own_day(
    conn: asyncpg.Connection, day_id: int, organisation_id: int | None, committee_id: int | None
) -> VisitDayRow | None:
    """A day by id if it is the organisation's contract's day or the committee's respite day; else None."""
    return await fetch_one(conn, SELECT_OWN_DAY, VisitDayRow, day_id, organisation_id, committee_id)


async def day_of(conn: asyncpg.Connection, contract_id: int, day: dt.date, organisation_id: int) -> VisitDayRow | None:
    """The organisation's contract's day, if it was ever planned."""
    return await fetch_one(conn, SELECT_DAY_OF, VisitDayRow, contract_id, day, organisation_id)


async def committee_day(conn: asyncpg.Connection, committee_id: int, day: dt.date) -> VisitDayRow | None:
    """The committee's respite day, if it was ever planned."""
    return await fetch_one(conn, SELECT_COMMITTEE_DAY, VisitDayRow, committee_id, day)


async def absences(conn: asyncpg.Connection, day_id: int) -> list[AbsenceRow]:
    """The carers off for the rest of the day."""
    return await fetch_all(conn, SELECT_ABSENCES, AbsenceRow, day_id)


async def add_absence(
    conn: asyncpg.Connection, day_id: int, carer_id: int, since: dt.datetime, recorded_by: int
) -> bool:
    """Record a carer off for the rest of the day; False when already recorded."""
    return await conn.fetchval(INSERT_ABSENCE, day_id, carer_id, since, recorded_by) is not None


def _live(record: asyncpg.Record) -> LiveVisitRow:
    return with_json(record, LiveVisitRow, "reason")


async def day_visits(conn: asyncpg.Connection, day_id: int) -> list[LiveVisitRow]:
    """The day's live visits by carer and order."""
    return [_live(r) for r in await conn.fetch(SELECT_DAY_VISITS, day_id)]


async def my_visits(conn: asyncpg.Connection, volunteer_id: int, day: dt.date) -> list[LiveVisitRow]:
    """A carer's own live visits of a Shanghai day, in time order."""
    return [_live(r) for r in await conn.fetch(SELECT_MY_VISITS, volunteer_id, day)]


async def visit_links(
    conn: asyncpg.Connection, volunteer_id: int, household_id: int
) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(planned visit, start, end) of the carer's live visits to the household."""
    rows = await conn.fetch(SELECT_VISIT_LINKS, volunteer_id, household_id)
    return [(int(r["id"]), r["starts_at"], r["ends_at"]) for r in rows]


async def release_planned(conn: asyncpg.Connection, day_id: int) -> list[asyncpg.Record]:
    """Release the day's visits not checked in (their commitments too); what was released."""
    return list(await conn.fetch(RELEASE_PLANNED, day_id))


async def insert_visits(conn: asyncpg.Connection, day_id: int, run_id: int, visits: list[NewVisit]) -> None:
    """Write a plan's visits (each becomes a commitment of its carer: a clash raises the exclusion violation)."""
    await conn.execute(
        INSERT_VISITS,
        day_id,
        run_id,
        [v.household_id for v in visits],
        [v.carer_id for v in visits],
        [v.visit_key for v in visits],
        [v.service for v in visits],
        [v.seq for v in visits],
        [v.starts_at for v in visits],
        [v.ends_at for v in visits],
        [v.arrives_at for v in visits],
        [v.travel_minutes for v in visits],
        [v.late_minutes for v in visits],
        [msgspec.json.encode(v.reason).decode() for v in visits],
        [v.respite_request_id for v in visits],
    )


class PartnerRow(msgspec.Struct, frozen=True):
    """A two-carer visit and its other carer's name."""

    id: int
    carer_name: str


async def partners(conn: asyncpg.Connection, visit_ids: list[int]) -> list[PartnerRow]:
    """The other carer of each two-carer visit among these."""
    return await fetch_all(conn, SELECT_PARTNERS, PartnerRow, visit_ids)


async def accounts_of(conn: asyncpg.Connection, volunteer_ids: list[int]) -> dict[int, int]:
    """The account of each of these volunteers who has one."""
    return {int(r["id"]): int(r["account_id"]) for r in await conn.fetch(SELECT_ACCOUNTS, volunteer_ids)}


async def set_day_run(conn: asyncpg.Connection, day_id: int, run_id: int) -> None:
    """The run whose plan now stands for the day."""
    await conn.execute(SET_DAY_RUN, day_id, run_id)


async def check_in(conn: asyncpg.Connection, visit_id: int, volunteer_id: int) -> tuple[int, int] | None:
    """The carer checks in at their planned visit; (household, day) or None when it is not theirs or not planned."""
    row = await conn.fetchrow(CHECK_IN, visit_id, volunteer_id)
    return None if row is None else (int(row["household_id"]), int(row["visit_day_id"]))
