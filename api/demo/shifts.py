"""Demo shifts for this week: one-off shifts across the demo district and weekly series, with places taken.

Run after the base demo data (areas, committees, verified organisations, volunteers). The demo organisation
(org.leling) and the demo committee (committee.kailu4) publish one-off shifts for every day from today to next
Sunday and weekly series (Beijing wall time, with a skipped date); some thirty other committees and organisations
publish a few each near their committee. Some shifts ask for certificates (养老护理员, 健康证), insurance, a minimum
age or keep minors to groups. Nearby volunteers hold places (never two overlapping), a few shifts are full with a
waitlist. volunteer.demo gets a full profile (certificates, dialects, weekly windows, an away time) and two places
this week. Deterministic for a given rng and day.
"""

from __future__ import annotations

import datetime as dt
import random

import asyncpg
import msgspec

from api.services.types import SHANGHAI
from sql import shift_series as series_sql

# (title, place, hours, headcount, required certificates, minimum age, insurance, minors in groups only)
ONE_OFF_KINDS: list[tuple[str, str, float, int, list[str], int, bool, bool]] = [
    ("独居老人午间助餐送餐", "睦邻点", 2.0, 3, ["health"], 16, False, False),
    ("楼组为老探访", "居委会活动室", 2.0, 2, [], 18, True, False),
    ("陪同老人就医", "居委会门口集合", 3.0, 1, ["first_aid"], 18, True, False),
    ("社区食物银行分拣", "街道食物银行", 3.0, 6, [], 14, False, True),
    ("平安志愿者巡逻", "小区南门岗亭", 2.0, 4, [], 18, True, False),
    ("理发与缝补便民服务", "社区活动室", 3.0, 4, [], 16, False, False),
    ("中学生团体服务日：社区环境整治", "中心花园", 3.0, 10, [], 12, False, True),
    ("长者智能手机课堂助教", "社区学校", 2.0, 3, [], 14, False, True),
    ("失能老人照护协助", "长者照护之家", 3.0, 2, ["elderly_carer"], 18, True, False),
]
# (title, place, weekdays, start, minutes, headcount, certificates, demo publisher)
SERIES_KINDS: list[tuple[str, str, list[int], dt.time, int, int, list[str], str]] = [
    ("每周长者助餐", "开鲁四村睦邻中心", [2, 4], dt.time(11, 0), 120, 3, ["health"], "org.leling"),
    ("周末平安巡逻", "开鲁四村南门岗亭", [6], dt.time(19, 0), 120, 4, [], "committee.kailu4"),
    ("失能老人助浴", "乐龄长者照护之家", [1, 3, 5], dt.time(9, 0), 90, 2, ["elderly_carer"], "org.leling"),
    ("长者合唱团伴奏与陪伴", "开鲁四村活动室", [3], dt.time(14, 30), 120, 2, [], "committee.kailu4"),
]
OTHER_PUBLISHERS = 30
NO_JIT = "SET LOCAL jit = off"
WEEKS_OF_SERIES = 4

