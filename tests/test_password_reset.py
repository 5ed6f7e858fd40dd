"""Password reset (忘记密码): the answer never says whether an account exists, a code is sent through the
notification senders, its guesses are counted in SQL (even in parallel), and a reset ends every session and token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar

from api.services import accounts, password_reset
from api.services.accounts import Credentials, SecurityPolicy, SessionStart
from api.services.errors import Invalid, TooManyAttempts
from api.services.notifications import Message
from api.services.password_reset import ResetConfirm, ResetRequest
from tests import factories
from tests.helpers import csrf_token, parse_page, post_form
from tests.pages_kit import page_context
from tests.test_abuse_auth import PARALLEL, all_at_once, committed  # noqa: F401 (a fixture used below)

NEW_PASSWORD = "a-brand-new-password-9"
HERE = "203.0.113.7"
POLICY = SecurityPolicy()


class Outbox:
    """A sender that keeps what it was given (what the SMS gateway or the mail server would receive)."""

    name = "sms"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> str:
        """Keep the message."""
        self.sent.append(message)
        return "sms" if message.phone else "inapp"

    def code(self) -> str:
        """The six digits of the last message."""
        found = re.search(r"\b(\d{6})\b", self.sent[-1].body)
        assert found is not None, self.sent[-1].body
        return found.group(1)


@pytest.fixture
def outbox(app: Litestar) -> Iterator[Outbox]:
    """The app's sender replaced by an Outbox for the test."""
    previous = app.state.notify_sender
    app.state.notify_sender = box = Outbox()
    try:
        yield box
    finally:
        app.state.notify_sender = previous


async def ask(conn, identifier: str, address: str = HERE) -> Message | None:
    """Ask for a code, from HERE unless told."""
    return await password_reset.request_code(conn, ResetRequest(identifier=identifier), address=address, policy=POLICY)


async def volunteer_with_phone(conn, phone: str = "139 1234 5678") -> tuple[int, str]:
    account_id = await factories.create_account(conn, "volunteer")
    await conn.execute("UPDATE volunteers SET phone = $2 WHERE account_id = $1", account_id, phone)
    return account_id, await factories.username_of(conn, account_id)


async def code_for(conn, identifier: str) -> str:
    message = await ask(conn, identifier)
    assert message is not None
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found is not None
    return found.group(1)


def confirm(identifier: str, code: str, password: str = NEW_PASSWORD) -> ResetConfirm:
    return ResetConfirm(identifier=identifier, code=code, password=password)


async def reset(conn, form: ResetConfirm) -> accounts.LoginResult | None:
    start = SessionStart(address=HERE, user_agent="test", previous_session_id=None, policy=SecurityPolicy())
    return await password_reset.reset_password(conn, form, start)


# --- The answer never says whether an account exists ---------------------------------------------------------------


async def test_the_api_answers_the_same_whether_or_not_an_account_exists(client, conn, outbox):
    _account_id, username = await volunteer_with_phone(conn)
    answers = [
        await client.post("/api/auth/password-reset", json={"identifier": identifier})
        for identifier in (username, "nobody-has-this-name", "13912345678", "someone@example.org")
    ]
    assert len({(a.status_code, a.content) for a in answers}) == 1
    assert answers[0].status_code == 202
    # A code went out for the username and for the phone number (the same account), and for nothing else.
    assert [m.phone for m in outbox.sent] == ["139 1234 5678", "139 1234 5678"]
    assert [m.kind for m in outbox.sent] == ["password_reset", "password_reset"]
    # Only the code's hash is stored, and the second code replaced the first.
    rows = await conn.fetch(
        "SELECT code_hash, ended_at IS NULL AS live FROM password_resets WHERE account_id = $1 ORDER BY id", _account_id
    )
    assert [r["live"] for r in rows] == [False, True]
    assert all(r["code_hash"].startswith("$argon2id$") and outbox.code() not in r["code_hash"] for r in rows)


