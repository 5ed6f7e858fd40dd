"""Rows as structs: one row or every row of a query converted to its struct (`fetch_one`, `fetch_all`), and rows
with JSON columns (asyncpg hands jsonb back as text here, so they are decoded before the row is converted)."""

from __future__ import annotations

from typing import TypeVar

import asyncpg
import msgspec

T = TypeVar("T")


def with_json(record: asyncpg.Record, row_type: type[T], *columns: str) -> T:
    """The record as `row_type`, its JSON columns decoded first (a NULL stays None)."""
    data = dict(record)
    for column in columns:
        if data[column] is not None:
            data[column] = msgspec.json.decode(data[column])
    return msgspec.convert(data, row_type)


async def fetch_one(conn: asyncpg.Connection, query: str, row_type: type[T], *args: object) -> T | None:
    """The first row of `query` as `row_type`, or None when it returns none."""
    record = await conn.fetchrow(query, *args)
    return None if record is None else msgspec.convert(dict(record), row_type)


async def fetch_all(conn: asyncpg.Connection, query: str, row_type: type[T], *args: object) -> list[T]:
    """Every row of `query`, each as `row_type`."""
    return [msgspec.convert(dict(record), row_type) for record in await conn.fetch(query, *args)]
