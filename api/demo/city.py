"""`linli seed --preset city`: a city to measure on (issue #13) — Shanghai's 16 districts by name and code, 200
sub-districts, 6,000 residents' committees, a sub-district office and a district foundation as funders, 5,000
organisations, 1,000,000 volunteers with accounts, 200,000 elderly households and 100,000 shifts in the coming month,
written with COPY in one transaction.

Every account (a manager for each committee, organisation and funder, and each volunteer) shares one password,
hashed once: the accounts are for load tests, not people. Sub-district names are made from common Shanghai place
names (the district's own are real only in the demo district); committees, volunteers and households come from the
demo district's generators, so they look and vary the same way.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock
from itertools import islice

import asyncpg
import msgspec

from api.demo import streams
from api.demo.district import (
    _BRANDS,
    _ORG_KINDS,
    CATALOGUE,
    AlreadySeededError,
    _Committee,
    _committee_name,
    _near,
    _plan_households,
    _plan_volunteers,
    _Subdistrict,
)
from api.demo.shifts import ONE_OFF_KINDS
from api.security import hash_password
from api.services import credit_code
from api.services.types import SHANGHAI
from sql import areas as areas_sql
from sql import demo as demo_sql
from sql import overview as overview_sql

# The password of every account of the city (load-test accounts; hashed once).
CITY_PASSWORD = "city-load-2026"
# (district, statistical code, centre, sub-districts at scale 1): 200 in all.
DISTRICTS: tuple[tuple[str, str, float, float, int], ...] = (
    ("黄浦区", "310101", 31.2317, 121.4846, 10),
    ("徐汇区", "310104", 31.1885, 121.4365, 13),
    ("长宁区", "310105", 31.2204, 121.4241, 10),
    ("静安区", "310106", 31.2290, 121.4480, 13),
    ("普陀区", "310107", 31.2495, 121.3970, 10),
    ("虹口区", "310109", 31.2646, 121.5052, 8),
    ("杨浦区", "310110", 31.2596, 121.5260, 12),
    ("闵行区", "310112", 31.1128, 121.3816, 14),
    ("宝山区", "310113", 31.4051, 121.4893, 12),
    ("嘉定区", "310114", 31.3747, 121.2655, 11),
    ("浦东新区", "310115", 31.2210, 121.5440, 31),
    ("金山区", "310116", 30.7417, 121.3420, 9),
    ("松江区", "310117", 31.0320, 121.2277, 14),
    ("青浦区", "310118", 31.1510, 121.1240, 10),
    ("奉贤区", "310120", 30.9181, 121.4740, 10),
    ("崇明区", "310151", 31.6230, 121.3975, 13),
)
COMMITTEES = 6_000
ORGANISATIONS = 5_000
VOLUNTEERS = 1_000_000
HOUSEHOLDS = 200_000
SHIFTS = 100_000
# Place names the sub-districts, roads and estates are made of.
_STEMS = (
    "长阳",
    "平凉",
    "控江",
    "延吉",
    "昆明",
    "新华",
    "长乐",
    "建国",
    "复兴",
    "宁海",
    "兰州",
    "天山",
    "仙霞",
    "古北",
    "虹桥",
    "曹杨",
    "真如",
    "宜川",
    "甘泉",
    "石泉",
    "长风",
    "芷江",
    "临汾",
    "大宁",
    "彭浦",
    "共和",
    "天目",
    "曲阳",
    "四平",
    "新江湾",
    "张江",
    "花木",
    "金桥",
    "川沙",
    "周浦",
    "惠南",
    "泗泾",
    "九亭",
    "华漕",
    "七宝",
    "梅陇",
    "莘庄",
    "江桥",
    "南翔",
    "安亭",
    "罗店",
    "月浦",
    "淞南",
    "朱泾",
    "枫泾",
    "庄行",
    "南桥",
    "城桥",
    "堡镇",
    "练塘",
    "赵巷",
    "徐泾",
    "龙华",
    "漕河泾",
    "田林",
    "凌云",
    "康健",
    "斜土",
    "枫林",
    "江宁",
    "石门",
    "南京西",
    "静安寺",
    "北站",
    "宝山",
    "芷江西",
    "北新泾",
    "新泾",
    "程家桥",
    "周家桥",
    "华阳",
    "江苏",
    "天平",
    "湖南",
    "徐家汇",
    "嘉兴",
    "欧阳",
    "广中",
    "凉城",
    "江湾",
    "提篮桥",
    "外滩",
    "豫园",
    "瑞金",
    "打浦桥",
    "淮海",
    "半淞园",
    "小东门",
    "老西门",
)
_ESTATE_ENDINGS = ("新村", "小区", "花园", "苑", "家园")
# Shifts run in this many days from tomorrow.
SHIFT_DAYS = 30
# Rows per COPY: a million rows are generated and written in slices, never all held at once.
CHUNK = 50_000


class CitySeedReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the city seed created, and how long it took."""

    seed: int
    scale: float
    districts: int
    subdistricts: int
    committees: int
    funders: int
    organisations: int
    volunteers: int
    households: int
    shifts: int
    accounts: int
    password: str
    seconds: float


