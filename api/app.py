"""create_app(): the one place that wires settings, pools, middleware, the JSON API and the pages."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import jinja2
import structlog
from arq.connections import ArqRedis
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import BeforeMessageSendHookHandler, Message, Scope
from redis.asyncio import ConnectionPool
from swagger_ui_bundle import swagger_ui_path

from api import i18n, observe, security
from api.auth import (
    CSRF_COOKIE,
    WROTE_COOKIE,
    BearerAwareCSRFMiddleware,
    IdentityMiddleware,
    provide_conn,
    provide_identity,
    provide_policy,
    provide_user,
)
from api.errors import EXCEPTION_HANDLERS, DatabaseOutage
from api.routes import API_HANDLERS
from api.services import horizon, maps, notifications, service_records
from api.services.accounts import SecurityPolicy
from api.services.health import database_outage
from api.services.replicas import SAFE_METHODS, Replicas, read_your_writes_s
from api.settings import Settings, load_settings, pool_size, replica_urls
from web import assets
from web import filters as web_filters
from web.routes import PAGE_HANDLERS

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
log = structlog.get_logger("linli.app")

# Pages load only our own files; the OpenAPI page also runs Swagger UI's inline start-up script.
CSP_PAGES = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def csp_pages(tile_hosts: list[str]) -> str:
    """The pages' CSP, letting map tiles come from the hosts of the tile source the settings name (and no other)."""
    return CSP_PAGES.replace("img-src 'self' data:", " ".join(["img-src 'self' data:", *tile_hosts]))


CSP_SCHEMA = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


def security_headers(https: bool, tile_hosts: list[str] | None = None) -> BeforeMessageSendHookHandler:
    """A before-send hook: CSP, nosniff, frame-ancestors, Referrer-Policy and Permissions-Policy (HSTS over HTTPS)
    on every response. Litestar calls it for every message the app sends, so the router's own 404 and 405, the error
    handlers' problems, static files and redirects get the headers too (route middleware never sees the first two)."""

    pages_csp = csp_pages(tile_hosts or [])

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["content-security-policy"] = CSP_SCHEMA if scope["path"].startswith("/schema") else pages_csp
        headers["x-content-type-options"] = "nosniff"
        headers["x-frame-options"] = "DENY"
        headers["referrer-policy"] = "same-origin"
        headers["permissions-policy"] = "camera=(self), geolocation=(self), microphone=()"
        if https:
            headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
        if "cache-control" not in headers:
            headers["cache-control"] = "no-store"

    return add_headers


