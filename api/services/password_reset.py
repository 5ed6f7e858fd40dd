"""Password reset by a code sent through the notification senders (docs/security.md "Password reset").

The person names their account by username, email or phone number; the answer is the same whether or not one
exists. A six-digit code, stored as its Argon2id hash, lives 15 minutes; each guess is counted in the code's row
before it is compared (one statement, so parallel guesses queue on the row), and after 5 the code is dead. A
successful reset sets the new password, ends every session and API token of the account, is audited, and logs the
person in with a new session.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api import security
from api.services.accounts import LoginResult, SecurityPolicy, SessionStart, start_session
from api.services.errors import Invalid, TooManyAttempts
from api.services.notifications import Message
from api.services.types import NO_NUL, Password
from sql import accounts as accounts_sql
from sql import audit
from sql import password_resets as resets_sql
from sql.password_resets import ResetTargetRow

CODE_MINUTES = 15
# Mirrored by the CHECK on password_resets.attempts (migration 0023).
CODE_GUESSES = 5
# Codes one account may be sent in an hour: more would let anyone flood a person's phone with texts.
CODES_PER_HOUR = 3
# Requests one address may make in this window (SecurityPolicy.reset_requests_per_address_per_hour).
ADDRESS_WINDOW_MINUTES = 60
TOO_MANY_REQUESTS = "Too many requests for a code from this address; wait a moment and try again"
WRONG_CODE = "The code is wrong or has expired; ask for a new one if it keeps failing"


class ResetRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who forgot their password: a username, an email address or a phone number."""

    identifier: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]


class ResetConfirm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The code that was sent, and the new password (the same rules as at registration)."""

    identifier: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    code: Annotated[str, Meta(pattern=r"^[0-9]{6}$")]
    password: Password


def _one(found: list[ResetTargetRow]) -> ResetTargetRow | None:
    """The account the identifier names: its username's, or the one account an email or phone number belongs to."""
    if found and (found[0].by_username or len(found) == 1):
        return found[0]
    return None


def _message(target: ResetTargetRow, reset_id: int, code: str) -> Message:
    zh = target.locale != "en"
    minutes = CODE_MINUTES
    body = (
        f"您的邻里重置密码验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本消息，您的密码不会改变。"
        if zh
        else f"Your Linli password reset code is {code}. It is valid for {minutes} minutes. "
        "If you did not ask for it, ignore this message: your password stays as it is."
    )
    return Message(
        notification_id=reset_id,
        kind="password_reset",
        subject="邻里重置密码验证码" if zh else "Linli password reset code",
        body=body,
        email=target.email,
        phone=target.phone,
    )


async def admit_request(conn: asyncpg.Connection, address: str, policy: SecurityPolicy) -> None:
    """Count a reset request from the address, or refuse it (TooManyAttempts) when the address asked for its hour's
    worth already. Counted before anyone looks for the account, so the refusal says nothing about one."""
    async with conn.transaction():
        here = await resets_sql.lock_and_count_address(conn, address, ADDRESS_WINDOW_MINUTES)
        if here.requests >= policy.reset_requests_per_address_per_hour:
            raise TooManyAttempts(TOO_MANY_REQUESTS, retry_after_s=max(1, math.ceil(here.wait_s)))
        await resets_sql.record_request(conn, address)


async def request_code(
    conn: asyncpg.Connection, form: ResetRequest, *, address: str, policy: SecurityPolicy
) -> Message | None:
    """Store a new code for the account the identifier names and return the message that carries it; None (and
    nothing stored) when no enabled account answers or it was sent enough codes this hour. The caller is told the
    same either way; an address over its hourly limit is refused (429) before the identifier is looked at."""
    await admit_request(conn, address, policy)
    code = f"{secrets.randbelow(10**6):06d}"
    # Hashed before anyone looks for the account, so the answer takes as long whether or not one exists.
    code_hash = security.hash_password(code)
    target = _one(await resets_sql.targets(conn, form.identifier.strip()))
    if target is None:
        return None
    async with conn.transaction():
        if await resets_sql.lock_and_count_recent(conn, target.id, 60) >= CODES_PER_HOUR:
            return None
        reset_id = await resets_sql.replace_code(conn, target.id, code_hash, CODE_MINUTES, address)
        await audit.append(
            conn,
            actor_account_id=None,
            action="account.reset_code",
            object_type="account",
            object_id=target.id,
            detail={"address": address, "email": target.email is not None, "phone": target.phone is not None},
        )
    return _message(target, reset_id, code)


def _wrong_code() -> Invalid:
    return Invalid(WRONG_CODE, fields={"code": WRONG_CODE})


async def reset_password(
    conn: asyncpg.Connection, form: ResetConfirm, start: SessionStart, *, log_in: bool = True
) -> LoginResult | None:
    """Check the code (the guess counted first), set the new password, end every session and API token of the
    account, and (for the pages) log the person in with a new session."""
    target = _one(await resets_sql.targets(conn, form.identifier.strip()))
    # Counted outside any transaction: a wrong guess that is refused stays counted.
    live = None if target is None else await resets_sql.admit_guess(conn, target.id, CODE_GUESSES)
    # Compared (against a stand-in hash when there is no live code) so every refusal takes the same time.
    right = security.verify_password(live.code_hash if live else None, form.code)
    if target is None or live is None or not right:
        raise _wrong_code()
    password_hash = security.hash_password(form.password)
    async with conn.transaction():
        if not await resets_sql.use_code(conn, live.id):
            raise _wrong_code()  # used or replaced by a request that came first
        await accounts_sql.update_password_hash(conn, target.id, password_hash)
        sessions_ended = await accounts_sql.delete_account_sessions(conn, target.id)
        tokens_revoked = await accounts_sql.revoke_account_tokens(conn, target.id)
        await audit.append(
            conn,
            actor_account_id=target.id,
            action="account.password_reset",
            object_type="account",
            object_id=target.id,
            detail={"address": start.address, "sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked},
        )
        return await start_session(conn, target.id, start) if log_in else None
