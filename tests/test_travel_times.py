"""Measured travel times (issue 14, step 3): an organisation or a committee uploads minutes by e-bike between its
points; a day's plan uses them for the pairs given (one direction counts for both) and the estimate for the rest; a
wrong file stores nothing and names each row's errors; another owner can neither read nor name them."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from api.services import respite_days, runs, travel_times, visits
from api.services.errors import NotFound
from sql import visits as visits_sql
from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import respite_day
from tests.test_visits import _day
from tests.worker_kit import JobQueueSpy


def _csv(points: list[str], minutes: float, *, both: bool = False) -> bytes:
    """Every pair of the points in one direction (or both) at the same minutes, with a header line."""
    rows = ["from,to,minutes"]
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            if i < j or (both and i != j):
                rows.append(f"{a},{b},{minutes}")
    return ("\n".join(rows) + "\n").encode()


async def _stops(conn, day_id: int) -> list:
    return await conn.fetch(
        "SELECT visit_key, carer_id, travel_minutes FROM planned_visits WHERE visit_day_id = $1"
        " AND status <> 'released' ORDER BY carer_id, seq",
        day_id,
    )


async def _latest(conn, day_id: int):
    return await conn.fetchrow(
        "SELECT id, result FROM match_runs WHERE model = 'visits' AND subject_id = $1 ORDER BY id DESC LIMIT 1",
        day_id,
    )


async def test_an_uploaded_time_is_each_stops_travel_and_a_new_upload_makes_a_new_plan(conn, redis):
    contract, homes, carers = await _day(conn)
    who = contract.organisation()
    points = [f"H{h}" for h in homes] + [f"C{c[0]}" for c in carers]
    stored = await travel_times.replace(conn, who, "高德.csv", _csv(points, 7.7))
    assert stored.pairs == len(points) * (len(points) - 1) // 2
    day = fv.tomorrow()
    queue = JobQueueSpy(redis)
    run_id = await fv.plan_here(conn, queue, who, contract.contract_id, day)
    day_id = await conn.fetchval("SELECT subject_id FROM match_runs WHERE id = $1", run_id)
    stops = await _stops(conn, day_id)
    # Every leg is a supplied pair (given one way only: the other way is taken as equal), all carers by e-bike.
    assert stops and {round(s["travel_minutes"], 1) for s in stops} == {7.7}
    run = await _latest(conn, day_id)
    assert json.loads(run["result"])["supplied_pairs"] == len(points) * (len(points) - 1)
    # The same inputs: the same run; a new upload changes the problem, so a plan starts anew and uses it.
    again = await visits.start_plan(conn, queue, who, contract.contract_id, visits.PlanDay(day=day), fv.SPEEDS)
    assert again.id == run_id
    await travel_times.replace(conn, who, "new.csv", f"{points[-1]},{points[0]},12.5\n".encode())
    new = await visits.start_plan(conn, queue, who, contract.contract_id, visits.PlanDay(day=day), fv.SPEEDS)
    assert new.id != run_id
    await fv.solve_run_here(conn, new.id)
    first_home = f"{homes[0]}:care"
    for s in await _stops(conn, day_id):
        if s["visit_key"] == first_home and f"C{s['carer_id']}" == points[-1]:
            assert round(s["travel_minutes"], 1) == 12.5
    assert json.loads((await _latest(conn, day_id))["result"])["supplied_pairs"] == 2
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'travel_times.replace'") == 2


def test_the_days_matrix_takes_each_direction_given_and_estimates_the_rest():
    supplied = {("h1", "c2"): 5.0, ("c2", "h1"): 6.0, ("h1", "h3"): 4.0}
    both = supplied | {(b, a): m for (a, b), m in supplied.items() if (b, a) not in supplied}
    matrix, used = travel_times.matrix_of(["h1", "c2", "h3"], both, lambda i, j: 99.0)
    assert matrix == ((0.0, 5.0, 4.0), (6.0, 0.0, 99.0), (4.0, 99.0, 0.0))
    assert used == 4


def test_a_file_with_wrong_rows_names_each_one():
    known = {"h1", "h2", "c3"}
    content = "起点,终点,分钟\nH1,C3,8\nH1,H9,5\nh2,c3,abc\nH1,C3,9\nH1,H1,3\nH2,C3\nＨ2,Ｃ3,0\n".encode("gb18030")
    rows, issues = travel_times.read_rows(content, known)
    assert [(i.row, i.column, i.message) for i in issues] == [
        (3, "to", travel_times.UNKNOWN_POINT),
        (4, "minutes", travel_times.NOT_MINUTES),
        (5, "to", travel_times.PAIR_TWICE),
        (6, "to", travel_times.SAME_POINT),
        (7, "", travel_times.THREE_COLUMNS),
        (8, "minutes", travel_times.NOT_MINUTES),
    ]
    assert [(r.from_point, r.to_point, r.minutes) for r in rows] == [("h1", "c3", 8.0)]
    assert travel_times.read_rows(b"", known)[1][0].message == travel_times.EMPTY_FILE
    assert travel_times.read_rows(b"\xff\xfe\x00\x00", known)[1][0].message == travel_times.NOT_TEXT


async def test_a_wrong_file_stores_nothing_and_another_organisation_can_neither_read_nor_name_them(client, conn):
    contract, homes, carers = await _day(conn)
    org = await bearer(client, await factories.username_of(conn, contract.organisation_account))
    good = await client.put("/api/carers/travel-times?filename=a.csv", content=f"H{homes[0]},C{carers[0][0]},6\n",
                            headers=org)  # fmt: skip
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["pairs"] == 1 and body["rows"] == [{"from_point": f"H{homes[0]}", "to_point": f"C{carers[0][0]}",
                                                    "minutes": 6.0}]  # fmt: skip
    bad = await client.put(
        "/api/carers/travel-times", content=f"H{homes[0]},C{carers[0][0]},6\nH{homes[1]},H999999999,x\n", headers=org
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} == {"row 2: to", "row 2: minutes"}
    # Nothing stored: the earlier upload stands.
    assert (await client.get("/api/carers/travel-times", headers=org)).json()["id"] == body["id"]
    other = await fv.create_contract(conn)
    theirs = await bearer(client, await factories.username_of(conn, other.organisation_account))
    assert (await client.get(f"/api/carers/travel-times/{body['id']}", headers=theirs)).status_code == 404
    assert (await client.get("/api/carers/travel-times", headers=theirs)).status_code == 404
    # Another's households and carers are unknown points to them: nothing of the first organisation's is replaced.
    named = await client.put("/api/carers/travel-times", content=f"H{homes[0]},C{carers[0][0]},1\n", headers=theirs)
    assert named.status_code == 422
    assert {e["field"] for e in named.json()["errors"]} == {"row 1: from", "row 1: to"}
    assert (await client.get("/api/carers/travel-times", headers=org)).json()["rows"][0]["minutes"] == 6.0


async def test_a_committees_upload_is_used_by_its_respite_day(conn, redis):
    who, homes, roster, day = await respite_day(conn)
    points = [f"H{h}" for h in homes] + [f"C{c}" for c, _ in roster]
    await travel_times.replace(conn, who, "baidu.csv", _csv(points, 9.9, both=True))
    run = await respite_days.start_plan(conn, JobQueueSpy(redis), who, visits.PlanDay(day=day), fv.SPEEDS)
    await fv.solve_run_here(conn, run.id)
    day_id = await conn.fetchval("SELECT subject_id FROM match_runs WHERE id = $1", run.id)
    stops = await _stops(conn, day_id)
    assert len(stops) == 3 and {round(s["travel_minutes"], 1) for s in stops} == {9.9}
    # An organisation cannot name the committee's households.
    contract = await fv.create_contract(conn)
    with pytest.raises(travel_times.Refused):
        await travel_times.replace(conn, contract.organisation(), "x.csv", f"H{homes[0]},H{homes[1]},3\n".encode())


async def test_the_carers_page_uploads_travel_times_and_shows_each_rows_error_in_chinese(client, conn, redis):
    contract, homes, carers = await _day(conn)
    await login(client, await factories.username_of(conn, contract.organisation_account))
    rendered = await page_context(client, "/carers")
    text = rendered.response.text
    assert rendered["travel"] is None and "实测路程时间" in text and "尚未上传" in text
    assert f"C{carers[0][0]}" in rendered.response.text
    bad = f"from,to,minutes\nH{homes[0]},C{carers[0][0]},8\nH{homes[0]},C{carers[0][0]},9\nH{homes[1]},Z1,5\n"
    refused = await post_form(client, "/carers/travel-times", {}, page="/carers",
                              files={"file": ("t.csv", bad.encode(), "text/csv")})  # fmt: skip
    assert refused.status_code == 422
    assert "第 3 行「终点」列" in refused.text and "前面的行里已经出现过" in refused.text and "第 4 行" in refused.text
    assert "未保存任何内容" in refused.text
    good = f"H{homes[0]},C{carers[0][0]},8\n"
    stored = await post_form(client, "/carers/travel-times", {}, page="/carers",
                             files={"file": ("t.csv", good.encode(), "text/csv")})  # fmt: skip
    assert stored.status_code in (302, 303), stored.text
    rendered = await page_context(client, "/carers?done=travel")
    assert rendered["travel"].pairs == 1 and "正在使用：t.csv，共 1 对" in rendered.response.text
    points = await client.get("/carers/travel-points.csv")
    assert points.status_code == 200 and f"H{homes[0]}" in points.text and f"C{carers[0][0]}" in points.text
    # The board's travel note says how many pairs of the day came from the upload (one given: both ways).
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    board = await page_context(client, f"/visits/contracts/{contract.contract_id}?day={day.isoformat()}")
    assert board["board"].latest_run.result["supplied_pairs"] == 2
    assert "路程时间：上传的实测时间 2 对，其余按直线距离 × 1.3" in board.response.text


async def test_an_upload_while_the_plan_was_solving_fails_the_run_instead_of_writing_a_plan_of_other_times(conn, redis):
    contract, homes, carers = await _day(conn)
    who = contract.organisation()
    plan = visits.PlanDay(day=fv.tomorrow())
    run = await visits.start_plan(conn, JobQueueSpy(redis), who, contract.contract_id, plan, fv.SPEEDS)
    day = await visits_sql.get_day(conn, await conn.fetchval("SELECT subject_id FROM match_runs WHERE id = $1", run.id))
    assert day is not None
    inputs = await visits.load_inputs(conn, day)
    assert inputs.digest() == await conn.fetchval("SELECT inputs_digest FROM match_runs WHERE id = $1", run.id)
    result = runs.solve_here(visits.RUNS, inputs.problem, 0.5)
    await travel_times.replace(conn, who, "late.csv", f"H{homes[0]},C{carers[0][0]},30\n".encode())
    assert not await runs.write_result(conn, visits.RUNS, run.id, inputs, result)
    row = await conn.fetchrow("SELECT status, error FROM match_runs WHERE id = $1", run.id)
    assert row["status"] == "failed" and "inputs changed" in row["error"]
    assert await conn.fetchval("SELECT count(*) FROM planned_visits WHERE visit_day_id = $1", day.id) == 0


def test_a_file_with_old_mac_line_ends_or_a_runaway_quote_is_read_or_refused_not_a_server_error():
    # Excel for Mac's "CSV (Macintosh)" ends lines with a lone CR; csv.reader refused them with an exception (a 500).
    rows, issues = travel_times.read_rows(b"from,to,minutes\rH1,C3,8\rH2,C3,9\r", {"h1", "h2", "c3"})
    assert not issues and [(r.from_point, r.to_point) for r in rows] == [("h1", "c3"), ("h2", "c3")]
    # A quote never closed swallows the rest of the file into one field, past csv's field limit: a refusal.
    rows, issues = travel_times.read_rows(b'H1,C3,"' + b"8" * 200_000 + b"\n", {"h1", "c3"})
    assert not rows and [i.message for i in issues] == [travel_times.NOT_TEXT]


@pytest.mark.race
async def test_two_uploads_at_once_by_one_owner_both_succeed_one_after_the_other(empty_database_url):
    # Each upload deletes the owner's matrix and inserts the new one: two at once both found none to delete, and the
    # second insert broke the one-matrix-per-owner index (a 500) instead of replacing the first.
    first = await asyncpg.connect(empty_database_url)
    second = await asyncpg.connect(empty_database_url)
    try:
        contract = await fv.create_contract(first)
        home = await fv.add_household(first, contract, at=(31.28, 121.52))
        carer = (await fv.add_carer(first, contract, at=(31.281, 121.521)))[0]
        who = contract.organisation()
        async with first.transaction():
            await travel_times.replace(first, who, "a.csv", f"H{home},C{carer},5\n".encode())
            later = asyncio.create_task(travel_times.replace(second, who, "b.csv", f"H{home},C{carer},9\n".encode()))
            await asyncio.sleep(0.3)
        stored = await asyncio.wait_for(later, 10)
        assert stored.filename == "b.csv"
        assert await first.fetchval("SELECT count(*) FROM travel_matrices") == 1
        assert await first.fetchval("SELECT minutes::float8 FROM travel_times") == 9.0
    finally:
        await first.close()
        await second.close()


async def test_the_owner_removes_its_upload_later_plans_estimate_and_plans_made_keep_theirs(client, conn, redis):
    contract, homes, carers = await _day(conn)
    who = contract.organisation()
    points = [f"H{h}" for h in homes] + [f"C{c[0]}" for c in carers]
    stored = await travel_times.replace(conn, who, "高德.csv", _csv(points, 7.7))
    day = fv.tomorrow()
    queue = JobQueueSpy(redis)
    run_id = await fv.plan_here(conn, queue, who, contract.contract_id, day)
    day_id = await conn.fetchval("SELECT subject_id FROM match_runs WHERE id = $1", run_id)
    made = await _stops(conn, day_id)
    # Another owner cannot remove it (404, over the API too); the owner can, once.
    other = (await fv.create_contract(conn)).organisation()
    with pytest.raises(NotFound):
        await travel_times.remove(conn, other, stored.id)
    headers = await bearer(client, await factories.username_of(conn, other.account_id))
    missing = await client.delete(f"/api/carers/travel-times/{stored.id}", headers=headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    removed = await client.delete(f"/api/carers/travel-times/{stored.id}", headers=headers)
    assert removed.status_code == 204, removed.text
    assert (await client.delete(f"/api/carers/travel-times/{stored.id}", headers=headers)).status_code == 404
    assert (await travel_times.supplied(conn, who)).matrix is None
    assert await conn.fetchval("SELECT count(*) FROM travel_times WHERE matrix_id = $1", stored.id) == 0
    audit = await conn.fetchrow(
        "SELECT object_id, (detail->>'pairs')::int AS pairs FROM audit_log WHERE action = 'travel_times.remove'"
    )
    assert (audit["object_id"], audit["pairs"]) == (str(stored.id), stored.pairs)
    # The plan already made keeps the minutes and the supplied pairs it used; the next plan estimates every pair.
    assert await _stops(conn, day_id) == made
    assert json.loads((await _latest(conn, day_id))["result"])["supplied_pairs"] > 0
    day_row = await visits_sql.get_day(conn, day_id)
    assert day_row is not None and (await visits.load_inputs(conn, day_row)).supplied_pairs == 0
    new = await visits.start_plan(conn, queue, who, contract.contract_id, visits.PlanDay(day=day), fv.SPEEDS)
    assert new.id != run_id


async def test_the_carers_page_deletes_the_upload_after_a_confirmation_and_says_so(client, conn):
    who, homes, roster, _ = await respite_day(conn)
    points = [f"H{h}" for h in homes] + [f"C{c}" for c, _ in roster]
    stored = await travel_times.replace(conn, who, "travel.csv", _csv(points, 6.0))
    await login(client, await factories.username_of(conn, who.account_id))
    shown = await page_context(client, "/carers")
    assert shown["travel"].id == stored.id and "删除已上传的路程时间" in shown.response.text
    assert "确认删除" in shown.response.text
    # The form carries the page's CSRF token: without it, nothing is deleted.
    refused = await client.post(f"/carers/travel-times/{stored.id}/delete", follow_redirects=False)
    assert refused.status_code == 403 and (await travel_times.supplied(conn, who)).matrix is not None
    done = await post_form(client, f"/carers/travel-times/{stored.id}/delete", {}, page="/carers")
    assert done.status_code in (302, 303) and "done=travel_removed" in done.headers["location"]
    after = await page_context(client, done.headers["location"])
    assert after["travel"] is None and after["done"] == "travel_removed"
    assert "已删除，之后的排班按距离估算" in after.response.text and "删除已上传的路程时间" not in after.response.text
