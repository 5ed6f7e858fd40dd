"""A family calls to cancel a respite visit already on a carer's route (issue 14): the committee cancels the routed
request until its visit is checked in; the visit leaves the carer's route (the stops after it keep their order and
times, no solver run), the carer is told, the board and the week's requests show it cancelled, the phone no longer
lists it; a visit checked in is a conflict, another committee's request a missing one."""

from __future__ import annotations

import asyncpg
import pytest

from api.services import respite, respite_days, visits
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound
from tests import factories
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import plan_here, respite_day


async def _routes(conn: asyncpg.Connection, committee_id: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT pv.id, pv.carer_id, pv.seq, pv.household_id, pv.status, lower(pv.during) AS starts_at,"
            " pv.respite_request_id, q.id AS request_id"
            " FROM planned_visits pv JOIN visit_days d ON d.id = pv.visit_day_id"
            " JOIN respite_requests q ON q.household_id = pv.household_id AND q.visit_day_id = d.id"
            " WHERE d.committee_id = $1 AND pv.status <> 'released' ORDER BY pv.carer_id, pv.seq",
            committee_id,
        )
    )


async def test_a_routed_visit_is_cancelled_off_its_carers_route_and_the_carer_is_told(conn, redis):
    who, _homes, roster, day = await respite_day(conn)
    await plan_here(conn, redis, who, day)
    before = await _routes(conn, who.committee_id)
    # The carer with the most stops loses their first one; the others keep their order and times.
    busiest = max({r["carer_id"] for r in before}, key=lambda c: sum(r["carer_id"] == c for r in before))
    gone = next(r for r in before if r["carer_id"] == busiest)
    assert gone["respite_request_id"] == gone["request_id"]
    runs_before = await conn.fetchval("SELECT count(*) FROM match_runs")
    await respite.cancel_request(conn, who, gone["request_id"])
    after = await _routes(conn, who.committee_id)
    assert [(r["id"], r["seq"], r["starts_at"]) for r in after] == [
        (r["id"], r["seq"], r["starts_at"]) for r in before if r["id"] != gone["id"]
    ]
    assert await conn.fetchval("SELECT status FROM planned_visits WHERE id = $1", gone["id"]) == "released"
    assert await conn.fetchval("SELECT status FROM commitments WHERE planned_visit_id = $1", gone["id"]) == "released"
    assert await conn.fetchval("SELECT count(*) FROM match_runs") == runs_before
    request = await conn.fetchrow("SELECT status, visit_day_id FROM respite_requests WHERE id = $1", gone["request_id"])
    assert request["status"] == "cancelled" and request["visit_day_id"] is not None
    audited = await conn.fetchval(
        "SELECT (detail->>'planned_visit_id')::bigint FROM audit_log"
        " WHERE action = 'respite.request_cancel' AND object_id = $1",
        str(gone["request_id"]),
    )
    assert audited == gone["id"]
    # The carer is told (once), their phone no longer lists the stop.
    carer_who = next(w for c, w in roster if c == busiest)
    told = await conn.fetch(
        "SELECT kind, params FROM notifications WHERE account_id = $1 AND kind = 'visit_cancelled'",
        carer_who.account_id,
    )
    assert len(told) == 1
    mine = await visits.my_day(conn, carer_who, day, daily_cap=5)
    assert gone["id"] not in {s.id for s in mine.stops}
    # The committee's board shows it cancelled (not silently gone); the week's requests say cancelled.
    board = await respite_days.board(conn, who, day)
    assert [c.request_id for c in board.cancelled] == [gone["request_id"]]
    assert board.cancelled[0].carer_name and board.requests.routed == 2
    week = await respite.week_requests(conn, who, day)
    assert next(r.status for r in week if r.id == gone["request_id"]) == "cancelled"
    # Cancelling it again: no such request to cancel.
    with pytest.raises(NotFound):
        await respite.cancel_request(conn, who, gone["request_id"])


async def test_a_visit_checked_in_cannot_be_cancelled_and_another_committee_cannot_cancel(conn, redis):
    who, _homes, roster, day = await respite_day(conn)
    await plan_here(conn, redis, who, day)
    rows = await _routes(conn, who.committee_id)
    first = rows[0]
    carer_who = next(w for c, w in roster if c == first["carer_id"])
    await visits.check_in(conn, carer_who, first["id"], now=first["starts_at"])
    with pytest.raises(Conflict) as refused:
        await respite.cancel_request(conn, who, first["request_id"])
    assert "checked in" in refused.value.detail
    assert await conn.fetchval("SELECT status FROM respite_requests WHERE id = $1", first["request_id"]) == "routed"
    other: Identity = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    with pytest.raises(NotFound):
        await respite.cancel_request(conn, other, rows[1]["request_id"])
    assert await conn.fetchval("SELECT status FROM planned_visits WHERE id = $1", rows[1]["id"]) == "planned"


async def test_the_committee_cancels_a_routed_visit_on_its_respite_page_and_over_the_api(client, conn, redis):
    who, _homes, roster, day = await respite_day(conn)
    await plan_here(conn, redis, who, day)
    rows = await _routes(conn, who.committee_id)
    week = f"/respite/schedule?week={day.isoformat()}"
    await login(client, await factories.username_of(conn, who.account_id))
    shown = await page_context(client, week)
    routed = [r for r in shown["requests"] if r.status == "routed"]
    assert len(routed) == 3 and all(len(r.route_carers) == 1 and r.visit_status == "planned" for r in routed)
    assert "确认取消这次上门" in shown.response.text
    # A visit checked in: refused beside its row, in Chinese, with 409.
    first = rows[0]
    carer_who = next(w for c, w in roster if c == first["carer_id"])
    await visits.check_in(conn, carer_who, first["id"], now=first["starts_at"])
    refused = await post_form(
        client, f"/respite/requests/{first['request_id']}/cancel", {"week": day.isoformat()}, page=week
    )
    assert refused.status_code == 409 and "护理员已在这次上门签到，不能再取消" in refused.text
    # Another: cancelled, the week says so and shows it cancelled; the day's board lists it as cancelled.
    second = rows[1]
    done = await post_form(
        client, f"/respite/requests/{second['request_id']}/cancel", {"week": day.isoformat()}, page=week
    )
    assert done.status_code in (302, 303) and "done=cancelled" in done.headers["location"]
    again = await page_context(client, done.headers["location"])
    assert again["done"] == "cancelled" and "上门已取消" in again.response.text
    assert next(r.status for r in again["requests"] if r.id == second["request_id"]) == "cancelled"
    board = await page_context(client, f"/visits/respite?day={day.isoformat()}")
    assert [c.request_id for c in board["cancelled"]] == [second["request_id"]]
    assert "已取消的上门" in board.response.text
    assert second["id"] not in {s.id for r in board["board"].routes for s in r.stops}
    # Over the API: another committee's request is a 404 problem; the committee's own a 204, then a 404.
    client.cookies.clear()
    stranger = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    headers = await bearer(client, await factories.username_of(conn, stranger.account_id))
    missing = await client.delete(f"/api/respite/requests/{rows[2]['request_id']}", headers=headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    gone = await client.delete(f"/api/respite/requests/{rows[2]['request_id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    checked = await client.delete(f"/api/respite/requests/{first['request_id']}", headers=headers)
    assert checked.status_code == 409 and checked.json()["detail"]
    answer = await client.get(f"/api/visits/respite/days/{day.isoformat()}", headers=headers)
    assert sorted(c["request_id"] for c in answer.json()["cancelled"]) == sorted(
        [second["request_id"], rows[2]["request_id"]]
    )
