"""Every page a demo login can reach by following links, two clicks deep, answers without a server error."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from api.demo import DEMO_LOGINS
from tests.helpers import elements, login

PASSWORDS = {username: password for _, username, password in DEMO_LOGINS}
# Links that end the session or are files rather than pages.
SKIP_PREFIXES = ("/logout", "/static/", "/schema", "/ical/")
SKIP_SUFFIXES = (".csv", ".xlsx", ".ics", ".svg")
MAX_PAGES = 120


def _links(html: str) -> list[str]:
    """The same-site page links of a page, without query noise that would only page through lists."""
    found = []
    for attrs, _ in elements(html, "a"):
        href = attrs.get("href", "")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if parts.path.startswith(SKIP_PREFIXES) or parts.path.endswith(SKIP_SUFFIXES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query and "offset=" not in parts.query else ""))
    return found


@pytest.mark.parametrize("username", sorted(PASSWORDS))
@pytest.mark.slow
async def test_every_linked_page_of_a_demo_login_answers(demo_client: httpx.AsyncClient, username: str) -> None:
    client = demo_client
    response = await login(client, username, PASSWORDS[username])
    assert response.status_code in (302, 303), response.text
    seen: set[str] = set()
    frontier = ["/"]
    broken: list[str] = []
    for _depth in range(3):
        next_frontier: list[str] = []
        for path in frontier:
            if path in seen or len(seen) >= MAX_PAGES:
                continue
            seen.add(path)
            page = await client.get(path)
            if page.status_code >= 500 or page.status_code == 404:
                broken.append(f"{path} → {page.status_code}")
                continue
            if page.headers.get("content-type", "").startswith("text/html"):
                # The page's own title comes first (charts add SVG titles after it); browsers show a <title>'s
                # content as plain text, so markup in it is a template block left open.
                title = re.search(r"<title>(.*?)</title>", page.text, re.S)
                if title is None or not title.group(1).strip() or "<" in title.group(1):
                    broken.append(f"{path}: title {title.group(1)[:80] if title else None!r}")
                next_frontier += _links(page.text)
        frontier = next_frontier
    assert broken == [], "\n".join(broken)
    # The crawl really walked the role's pages (a login that failed would see only the public few).
    assert len(seen) >= 8
