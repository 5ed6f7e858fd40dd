"""Check-in and hours pages in Chinese: the QR code's page on the phone, the typed code, the publisher's QR code,
roster and bulk confirmation, and the volunteer's hours, service record, certificate and time bank forms."""

from __future__ import annotations

import re

from tests.factories_attendance import add_attendance, credit, running_shift_scene
from tests.factories_shifts import add_signup, volunteer_identity
from tests.helpers import elements, login, parse_page, post_form
from tests.pages_kit import page_context
from web.assets import static_url


async def test_the_volunteer_checks_in_and_out_from_the_qr_page(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=20, title="社区助餐送餐")
    await login(client, scene.volunteer.username)
    qr_path = f"/attendance/check-in/{scene.secret}"
    page = await client.get(qr_path)
    assert page.status_code == 200
    assert "签到" in page.text and "社区助餐送餐" in page.text and "未签到" in page.text
    response = await post_form(client, qr_path, {})
    assert response.status_code in (302, 303), response.text
    shown = await client.get(response.headers["location"])
    assert "签到成功" in shown.text and "签退" in shown.text
    response = await post_form(client, f"/attendance/shifts/{scene.shift_id}/check-out", {"secret": scene.secret},
                               page=qr_path)  # fmt: skip
    shown = await client.get(response.headers["location"])
    assert "签退成功" in shown.text and "待确认" in shown.text
    hours = await client.get("/hours")
    assert "社区助餐送餐" in hours.text and "待确认" in hours.text


async def test_a_wrong_typed_code_is_explained_beside_the_field_and_an_early_check_in_is_refused(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=10)
    await login(client, scene.volunteer.username)
    path = f"/attendance/shifts/{scene.shift_id}"
    wrong = "000000" if scene.code != "000000" else "111111"
    response = await post_form(client, f"{path}/check-in", {"code": wrong}, page=path)
    assert response.status_code == 422
    assert parse_page(response.text).errors["code"] == "这不是此服务班次的签到码"
    response = await post_form(client, f"{path}/check-in", {"code": scene.code}, page=path)
    assert response.status_code in (302, 303)

    early = await running_shift_scene(conn, started_minutes_ago=-120)
    await login(client, early.volunteer.username)
    path = f"/attendance/check-in/{early.secret}"
    response = await post_form(client, path, {})
    assert response.status_code == 409
    assert "签到在服务班次开始前不久才开放" in response.text


async def test_the_publisher_shows_the_qr_code_and_confirms_hours_in_bulk(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2, role="committee", title="楼道清洁")
    ids = []
    for volunteer in [scene.volunteer, await volunteer_identity(conn), await volunteer_identity(conn)]:
        if volunteer is scene.volunteer:
            signup = scene.signup_id
        else:
            signup = await add_signup(conn, scene.shift_id, volunteer.volunteer_id)
        ids.append(await add_attendance(conn, scene.shift_id, signup, volunteer.volunteer_id))
    await login(client, scene.publisher.username)
    manage = f"/attendance/shifts/{scene.shift_id}/manage"
    page = await client.get(manage)
    assert page.status_code == 200
    assert "<svg" in page.text and "签到二维码" in page.text
    assert scene.code in page.text and f"/attendance/check-in/{scene.secret}" in page.text
    boxes = [a for a, _ in elements(page.text, "input") if a.get("name") == "attendance_ids"]
    assert len(boxes) == 3

    # Nothing ticked: the error beside the list.
    nothing = {"decision": "confirm", "shift_id": str(scene.shift_id)}
    response = await post_form(client, "/attendance/decisions", nothing, page=manage)
    assert response.status_code == 422 and "请至少勾选一名志愿者的服务时长" in response.text
    # Reject without a reason: the error beside the reason.
    response = await post_form(client, "/attendance/decisions",
                               {"decision": "reject", "attendance_ids": [str(ids[0])], "shift_id": str(scene.shift_id)},
                               page=manage)  # fmt: skip
    assert parse_page(response.text).errors["reason"] == "请填写给志愿者的原因"
    ticked = {"decision": "confirm", "attendance_ids": [str(i) for i in ids[1:]]}
    response = await post_form(client, "/attendance/decisions", ticked, page="/attendance")
    assert response.status_code in (302, 303)
    shown = await client.get(response.headers["location"])
    assert "已为2名志愿者确认服务时长" in shown.text
    statuses = await conn.fetch("SELECT status FROM attendance WHERE id = ANY($1) ORDER BY id", ids)
    assert [r["status"] for r in statuses] == ["pending", "confirmed", "confirmed"]


