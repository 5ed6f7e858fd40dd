"""Shared pieces of the page controllers: the form body, its values for re-display, paging links."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from litestar.datastructures import MultiDict
from litestar.params import URLEncodedBody

FormData = URLEncodedBody[dict[str, Any]]

PAGE_SIZE = 20


def multi(data: dict[str, Any]) -> MultiDict[str]:
    """The form as a multi-dict: Litestar gives a repeated field (checkboxes) as a list, a single one as a str."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return MultiDict(pairs)


def redisplay(form: MultiDict[str], lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the person typed, to fill the form again (never the password); list fields keep every value."""
    values: dict[str, Any] = {key: form.get(key, "") for key in form if key not in ("password", "_csrf_token")}
    for key in lists:
        values[key] = form.getall(key, [])
    return values


def split_list(text: str) -> list[str]:
    """A list typed in one box, separated by commas or the Chinese enumeration comma."""
    for sep in ("，", "、", ";", "；"):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


class Pager:
    """Page numbers and the links to the neighbouring pages of a list."""

    def __init__(self, path: str, query: dict[str, Any], page: int, total: int | None, *, more: bool = False) -> None:
        self.page = page
        # Without a total (the audit log is not counted), there is a next page when this one came back full.
        self.pages = max(1, math.ceil(total / PAGE_SIZE)) if total is not None else None
        self.total = total
        kept = {k: v for k, v in query.items() if v not in (None, "")}
        has_next = page < self.pages if self.pages is not None else more
        self.prev_url = f"{path}?{urlencode({**kept, 'page': page - 1})}" if page > 1 else None
        self.next_url = f"{path}?{urlencode({**kept, 'page': page + 1})}" if has_next else None


def offset_of(page: int) -> int:
    """The first row of a 1-based page."""
    return (page - 1) * PAGE_SIZE
