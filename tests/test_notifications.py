"""Notifications: queued with the event that causes them (never twice), reminders the day before, delivery through a
sender with retries, and the inbox (API and page, in Chinese) with its unread count in the navigation."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import structlog

from api.services import notifications, shifts
from api.services.notifications import Message, make_sender, run_outbox
from tests import factories
from tests.factories_shifts import add_signup, create_shift, publisher_identity, soon, volunteer_identity
from tests.helpers import bearer, login, post_form

SHANGHAI = ZoneInfo("Asia/Shanghai")


class RecordingSender:
    """A sender that keeps what it was given (or fails the first `fail` times)."""

    name = "log"

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[Message] = []
        self.fail = fail

    async def send(self, message: Message) -> str:
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionRefusedError("gateway down for 13800138000")
        self.sent.append(message)
        return "log"


async def _rows(conn, **where):
    clause = " AND ".join(f"{k} = ${i}" for i, k in enumerate(where, start=1)) or "true"
    rows = await conn.fetch(
        f"SELECT id, account_id, kind, shift_id, params::text AS params, status, channel, attempts, last_error"
        f" FROM notifications WHERE {clause} ORDER BY id",
        *where.values(),
    )
    return [{**dict(r), "params": json.loads(r["params"])} for r in rows]


async def _full_shift_with_waitlist(conn):
    publisher = await publisher_identity(conn)
    shift_id = await create_shift(conn, organisation_id=publisher.organisation_id, headcount=1, starts_at=soon(5))
    holder = await volunteer_identity(conn)
    waiting = await volunteer_identity(conn)
    await add_signup(conn, shift_id, holder.volunteer_id)
    await add_signup(conn, shift_id, waiting.volunteer_id, status="waitlisted")
    return publisher, shift_id, holder, waiting


async def test_a_cancellation_tells_the_publisher_and_the_promoted_volunteer_in_its_transaction(conn):
    publisher, shift_id, holder, waiting = await _full_shift_with_waitlist(conn)
    colleague = await factories.create_account(conn, "organisation", organisation_id=publisher.organisation_id)
    outsider = await publisher_identity(conn)

    outcome = await shifts.cancel(conn, holder, shift_id)

    assert outcome.promoted is True
    told = await _rows(conn, kind="signup_cancelled")
    assert sorted(r["account_id"] for r in told) == sorted([publisher.account_id, colleague])
    assert outsider.account_id not in [r["account_id"] for r in told]
    assert all(r["shift_id"] == shift_id for r in told)
    assert all(r["params"]["late"] is False and r["params"]["promoted"] is True for r in told)
    promoted = await _rows(conn, kind="waitlist_promoted")
    assert [r["account_id"] for r in promoted] == [waiting.account_id]
    assert await _rows(conn, account_id=holder.account_id) == []


async def test_a_failed_cancellation_leaves_no_notification(conn):
    _, shift_id, _, _ = await _full_shift_with_waitlist(conn)
    stranger = await volunteer_identity(conn)
    with pytest.raises(Exception, match="no place"):
        await shifts.cancel(conn, stranger, shift_id)
    assert await _rows(conn) == []


async def test_a_late_cancellation_is_marked_late_and_promotes_nobody(conn):
    publisher = await publisher_identity(conn)
    shift_id = await create_shift(
        conn, organisation_id=publisher.organisation_id, headcount=1, starts_at=soon(1), cancellation_window_hours=72
    )
    holder = await volunteer_identity(conn)
    waiting = await volunteer_identity(conn)
    await add_signup(conn, shift_id, holder.volunteer_id)
    await add_signup(conn, shift_id, waiting.volunteer_id, status="waitlisted")
    await shifts.cancel(conn, holder, shift_id)
    [told] = await _rows(conn, kind="signup_cancelled")
    assert told["params"]["late"] is True and told["params"]["promoted"] is False
    assert await _rows(conn, kind="waitlist_promoted") == []


async def test_leaving_the_waitlist_tells_nobody(conn):
    _, shift_id, _, waiting = await _full_shift_with_waitlist(conn)
    await shifts.cancel(conn, waiting, shift_id)
    assert await _rows(conn) == []


async def test_the_same_event_never_notifies_twice(conn):
    _, shift_id, holder, waiting = await _full_shift_with_waitlist(conn)
    await shifts.cancel(conn, holder, shift_id)
    signup_id = int(await conn.fetchval("SELECT id FROM signups WHERE volunteer_id = $1", holder.volunteer_id))
    await notifications.signup_cancelled(
        conn, shift_id=shift_id, signup_id=signup_id, late=False, promoted_volunteer_id=waiting.volunteer_id
    )
    assert len(await _rows(conn)) == 2
    again = await notifications.enqueue(
        conn,
        account_id=waiting.account_id,
        kind="waitlist_promoted",
        dedupe_key=f"waitlist_promoted:signup:{await _signup_of(conn, waiting.volunteer_id)}",
    )
    assert again is None
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO notifications (account_id, kind, dedupe_key) VALUES ($1, 'no_such_kind', 'x:1')",
            waiting.account_id,
        )


async def _signup_of(conn, volunteer_id: int) -> int:
    return int(await conn.fetchval("SELECT id FROM signups WHERE volunteer_id = $1 ORDER BY id LIMIT 1", volunteer_id))


def _day_after_tomorrow_at(hour: int) -> dt.datetime:
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=2)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


async def test_reminders_fall_due_at_nine_the_day_before_and_are_written_once(conn):
    starts = _day_after_tomorrow_at(10)
    due = dt.datetime.combine(starts.date() - dt.timedelta(days=1), dt.time(9), tzinfo=SHANGHAI)
    shift_id = await create_shift(conn, starts_at=starts, title="周三助餐", place_name="睦邻中心")
    volunteer = await volunteer_identity(conn)
    other = await volunteer_identity(conn)
    await add_signup(conn, shift_id, volunteer.volunteer_id)
    await add_signup(conn, shift_id, other.volunteer_id, status="waitlisted")
    sender = RecordingSender()

    early = await run_outbox(conn, sender, now=due - dt.timedelta(minutes=1))
    assert early.reminders == 0 and sender.sent == []

    first = await run_outbox(conn, sender, now=due + dt.timedelta(minutes=1))
    assert (first.reminders, first.sent) == (1, 1)
    [message] = sender.sent
    assert message.kind == "shift_reminder"
    assert "周三助餐" in message.body and "睦邻中心" in message.body and starts.strftime("%H:%M") in message.body
    [row] = await _rows(conn, kind="shift_reminder")
    assert (row["account_id"], row["status"], row["channel"]) == (volunteer.account_id, "sent", "log")
    assert await conn.fetchval("SELECT due_at FROM notifications WHERE id = $1", row["id"]) == due

    again = await run_outbox(conn, sender, now=due + dt.timedelta(hours=2))
    assert (again.reminders, again.sent) == (0, 0)
    assert len(sender.sent) == 1


async def test_a_reminder_of_a_given_up_place_is_withdrawn_before_it_goes_out(conn):
    starts = _day_after_tomorrow_at(15)
    due = dt.datetime.combine(starts.date() - dt.timedelta(days=1), dt.time(9), tzinfo=SHANGHAI)
    shift_id = await create_shift(conn, starts_at=starts)
    volunteer = await volunteer_identity(conn)
    signup_id = await add_signup(conn, shift_id, volunteer.volunteer_id)
    # The reminder is written, but its delivery fails; meanwhile the volunteer gives up the place.
    failing = RecordingSender(fail=1)
    outcome = await run_outbox(conn, failing, now=due)
    assert (outcome.reminders, outcome.retrying) == (1, 1)
    await conn.execute("UPDATE signups SET status = 'cancelled', cancelled_at = now() WHERE id = $1", signup_id)
    later = await run_outbox(conn, failing, now=due + dt.timedelta(minutes=5))
    assert (later.withdrawn, later.sent) == (1, 0)
    [row] = await _rows(conn, kind="shift_reminder")
    assert row["status"] == "withdrawn"


async def test_a_failing_sender_is_retried_with_growing_waits_then_given_up(conn):
    volunteer = await volunteer_identity(conn)
    shift_id = await create_shift(conn)
    notification_id = await notifications.enqueue(
        conn, account_id=volunteer.account_id, kind="waitlist_promoted", shift_id=shift_id, dedupe_key="test:1"
    )
    t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    sender = RecordingSender(fail=100)
    with structlog.testing.capture_logs() as logs:
        first = await run_outbox(conn, sender, now=t0, max_attempts=3)
    assert first.retrying == 1
    row = await conn.fetchrow(
        "SELECT status, attempts, last_error, next_attempt_at FROM notifications WHERE id = $1", notification_id
    )
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "ConnectionRefusedError")
    assert row["next_attempt_at"] == t0 + dt.timedelta(minutes=1)
    # Not due again until its wait is over.
    assert (await run_outbox(conn, sender, now=t0 + dt.timedelta(seconds=30), max_attempts=3)).retrying == 0
    second = await run_outbox(conn, sender, now=t0 + dt.timedelta(minutes=1), max_attempts=3)
    assert second.retrying == 1
    assert await conn.fetchval(
        "SELECT next_attempt_at FROM notifications WHERE id = $1", notification_id
    ) == t0 + dt.timedelta(minutes=3)
    third = await run_outbox(conn, sender, now=t0 + dt.timedelta(minutes=3), max_attempts=3)
    assert third.failed == 1
    assert await conn.fetchval("SELECT status FROM notifications WHERE id = $1", notification_id) == "failed"
    # The error's text (which quotes a phone number here) is never logged.
    assert logs and all("13800138000" not in repr(entry) for entry in logs)


async def test_the_log_sender_logs_the_kind_and_id_and_nothing_personal(conn):
    volunteer = await volunteer_identity(conn)
    await conn.execute("UPDATE volunteers SET phone = '13912345678' WHERE id = $1", volunteer.volunteer_id)
    shift_id = await create_shift(conn, title="金丝雀班次", place_name="金丝雀路1号")
    notification_id = await notifications.enqueue(
        conn, account_id=volunteer.account_id, kind="waitlist_promoted", shift_id=shift_id, dedupe_key="test:2"
    )
    with structlog.testing.capture_logs() as logs:
        outcome = await run_outbox(conn, make_sender("log"), now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert outcome.sent == 1
    [entry] = [e for e in logs if e.get("notification_id") == notification_id]
    assert entry["kind"] == "waitlist_promoted"
    text = repr(logs)
    assert "13912345678" not in text and "金丝雀" not in text
    assert await conn.fetchval("SELECT channel FROM notifications WHERE id = $1", notification_id) == "log"


def test_the_sender_setting_chooses_the_adapter():
    assert make_sender("log").name == "log"
    assert make_sender("email", smtp_url="smtp://u:p@mail.example:587?starttls=1").name == "email"
    assert make_sender("sms", sms_gateway_url="https://sms.example/send").name == "sms"
    with pytest.raises(ValueError, match="LINLI_SMTP_URL"):
        make_sender("email")
    with pytest.raises(ValueError, match="log, email or sms"):
        make_sender("pigeon")


async def test_the_inbox_api_lists_only_ones_own_and_marks_read(client, conn):
    publisher, shift_id, holder, waiting = await _full_shift_with_waitlist(conn)
    await shifts.cancel(conn, holder, shift_id)
    mine = await bearer(client, waiting.username)
    listed = (await client.get("/api/notifications", headers=mine)).json()
    assert listed["unread"] == 1
    [item] = listed["items"]
    assert (item["kind"], item["shift_id"], item["read_at"]) == ("waitlist_promoted", shift_id, None)
    publishers = await client.get("/api/notifications", headers=await bearer(client, publisher.username))
    [theirs] = publishers.json()["items"]
    assert theirs["kind"] == "signup_cancelled"
    # Someone else's notification is not found, and stays unread.
    response = await client.post(f"/api/notifications/{theirs['id']}/read", headers=mine)
    assert response.status_code == 404
    assert await conn.fetchval("SELECT read_at FROM notifications WHERE id = $1", theirs["id"]) is None
    response = await client.post(f"/api/notifications/{item['id']}/read", headers=mine)
    assert response.status_code == 200
    after = (await client.get("/api/notifications", headers=mine)).json()
    assert after["unread"] == 0 and after["items"][0]["read_at"] is not None
    assert (await client.get("/api/notifications?unread_only=true", headers=mine)).json()["items"] == []
    assert (await client.get("/api/notifications")).status_code == 401


async def test_the_inbox_page_words_notifications_in_chinese_and_the_nav_counts_unread(client, conn):
    _, shift_id, holder, waiting = await _full_shift_with_waitlist(conn)
    await conn.execute("UPDATE shifts SET title = '周五社区助餐' WHERE id = $1", shift_id)
    await shifts.cancel(conn, holder, shift_id)
    await login(client, waiting.username)
    home = await client.get("/shifts")
    assert 'id="nav-inbox"' in home.text and "消息" in home.text and "1 条未读" in home.text
    page = await client.get("/inbox")
    assert page.status_code == 200
    assert "候补成功：服务班次「周五社区助餐」" in page.text and "已为您报名" in page.text and "未读" in page.text
    notification_id = await conn.fetchval("SELECT id FROM notifications WHERE account_id = $1", waiting.account_id)
    response = await post_form(client, f"/inbox/{notification_id}/read", {}, page="/inbox")
    assert response.status_code in (302, 303)
    again = await client.get("/inbox")
    assert "条未读" not in again.text and "标为已读" not in again.text


async def test_the_publisher_reads_a_late_cancellation_in_chinese(client, conn):
    publisher = await publisher_identity(conn, "committee")
    shift_id = await create_shift(
        conn, committee_id=publisher.committee_id, starts_at=soon(1), cancellation_window_hours=72, title="楼组巡逻"
    )
    holder = await volunteer_identity(conn)
    await add_signup(conn, shift_id, holder.volunteer_id)
    await shifts.cancel(conn, holder, shift_id)
    await login(client, publisher.username)
    page = await client.get("/inbox")
    assert "有志愿者取消了服务班次「楼组巡逻」" in page.text
    assert "这是开始前的临时取消。" in page.text and "名额已重新开放。" in page.text
    await post_form(client, "/inbox/read-all", {}, page="/inbox")
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL", publisher.account_id
        )
        == 0
    )


async def test_the_worker_task_delivers_due_notifications_once(empty_database_url):
    from workers import tasks

    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            volunteer = await volunteer_identity(conn)
            await notifications.enqueue(
                conn, account_id=volunteer.account_id, kind="waitlist_promoted", dedupe_key="worker:1"
            )
        ctx = {"pool": pool}
        first = await tasks.deliver_notifications(ctx)
        second = await tasks.deliver_notifications(ctx)
        assert (first["sent"], second["sent"]) == (1, 0)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT channel FROM notifications") == "log"
    finally:
        await pool.close()


async def test_the_demo_seed_writes_due_reminders_and_past_cancellations_once(conn):
    import random

    from api.demo.notifications import seed_notifications

    publisher = await publisher_identity(conn)
    # Starts in two hours: its reminder (09:00 Shanghai the day before) has fallen due, whatever the hour now.
    soon_ = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    shift_id = await create_shift(conn, organisation_id=publisher.organisation_id, starts_at=soon_)
    holder = await volunteer_identity(conn)
    leaver = await volunteer_identity(conn)
    await add_signup(conn, shift_id, holder.volunteer_id)
    signup_id = await add_signup(conn, shift_id, leaver.volunteer_id)
    await conn.execute(
        "UPDATE signups SET status = 'cancelled', cancelled_at = now() - interval '5 days' WHERE id = $1", signup_id
    )
    written = await seed_notifications(conn, random.Random(7), dt.date.today())
    assert written == 2
    rows = await _rows(conn)
    assert {(r["kind"], r["account_id"], r["status"]) for r in rows} == {
        ("shift_reminder", holder.account_id, "sent"),
        ("signup_cancelled", publisher.account_id, "sent"),
    }
    assert await seed_notifications(conn, random.Random(7), dt.date.today()) == 0


async def test_contact_details_feed_the_email_and_sms_senders_and_are_checked(client, conn):
    volunteer = await volunteer_identity(conn)
    headers = await bearer(client, volunteer.username)
    assert (await client.get("/api/notifications/contact", headers=headers)).json() == {"email": None, "phone": None}
    bad = await client.put(
        "/api/notifications/contact", json={"email": "not-an-address", "phone": "12"}, headers=headers
    )
    assert bad.status_code == 422 and "email" in bad.text and "phone" in bad.text
    ok = await client.put(
        "/api/notifications/contact", json={"email": "li@example.org", "phone": "13800000000"}, headers=headers
    )
    assert ok.status_code == 200 and ok.json() == {"email": "li@example.org", "phone": "13800000000"}
    audit_detail = await conn.fetchval(
        "SELECT detail::text FROM audit_log WHERE action = 'notification.contact' ORDER BY id DESC LIMIT 1"
    )
    assert "li@example.org" not in audit_detail and "13800000000" not in audit_detail
    shift_id = await create_shift(conn, title="助餐")
    await notifications.enqueue(
        conn, account_id=volunteer.account_id, kind="waitlist_promoted", shift_id=shift_id, dedupe_key="contact:1"
    )
    sender = RecordingSender()
    await run_outbox(conn, sender, now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    [message] = sender.sent
    assert (message.email, message.phone) == ("li@example.org", "13800000000")


async def test_the_inbox_page_saves_contact_details_and_shows_field_errors_in_chinese(client, conn):
    volunteer = await volunteer_identity(conn)
    await login(client, volunteer.username)
    wrong = await post_form(client, "/inbox/contact", {"email": "nobody", "phone": ""}, page="/inbox")
    assert wrong.status_code == 422 and "请输入邮箱地址" in wrong.text
    saved = await post_form(client, "/inbox/contact", {"email": "wang@example.org", "phone": ""}, page="/inbox")
    assert saved.status_code in (302, 303)
    page = await client.get(saved.headers["location"])
    assert "已保存" in page.text and 'value="wang@example.org"' in page.text


def test_every_page_runs_the_hook_that_counts_unread_notifications(shared_app):
    # Litestar runs only the innermost before_request: a page or controller that set its own would silently drop
    # the unread count from the navigation of its pages. (The worker's app: create_app's routes do not depend on the
    # settings, and building another costs a second.)
    from litestar.routes import HTTPRoute

    from web.routes.notifications import load_unread_count

    pages = [
        handler
        for route in shared_app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith(("/api", "/static", "/schema"))
        for handler in route.route_handlers
    ]
    assert len(pages) > 50
    assert [h.handler_name for h in pages if h.resolve_before_request() is not load_unread_count] == []
