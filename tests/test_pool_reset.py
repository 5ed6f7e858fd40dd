"""The web pool hands a connection back without asyncpg's reset query: nothing the app runs leaves session state."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from api.app import open_database_pool
from api.errors import DatabaseOutage
from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
# What would outlive a transaction on a pooled connection (SET LOCAL and transaction-level advisory locks do not);
# our SQL writes its keywords in capitals, which keeps prose ("Set the …") out.
SESSION_STATE = re.compile(
    r"(^|;)\s*(SET\s+(?!LOCAL\b)|RESET\b|LISTEN\b|DECLARE\b|PREPARE\b|CREATE\s+TEMP)"
    r"|\bpg_advisory_lock(_shared)?\s*\(|\bset_config\s*\(|\bWITH\s+HOLD\b"
)
# `linli migrate` takes its session lock on a connection of its own, never one of the web pool's; `linli bench
# explain` sets auto_explain up on the one connection it opens for the measurement and closes afterwards.
OWN_CONNECTION = {"sql/migrate.py", "api/cli/explain.py"}


def test_no_statement_leaves_session_state_on_a_pooled_connection():
    found = []
    for folder in ("api", "sql", "web", "workers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in OWN_CONNECTION:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SESSION_STATE.search(node.value):
                    found.append(f"{name}:{node.lineno}")
    assert found == []
    assert SESSION_STATE.search("SET search_path = x") and not SESSION_STATE.search("SET LOCAL jit = off")
    assert not SESSION_STATE.search("UPDATE t\nSET a = 1")


async def test_a_released_connection_is_not_reset_but_its_transaction_is_ended(database_url, tmp_path):
    settings = conftest.test_settings(tmp_path, database_url=database_url, database_connections=1, web_workers=1)
    pool = await open_database_pool(settings, DatabaseOutage())
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'left behind'")
            await conn.execute("BEGIN")
        async with pool.acquire() as conn:
            # The same connection (the pool holds one): no RESET ALL ran, and asyncpg rolled the transaction back.
            assert await conn.fetchval("SHOW application_name") == "left behind"
            assert not conn.is_in_transaction()
    finally:
        await pool.close()
