"""Shared pieces of the page controllers: the form body, its values for re-display, paging links, redirects to
pages by their route's name, the page of an optimiser run."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Annotated, Any, Protocol
from urllib.parse import urlencode

from litestar.datastructures import MultiDict, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, URLEncodedBody
from litestar.response import Redirect, Template

from api.services.accounts import Identity
from api.services.types import SHANGHAI

FormData = URLEncodedBody[dict[str, Any]]
# A form that sends files (enctype="multipart/form-data").
MultipartData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


async def uploads(data: Mapping[str, Any], field: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file chosen in a file field; a field left empty sends one nameless, empty part."""
    value = data.get(field)
    parts = value if isinstance(value, list) else [value]
    files = []
    for part in parts:
        if isinstance(part, UploadFile):
            content = await part.read()
            if part.filename or content:
                files.append((part.filename or "", content))
    return files


PAGE_SIZE = 20
# The query a page reads after a redirect to say the change was saved.
SAVED = {"saved": "1"}


class PageRedirect(Redirect):
    """A redirect to the page a route name and its path parameters give, with an optional query and fragment.

    The path comes from the app's `route_reverse` when the response is sent (the handler has no app at hand), so a
    page's address is written once, in its route.
    """

    __slots__ = ("fragment", "params", "query", "route")

    def __init__(
        self, route: str, /, *, query: Mapping[str, Any] | None = None, fragment: str = "", **params: Any
    ) -> None:
        super().__init__(path="")
        self.route = route
        self.params = params
        self.query = query
        self.fragment = fragment

    def to_asgi_response(self, app: Any, request: Any, **kwargs: Any) -> Any:
        """The ASGI redirect to the route's path."""
        path = request.app.route_reverse(self.route, **self.params)
        self.url = (
            path + (f"?{urlencode(self.query)}" if self.query else "") + (f"#{self.fragment}" if self.fragment else "")
        )
        return super().to_asgi_response(app, request, **kwargs)


def confirm_page(
    name: str,
    user: Identity,
    *,
    action: str,
    back: str,
    params: Mapping[str, Any],
    back_params: Mapping[str, Any] | None = None,
    **context: Any,
) -> Template:
    """The page that says what an action will do before it is done: `confirm/<name>.html`, whose form posts to the
    route `action` and whose way back is the route `back` (with the action's path parameters unless `back_params`)."""
    return Template(
        template_name=f"confirm/{name}.html",
        context={
            "who": user,
            "action_route": action,
            "back_route": back,
            "params": dict(params),
            "back_params": dict(params if back_params is None else back_params),
            **context,
        },
    )


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


def local_time(text: str) -> dt.datetime | None:
    """A date and time typed on the page (a datetime-local box), read as Shanghai time; None if it is not one."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


def read_local_times(
    form: MultiDict[str], names: tuple[str, ...], extra: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each of the date-and-time boxes that was filled in, into `extra` as an ISO time, or its error into `errors`."""
    for name in names:
        raw = form.get(name, "")
        if raw.strip():
            moment = local_time(raw)
            if moment is None:
                errors[name] = "Enter a date and time"
            else:
                extra[name] = moment.isoformat()


def split_list(text: str) -> list[str]:
    """A list typed in one box, separated by commas or the Chinese enumeration comma."""
    for sep in ("，", "、", ";", "；"):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


class Pager:
    """Page numbers and the queries of the neighbouring pages of a list (its page, by route name, links them)."""

    def __init__(self, route: str, query: dict[str, Any], page: int, total: int | None, *, more: bool = False) -> None:
        self.route = route
        self.page = page
        # Without a total (the audit log is not counted), there is a next page when this one came back full.
        self.pages = max(1, math.ceil(total / PAGE_SIZE)) if total is not None else None
        self.total = total
        kept = {k: v for k, v in query.items() if v not in (None, "")}
        has_next = page < self.pages if self.pages is not None else more
        self.prev_query = urlencode({**kept, "page": page - 1}) if page > 1 else None
        self.next_query = urlencode({**kept, "page": page + 1}) if has_next else None


def offset_of(page: int) -> int:
    """The first row of a 1-based page."""
    return (page - 1) * PAGE_SIZE


class _Run(Protocol):
    @property
    def result(self) -> dict[str, Any] | None: ...


class _RunView(Protocol):
    @property
    def run(self) -> _Run: ...


def run_page(template: str, user: Identity, view: _RunView) -> Template:
    """The page of one optimiser run (award, portfolio, roster): live progress, then its result once written."""
    return Template(
        template_name=template,
        context={"who": user, "view": view, "run": view.run, "result": view.run.result or {}},
    )
