"""Abuse at the edges of accounts: guessing passwords (in parallel, from one address, behind proxies), listing
usernames through registration, guessing check-in codes, and tokens outliving a disabled account."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.security import client_address, proxy_networks
from api.services import accounts, attendance
from api.services.accounts import Credentials, SecurityPolicy
from api.services.attendance import AttendanceRules, CheckIn
from api.services.errors import DomainError, NotAuthenticated, TooManyAttempts
from tests import conftest, factories
from tests.conftest import SharedConnectionPool
from tests.factories_attendance import running_shift_scene
from tests.factories_shifts import volunteer_identity
from tests.helpers import login, parse_page, post_form
from tests.test_pages_register import committee_area, volunteer_form

PARALLEL = 40
# The first wait is long here so that a slow machine cannot let a guess through a wait that really ended.
PATIENT = SecurityPolicy(login_backoff_first_s=600)
ATTACKER = "198.51.100.66"
WRONG = "wrong-password-1"


def creds(username: str, password: str = WRONG) -> Credentials:
    return Credentials(username=username, password=password)


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def all_at_once(url: str, attempt: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Counter[str]:
    """Run `attempt` on PARALLEL connections of their own, released together; the outcomes by exception name."""
    connections = [await asyncpg.connect(url) for _ in range(PARALLEL)]
    start = asyncio.Event()

    async def one(conn: asyncpg.Connection) -> str:
        await start.wait()
        try:
            await attempt(conn)
        except DomainError as refusal:
            return type(refusal).__name__ + (f":{refusal.kind}" if refusal.status == 409 else "")
        return "ok"

    try:
        tasks = [asyncio.create_task(one(conn)) for conn in connections]
        start.set()
        return Counter(await asyncio.gather(*tasks))
    finally:
        await asyncio.gather(*(conn.close() for conn in connections))


@pytest.fixture
async def committed(empty_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose writes are committed, on a database of the test's own (the parallel attempts see them)."""
    conn = await asyncpg.connect(empty_database_url)
    try:
        yield conn
    finally:
        await conn.close()


# --- Login: the failure streak is counted before the password is checked ---------------------------------------


async def test_forty_parallel_wrong_passwords_are_checked_no_more_often_than_the_limit(empty_database_url, committed):
    username = await factories.username_of(committed, await factories.create_account(committed, "volunteer"))

    outcomes = await all_at_once(
        empty_database_url, lambda conn: accounts.issue_token(conn, creds(username), address=ATTACKER, policy=PATIENT)
    )

    limit = PATIENT.login_attempts_per_window
    assert outcomes == {"NotAuthenticated": limit, "TooManyAttempts": PARALLEL - limit}
    checked = await committed.fetch("SELECT succeeded FROM login_attempts WHERE username = $1", username)
    assert [row["succeeded"] for row in checked] == [False] * limit
    assert await committed.fetchval("SELECT failures FROM login_throttle WHERE username = $1", username) == limit
    # The right password waits too (the streak is the account's, wherever the guesses came from).
    with pytest.raises(TooManyAttempts) as refused:
        await accounts.issue_token(committed, creds(username, factories.PASSWORD), address="192.0.2.1", policy=PATIENT)
    assert 590 <= refused.value.retry_after_s <= 600


