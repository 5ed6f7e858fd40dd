"""The JSON API's paging parameters: a page of at most 100 rows by default, from an offset."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