async def test_the_page_answers_the_same_whether_or_not_an_account_exists(client, conn, outbox):
    _account_id, username = await volunteer_with_phone(conn)
    pages = []
    for identifier in (username, "nobody-has-this-name"):
        token = await csrf_token(client, "/password/forgot")
        data = {"identifier": identifier, "_csrf_token": token}
        pages.append(await page_context(client, "/password/forgot", method="POST", data=data))
    assert [p.template for p in pages] == ["account/reset.html", "account/reset.html"]
    assert [p["sent"] for p in pages] == [True, True]
    assert [p["values"] for p in pages] == [{"identifier": username}, {"identifier": "nobody-has-this-name"}]
    # The words of the page are the same but for the identifier typed into the form.
    main = [
        p.response.text.replace(identifier, "").split("<main")[1].split("</main>")[0]
        for p, identifier in zip(pages, (username, "nobody-has-this-name"), strict=True)
    ]
    main = [re.sub(r'name="_csrf_token" value="[^"]*"', "", text) for text in main]
    assert main[0] == main[1]
    assert "如果您填写的信息对应一个账号，且该账号留有手机号码或电子邮箱，验证码已经发出，15 分钟内有效。" in main[1]
    assert len(outbox.sent) == 1


# --- Requests per address: counted whether or not an account answers, refused with 429 and Retry-After ----------


async def test_an_address_over_its_hourly_limit_is_refused_whatever_it_names(conn):
    _account_id, username = await volunteer_with_phone(conn)
    limit = POLICY.reset_requests_per_address_per_hour
    for n in range(limit):
        # Half of them name nobody: they count all the same, so the refusal below says nothing about an account.
        await ask(conn, f"nobody{n}")
    for identifier in (username, "nobody-at-all"):
        with pytest.raises(TooManyAttempts) as refused:
            await ask(conn, identifier)
        assert 3500 <= refused.value.retry_after_s <= 3600
    # Nothing was sent or stored for the refused requests; another address still asks.
    assert await conn.fetchval("SELECT count(*) FROM password_resets") == 0
    assert await ask(conn, username, address="192.0.2.9")
    # What is kept of a request is its address and time only; they are purged after a day.
    assert await conn.fetchval("SELECT count(*) FROM password_reset_requests WHERE address = $1", HERE) == limit
    await conn.execute("UPDATE password_reset_requests SET at = at - interval '61 minutes'")
    assert await ask(conn, username)
    await conn.execute("UPDATE password_reset_requests SET at = at - interval '1 day'")
    assert (await accounts.purge_expired(conn, POLICY)).reset_requests == limit + 2


async def test_forty_parallel_requests_from_one_address_admit_no_more_than_the_limit(empty_database_url, committed):  # noqa: F811
    policy = SecurityPolicy(reset_requests_per_address_per_hour=5)
    outcomes = await all_at_once(
        empty_database_url,
        lambda c: password_reset.request_code(c, ResetRequest(identifier="nobody"), address=HERE, policy=policy),
    )
    assert outcomes == {"ok": 5, "TooManyAttempts": PARALLEL - 5}
    assert await committed.fetchval("SELECT count(*) FROM password_reset_requests") == 5


async def test_the_api_and_the_page_answer_429_with_retry_after_beside_the_field(client, conn, outbox):
    limit = POLICY.reset_requests_per_address_per_hour
    for n in range(limit):
        answer = await client.post("/api/auth/password-reset", json={"identifier": f"nobody{n}"})
        assert answer.status_code == 202
    refused = await client.post("/api/auth/password-reset", json={"identifier": "nobody"})
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")
    assert 3500 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.json()["status"] == 429
    token = await csrf_token(client, "/password/forgot")
    page = await page_context(
        client, "/password/forgot", method="POST", status=429, data={"identifier": "someone", "_csrf_token": token}
    )
    assert page.template == "account/forgot.html" and page.response.status_code == 429
    assert 3500 <= int(page.response.headers["retry-after"]) <= 3600
    assert page["values"] == {"identifier": "someone"}
    assert page["errors"]["identifier"] == "从此处请求验证码的次数过多，请 60分钟 后再试"
    field = parse_page(page.response.text)
    assert "从此处请求验证码的次数过多，请 60分钟 后再试" in " ".join(field.texts)
    assert outbox.sent == []