SELECT_DEMO_PUBLISHERS = """
SELECT a.username, a.id AS account_id, m.organisation_id, m.committee_id
FROM accounts a JOIN memberships m ON m.account_id = a.id
WHERE a.username = ANY($1::text[])
"""
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
SELECT_OTHER_COMMITTEES = "SELECT id FROM committees ORDER BY id"
SELECT_OTHER_ORGANISATIONS = "SELECT id FROM organisations WHERE status = 'verified' ORDER BY id"
INSERT_SHIFT = """
INSERT INTO shifts (organisation_id, committee_id, title, description, place_name, lat, lon, starts_at, ends_at,
                    headcount, required_certificates, min_age, insurance_required, minors_in_groups_only, created_by)
VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id
"""
SELECT_SHIFTS_TO_FILL = """
SELECT id, lat, lon, starts_at, ends_at, headcount, required_certificates, insurance_required FROM shifts
WHERE id = ANY ($1::bigint[]) ORDER BY id
"""
# Everyone who could hold a place, with their certificates' kinds and expiry dates.
SELECT_POOL = """
SELECT v.id, v.lat, v.lon, v.birth_year, v.insured_until,
       coalesce((SELECT array_agg(c.kind || ':' || coalesce(c.expires_on::text, '9999-12-31') ORDER BY c.kind)
                 FROM volunteer_certificates c WHERE c.volunteer_id = v.id), '{}') AS certificates
FROM volunteers v ORDER BY v.id
"""
# Places already held (another seed may have run first), so that nobody gets two overlapping places.
SELECT_HELD = (
    "SELECT volunteer_id, lower(during) AS starts_at, upper(during) AS ends_at FROM signups WHERE status = 'active'"
)
SIGNUP_COLUMNS = ["shift_id", "volunteer_id", "status", "during"]
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
SELECT_DEMO_VOLUNTEER = """
SELECT v.id, v.lat, v.lon FROM volunteers v JOIN accounts a ON a.id = v.account_id WHERE a.username = 'volunteer.demo'
"""
DEMO_PROFILE = """
UPDATE volunteers
SET dialects = ARRAY['上海话', '宁波话'], languages = ARRAY['普通话'],
    skills = (SELECT array_agg(DISTINCT s ORDER BY s) FROM unnest(skills || ARRAY['first_aid', 'cooking']) s),
    insured_until = greatest(coalesce(insured_until, $2), $2), weekly_hour_cap = greatest(weekly_hour_cap, 10),
    travel_km = greatest(travel_km, 5)
WHERE id = $1
"""
DEMO_CERTIFICATE = """
INSERT INTO volunteer_certificates (volunteer_id, kind, number, issued_on, expires_on) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (volunteer_id, kind) DO NOTHING
"""
HAS_WINDOWS = "SELECT EXISTS (SELECT 1 FROM volunteer_availability WHERE volunteer_id = $1)"
INSERT_WINDOW = "INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, $2, $3, $4)"
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


class ShiftsSeedReport(msgspec.Struct, frozen=True):
    """What the shifts seed wrote."""

    shifts: int
    series: int
    series_shifts: int
    signups: int
    waitlisted: int
    demo_places: int


class _Publisher(msgspec.Struct, frozen=True):
    account_id: int | None
    organisation_id: int | None
    committee_id: int | None
    lat: float
    lon: float
    area_name: str


async def _point(
    conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None
) -> asyncpg.Record | None:
    if committee_id is not None:
        row = await conn.fetchrow(SELECT_COMMITTEE_POINT, committee_id)
    else:
        row = await conn.fetchrow(SELECT_ORG_POINT, organisation_id)
    return row if row is not None else await conn.fetchrow(SELECT_ANY_COMMITTEE_POINT)


