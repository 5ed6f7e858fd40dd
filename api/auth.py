"""Identity, roles and guards: who is calling (session cookie or bearer token), in which language."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from typing import Any

import asyncpg
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers, State
from litestar.di import NamedDependency, Provide
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api import i18n, security
from api.services import accounts, health
from api.services.accounts import Identity, SecurityPolicy, logged_in
from api.services.errors import Forbidden
from api.services.replicas import Replicas

SESSION_COOKIE = "linli_session"
LOCALE_COOKIE = "linli_locale"
CSRF_COOKIE = "linli_csrf"
# When the caller last wrote (unix seconds): for a short while after, their reads go to the primary.
WROTE_COOKIE = "linli_wrote"

# Handler parameters filled by the app's named dependencies.
Conn = NamedDependency[asyncpg.Connection]
Who = NamedDependency[Identity | None]
User = NamedDependency[Identity]
Policy = NamedDependency[SecurityPolicy]


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def bearer_token(headers: Headers) -> str | None:
    """The token of an `Authorization: Bearer …` header, if any."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class IdentityMiddleware:
    """Sets scope["user"] to the caller's Identity (or None) and the request's language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Static files are public: no identity, so no database round trip for each, and the stylesheet of the
        # 503 page still loads for someone logged in while the database is down.
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        state = scope["litestar_app"].state
        headers = Headers.from_scope(scope)
        cookies = _cookies(headers)
        policy: SecurityPolicy = state.policy
        identity: Identity | None = None
        token = bearer_token(headers)
        # A request carrying a bearer token is judged by the token alone: its cookies are ignored,
        # which is what lets such requests skip the CSRF check safely.
        if token is not None:
            async with state.pool.acquire() as conn:
                identity = await accounts.identify_token(conn, token)
        elif (session_id := cookies.get(SESSION_COOKIE)) is not None:
            async with state.pool.acquire() as conn:
                identity = await accounts.identify_session(conn, session_id, policy)
        scope["user"] = identity
        locale = i18n.negotiate(
            cookies.get(LOCALE_COOKIE), identity.locale if identity else None, headers.get("accept-language")
        )
        scope.setdefault("state", {})["locale"] = locale
        reset = i18n.current_locale.set(locale)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(reset)


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check, wherever a browser's ambient credentials could be abused.

    API calls with a bearer token, or with no session cookie at all, carry nothing a forged request could
    borrow, so they skip it (and an anonymous API client gets a clear 401 rather than a CSRF 403). Pages
    keep it on every form, the login form included.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith("/api/"):
            headers = Headers.from_scope(scope)
            if bearer_token(headers) is not None or SESSION_COOKIE not in _cookies(headers):
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def current_identity(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity | None:
    """The caller, or None when anonymous."""
    user = connection.scope.get("user")
    return user if isinstance(user, Identity) else None


# The guards are coroutines: Litestar runs a plain function guard in a worker thread (a thread hop per request for
# a dictionary look-up, measured at about a seventh of a sign-up's CPU in the web process; docs/performance.md).
async def login_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: any logged-in account."""
    logged_in(current_identity(connection))


def roles(*allowed: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """Guard: a logged-in account with one of these roles."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if logged_in(current_identity(connection)).role not in allowed:
            raise Forbidden("Your role may not do this")

    guard.__name__ = f"roles_{'_'.join(allowed)}"
    return guard


@asynccontextmanager
async def _lent(pool: Any) -> AsyncIterator[asyncpg.Connection]:
    """A connection from the pool for the length of the request."""
    answered = False
    try:
        async with pool.acquire() as conn:
            yield conn
            answered = True
    except Exception as exc:
        if not answered or not health.database_outage(exc):
            raise
        # The request's work is done (its transactions committed, its answer made) and the connection broke while
        # going back to the pool: asyncpg has closed it, and the answer stands rather than becoming a 503.


async def provide_conn(state: State) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the primary for the length of the request."""
    async with _lent(state.pool) as conn:
        yield conn


def wrote_recently(request: Request[Any, Any, Any], within_s: float) -> bool:
    """Whether the caller's last successful write (its cookie, set by the app) was less than `within_s` ago."""
    raw = request.cookies.get(WROTE_COOKIE)
    if raw is None:
        return False
    try:
        return time.time() - float(raw) < within_s
    except ValueError:
        return True  # a cookie we did not write: the primary is always right


async def provide_read_conn(state: State, request: Request[Any, Any, Any]) -> AsyncIterator[asyncpg.Connection]:
    """A connection for a request that only reads: from a replica close behind the primary, unless none is close
    enough or the caller wrote a moment ago (their own write must show); the primary otherwise."""
    replicas: Replicas | None = state.replicas
    if replicas is not None and not wrote_recently(request, replicas.read_your_writes_s):
        pool = await replicas.usable()
        if pool is not None:
            try:
                conn = await pool.acquire()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                replicas.failed(pool)  # gone since it was last asked: this read, too, goes to the primary
            else:
                try:
                    yield conn
                finally:
                    await pool.release(conn)
                return
    async with _lent(state.pool) as conn:
        yield conn


# Handlers that only read take their connection from a replica when one is close enough: `dependencies=READS`.
READS = {"conn": Provide(provide_read_conn)}


def provide_identity(request: Request[Any, Any, Any]) -> Identity | None:
    """The caller, or None (a dependency for handlers)."""
    return current_identity(request)


def provide_user(request: Request[Any, Any, Any]) -> Identity:
    """The logged-in caller (use behind login_required or roles)."""
    return logged_in(current_identity(request))


def provide_policy(state: State) -> SecurityPolicy:
    """The login and session settings."""
    policy: SecurityPolicy = state.policy
    return policy


def client_address(request: Any) -> str:
    """The caller's address, for the login throttle and the audit log (X-Forwarded-For only from trusted proxies)."""
    client = request.client
    peer = client.host if client is not None else "unknown"
    policy: SecurityPolicy = request.app.state.policy
    return security.client_address(peer, request.headers.getall("x-forwarded-for", []), policy.trusted_proxies)