async def test_the_volunteer_sees_record_certificate_and_time_bank_with_errors_in_chinese(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2, title="敬老院陪伴")
    await add_attendance(
        conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id, minutes=90,
        confirmed_by=scene.publisher.account_id,
    )  # fmt: skip
    await credit(conn, scene.volunteer.volunteer_id, 90)
    await login(client, scene.volunteer.username)
    records = await client.get("/records")
    assert "志愿服务记录" in records.text and "敬老院陪伴" in records.text and "1 小时 30 分钟" in records.text
    response = await post_form(client, "/records/certificate", {}, page="/records")
    assert response.status_code in (302, 303)
    certificate = await client.get(response.headers["location"])
    number = re.search(r'id="certificate-number">([^<]+)<', certificate.text)
    assert number and number.group(1).startswith("LL-")
    assert "志愿服务记录证明" in certificate.text and static_url("css/timebank.css") in certificate.text
    again = await post_form(client, "/records/certificate", {}, page="/records")
    assert again.headers["location"] == response.headers["location"]

    bank = await client.get("/timebank")
    assert "时间银行" in bank.text and 'id="balance">1.5<' in bank.text
    response = await post_form(client, "/timebank/give", {"to_username": "nobody.here", "coins": "1"}, page="/timebank")
    assert response.status_code == 422
    assert parse_page(response.text).errors["to_username"] == "没有使用此用户名的志愿者"
    response = await post_form(client, "/timebank/donate", {"coins": "2"}, page="/timebank")
    assert response.status_code == 409
    assert parse_page(response.text).errors["coins"] == "超过了您的余额"
    response = await post_form(client, "/timebank/donate", {"coins": "abc"}, page="/timebank")
    assert parse_page(response.text).errors["coins"] == "请输入大于0的时间币数量，例如1.5"
    response = await post_form(client, "/timebank/spend", {"service": "haircut", "coins": "0.5"}, page="/timebank")
    assert response.status_code in (302, 303)
    shown = await client.get(response.headers["location"])
    assert "时间币已兑换" in shown.text and 'id="balance">1<' in shown.text and "理发" in shown.text


