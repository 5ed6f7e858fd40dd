"""The data-rights declarations follow the schema: every table that refers to a volunteer or an account (by a foreign
key, read from the catalogue) is in the volunteer's download or says why not, and is handled by erasure or says why
its rows keep only ids (sql/data_rights.py). A new table that stores something about a person fails here until
it is declared."""

from __future__ import annotations

import asyncpg

from sql import data_rights as rights_sql

# Foreign keys to the people tables, straight from pg_constraint.
PERSON_REFERENCES = """
SELECT DISTINCT c.conrelid::regclass::text AS table_name
FROM pg_constraint c
WHERE c.contype = 'f' AND c.confrelid IN ('volunteers'::regclass, 'accounts'::regclass)
ORDER BY 1
"""
EXISTING_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"


async def _referring(conn: asyncpg.Connection) -> set[str]:
    return {r["table_name"] for r in await conn.fetch(PERSON_REFERENCES)} | {"volunteers", "accounts"}


async def test_every_table_that_refers_to_a_person_is_exported_or_says_why_not(conn: asyncpg.Connection) -> None:
    exported = {table for kind in rights_sql.EXPORTS for table in kind.tables}
    missing = sorted((await _referring(conn)) - exported - set(rights_sql.NOT_EXPORTED))
    assert missing == [], f"add these tables to EXPORTS or NOT_EXPORTED in sql/data_rights.py: {missing}"


async def test_every_table_that_refers_to_a_person_is_erased_or_says_why_it_keeps_ids(
    conn: asyncpg.Connection,
) -> None:
    erased = {step.table for step in rights_sql.ERASURES}
    missing = sorted((await _referring(conn)) - erased - set(rights_sql.KEPT_ON_ERASURE))
    assert missing == [], f"add these tables to ERASURES or KEPT_ON_ERASURE in sql/data_rights.py: {missing}"


async def test_the_declarations_name_real_tables(conn: asyncpg.Connection) -> None:
    tables = {r["table_name"] for r in await conn.fetch(EXISTING_TABLES)}
    declared = (
        {t for kind in rights_sql.EXPORTS for t in kind.tables}
        | {s.table for s in (*rights_sql.ERASURES, *rights_sql.HOUSEHOLD_RETENTION_ERASURES)}
        | set(rights_sql.NOT_EXPORTED)
        | set(rights_sql.KEPT_ON_ERASURE)
    )
    assert sorted(declared - tables) == []


async def test_every_declared_statement_prepares(conn: asyncpg.Connection) -> None:
    statements = [(f"export {k.name}", k.query) for k in rights_sql.EXPORTS] + [
        (f"erase {s.table}", s.statement) for s in (*rights_sql.ERASURES, *rights_sql.HOUSEHOLD_RETENTION_ERASURES)
    ]
    failures = []
    for name, text in statements:
        try:
            prepared = await conn.prepare(text)
        except asyncpg.PostgresError as exc:
            failures.append(f"{name}: {exc}")
            continue
        if len(prepared.get_parameters()) != 1:
            failures.append(f"{name}: takes {len(prepared.get_parameters())} parameters, not 1")
    assert failures == []
    names = [k.name for k in rights_sql.EXPORTS]
    assert len(names) == len(set(names)), "two files of the download would have one name"