async def test_a_phone_shared_by_two_accounts_names_neither(conn):
    await volunteer_with_phone(conn, "13800000001")
    await volunteer_with_phone(conn, "138-0000-0001")
    assert await ask(conn, "13800000001") is None


async def test_a_disabled_account_gets_no_code(conn):
    account_id, username = await volunteer_with_phone(conn)
    await conn.execute("UPDATE accounts SET disabled_at = now() WHERE id = $1", account_id)
    assert await ask(conn, username) is None


async def test_an_account_is_sent_at_most_three_codes_an_hour(conn):
    _account_id, username = await volunteer_with_phone(conn)
    for _ in range(password_reset.CODES_PER_HOUR):
        await code_for(conn, username)
    assert await ask(conn, username) is None


async def test_the_message_speaks_the_accounts_language_and_reaches_its_email(conn):
    account_id, _username = await volunteer_with_phone(conn)
    await conn.execute("UPDATE accounts SET locale = 'en' WHERE id = $1", account_id)
    await conn.execute(
        "INSERT INTO notification_contacts (account_id, email) VALUES ($1, 'reader@example.org')", account_id
    )
    message = await ask(conn, "READER@example.org")
    assert message is not None
    assert message.email == "reader@example.org"
    assert message.subject == "Linli password reset code"
    assert "valid for 15 minutes" in message.body


# --- Guesses -------------------------------------------------------------------------------------------------------


async def test_five_wrong_guesses_kill_the_code(conn):
    _account_id, username = await volunteer_with_phone(conn)
    code = await code_for(conn, username)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(password_reset.CODE_GUESSES):
        with pytest.raises(Invalid) as refused:
            await reset(conn, confirm(username, wrong))
        assert refused.value.fields == {"code": password_reset.WRONG_CODE}
    with pytest.raises(Invalid):
        await reset(conn, confirm(username, code))


async def test_forty_parallel_guesses_are_compared_no_more_often_than_the_limit(empty_database_url, committed):  # noqa: F811
    account_id = await factories.create_account(committed, "volunteer")
    username = await factories.username_of(committed, account_id)
    code = await code_for(committed, username)
    wrong = "000000" if code != "000000" else "111111"

    outcomes = await all_at_once(empty_database_url, lambda c: reset(c, confirm(username, wrong)))

    assert outcomes == {"Invalid": PARALLEL}
    assert await committed.fetchval("SELECT attempts FROM password_resets WHERE account_id = $1", account_id) == 5
    with pytest.raises(Invalid):
        await reset(committed, confirm(username, code))


async def test_an_expired_code_is_refused(conn):
    account_id, username = await volunteer_with_phone(conn)
    code = await code_for(conn, username)
    await conn.execute(
        "UPDATE password_resets SET created_at = now() - interval '20 minutes',"
        " expires_at = now() - interval '5 minutes' WHERE account_id = $1",
        account_id,
    )
    with pytest.raises(Invalid):
        await reset(conn, confirm(username, code))


async def test_a_code_works_once(conn):
    _account_id, username = await volunteer_with_phone(conn)
    code = await code_for(conn, username)
    assert await reset(conn, confirm(username, code)) is not None
    with pytest.raises(Invalid):
        await reset(conn, confirm(username, code, "yet-another-password-2"))


# --- A reset ends every session and token, is audited, and logs in -------------------------------------------------