async def test_scanning_the_qr_code_logged_out_leads_through_the_login_back_to_it(client, conn):
    scene = await running_shift_scene(conn)
    path = f"/attendance/check-in/{scene.secret}"
    response = await client.get(path, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == f"/login?next={path}"
    assert (await client.get("/attendance/check-in/not-a-secret")).status_code in (302, 303, 404)


async def test_the_publisher_records_times_by_hand_with_errors_beside_the_fields(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=100, hours=2)
    await login(client, scene.publisher.username)
    manage = f"/attendance/shifts/{scene.shift_id}/manage"
    form = {
        "volunteer_id": str(scene.volunteer.volunteer_id),
        "checked_in_at": "",
        "checked_out_at": "2020-01-01T10:00",
    }
    response = await post_form(client, f"/attendance/shifts/{scene.shift_id}/records", form, page=manage)
    assert response.status_code == 422
    errors = parse_page(response.text).errors
    assert errors["checked_in_at"] == "请输入日期和时间"
    starts = await conn.fetchval(
        "SELECT to_char(starts_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI') FROM shifts WHERE id = $1",
        scene.shift_id,
    )
    form = {**form, "checked_in_at": starts, "checked_out_at": starts[:-5] + "00:00"}
    response = await post_form(client, f"/attendance/shifts/{scene.shift_id}/records", form, page=manage)
    assert response.status_code == 422
    assert "checked_out_at" in parse_page(response.text).errors
    ends = await conn.fetchval(
        "SELECT to_char((starts_at + interval '80 minutes') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI')"
        " FROM shifts WHERE id = $1",
        scene.shift_id,
    )
    form = {**form, "checked_out_at": ends}
    response = await post_form(client, f"/attendance/shifts/{scene.shift_id}/records", form, page=manage)
    assert response.status_code in (302, 303), response.text
    row = await conn.fetchrow("SELECT method, minutes, status FROM attendance WHERE shift_id = $1", scene.shift_id)
    assert tuple(row) == ("manual", 80, "pending")

    other = await running_shift_scene(conn)
    await login(client, other.publisher.username)
    assert (await client.get(manage)).status_code == 404
    await login(client, other.volunteer.username)
    assert (await client.get(manage)).status_code == 403


async def test_the_publisher_ticks_group_activity_on_the_attendance_page(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=30)
    await login(client, scene.publisher.username)
    manage = f"/attendance/shifts/{scene.shift_id}/manage"
    assert "此服务班次为团体活动" in (await client.get(manage)).text
    path = f"/attendance/shifts/{scene.shift_id}/group-activity"
    response = await post_form(client, path, {"group_activity": "on"}, page=manage)
    assert response.status_code in (302, 303)
    assert await conn.fetchval("SELECT group_activity FROM shifts WHERE id = $1", scene.shift_id) is True
    response = await post_form(client, path, {}, page=manage)
    assert await conn.fetchval("SELECT group_activity FROM shifts WHERE id = $1", scene.shift_id) is False


async def test_the_attendance_pages_are_given_the_hours_waiting_and_who_came(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2, title="楼道清洁")
    late, absent = await volunteer_identity(conn), await volunteer_identity(conn)
    waiting = {
        await add_attendance(conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id): 120,
        await add_attendance(
            conn, scene.shift_id, await add_signup(conn, scene.shift_id, late.volunteer_id), late.volunteer_id,
            minutes=45,
        ): 45,
    }  # fmt: skip
    await add_signup(conn, scene.shift_id, absent.volunteer_id)
    # Hours already confirmed on another of the publisher's shifts, and a stranger's pending hours: not waiting here.
    done = await running_shift_scene(conn, started_minutes_ago=300, hours=2)
    await conn.execute(
        "UPDATE shifts SET organisation_id = $2 WHERE id = $1", done.shift_id, scene.publisher.organisation_id
    )
    await add_attendance(
        conn, done.shift_id, done.signup_id, done.volunteer.volunteer_id, confirmed_by=scene.publisher.account_id
    )
    stranger = await running_shift_scene(conn, started_minutes_ago=150)
    await add_attendance(conn, stranger.shift_id, stranger.signup_id, stranger.volunteer.volunteer_id)
    await login(client, scene.publisher.username)
    pending = await page_context(client, "/attendance")
    assert pending.template == "attendance/pending.html"
    assert {item.attendance_id: item.minutes for item in pending["items"]} == waiting
    assert {item.shift_id for item in pending["items"]} == {scene.shift_id}
    assert {s.id for s in pending["recent"]} == {scene.shift_id, done.shift_id}
    manage = await page_context(client, f"/attendance/shifts/{scene.shift_id}/manage")
    assert manage.template == "attendance/manage.html"
    view = manage["view"]
    assert (view.shift.checkin_secret, view.shift.checkin_code) == (scene.secret, scene.code)
    assert manage["url"].endswith(f"/attendance/check-in/{scene.secret}")
    came = {line.volunteer_id: (line.status, line.minutes) for line in view.roster}
    assert came == {
        scene.volunteer.volunteer_id: ("pending", 120), late.volunteer_id: ("pending", 45),
        absent.volunteer_id: (None, None),
    }  # fmt: skip


async def test_the_time_bank_and_hours_pages_are_given_the_volunteers_balance_and_history(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2)
    me = scene.volunteer
    await credit(conn, me.volunteer_id, 300)
    await credit(conn, me.volunteer_id, 60, bucket="group")
    await add_attendance(conn, scene.shift_id, scene.signup_id, me.volunteer_id, minutes=90)
    family = await volunteer_identity(conn)
    await login(client, me.username)
    gift = {"coins": "2", "to_username": family.username}
    given = await post_form(client, "/timebank/give", gift, page="/timebank")
    assert given.status_code in (302, 303), given.text
    bank = await page_context(client, "/timebank")
    assert bank.template == "timebank/account.html"
    balance = bank["balance"]
    assert (balance.own_minutes, balance.group_minutes, balance.total_minutes) == (180, 60, 240)
    assert (bank["history"][0].kind, bank["history"][0].minutes) == ("give", -120)
    assert sorted(h.kind for h in bank["history"]) == ["donate", "donate", "give"]
    hours = await page_context(client, "/hours")
    assert hours.template == "timebank/hours.html"
    assert hours["balance"] == balance
    # The shift is over and its hours wait for the publisher: nothing is due for check-in or check-out.
    assert hours["due"] == []


async def test_bulk_confirmation_has_a_select_all_box_and_manual_records_say_why_nobody_is_listed(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2, role="committee", title="楼道清洁")
    await add_attendance(conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id)
    await login(client, scene.publisher.username)
    manage = f"/attendance/shifts/{scene.shift_id}/manage"
    for path in (manage, "/attendance"):
        page = await client.get(path)
        select_all = [a for a, _ in elements(page.text, "input") if "data-select-all" in a]
        assert [a["data-select-all"] for a in select_all] == ["attendance_ids"], path
        assert f'<script src="{static_url("js/select-all.js")}"' in page.text
    # The only volunteer has checked out: nobody is left to record by hand, and the page says so instead of an
    # empty list.
    rendered = await page_context(client, manage)
    assert [r.status for r in rendered["view"].roster] == ["pending"]
    page = rendered.response.text
    assert 'id="record-empty"' in page and "所有报名者都已签退" in page
    assert 'name="checked_in_at"' not in page
    assert (await client.get(static_url("js/select-all.js"))).status_code == 200


async def test_the_certificate_lists_the_services_in_the_order_they_were_served(demo_client):
    # The demo's hours were confirmed up to two days after each shift, so the order of confirmation differs from
    # the order of service: the certificate follows the calendar (11月21日 before 11月22日).
    await login(demo_client, "volunteer.demo", "demo-volunteer-2026")
    response = await post_form(demo_client, "/records/certificate", {}, page="/records")
    assert response.status_code in (302, 303)
    rendered = await page_context(demo_client, response.headers["location"])
    served = [(r.starts_at, r.attendance_id) for r in rendered["issued"].items]
    assert len(served) >= 10 and served == sorted(served)
