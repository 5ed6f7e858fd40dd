"""Downloads: a list as a CSV or XLSX file, in the language the request was negotiated in."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request
from litestar.params import QueryParameter
from litestar.response import Stream

from api.services import exports
from api.services.types import today

FormatParam = Annotated[Literal["csv", "xlsx"] | None, QueryParameter(name="format")]


def locale_of(request: Request[Any, Any, Any]) -> str:
    """The language the request was negotiated in (set by the identity middleware)."""
    return str(request.scope.get("state", {}).get("locale", "zh_CN"))


class FileStream(Stream):
    """A streamed file whose own media type wins over the handler's JSON default (Litestar's Stream prefers the
    handler's, so a route that answers JSON or a file would label the file application/json)."""

    def to_asgi_response(self, app: Any, request: Any, **kwargs: Any) -> Any:
        """The streaming ASGI response, with this file's media type."""
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(app, request, **kwargs)


def file_response(table: exports.Table, fmt: Literal["csv", "xlsx"], locale: str) -> Stream:
    """A list as a downloadable CSV or XLSX file."""
    export = exports.render(table, fmt, locale, today())
    return FileStream(
        export.chunks,
        media_type=export.media_type,
        headers={"content-disposition": exports.content_disposition(export.filename)},
    )
