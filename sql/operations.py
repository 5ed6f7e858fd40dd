"""What an operator watches (runs waiting, failed notifications, the last backup) and what a restore checks."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

BACKUP_MADE = "backup.made"
BACKUP_RESTORED = "backup.restored"


class OperationsRow(msgspec.Struct, frozen=True):
    """The figures the metrics endpoint reads at scrape time."""

    runs_queued: int
    runs_running: int
    notifications_failed: int
    notifications_retrying: int
    last_backup_at: dt.datetime | None


# Runs and failed notifications are few compared with their tables' history; the newest backup is found by
# walking the audit log backwards from its newest entry, which stops at the first backup (usually the last day's).
SELECT_OPERATIONS = """
SELECT (SELECT count(*) FROM match_runs WHERE status = 'queued') AS runs_queued,
       (SELECT count(*) FROM match_runs WHERE status = 'running') AS runs_running,
       (SELECT count(*) FROM notifications WHERE status = 'failed') AS notifications_failed,
       (SELECT count(*) FROM notifications WHERE status = 'pending' AND attempts > 0) AS notifications_retrying,
       (SELECT at FROM audit_log WHERE action = 'backup.made' ORDER BY id DESC LIMIT 1) AS last_backup_at
"""
# Tables, views and sequences outside PostgreSQL's own schemas: a database holding none is empty.
COUNT_RELATIONS = """
SELECT count(*)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
"""
DATABASE_EXISTS = "SELECT count(*) > 0 FROM pg_database WHERE datname = $1"


async def figures(conn: asyncpg.Connection) -> OperationsRow:
    """Runs queued and running, notifications failed and retrying, and when the last backup was made."""
    return msgspec.convert(await conn.fetchrow(SELECT_OPERATIONS), OperationsRow)


async def count_relations(conn: asyncpg.Connection) -> int:
    """How many tables, views and sequences the database holds outside PostgreSQL's own schemas."""
    return int(await conn.fetchval(COUNT_RELATIONS))


async def create_database_if_missing(conn: asyncpg.Connection, name: str) -> bool:
    """Create an empty database of this name on the connection's server unless it exists; whether it was created."""
    if await conn.fetchval(DATABASE_EXISTS, name):
        return False
    quoted = '"' + name.replace('"', '""') + '"'
    await conn.execute(f"CREATE DATABASE {quoted}")
    return True


# How far a streaming replica is behind, in seconds: 0 while it has replayed all it received from a primary it is
# streaming from, else the age of the last transaction it replayed (an idle primary makes that look larger than it
# is, which only sends reads to the primary); NULL on a server that is not a standby (a promoted one has diverged).
SELECT_REPLICA_LAG = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
    ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
END::float8
"""


async def replica_lag_s(conn: asyncpg.Connection) -> float | None:
    """Seconds this standby is behind its primary; None when it is not a standby or has replayed nothing yet."""
    lag = await conn.fetchval(SELECT_REPLICA_LAG)
    return None if lag is None else float(lag)
