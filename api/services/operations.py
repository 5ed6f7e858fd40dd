"""Operations: the figures the metrics endpoint shows, and backups and restores recorded in the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from sql import audit, operations
from sql.operations import OperationsRow


async def figures(conn: asyncpg.Connection) -> OperationsRow:
    """Runs waiting, notifications failed or retrying, and when the last backup was made."""
    return await operations.figures(conn)


async def holds_data(conn: asyncpg.Connection) -> bool:
    """Whether the database holds any table, view or sequence of its own (a restore would overwrite them)."""
    return await operations.count_relations(conn) > 0


async def create_database_if_missing(conn: asyncpg.Connection, name: str) -> bool:
    """An empty database to restore into, on the connection's server; whether it was created."""
    return await operations.create_database_if_missing(conn, name)


def unknown_migrations(in_backup: Iterable[str], known: Iterable[str]) -> list[str]:
    """The migrations a backup's schema has that this code does not know: a newer Linli made it."""
    known_names = set(known)
    return sorted(name for name in in_backup if name not in known_names)


async def record_backup(conn: asyncpg.Connection, *, file: str, size_bytes: int, migration: str) -> None:
    """Audit a successful backup; its time is the metrics' "age of the last backup"."""
    await _record(conn, operations.BACKUP_MADE, file, {"bytes": size_bytes, "migration": migration})


async def record_restore(conn: asyncpg.Connection, *, file: str, migration: str, replaced: bool) -> None:
    """Audit a restore into this database (the log restored with it stays chained: this entry follows it)."""
    await _record(conn, operations.BACKUP_RESTORED, file, {"migration": migration, "replaced": replaced})


async def _record(conn: asyncpg.Connection, action: str, file: str, detail: dict[str, Any]) -> None:
    await audit.append(
        conn, actor_account_id=None, action=action, object_type="database", object_id=file, detail=detail
    )