async def test_the_wait_doubles_with_each_failure_and_a_success_clears_it(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    for _ in range(5):
        assert (await login(client, username, "wrong-password-1")).status_code == 401
    waits = []
    for _ in range(4):
        refused = await client.post("/api/auth/token", json={"username": username, "password": "wrong-password-1"})
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        # The wait is over (the test's clock stands still inside its transaction).
        await conn.execute("UPDATE login_throttle SET wait_until = now() - interval '1 second'")
        assert (await login(client, username, "wrong-password-1")).status_code == 401
    assert waits == [1, 2, 4, 8]
    page = await login(client, username)
    assert page.status_code == 429 and page.headers["retry-after"] == "16"
    assert parse_page(page.text).errors == {"password": "登录失败次数过多，请 16秒钟 后再试"}
    await conn.execute("UPDATE login_throttle SET wait_until = now() - interval '1 second'")
    assert (await login(client, username)).status_code in (302, 303)
    # A success ends the streak: five more mistakes are free again.
    assert await conn.fetchval("SELECT failures FROM login_throttle WHERE username = $1", username) == 0
    for _ in range(5):
        assert (await login(client, username, "wrong-password-1")).status_code == 401


def test_the_wait_is_capped_at_fifteen_minutes():
    policy = SecurityPolicy()
    assert [accounts.backoff_s(n, policy) for n in (1, 4, 5, 6, 7, 14, 15, 16, 100)] == [
        0,
        0,
        1,
        2,
        4,
        512,
        900,
        900,
        900,
    ]


async def test_the_page_shows_a_long_wait_in_whole_minutes(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    await conn.execute(
        "INSERT INTO login_throttle (username, failures, wait_until) VALUES ($1, 14, now() + interval '500 seconds')",
        username,
    )
    page = await login(client, username)
    assert page.status_code == 429 and page.headers["retry-after"] == "500"
    assert parse_page(page.text).errors == {"password": "登录失败次数过多，请 9分钟 后再试"}


# --- Login: an address over its limit ------------------------------------------------------------------------------


async def test_twenty_failures_from_one_address_do_not_lock_out_another_accounts_right_password(client, conn):
    """The measured attack: one client fails 20 times (4 at each of 5 accounts, so none is locked by its own
    streak); afterwards the address may not retry those accounts, but anyone else behind it logs in."""
    targets = [await factories.username_of(conn, await factories.create_account(conn, "volunteer")) for _ in range(5)]
    for username in targets:
        for _ in range(4):
            wrong = await client.post("/api/auth/token", json={"username": username, "password": "guess-123456"})
            assert wrong.status_code == 401
    bystander = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    api = await client.post("/api/auth/token", json={"username": bystander, "password": factories.PASSWORD})
    assert api.status_code == 201
    assert (await login(client, bystander)).status_code in (302, 303)
    client.cookies.clear()  # back to an anonymous API client
    # The accounts it failed at are closed to the address (even with the right password, under their own limit)…
    retried = await client.post("/api/auth/token", json={"username": targets[0], "password": factories.PASSWORD})
    assert retried.status_code == 429 and int(retried.headers["retry-after"]) > 0
    # …and open from anywhere else.
    elsewhere = await accounts.issue_token(
        conn, creds(targets[0], factories.PASSWORD), address="192.0.2.50", policy=SecurityPolicy()
    )
    assert elsewhere.token
    # A new account gets one try from the address: its first failure closes it there.
    fresh = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    assert (await client.post("/api/auth/token", json={"username": fresh, "password": "guess-1"})).status_code == 401
    again = await client.post("/api/auth/token", json={"username": fresh, "password": factories.PASSWORD})
    assert again.status_code == 429


async def test_an_account_that_logged_in_since_its_failure_is_not_held_by_the_address(conn):
    policy = SecurityPolicy()
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    with pytest.raises(NotAuthenticated):
        await accounts.issue_token(conn, creds(username), address=ATTACKER, policy=policy)
    await accounts.issue_token(conn, creds(username, factories.PASSWORD), address=ATTACKER, policy=policy)
    for n in range(20):
        with pytest.raises(NotAuthenticated):
            await accounts.issue_token(conn, creds(f"nobody{n}"), address=ATTACKER, policy=policy)
    # Its failure came before its success, so the crowded address does not hold it.
    assert (
        await accounts.issue_token(conn, creds(username, factories.PASSWORD), address=ATTACKER, policy=policy)
    ).token


# --- The client's address behind proxies ----------------------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    proxies = "10.0.0.0/8, 2001:db8::/32"
    assert client_address("203.0.113.7", ["198.51.100.9"], "") == "203.0.113.7"
    assert client_address("203.0.113.7", ["198.51.100.9"], proxies) == "203.0.113.7"
    assert client_address("10.0.0.2", ["198.51.100.9"], proxies) == "198.51.100.9"
    # Read right to left: what the client wrote itself (the leftmost hop) is not believed.
    assert client_address("10.0.0.2", ["6.6.6.6, 198.51.100.9, 10.0.0.3"], proxies) == "198.51.100.9"
    assert client_address("10.0.0.2", ["6.6.6.6", "198.51.100.9"], proxies) == "198.51.100.9"
    assert client_address("2001:db8::1", ["2001:0db8::5, 2001:DB8:1::9"], proxies) == "2001:db8::5"
    assert client_address("10.0.0.2", ["not-an-address, 10.0.0.3"], proxies) == "10.0.0.3"
    assert client_address("10.0.0.2", [], proxies) == "10.0.0.2"
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        proxy_networks("10.0.0.0/33")


async def test_the_throttle_sees_the_address_only_a_trusted_proxy_forwards(tmp_path: Path, client, conn, redis):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    wrong = {"username": username, "password": WRONG}
    forwarded = {"x-forwarded-for": "6.6.6.6, 198.51.100.9"}
    # The test client's peer (203.0.113.7) is no trusted proxy: what it says it forwards is ignored.
    assert (await client.post("/api/auth/token", json=wrong, headers=forwarded)).status_code == 401
    behind_proxy = create_app(
        conftest.test_settings(tmp_path, trusted_proxies="10.0.0.0/8"), pool=SharedConnectionPool(conn), redis=redis
    )
    transport = httpx.ASGITransport(app=behind_proxy, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as proxied:
        assert (await proxied.post("/api/auth/token", json=wrong, headers=forwarded)).status_code == 401
    addresses = await conn.fetch("SELECT address FROM login_attempts WHERE username = $1 ORDER BY id", username)
    assert [row["address"] for row in addresses] == ["203.0.113.7", "198.51.100.9"]
    with pytest.raises(ValueError, match=r"proxy\.local"):
        create_app(conftest.test_settings(tmp_path, trusted_proxies="10.0.0.0/8, proxy.local"))


# --- Registration does not list usernames ---------------------------------------------------------------------------


async def test_a_taken_username_is_named_only_once_the_rest_of_the_form_is_valid(client, conn):
    taken = await factories.username_of(conn, await factories.create_account(conn, "committee"))
    subdistrict = await factories.create_area(conn, "subdistrict")
    home = await committee_area(conn, subdistrict)
    # The page: a sub-district is no place to live in; only that is said.
    page = await post_form(client, "/register/volunteer", volunteer_form(subdistrict, username=taken))
    assert page.status_code == 422
    assert parse_page(page.text).errors == {"home_area_id": "请选择您居住地所属的居委会"}
    too_young = await post_form(client, "/register/volunteer", volunteer_form(home, username=taken, birth_year="2022"))
    assert parse_page(too_young.text).errors == {"birth_year": "未满 10 周岁的儿童不能注册"}
    # The API: the same order.
    body = {
        "username": taken,
        "password": "a-long-password-1",
        "display_name": "李晓",
        "birth_year": 1990,
        "home_area_id": subdistrict,
    }
    refused = await client.post("/api/volunteers", json=body)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["home_area_id"]
    # Only a form valid in every other way learns that the name is taken.
    taken_now = await client.post("/api/volunteers", json={**body, "home_area_id": home})
    assert taken_now.status_code == 409
    assert [e["field"] for e in taken_now.json()["errors"]] == ["username"]


async def test_organisation_registration_names_a_taken_username_last(client, conn):
    taken = await factories.username_of(conn, await factories.create_account(conn, "funder"))
    body = {
        "username": taken,
        "password": "a-long-password-1",
        "display_name": "王主任",
        "name": "乐龄社工服务社",
        "credit_code": factories.credit_code(),
        "registered_on": "2099-01-01",
    }
    refused = await client.post("/api/organisations", json=body)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["registered_on"]
    taken_now = await client.post("/api/organisations", json={**body, "registered_on": "2015-06-01"})
    assert taken_now.status_code == 409
    assert [e["field"] for e in taken_now.json()["errors"]] == ["username"]


# --- Check-in codes --------------------------------------------------------------------------------------------------


async def test_forty_parallel_code_guesses_are_compared_no_more_often_than_the_limit(empty_database_url, committed):
    scene = await running_shift_scene(committed)
    guess = CheckIn(shift_id=scene.shift_id, code=wrong_code(scene.code))

    outcomes = await all_at_once(
        empty_database_url, lambda conn: attendance.check_in(conn, scene.volunteer, guess, AttendanceRules())
    )

    limit = attendance.MAX_CODE_FAILURES
    assert outcomes == {"Invalid": limit, "CheckinRefused:checkin-code-attempts": PARALLEL - limit}
    assert (
        await committed.fetchval("SELECT count(*) FROM checkin_code_failures WHERE shift_id = $1", scene.shift_id)
        == limit
    )


async def test_a_volunteer_without_a_place_cannot_probe_the_code(client, conn):
    scene = await running_shift_scene(conn)
    outsider = await volunteer_identity(conn)
    rules = AttendanceRules()
    answers = set()
    for code in (wrong_code(scene.code), scene.code):
        with pytest.raises(DomainError) as refused:
            await attendance.check_in(conn, outsider, CheckIn(shift_id=scene.shift_id, code=code), rules)
        answers.add((type(refused.value).__name__, refused.value.kind))
    # The right code and a wrong one get the same answer, and nothing was counted: the code was never compared.
    assert answers == {("CheckinRefused", "checkin-no-place")}
    assert await conn.fetchval("SELECT count(*) FROM checkin_code_failures WHERE shift_id = $1", scene.shift_id) == 0
    # The volunteer holding the place is not affected.
    done = await attendance.check_in(conn, scene.volunteer, CheckIn(shift_id=scene.shift_id, code=scene.code), rules)
    assert done.attendance.method == "code"


# --- Disabling an account -------------------------------------------------------------------------------------------


async def test_a_disabled_accounts_tokens_and_sessions_stay_dead_after_it_is_enabled_again(client, conn):
    admin = await factories.identity_of(conn, await factories.create_account(conn, "admin"))
    account_id = await factories.create_account(conn, "volunteer")
    username = await factories.username_of(conn, account_id)
    token = await client.post("/api/auth/token", json={"username": username, "password": factories.PASSWORD})
    headers = {"authorization": f"Bearer {token.json()['token']}"}
    assert (await login(client, username)).status_code in (302, 303)
    assert (await client.get("/api/accounts/me", headers=headers)).status_code == 200

    await accounts.set_account_disabled(conn, admin, account_id, True)
    await accounts.set_account_disabled(conn, admin, account_id, False)

    assert (await client.get("/api/accounts/me", headers=headers)).status_code == 401
    assert (await client.get("/home", follow_redirects=False)).status_code in (302, 303)
    entry = await conn.fetchrow(
        "SELECT detail FROM audit_log WHERE action = 'account.disable' AND object_id = $1", str(account_id)
    )
    assert entry is not None and '"tokens_revoked": 1' in entry["detail"] and '"sessions_ended": 1' in entry["detail"]
    # The owner logs in again as usual.
    client.cookies.clear()
    assert (
        await client.post("/api/auth/token", json={"username": username, "password": factories.PASSWORD})
    ).status_code == 201
