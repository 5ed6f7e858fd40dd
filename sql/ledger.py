"""The time bank's double-entry, append-only ledger: accounts, transactions, entries; balances by SUM."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all


class Balance(msgspec.Struct, frozen=True):
    """An account's balance in minutes, by bucket: own time (usable for anything) and group time (donate only)."""

    own: int
    group: int

    @property
    def total(self) -> int:
        """Both buckets together."""
        return self.own + self.group


class HistoryRow(msgspec.Struct, frozen=True):
    """One transaction as one account sees it: what happened, how many minutes in or out, with whom."""

    transaction_id: int
    kind: str
    created_at: dt.datetime
    minutes: int
    group_minutes: int
    over_cap_minutes: int
    counterparty: str | None
    service: str | None
    memo: str
    shift_title: str | None


SELECT_VOLUNTEER_ACCOUNT = "SELECT id FROM ledger_accounts WHERE volunteer_id = $1"
# Accounts are opened on first use; the name is not the person's (no personal data in the ledger).
OPEN_VOLUNTEER_ACCOUNT = """
INSERT INTO ledger_accounts (kind, volunteer_id, name)
VALUES ('volunteer', $1::bigint, 'volunteer:' || $1::bigint::text)
ON CONFLICT (volunteer_id) DO NOTHING
RETURNING id
"""
SELECT_SYSTEM_ACCOUNT = "SELECT id FROM ledger_accounts WHERE kind = $1"
# Racing transfers queue on the account rows (in id order, so two opposite gifts cannot deadlock), and the balance
# is read only after the lock is held: under READ COMMITTED that read sees every transfer committed before it.
LOCK_ACCOUNTS = "SELECT id FROM ledger_accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"
SELECT_BALANCE = """
SELECT coalesce(sum(minutes) FILTER (WHERE bucket = 'own'), 0)::bigint AS own,
       coalesce(sum(minutes) FILTER (WHERE bucket = 'group'), 0)::bigint AS "group"
FROM ledger_entries WHERE account_id = $1
"""
INSERT_TRANSACTION = """
INSERT INTO ledger_transactions (kind, attendance_id, service, memo, over_cap_minutes, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""
INSERT_ENTRIES = """
INSERT INTO ledger_entries (transaction_id, account_id, bucket, minutes)
SELECT $1, a, b, m FROM unnest($2::bigint[], $3::text[], $4::int[]) AS e (a, b, m)
"""
# Per transaction: this account's net minutes and group minutes, and the other side's description. The other side
# of a gift is named by the other person's display name; system accounts by their own name.
SELECT_HISTORY = """
SELECT t.id AS transaction_id, t.kind, t.created_at,
       coalesce(sum(e.minutes) FILTER (WHERE e.account_id = $1), 0)::int AS minutes,
       coalesce(sum(e.minutes) FILTER (WHERE e.account_id = $1 AND e.bucket = 'group'), 0)::int AS group_minutes,
       t.over_cap_minutes,
       (SELECT coalesce(v.display_name, la.name) FROM ledger_entries o
        JOIN ledger_accounts la ON la.id = o.account_id LEFT JOIN volunteers v ON v.id = la.volunteer_id
        WHERE o.transaction_id = t.id AND o.account_id <> $1 ORDER BY o.id LIMIT 1) AS counterparty,
       t.service, t.memo, s.title AS shift_title
FROM ledger_transactions t
LEFT JOIN ledger_entries e ON e.transaction_id = t.id
LEFT JOIN attendance a ON a.id = t.attendance_id
LEFT JOIN shifts s ON s.id = a.shift_id
WHERE t.id IN (SELECT transaction_id FROM ledger_entries WHERE account_id = $1)
   OR (t.kind = 'earn' AND a.volunteer_id = $2)
