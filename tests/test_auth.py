"""Login, sessions, CSRF, the rate limit and bearer tokens."""

from __future__ import annotations

import inspect

from tests import factories
from tests.helpers import bearer, login, parse_page, post_form


async def test_login_sets_a_new_session_id_each_time(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    first = await login(client, username)
    assert first.status_code in (302, 303)
    first_id = client.cookies.get("linli_session")
    assert first_id
    second = await login(client, username)
    assert second.status_code in (302, 303)
    second_id = client.cookies.get("linli_session")
    assert second_id and second_id != first_id
    # The session from before the second login is over.
    client.cookies.set("linli_session", first_id)
    stale = await client.get("/home", follow_redirects=False)
    assert stale.status_code in (302, 303) and stale.headers["location"].startswith("/login")


async def test_home_page_needs_login(client):
    response = await client.get("/home", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=/home"


async def test_wrong_password_shows_error_beside_field_in_chinese(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    response = await login(client, username, "wrong-password-1")
    assert response.status_code == 401
    page = parse_page(response.text)
    assert page.errors["password"] == "用户名或密码错误"


async def test_form_without_csrf_token_is_rejected(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    await client.get("/login")
    response = await client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 403
    assert client.cookies.get("linli_session") is None


async def test_api_call_with_session_cookie_needs_csrf_header(client, conn):
    org_user = await factories.create_account(conn, "organisation")
    org_id = await conn.fetchval("SELECT organisation_id FROM memberships WHERE account_id = $1", org_user)
    await login(client, await factories.username_of(conn, org_user))
    body = {"name": "新名字社工服务中心", "staff_hours_capacity": 100}
    refused = await client.put(f"/api/organisations/{org_id}", json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    allowed = await client.put(
        f"/api/organisations/{org_id}", json=body, headers={"x-csrftoken": client.cookies["linli_csrf"]}
    )
    assert allowed.status_code == 200, allowed.text


async def test_login_rate_limit_per_account(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    for _ in range(5):
        assert (await login(client, username, "wrong-password-1")).status_code == 401
    # Even the right password is refused while the account is locked out.
    locked = await login(client, username)
    assert locked.status_code == 429
    api = await client.post("/api/auth/token", json={"username": username, "password": factories.PASSWORD})
    assert api.status_code == 429
    assert api.headers["content-type"].startswith("application/problem+json")
    assert int(api.headers["retry-after"]) > 0


async def test_rate_limit_is_per_account_not_global(client, conn):
    locked = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    other = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    for _ in range(5):
        await login(client, locked, "wrong-password-1")
    assert (await login(client, other)).status_code in (302, 303)


async def test_bearer_token_works_without_csrf_and_can_be_revoked(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    headers = await bearer(client, username)
    me = await client.get("/api/accounts/me", headers=headers)
    assert me.status_code == 200 and me.json()["username"] == username
    tokens = (await client.get("/api/auth/tokens", headers=headers)).json()
    assert len(tokens) == 1 and "token" not in tokens[0]
    revoked = await client.delete(f"/api/auth/tokens/{tokens[0]['id']}", headers=headers)
    assert revoked.status_code == 204
    after = await client.get("/api/accounts/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["status"] == 401


async def test_session_idle_timeout_ends_session(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    await login(client, username)
    assert (await client.get("/home", follow_redirects=False)).status_code == 200
    await conn.execute("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'")
    assert (await client.get("/home", follow_redirects=False)).status_code in (302, 303)


async def test_seeing_a_session_or_token_writes_at_most_once_a_minute(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    headers = await bearer(client, username)
    await login(client, username)
    # A minute or more since the last write: this request writes (now() is the test transaction's start).
    await conn.execute("UPDATE sessions SET last_seen_at = now() - interval '2 minutes'")
    await conn.execute("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'")
    assert (await client.get("/home", follow_redirects=False)).status_code == 200
    assert (await client.get("/api/volunteers/me", headers=headers)).status_code == 200
    assert await conn.fetchval("SELECT bool_and(last_seen_at = now()) FROM sessions")
    assert await conn.fetchval("SELECT bool_and(last_used_at = now()) FROM api_tokens")
    # Within the minute: a read stays a read.
    await conn.execute("UPDATE sessions SET last_seen_at = now() - interval '30 seconds'")
    await conn.execute("UPDATE api_tokens SET last_used_at = now() - interval '30 seconds'")
    assert (await client.get("/home", follow_redirects=False)).status_code == 200
    assert (await client.get("/api/volunteers/me", headers=headers)).status_code == 200
    assert await conn.fetchval("SELECT bool_and(last_seen_at = now() - interval '30 seconds') FROM sessions")
    assert await conn.fetchval("SELECT bool_and(last_used_at = now() - interval '30 seconds') FROM api_tokens")


async def test_session_absolute_timeout_ends_session(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    await login(client, username)
    await conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert (await client.get("/home", follow_redirects=False)).status_code in (302, 303)


async def test_logout_ends_session(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    await login(client, username)
    session_id = client.cookies["linli_session"]
    response = await post_form(client, "/logout", {}, page="/home")
    assert response.status_code in (302, 303)
    client.cookies.set("linli_session", session_id)
    again = await client.get("/home", follow_redirects=False)
    assert again.status_code in (302, 303)


async def test_security_headers(client):
    response = await client.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers


async def test_login_redirect_target_stays_on_site(client, conn):
    username = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    response = await post_form(
        client,
        "/login",
        {"username": username, "password": factories.PASSWORD, "next": "//evil.example/x"},
        page="/login",
    )
    assert response.headers["location"] == "/home"


def test_every_guard_is_a_coroutine_so_none_runs_in_a_worker_thread(shared_app):
    # Litestar runs a plain-function guard through a thread pool: a thread hop per request for a look-up in the scope.
    guards = {
        guard
        for route in shared_app.routes
        for handler in getattr(route, "route_handlers", [])
        for layer in handler.ownership_layers
        for guard in layer.guards or []
    }
    assert guards
    assert [g.__name__ for g in guards if not inspect.iscoroutinefunction(g)] == []
