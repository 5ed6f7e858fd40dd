"""A week of home-visit day plans: every day of a week from today on started in one transaction (one run per day in
the one pipeline, all or none), days with nothing to plan reported, the refusals; the week page (days across, the
carers by day, Chinese), its API read, and the carer's week on their phone."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

import asyncpg
import pytest

from api.services import visit_weeks, visits
from api.services.errors import Conflict, Invalid, NotFound
from api.services.rosters import monday_of
from api.services.visit_weeks import PlanWeek
from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import login, post_form
from tests.pages_kit import page_context
from tests.test_visits import _day
from tests.test_visits_api import _as
from tests.worker_kit import JobQueueSpy


def _next_monday() -> dt.date:
    return monday_of(visits.today()) + dt.timedelta(weeks=1)


async def _start(conn, queue, contract, start: dt.date) -> visit_weeks.WeekStarted:
    return await visit_weeks.start_week(
        conn, queue, contract.organisation(), contract.contract_id, PlanWeek(start=start), fv.SPEEDS
    )


async def _runs(conn) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT r.id, r.status, d.day FROM match_runs r JOIN visit_days d ON d.id = r.subject_id"
        " WHERE r.model = 'visits' ORDER BY d.day"
    )


async def test_a_week_starts_one_run_per_remaining_day_in_the_one_pipeline(conn, redis):
    contract, _, _ = await _day(conn)
    queue = JobQueueSpy(redis)
    today = visits.today()
    this_week = await _start(conn, queue, contract, monday_of(today))
    remaining = [monday_of(today) + dt.timedelta(days=k) for k in range(7)]
    assert [s.day for s in this_week.started] == [d for d in remaining if d >= today]
    assert this_week.past == [d for d in remaining if d < today] and this_week.skipped == []
    week = await _start(conn, queue, contract, _next_monday())
    assert len(week.started) == 7
    rows = await _runs(conn)
    assert len(rows) == len(this_week.started) + 7 and {r["status"] for r in rows} == {"queued"}
    # Each day is its own run, queued after the commit for the worker's run_visits.
    assert [c[0] for c in queue.calls] == ["run_visits"] * len(rows)
    assert sorted(r["day"] for r in rows) == sorted([s.day for s in this_week.started] + [s.day for s in week.started])
    audited = await conn.fetch("SELECT detail FROM audit_log WHERE action = 'visit_week.plan' ORDER BY id")
    assert len(audited) == 2
    starts = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'visits_run.start'")
    assert starts == len(rows)
    # The same week again: the same runs (the inputs did not change), no new ones.
    again = await _start(conn, queue, contract, _next_monday())
    assert [s.run.id for s in again.started] == [s.run.id for s in week.started]
    assert len(await _runs(conn)) == len(rows)


async def test_days_with_nothing_to_plan_are_reported_and_leave_nothing_behind(conn, redis):
    contract, _, carers = await _day(conn)
    ids = [c[0] for c in carers]
    await conn.execute("UPDATE carers SET work_days = '{1,2,3,4,5}' WHERE id = ANY ($1::bigint[])", ids)
    week = await _start(conn, JobQueueSpy(redis), contract, _next_monday())
    assert [s.day.isoweekday() for s in week.started] == [1, 2, 3, 4, 5]
    # Without a carer working no visit can be given: the day's own refusal, as planning that day alone says it.
    why = "No household of the contract takes a visit that day that its carers can give"
    skipped = [(s.day.isoweekday(), s.code, s.why) for s in week.skipped]
    assert skipped == [(6, "no_household", why), (7, "no_household", why)]
    days = await conn.fetch("SELECT day FROM visit_days ORDER BY day")
    assert [d["day"].isoweekday() for d in days] == [1, 2, 3, 4, 5]


async def test_a_day_failing_in_the_middle_of_the_week_starts_no_run(conn, redis):
    contract, _, _ = await _day(conn)
    thursday = _next_monday() + dt.timedelta(days=3)
    # A real failure of the database on Thursday's day row, after Monday to Wednesday were started.
    await conn.execute(
        f"""CREATE FUNCTION pg_temp.refuse_thursday() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.day = '{thursday.isoformat()}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_thursday BEFORE INSERT ON visit_days
            FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_thursday();
        """
    )
    queue = JobQueueSpy(redis)
    with pytest.raises(asyncpg.RaiseError):
        await _start(conn, queue, contract, _next_monday())
    assert await _runs(conn) == [] and queue.calls == []
    assert await conn.fetchval("SELECT count(*) FROM visit_days") == 0
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'visit%'") == 0


async def test_a_week_is_refused_when_not_a_monday_over_too_far_ahead_not_theirs_or_ended(conn, redis):
    contract, _, _ = await _day(conn)
    queue = JobQueueSpy(redis)
    monday = _next_monday()
    for start, field in ((monday + dt.timedelta(days=1), "A week starts on a Monday"),
                         (monday - dt.timedelta(weeks=2), "This week is over"),
                         (monday + dt.timedelta(weeks=4), "A week can be planned up to four weeks ahead")):  # fmt: skip
        with pytest.raises(Invalid) as refused:
            await _start(conn, queue, contract, start)
        assert refused.value.fields == {"start": field}
    other = await fv.create_contract(conn)
    with pytest.raises(NotFound):
        await visit_weeks.start_week(conn, queue, other.organisation(), contract.contract_id, PlanWeek(monday),
                                     fv.SPEEDS)  # fmt: skip
    with pytest.raises(NotFound):
        await visit_weeks.week(conn, other.organisation(), contract.contract_id, monday)
    await conn.execute("UPDATE contracts SET status = 'completed' WHERE id = $1", contract.contract_id)
    with pytest.raises(Conflict):
        await _start(conn, queue, contract, monday)
    assert await _runs(conn) == [] and queue.calls == []


async def test_the_week_page_shows_each_days_state_and_the_carers_by_day(client, conn, redis):
    contract, _, carers = await _day(conn)
    monday = _next_monday()
    week = await _start(conn, JobQueueSpy(redis), contract, monday)
    # The worker plans Monday and Tuesday; the rest are still queued.
    for s in week.started[:2]:
        await fv.solve_run_here(conn, s.run.id)
    busiest = await conn.fetchrow(
        "SELECT carer_id, count(*) AS n FROM planned_visits pv JOIN visit_days d ON d.id = pv.visit_day_id"
        " WHERE d.day = $1 GROUP BY carer_id ORDER BY n DESC, carer_id LIMIT 1",
        monday,
    )
    # That carer's hours now end at 08:05: Monday and Tuesday run past them.
    await conn.execute("UPDATE carers SET work_ends = '08:05' WHERE id = $1", busiest["carer_id"])
    await login(client, await factories.username_of(conn, contract.organisation_account))
    path = f"/visits/contracts/{contract.contract_id}/week?start={(monday + dt.timedelta(days=2)).isoformat()}"
    rendered = await page_context(client, path)
    assert rendered.template == "visit_plans/week.html"
    shown = rendered["week"]
    assert shown.start == monday and [d.day for d in shown.days] == visit_weeks.days_of(monday)
    assert [d.state for d in shown.days] == ["planned", "planned"] + ["planning"] * 5
    assert [d.visits for d in shown.days[:2]] == [6, 6] and shown.days[2].visits == 0
    assert rendered["waiting_run"] == week.started[-1].run.id
    assert {c.carer_id for c in shown.carers} == {c[0] for c in carers}
    row = next(c for c in shown.carers if c.carer_id == busiest["carer_id"])
    assert row.cells[0] is not None and row.cells[0].stops == busiest["n"] and row.cells[0].over
    assert row.cells[2] is None and row.works == [True] * 7
    assert sum(c.cells[0].stops for c in shown.carers if c.cells[0]) == 6
    text = rendered.response.text
    for words in ("上门周排班", "已排班", "排班中", "护理员每日安排", "超出工作时间", "← 上一周", "为本周每天排班"):
        assert words in text, words
    assert f"?day={monday.isoformat()}#carer-{busiest['carer_id']}" in text
    await post_form(client, "/lang", {"locale": "en", "next": path}, page=path)
    english = (await client.get(path)).text
    assert "Week of visits" in english and "Day planned" in english and "outside working hours" in english
    await post_form(client, "/lang", {"locale": "zh_CN", "next": path}, page=path)
    board = await page_context(client, f"/visits/contracts/{contract.contract_id}?day={monday.isoformat()}")
    assert board["week_start"] == monday and f"/week?start={monday.isoformat()}" in board.response.text
    # Planning the week from the page again: the same runs, back on the week.
    again = await post_form(client, f"/visits/contracts/{contract.contract_id}/weeks", {"start": monday.isoformat()},
                            page=path)  # fmt: skip
    assert again.status_code in (302, 303) and f"start={monday.isoformat()}" in again.headers["location"]
    late = await post_form(client, f"/visits/contracts/{contract.contract_id}/weeks",
                           {"start": (monday + dt.timedelta(weeks=5)).isoformat()}, page=path)  # fmt: skip
    assert late.status_code == 422 and "最多只能提前四周排班" in late.text and 'id="e-start"' in late.text
    other = await fv.create_contract(conn)
    await client.post("/logout", follow_redirects=False)
    await login(client, await factories.username_of(conn, other.organisation_account))
    assert (await client.get(path)).status_code == 404


async def test_the_carer_phone_page_lists_their_days_this_week(client, conn, redis):
    contract, _, carers = await _day(conn)
    today = visits.today()
    week = await _start(conn, JobQueueSpy(redis), contract, monday_of(today))
    await fv.solve_run_here(conn, week.started[0].run.id)
    row = await conn.fetchrow(
        "SELECT carer_id, count(*) AS n, min(lower(during)) AS first FROM planned_visits GROUP BY carer_id"
        " ORDER BY carer_id LIMIT 1"
    )
    carer = next(c for c in carers if c[0] == row["carer_id"])
    await login(client, await factories.username_of(conn, carer[2]))
    rendered = await page_context(client, "/visits/today")
    assert [(d.day, d.stops, d.first_start) for d in rendered["week"]] == [(today, row["n"], row["first"])]
    assert "本周" in rendered.response.text and "首站" in rendered.response.text


async def test_a_week_over_the_api(client, conn, redis):
    contract, _, _ = await _day(conn)
    monday = _next_monday()
    org = await _as(client, conn, contract.organisation_account)
    url = f"/api/visits/contracts/{contract.contract_id}/weeks"
    started = await client.post(url, json={"start": monday.isoformat()}, headers=org)
    assert started.status_code == 202, started.text
    body = started.json()
    assert [d["day"] for d in body["started"]] == [d.isoformat() for d in visit_weeks.days_of(monday)]
    assert {d["run"]["model"] for d in body["started"]} == {"visits"} and "seed" not in body["started"][0]["run"]
    read = await client.get(f"{url}/{monday.isoformat()}", headers=org)
    assert read.status_code == 200 and [d["state"] for d in read.json()["days"]] == ["planning"] * 7
    tuesday = await client.post(url, json={"start": (monday + dt.timedelta(days=1)).isoformat()}, headers=org)
    assert tuesday.status_code == 422 and tuesday.json()["errors"][0]["field"] == "start"
    other = await _as(client, conn, (await fv.create_contract(conn)).organisation_account)
    refused = await client.post(url, json={"start": monday.isoformat()}, headers=other)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"{url}/{monday.isoformat()}", headers=other)).status_code == 404
    await conn.execute("UPDATE contracts SET status = 'stopped' WHERE id = $1", contract.contract_id)
    ended = await client.post(url, json={"start": monday.isoformat()}, headers=org)
    assert ended.status_code == 409 and ended.headers["content-type"].startswith("application/problem+json")


async def test_a_week_at_the_ends_of_the_calendar_is_refused_beside_start_not_a_server_error(client, conn):
    # Year 9999's last week runs past the last date Python has: reading or planning it raised OverflowError (a 500),
    # and the week page's link to the week before year 1's first one did too.
    contract, _, _ = await _day(conn)
    org = await _as(client, conn, contract.organisation_account)
    base = f"/api/visits/contracts/{contract.contract_id}/weeks"
    for answer in (await client.get(f"{base}/9999-12-31", headers=org),
                   await client.get(f"{base}/0001-01-01", headers=org),
                   await client.post(base, json={"start": "9999-12-27"}, headers=org)):  # fmt: skip
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in answer.json()["errors"]] == ["start"]
    await login(client, await factories.username_of(conn, contract.organisation_account))
    path = f"/visits/contracts/{contract.contract_id}/week"
    for start in ("9999-12-31", "0001-01-01"):
        assert (await client.get(f"{path}?start={start}")).status_code == 422
    far = await post_form(client, f"/visits/contracts/{contract.contract_id}/weeks", {"start": "9999-12-27"}, page=path)
    assert far.status_code == 422


async def test_after_planning_the_week_the_page_says_which_days_were_skipped_and_why(client, conn, redis):
    contract, _, carers = await _day(conn)
    await conn.execute(
        "UPDATE carers SET work_days = '{1,2,3,4,5}' WHERE id = ANY ($1::bigint[])", [c[0] for c in carers]
    )
    monday = _next_monday()
    await login(client, await factories.username_of(conn, contract.organisation_account))
    path = f"/visits/contracts/{contract.contract_id}/week?start={monday.isoformat()}"
    posted = await post_form(
        client, f"/visits/contracts/{contract.contract_id}/weeks", {"start": monday.isoformat()}, page=path
    )
    assert posted.status_code in (302, 303) and "skipped=" in posted.headers["location"]
    saturday, sunday = monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
    # The address carries each day's code as the service gave it; the page translates the code.
    assert f"{saturday.isoformat()}:no_household,{sunday.isoformat()}:no_household" in unquote(
        posted.headers["location"]
    )
    shown = await page_context(client, posted.headers["location"])
    why = "No household of the contract takes a visit that day that its carers can give"
    assert [(s.day.isoweekday(), s.code, s.why) for s in shown["skipped"]] == [
        (6, "no_household", why), (7, "no_household", why)
    ]  # fmt: skip
    text = shown.response.text
    assert "有 2 天未排班" in text and f"周六 {saturday.month}月{saturday.day}日：" in text
    await post_form(client, "/lang", {"locale": "en", "next": path}, page=path)
    english = (await client.get(posted.headers["location"])).text
    assert "2 days were not planned:" in english and why in english
