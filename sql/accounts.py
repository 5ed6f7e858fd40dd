"""Accounts, memberships, sessions, API tokens and login attempts."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class AccountPublic(msgspec.Struct, frozen=True):
    """What the API may show of an account to its owner or an admin: who it is and the tenant it acts for, if any."""

    id: int
    username: str
    display_name: str
    role: str
    locale: str
    organisation_id: int | None
    committee_id: int | None
    funder_id: int | None
    volunteer_id: int | None


class AccountRow(AccountPublic, frozen=True):
    """An account with the tenant it acts for, if any, and whether it is disabled."""

    disabled: bool


class CredentialRow(msgspec.Struct, frozen=True):
    """What login needs to check a password."""

    id: int
    password_hash: str
    disabled: bool


class SessionRow(msgspec.Struct, frozen=True):
    """A live session joined to its account."""

    account: AccountRow
    created_at_epoch: float


class TokenRow(msgspec.Struct, frozen=True):
    """An API token's public facts (never the token itself)."""

    id: int
    name: str
    created_at_epoch: float
    expires_at_epoch: float
    last_used_at_epoch: float | None
    revoked: bool


_ACCOUNT_COLUMNS = """
a.id, a.username, a.display_name, a.role, a.locale,
m.organisation_id, m.committee_id, m.funder_id, v.id AS volunteer_id, a.disabled_at IS NOT NULL AS disabled
"""
_ACCOUNT_FROM = """
FROM accounts a
LEFT JOIN memberships m ON m.account_id = a.id
LEFT JOIN volunteers v ON v.account_id = a.id
"""

SELECT_ACCOUNT = f"SELECT {_ACCOUNT_COLUMNS} {_ACCOUNT_FROM} WHERE a.id = $1"
SELECT_CREDENTIALS = """
SELECT id, password_hash, disabled_at IS NOT NULL AS disabled FROM accounts WHERE lower(username) = lower($1)
"""
USERNAME_TAKEN = "SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(username) = lower($1))"
INSERT_ACCOUNT = """
INSERT INTO accounts (username, display_name, password_hash, role, locale)
VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
INSERT_MEMBERSHIP = """
INSERT INTO memberships (account_id, organisation_id, committee_id, funder_id, role) VALUES ($1, $2, $3, $4, $5)
"""
UPDATE_PASSWORD_HASH = "UPDATE accounts SET password_hash = $2 WHERE id = $1"
UPDATE_LOCALE = "UPDATE accounts SET locale = $2 WHERE id = $1 RETURNING id"
SELECT_ACCOUNTS = f"""
SELECT {_ACCOUNT_COLUMNS} {_ACCOUNT_FROM}
WHERE ($1::text IS NULL OR a.role = $1)
ORDER BY a.id LIMIT $2 OFFSET $3
"""
SET_DISABLED = """
UPDATE accounts SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END
WHERE id = $1 AND erased_at IS NULL RETURNING id
"""

INSERT_SESSION = """
INSERT INTO sessions (id_hash, account_id, expires_at, user_agent, address)
VALUES ($1, $2, now() + make_interval(hours => $3), $4, $5)
"""
# A session is alive while both its absolute expiry and its idle window hold; seeing it extends the idle window.
# The extension is written at most once a minute, so a page view is a read, not a write (the idle window is then
# up to a minute shorter than its setting).
TOUCH_SESSION = f"""
WITH s AS (
    SELECT id_hash, account_id, created_at, last_seen_at FROM sessions
    WHERE id_hash = $1 AND expires_at > now() AND last_seen_at > now() - make_interval(mins => $2)
), touched AS (
    UPDATE sessions SET last_seen_at = now() FROM s
    WHERE sessions.id_hash = s.id_hash AND s.last_seen_at <= now() - interval '1 minute'
)
SELECT {_ACCOUNT_COLUMNS}, extract(epoch FROM s.created_at)::float8 AS created_at_epoch
{_ACCOUNT_FROM} JOIN s ON s.account_id = a.id
WHERE a.disabled_at IS NULL
"""
DELETE_SESSION = "DELETE FROM sessions WHERE id_hash = $1"
DELETE_ACCOUNT_SESSIONS = "DELETE FROM sessions WHERE account_id = $1"
PURGE_SESSIONS = """
DELETE FROM sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(mins => $1)
"""

INSERT_TOKEN = """
INSERT INTO api_tokens (token_hash, account_id, name, expires_at)
VALUES ($1, $2, $3, now() + make_interval(days => $4)) RETURNING id
"""
# "Last used" is for people reviewing their tokens; written at most once a minute, so a call is a read.
TOUCH_TOKEN = f"""
WITH t AS (
    SELECT id, account_id, created_at, last_used_at FROM api_tokens
    WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
), touched AS (
    UPDATE api_tokens SET last_used_at = now() FROM t
    WHERE api_tokens.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at <= now() - interval '1 minute')
)
SELECT {_ACCOUNT_COLUMNS}, extract(epoch FROM t.created_at)::float8 AS created_at_epoch
{_ACCOUNT_FROM} JOIN t ON t.account_id = a.id
WHERE a.disabled_at IS NULL
"""
SELECT_TOKENS = """
SELECT id, name, extract(epoch FROM created_at)::float8 AS created_at_epoch,
       extract(epoch FROM expires_at)::float8 AS expires_at_epoch,
       extract(epoch FROM last_used_at)::float8 AS last_used_at_epoch, revoked_at IS NOT NULL AS revoked
