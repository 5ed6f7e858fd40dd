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
from sql import demo as demo_sql
from sql import demo_market as market_sql
from sql import demo_volunteering as volunteering_sql
from sql import shift_series as series_sql
from sql.demo_volunteering import CandidateRow

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
WEEKS_OF_SERIES = 4
# volunteer.demo's weekly windows (weekday, from hour, to hour): Tuesday mornings, Thursday afternoons, Saturdays.
DEMO_WINDOWS = ((2, 8, 12), (4, 13, 18), (6, 9, 17))


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


async def _publishers(conn: asyncpg.Connection, rng: random.Random) -> tuple[dict[str, _Publisher], list[_Publisher]]:
    demo: dict[str, _Publisher] = {}
    for login in (await demo_sql.logins(conn, ["org.leling", "committee.kailu4"])).values():
        point = await volunteering_sql.publisher_point(conn, login.organisation_id, login.committee_id)
        if point is None:
            continue
        demo[login.username] = _Publisher(
            login.account_id, login.organisation_id, login.committee_id, point.lat, point.lon, point.name
        )
    taken_orgs = {p.organisation_id for p in demo.values()}
    taken_committees = {p.committee_id for p in demo.values()}
    committees = [c for c in await volunteering_sql.committee_ids(conn) if c not in taken_committees]
    organisations = [o.id for o in await market_sql.verified_organisations(conn) if o.id not in taken_orgs]
    chosen: list[tuple[int | None, int | None]]
    chosen = [(None, c) for c in rng.sample(committees, min(len(committees), OTHER_PUBLISHERS // 2))]
    chosen += [(o, None) for o in rng.sample(organisations, min(len(organisations), OTHER_PUBLISHERS // 2))]
    others = []
    for organisation_id, committee_id in chosen:
        point = await volunteering_sql.publisher_point(conn, organisation_id, committee_id)
        if point is not None:
            others.append(_Publisher(None, organisation_id, committee_id, point.lat, point.lon, point.name))
    return demo, others


def _near(rng: random.Random, lat: float, lon: float) -> tuple[float, float]:
    return round(lat + rng.uniform(-0.004, 0.004), 6), round(lon + rng.uniform(-0.005, 0.005), 6)


async def _one_off(conn: asyncpg.Connection, rng: random.Random, who: _Publisher, day: dt.date, kind_index: int) -> int:
    title, place, hours, headcount, certificates, min_age, insurance, minors = ONE_OFF_KINDS[kind_index]
    starts = dt.datetime.combine(day, dt.time(rng.choice((8, 9, 10, 13, 14, 15, 18))), tzinfo=SHANGHAI)
    lat, lon = _near(rng, who.lat, who.lon)
    return await volunteering_sql.insert_shift(
        conn,
        volunteering_sql.Shift(
            organisation_id=who.organisation_id, committee_id=who.committee_id, title=title,
            place_name=f"{who.area_name}{place}", lat=lat, lon=lon, starts_at=starts,
            ends_at=starts + dt.timedelta(hours=hours), headcount=headcount, required_certificates=certificates,
            min_age=min_age, insurance_required=insurance, minors_in_groups_only=minors, created_by=who.account_id,
        ),
    )  # fmt: skip


class _Candidate(msgspec.Struct):
    person: CandidateRow
    certificates: dict[str, dt.date]
    held: list[tuple[dt.datetime, dt.datetime]]


async def _fill(
    conn: asyncpg.Connection, rng: random.Random, shift_ids: list[int], keep_free: set[int], demo: set[int]
) -> tuple[int, int]:
    """Nearby, qualified adults take places (never two overlapping); one shift in eight is full with a waitlist.

    Chosen in Python over the whole pool at once and written with COPY: hundreds of shifts cost one query each way.
    """
    pool = [
        _Candidate(r, dict(zip(r.certificate_kinds, r.certificate_expiries, strict=True)), [])
        for r in await volunteering_sql.candidates(conn)
        if r.id not in keep_free
    ]
    by_id = {c.person.id: c for c in pool}
    for held in await volunteering_sql.held_places(conn):
        if held.volunteer_id in by_id:
            by_id[held.volunteer_id].held.append((held.starts_at, held.ends_at))
    rows: list[tuple[int, int, str, asyncpg.Range[dt.datetime]]] = []
    waitlisted = 0
    for n, shift in enumerate(await volunteering_sql.shifts_to_fill(conn, shift_ids)):
        starts, ends = shift.starts_at, shift.ends_at
        day, last_day = starts.astimezone(SHANGHAI).date(), ends.astimezone(SHANGHAI).date()
        fits = [
            c
            for c in pool
            if abs(c.person.lat - shift.lat) <= 0.012
            and abs(c.person.lon - shift.lon) <= 0.014
            and day.year - c.person.birth_year >= 18
            and all(c.certificates.get(k, dt.date.min) >= last_day for k in shift.required_certificates)
            and (
                not shift.insurance_required
                or (c.person.insured_until is not None and c.person.insured_until >= last_day)
            )
            and not any(s < ends and starts < e for s, e in c.held)
        ]
        rng.shuffle(fits)
        full = n % 8 == 0 and shift.id not in demo
        headcount = shift.headcount
        wanted = headcount if full else rng.randint(0, max(0, headcount - 1))
        during = asyncpg.Range(starts, ends, upper_inc=False)
        for c in fits[:wanted]:
            c.held.append((starts, ends))
            rows.append((shift.id, c.person.id, "active", during))
        if full and len(fits) >= wanted:
            for c in fits[wanted : wanted + rng.randint(1, 3)]:
                rows.append((shift.id, c.person.id, "waitlisted", during))
                waitlisted += 1
    await demo_sql.copy_rows(conn, volunteering_sql.SIGNUPS, rows)
    await volunteering_sql.count_taken(conn, shift_ids)
    return len(rows) - waitlisted, waitlisted


async def seed_shifts(conn: asyncpg.Connection, rng: random.Random, today: dt.date) -> ShiftsSeedReport:
    """Write this week's demo shifts and series, places taken and the demo volunteer's profile."""
    await volunteering_sql.no_jit(conn)
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

    await volunteering_sql.name_guardians(conn)
    demo_volunteer = await demo_sql.demo_volunteer(conn)
    keep_free = {demo_volunteer.id} if demo_volunteer is not None else set()
    all_ids = shift_ids + series_shift_ids
    signups, waitlisted = await _fill(conn, rng, all_ids, keep_free, set(demo_shift_ids))

    demo_places = 0
    if demo_volunteer is not None:
        volunteer_id = demo_volunteer.id
        await volunteering_sql.complete_demo_profile(conn, volunteer_id, today + dt.timedelta(days=365))
        for kind, years in (("health", 1), ("first_aid", 3)):
            issued = today - dt.timedelta(days=60)
            number = f"{kind[:2].upper()}{rng.randrange(10**8):08d}"
            await demo_sql.add_certificates(
                conn, [(volunteer_id, kind, number, issued, issued + dt.timedelta(days=365 * years))]
            )
        await give_demo_windows(conn, volunteer_id)
        away = dt.datetime.combine(monday + dt.timedelta(days=19), dt.time(0), tzinfo=SHANGHAI)
        await volunteering_sql.add_away(conn, volunteer_id, away, away + dt.timedelta(days=2))
        next_monday = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=SHANGHAI)
        for shift_id in await volunteering_sql.places_for(conn, volunteer_id, demo_shift_ids, next_monday):
            if demo_places == 2:
                break
            if await volunteering_sql.take_place(conn, shift_id, volunteer_id):
                demo_places += 1
    return ShiftsSeedReport(
        shifts=len(shift_ids) + len(series_shift_ids),
        series=series_count,
        series_shifts=len(series_shift_ids),
        signups=signups + demo_places,
        waitlisted=waitlisted,
        demo_places=demo_places,
    )


async def give_demo_windows(conn: asyncpg.Connection, volunteer_id: int) -> None:
    """volunteer.demo's weekly windows, unless her profile already says when she is available."""
    if not await demo_sql.has_windows(conn, volunteer_id):
        await demo_sql.add_windows(
            conn, [(volunteer_id, weekday, dt.time(begin), dt.time(end)) for weekday, begin, end in DEMO_WINDOWS]
        )
