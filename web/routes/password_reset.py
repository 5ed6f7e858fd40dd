"""Pages of the password reset: ask for a code (by username, email or phone), then give it with a new password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Template

from api.auth import Conn, Who, client_address
from api.i18n import gettext as _
from api.services import notifications, password_reset
from api.services.errors import TooManyAttempts
from api.services.password_reset import ResetConfirm, ResetRequest
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi
from web.routes.session import logged_in_redirect, session_start, wait_phrase


def _page(
    request: Request[Any, Any, Any],
    name: str,
    who: Who,
    errors: dict[str, str],
    values: dict[str, Any],
    status: int,
    **extra: Any,
) -> Template:
    # With the `log` sender no code leaves the platform: the page says so rather than promise one.
    delivers = request.app.state.notify_sender.name != "log"
    return Template(
        template_name=f"account/{name}.html",
        context={"who": who, "errors": errors, "values": values, "delivers": delivers, **extra},
        status_code=status,
    )


class PasswordResetPages(Controller):
    """忘记密码: a code through the notification senders, then a new password and a new session."""

    include_in_schema = False

    @get("/password/forgot", name="password_forgot")
    async def forgot(self, request: Request[Any, Any, Any], who: Who) -> Template:
        """Ask for a code: the username, email or phone number of the account."""
        return _page(request, "forgot", who, {}, {}, 200)

    @post("/password/forgot", name="password_forgot_submit")
    async def forgot_submit(self, request: Request[Any, Any, Any], conn: Conn, who: Who, data: FormData) -> Template:
        """Send a code if an account answers, and say the same either way; the code form follows."""
        values = {"identifier": str(data.get("identifier", "")).strip()}
        form, errors = parse_form(ResetRequest, multi(data))
        if form is None:
            return _page(request, "forgot", who, errors, values, 422)
        try:
            message = await password_reset.request_code(
                conn, form, address=client_address(request), policy=request.app.state.policy
            )
        except TooManyAttempts as exc:
            wait = _("Too many requests for a code from here; try again in %(wait)s") % {"wait": wait_phrase(exc)}
            page = _page(request, "forgot", who, {"identifier": wait}, values, exc.status)
            page.headers["retry-after"] = str(exc.retry_after_s)
            return page
        # Sent after the answer, so the answer takes as long whether or not a code goes out.
        background = (
            None
            if message is None
            else BackgroundTask(notifications.send_now, request.app.state.notify_sender, message)
        )
        page = _page(request, "reset", who, {}, values, 200, sent=True)
        page.background = background
        return page

    @get("/password/reset", name="password_reset")
    async def reset(self, request: Request[Any, Any, Any], who: Who) -> Template:
        """Give the code and a new password (for someone who already has a code)."""
        return _page(request, "reset", who, {}, {}, 200, sent=False)

    @post("/password/reset", name="password_reset_submit")
    async def reset_submit(
        self, request: Request[Any, Any, Any], conn: Conn, who: Who, data: FormData
    ) -> Response[Any]:
        """Check the code, set the new password, end every other session and token, and log in."""
        form = multi(data)
        values = {"identifier": form.get("identifier", "").strip(), "code": form.get("code", "").strip()}

        async def save(command: ResetConfirm) -> Any:
            return await password_reset.reset_password(conn, command, session_start(request))

        async def again(errors: dict[str, str], status: int) -> Response[Any]:
            return _page(request, "reset", who, errors, values, status, sent=False)

        return await submit(
            parse_form(ResetConfirm, form),
            save,
            lambda result: logged_in_redirect(request, result, PageRedirect("home")),
            again,
        )
