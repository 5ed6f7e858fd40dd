"""Helpers for tests: CSRF-aware form posts, logging in, bearer tokens, parsing pages, committed file formats."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from api.cli import solving_people
from tests.factories import PASSWORD

Client = httpx.AsyncClient
ROOT = Path(__file__).resolve().parent.parent


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.texts: list[str] = []
        self.errors: dict[str, str] = {}
        self._error_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.inputs.setdefault(str(a["name"]), a.get("value") or "")
        if tag == "p" and "error" in (a.get("class") or "") and (a.get("id") or "").startswith("e-"):
            self._error_for = str(a["id"])[2:]

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())
            if self._error_for is not None:
                self.errors[self._error_for] = data.strip()
                self._error_for = None


def parse_page(html: str) -> _Inputs:
    """The inputs, visible texts and field errors of a page."""
    parser = _Inputs()
    parser.feed(html)
    return parser


async def csrf_token(client: Client, path: str = "/login") -> str:
    """Load a page to get the CSRF cookie and the form's token."""
    response = await client.get(path)
    return parse_page(response.text).inputs["_csrf_token"]


async def post_form(
    client: Client, path: str, data: dict[str, Any], *, page: str | None = None, files: Any = None
) -> Any:
    """Submit a form like a browser: with the CSRF token of the page it came from (and its files, if any, as
    multipart/form-data)."""
    token = await csrf_token(client, page or path)
    return await client.post(path, data={**data, "_csrf_token": token}, files=files, follow_redirects=False)


async def login(client: Client, username: str, password: str = PASSWORD) -> Any:
    """Log in through the login form."""
    return await post_form(client, "/login", {"username": username, "password": password}, page="/login")


async def bearer(client: Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """An Authorization header with a fresh API token."""
    response = await client.post("/api/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


class _Elements(HTMLParser):
    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag
        self.found: list[tuple[dict[str, str], str]] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == self.tag:
            self.found.append(({k: v or "" for k, v in attrs}, ""))
            if tag not in ("input", "img", "br", "meta", "link"):
                self._open.append(len(self.found) - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == self.tag and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for index in self._open:
            attrs, text = self.found[index]
            self.found[index] = (attrs, (text + " " + data.strip()).strip() if data.strip() else text)


def elements(html: str, tag: str) -> list[tuple[dict[str, str], str]]:
    """Every element of one tag in a page: its attributes and its text (for selects, options, links, forms)."""
    parser = _Elements(tag)
    parser.feed(html)
    return parser.found


def links(html: str, prefix: str = "") -> dict[str, str]:
    """Each link of a page whose address starts with `prefix`: its text → its address."""
    return {text: a["href"] for a, text in elements(html, "a") if a["href"].startswith(prefix)}


async def fingerprint_undone(conn: asyncpg.Connection, query: str, writing: Awaitable[object]) -> str:
    """Await `writing` in a savepoint, read the fingerprint `query` returns, then roll the savepoint back."""
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        await writing
        return str(await conn.fetchval(query))
    finally:
        await savepoint.rollback()


def assert_schema_committed(kind: str) -> None:
    """The JSON Schema of a solving-people format in docs/formats is the one its structs give today."""
    committed = (ROOT / "docs" / "formats" / f"{kind}.schema.json").read_text(encoding="utf-8")
    regenerate = (
        'python -c "from pathlib import Path; from api.cli.solving_people import write_schemas; '
        "write_schemas(Path('docs/formats'))\""
    )
    assert committed == solving_people.schema_text(kind), f"the structs changed; regenerate with: {regenerate}"


def solve_through_file(kind: str, problem: msgspec.Struct, path: Path) -> tuple[dict[str, Any], str]:
    """The problem written as JSON to `path` and solved by the solve-file command: its result decoded and as text.

    The result has the fields every solving-people format shares.
    """
    path.write_bytes(msgspec.json.encode(problem))
    text = solving_people.solve_file(kind, path, time_limit_s=3, seed=1)
    raw: dict[str, Any] = json.loads(text)
    assert {"status", "objective", "bound", "assignments"} <= raw.keys()
    return raw, text
