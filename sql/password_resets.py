"""Password reset codes: one live code per account, its guesses counted in its row (docs/security.md)."""

from __future__ import annotations

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class ResetTargetRow(msgspec.Struct, frozen=True):
    """An account a reset may be for, with where the senders reach it (as the notification outbox reads it)."""

    id: int
    username: str
    locale: str
    by_username: bool
    email: str | None
    phone: str | None


class LiveCodeRow(msgspec.Struct, frozen=True):
    """A live code admitted for one more guess: its id and hash."""

    id: int
    code_hash: str


def digits(text: str) -> str:
    """Only the digits of a phone number as typed (spaces, dashes and a leading + dropped)."""
    return "".join(ch for ch in text if ch.isdigit())


# The account a username, an email or a phone number names: a username first; an email or a phone number only when
# it is one enabled account's. Phones are compared on their digits; the organisation's shared contact phone reaches
# an account but does not name one. Each way of naming is a branch of its own, so each uses its index (0023).
SELECT_TARGETS = """
WITH named AS (
    SELECT id FROM accounts WHERE lower(username) = lower($1)
    UNION SELECT account_id FROM notification_contacts WHERE position('@' IN $1) > 0 AND lower(email) = lower($1)
    UNION SELECT account_id FROM notification_contacts
          WHERE length($2) >= 5 AND regexp_replace(phone, '[^0-9]', '', 'g') = $2
    UNION SELECT account_id FROM volunteers
          WHERE account_id IS NOT NULL AND length($2) >= 5 AND regexp_replace(phone, '[^0-9]', '', 'g') = $2
)
SELECT a.id, a.username, a.locale, lower(a.username) = lower($1) AS by_username, c.email,
       coalesce(c.phone, nullif(v.phone, ''), nullif(o.contact_phone, '')) AS phone
FROM named
JOIN accounts a ON a.id = named.id
LEFT JOIN notification_contacts c ON c.account_id = a.id
LEFT JOIN volunteers v ON v.account_id = a.id
LEFT JOIN memberships m ON m.account_id = a.id
LEFT JOIN organisations o ON o.id = m.organisation_id
WHERE a.disabled_at IS NULL
ORDER BY lower(a.username) = lower($1) DESC, a.id
LIMIT 2
"""
# The account's row is locked first, so two requests for one account are counted one after the other (the count is
# a statement of its own: it then reads what the request before it committed).
LOCK_ACCOUNT = "SELECT id FROM accounts WHERE id = $1 FOR UPDATE"
COUNT_RECENT_CODES = """
SELECT count(*)::int FROM password_resets WHERE account_id = $1 AND created_at > now() - make_interval(mins => $2)
"""
END_LIVE_CODES = "UPDATE password_resets SET ended_at = now() WHERE account_id = $1 AND ended_at IS NULL"
INSERT_CODE = """
INSERT INTO password_resets (account_id, code_hash, expires_at, address)
VALUES ($1, $2, now() + make_interval(mins => $3), $4) RETURNING id
"""
# A guess is counted in the code's row before it is compared; a single statement takes the row lock, so parallel
# guesses are counted one after another and no more than `$2` of them are ever admitted.
ADMIT_GUESS = """
UPDATE password_resets SET attempts = attempts + 1
WHERE account_id = $1 AND ended_at IS NULL AND expires_at > now() AND attempts < $2
RETURNING id, code_hash
"""
USE_CODE = "UPDATE password_resets SET ended_at = now() WHERE id = $1 AND ended_at IS NULL RETURNING account_id"
PURGE_CODES = "DELETE FROM password_resets WHERE created_at <= now() - interval '1 day'"
# Requests from one address are admitted one at a time (the lock lasts until the transaction ends), so parallel
# requests each read the count the one before left.
LOCK_ADDRESS = "SELECT pg_advisory_xact_lock(hashtextextended('password_reset_requests:' || $1, 0))"
# The address's requests in the window, and the seconds until the oldest of them leaves it.
COUNT_ADDRESS_REQUESTS = """
SELECT count(*)::int AS requests,
       coalesce(greatest(extract(epoch FROM min(at) + make_interval(mins => $2) - now()), 0), 0)::float8 AS wait_s
FROM password_reset_requests WHERE address = $1 AND at > now() - make_interval(mins => $2)
"""
INSERT_REQUEST = "INSERT INTO password_reset_requests (address) VALUES ($1)"
PURGE_REQUESTS = "DELETE FROM password_reset_requests WHERE at <= now() - interval '1 day'"


class AddressRequestsRow(msgspec.Struct, frozen=True):
    """Reset requests from one address in the window, and the seconds until the oldest leaves it."""

    requests: int
    wait_s: float


async def targets(conn: asyncpg.Connection, identifier: str) -> list[ResetTargetRow]:
    """At most two enabled accounts the identifier names, the one named by username first."""
    return await fetch_all(conn, SELECT_TARGETS, ResetTargetRow, identifier, digits(identifier))


async def lock_and_count_recent(conn: asyncpg.Connection, account_id: int, minutes: int) -> int:
    """Lock the account and count the codes it was sent in the last `minutes`."""
    await conn.execute(LOCK_ACCOUNT, account_id)
    return int(await conn.fetchval(COUNT_RECENT_CODES, account_id, minutes) or 0)


async def replace_code(conn: asyncpg.Connection, account_id: int, code_hash: str, minutes: int, address: str) -> int:
    """End the account's live code, if any, and store a new one; returns its id."""
    await conn.execute(END_LIVE_CODES, account_id)
    return int(await conn.fetchval(INSERT_CODE, account_id, code_hash, minutes, address))


async def admit_guess(conn: asyncpg.Connection, account_id: int, limit: int) -> LiveCodeRow | None:
    """Count one guess at the account's live code; None when it has none, it expired, or its guesses are spent."""
    return await fetch_one(conn, ADMIT_GUESS, LiveCodeRow, account_id, limit)


async def use_code(conn: asyncpg.Connection, reset_id: int) -> bool:
    """End the code as used; False when another request used or replaced it first."""
    return await conn.fetchval(USE_CODE, reset_id) is not None


async def purge(conn: asyncpg.Connection) -> int:
    """Forget codes older than a day; returns how many."""
    status = await conn.execute(PURGE_CODES)
    return int(status.split()[-1])


async def lock_and_count_address(conn: asyncpg.Connection, address: str, minutes: int) -> AddressRequestsRow:
    """Lock the address (until the transaction ends) and count its reset requests in the last `minutes`."""
    await conn.execute(LOCK_ADDRESS, address)
    return msgspec.convert(await conn.fetchrow(COUNT_ADDRESS_REQUESTS, address, minutes), AddressRequestsRow)


async def record_request(conn: asyncpg.Connection, address: str) -> None:
    """Count one reset request from the address."""
    await conn.execute(INSERT_REQUEST, address)


async def purge_requests(conn: asyncpg.Connection) -> int:
    """Forget reset requests older than a day; returns how many."""
    status = await conn.execute(PURGE_REQUESTS)
    return int(status.split()[-1])