GROUP BY t.id, s.title
ORDER BY t.created_at DESC, t.id DESC
LIMIT $3 OFFSET $4
"""
SELECT_VOLUNTEER_BY_USERNAME = """
SELECT v.id FROM volunteers v JOIN accounts a ON a.id = v.account_id
WHERE a.username = lower($1) AND a.role = 'volunteer' AND a.disabled_at IS NULL
"""
SELECT_TOTALS = """
SELECT coalesce(sum(minutes) FILTER (WHERE la.kind = 'volunteer'), 0)::bigint AS held,
       coalesce(sum(minutes) FILTER (WHERE la.kind = 'pool'), 0)::bigint AS pool,
       coalesce(sum(minutes) FILTER (WHERE la.kind = 'services'), 0)::bigint AS spent,
       coalesce(sum(minutes), 0)::bigint AS total
FROM ledger_entries e JOIN ledger_accounts la ON la.id = e.account_id
"""


async def volunteer_account(conn: asyncpg.Connection, volunteer_id: int) -> int:
    """The volunteer's account id, opened if they have none yet."""
    found = await conn.fetchval(SELECT_VOLUNTEER_ACCOUNT, volunteer_id)
    if found is None:
        found = await conn.fetchval(OPEN_VOLUNTEER_ACCOUNT, volunteer_id)
        if found is None:  # opened by a concurrent request between the two statements
            found = await conn.fetchval(SELECT_VOLUNTEER_ACCOUNT, volunteer_id)
    return int(found)


async def find_volunteer_account(conn: asyncpg.Connection, volunteer_id: int) -> int | None:
    """The volunteer's account id, without opening one."""
    found = await conn.fetchval(SELECT_VOLUNTEER_ACCOUNT, volunteer_id)
    return None if found is None else int(found)


async def system_account(conn: asyncpg.Connection, kind: str) -> int:
    """The id of a system account: issuance, pool or services."""
    return int(await conn.fetchval(SELECT_SYSTEM_ACCOUNT, kind))


async def lock_accounts(conn: asyncpg.Connection, account_ids: list[int]) -> None:
    """Lock these accounts' rows for the rest of the transaction, in id order."""
    await conn.fetch(LOCK_ACCOUNTS, account_ids)


async def balance(conn: asyncpg.Connection, account_id: int) -> Balance:
    """The account's balance, summed from its entries."""
    record = await conn.fetchrow(SELECT_BALANCE, account_id)
    assert record is not None
    return Balance(own=int(record["own"]), group=int(record["group"]))


async def post(
    conn: asyncpg.Connection,
    *,
    kind: str,
    entries: list[tuple[int, str, int]],
    created_by: int | None,
    attendance_id: int | None = None,
    service: str | None = None,
    memo: str = "",
    over_cap_minutes: int = 0,
) -> int:
    """Write one transaction and its (account, bucket, minutes) entries; the database checks they sum to zero."""
    transaction_id = int(
        await conn.fetchval(INSERT_TRANSACTION, kind, attendance_id, service, memo, over_cap_minutes, created_by)
    )
    kept = [e for e in entries if e[2] != 0]
    if kept:
        await conn.execute(
            INSERT_ENTRIES, transaction_id, [e[0] for e in kept], [e[1] for e in kept], [e[2] for e in kept]
        )
    return transaction_id


async def history(
    conn: asyncpg.Connection, account_id: int, volunteer_id: int, *, limit: int, offset: int
) -> list[HistoryRow]:
    """The account's transactions, latest first (earnings that were wholly over the cap included)."""
    return await fetch_all(conn, SELECT_HISTORY, HistoryRow, account_id, volunteer_id, limit, offset)


async def volunteer_by_username(conn: asyncpg.Connection, username: str) -> int | None:
    """The volunteer id of an active volunteer account."""
    found = await conn.fetchval(SELECT_VOLUNTEER_BY_USERNAME, username)
    return None if found is None else int(found)


async def totals(conn: asyncpg.Connection) -> dict[str, int]:
    """Minutes held by volunteers, in the pool, spent, and the sum of everything (always zero)."""
    record = await conn.fetchrow(SELECT_TOTALS)
    assert record is not None
    return {key: int(record[key]) for key in ("held", "pool", "spent", "total")}
