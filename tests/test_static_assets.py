"""Our static files: pages name them by content hash, hashed URLs are cached for a year, plain ones briefly."""

from __future__ import annotations

import hashlib

import httpx

from web.assets import STATIC_DIR, static_url

CSS = (STATIC_DIR / "css" / "linli.css").read_bytes()
DIGEST = hashlib.sha256(CSS).hexdigest()[:12]


async def test_a_page_names_the_stylesheet_by_its_content_hash(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200 and "登录" in page.text
    assert static_url("css/linli.css") == f"/static/css/linli.{DIGEST}.css"
    assert f'href="/static/css/linli.{DIGEST}.css"' in page.text
    assert 'href="/static/css/linli.css"' not in page.text


async def test_a_hashed_url_is_kept_for_a_year_and_a_plain_one_briefly(client: httpx.AsyncClient) -> None:
    hashed = await client.get(f"/static/css/linli.{DIGEST}.css", headers={"accept-encoding": "identity"})
    assert hashed.status_code == 200 and hashed.content == CSS
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashed.headers["content-type"] == "text/css; charset=utf-8"
    assert hashed.headers["x-content-type-options"] == "nosniff"  # the security headers reach static files too
    plain = await client.get("/static/css/linli.css", headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and plain.content == CSS
    assert plain.headers["cache-control"] == "public, max-age=3600"
    again = await client.get("/static/css/linli.css", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_a_stylesheet_is_sent_gzipped_to_a_browser_that_takes_it(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/static/css/linli.{DIGEST}.css", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(CSS) / 2
    assert response.content == CSS  # httpx undoes the gzip; the bytes are the file's


async def test_an_unknown_hash_or_file_is_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/css/linli.0123456789ab.css")).status_code == 404
    assert (await client.get("/static/css/nothing.css")).status_code == 404
    assert (await client.post(f"/static/css/linli.{DIGEST}.css")).status_code in (404, 405)
    # Swagger UI's files still come from their package.
    assert (await client.get("/static/swagger/swagger-ui.css")).status_code == 200