FROM api_tokens WHERE account_id = $1 ORDER BY id DESC
"""
REVOKE_ACCOUNT_TOKENS = "UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL"
REVOKE_TOKEN = """
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL RETURNING id
"""
PURGE_TOKENS = """
DELETE FROM api_tokens WHERE expires_at <= now() - interval '30 days' OR revoked_at <= now() - interval '30 days'
"""

# Login throttling (docs/security.md). Locking the username's row (creating it on its first attempt) serialises
# every attempt at that account: the next one reads the count the previous one left.
LOCK_THROTTLE = """
INSERT INTO login_throttle AS t (username) VALUES (lower($1))
ON CONFLICT (username) DO UPDATE SET
    failures = CASE WHEN t.updated_at < now() - make_interval(hours => $2) THEN 0 ELSE t.failures END
RETURNING t.failures, coalesce(greatest(extract(epoch FROM t.wait_until - now()), 0), 0)::float8 AS wait_s,
          t.last_success_attempt_id
"""
# From this address in the window: failures (and attempts still being checked) at any account, and whether this
# account is among them since its last success, with the seconds until that account's last one leaves the window.
ADDRESS_FAILURES = """
SELECT count(*)::int AS by_address,
       coalesce(bool_or(lower(username) = lower($1) AND id > $4), false) AS this_account,
       coalesce(greatest(extract(epoch FROM max(at) FILTER (WHERE lower(username) = lower($1) AND id > $4)
                                 + make_interval(mins => $3) - now()), 0), 0)::float8 AS wait_s
FROM login_attempts
WHERE address = $2 AND succeeded IS NOT TRUE AND at > now() - make_interval(mins => $3)
"""
# The attempt is counted before its password is checked: the failure streak grows by one and, once it reaches the
# limit, the next attempt waits `$3` seconds; a success resets both. (No wait leaves wait_until alone: `now()` is
# when a transaction began, and one that queued for the lock began before the one it waited for.)
ADMIT_ATTEMPT = """
WITH counted AS (
    UPDATE login_throttle
    SET failures = failures + 1, updated_at = now(),
        wait_until = CASE WHEN $3 > 0 THEN now() + make_interval(secs => $3) ELSE wait_until END
    WHERE username = lower($1)
)
INSERT INTO login_attempts (username, address, succeeded) VALUES (lower($1), $2, NULL) RETURNING id
"""
SET_ATTEMPT_OUTCOME = "UPDATE login_attempts SET succeeded = $2 WHERE id = $1 AND succeeded IS NULL"
CLEAR_THROTTLE = """
UPDATE login_throttle
SET failures = 0, wait_until = NULL, updated_at = now(),
    last_success_attempt_id = greatest(last_success_attempt_id, $2)
