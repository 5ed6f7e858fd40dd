"""Demo data for check-in, hours and the time bank: volunteers with histories.

Eight weeks of past shifts published by the demo committee (开鲁四村居委会) and the demo organisation, one a day so
that no volunteer's shifts overlap; attendance mostly confirmed (a few rejected, the last days' still pending);
every confirmed attendance credited to the time bank, then a few gifts to family, spendings and donations within
each balance. volunteer.demo has a history of its own. Deterministic for a given rng and day; written with COPY.
"""

from __future__ import annotations

import datetime as dt
import random

import asyncpg
import msgspec

from api.services.types import SHANGHAI
from sql import demo as demo_sql
from sql import demo_volunteering as volunteering_sql

DAYS = 56

SHIFT_KINDS: list[tuple[str, str, float, bool]] = [
    # (title, place, hours, group activity)
    ("独居老人午间助餐送餐", "开鲁四村睦邻点", 2.0, False),
    ("楼组为老探访", "开鲁四村12号楼", 2.0, False),
    ("社区食物银行分拣", "殷行街道食物银行", 3.0, False),
    ("平安志愿者巡逻", "开鲁四村南门岗亭", 2.0, False),
    ("理发与缝补便民服务", "开鲁四村活动室", 3.0, False),
    ("喘息服务：陪伴照护", "开鲁四村睦邻点", 3.0, False),
    ("中学生团体服务日：社区环境整治", "开鲁四村中心花园", 3.0, True),
    ("企业志愿者团体活动：垃圾分类宣传", "开鲁四村垃圾分类亭", 2.0, True),
]
SERVICES = ["meal", "haircut", "companion", "repair", "errand", "respite"]


class TimebankSeedReport(msgspec.Struct, frozen=True):
    """What the time-bank seed wrote."""

    shifts: int
    signups: int
    attendance: int
    confirmed: int
    transactions: int
    volunteers_with_coins: int


