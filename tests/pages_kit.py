"""Page tests on what a page was given: the template a request rendered and its context, captured at the engine.

    rendered = await page_context(client, "/dashboard")
    assert rendered.template == "dashboard/index.html"
    assert rendered.context["board"].totals.paid_fen == 2_300_000

The capture wraps the app's own template engine (`app.template_engine.get_template`) for one request, so the product
code is unchanged and the page is still rendered in full (a template that fails on its context still fails the test).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx
from litestar import Litestar

# What litestar adds to every page's context on its own; left out so a test sees only what the route gave.
_ENGINE_KEYS = frozenset({"request", "csrf_input"})


@dataclass(frozen=True)
class Rendered:
    """One page as the template saw it: its name and the context the route gave it."""

    template: str
    context: dict[str, Any]
    response: httpx.Response

    def __getitem__(self, key: str) -> Any:
        """A value of the context (`rendered["board"]`)."""
        return self.context[key]


class _Recording:
    """A template that notes its name and context each time it renders, then renders as before."""

    def __init__(self, template: Any, name: str, seen: list[tuple[str, dict[str, Any]]]) -> None:
        self._template = template
        self._name = name
        self._seen = seen

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Note the context, then render the real template."""
        context = dict(*args, **kwargs)
        self._seen.append((self._name, {k: v for k, v in context.items() if k not in _ENGINE_KEYS}))
        return str(self._template.render(*args, **kwargs))


def app_of(client: httpx.AsyncClient) -> Litestar:
    """The app behind a test client (conftest's `client` talks to it in-process)."""
    transport = client._transport  # the client keeps no public handle on it
    assert isinstance(transport, httpx.ASGITransport), "page_context needs an in-process client"
    return cast(Litestar, transport.app)


@contextmanager
def recording(app: Litestar) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every (template name, context) the app renders inside the block, in order."""
    engine = app.template_engine
    assert engine is not None, "the app has no template engine"
    seen: list[tuple[str, dict[str, Any]]] = []
    real = engine.get_template

    def get_template(template_name: str) -> Any:
        return _Recording(real(template_name), template_name, seen)

    engine.get_template = get_template
    try:
        yield seen
    finally:
        del engine.get_template  # the class's own method again


async def page_context(
    client: httpx.AsyncClient, path: str, *, method: str = "GET", status: int = 200, **request: Any
) -> Rendered:
    """Request a page and return the template it rendered and the context it was given (one page per request)."""
    with recording(app_of(client)) as seen:
        response = await client.request(method, path, **request)
    assert response.status_code == status, f"{path}: {response.status_code} {response.text[:500]}"
    assert len(seen) == 1, f"{path} rendered {[name for name, _ in seen]}, not one page"
    template, context = seen[0]
    return Rendered(template, context, response)