def _count(base: int, scale: float, least: int = 1) -> int:
    return max(least, round(base * scale))


def _subdistricts(rng: random.Random, scale: float) -> list[tuple[int, _Subdistrict]]:
    """(district index, sub-district) for every sub-district: unique names, codes under the district's code."""
    taken: set[str] = set()
    found: list[tuple[int, _Subdistrict]] = []
    for index, (_, code, lat, lon, n) in enumerate(DISTRICTS):
        for number in range(1, _count(n, scale) + 1):
            stem = rng.choice(_STEMS)
            while stem in taken:
                stem = rng.choice(_STEMS) + rng.choice(_STEMS)[:1]
            taken.add(stem)
            name = f"{stem}镇" if rng.random() < 0.25 else f"{stem}路街道"
            roads = tuple(f"{s}路" for s in rng.sample(_STEMS, 6))
            estates = tuple(rng.sample(_STEMS, 4))
            centre = _near(rng, lat, lon, 0.03)
            found.append((index, _Subdistrict(name, stem, f"{code}{number:03d}", *centre, 1, roads, estates)))
    return found


def _chunks(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


async def _copy(conn: asyncpg.Connection, target: demo_sql.CopyTarget, rows: Iterator[tuple[object, ...]]) -> None:
    for chunk in _chunks(rows):
        await demo_sql.copy_rows(conn, target, chunk)


async def seed_city(dsn: str, *, seed: int = 1, scale: float = 1.0, today: date | None = None) -> CitySeedReport:
    """Create the city in one transaction on an empty database; raises AlreadySeededError if areas exist."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    started = time.perf_counter()
    today = today or datetime.now(SHANGHAI).date()
    hashing = asyncio.ensure_future(asyncio.to_thread(hash_password, CITY_PASSWORD))
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await demo_sql.lock_seed(conn)
            if await demo_sql.is_seeded(conn):
                raise AlreadySeededError("the database already has areas; seed only an empty database")
            report = await _write(conn, seed, scale, today, await hashing)
    finally:
        await asyncio.gather(hashing, return_exceptions=True)
        await conn.close()
    return msgspec.structs.replace(report, seconds=round(time.perf_counter() - started, 1))


async def _write(conn: asyncpg.Connection, seed: int, scale: float, today: date, password_hash: str) -> CitySeedReport:
    stream = functools.partial(streams.stream, seed)
    await demo_sql.add_catalogue_items(
        conn, [(*item, position * 10) for position, item in enumerate(CATALOGUE, start=1)]
    )
    catalogue = {item.code: item.id for item in await areas_sql.list_catalogue(conn)}

    # Areas: the districts, their sub-districts, and the committees spread over the sub-districts.
    rng = stream("city-areas")
    subs = _subdistricts(rng, scale)
    n_committees = _count(COMMITTEES, scale, least=len(subs))
    area_ids = iter(await demo_sql.reserve_ids(conn, "areas", len(DISTRICTS) + len(subs) + n_committees))
    district_ids = [next(area_ids) for _ in DISTRICTS]
    areas: list[tuple[object, ...]] = [
        (district_ids[i], None, "district", code, name, lat, lon)
        for i, (name, code, lat, lon, _) in enumerate(DISTRICTS)
    ]
    sub_ids = [next(area_ids) for _ in subs]
    areas += [
        (sid, district_ids[d], "subdistrict", s.code, s.name, s.lat, s.lon)
        for sid, (d, s) in zip(sub_ids, subs, strict=True)
    ]
    homes = [*range(len(subs)), *rng.choices(range(len(subs)), k=n_committees - len(subs))]
    committee_ids = await demo_sql.reserve_ids(conn, "committees", n_committees)
    committees: list[_Committee] = []
    committee_rows: list[tuple[object, ...]] = []
    taken_names: dict[int, set[str]] = {}
    per_sub = [0] * len(subs)
    for committee_id, home in zip(committee_ids, homes, strict=True):
        sub = subs[home][1]
        per_sub[home] += 1
        area_id = next(area_ids)
        # As in the real city, two committees of one sub-district never share a name; of two districts they may.
        name, road = _committee_name(rng, sub, taken_names.setdefault(home, set()))
        residents = 10 * round(rng.triangular(2000, 10000, 4500) / 10)
        lat, lon = _near(rng, sub.lat, sub.lon, 0.007)
        lanes = tuple(sorted(rng.sample(range(1, 1500), rng.randint(1, 3))))
        committees.append(_Committee(committee_id, area_id, name, road, lanes, lat, lon, residents))
        areas.append((area_id, sub_ids[home], "committee", f"{sub.code}{per_sub[home]:03d}", name, lat, lon))
        committee_rows.append((committee_id, area_id, name, rng.choice((7, 8)), residents, round(residents / 2.5)))
    await demo_sql.copy_rows(conn, demo_sql.AREAS, areas)
    await demo_sql.copy_rows(conn, demo_sql.COMMITTEES, committee_rows)

    # Funders: each sub-district's office and each district's community foundation.
    funder_ids = iter(await demo_sql.reserve_ids(conn, "funders", len(subs) + len(DISTRICTS)))
    joined = datetime.combine(today - timedelta(days=300), clock(9), SHANGHAI)
    funders: list[tuple[object, ...]] = [
        (next(funder_ids), "subdistrict_office", f"{DISTRICTS[d][0]}{s.name}办事处", sid, joined)
        for sid, (d, s) in zip(sub_ids, subs, strict=True)
    ]
    funders += [
        (next(funder_ids), "community_foundation", f"{name}社区公益基金会", did, joined)
        for did, (name, *_) in zip(district_ids, DISTRICTS, strict=True)
    ]
    await demo_sql.copy_rows(conn, demo_sql.FUNDERS, funders)

    organisations, categories, served = _organisations(stream("city-organisations"), today, scale, subs, sub_ids)
    organisation_ids = await demo_sql.reserve_ids(conn, "organisations", len(organisations))
    await demo_sql.copy_rows(
        conn, demo_sql.ORGANISATIONS, [(oid, *row) for oid, row in zip(organisation_ids, organisations, strict=True)]
    )
    await demo_sql.copy_rows(
        conn,
        demo_sql.ORGANISATION_CATEGORIES,
        [(organisation_ids[i], catalogue[item]) for i, item in categories],
    )
    await demo_sql.copy_rows(conn, demo_sql.ORGANISATION_AREAS, [(organisation_ids[i], a) for i, a in served])

    # Accounts: a manager for each committee, organisation and funder, then one per volunteer.
    n_volunteers = _count(VOLUNTEERS, scale)
    tenants = [("committee", "cityc", cid) for cid in committee_ids]
    tenants += [("organisation", "cityo", oid) for oid in organisation_ids]
    tenants += [("funder", "cityf", int(str(f[0]))) for f in funders]
    account_ids = await demo_sql.reserve_ids(conn, "accounts", len(tenants) + n_volunteers)
    managers = [
        (account_ids[i], f"{prefix}{i:05d}", f"{role}{i:05d}", role, password_hash)
        for i, (role, prefix, _) in enumerate(tenants)
    ]
    await demo_sql.copy_rows(conn, demo_sql.ACCOUNTS, managers)
    await demo_sql.copy_rows(
        conn,
        demo_sql.MEMBERSHIPS,
        [
            (account_ids[i], tid if role == "organisation" else None, tid if role == "committee" else None,
             tid if role == "funder" else None, "manager")
            for i, (role, _, tid) in enumerate(tenants)
        ],
    )  # fmt: skip
    volunteer_accounts = account_ids[len(tenants) :]
    rng = stream("city-volunteers")
    for start in range(0, n_volunteers, CHUNK):
        size = min(CHUNK, n_volunteers - start)
        rows = _plan_volunteers(rng, today, size, committees, None)
        mine = volunteer_accounts[start : start + size]
        await demo_sql.copy_rows(
            conn,
            demo_sql.ACCOUNTS,
            [
                (a, f"cityv{start + i:07d}", row[1], "volunteer", password_hash)
                for i, (a, row) in enumerate(zip(mine, rows, strict=True))
            ],
        )
        await demo_sql.copy_rows(conn, demo_sql.VOLUNTEERS, [(a, *row[1:]) for a, row in zip(mine, rows, strict=True)])

    n_households = _count(HOUSEHOLDS, scale)
    rng, slots = stream("city-households"), stream("city-visit-slots")
    for start in range(0, n_households, CHUNK):
        size = min(CHUNK, n_households - start)
        await demo_sql.copy_rows(conn, demo_sql.HOUSEHOLDS, _plan_households(rng, today, size, committees, slots))

    n_shifts = _count(SHIFTS, scale)
    await _copy(
        conn, demo_sql.FUTURE_SHIFTS, _shifts(stream("city-shifts"), today, n_shifts, committees, organisation_ids)
    )
    await overview_sql.refresh_platform_figures(conn)
    await demo_sql.audit_seed(
        conn, district_ids[0], msgspec.json.encode({"preset": "city", "seed": seed, "scale": scale}).decode()
    )
    return CitySeedReport(
        seed=seed,
        scale=scale,
        districts=len(DISTRICTS),
        subdistricts=len(subs),
        committees=n_committees,
        funders=len(funders),
        organisations=len(organisations),
        volunteers=n_volunteers,
        households=n_households,
        shifts=n_shifts,
        accounts=len(account_ids),
        password=CITY_PASSWORD,
        seconds=0.0,
    )


def _organisations(
    rng: random.Random, today: date, scale: float, subs: Sequence[tuple[int, _Subdistrict]], sub_ids: Sequence[int]
) -> tuple[list[tuple[object, ...]], list[tuple[int, str]], list[tuple[int, int]]]:
    """Verified organisations registered in a district, serving one or two of its sub-districts: their rows (without
    the id), categories and areas served, by index."""
    rows: list[tuple[object, ...]] = []
    categories: list[tuple[int, str]] = []
    served: list[tuple[int, int]] = []
    names: set[str] = set()
    codes: set[str] = set()
    weights = [kind[3] for kind in _ORG_KINDS]
    for index in range(_count(ORGANISATIONS, scale)):
        home = rng.randrange(len(subs))
        district, sub = subs[home]
        kind, prefix, usual, _ = rng.choices(_ORG_KINDS, weights)[0]
        name = f"{DISTRICTS[district][0]}{rng.choice(_BRANDS)}{kind}"
        while name in names:
            name = f"{DISTRICTS[district][0]}{sub.short}{rng.choice(_BRANDS)}{kind}（{len(names)}）"
        names.add(name)
        code = credit_code.make_code(rng, prefix=prefix, area=DISTRICTS[district][1])
        while code in codes:
            code = credit_code.make_code(rng, prefix=prefix, area=DISTRICTS[district][1])
        codes.add(code)
        age_days = round(rng.triangular(800, 9000, 3000))
        rating = rng.choice((None, 3, 4, 4, 5))
        expires_on = today + timedelta(days=rng.randint(30, 1500)) if rating else None
        created = datetime.combine(today - timedelta(days=rng.randint(30, 700)), clock(10), SHANGHAI)
        staff = rng.randint(3, 60)
        items = rng.sample(usual, min(len(usual), rng.randint(1, 3)))
        rows.append((
            name, code, rating, expires_on, today - timedelta(days=age_days), "verified", staff * 1600,
            f"021-{rng.randint(5000_0000, 6999_9999)}", f"上海市{DISTRICTS[district][0]}{rng.choice(sub.roads)}"
            f"{rng.randint(1, 1800)}号", f"扎根{sub.name}，专职社工{staff}人。", created, created + timedelta(days=3),
        ))  # fmt: skip
        categories += [(index, item) for item in items]
        served.append((index, sub_ids[home]))
        near = [i for i, (d, _) in enumerate(subs) if d == district and i != home]
        if near and rng.random() < 0.4:
            served.append((index, sub_ids[rng.choice(near)]))
    return rows, categories, served


def _shifts(
    rng: random.Random, today: date, n: int, committees: Sequence[_Committee], organisation_ids: Sequence[int]
) -> Iterator[tuple[object, ...]]:
    """Open shifts from tomorrow over SHIFT_DAYS days near a committee, published by it or by an organisation."""
    for _ in range(n):
        committee = rng.choice(committees)
        title, place, hours, headcount, certificates, min_age, insurance, minors = rng.choice(ONE_OFF_KINDS)
        day = today + timedelta(days=rng.randint(1, SHIFT_DAYS))
        starts = datetime.combine(day, clock(rng.choice((8, 9, 10, 13, 14, 15, 18))), SHANGHAI)
        lat, lon = _near(rng, committee.lat, committee.lon, 0.002)
        by_committee = rng.random() < 0.6
        yield (
            None if by_committee else rng.choice(organisation_ids), committee.id if by_committee else None,
            title, "", f"{committee.name[:-3]}{place}", lat, lon, starts, starts + timedelta(hours=hours),
            rng.randint(1, 3) * headcount, certificates, min_age, insurance, minors,
        )  # fmt: skip
