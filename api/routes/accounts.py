"""Accounts, login tokens, volunteer registration and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, Policy, User, client_address, login_required, roles
from api.schemas.common import (
    AccountOut,
    AuditEntryOut,
    AuditVerifyOut,
    Created,
    IssuedTokenOut,
    TokenOut,
    out,
    outs,
)
from api.services import accounts, audit_log, notifications, password_reset
from api.services.accounts import Credentials, StaffAccount, VolunteerRegistration
from api.services.password_reset import ResetConfirm, ResetRequest


class AuthController(Controller):
    """Bearer tokens for API clients."""

    path = "/api/auth"
    tags = ("auth",)

    @post("/token", operation_id="issueToken", status_code=201)
    async def issue_token(
        self, conn: Conn, request: Request[Any, Any, Any], policy: Policy, data: JSONBody[Credentials]
    ) -> IssuedTokenOut:
        """Exchange a username and password for a bearer token (rate-limited per account and address)."""
        issued = await accounts.issue_token(conn, data, address=client_address(request), policy=policy)
        return out(issued, IssuedTokenOut, token_type="bearer")

    @post("/password-reset", operation_id="requestPasswordReset", status_code=202)
    async def request_password_reset(
        self, conn: Conn, request: Request[Any, Any, Any], policy: Policy, data: JSONBody[ResetRequest]
    ) -> Response[None]:
        """Send a six-digit code to the account a username, email or phone number names; the answer is the same
        whether or not one exists (rate-limited per address: 429 with Retry-After)."""
        message = await password_reset.request_code(conn, data, address=client_address(request), policy=policy)
        background = (
            None
            if message is None
            else BackgroundTask(notifications.send_now, request.app.state.notify_sender, message)
        )
        return Response(None, status_code=202, background=background)

    @post("/password-reset/confirm", operation_id="confirmPasswordReset", status_code=204)
    async def confirm_password_reset(
        self, conn: Conn, request: Request[Any, Any, Any], policy: Policy, data: JSONBody[ResetConfirm]
    ) -> None:
        """Set a new password with the code (5 guesses per code); every session and token of the account ends."""
        start = accounts.SessionStart(
            address=client_address(request), user_agent="", previous_session_id=None, policy=policy
        )
        await password_reset.reset_password(conn, data, start, log_in=False)

    @get("/tokens", operation_id="listTokens", guards=[login_required])
    async def tokens(self, conn: Conn, user: User) -> list[TokenOut]:
        """The caller's tokens (never their secret values)."""
        return outs(await accounts.list_tokens(conn, user), TokenOut)

    @delete("/tokens/{token_id:int}", operation_id="revokeToken", guards=[login_required])
    async def revoke(self, conn: Conn, user: User, token_id: FromPath[int]) -> None:
        """Revoke one of the caller's tokens."""
        await accounts.revoke_token(conn, user, token_id)


class AccountController(Controller):
    """Accounts: the caller's own, the admin's list, staff accounts, volunteer registration."""

    path = "/api"
    tags = ("accounts",)

    @get("/accounts/me", operation_id="getMe", guards=[login_required])
    async def me(self, user: User) -> AccountOut:
        """The caller's account."""
        return out(user, AccountOut, id=user.account_id)

    @get("/accounts", operation_id="listAccounts", guards=[roles("admin")])
    async def list_accounts(
        self,
        conn: Conn,
        role: Annotated[
            str | None, QueryParameter(pattern=r"^(admin|funder|committee|organisation|volunteer|reviewer)$")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> list[AccountOut]:
        """Accounts, a page at a time (admins)."""
        return outs(await accounts.list_accounts(conn, role, limit, offset), AccountOut)

    @post("/accounts", operation_id="createStaffAccount", guards=[roles("admin")], status_code=201)
    async def create(self, conn: Conn, user: User, data: JSONBody[StaffAccount]) -> Created:
        """An admin creates a committee, funder, reviewer or admin account."""
        return Created(id=await accounts.create_staff_account(conn, user, data))

    @post("/accounts/{account_id:int}/disable", operation_id="disableAccount", guards=[roles("admin")], status_code=204)
    async def disable(self, conn: Conn, user: User, account_id: FromPath[int]) -> None:
        """An admin disables an account and ends its sessions."""
        await accounts.set_account_disabled(conn, user, account_id, True)

    @post("/accounts/{account_id:int}/enable", operation_id="enableAccount", guards=[roles("admin")], status_code=204)
    async def enable(self, conn: Conn, user: User, account_id: FromPath[int]) -> None:
        """An admin re-enables an account."""
        await accounts.set_account_disabled(conn, user, account_id, False)

    @post("/volunteers", operation_id="registerVolunteer", status_code=201)
    async def register_volunteer(self, conn: Conn, data: JSONBody[VolunteerRegistration]) -> Created:
        """A resident registers as a volunteer."""
        return Created(id=await accounts.register_volunteer(conn, data))

    @get("/audit", operation_id="listAudit", guards=[roles("admin")])
    async def audit(
        self,
        conn: Conn,
        user: User,
        action: Annotated[str | None, QueryParameter(pattern=r"^[a-z_.]{1,60}$")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> list[AuditEntryOut]:
        """The newest audit log entries (admins)."""
        return outs(await audit_log.entries(conn, user, action, limit, offset), AuditEntryOut)

    @get("/audit/verify", operation_id="verifyAudit", guards=[roles("admin")])
    async def verify_audit(self, conn: Conn) -> AuditVerifyOut:
        """Check the audit log's hash chain (admins)."""
        breaks = await audit_log.verify(conn)
        waiting = await audit_log.unsealed(conn)
        return AuditVerifyOut(
            intact=not breaks,
            broken_ids=[b.id for b in breaks],
            unsealed=waiting.rows,
            oldest_unsealed_age_s=round(waiting.oldest_age_s, 3),
        )
