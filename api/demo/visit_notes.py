"""The demo's visit record (issue 15, item 4): what the carers wrote after their home visits, the incidents they
raised and how the households rated the visits, so that the committee's incidents, a household's file, a carer's
visits and the organisation's performance are not empty in `linli up`.

The home-care carers held shifts at their elders' homes on the last three days (checked out, awaiting the
organisation's confirmation); the 311 teams' contacts since they formed are noted by the member who made them, most
of them (the last week's less often: a carer has seven days to note a visit); a call's note never carries the
home-safety signal and a call is never rated (migration 0042). Every noted home visit made its rating link, sent by
SMS where the household has a relative's mobile on file; most visits were rated 4 or 5, a few lower, by the link or by
the committee's staff on the household's behalf. committee.kailu4 has three incidents: one closed, one acknowledged
and one raised in the last days, still open (overdue). volunteer.demo noted their home-care visit of two days ago
and has yesterday's still to note. Deterministic per seed and day; plain SQL and COPY, a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import asyncpg
import msgspec

from api.demo.teams import DemoParties
from api.services import notifications
from api.services.types import SHANGHAI
from sql import demo as base_sql
from sql import demo_visit_notes as notes_sql
from sql import household_access as access_sql
from sql.demo_visit_notes import DoneVisitRow

CARE_DAYS = 3
NOTE_DAYS = 7
RAISED_AFTER = dt.timedelta(minutes=20)
PHONE_SHARE = 0.7
STARTS = (dt.time(8, 30), dt.time(9, 30), dt.time(10, 30), dt.time(13, 30), dt.time(14, 30), dt.time(15, 30))
CARE_TITLES = ("居家照护：生活照料", "居家照护：助浴", "居家照护：陪同散步与康复活动")
NURSE_TITLE = "居家照护：用药护理与血压监测"
CARE_DESCRIPTION = "按护理计划上门：生活照料、个人清洁，记录老人的精神和身体状况。"

# What a carer writes: an opening by the elder's mood (a call's own words), then a line per signal and need.
OPENINGS = {
    5: ("老人今天精神很好，聊了很多年轻时在厂里的事。", "老人心情不错，主动泡茶招待我们，还唱了几句沪剧。",
        "老人气色很好，说孙子上周末来看过。"),
    4: ("老人精神还可以，午饭吃了一碗面。", "老人今天状态不错，一起整理了阳台上的花。",
        "老人气色不错，一起看了老相册，聊得挺开心。"),
    3: ("老人状态一般，话不多，大部分时间在看电视。", "老人说晚上睡不好，白天有点没精神。",
        "老人今天有点累，聊了一会儿就想躺下休息。"),
    2: ("老人情绪低落，说孩子好久没来看望了。", "老人今天不太愿意说话，问什么都说“还好”。"),
    1: ("老人情绪很差，哭了好几次，说不想给子女添麻烦，已请社工跟进。",),
}  # fmt: skip
CALL_OPENINGS = {
    5: ("电话里老人声音很精神，说这几天都去公园打太极。",),
    4: ("电话里老人说一切都好，让我们不用担心。", "电话问候，老人说天冷了，出门少了，但身体还好。"),
    3: ("电话里老人说话有气无力，说最近有点感冒。",),
    2: ("电话里老人说这几天心里闷，不想出门。",),
    1: ("电话里老人一直叹气，说不想麻烦别人。",),
}  # fmt: skip
SIGNAL_LINES = {
    "pain": ("提到膝盖疼，上下楼吃力。", "说腰疼了好几天，贴了膏药。"),
    "not_eating": ("冰箱里的菜没怎么动，说胃口不好。", "说这两天不太想吃饭，只喝了点粥。"),
    "medication": ("降压药有几天忘了吃，已帮忙把一周的药分好放进药盒。", "药快吃完了，还没去配。"),
    "confusion": ("问了两遍今天星期几，有一阵叫不出我们的名字。",),
    "low_spirits": ("说整天在家闷得慌，没什么人说话。",),
    "fall": ("说前两天在卫生间滑了一下，扶着墙没摔倒。",),
    "home_safety": ("厨房燃气灶旁堆着塑料袋，已提醒挪开。", "楼道灯坏了，晚上看不清台阶，已告诉物业。",
                    "卫生间地面很滑，没有扶手。"),
}  # fmt: skip
NEED_LINES = {
    "meals": "想订社区助餐，中午有人送饭就好。",
    "housework": "家里卫生需要有人帮忙打扫。",
    "medical": "想约社区医生上门看一下。",
    "shopping": "请我们下次帮忙买米和油。",
    "repairs": "卫生间水龙头漏水，需要报修。",
    "companionship": "希望我们多来坐坐，陪老人说说话。",
    "paperwork": "长护险复评的材料不会填，需要帮忙。",
}
NEEDS_OTHER = ("换灯泡", "配老花镜", "修电视机遥控器", "办理敬老卡", "")
# The signals a note may carry beside the mood (an elder in good spirits is not noted as low); a call's never
# include home safety.
SIGNALS_BY_MOOD = {
    True: (("pain", "medication"), ("pain", "not_eating", "medication", "low_spirits")),
    False: (("pain", "medication", "home_safety"), ("pain", "not_eating", "medication", "confusion", "fall",
                                                     "home_safety")),
}  # fmt: skip
COMMENTS = {
    5: ("服务人员很耐心，老人很开心。", "每次来都陪我聊天，谢谢你们！", "服务很好，准时，做事细致。", ""),
    4: ("挺好的，就是来得稍微晚了一点。", "不错，老人愿意跟他们说话。", ""),
    3: ("时间太短了，没聊几句就走了。", "还可以，希望下次多待一会儿。"),
    2: ("换了新的人，老人不太习惯。",),
    1: ("约好的时间没来，打了电话才来。",),
}  # fmt: skip


class Incident(msgspec.Struct, frozen=True):
    """One of the demo committee's incidents: what it was, and how far the committee has got with it."""

    kind: str
    severity: str
    what_happened: str
    signal: str
    # What the carer's note on the visit says of it.
    noted: str
    status: str
    action_taken: str | None = None


