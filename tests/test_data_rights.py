"""A volunteer's data rights (issue 15, item 6): the download, the erasure and its tombstone, the withdrawn
certificates, and the retention schedule of households that left."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import asyncpg
import httpx
import pytest

from api.auth import LOCALE_COOKIE
from api.services import data_rights, service_records, shifts
from api.services.data_rights import ErasureConfirm
from api.services.errors import Invalid, NotFound
from sql import data_rights as rights_sql
from tests.factories import PASSWORD, create_account, create_committee, username_of
from tests.factories_attendance import add_attendance, credit
from tests.factories_shifts import add_signup, create_shift, publisher_identity, soon, volunteer_identity
from tests.factories_visits import create_visits, rating_link
from tests.helpers import bearer, csrf_token, login, post_form
from tests.pages_kit import page_context
from workers.main import erase_left_households

STAR_HOURS = (100, 300, 600, 1000, 1500)


async def _audit(conn: asyncpg.Connection, action: str) -> list[dict[str, object]]:
    rows = await conn.fetch("SELECT object_id, detail FROM audit_log WHERE action = $1 ORDER BY id", action)
    return [{"object_id": r["object_id"], **json.loads(r["detail"])} for r in rows]


async def test_the_download_holds_one_json_and_one_csv_per_kind_and_is_audited(conn: asyncpg.Connection) -> None:
    me = await volunteer_identity(conn)
    assert me.volunteer_id is not None
    await conn.execute("UPDATE volunteers SET phone = '13812345678' WHERE id = $1", me.volunteer_id)
    await conn.execute(
        "INSERT INTO notification_contacts (account_id, email) VALUES ($1, 'me@example.cn')", me.account_id
    )
    shift_id = await create_shift(conn, title="=HYPERLINK(1)")
    await add_signup(conn, shift_id, me.volunteer_id)
    await credit(conn, me.volunteer_id, 90)
    await conn.execute(
        "INSERT INTO credential_evidence (volunteer_id, subject, content_type, content, uploaded_by)"
        " VALUES ($1, 'insurance', 'application/pdf', '%PDF-1.4 mine', $2)",
        me.volunteer_id,
        me.account_id,
    )

    download = await data_rights.export(conn, me)

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    for kind in rights_sql.EXPORTS:
        assert {f"{kind.name}.json", f"{kind.name}.csv"} <= names
    profile = json.loads(archive.read("profile.json"))
    assert (profile[0]["phone"], profile[0]["volunteer_id"]) == ("13812345678", me.volunteer_id)
    assert json.loads(archive.read("contacts.json"))[0]["email"] == "me@example.cn"
    assert [s["shift_id"] for s in json.loads(archive.read("signups.json"))] == [shift_id]
    assert sum(t["own_minutes"] for t in json.loads(archive.read("timebank.json"))) == 90
    # The CSV opens in a spreadsheet as UTF-8 and never as a formula.
    signups_csv = archive.read("signups.csv").decode()
    assert signups_csv.startswith("\ufeff") and "'=HYPERLINK(1)" in signups_csv
    # The file uploaded as evidence is in evidence/ as it was sent.
    assert [archive.read(n) for n in names if n.startswith("evidence/")] == [b"%PDF-1.4 mine"]
    assert await _audit(conn, "volunteer.data_export") == [
        {"object_id": str(me.volunteer_id), "files": len(download.files)}
    ]


async def test_erasure_leaves_a_tombstone_frees_places_keeps_hours_and_withdraws_certificates(
    conn: asyncpg.Connection,
) -> None:
    me = await volunteer_identity(conn)
    waiting = await volunteer_identity(conn)
    assert me.volunteer_id is not None and waiting.volunteer_id is not None
    publisher = await publisher_identity(conn)
    # Hours served last week, confirmed, and a certificate of them.
    past = await create_shift(conn, organisation_id=publisher.organisation_id, starts_at=soon(days=-7))
    past_signup = await add_signup(conn, past, me.volunteer_id)
    await add_attendance(conn, past, past_signup, me.volunteer_id, minutes=150, confirmed_by=publisher.account_id)
    certificate = (await service_records.certificate(conn, me, STAR_HOURS)).certificate
    await credit(conn, me.volunteer_id, 150)
    await credit(conn, me.volunteer_id, 30, bucket="group")
    # A full shift next week with somebody waiting for my place.
    future = await create_shift(conn, organisation_id=publisher.organisation_id, headcount=1, starts_at=soon(days=7))
    await add_signup(conn, future, me.volunteer_id)
    await add_signup(conn, future, waiting.volunteer_id, status="waitlisted")
    await conn.execute(
        "INSERT INTO notification_contacts (account_id, phone) VALUES ($1, '13900001111')", me.account_id
    )
    await conn.execute(
        "INSERT INTO sessions (id_hash, account_id, expires_at) VALUES (sha256('s'::bytea), $1, now() + interval '1h')",
        me.account_id,
    )
    pool_before = await conn.fetchval(
        "SELECT coalesce(sum(minutes), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
        " WHERE a.kind = 'pool'"
    )

    erased = await data_rights.erase(conn, me, ErasureConfirm(password=PASSWORD))

    assert (erased.places_cancelled, erased.certificates_withdrawn, erased.minutes_to_pool) == (1, 1, 180)
    volunteer = await conn.fetchrow(
        "SELECT display_name, phone, birth_year, erased_at FROM volunteers WHERE id = $1", me.volunteer_id
    )
    assert volunteer is not None
    assert (volunteer["display_name"], volunteer["phone"], volunteer["birth_year"]) == ("已注销志愿者", "", None)
    account = await conn.fetchrow(
        "SELECT username, password_hash, disabled_at FROM accounts WHERE id = $1", me.account_id
    )
    assert account is not None
    assert (account["username"], account["password_hash"]) == (f"erased.{me.account_id}", "")
    for table in ("sessions", "notification_contacts"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE account_id = $1", me.account_id) == 0
    assert await conn.fetchval("SELECT count(*) FROM credential_checks WHERE volunteer_id = $1", me.volunteer_id) == 0
    # The place went to the person waiting, by the ordinary rule.
    assert (
        await conn.fetchval(
            "SELECT status FROM signups WHERE shift_id = $1 AND volunteer_id = $2", future, waiting.volunteer_id
        )
        == "active"
    )
    # The hours stay for the organisation's report, without the person.
    assert (
        await conn.fetchval(
            "SELECT v.display_name FROM attendance a JOIN volunteers v ON v.id = a.volunteer_id"
            " WHERE a.signup_id = $1 AND a.status = 'confirmed'",
            past_signup,
        )
        == "已注销志愿者"
    )
    # The balance went to the community pool, own and group time alike.
    pool_after = await conn.fetchval(
        "SELECT coalesce(sum(minutes), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
        " WHERE a.kind = 'pool'"
    )
    assert pool_after - pool_before == 180
    # The public check says withdrawn and names nobody.
    checked = await service_records.check(conn, certificate.number, certificate.check_code)
    assert (checked.withdrawn, checked.valid, checked.masked_name) == (True, False, "")
    entry = (await _audit(conn, "volunteer.erased"))[0]
    assert entry["object_id"] == str(me.volunteer_id) and entry["places_cancelled"] == 1
    # The schema holds the tombstone empty, whoever writes.
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE volunteers SET phone = '13812345678' WHERE id = $1", me.volunteer_id)
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE accounts SET disabled_at = NULL WHERE id = $1", me.account_id)
    # Erased once: a second try finds no account.
    with pytest.raises(NotFound):
        await data_rights.erase(conn, me, ErasureConfirm(confirm="注销"))


async def test_erasure_needs_the_password_or_the_word(conn: asyncpg.Connection) -> None:
    me = await volunteer_identity(conn)
    with pytest.raises(Invalid) as wrong:
        await data_rights.erase(conn, me, ErasureConfirm(password="not my password"))
    assert "password" in wrong.value.fields
    with pytest.raises(Invalid) as nothing:
        await data_rights.erase(conn, me, ErasureConfirm(confirm="delete"))
    assert "confirm" in nothing.value.fields
    assert await conn.fetchval("SELECT erased_at FROM volunteers WHERE id = $1", me.volunteer_id) is None
    await data_rights.erase(conn, me, ErasureConfirm(confirm=" 注销 "))
    assert await conn.fetchval("SELECT erased_at FROM volunteers WHERE id = $1", me.volunteer_id) is not None


async def test_a_late_erasure_cancels_late_and_promotes_nobody(conn: asyncpg.Connection) -> None:
    me = await volunteer_identity(conn)
    waiting = await volunteer_identity(conn)
    assert me.volunteer_id is not None and waiting.volunteer_id is not None
    # Twelve hours ahead whatever the time of day (soon(days=0.5) rounds to 09:00 Shanghai, which was in the past
    # between 01:00 and 12:00 UTC), inside the 24-hour cancellation window.
    starts_at = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).replace(second=0, microsecond=0)
    within_day = await create_shift(conn, headcount=1, starts_at=starts_at, cancellation_window_hours=24)
    await shifts.sign_up(conn, me, within_day)
    await add_signup(conn, within_day, waiting.volunteer_id, status="waitlisted")
    await data_rights.erase(conn, me, ErasureConfirm(confirm="注销"))
    statuses = dict(await conn.fetch("SELECT volunteer_id, status FROM signups WHERE shift_id = $1", within_day))
    assert statuses == {me.volunteer_id: "late_cancelled", waiting.volunteer_id: "waitlisted"}


async def test_the_api_downloads_a_zip_and_erases_with_problems_on_error(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    account_id = await create_account(conn, "volunteer")
    headers = await bearer(client, await username_of(conn, account_id))
    download = await client.get("/api/volunteers/me/export", headers=headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith('attachment; filename="linli-data-')
    assert "profile.json" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()

    refused = await client.post("/api/volunteers/me/erase", json={"confirm": "no"}, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["confirm"]

    done = await client.post("/api/volunteers/me/erase", json={"password": PASSWORD}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["places_cancelled"] == 0
    # The token went with the account.
    assert (await client.get("/api/volunteers/me/export", headers=headers)).status_code == 401

    staff = await create_account(conn, "organisation")
    staff_headers = await bearer(client, await username_of(conn, staff))
    assert (await client.get("/api/volunteers/me/export", headers=staff_headers)).status_code == 403


async def _left_household(conn: asyncpg.Connection, committee_id: int, months_ago: int) -> int:
    household_id = int(
        await conn.fetchval(
            "INSERT INTO households (committee_id, head_name, address, lat, lon, consent_recorded_at, archived_at)"
            " VALUES ($1, '已退出', '开鲁路793弄', 31.2812, 121.5234, now(), now() - make_interval(months => $2))"
            " RETURNING id",
            committee_id,
            months_ago,
        )
    )
    entitlement = await conn.fetchval(
        "INSERT INTO respite_entitlements (household_id, kind, amount, period, basis, visit_minutes, starts,"
        " valid_from, valid_until, status) VALUES ($1, 'visits', 2, 'month', 'fixed', 120, '09:00',"
        " current_date - 500, current_date - 300, 'ended') RETURNING id",
        household_id,
    )
    await conn.execute(
        "INSERT INTO respite_requests (household_id, entitlement_id, wanted, minutes, status)"
        " VALUES ($1, $2, tstzrange(now() - interval '400 days', now() - interval '399 days'), 120, 'cancelled')",
        household_id,
        entitlement,
    )
    return household_id


async def test_households_that_left_are_erased_after_the_retention_months(conn: asyncpg.Connection) -> None:
    committee_id = await create_committee(conn)
    long_gone = await _left_household(conn, committee_id, 13)
    recently = await _left_household(conn, committee_id, 11)

    erased = await data_rights.erase_left_households(conn, months=12)

    assert long_gone in erased and recently not in erased
    rows = {
        r["id"]: (r["address"], r["erased_at"] is not None)
        for r in await conn.fetch(
            "SELECT id, address, erased_at FROM households WHERE id = ANY($1)", [long_gone, recently]
        )
    }
    assert rows == {long_gone: ("**", True), recently: ("开鲁路793弄", False)}
    left = dict(
        await conn.fetch(
            "SELECT household_id, count(*) FROM respite_requests WHERE household_id = ANY($1) GROUP BY 1",
            [long_gone, recently],
        )
    )
    assert left == {recently: 1}
    entries = [e for e in await _audit(conn, "household.retention_erased") if e["object_id"] == str(long_gone)]
    assert entries == [
        {
            "object_id": str(long_gone),
            "months": 12,
            "visit_notes": 0,
            "visit_incidents": 0,
            "visit_rating_links": 0,
            "visit_ratings": 0,
            "respite_requests": 1,
            "respite_entitlements": 1,
            "household_confirmations": 0,
            "household_refusals": 0,
            "team_pins": 0,
            "visit_pins": 0,
            "households": 1,
        }
    ]
    # A second run finds nothing more to do.
    assert long_gone not in await data_rights.erase_left_households(conn, months=12)


async def test_the_pages_download_confirm_and_erase_with_errors_beside_the_field(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    account_id = await create_account(conn, "volunteer")
    await login(client, await username_of(conn, account_id))
    shown = await page_context(client, "/volunteer/data")
    assert shown.template == "volunteers/data.html"
    assert "下载我的数据（ZIP）" in shown.response.text
    assert "/volunteer/data" in (await client.get("/volunteer/profile")).text
    download = await client.get("/volunteer/data/linli-data.zip")
    assert download.headers["content-type"] == "application/zip"
    assert "profile.csv" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()

    again = await page_context(
        client,
        "/volunteer/data/erase",
        method="POST",
        status=422,
        data={"confirm": "删除", "_csrf_token": await csrf_token(client, "/volunteer/data/erase")},
    )
    assert again.template == "volunteers/erase.html"
    assert set(again.context["errors"]) == {"confirm"}
    assert "请输入“注销”（或您的密码）以确认" in again.response.text
    assert await conn.fetchval("SELECT erased_at FROM accounts WHERE id = $1", account_id) is None
    # In English the word to type stays Chinese, marked as such.
    await conn.execute("UPDATE accounts SET locale = 'en' WHERE id = $1", account_id)
    client.cookies.set(LOCALE_COOKIE, "en")
    english = (await client.get("/volunteer/data/erase")).text
    assert 'Or type <span lang="zh-CN">注销</span>' in english and "Erase my account now" in english
    client.cookies.set(LOCALE_COOKIE, "zh_CN")
    await conn.execute("UPDATE accounts SET locale = 'zh_CN' WHERE id = $1", account_id)

    done = await post_form(client, "/volunteer/data/erase", {"confirm": "注销"})
    assert done.status_code in (302, 303) and done.headers["location"] == "/account-erased"
    assert await conn.fetchval("SELECT erased_at FROM accounts WHERE id = $1", account_id) is not None
    # The session went with the account: the next page is for nobody.
    assert (await client.get("/volunteer/data", follow_redirects=False)).status_code in (302, 303, 401)
    assert "您的账户已注销" in (await client.get("/account-erased")).text


async def test_the_public_check_of_a_withdrawn_certificate_says_so_and_names_nobody(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    me = await volunteer_identity(conn)
    assert me.volunteer_id is not None
    publisher = await publisher_identity(conn)
    past = await create_shift(conn, organisation_id=publisher.organisation_id, starts_at=soon(days=-7))
    signup = await add_signup(conn, past, me.volunteer_id)
    await add_attendance(conn, past, signup, me.volunteer_id, confirmed_by=publisher.account_id)
    issued = (await service_records.certificate(conn, me, STAR_HOURS)).certificate
    await data_rights.erase(conn, me, ErasureConfirm(confirm="注销"))
    shown = await page_context(client, f"/verify?number={issued.number}&code={issued.check_code}")
    assert shown.context["checked"].withdrawn is True
    assert "已撤销：该志愿者已注销账户。" in shown.response.text
    assert "checked-name" not in shown.response.text
    api = await client.get(f"/api/records/certificates/{issued.number}/{issued.check_code}")
    assert (api.json()["withdrawn"], api.json()["masked_name"], api.json()["valid"]) == (True, "", False)


async def test_the_worker_cron_erases_households_past_their_retention(empty_database_url: str) -> None:
    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            committee_id = await create_committee(conn)
            gone = await _left_household(conn, committee_id, 13)
            await _left_household(conn, committee_id, 11)
        ctx = {"pool": pool, "household_retention_months": 12}
        assert await erase_left_households(ctx) == 1
        assert await erase_left_households(ctx) == 0
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT erased_at IS NOT NULL FROM households WHERE id = $1", gone)
    finally:
        await pool.close()


def test_the_erased_ids_are_read_back_from_the_log() -> None:
    lines = [
        '{"event": "volunteer erased", "volunteer_id": 41, "account_id": 7, "level": "info"}',
        "2026-12-06 event='volunteer erased' volunteer_id=42 account_id=8",
        '{"event": "volunteer erased again after a restore", "volunteer_id": 43}',
        '{"event": "signed up", "volunteer_id": 44}',
        '{"event": "volunteer erased", "volunteer_id": 41}',
    ]
    assert data_rights.erased_in_log(lines) == [41, 42]


async def test_a_restore_erases_again_who_was_erased_after_the_backup(empty_database_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from api.cli import cli

    connection = await asyncpg.connect(empty_database_url)
    try:
        account_id = await create_account(connection, "volunteer")
        volunteer_id = await connection.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)
        (tmp_path / "app.log").write_text(f'{{"event": "volunteer erased", "volunteer_id": {volunteer_id}}}\n')
        runner = CliRunner()
        env = {"LINLI_DATABASE_URL": empty_database_url}
        # In a thread: the command runs its own event loop, as `linli reerase` does.
        first = await asyncio.to_thread(
            runner.invoke, cli, ["reerase", "--log", str(tmp_path / "app.log"), "999999"], env=env
        )
        again = await asyncio.to_thread(runner.invoke, cli, ["reerase", str(volunteer_id)], env=env)
        assert first.exit_code == 0, first.output
        assert "erased again: 1 of 2" in first.output and "erased again: 0 of 1" in again.output
        row = await connection.fetchrow("SELECT display_name, erased_at FROM volunteers WHERE id = $1", volunteer_id)
        detail = await connection.fetchval("SELECT detail FROM audit_log WHERE action = 'volunteer.erased'")
    finally:
        await connection.close()
    assert row is not None and row["display_name"] == "已注销志愿者" and row["erased_at"] is not None
    assert json.loads(detail)["after_restore"] is True


async def test_the_visit_notes_incidents_and_ratings_of_a_household_that_left_go_at_retention(
    conn: asyncpg.Connection,
) -> None:
    scene = await create_visits(conn)
    household, visit, carer = scene.household_id, scene.team_visit_id, scene.carer.volunteer_id
    await conn.execute(
        "INSERT INTO visit_notes (household_id, team_visit_id, visit_kind, volunteer_id, mood, remarks)"
        " VALUES ($1, $2, 'team', $3, 2, 'canary remark')",
        household,
        visit,
        carer,
    )
    await rating_link(conn, household, visit)
    # The household left 13 months ago.
    await conn.execute(
        "UPDATE households SET archived_at = now() - interval '13 months', care_notes = '', phone = NULL,"
        " head_name = '已退出', address = '长阳路' WHERE id = $1",
        household,
    )

    assert household in await data_rights.erase_left_households(conn, months=12)

    for table in ("visit_notes", "visit_rating_links"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE household_id = $1", household) == 0, table
    (entry,) = [e for e in await _audit(conn, "household.retention_erased") if e["object_id"] == str(household)]
    assert entry["visit_notes"] == 1 and entry["visit_rating_links"] == 1
    assert "canary" not in str(entry)