WHERE username = lower($1)
"""
PURGE_THROTTLE = """
DELETE FROM login_throttle
WHERE updated_at <= now() - make_interval(hours => $1) AND (wait_until IS NULL OR wait_until <= now())
"""
PURGE_LOGIN_ATTEMPTS = "DELETE FROM login_attempts WHERE at <= now() - interval '1 day'"


async def get_account(conn: asyncpg.Connection, account_id: int) -> AccountRow | None:
    """One account with its tenant."""
    return await fetch_one(conn, SELECT_ACCOUNT, AccountRow, account_id)


async def get_credentials(conn: asyncpg.Connection, username: str) -> CredentialRow | None:
    """The stored hash for a username, case-insensitively."""
    return await fetch_one(conn, SELECT_CREDENTIALS, CredentialRow, username)


async def username_taken(conn: asyncpg.Connection, username: str) -> bool:
    """Whether a username is in use, case-insensitively."""
    return bool(await conn.fetchval(USERNAME_TAKEN, username))


async def insert_account(
    conn: asyncpg.Connection, *, username: str, display_name: str, password_hash: str, role: str, locale: str
) -> int:
    """Create an account; returns its id."""
    return int(await conn.fetchval(INSERT_ACCOUNT, username, display_name, password_hash, role, locale))


async def insert_membership(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    organisation_id: int | None = None,
    committee_id: int | None = None,
    funder_id: int | None = None,
    role: str = "manager",
) -> None:
    """Attach an account to the one tenant it acts for."""
    await conn.execute(INSERT_MEMBERSHIP, account_id, organisation_id, committee_id, funder_id, role)


async def update_password_hash(conn: asyncpg.Connection, account_id: int, password_hash: str) -> None:
    """Store a re-made hash after a login with outdated parameters."""
    await conn.execute(UPDATE_PASSWORD_HASH, account_id, password_hash)


async def update_locale(conn: asyncpg.Connection, account_id: int, locale: str) -> bool:
    """Remember the account's language."""
    return await conn.fetchval(UPDATE_LOCALE, account_id, locale) is not None


async def list_accounts(conn: asyncpg.Connection, role: str | None, limit: int, offset: int) -> list[AccountRow]:
    """Accounts, optionally of one role, a page at a time."""
    return await fetch_all(conn, SELECT_ACCOUNTS, AccountRow, role, limit, offset)


async def set_disabled(conn: asyncpg.Connection, account_id: int, disabled: bool) -> bool:
    """Disable or re-enable an account; False when it does not exist."""
    return await conn.fetchval(SET_DISABLED, account_id, disabled) is not None


async def insert_session(
    conn: asyncpg.Connection, id_hash: bytes, account_id: int, absolute_hours: int, user_agent: str, address: str
) -> None:
    """Start a session stored by the hash of its id."""
    await conn.execute(INSERT_SESSION, id_hash, account_id, absolute_hours, user_agent[:300], address)


def _with_account(record: asyncpg.Record) -> SessionRow:
    data = dict(record)
    created = float(data.pop("created_at_epoch"))
    return SessionRow(account=msgspec.convert(data, AccountRow), created_at_epoch=created)


async def touch_session(conn: asyncpg.Connection, id_hash: bytes, idle_minutes: int) -> SessionRow | None:
    """The live session with this id hash, its idle window extended; None if expired or unknown."""
    record = await conn.fetchrow(TOUCH_SESSION, id_hash, idle_minutes)
    return None if record is None else _with_account(record)


async def delete_session(conn: asyncpg.Connection, id_hash: bytes) -> None:
    """End one session."""
    await conn.execute(DELETE_SESSION, id_hash)


async def delete_account_sessions(conn: asyncpg.Connection, account_id: int) -> int:
    """End every session of an account; returns how many."""
    status = await conn.execute(DELETE_ACCOUNT_SESSIONS, account_id)
    return int(status.split()[-1])


async def revoke_account_tokens(conn: asyncpg.Connection, account_id: int) -> int:
    """Revoke every live API token of an account; returns how many."""
    status = await conn.execute(REVOKE_ACCOUNT_TOKENS, account_id)
    return int(status.split()[-1])