INCIDENTS = (
    Incident("home_hazard", "medium",
             "老人家中燃气软管老化开裂，进门时闻到轻微煤气味。已关闭燃气总阀、开窗通风，老人无不适。",
             "home_safety", "进门闻到煤气味，燃气软管老化开裂，已报居委会。", "closed",
             "已联系燃气公司上门更换软管，并为老人家安装了燃气报警器，社区安全员已回访。"),
    Incident("fall", "low", "老人说前一天晚上起夜时在卫生间滑倒，右手腕有些肿，能活动，没去医院。",
             "fall", "说昨晚在卫生间滑倒，右手腕有点肿，已报居委会。", "acknowledged"),
    Incident("illness", "medium", "老人咳嗽一周了，今天有低烧，不肯去医院，打给女儿的电话没人接。",
             "not_eating", "咳嗽、低烧，午饭没吃几口，劝老人去医院没答应，已报居委会。", "open"),
)  # fmt: skip


class VisitRecordReport(msgspec.Struct, frozen=True):
    """What the demo's visit record holds."""

    home_care_shifts: int
    notes: int
    incidents: int
    ratings: int


class _Visit(msgspec.Struct):
    """A visit of the demo (a team contact or a home-care shift), and what the seed decides about it."""

    team_visit_id: int | None
    shift_id: int | None
    visit_kind: str
    household_id: int
    committee_id: int
    organisation_id: int
    carer: int
    contact_kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    noted: bool = False
    incident: Incident | None = None


