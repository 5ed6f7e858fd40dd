"""Check-in by QR code or short code, check-out with capped minutes, the publisher's roster, manual records, and
hours confirmed or rejected (singly or in bulk, only on one's own shifts) into the service record and time bank."""

from __future__ import annotations

import datetime as dt

from tests import factories
from tests.factories_attendance import add_attendance, running_shift_scene
from tests.helpers import bearer


async def _headers(client, conn, identity):
    return await bearer(client, await factories.username_of(conn, identity.account_id))


async def test_a_volunteer_checks_in_with_the_qr_secret_and_out_and_the_publisher_confirms(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=30, hours=2)
    me = await _headers(client, conn, scene.volunteer)
    response = await client.post("/api/attendance/check-in", json={"secret": scene.secret}, headers=me)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["already"], body["attendance"]["status"], body["attendance"]["method"]) == (False, "open", "qr")
    again = await client.post("/api/attendance/check-in", json={"secret": scene.secret}, headers=me)
    assert again.json()["already"] is True
    assert again.json()["attendance"]["id"] == body["attendance"]["id"]

    # Pretend the volunteer arrived 100 minutes ago.
    await conn.execute(
        "UPDATE attendance SET checked_in_at = now() - interval '100 minutes' WHERE id = $1", body["attendance"]["id"]
    )
    out = await client.post(f"/api/attendance/shifts/{scene.shift_id}/check-out", headers=me)
    assert out.status_code == 200, out.text
    assert out.json()["status"] == "pending"
    assert 99 <= out.json()["minutes"] <= 100

    boss = await _headers(client, conn, scene.publisher)
    pending = (await client.get("/api/attendance/pending", headers=boss)).json()
    assert [p["attendance_id"] for p in pending] == [body["attendance"]["id"]]
    decided = await client.post(
        "/api/attendance/decisions",
        json={"attendance_ids": [body["attendance"]["id"]], "decision": "confirm"},
        headers=boss,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["credited_minutes"] == out.json()["minutes"]

    balance = (await client.get("/api/timebank/mine", headers=me)).json()
    assert balance["own_minutes"] == out.json()["minutes"]
    assert balance["cap_minutes"] == 1500 * 60
    record = (await client.get("/api/records/mine", headers=me)).json()
    assert record["records"] == 1 and record["minutes"] == out.json()["minutes"]
    assert record["confirmed"][0]["publisher_name"]
    history = (await client.get("/api/timebank/mine/history", headers=me)).json()
    assert [h["kind"] for h in history] == ["earn"]


async def test_check_in_far_from_the_shift_time_is_a_clear_409(client, conn):
    early = await running_shift_scene(conn, started_minutes_ago=-90)
    me = await _headers(client, conn, early.volunteer)
    response = await client.post("/api/attendance/check-in", json={"secret": early.secret}, headers=me)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/checkin-too-early"

    # Within the hour before the start is fine.
    soon = await running_shift_scene(conn, started_minutes_ago=-50)
    me = await _headers(client, conn, soon.volunteer)
    assert (await client.post("/api/attendance/check-in", json={"secret": soon.secret}, headers=me)).status_code == 200

    over = await running_shift_scene(conn, started_minutes_ago=200, hours=2)
    me = await _headers(client, conn, over.volunteer)
    response = await client.post("/api/attendance/check-in", json={"secret": over.secret}, headers=me)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/checkin-too-late"


async def test_the_short_code_must_be_right_and_the_volunteer_must_hold_a_place(client, conn):
    scene = await running_shift_scene(conn)
    me = await _headers(client, conn, scene.volunteer)
    wrong = "000000" if scene.code != "000000" else "111111"
    response = await client.post(
        "/api/attendance/check-in", json={"shift_id": scene.shift_id, "code": wrong}, headers=me
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["code"]

    stranger = await factories.create_account(conn, "volunteer")
    them = await bearer(client, await factories.username_of(conn, stranger))
    response = await client.post(
        "/api/attendance/check-in", json={"shift_id": scene.shift_id, "code": scene.code}, headers=them
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/checkin-no-place"

    response = await client.post(
        "/api/attendance/check-in", json={"shift_id": scene.shift_id, "code": scene.code}, headers=me
    )
    assert response.status_code == 200
    assert response.json()["attendance"]["method"] == "code"


async def test_check_out_minutes_are_capped_at_the_shift_length_plus_the_tolerance(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=30, hours=2)
    me = await _headers(client, conn, scene.volunteer)
    await client.post("/api/attendance/check-in", json={"secret": scene.secret}, headers=me)
    await conn.execute("UPDATE attendance SET checked_in_at = now() - interval '9 hours' WHERE shift_id = $1",
                       scene.shift_id)  # fmt: skip
    out = await client.post(f"/api/attendance/shifts/{scene.shift_id}/check-out", headers=me)
    assert out.json()["minutes"] == 120 + 30
    again = await client.post(f"/api/attendance/shifts/{scene.shift_id}/check-out", headers=me)
    assert again.status_code == 409


async def test_the_publisher_sees_codes_records_manually_and_others_see_nothing(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=90, hours=2, role="committee")
    boss = await _headers(client, conn, scene.publisher)
    view = (await client.get(f"/api/attendance/shifts/{scene.shift_id}", headers=boss)).json()
    assert view["checkin_code"] == scene.code
    assert view["checkin_path"] == f"/attendance/check-in/{scene.secret}"
    assert [r["volunteer_id"] for r in view["roster"]] == [scene.volunteer.volunteer_id]

    other = await factories.create_account(conn, "committee")
    them = await bearer(client, await factories.username_of(conn, other))
    assert (await client.get(f"/api/attendance/shifts/{scene.shift_id}", headers=them)).status_code == 404

    now = dt.datetime.now(dt.UTC)
    body = {
        "volunteer_id": scene.volunteer.volunteer_id,
        "checked_in_at": (now - dt.timedelta(minutes=85)).isoformat(),
        "checked_out_at": (now - dt.timedelta(minutes=5)).isoformat(),
    }
    assert (
        await client.post(f"/api/attendance/shifts/{scene.shift_id}/records", json=body, headers=them)
    ).status_code == 404
    response = await client.post(f"/api/attendance/shifts/{scene.shift_id}/records", json=body, headers=boss)
    assert response.status_code == 201, response.text
    assert (response.json()["method"], response.json()["minutes"], response.json()["status"]) == (
        "manual",
        80,
        "pending",
    )

    naive = {**body, "checked_in_at": "2026-01-01T10:00:00"}
    response = await client.post(f"/api/attendance/shifts/{scene.shift_id}/records", json=naive, headers=boss)
    assert response.status_code in (400, 422)

    attendance_id = response_id = await conn.fetchval("SELECT id FROM attendance WHERE shift_id = $1", scene.shift_id)
    decided = await client.post(
        "/api/attendance/decisions", json={"attendance_ids": [response_id], "decision": "confirm"}, headers=them
    )
    assert decided.status_code == 409
    assert await conn.fetchval("SELECT status FROM attendance WHERE id = $1", attendance_id) == "pending"


async def test_bulk_confirm_is_all_or_nothing_and_reject_needs_a_reason(client, conn):
    first = await running_shift_scene(conn, started_minutes_ago=150, hours=2)
    boss = await _headers(client, conn, first.publisher)
    ids = []
    for _ in range(3):
        from tests.factories_shifts import add_signup, volunteer_identity

        volunteer = await volunteer_identity(conn)
        signup = await add_signup(conn, first.shift_id, volunteer.volunteer_id)
        ids.append(await add_attendance(conn, first.shift_id, signup, volunteer.volunteer_id))
    # Someone else's pending hours in the same request: nothing at all is confirmed.
    elsewhere = await running_shift_scene(conn, started_minutes_ago=150, hours=2)
    foreign = await add_attendance(
        conn, elsewhere.shift_id, elsewhere.signup_id, elsewhere.volunteer.volunteer_id, minutes=60
    )
    response = await client.post(
        "/api/attendance/decisions", json={"attendance_ids": [*ids, foreign], "decision": "confirm"}, headers=boss
    )
    assert response.status_code == 409
    assert await conn.fetchval("SELECT count(*) FROM attendance WHERE status = 'confirmed' AND id = ANY($1)", ids) == 0
    assert await conn.fetchval("SELECT count(*) FROM ledger_transactions WHERE attendance_id = ANY($1)", ids) == 0

    response = await client.post(
        "/api/attendance/decisions", json={"attendance_ids": ids[:1], "decision": "reject"}, headers=boss
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    response = await client.post(
        "/api/attendance/decisions",
        json={"attendance_ids": ids[:1], "decision": "reject", "reason": "当天未到岗"},
        headers=boss,
    )
    assert response.json()["count"] == 1
    response = await client.post(
        "/api/attendance/decisions", json={"attendance_ids": ids[1:], "decision": "confirm"}, headers=boss
    )
    assert response.json() == {
        "decision": "confirm", "count": 2, "minutes": 240, "credited_minutes": 240, "over_cap_minutes": 0
    }  # fmt: skip
    assert await conn.fetchval("SELECT sum(minutes) FROM ledger_entries") == 0


async def test_group_activity_hours_can_only_be_donated(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2, title="团体植树活动")
    await conn.execute("UPDATE shifts SET group_activity = true WHERE id = $1", scene.shift_id)
    attendance_id = await add_attendance(conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id)
    boss = await _headers(client, conn, scene.publisher)
    await client.post("/api/attendance/decisions", json={"attendance_ids": [attendance_id], "decision": "confirm"},
                      headers=boss)  # fmt: skip
    me = await _headers(client, conn, scene.volunteer)
    balance = (await client.get("/api/timebank/mine", headers=me)).json()
    assert (balance["own_minutes"], balance["group_minutes"]) == (0, 120)
    spend = await client.post("/api/timebank/transfers", json={"kind": "spend", "minutes": 60, "service": "meal"},
                              headers=me)  # fmt: skip
    assert spend.status_code == 409
    assert spend.json()["errors"][0]["field"] == "minutes"
    donate = await client.post("/api/timebank/transfers", json={"kind": "donate", "minutes": 90}, headers=me)
    assert donate.status_code == 201, donate.text
    assert donate.json()["balance"]["group_minutes"] == 30


async def test_the_publisher_marks_a_group_activity_until_hours_are_confirmed(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2)
    boss = await _headers(client, conn, scene.publisher)
    path = f"/api/attendance/shifts/{scene.shift_id}/group-activity"
    response = await client.put(path, json={"group_activity": True}, headers=boss)
    assert response.status_code == 200, response.text
    assert response.json()["group_activity"] is True
    other = await factories.create_account(conn, "organisation")
    them = await bearer(client, await factories.username_of(conn, other))
    assert (await client.put(path, json={"group_activity": False}, headers=them)).status_code == 404
    attendance_id = await add_attendance(conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id)
    await client.post("/api/attendance/decisions", json={"attendance_ids": [attendance_id], "decision": "confirm"},
                      headers=boss)  # fmt: skip
    response = await client.put(path, json={"group_activity": False}, headers=boss)
    assert response.status_code == 409
    assert await conn.fetchval("SELECT group_activity FROM shifts WHERE id = $1", scene.shift_id) is True


async def test_guessing_the_short_code_stops_after_five_wrong_tries_but_the_qr_code_still_works(client, conn):
    scene = await running_shift_scene(conn)
    me = await _headers(client, conn, scene.volunteer)
    wrong = "000000" if scene.code != "000000" else "111111"
    for _ in range(5):
        response = await client.post(
            "/api/attendance/check-in", json={"shift_id": scene.shift_id, "code": wrong}, headers=me
        )
        assert response.status_code == 422
    # The sixth try is refused even with the right code: the count survived each refusal's rolled-back transaction.
    response = await client.post(
        "/api/attendance/check-in", json={"shift_id": scene.shift_id, "code": scene.code}, headers=me
    )
    assert response.status_code == 409 and response.json()["type"].endswith("checkin-code-attempts")
    qr = await client.post("/api/attendance/check-in", json={"secret": scene.secret}, headers=me)
    assert qr.status_code == 200, qr.text
