"""Rows with JSON columns: asyncpg hands jsonb back as text here, so a row's JSON columns are decoded before it is
converted to its struct."""

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