async def test_a_reset_ends_every_session_and_token_and_logs_in_with_the_new_password(client, conn, outbox):
    account_id, username = await volunteer_with_phone(conn)
    elsewhere = await accounts.login(
        conn,
        Credentials(username=username, password=factories.PASSWORD),
        address="192.0.2.9",
        user_agent="another phone",
        previous_session_id=None,
        policy=SecurityPolicy(),
    )
    token = await client.post("/api/auth/token", json={"username": username, "password": factories.PASSWORD})
    bearer = {"authorization": f"Bearer {token.json()['token']}"}

    asked = await post_form(client, "/password/forgot", {"identifier": username})
    assert asked.status_code == 200
    done = await post_form(
        client,
        "/password/reset",
        {"identifier": username, "code": outbox.code(), "password": NEW_PASSWORD},
        page="/password/reset",
    )

    assert done.status_code in (302, 303), done.text
    assert done.headers["location"] == "/home"
    assert (await client.get("/home")).status_code == 200
    assert (await client.get("/api/accounts/me", headers=bearer)).status_code == 401
    assert await accounts.identify_session(conn, elsewhere.session_id, SecurityPolicy()) is None
    assert await conn.fetchval("SELECT count(*) FROM sessions WHERE account_id = $1", account_id) == 1
    detail = await conn.fetchval(
        "SELECT detail FROM audit_log WHERE action = 'account.password_reset' AND object_id = $1", str(account_id)
    )
    assert '"sessions_ended": 1' in detail and '"tokens_revoked": 1' in detail
    client.cookies.clear()
    again = await client.post("/api/auth/token", json={"username": username, "password": NEW_PASSWORD})
    assert again.status_code == 201
    old = await client.post("/api/auth/token", json={"username": username, "password": factories.PASSWORD})
    assert old.status_code == 401


async def test_the_api_resets_with_a_problem_for_a_wrong_code(client, conn):
    account_id, username = await volunteer_with_phone(conn)
    code = await code_for(conn, username)
    wrong = await client.post(
        "/api/auth/password-reset/confirm", json={"identifier": username, "code": "12345x", "password": NEW_PASSWORD}
    )
    assert wrong.status_code == 400
    refused = await client.post(
        "/api/auth/password-reset/confirm",
        json={"identifier": username, "code": "000000" if code != "000000" else "111111", "password": NEW_PASSWORD},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["code"]
    ok = await client.post(
        "/api/auth/password-reset/confirm", json={"identifier": username, "code": code, "password": NEW_PASSWORD}
    )
    assert ok.status_code == 204
    # The API starts no session.
    assert await conn.fetchval("SELECT count(*) FROM sessions WHERE account_id = $1", account_id) == 0


async def test_the_reset_page_shows_each_error_beside_its_field(client, conn):
    _account_id, username = await volunteer_with_phone(conn)
    await code_for(conn, username)
    short = await post_form(
        client, "/password/reset", {"identifier": username, "code": "12", "password": "short"}, page="/password/reset"
    )
    assert short.status_code == 422
    errors = parse_page(short.text).errors
    assert set(errors) == {"code", "password"}
    wrong = await post_form(
        client, "/password/reset", {"identifier": username, "code": "000001", "password": NEW_PASSWORD},
        page="/password/reset",
    )  # fmt: skip
    assert wrong.status_code == 422
    assert parse_page(wrong.text).errors == {"code": "验证码错误或已过期；如多次失败，请重新获取验证码"}
    assert parse_page(wrong.text).inputs["identifier"] == username


async def test_the_login_page_links_to_the_forgotten_password(client):
    rendered = await page_context(client, "/login")
    assert rendered.template == "account/login.html"
    assert "忘记密码？" in parse_page(rendered.response.text).texts


async def test_a_platform_that_sends_no_texts_or_email_says_so_on_the_forgotten_password_page(client):
    rendered = await page_context(client, "/password/forgot")
    assert rendered["delivers"] is False  # the tests' app uses the `log` sender
    assert any("本平台尚未开通短信或电子邮件" in text for text in parse_page(rendered.response.text).texts)


async def test_a_platform_that_sends_texts_offers_the_code(client, outbox):
    rendered = await page_context(client, "/password/forgot")
    assert rendered["delivers"] is True
    assert not any("本平台尚未开通短信或电子邮件" in text for text in parse_page(rendered.response.text).texts)


async def test_codes_older_than_a_day_are_purged_with_the_other_expired_credentials(conn):
    account_id, username = await volunteer_with_phone(conn)
    await code_for(conn, username)
    await conn.execute(
        "UPDATE password_resets SET created_at = now() - interval '25 hours', expires_at = now() - interval '24 hours'"
        " WHERE account_id = $1",
        account_id,
    )
    await code_for(conn, username)
    purged = await accounts.purge_expired(conn, SecurityPolicy())
    assert purged.reset_codes == 1
    assert await conn.fetchval("SELECT count(*) FROM password_resets WHERE account_id = $1", account_id) == 1
