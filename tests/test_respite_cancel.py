"""A family calls to cancel a respite visit already on a carer's route (issue 14): the committee cancels the routed
request until its visit is checked in; the visit leaves the carer's route (the stops after it keep their order and
times, no solver run), the carer is told, the board and the week's requests show it cancelled, the phone no longer
lists it; a visit checked in is a conflict, another committee's request a missing one. The committee cancels it from
the respite schedule, over the API, or from the visit's stop on the day's board (an organisation's contract board has
no such button)."""

from __future__ import annotations

import asyncpg
import pytest

from api.services import respite, respite_days, visits
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound
from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import plan_here, respite_day
from tests.test_visits import _day as _contract_day
from tests.worker_kit import JobQueueSpy


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


async def test_the_committee_cancels_a_routed_visit_from_its_stop_on_the_days_board(client, conn, redis):
    who, _homes, roster, day = await respite_day(conn)
    await plan_here(conn, redis, who, day)
    rows = await _routes(conn, who.committee_id)
    board_url = f"/visits/respite?day={day.isoformat()}"
    await login(client, await factories.username_of(conn, who.account_id))
    shown = await page_context(client, board_url)
    stops = {s.id: s for r in shown["board"].routes for s in r.stops}
    assert {s.respite_request_id for s in stops.values()} == {r["request_id"] for r in rows}
    for r in rows:
        assert f'action="/visits/respite/requests/{r["request_id"]}/cancel"' in shown.response.text
    # A visit checked in: its stop offers no cancel; a cancel raced past the check-in is refused beside the stop.
    first, second, third = rows[0], rows[1], rows[2]
    carer_who = next(w for c, w in roster if c == first["carer_id"])
    await visits.check_in(conn, carer_who, first["id"], now=first["starts_at"])
    shown = await page_context(client, board_url)
    assert f"/visits/respite/requests/{first['request_id']}/cancel" not in shown.response.text
    assert f"/visits/respite/requests/{second['request_id']}/cancel" in shown.response.text
    cancel = "/visits/respite/requests/{}/cancel"
    refused = await post_form(client, cancel.format(first["request_id"]), {"day": day.isoformat()}, page=board_url)
    assert refused.status_code == 409
    beside = f'<p class="error" id="e-cancel-{first["id"]}" role="alert">护理员已在这次上门签到，不能再取消</p>'
    assert beside in refused.text
    assert await conn.fetchval("SELECT status FROM respite_requests WHERE id = $1", first["request_id"]) == "routed"
    # Another: cancelled from its stop, back to the same day's board, which says so and lists it as cancelled.
    done = await post_form(client, cancel.format(second["request_id"]), {"day": day.isoformat()}, page=board_url)
    assert done.status_code in (302, 303)
    assert done.headers["location"] == f"/visits/respite?day={day.isoformat()}&done=cancelled"
    again = await page_context(client, done.headers["location"])
    assert again["done"] == "cancelled" and "上门已取消，已从护理员的路线中移除" in again.response.text
    assert second["id"] not in {s.id for r in again["board"].routes for s in r.stops}
    assert [c.request_id for c in again["cancelled"]] == [second["request_id"]]
    assert "已取消的上门" in again.response.text
    assert await conn.fetchval("SELECT status FROM planned_visits WHERE id = $1", second["id"]) == "released"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'respite.request_cancel' AND object_id = $1",
            str(second["request_id"]),
        )
        == 1
    )
    # Another committee cannot cancel it from its own board: no such request (404), said atop its board.
    client.cookies.clear()
    stranger = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    await login(client, await factories.username_of(conn, stranger.account_id))
    foreign = await post_form(client, cancel.format(third["request_id"]), {"day": day.isoformat()}, page=board_url)
    assert foreign.status_code == 404 and 'id="e-cancel"' in foreign.text
    assert "没有这个等待中或已排入路线的上门申请" in foreign.text
    assert await conn.fetchval("SELECT status FROM planned_visits WHERE id = $1", third["id"]) == "planned"


async def test_an_organisations_contract_board_offers_no_cancel_and_the_organisation_cannot_cancel(client, conn, redis):
    contract, _, _ = await _contract_day(conn)
    day = fv.tomorrow()
    await fv.plan_here(conn, JobQueueSpy(redis), contract.organisation(), contract.contract_id, day)
    await login(client, await factories.username_of(conn, contract.organisation_account))
    board_url = f"/visits/contracts/{contract.contract_id}?day={day.isoformat()}"
    shown = await page_context(client, board_url)
    stops = [s for r in shown["board"].routes for s in r.stops]
    assert stops and all(s.respite_request_id is None for s in stops)
    assert "确认取消这次上门" not in shown.response.text and "/cancel" not in shown.response.text
    who, _homes, _roster, respite_date = await respite_day(conn)
    await plan_here(conn, redis, who, respite_date)
    request_id = (await _routes(conn, who.committee_id))[0]["request_id"]
    refused = await post_form(
        client, f"/visits/respite/requests/{request_id}/cancel", {"day": day.isoformat()}, page=board_url
    )
    assert refused.status_code == 403
    assert await conn.fetchval("SELECT status FROM respite_requests WHERE id = $1", request_id) == "routed"
