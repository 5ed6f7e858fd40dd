"""The arq worker runs its jobs against the real Redis and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import asyncpg
from arq.worker import Worker

from api.services import staff
from api.services.accounts import SecurityPolicy
from tests import factories
from tests.factories_shifts import add_signup, create_shift, volunteer_identity
from workers.main import WorkerSettings, confirm_places, count_platform, purge_staff_invitations


async def test_purge_job_removes_expired_sessions_and_keeps_live_ones(empty_database_url, redis):
    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            account = await conn.fetchval(
                "INSERT INTO accounts (username, display_name, password_hash, role)"
                " VALUES ('worker1', '测试', '$argon2id$v=19$m=65536,t=3,p=4$x$y', 'volunteer') RETURNING id"
            )
            await conn.execute(
                "INSERT INTO sessions (id_hash, account_id, expires_at, last_seen_at) VALUES"
                " (sha256('live'), $1, now() + interval '1 hour', now()),"
                " (sha256('expired'), $1, now() - interval '1 minute', now()),"
                " (sha256('idle'), $1, now() + interval '1 hour', now() - interval '2 hours')",
                account,
            )
        job = await redis.enqueue_job("purge_expired_credentials", _job_id="purge-test")
        assert job is not None
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_pool=redis,
            burst=True,
            poll_delay=0,
            ctx={"pool": pool, "policy": SecurityPolicy(session_idle_minutes=30)},
            handle_signals=False,
        )
        await worker.main()
        assert await job.result(timeout=5) == {"sessions": 2, "tokens": 0, "login_attempts": 0}
        async with pool.acquire() as conn:
            left = await conn.fetch("SELECT id_hash FROM sessions")
            assert [r["id_hash"] for r in left] == [await conn.fetchval("SELECT sha256('live')")]
    finally:
        await pool.close()


def test_worker_settings_schedule_the_purge_as_a_cron_job():
    names = [job.name for job in WorkerSettings.cron_jobs]
    assert names == [
        "cron:purge_expired_credentials",
        "cron:drop_expired_uploads",
        "cron:purge_staff_invitations",
        "cron:erase_left_households",
        "cron:open_due_bids",
        "cron:plan_team_visits",
        "cron:deliver_notifications",
        "cron:confirm_places",
        "cron:send_rating_links",
        "cron:requeue_runs",
        "cron:count_platform",
    ]
    assert WorkerSettings.job_timeout > 0


async def test_the_confirm_cron_releases_an_unconfirmed_place_and_reports_it(empty_database_url):
    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            volunteer = await volunteer_identity(conn)
            starts = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
            shift_id = await create_shift(conn, starts_at=starts)
            await add_signup(conn, shift_id, volunteer.volunteer_id or 0)
            await conn.execute("UPDATE shifts SET confirm_hours_before = 12 WHERE id = $1", shift_id)
        done = await confirm_places({"pool": pool})
        assert done == {"asked": 0, "withdrawn": 0, "released": 1, "promoted": 0, "no_shows": 0}
        assert (await confirm_places({"pool": pool}))["released"] == 0
    finally:
        await pool.close()


async def test_the_invitation_purge_cron_deletes_invitations_past_their_retention(empty_database_url):
    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            committee = await factories.create_committee(conn)
            manager = await factories.identity_of(
                conn, await factories.create_account(conn, "committee", committee_id=committee)
            )
            old = await staff.invite(conn, manager, staff.InvitationForm(invitee_name="王小梅", role="staff"))
            live = await staff.invite(conn, manager, staff.InvitationForm(invitee_name="李四", role="staff"))
            await conn.execute(
                "UPDATE staff_invitations SET created_at = now() - interval '10 days',"
                " expires_at = now() - interval '7 days' WHERE id = $1",
                old.id,
            )
        ctx = {"pool": pool, "invitation_retention_days": 5}
        assert await purge_staff_invitations(ctx) == 1
        assert await purge_staff_invitations(ctx) == 0
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT array_agg(id) FROM staff_invitations") == [live.id]
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM audit_log WHERE action = 'staff.invitation_purge' AND object_id = $1",
                    str(old.id),
                )
                == 1
            )
    finally:
        await pool.close()


async def test_the_platform_figures_count_what_was_added_when_the_worker_counts_again(empty_database_url):
    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    figures = "SELECT subdistricts, volunteers, accounts FROM platform_figures"
    try:
        async with pool.acquire() as conn:
            before = await conn.fetchrow(figures)
            await factories.create_area(conn, "subdistrict")
            await factories.create_account(conn, "volunteer")
            # The home pages read the view: what was added shows after the next count, not before.
            assert await conn.fetchrow(figures) == before
        await count_platform({"pool": pool})
        async with pool.acquire() as conn:
            after = await conn.fetchrow(figures)
            counted = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM areas WHERE level = 'subdistrict')::int,"
                " (SELECT count(*) FROM volunteers)::int, (SELECT count(*) FROM accounts)::int"
            )
        assert tuple(after) == tuple(counted) and after["volunteers"] == before["volunteers"] + 1
    finally:
        await pool.close()
