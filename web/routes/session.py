"""Pages for the session: front page, login, logout, language switch, each role's home page."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlsplit

from babel.dates import format_timedelta
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from api.auth import LOCALE_COOKIE, SESSION_COOKIE, Conn, Policy, User, Who, client_address, login_required
from api.i18n import LOCALES, babel_locale
from api.i18n import gettext as _
from api.services import accounts, home
from api.services.accounts import Credentials
from api.services.errors import NotAuthenticated, TooManyAttempts
from web.forms import parse_form
from web.routes._common import PageRedirect

FormData = URLEncodedBody[dict[str, Any]]


def safe_next(target: str | None) -> str:
    """Only local paths: a login link must not be able to send people to another site."""
    if not target:
        return "/home"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/home"
    return target


def session_cookie(request: Request[Any, Any, Any], value: str, max_age: int | None) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.https,
        path="/",
        max_age=max_age,
    )


def session_start(request: Request[Any, Any, Any]) -> accounts.SessionStart:
    """Where a session started by this request comes from, and the session cookie it replaces."""
    return accounts.SessionStart(
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        previous_session_id=request.cookies.get(SESSION_COOKIE),
        policy=request.app.state.policy,
    )


def logged_in_redirect(request: Request[Any, Any, Any], result: accounts.LoginResult, target: Redirect) -> Redirect:
    """The redirect after someone proved who they are (login, registration, a password reset, an accepted
    invitation), carrying the new session's cookie and the account's language."""
    policy: accounts.SecurityPolicy = request.app.state.policy
    target.set_cookie(session_cookie(request, result.session_id, policy.session_absolute_hours * 3600))
    target.set_cookie(LOCALE_COOKIE, result.identity.locale, path="/", samesite="lax", max_age=365 * 86400)
    return target


def wait_phrase(refusal: TooManyAttempts) -> str:
    """How long to wait before the next try, in the reader's language ("4秒钟", "16分钟")."""
    seconds = refusal.retry_after_s
    # Whole minutes rounded up beyond a minute and a half: a wait rounded down would send people back too early.
    shown = seconds if seconds < 90 else math.ceil(seconds / 60) * 60
    return format_timedelta(shown, threshold=1.5, locale=babel_locale())


def wait_message(refusal: TooManyAttempts) -> str:
    """The login's refusal with the wait, in the reader's language ("登录失败次数过多，请 4秒钟 后再试")."""
    return _("Too many failed logins; try again in %(wait)s") % {"wait": wait_phrase(refusal)}


class SessionPages(Controller):
    """Front page, login, logout, language and home."""

    include_in_schema = False

    @get("/", name="index")
    async def index(self, conn: Conn, who: Who) -> Template:
        """The public front page: what Linli is and the district's figures."""
        return Template(template_name="index.html", context={"who": who, "figures": await home.platform(conn)})

    @get("/login", name="login")
    async def login_form(
        self,
        who: Who,
        next_: Annotated[str | None, QueryParameter(name="next", max_length=500)] = None,
    ) -> Template:
        """The login form."""
        return Template(
            template_name="account/login.html",
            context={"who": who, "errors": {}, "values": {}, "next": safe_next(next_)},
        )

    @post("/login", name="login_submit")
    async def login(self, request: Request[Any, Any, Any], conn: Conn, policy: Policy, data: FormData) -> Response[Any]:
        """Check the password, rotate the session id, and go home."""
        target = safe_next(data.get("next"))
        creds, errors = parse_form(Credentials, data)
        values = {"username": data.get("username", "")}
        if creds is None:
            return Template(
                template_name="account/login.html",
                context={"who": None, "errors": errors, "values": values, "next": target},
                status_code=422,
            )
        try:
            result = await accounts.login(
                conn,
                creds,
                address=client_address(request),
                user_agent=request.headers.get("user-agent", ""),
                previous_session_id=request.cookies.get(SESSION_COOKIE),
                policy=policy,
            )
        except NotAuthenticated as exc:
            return Template(
                template_name="account/login.html",
                context={"who": None, "errors": {"password": exc.detail}, "values": values, "next": target},
                status_code=exc.status,
            )
        except TooManyAttempts as exc:
            return Template(
                template_name="account/login.html",
                context={"who": None, "errors": {"password": wait_message(exc)}, "values": values, "next": target},
                status_code=exc.status,
                headers={"retry-after": str(exc.retry_after_s)},
            )
        return logged_in_redirect(request, result, Redirect(path=target))

    @post("/logout", name="logout")
    async def logout(self, request: Request[Any, Any, Any], conn: Conn) -> Redirect:
        """End the session."""
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            await accounts.logout(conn, session_id)
        response = PageRedirect("index")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @post("/lang", name="set_language")
    async def set_language(self, request: Request[Any, Any, Any], conn: Conn, who: Who, data: FormData) -> Redirect:
        """Switch between Chinese and English; remembered in a cookie and on the account."""
        locale = data.get("locale") if data.get("locale") in LOCALES else "zh_CN"
        if who is not None:
            await accounts.set_locale(conn, who, str(locale))
        response = Redirect(path=safe_next(data.get("next") or "/"))
        response.set_cookie(LOCALE_COOKIE, str(locale), path="/", samesite="lax", max_age=365 * 86400)
        return response

    @get("/home", name="home", guards=[login_required])
    async def home(self, conn: Conn, user: User, state: State) -> Template:
        """The logged-in account's home page, by role: its to-do list first."""
        content = await home.home_for(conn, user, checkin_window_minutes=int(state.settings.checkin_window_minutes))
        return Template(template_name=f"home/{user.role}.html", context={"who": user, "home": content})