async def seed_visit_record(
    conn: asyncpg.Connection, rng: random.Random, today: dt.date, demo: DemoParties, household_ids: Sequence[int],
    carers: Sequence[int], nurses: Sequence[int],
) -> VisitRecordReport:  # fmt: skip
    """Write the home-care carers' last days of shifts, and the notes, incidents and ratings of the demo's visits."""
    # Nothing the seed records lies in the future (as the time bank's seed): now, or the end of a past `today`.
    now = min(dt.datetime.now(dt.UTC), dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), SHANGHAI))
    latest = now - dt.timedelta(hours=1)
    organisation = (await base_sql.logins(conn, ["org.leling"]))["org.leling"].account_id
    shifts = await _home_care_shifts(conn, rng, today, latest, demo, household_ids, carers, nurses, organisation)
    team = await notes_sql.done_team_visits(conn, demo.organisation_id, latest)
    visits = [_team_visit(v) for v in team] + shifts
    visits.sort(key=lambda v: (v.ends_at, v.team_visit_id or 0, v.shift_id or 0))
    phones = await _phones(conn, rng, sorted({v.household_id for v in visits}))
    _choose_incidents([v for v in visits if v.shift_id is None or v.carer != demo.volunteer_id], demo.committee_id, now)
    for v in visits:
        if v.incident is not None:
            v.noted = True
        elif v.shift_id is not None and v.carer == demo.volunteer_id:
            # volunteer.demo noted the visit of two days ago; yesterday's still waits on /visits.
            v.noted = v.ends_at.astimezone(SHANGHAI).date() < today - dt.timedelta(days=1)
        else:
            v.noted = rng.random() < (0.9 if latest - v.ends_at > dt.timedelta(days=NOTE_DAYS) else 0.6)
    notes = [_note(rng, v, latest) for v in visits if v.noted]
    await base_sql.copy_rows(conn, notes_sql.NOTES, notes)
    ratings = await _ratings(conn, rng, visits, notes, phones, demo, latest)
    incidents = await _incidents(conn, visits, demo, latest)
    return VisitRecordReport(home_care_shifts=len(shifts), notes=len(notes), incidents=incidents, ratings=ratings)


def _team_visit(v: DoneVisitRow) -> _Visit:
    return _Visit(
        team_visit_id=v.team_visit_id, shift_id=None, visit_kind="team", household_id=v.household_id,
        committee_id=v.committee_id, organisation_id=v.organisation_id, carer=v.carer, contact_kind=v.contact_kind,
        starts_at=v.starts_at, ends_at=v.ends_at,
    )  # fmt: skip


def _free(busy: list[tuple[dt.datetime, dt.datetime]], starts: dt.datetime, ends: dt.datetime) -> bool:
    return all(ends <= b_starts or starts >= b_ends for b_starts, b_ends in busy)