async def seed_timebank(
    conn: asyncpg.Connection, rng: random.Random, today: dt.date, *, volunteers: int = 120
) -> TimebankSeedReport:
    """Past shifts with confirmed attendance and time-bank balances for the demo; call after the volunteers exist."""
    logins = await demo_sql.logins(conn, ["committee.kailu4", "org.leling"])
    publishers = [p for p in logins.values() if p.organisation_id is not None or p.committee_id is not None]
    if not publishers:
        return TimebankSeedReport(shifts=0, signups=0, attendance=0, confirmed=0, transactions=0,
                                  volunteers_with_coins=0)  # fmt: skip
    committee = next((p for p in publishers if p.committee_id is not None), publishers[0])
    place = await volunteering_sql.committee_point(conn, committee.committee_id) if committee.committee_id else None
    lat, lon = (place.lat, place.lon) if place else (31.31, 121.53)
    pool = await volunteering_sql.serving_volunteers(conn, committee.committee_id, volunteers)
    if not pool:
        return TimebankSeedReport(shifts=0, signups=0, attendance=0, confirmed=0, transactions=0,
                                  volunteers_with_coins=0)  # fmt: skip
    demo_volunteer = await demo_sql.demo_volunteer(conn)
    demo = demo_volunteer.id if demo_volunteer is not None else None
    now = dt.datetime.now(dt.UTC)
    # Nothing the seed records may lie in the future: a confirmation or a transfer dated tomorrow surprises
    # everyone who reads the ledger (#12). The seed's "now" is the clock's, or the end of the `today` it was given
    # when that is earlier (a seed for a past day); decisions and transfers are kept before it.
    now = min(now, dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), SHANGHAI))
    latest = now - dt.timedelta(hours=1)

    # One shift a day over the last eight weeks, so nobody's shifts overlap; the demo volunteer serves about twice
    # a week, the others as the dice say.
    shift_ids = await demo_sql.reserve_ids(conn, "shifts", DAYS)
    shift_rows: list[tuple[object, ...]] = []
    plan: list[tuple[int, dt.datetime, dt.datetime, bool, int, list[int]]] = []
    for index, shift_id in enumerate(shift_ids):
        day = today - dt.timedelta(days=DAYS - index)
        title, place_name, hours, group = SHIFT_KINDS[rng.randrange(len(SHIFT_KINDS))]
        starts = dt.datetime.combine(day, dt.time(rng.choice([9, 10, 14, 15])), SHANGHAI)
        ends = starts + dt.timedelta(hours=hours)
        publisher = publishers[index % len(publishers)]
        headcount = rng.randint(8, 20) if group else rng.randint(3, 8)
        chosen = rng.sample(pool, min(headcount, len(pool)))
        if demo is not None and demo not in chosen and index % 3 == 0:
            chosen[0] = demo
        shift_rows.append((
            shift_id, publisher.organisation_id, publisher.committee_id, title,
            "社区志愿服务（演示数据）", place_name, lat + rng.uniform(-0.004, 0.004), lon + rng.uniform(-0.004, 0.004),
            starts, ends, headcount, len(chosen), "closed", publisher.account_id, group,
        ))  # fmt: skip
        plan.append((shift_id, starts, ends, group, publisher.account_id, chosen))
    await demo_sql.copy_rows(conn, volunteering_sql.PAST_SHIFTS, shift_rows)

    n_signups = sum(len(p[5]) for p in plan)
    signup_ids = iter(await demo_sql.reserve_ids(conn, "signups", n_signups))
    attendance_ids = iter(await demo_sql.reserve_ids(conn, "attendance", n_signups))
    signups: list[tuple[object, ...]] = []
    attendance: list[tuple[object, ...]] = []
    earned: list[tuple[int, int, int, bool, dt.datetime, int]] = []  # attendance, volunteer, minutes, group, at, by
    for shift_id, starts, ends, group, publisher_account, chosen in plan:
        length = int((ends - starts).total_seconds() // 60)
        for volunteer_id in chosen:
            signup_id, attendance_id = next(signup_ids), next(attendance_ids)
            signups.append((
                signup_id, shift_id, volunteer_id, "active", asyncpg.Range(starts, ends, upper_inc=False),
                starts - dt.timedelta(days=rng.randint(1, 10)),
            ))  # fmt: skip
            checked_in = starts + dt.timedelta(minutes=rng.randint(-15, 10))
            minutes = max(30, min(length + 30, length + rng.randint(-30, 15)))
            checked_out = checked_in + dt.timedelta(minutes=minutes)
            method = rng.choices(["qr", "code", "manual"], weights=[80, 12, 8])[0]
            age_days = (today - starts.date()).days
            roll = rng.random()
            if age_days < 3 and roll < 0.7:
                status, decided_at, reason = "pending", None, None
            elif roll < 0.04:
                rejected_at = max(ends, min(ends + dt.timedelta(days=1), latest))
                status, decided_at, reason = "rejected", rejected_at, "当天未在服务点签到，经核实未参加"
            else:
                decided = ends + dt.timedelta(days=rng.randint(0, 2), hours=3)
                status, decided_at, reason = "confirmed", max(ends, min(decided, latest)), None
            attendance.append((
                attendance_id, signup_id, shift_id, volunteer_id, checked_in, checked_out, method, minutes, status,
                publisher_account if method == "manual" else None, publisher_account if decided_at else None,
                decided_at, reason, checked_in,
            ))  # fmt: skip
            if status == "confirmed":
                assert decided_at is not None
                earned.append((attendance_id, volunteer_id, minutes, group, decided_at, publisher_account))
    await demo_sql.copy_rows(conn, volunteering_sql.PAST_SIGNUPS, signups)
    await demo_sql.copy_rows(conn, volunteering_sql.ATTENDANCE, attendance)

    # The ledger: accounts for everyone with confirmed hours, an earning per confirmed attendance, then transfers
    # that each stay within the giver's balance at that moment (tracked here as the ledger would sum it).
    system = await volunteering_sql.system_accounts(conn)
    holders = sorted({e[1] for e in earned})
    existing = await volunteering_sql.volunteer_accounts(conn, holders)
    missing = [v for v in holders if v not in existing]
    new_ids = await demo_sql.reserve_ids(conn, "ledger_accounts", len(missing))
    await demo_sql.copy_rows(
        conn,
        volunteering_sql.LEDGER_ACCOUNTS,
        [(i, "volunteer", v, f"volunteer:{v}") for i, v in zip(new_ids, missing, strict=True)],
    )
    account = {**existing, **dict(zip(missing, new_ids, strict=True))}
    balance = {v: {"own": 0, "group": 0} for v in holders}
    transactions: list[tuple[object, ...]] = []
    entries: list[tuple[object, ...]] = []
    earned.sort(key=lambda e: (e[4], e[0]))
    tx_ids = iter(await demo_sql.reserve_ids(conn, "ledger_transactions", len(earned) + len(holders) * 3))
    for attendance_id, volunteer_id, minutes, group, at, by in earned:
        tx, bucket = next(tx_ids), ("group" if group else "own")
        transactions.append((tx, "earn", attendance_id, None, "", by, at))
        entries += [(tx, account[volunteer_id], bucket, minutes), (tx, system["issuance"], bucket, -minutes)]
        balance[volunteer_id][bucket] += minutes
    last = max((e[4] for e in earned), default=now)
    for volunteer_id in holders:
        # After every earning (the balances above assume it), and at least 20 minutes before now.
        at = max(last, min(last + dt.timedelta(hours=rng.randint(1, 48)), now - dt.timedelta(minutes=20)))
        own, grp = balance[volunteer_id]["own"], balance[volunteer_id]["group"]
        if grp > 0 and (volunteer_id == demo or rng.random() < 0.6):
            amount = grp if rng.random() < 0.5 else grp // 2 or grp
            tx = next(tx_ids)
            transactions.append((tx, "donate", None, None, "团体活动时间捐给社区互助池", None, at))
            entries += [(tx, account[volunteer_id], "group", -amount), (tx, system["pool"], "group", amount)]
            balance[volunteer_id]["group"] -= amount
        if own >= 120 and (volunteer_id == demo or rng.random() < 0.25):
            amount = 60 * rng.randint(1, own // 120)
            tx = next(tx_ids)
            service = rng.choice(SERVICES)
            transactions.append((tx, "spend", None, service, "", None, at + dt.timedelta(minutes=5)))
            entries += [(tx, account[volunteer_id], "own", -amount), (tx, system["services"], "own", amount)]
            balance[volunteer_id]["own"] -= amount
        own = balance[volunteer_id]["own"]
        family = rng.choice(holders)
        if own >= 60 and family != volunteer_id and (volunteer_id == demo or rng.random() < 0.15):
            amount = 30 * rng.randint(1, own // 60)
            tx = next(tx_ids)
            transactions.append((tx, "give", None, None, "给家人的时间币", None, at + dt.timedelta(minutes=10)))
            entries += [(tx, account[volunteer_id], "own", -amount), (tx, account[family], "own", amount)]
            balance[volunteer_id]["own"] -= amount
            balance[family]["own"] += amount
    await demo_sql.copy_rows(conn, volunteering_sql.LEDGER_TRANSACTIONS, transactions)
    await demo_sql.copy_rows(conn, volunteering_sql.LEDGER_ENTRIES, entries)
    return TimebankSeedReport(
        shifts=len(shift_rows),
        signups=len(signups),
        attendance=len(attendance),
        confirmed=len(earned),
        transactions=len(transactions),
        volunteers_with_coins=sum(1 for b in balance.values() if b["own"] + b["group"] > 0),
    )