async def _publishers(conn: asyncpg.Connection, rng: random.Random) -> tuple[dict[str, _Publisher], list[_Publisher]]:
    demo: dict[str, _Publisher] = {}
    for row in await conn.fetch(SELECT_DEMO_PUBLISHERS, ["org.leling", "committee.kailu4"]):
        point = await _point(conn, row["organisation_id"], row["committee_id"])
        if point is None:
            continue
        demo[row["username"]] = _Publisher(
            row["account_id"], row["organisation_id"], row["committee_id"], point["lat"], point["lon"], point["name"]
        )
    taken_orgs = {p.organisation_id for p in demo.values()}
    taken_committees = {p.committee_id for p in demo.values()}
    committees = [r["id"] for r in await conn.fetch(SELECT_OTHER_COMMITTEES) if r["id"] not in taken_committees]
    organisations = [r["id"] for r in await conn.fetch(SELECT_OTHER_ORGANISATIONS) if r["id"] not in taken_orgs]
    chosen = [(None, c) for c in rng.sample(committees, min(len(committees), OTHER_PUBLISHERS // 2))]
    chosen += [(o, None) for o in rng.sample(organisations, min(len(organisations), OTHER_PUBLISHERS // 2))]
    others = []
    for organisation_id, committee_id in chosen:
        point = await _point(conn, organisation_id, committee_id)
        if point is not None:
            others.append(_Publisher(None, organisation_id, committee_id, point["lat"], point["lon"], point["name"]))
    return demo, others


def _near(rng: random.Random, lat: float, lon: float) -> tuple[float, float]:
    return round(lat + rng.uniform(-0.004, 0.004), 6), round(lon + rng.uniform(-0.005, 0.005), 6)


async def _one_off(conn: asyncpg.Connection, rng: random.Random, who: _Publisher, day: dt.date, kind_index: int) -> int:
    title, place, hours, headcount, certificates, min_age, insurance, minors = ONE_OFF_KINDS[kind_index]
    starts = dt.datetime.combine(day, dt.time(rng.choice((8, 9, 10, 13, 14, 15, 18))), tzinfo=SHANGHAI)
    lat, lon = _near(rng, who.lat, who.lon)
    return int(
        await conn.fetchval(
            INSERT_SHIFT,
            who.organisation_id,
            who.committee_id,
            title,
            f"{who.area_name}{place}",
            lat,
            lon,
            starts,
            starts + dt.timedelta(hours=hours),
            headcount,
            certificates,
            min_age,
            insurance,
            minors,
            who.account_id,
        )
    )


class _Candidate(msgspec.Struct):
    id: int
    lat: float
    lon: float
    birth_year: int
    insured_until: dt.date | None
    certificates: dict[str, dt.date]
    held: list[tuple[dt.datetime, dt.datetime]]


async def _fill(
    conn: asyncpg.Connection, rng: random.Random, shift_ids: list[int], keep_free: set[int], demo: set[int]
) -> tuple[int, int]:
    """Nearby, qualified adults take places (never two overlapping); one shift in eight is full with a waitlist.

    Chosen in Python over the whole pool at once and written with COPY: hundreds of shifts cost one query each way.
    """
    pool = [
        _Candidate(
            id=r["id"],
            lat=r["lat"],
            lon=r["lon"],
            birth_year=r["birth_year"],
            insured_until=r["insured_until"],
            certificates={c.split(":")[0]: dt.date.fromisoformat(c.split(":")[1]) for c in r["certificates"]},
            held=[],
        )
        for r in await conn.fetch(SELECT_POOL)
        if r["id"] not in keep_free
    ]
    by_id = {c.id: c for c in pool}
    for r in await conn.fetch(SELECT_HELD):
        if r["volunteer_id"] in by_id:
            by_id[r["volunteer_id"]].held.append((r["starts_at"], r["ends_at"]))
    rows: list[tuple[int, int, str, asyncpg.Range[dt.datetime]]] = []
    waitlisted = 0
    for n, shift in enumerate(await conn.fetch(SELECT_SHIFTS_TO_FILL, shift_ids)):
        starts, ends = shift["starts_at"], shift["ends_at"]
        day, last_day = starts.astimezone(SHANGHAI).date(), ends.astimezone(SHANGHAI).date()
        fits = [
            c
            for c in pool
            if abs(c.lat - shift["lat"]) <= 0.012
            and abs(c.lon - shift["lon"]) <= 0.014
            and day.year - c.birth_year >= 18
            and all(c.certificates.get(k, dt.date.min) >= last_day for k in shift["required_certificates"])
            and (not shift["insurance_required"] or (c.insured_until is not None and c.insured_until >= last_day))
            and not any(s < ends and starts < e for s, e in c.held)
        ]
        rng.shuffle(fits)
        full = n % 8 == 0 and shift["id"] not in demo
        headcount = shift["headcount"]
        wanted = headcount if full else rng.randint(0, max(0, headcount - 1))
        during = asyncpg.Range(starts, ends, upper_inc=False)
        for c in fits[:wanted]:
            c.held.append((starts, ends))
            rows.append((shift["id"], c.id, "active", during))
        if full and len(fits) >= wanted:
            for c in fits[wanted : wanted + rng.randint(1, 3)]:
                rows.append((shift["id"], c.id, "waitlisted", during))
                waitlisted += 1
    await conn.copy_records_to_table("signups", records=rows, columns=SIGNUP_COLUMNS)
    await conn.execute(SET_TAKEN_ALL, shift_ids)
    return len(rows) - waitlisted, waitlisted


async def seed_shifts(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> ShiftsSeedReport:
    """Write this week's demo shifts and series, places taken and the demo volunteer's profile."""
    # Each statement here is small; PostgreSQL's JIT would spend longer compiling than running them.
    await conn.execute(NO_JIT)
    demo, others = await _publishers(conn, rng)
    monday = today - dt.timedelta(days=today.weekday())
    days = [today + dt.timedelta(days=i) for i in range((monday + dt.timedelta(days=13) - today).days + 1)]
    shift_ids: list[int] = []
    demo_shift_ids: list[int] = []
    for username in sorted(demo):
        for day in days:
            for _ in range(2):
                shift_id = await _one_off(conn, rng, demo[username], day, rng.randrange(len(ONE_OFF_KINDS)))
                shift_ids.append(shift_id)
                demo_shift_ids.append(shift_id)
    for who in others:
        for _ in range(rng.randint(2, 5)):
            day = rng.choice(days)
            shift_ids.append(await _one_off(conn, rng, who, day, rng.randrange(len(ONE_OFF_KINDS))))

    series_count = 0
    series_shift_ids: list[int] = []
    for title, place, weekdays, starts, minutes, headcount, certificates, username in SERIES_KINDS:
        publisher = demo.get(username)
        if publisher is None:
            continue
        lat, lon = _near(rng, publisher.lat, publisher.lon)
        series_id = await series_sql.insert_series(
            conn,
            organisation_id=publisher.organisation_id,
            committee_id=publisher.committee_id,
            household_id=None,
            title=title,
            description="",
            place_name=place,
            lat=lat,
            lon=lon,
            weekdays=weekdays,
            starts=starts,
            minutes=minutes,
            from_date=monday,
            until_date=monday + dt.timedelta(days=7 * WEEKS_OF_SERIES - 1),
            # The third week's first rule day is skipped (a public holiday in the story).
            exceptions=[monday + dt.timedelta(days=14 + weekdays[0] - 1)],
            headcount=headcount,
            required_skills=[],
            required_certificates=certificates,
            min_age=16,
            insurance_required=False,
            minors_in_groups_only=True,
            cancellation_window_hours=24,
            created_by=publisher.account_id,
        )
        if series_id is None:
            continue
        series_count += 1
        series_shift_ids += await series_sql.generate_shifts(conn, series_id)

    await conn.execute(NAME_GUARDIANS)
    demo_volunteer = await conn.fetchrow(SELECT_DEMO_VOLUNTEER)
    keep_free = {demo_volunteer["id"]} if demo_volunteer is not None else set()
    all_ids = shift_ids + series_shift_ids
    signups, waitlisted = await _fill(conn, rng, all_ids, keep_free, set(demo_shift_ids))

    demo_places = 0
    if demo_volunteer is not None:
        volunteer_id = demo_volunteer["id"]
        await conn.execute(DEMO_PROFILE, volunteer_id, today + dt.timedelta(days=365))
        for kind, years in (("health", 1), ("first_aid", 3)):
            await conn.execute(
                DEMO_CERTIFICATE,
                volunteer_id,
                kind,
                f"{kind[:2].upper()}{rng.randrange(10**8):08d}",
                today - dt.timedelta(days=60),
                today - dt.timedelta(days=60) + dt.timedelta(days=365 * years),
            )
        if not await conn.fetchval(HAS_WINDOWS, volunteer_id):
            for weekday, begin, end in ((2, 8, 12), (4, 13, 18), (6, 9, 17)):
                await conn.execute(INSERT_WINDOW, volunteer_id, weekday, dt.time(begin), dt.time(end))
        away = dt.datetime.combine(monday + dt.timedelta(days=19), dt.time(0), tzinfo=SHANGHAI)
        await conn.execute(INSERT_AWAY, volunteer_id, away, away + dt.timedelta(days=2))
        next_monday = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=SHANGHAI)
        for row in await conn.fetch(DEMO_PLACES, volunteer_id, demo_shift_ids, next_monday):
            if demo_places == 2:
                break
            if await conn.fetchval(TAKE_PLACE, row["id"], volunteer_id) is not None:
                await conn.execute(SET_TAKEN, row["id"])
                demo_places += 1
    return ShiftsSeedReport(
        shifts=len(shift_ids) + len(series_shift_ids),
        series=series_count,
        series_shifts=len(series_shift_ids),
        signups=signups + demo_places,
        waitlisted=waitlisted,
        demo_places=demo_places,
    )