async def _home_care_shifts(
    conn: asyncpg.Connection, rng: random.Random, today: dt.date, latest: dt.datetime, demo: DemoParties,
    household_ids: Sequence[int], carers: Sequence[int], nurses: Sequence[int], organisation_account: int,
) -> list[_Visit]:  # fmt: skip
    """One shift a day or so per carer at one of their elders' homes over the last days, at an hour they were free;
    volunteer.demo on each of the last two days."""
    places = {p.id: p for p in await notes_sql.places(conn, household_ids)}
    ids = sorted(places)
    first = dt.datetime.combine(today - dt.timedelta(days=CARE_DAYS), dt.time(0), SHANGHAI)
    if not ids or not carers or first >= latest:
        return []  # nobody to plan, or a seed for a day to come: its last days have not happened yet
    planned = await notes_sql.planned_households(conn, carers, ids)
    held: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {c: [] for c in carers}
    for b in await notes_sql.busy(conn, carers, first, latest):
        held[b.volunteer_id].append((b.starts_at, b.ends_at))
    rows: list[tuple[int, int, str, dt.datetime, dt.datetime]] = []  # carer, household, title, starts, ends
    for k, carer in enumerate(carers):
        homes = planned.get(carer) or [ids[k % len(ids)], ids[(k + 5) % len(ids)]]
        for back in range(CARE_DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            if not (carer == demo.volunteer_id and back <= 2) and rng.random() > 0.6:
                continue
            minutes = rng.choice((60, 75, 90))
            title = NURSE_TITLE if carer in nurses and rng.random() < 0.5 else rng.choice(CARE_TITLES)
            for start in rng.sample(STARTS, len(STARTS)):
                starts = dt.datetime.combine(day, start, SHANGHAI)
                ends = starts + dt.timedelta(minutes=minutes)
                if ends <= latest and _free(held[carer], starts, ends):
                    held[carer].append((starts, ends))
                    rows.append((carer, homes[back % len(homes)], title, starts, ends))
                    break
    shift_ids = await base_sql.reserve_ids(conn, "shifts", len(rows))
    signup_ids = await base_sql.reserve_ids(conn, "signups", len(rows))
    shift_rows, signups, attendance, visits = [], [], [], []
    for shift_id, signup_id, (carer, household_id, title, starts, ends) in zip(
        shift_ids, signup_ids, rows, strict=True
    ):
        place = places[household_id]
        shift_rows.append((
            shift_id, demo.organisation_id, title, CARE_DESCRIPTION, "老人家中", place.lat, place.lon, starts, ends, 1,
            1, "closed", organisation_account, household_id, ["elderly_carer"], starts - dt.timedelta(days=6),
        ))  # fmt: skip
        signups.append((
            signup_id, shift_id, carer, "active", asyncpg.Range(starts, ends, upper_inc=False),
            starts - dt.timedelta(days=5),
        ))  # fmt: skip
        arrived = starts + dt.timedelta(minutes=rng.randint(-8, 5))
        left = ends + dt.timedelta(minutes=rng.randint(-5, 12))
        attendance.append((
            signup_id, shift_id, carer, arrived, left, "qr", int((left - arrived).total_seconds() // 60), "pending",
            arrived,
        ))  # fmt: skip
        visits.append(_Visit(
            team_visit_id=None, shift_id=shift_id, visit_kind="home_care", household_id=household_id,
            committee_id=place.committee_id, organisation_id=demo.organisation_id, carer=carer,
            contact_kind="home_visit", starts_at=starts, ends_at=ends,
        ))  # fmt: skip
    await base_sql.copy_rows(conn, notes_sql.HOME_CARE_SHIFTS, shift_rows)
    await base_sql.copy_rows(conn, notes_sql.HELD_PLACES, signups)
    await base_sql.copy_rows(conn, notes_sql.CHECKED_OUT, attendance)
    return visits


async def _phones(conn: asyncpg.Connection, rng: random.Random, household_ids: list[int]) -> set[int]:
    """Most visited households have a relative's mobile on file (the rating link goes there); which ones."""
    phones = [
        (h, f"1{rng.choice(('39', '38', '58', '86', '37', '50', '89'))}{rng.randrange(10**8):08d}")
        for h in household_ids
        if rng.random() < PHONE_SHARE
    ]
    await notes_sql.give_phones(conn, phones)
    return {h for h, _ in phones}


def _choose_incidents(visits: list[_Visit], committee_id: int, now: dt.datetime) -> None:
    """The committee's three incidents, on home visits to its households: closed about two weeks ago, acknowledged a
    few days ago, and raised in the last days and still open (overdue: unacknowledged past the end of its day)."""
    today = dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(0), SHANGHAI)
    windows = ((today - dt.timedelta(days=20), today - dt.timedelta(days=10)),
               (today - dt.timedelta(days=7), today - dt.timedelta(days=2)),
               (today - dt.timedelta(days=4), today - dt.timedelta(hours=1)))  # fmt: skip
    for incident, (since, until) in zip(INCIDENTS, windows, strict=True):
        fitting = [
            v for v in visits
            if v.committee_id == committee_id and v.contact_kind == "home_visit" and since <= v.ends_at < until
            and v.incident is None
        ]  # fmt: skip
        if fitting:
            fitting[-1].incident = incident


def _note(rng: random.Random, v: _Visit, latest: dt.datetime) -> tuple[object, ...]:
    """The carer's note on the visit: mood, signals, needs and a remark that says them."""
    call = v.contact_kind in ("phone", "video")
    mood = rng.choices((5, 4, 3, 2, 1), weights=(22, 42, 24, 10, 2))[0]
    if v.incident is not None:
        mood = min(mood, 3)
    signals: set[str] = set()
    if rng.random() < (0.3 if call else 0.45):
        signals.add(rng.choice(SIGNALS_BY_MOOD[call][mood <= 3]))
    # A low mood is noted as low spirits too; the opening line says so already.
    said = set(signals)
    if mood <= 2:
        signals.add("low_spirits")
    needs: set[str] = set()
    if rng.random() < 0.5:
        needs.add(rng.choice(sorted(NEED_LINES)))
    openings = (CALL_OPENINGS if call else OPENINGS)[mood]
    lines = [rng.choice(openings)]
    lines += [rng.choice(SIGNAL_LINES[s]) for s in sorted(said)]
    if v.incident is not None:
        signals.add(v.incident.signal)
        lines.append(v.incident.noted)
    lines += [NEED_LINES[n] for n in sorted(needs)]
    needs_other = rng.choice(NEEDS_OTHER) if rng.random() < 0.15 else ""
    written = min(v.ends_at + dt.timedelta(minutes=rng.randint(10, 300)), max(latest, v.ends_at))
    return (
        v.household_id, v.team_visit_id, v.shift_id, v.visit_kind, v.carer, mood, sorted(signals), sorted(needs),
        needs_other, "".join(lines), written,
    )  # fmt: skip


async def _ratings(
    conn: asyncpg.Connection, rng: random.Random, visits: list[_Visit], notes: list[tuple[object, ...]],
    phones: set[int], demo: DemoParties, latest: dt.datetime,
) -> int:  # fmt: skip
    """Each noted home visit's rating link (sent where the household has a phone), and most visits' ratings: by the
    link, or entered by the committee's staff on the household's behalf. Calls make no link and are not rated."""
    written = {(n[1], n[2]): n[10] for n in notes}
    links: list[tuple[object, ...]] = []
    ratings: list[tuple[object, ...]] = []
    rated = [v for v in visits if v.noted and v.contact_kind == "home_visit"]
    rating_ids = iter(await base_sql.reserve_ids(conn, "visit_ratings", len(rated)))
    for v in rated:
        noted_at = written[(v.team_visit_id, v.shift_id)]
        assert isinstance(noted_at, dt.datetime)
        phone = v.household_id in phones
        sent = noted_at + dt.timedelta(minutes=2) if phone else None
        at = noted_at + dt.timedelta(hours=rng.randint(2, 40))
        by_staff = v.committee_id == demo.committee_id and (not phone or rng.random() < 0.4)
        rating_id: int | None = None
        if at <= latest and rng.random() < 0.75 and (phone or by_staff):
            rating_id = next(rating_ids)
            score = rng.choices((5, 4, 3, 2, 1), weights=(52, 34, 8, 4, 2))[0]
            ratings.append((
                rating_id, v.household_id, v.team_visit_id, v.shift_id, v.visit_kind, v.organisation_id, score,
                rng.choice(COMMENTS[score]), "staff" if by_staff else "link",
                demo.committee_account if by_staff else None, at,
            ))  # fmt: skip
        used = rating_id is not None and not by_staff
        links.append((
            rng.randbytes(32), v.household_id, v.team_visit_id, v.shift_id, v.visit_kind,
            noted_at + dt.timedelta(days=NOTE_DAYS), at if used else None, rating_id if used else None,
            "sent" if phone else "no_phone", 1 if phone else 0, noted_at, sent, noted_at,
        ))  # fmt: skip
    await base_sql.copy_rows(conn, notes_sql.RATINGS, ratings)
    await base_sql.copy_rows(conn, notes_sql.RATING_LINKS, links)
    return len(ratings)


async def _incidents(conn: asyncpg.Connection, visits: list[_Visit], demo: DemoParties, latest: dt.datetime) -> int:
    """The committee's incidents as raised, acknowledged and closed; the open one's notification to its staff."""
    chosen = [v for v in visits if v.incident is not None]
    ids = await base_sql.reserve_ids(conn, "visit_incidents", len(chosen))
    rows: list[tuple[object, ...]] = []
    staff = await access_sql.committee_staff(conn, demo.committee_id)
    for incident_id, v in zip(ids, chosen, strict=True):
        incident = v.incident
        assert incident is not None
        raised = v.ends_at + RAISED_AFTER
        acknowledged = closed = None
        if incident.status != "open":
            acknowledged = min(raised + dt.timedelta(hours=2), latest)
        if incident.status == "closed":
            closed = min(raised + dt.timedelta(days=2), latest)
        rows.append((
            incident_id, v.household_id, v.committee_id, v.team_visit_id, v.shift_id, v.visit_kind,
            v.organisation_id, v.carer, incident.kind, incident.severity, incident.what_happened, incident.status,
            raised, demo.committee_account if acknowledged else None, acknowledged,
            demo.committee_account if closed else None, closed, incident.action_taken,
        ))  # fmt: skip
    await base_sql.copy_rows(conn, notes_sql.INCIDENTS, rows)
    # Raised as the service raises one: every account of the committee is told (the open one is still news).
    for incident_id, v in zip(ids, chosen, strict=True):
        if v.incident is None or v.incident.status != "open":
            continue
        for account_id in staff:
            await notifications.enqueue(
                conn, account_id=account_id, kind="visit_incident",
                dedupe_key=f"visit_incident:incident:{incident_id}:account:{account_id}",
                params={"incident_id": incident_id, "severity": v.incident.severity, "kind": v.incident.kind},
                due_at=v.ends_at + RAISED_AFTER,
            )  # fmt: skip
    return len(rows)
