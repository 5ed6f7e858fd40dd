"""Abuse at the edges (issue #11, step 5): security headers on every kind of response, and dates of needs, shifts,
tenders and calls held within the horizon by the API, the pages and the schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from api.services import horizon
from tests.factories import create_account, create_funder, username_of
from tests.factories_shifts import create_shift
from tests.factories_tendering import create_district, create_need, tender_body
from tests.helpers import bearer, elements, login, parse_page, post_form
from tests.test_calls_api import call_body
from tests.test_needs_api import need_body
from tests.test_shifts_api import _shift_body

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "permissions-policy",
)


def assert_secured(response: httpx.Response) -> None:
    """The response carries every security header (what a test walking responses checks)."""
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    assert not missing, f"{response.request.method} {response.request.url.path} ({response.status_code}): {missing}"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


class BrokenPool:
    """A pool whose every acquire fails, as when the database is gone."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @asynccontextmanager
    async def acquire(self) -> Any:
        """Fail like a lost database."""
        raise self.error
        yield  # pragma: no cover  # makes this a generator for asynccontextmanager


async def test_every_kind_of_response_carries_the_security_headers(
    app: Litestar, client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    seen: dict[str, int] = {}

    async def walk(name: str, method: str, path: str, **kwargs: Any) -> None:
        response = await client.request(method, path, follow_redirects=False, **kwargs)
        assert_secured(response)
        seen[name] = response.status_code

    await walk("page", "GET", "/login")
    await walk("json", "GET", "/api/health")
    await walk("static", "GET", "/static/css/linli.css")
    await walk("redirect", "GET", "/home")
    await walk("not found", "GET", "/api/no-such-thing")
    await walk("page not found", "GET", "/no-such-page")
    await walk("wrong method", "DELETE", "/api/health")
    await walk("not logged in", "GET", "/api/needs")
    await walk(
        "bad body", "POST", "/api/auth/token", content=b"{not json", headers={"content-type": "application/json"}
    )
    d = await create_district(conn)
    committee = await bearer(client, await username_of(conn, d.committee_account))
    await walk("invalid", "POST", "/api/needs", json=need_body(d.item_code, ends_on="9999-12-31"), headers=committee)
    await walk("schema", "GET", "/schema")
    working = app.state.pool
    try:
        app.state.pool = BrokenPool(OSError("connection refused"))
        await walk("unavailable", "GET", "/api/ready")
        app.state.pool = BrokenPool(RuntimeError("a bug"))
        await walk("server error", "GET", "/api/areas")
    finally:
        app.state.pool = working
    assert seen == {
        "page": 200, "json": 200, "static": 200, "redirect": seen["redirect"], "not found": 404,
        "page not found": 404, "wrong method": 405, "not logged in": 401, "bad body": 400, "invalid": 422,
        "schema": 200, "unavailable": 503, "server error": seen["server error"],
    }  # fmt: skip
    assert seen["redirect"] in (302, 303) and seen["server error"] in (500, 503)


@contextmanager
def horizon_of(days: int) -> Iterator[None]:
    """The dating horizon set to `days` for one test (create_app sets it from LINLI_MAX_HORIZON_DAYS)."""
    before = horizon.max_days()
    horizon.configure(days)
    try:
        yield
    finally:
        horizon.configure(before)


def _fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


async def test_needs_dated_in_year_9999_or_before_2000_are_refused_naming_the_field(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    d = await create_district(conn)
    committee = await bearer(client, await username_of(conn, d.committee_account))
    far = await client.post("/api/needs", json=need_body(d.item_code, ends_on="9999-12-31"), headers=committee)
    assert set(_fields(far)) == {"ends_on"} and "太远" in _fields(far)["ends_on"]
    old = await client.post("/api/needs", json=need_body(d.item_code, starts_on="1999-12-31"), headers=committee)
    assert set(_fields(old)) == {"starts_on"} and "2000" in _fields(old)["starts_on"]
    today = dt.date.today()
    in_two_months = need_body(d.item_code, ends_on=(today + dt.timedelta(days=60)).isoformat())
    with horizon_of(30):
        assert set(_fields(await client.post("/api/needs", json=in_two_months, headers=committee))) == {"ends_on"}
    assert (await client.post("/api/needs", json=in_two_months, headers=committee)).status_code == 201
    assert await conn.fetchval("SELECT count(*) FROM needs WHERE committee_id = $1", d.committee_id) == 1


async def test_shifts_and_weekly_rules_dated_in_year_9999_are_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    publisher = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    far = _shift_body(starts_at="9999-12-30T09:00:00+08:00", ends_at="9999-12-30T11:00:00+08:00")
    assert set(_fields(await client.post("/api/shifts", json=far, headers=publisher))) == {"starts_at", "ends_at"}
    # A start just before year 10000 in New York is year 10000 in Shanghai: refused, not an overflow.
    edge = {
        **far,
        "starts_at": "9999-12-31T20:00:00-05:00",
        "ends_at": "9999-12-31T22:00:00-05:00",
        "until": "9999-12-31",
    }
    assert "starts_at" in _fields(await client.post("/api/shifts/series", json=edge, headers=publisher))
    old = _shift_body(starts_at="1999-12-30T09:00:00+08:00", ends_at="1999-12-30T11:00:00+08:00")
    assert "starts_at" in _fields(await client.post("/api/shifts", json=old, headers=publisher))


async def _funders(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> tuple[Any, int, dict[str, str], dict[str, str]]:
    """A district with an open need, its sub-district office's and a community foundation's API headers."""
    d = await create_district(conn)
    need_id = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    funder = await bearer(client, await username_of(conn, d.funder_account))
    foundation_id = await create_funder(conn, kind="community_foundation", area_id=d.district_id)
    foundation = await bearer(
        client, await username_of(conn, await create_account(conn, "funder", funder_id=foundation_id))
    )
    return d, need_id, funder, foundation


async def test_tender_and_call_dates_before_2000_are_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    d, need_id, funder, foundation = await _funders(client, conn)
    early = tender_body(d.item_code, [need_id], bids_open_at="1900-01-01T09:00:00+08:00")
    assert set(_fields(await client.post("/api/tenders", json=early, headers=funder))) == {"bids_open_at"}
    far = tender_body(d.item_code, [need_id], bids_close_at="9999-12-31T09:00:00+08:00")
    assert set(_fields(await client.post("/api/tenders", json=far, headers=funder))) == {"bids_close_at"}
    call = call_body(d.subdistrict_id, proposals_open_at="1999-01-01T09:00:00+08:00")
    assert set(_fields(await client.post("/api/calls", json=call, headers=foundation))) == {"proposals_open_at"}


async def test_the_need_form_shows_the_date_error_beside_the_field_in_chinese(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    d = await create_district(conn)
    await login(client, await username_of(conn, d.committee_account))
    data = {
        "catalogue_code": d.item_code, "title": "助餐", "beneficiaries": "3", "urgency": "normal",
        "starts_on": dt.date.today().isoformat(), "ends_on": "9999-12-31",
    }  # fmt: skip
    response = await post_form(client, "/needs/new", data)
    assert response.status_code == 422
    assert parse_page(response.text).errors["ends_on"] == "日期太远，超出了可提前安排的范围，请临近时再安排"
    # The browser's date picker offers nothing before 2000 either.
    dated = {a["name"]: a.get("min") for a, _ in elements(response.text, "input") if a.get("type") == "date"}
    assert dated == {"starts_on": "2000-01-01", "ends_on": "2000-01-01"}


async def test_the_schema_refuses_what_is_dated_before_2000(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    d, need_id, funder, foundation = await _funders(client, conn)
    tender = await client.post("/api/tenders", json=tender_body(d.item_code, [need_id]), headers=funder)
    call = await client.post("/api/calls", json=call_body(d.subdistrict_id), headers=foundation)
    assert tender.status_code == call.status_code == 201
    old = dt.datetime(1999, 12, 31, 9, tzinfo=dt.UTC)
    refused = [
        ("UPDATE needs SET starts_on = $2 WHERE id = $1", need_id, old.date()),
        ("UPDATE shifts SET starts_at = $2 WHERE id = $1", await create_shift(conn), old),
        ("UPDATE tenders SET bids_open_at = $2 WHERE id = $1", tender.json()["id"], old),
        ("UPDATE calls SET proposals_open_at = $2 WHERE id = $1", call.json()["id"], old),
    ]
    for statement, row_id, value in refused:
        with pytest.raises(asyncpg.CheckViolationError, match="dated_since_2000"):
            async with conn.transaction():
                await conn.execute(statement, row_id, value)
