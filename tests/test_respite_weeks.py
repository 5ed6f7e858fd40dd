"""A committee plans its respite week in one action (issue 14, step 3): every day of the week from today on with
pending respite requests is routed and its run started in one transaction (all or none, audited once), a day
scheduled as shifts or with no request is reported, not refused; another committee routes nothing of it, an
organisation or a volunteer is refused; over the API and from the committee's board."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import respite, respite_days, visits
from api.services.errors import Forbidden
from api.services.rosters import monday_of
from api.services.visit_weeks import PlanWeek
from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import _committee, _household, _request, join_roster
from tests.worker_kit import JobQueueSpy

NO_REQUEST = "No respite visit is requested that day"
SHIFTS = "Respite visits of that day are already scheduled as shifts; a day is planned as shifts or as routes"


def _monday() -> dt.date:
    return monday_of(visits.today()) + dt.timedelta(weeks=1)


async def _week(conn: asyncpg.Connection, redis: object):
    """A committee with two carers, next Thursday's request scheduled as a shift, then requests on next Monday (two
    households) and Wednesday (one) still pending; (committee, the pending requests by day)."""
    who = await _committee(conn)
    monday = _monday()
    homes = [await _household(conn, who, (31.28 + k / 500, 121.52 + k / 500)) for k in range(4)]
    await _request(conn, homes[3], monday + dt.timedelta(days=3), "09:00")
    scheduled = await respite.schedule(conn, JobQueueSpy(redis), who, respite.ScheduleWeek(week_starts=monday))
    assert scheduled.scheduled == 1
    pending = {
        monday: [await _request(conn, homes[0], monday, "09:00"), await _request(conn, homes[1], monday, "10:00")],
        monday + dt.timedelta(days=2): [await _request(conn, homes[2], monday + dt.timedelta(days=2), "14:00")],
    }
    for at in ((31.281, 121.521), (31.279, 121.523)):
        await join_roster(conn, who, at)
    return who, pending


async def _statuses(conn: asyncpg.Connection, ids: list[int]) -> list[str]:
    rows = await conn.fetch("SELECT status FROM respite_requests WHERE id = ANY($1::bigint[]) ORDER BY id", ids)
    return [r["status"] for r in rows]


async def test_the_committee_plans_its_respite_week_in_one_action(conn, redis):
    who, pending = await _week(conn, redis)
    monday = _monday()
    queue = JobQueueSpy(redis)
    week = await respite_days.start_week(conn, queue, who, PlanWeek(start=monday), fv.SPEEDS)
    assert week.committee_id == who.committee_id and week.past == []
    assert [s.day for s in week.started] == sorted(pending)
    assert {(s.day.isoweekday(), s.why) for s in week.skipped} == {
        (2, NO_REQUEST), (4, SHIFTS), (5, NO_REQUEST), (6, NO_REQUEST), (7, NO_REQUEST)
    }  # fmt: skip
    assert {(s.day.isoweekday(), s.code) for s in week.skipped} == {
        (2, "no_request"), (4, "as_shifts"), (5, "no_request"), (6, "no_request"), (7, "no_request")
    }  # fmt: skip
    # Each day its own run of the one pipeline, queued after the commit; the requests routed on their day.
    runs = await conn.fetch(
        "SELECT r.id, r.status, d.day, d.committee_id FROM match_runs r JOIN visit_days d ON d.id = r.subject_id"
        " WHERE r.model = 'visits' ORDER BY d.day"
    )
    assert [(r["day"], r["status"], r["committee_id"]) for r in runs] == [
        (d, "queued", who.committee_id) for d in sorted(pending)
    ]
    assert len(queue.calls) == 2
    assert await _statuses(conn, [i for ids in pending.values() for i in ids]) == ["routed"] * 3
    audited = await conn.fetch(
        "SELECT object_type, object_id, detail FROM audit_log WHERE action = 'respite_week.plan'"
    )
    assert [(a["object_type"], a["object_id"]) for a in audited] == [("committee", str(who.committee_id))]
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'respite.route'") == 2
    # Monday's run is solved as any respite day's: the two requests are on the carers' routes.
    await fv.solve_run_here(conn, runs[0]["id"])
    board = await respite_days.board(conn, who, monday)
    assert sum(len(r.stops) for r in board.board.routes) == 2
    # The same week again: the standing runs, nothing new.
    again = await respite_days.start_week(conn, queue, who, PlanWeek(start=monday), fv.SPEEDS)
    assert [s.run.id for s in again.started] == [r["id"] for r in runs]


async def test_a_day_failing_in_the_middle_of_the_respite_week_starts_nothing(conn, redis):
    who, pending = await _week(conn, redis)
    wednesday = _monday() + dt.timedelta(days=2)
    await conn.execute(
        f"""CREATE FUNCTION pg_temp.refuse_wednesday() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.day = '{wednesday.isoformat()}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_wednesday BEFORE INSERT ON visit_days
            FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_wednesday();
        """
    )
    queue = JobQueueSpy(redis)
    with pytest.raises(asyncpg.RaiseError):
        await respite_days.start_week(conn, queue, who, PlanWeek(start=_monday()), fv.SPEEDS)
    assert queue.calls == [] and await conn.fetchval("SELECT count(*) FROM match_runs WHERE model = 'visits'") == 0
    assert await conn.fetchval("SELECT count(*) FROM visit_days") == 0
    assert await _statuses(conn, [i for ids in pending.values() for i in ids]) == ["pending"] * 3
    assert (
        await conn.fetchval("SELECT count(*) FROM audit_log WHERE action IN ('respite.route', 'respite_week.plan')")
        == 0
    )


async def test_only_the_committee_plans_its_own_respite_week(client, conn, redis):
    who, pending = await _week(conn, redis)
    queue = JobQueueSpy(redis)
    # Another committee's week routes none of this committee's requests.
    other = await _committee(conn)
    theirs = await respite_days.start_week(conn, queue, other, PlanWeek(start=_monday()), fv.SPEEDS)
    assert theirs.started == [] and {s.why for s in theirs.skipped} == {NO_REQUEST}
    assert await _statuses(conn, [i for ids in pending.values() for i in ids]) == ["pending"] * 3
    organisation = (await fv.create_contract(conn)).organisation()
    with pytest.raises(Forbidden):
        await respite_days.start_week(conn, queue, organisation, PlanWeek(start=_monday()), fv.SPEEDS)
    # Over the API: an organisation gets 403, a day not a Monday 422 beside `start`, the committee 202.
    org = await bearer(client, await factories.username_of(conn, organisation.account_id))
    body = {"start": _monday().isoformat()}
    assert (await client.post("/api/visits/respite/weeks", json=body, headers=org)).status_code == 403
    mine = await bearer(client, await factories.username_of(conn, who.account_id))
    tuesday = {"start": (_monday() + dt.timedelta(days=1)).isoformat()}
    wrong = await client.post("/api/visits/respite/weeks", json=tuesday, headers=mine)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "start"
    started = await client.post("/api/visits/respite/weeks", json=body, headers=mine)
    assert started.status_code == 202, started.text
    assert [s["day"] for s in started.json()["started"]] == [d.isoformat() for d in sorted(pending)]
    # Each day skipped with its code beside the message.
    skipped = started.json()["skipped"]
    assert skipped and {(s["code"], s["why"]) for s in skipped} == {("no_request", NO_REQUEST), ("as_shifts", SHIFTS)}


async def test_the_committee_plans_the_week_from_its_board(client, conn, redis):
    who, pending = await _week(conn, redis)
    monday = _monday()
    await login(client, await factories.username_of(conn, who.account_id))
    board_url = f"/visits/respite?day={monday.isoformat()}"
    shown = await page_context(client, board_url)
    assert shown["week_start"] == monday and "为本周每天排班" in shown.response.text
    posted = await post_form(client, "/visits/respite/weeks", {"start": monday.isoformat()}, page=board_url)
    assert posted.status_code in (302, 303), posted.text
    assert await conn.fetchval("SELECT count(*) FROM match_runs WHERE model = 'visits'") == len(pending)
    assert posted.headers["location"].startswith("/visits/respite/week?")
    shown = await page_context(client, posted.headers["location"])
    assert shown.template == "visit_plans/week.html" and shown["done"] == "week"
    week = shown["week"]
    assert week.committee_id == who.committee_id and week.start == monday
    assert [d.state for d in week.days if d.day in pending] == ["planning", "planning"]
    assert {d.state for d in week.days if d.day not in pending} == {"not_planned"}
    assert len(week.carers) == 2 and shown["waiting_run"] is not None
    text = shown.response.text
    assert "等待中的申请排入护理员路线" in text and f"/visits/respite?day={monday.isoformat()}" in text
    # The days skipped, and why, on the page after the redirect: Thursday is scheduled as shifts, the rest asked none.
    thursday = monday + dt.timedelta(days=3)
    skipped = {s.day: s.why for s in shown["skipped"]}
    assert set(skipped) == {monday + dt.timedelta(days=k) for k in range(7)} - set(pending)
    assert skipped[thursday] == SHIFTS and {w for d, w in skipped.items() if d != thursday} == {NO_REQUEST}
    assert "有 5 天未排班" in text and f"周四 {thursday.month}月{thursday.day}日：当天的喘息服务已排成班次" in text
    assert "当天没有喘息服务申请" in text
    # The same page without the plan's answer (a later visit, or a hand-made address) shows no such list.
    plain = await page_context(client, f"/visits/respite/week?start={monday.isoformat()}")
    assert plain["skipped"] == [] and "未排班：" not in plain.response.text
    made_up = await page_context(
        client, f"/visits/respite/week?start={monday.isoformat()}&done=week&skipped=1999-01-04:no_request,"
        f"{monday.isoformat()}:anything"
    )  # fmt: skip
    assert [(s.day, s.code, s.why) for s in made_up["skipped"]] == [(monday, "other", "Nothing to plan that day")]
    # Solved, Monday counts its two visits; the API reads the same week; another committee's week is its own.
    await fv.solve_run_here(conn, week.days[0].run_id)
    client.cookies.clear()
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    read = (await client.get(f"/api/visits/respite/weeks/{monday.isoformat()}", headers=headers)).json()
    assert read["committee_id"] == who.committee_id and read["days"][0]["state"] == "planned"
    assert read["days"][0]["visits"] == 2 and sum(1 for c in read["carers"] if c["cells"][0]) >= 1
    other = await bearer(client, await factories.username_of(conn, (await _committee(conn)).account_id))
    theirs = (await client.get(f"/api/visits/respite/weeks/{monday.isoformat()}", headers=other)).json()
    assert {d["state"] for d in theirs["days"]} == {"not_planned"} and theirs["carers"] == []
