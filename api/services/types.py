"""Constrained field types shared by the use cases' commands (mirrored by CHECKs in the schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta

# PostgreSQL cannot store NUL; refusing it here turns a would-be 500 into a clear 400.
NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
Text = Annotated[str, Meta(max_length=20000, pattern=NO_NUL)]
Username = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{2,39}$")]
Password = Annotated[str, Meta(min_length=10, max_length=200, pattern=NO_NUL)]
Phone = Annotated[str, Meta(max_length=20, pattern=r"^[0-9+\- ]*$")]
# Checked in full (length, alphabet, check character) by credit_code.error_of, which says what is wrong.
CreditCode = Annotated[str, Meta(min_length=1, max_length=40, pattern=NO_NUL)]
Locale = Annotated[str, Meta(pattern=r"^(zh_CN|en)$")]
Id = Annotated[int, Meta(ge=1, le=2**62)]
Hours = Annotated[int, Meta(ge=0, le=1_000_000)]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    """Today's date where the users live."""
    return dt.datetime.now(SHANGHAI).date()


ItemT = TypeVar("ItemT")


class Page(msgspec.Struct, Generic[ItemT], frozen=True):
    """A page of a list: its items, how many there are in all, and where the page starts."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int