def remember_writes(https: bool, read_your_writes_s: float) -> BeforeMessageSendHookHandler:
    """A before-send hook: a successful write sets a cookie with its time, so that its writer reads from the primary
    until the replicas have it (api.auth.provide_read_conn)."""
    cookie = f"Path=/; Max-Age={math.ceil(read_your_writes_s)}; HttpOnly; SameSite=Lax" + ("; Secure" if https else "")

    async def remember(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") in SAFE_METHODS:
            return
        if message["status"] < 400:
            MutableScopeHeaders.from_message(message).add("set-cookie", f"{WROTE_COOKIE}={time.time():.3f}; {cookie}")

    return remember


def _jinja_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["locales"] = i18n.LOCALES
    env.globals["current_locale"] = i18n.current_locale.get
    web_filters.install(env)
    return env


def job_queue(redis_url: str) -> ArqRedis:
    """arq's Redis client without arq's connect-and-ping at start: the app starts, and serves everything that needs
    no Redis, while Redis is down; short timeouts, so a request that queues a job never hangs on a stuck Redis."""
    return ArqRedis(ConnectionPool.from_url(redis_url, socket_connect_timeout=1.0, socket_timeout=2.0))


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing more to do once asyncpg has ended any open transaction (it always does first)."""
    # asyncpg's default reset is a round trip on every release (RESET ALL, CLOSE ALL, UNLISTEN *, advisory unlock)
    # for state the app never leaves behind: no SET without LOCAL, LISTEN, cursor WITH HOLD or session advisory
    # lock is run on its connections (tests/test_pool_reset.py reads every statement). Measured in
    # docs/performance.md.


async def open_database_pool(settings: Settings, outage: DatabaseOutage) -> asyncpg.Pool:
    """The web app's pool; if PostgreSQL is down at start, the app starts anyway and answers 503 until it is back."""
    assert settings.database_url is not None
    options: dict[str, Any] = {
        # No floor: asyncpg would keep reconnecting it during an outage and log a traceback at every try; a
        # request that finds no idle connection opens one.
        "min_size": 0,
        # Every web process holds its share, so that all of them together stay inside PostgreSQL's max_connections.
        "max_size": pool_size(settings),
        # asyncpg's default waits 60 s for a server that does not answer; a request should hear 503 sooner.
        "timeout": settings.database_connect_timeout_s,
        "setup": outage.on_acquire,
        "reset": keep_session,
    }
    try:
        # One connection at start, so a wrong URL, password or database name stops the start with its reason.
        pool = await asyncpg.create_pool(settings.database_url, init_size=1, **options)
    except Exception as exc:
        if not database_outage(exc):
            raise
        outage.begin(exc, "start-up")
        pool = await asyncpg.create_pool(settings.database_url, init_size=0, **options)
    outage.pool = pool
    return pool


async def open_replica_pools(settings: Settings) -> Replicas | None:
    """Pools on the streaming replicas (LINLI_DATABASE_REPLICA_URLS), or None; a replica that is down is skipped."""
    urls = replica_urls(settings)
    if not urls:
        return None
    pools = []
    for url in urls:
        # No connection at start: a replica that is down must not stop the app, whose reads then go to the primary.
        pool = await asyncpg.create_pool(
            url, min_size=0, max_size=pool_size(settings), timeout=settings.database_connect_timeout_s
        )
        pools.append((pool, url.rsplit("@", 1)[-1]))
    return Replicas(pools, settings.database_replica_max_lag_s)


def create_app(
    settings: Settings | None = None,
    *,
    pool: Any | None = None,
    redis: ArqRedis | None = None,
) -> Litestar:
    """The Litestar application; tests pass their own pool (one shared connection) and Redis."""
    settings = settings or load_settings()
    horizon.configure(settings.max_horizon_days)
    policy = SecurityPolicy(
        session_idle_minutes=settings.session_idle_minutes,
        session_absolute_hours=settings.session_absolute_hours,
        token_days=settings.token_days,
        login_attempts_per_window=settings.login_attempts_per_15min,
        trusted_proxies=settings.trusted_proxies,
        reset_requests_per_address_per_hour=settings.password_resets_per_address_per_hour,
    )
    security.proxy_networks(settings.trusted_proxies)  # a malformed LINLI_TRUSTED_PROXIES stops the start
    # Password reset codes go out from the web app at once (stored nowhere in plain text, so not via the outbox).
    notify_sender = notifications.make_sender(
        settings.notify_sender,
        smtp_url=settings.smtp_url,
        smtp_from=settings.smtp_from,
        sms_gateway_url=settings.sms_gateway_url,
        sms_gateway_token=settings.sms_gateway_token,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owns_pool = app.state.get("pool") is None
        owns_redis = app.state.get("redis") is None
        if owns_pool:
            if not settings.database_url:
                raise RuntimeError("LINLI_DATABASE_URL is not set; start Linli with `linli up` or `make run`")
            app.state.pool = await open_database_pool(settings, app.state.database_outage)
        if owns_redis:
            if not settings.redis_url:
                raise RuntimeError("LINLI_REDIS_URL is not set; start Linli with `linli up` or `make run`")
            app.state.redis = job_queue(settings.redis_url)
        app.state.replicas = await open_replica_pools(settings)
        try:
            yield
        finally:
            if app.state.replicas is not None:
                await app.state.replicas.close()
            if owns_redis:
                await app.state.redis.aclose()
            if owns_pool:
                await app.state.pool.close()

    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        cookie_secure=settings.https,
        cookie_samesite="strict",
        cookie_httponly=False,
    )
    tiles = maps.tile_source(settings.map_tiles, settings.map_tianditu_key)
    # Only with replicas does a writer need to be sent to the primary for a moment after writing.
    window_s = read_your_writes_s(settings.database_replica_max_lag_s)
    writes_remembered = [remember_writes(settings.https, window_s)] if replica_urls(settings) else []
    # Our own static files are answered by web.assets before routing (see below); Swagger UI's come from its package.
    static = [
        create_static_files_router(
            path="/static/swagger", directories=[Path(str(swagger_ui_path))], include_in_schema=False, name="swagger"
        ),
    ]
    app = Litestar(
        route_handlers=[
            *API_HANDLERS,
            *PAGE_HANDLERS,
            *static,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "policy": policy,
                "notify_sender": notify_sender,
                "pool": pool,
                "redis": redis,
                "database_outage": DatabaseOutage(),
                "replicas": None,
                # Parsed once: a malformed LINLI_STAR_LEVEL_HOURS stops the start.
                "star_hours": service_records.parse_star_hours(settings.star_level_hours),
                "tiles": tiles,
            }
        ),
        dependencies={
            "conn": Provide(provide_conn),
            "who": Provide(provide_identity, sync_to_thread=False),
            "user": Provide(provide_user, sync_to_thread=False),
            "policy": Provide(provide_policy, sync_to_thread=False),
        },
        middleware=[
            DefineMiddleware(IdentityMiddleware),
            DefineMiddleware(BearerAwareCSRFMiddleware, config=csrf),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[security_headers(settings.https, tiles.hosts), *writes_remembered],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(_jinja_environment())),
        openapi_config=OpenAPIConfig(
            title="Linli (邻里) API",
            version="0.1.0",
            description="Community services marketplace: areas, catalogue, organisations, accounts.",
            path="/schema",
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url="/static/swagger/swagger-ui-bundle.js",
                    css_url="/static/swagger/swagger-ui.css",
                    standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
                    path="/",
                )
            ],
        ),
        debug=settings.debug,
        request_max_body_size=2 * 1024 * 1024,
    )
    app.asgi_handler = assets.StaticFiles(app.asgi_handler)
    observe.install(app, settings)
    return app