async def purge_sessions(conn: asyncpg.Connection, idle_minutes: int) -> int:
    """Delete expired and idle sessions; returns how many."""
    status = await conn.execute(PURGE_SESSIONS, idle_minutes)
    return int(status.split()[-1])


async def insert_token(conn: asyncpg.Connection, token_hash: bytes, account_id: int, name: str, days: int) -> int:
    """Store a new API token's hash; returns its id."""
    return int(await conn.fetchval(INSERT_TOKEN, token_hash, account_id, name, days))


async def touch_token(conn: asyncpg.Connection, token_hash: bytes) -> SessionRow | None:
    """The account behind a live token; None if revoked, expired or unknown."""
    record = await conn.fetchrow(TOUCH_TOKEN, token_hash)
    return None if record is None else _with_account(record)


async def list_tokens(conn: asyncpg.Connection, account_id: int) -> list[TokenRow]:
    """The account's tokens, newest first."""
    return await fetch_all(conn, SELECT_TOKENS, TokenRow, account_id)


async def revoke_token(conn: asyncpg.Connection, token_id: int, account_id: int) -> bool:
    """Revoke one of the account's own tokens; False if not theirs or already revoked."""
    return await conn.fetchval(REVOKE_TOKEN, token_id, account_id) is not None


async def purge_tokens(conn: asyncpg.Connection) -> int:
    """Delete tokens long expired or revoked; returns how many."""
    status = await conn.execute(PURGE_TOKENS)
    return int(status.split()[-1])


class ThrottleRow(msgspec.Struct, frozen=True):
    """A username's failure streak, the seconds it must still wait, and its last successful attempt."""

    failures: int
    wait_s: float
    last_success_attempt_id: int


class AddressFailuresRow(msgspec.Struct, frozen=True):
    """Failures from one address in the window, and whether (and how long) they include this account's."""

    by_address: int
    this_account: bool
    wait_s: float


async def lock_throttle(conn: asyncpg.Connection, username: str, forget_hours: int) -> ThrottleRow:
    """Lock the username's throttle row until the transaction ends (a streak quiet for `forget_hours` restarts)."""
    record = await conn.fetchrow(LOCK_THROTTLE, username, forget_hours)
    return msgspec.convert(record, ThrottleRow)


async def address_failures(
    conn: asyncpg.Connection, username: str, address: str, minutes: int, after_attempt_id: int
) -> AddressFailuresRow:
    """Failed and unfinished attempts from the address in the window; this account's among them after an attempt id."""
    record = await conn.fetchrow(ADDRESS_FAILURES, username, address, minutes, after_attempt_id)
    return msgspec.convert(record, AddressFailuresRow)


async def admit_attempt(conn: asyncpg.Connection, username: str, address: str, wait_s: float) -> int:
    """Count an attempt into the username's streak and record it as unfinished; returns the attempt's id."""
    return int(await conn.fetchval(ADMIT_ATTEMPT, username, address, wait_s))


async def set_attempt_outcome(conn: asyncpg.Connection, attempt_id: int, succeeded: bool) -> None:
    """Record whether an admitted attempt's password was right."""
    await conn.execute(SET_ATTEMPT_OUTCOME, attempt_id, succeeded)


async def clear_throttle(conn: asyncpg.Connection, username: str, attempt_id: int) -> None:
    """A successful login ends the username's failure streak and its wait."""
    await conn.execute(CLEAR_THROTTLE, username, attempt_id)


async def purge_throttle(conn: asyncpg.Connection, forget_hours: int) -> int:
    """Forget failure streaks quiet for `forget_hours` whose wait is over; returns how many."""
    status = await conn.execute(PURGE_THROTTLE, forget_hours)
    return int(status.split()[-1])


async def purge_login_attempts(conn: asyncpg.Connection) -> int:
    """Forget login attempts older than a day; returns how many."""
    status = await conn.execute(PURGE_LOGIN_ATTEMPTS)
    return int(status.split()[-1])
