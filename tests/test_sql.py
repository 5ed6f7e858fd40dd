"""Every SQL string in sql/ prepares against the migrated schema, so a typo fails here, not in production."""

from __future__ import annotations

import importlib
import pkgutil

import sql

STATEMENT_STARTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def sql_constants() -> list[tuple[str, str]]:
    """(module.NAME, text) of every upper-case string constant in sql/ that is a statement."""
    found: list[tuple[str, str]] = []
    for info in pkgutil.iter_modules(sql.__path__):
        module = importlib.import_module(f"sql.{info.name}")
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and value.lstrip().upper().startswith(STATEMENT_STARTS):
                found.append((f"sql.{info.name}.{name}", value))
    return found


def test_there_are_statements_to_check():
    names = {name for name, _ in sql_constants()}
    assert "sql.accounts.TOUCH_SESSION" in names
    assert len(names) > 30


async def test_every_statement_prepares(conn):
    failures = []
    for name, text in sql_constants():
        try:
            await conn.prepare(text)
        except Exception as exc:
            failures.append(f"{name}: {exc}")
    assert failures == []
