"""Our static files under content-hashed names, answered from memory before routing, sessions and the database.

Pages name a file through `static_url("css/linli.css")`, which gives `/static/css/linli.<hash>.css`: the hash is
the first 12 hex digits of the file's SHA-256, so a changed file gets a new URL and a browser or proxy may keep
each URL for a year (`immutable`). The plain name (`/static/css/linli.css`) still answers, with a short cache and an
ETag, for links from outside; a hashed name whose hash is not the file's current one is a 404 (an old page after an
upgrade falls back to its browser cache). Files are read once per process, with a gzip copy for the larger ones.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from pathlib import Path

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
PREFIX = "/static/"
HASHED_CACHE = b"public, max-age=31536000, immutable"
# Plain names are for links from outside our pages; an hour keeps them fresh enough after an upgrade.
PLAIN_CACHE = b"public, max-age=3600"
# Below this a gzip copy saves less than its headers cost.
GZIP_FROM_BYTES = 1024
TEXT_TYPES = ("text/", "application/javascript", "image/svg+xml")


class Asset(msgspec.Struct, frozen=True):
    """One file as served: its body (and gzip copy), type, ETag and both URLs."""

    body: bytes
    gzipped: bytes | None
    media_type: bytes
    etag: bytes
    hashed_url: str
    plain_url: str


def _hashed_name(relative: str, digest: str) -> str:
    folder, _, name = relative.rpartition("/")
    stem, dot, suffix = name.partition(".")
    hashed = f"{stem}.{digest}{dot}{suffix}"
    return f"{folder}/{hashed}" if folder else hashed


def _media_type(path: Path) -> bytes:
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if guessed.startswith(TEXT_TYPES) and guessed != "image/svg+xml":
        guessed += "; charset=utf-8"
    return guessed.encode()


def load(directory: Path) -> dict[str, Asset]:
    """Every file under `directory`, by both its hashed and its plain URL."""
    found: dict[str, Asset] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        body = path.read_bytes()
        relative = path.relative_to(directory).as_posix()
        digest = hashlib.sha256(body).hexdigest()[:12]
        media_type = _media_type(path)
        gzipped = None
        if len(body) >= GZIP_FROM_BYTES and media_type.decode().startswith(TEXT_TYPES):
            # mtime=0: the same file gives the same bytes in every process.
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        asset = Asset(
            body=body,
            gzipped=gzipped,
            media_type=media_type,
            etag=f'"{digest}"'.encode(),
            hashed_url=PREFIX + _hashed_name(relative, digest),
            plain_url=PREFIX + relative,
        )
        found[asset.hashed_url] = found[asset.plain_url] = asset
    return found


_assets: dict[str, Asset] | None = None


def assets() -> dict[str, Asset]:
    """This process's files, read on first use."""
    global _assets
    if _assets is None:
        _assets = load(STATIC_DIR)
    return _assets


def static_url(relative: str) -> str:
    """The hashed URL of one of our static files (a Jinja global); an unknown file is a bug, so it raises."""
    return assets()[PREFIX + relative].hashed_url


def _header(scope: Scope, wanted: bytes) -> bytes:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return b""


class StaticFiles:
    """Answers GET and HEAD of our static files; everything else goes on to the app."""

    def __init__(self, app: ASGIApp, files: dict[str, Asset] | None = None) -> None:
        self.app = app
        self.files = assets() if files is None else files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method") if scope["type"] == ScopeType.HTTP else None
        asset = self.files.get(scope["path"]) if method in ("GET", "HEAD") else None
        if asset is None:
            await self.app(scope, receive, send)
            return
        # Request metrics group every file under one route, not a series per file.
        scope["path_template"] = "/static/{file}"
        hashed = scope["path"] == asset.hashed_url
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", asset.media_type),
            (b"cache-control", HASHED_CACHE if hashed else PLAIN_CACHE),
            (b"etag", asset.etag),
            (b"vary", b"accept-encoding"),
        ]
        if asset.etag in _header(scope, b"if-none-match"):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body = asset.body
        if asset.gzipped is not None and b"gzip" in _header(scope, b"accept-encoding"):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body, "more_body": False})
