"""The seal: before the deadline no one but the bidder learns a bid's terms or how many bids there are —
not the funder, another bidder, an admin or the public, through any route, page, export, error, log or the
audit log. After the deadline the funder sees them, and opening is written to the audit log once."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest

from api.services import bids as bids_service
from tests.factories import create_account, username_of
from tests.factories_tendering import close_bidding, create_district, create_need, tender_body
from tests.helpers import bearer, login

# Distinctive amounts in fen, and every way a page or export could print them.
CANARY_A = 1_234_567
CANARY_B = 2_345_678
CANARY_B2 = 3_456_789
PLAN_A = "金丝雀方案甲-CANARY-PLAN-A"
PLAN_B = "金丝雀方案乙-CANARY-PLAN-B"


def spellings(fen: int) -> list[str]:
    """How an amount in fen could appear: fen, yuan with and without grouping."""
    yuan = f"{fen / 100:.2f}"
    grouped = f"{fen / 100:,.2f}"
    return [str(fen), yuan, grouped, grouped.replace(",", "，")]


CANARIES = [*spellings(CANARY_A), *spellings(CANARY_B), *spellings(CANARY_B2), PLAN_A, PLAN_B, "CANARY"]
# Routes that show bid-related things or might: {t} tender, {lot} lot, {need} a need of the tender, {bid} a bid id.
API_ROUTES = [
    "/api/tenders", "/api/tenders?status=open", "/api/tenders?mine=true", "/api/tenders/{t}",
    "/api/tenders/{t}/eligibility", "/api/tenders/for-me", "/api/tenders/export.csv", "/api/tenders/{t}/bids",
    "/api/needs?limit=100", "/api/needs/{need}", "/api/needs/export.csv", "/api/bids", "/api/bids?tender_id={t}",
    "/api/bids/{bid}", "/api/audit?limit=200", "/api/audit?action=tender", "/api/audit?action=bid",
    "/api/dashboard",
]  # fmt: skip
PAGES = [
    "/home", "/tenders", "/tenders?status=open", "/tenders?mine=1", "/tenders/{t}", "/tenders/{t}/lots/{lot}/bid",
    "/bids", "/bids/{bid}", "/needs", "/needs/map", "/needs/{need}", "/admin/audit", "/dashboard",
]  # fmt: skip
DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?"
    r"|\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}:\d{2}:\d{2}"
)
CSRF = re.compile(r'name="_csrf_token" value="[^"]*"')


class Market:
    """Two identical tenders: `sealed` with three bids from two organisations, `empty` with none."""

    d: Any
    funder: dict[str, str]
    org_a: dict[str, str]
    org_b: dict[str, str]
    org_a_account: int
    sealed: dict[str, Any]
    empty: dict[str, Any]
    sealed_need: int
    empty_need: int
    bid_a: dict[str, Any]
    bid_b: dict[str, Any]
    bid_b2: dict[str, Any]

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


async def _market(client, conn) -> Market:
    d = await create_district(conn)
    funder = await bearer(client, await username_of(conn, d.funder_account))
    close = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    body_common = {"bids_open_at": "2020-01-01T09:00:00+08:00", "bids_close_at": close.isoformat()}
    tenders = []
    for _ in range(2):
        a = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="助餐")
        b = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="助餐")
        body = tender_body(d.item_code, [a], **body_common)
        body["lots"].append({**body["lots"][0], "title": "第二标段", "need_ids": [b]})
        response = await client.post("/api/tenders", json=body, headers=funder)
        assert response.status_code == 201, response.text
        tenders.append((response.json(), a))
    (sealed, sealed_need), (empty, empty_need) = tenders
    org_a_account = await create_account(conn, "organisation")
    org_b_account = await create_account(conn, "organisation")
    org_a = await bearer(client, await username_of(conn, org_a_account))
    org_b = await bearer(client, await username_of(conn, org_b_account))
    lot1, lot2 = (lot["id"] for lot in sealed["lots"])

    async def place(headers: dict[str, str], lot: int, fen: int, plan: str) -> dict[str, Any]:
        response = await client.post(
            "/api/bids", json={"lot_id": lot, "price_fen": fen, "hours": 1000, "plan": plan}, headers=headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    bid_a = await place(org_a, lot1, CANARY_A, PLAN_A)
    bid_b = await place(org_b, lot1, CANARY_B, PLAN_B)
    bid_b2 = await place(org_b, lot2, CANARY_B2 - 1, PLAN_B)
    # A revision before the deadline leaves nothing behind for others either.
    terms = {"price_fen": CANARY_B2, "hours": 1000, "plan": PLAN_B}
    assert (await client.put(f"/api/bids/{bid_b2['id']}", json=terms, headers=org_b)).status_code == 200
    return Market(
        d=d, funder=funder, org_a=org_a, org_b=org_b, org_a_account=org_a_account, sealed=sealed, empty=empty,
        sealed_need=sealed_need, empty_need=empty_need, bid_a=bid_a, bid_b=bid_b, bid_b2=bid_b2,
    )  # fmt: skip


def _paths(templates: list[str], tender: dict[str, Any], need: int, bid: str) -> list[str]:
    return [p.format(t=tender["id"], lot=tender["lots"][0]["id"], need=need, bid=bid) for p in templates]


# request_id is each answer's own (api.observe): it says nothing of the tender.
ID_KEYS = {"id", "tender_id", "lot_id", "request_id"}
ID_IN_PATH = re.compile(r"(/tenders/|/needs/|/lots/|/api/tenders/|/api/needs/|committee_id=|tender_id=)\d+")


def _blank_ids(value: Any) -> Any:
    """A decoded JSON answer with the ids that differ between two tenders blanked."""
    if isinstance(value, dict):
        return {
            k: "<id>" if k in ID_KEYS else ["<id>"] * len(v) if k == "need_ids" else _blank_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_blank_ids(v) for v in value]
    return ID_IN_PATH.sub(r"\1<id>", value) if isinstance(value, str) else value


def _normalised(text: str, bid: str) -> str:
    """An answer with its tender's own ids, times and CSRF tokens blanked, so two tenders' answers compare."""
    text = CSRF.sub('name="_csrf_token" value=""', text)
    text = DATETIME.sub("<time>", text).replace(bid, "<bid>")
    try:
        return json.dumps(_blank_ids(json.loads(text)), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return ID_IN_PATH.sub(r"\1<id>", text)


async def _sweep(
    client, headers: dict[str, str] | None, market: Market, bid: str, unknown: str, *, compare: bool = True
) -> list[str]:
    """Fetch every route and page for both tenders; return every body (sealed tender first)."""
    bodies: list[str] = []
    for templates, kind in ((API_ROUTES, "api"), (PAGES, "page")):
        sealed_paths = _paths(templates, market.sealed, market.sealed_need, bid)
        empty_paths = _paths(templates, market.empty, market.empty_need, unknown)
        for template, sealed_path, empty_path in zip(templates, sealed_paths, empty_paths, strict=True):
            kw = {"headers": headers} if kind == "api" and headers else {}
            first = await client.get(sealed_path, **kw)
            second = await client.get(empty_path, **kw)
            bodies += [first.text, second.text]
            assert first.status_code == second.status_code, (sealed_path, first.status_code, second.status_code)
            assert first.status_code < 500, (sealed_path, first.text[:500])
            left = _normalised(first.text, bid)
            right = _normalised(second.text, unknown)
            if "{" not in template or not compare:
                continue  # a list shows both tenders at once: the canary checks cover it
            assert left == right, f"{sealed_path} answers differently when bids exist"
    return bodies


def _assert_clean(bodies: list[str], also: tuple[str, ...] | list[str] = ()) -> None:
    for body in bodies:
        for canary in [*CANARIES, *also]:
            assert canary not in body, canary


async def _page_session(client, conn, account_id: int | None) -> None:
    client.cookies.clear()
    if account_id is not None:
        await login(client, await username_of(conn, account_id))


@pytest.fixture
def captured_logs(capfd, caplog):
    """Everything written to stdout, stderr and the logging system during the test."""
    caplog.set_level("DEBUG")

    def read() -> str:
        out, err = capfd.readouterr()
        return str(out) + str(err) + str(caplog.text)

    return read


@pytest.mark.slow
async def test_no_one_but_the_bidder_learns_a_bids_terms_or_count_before_the_deadline(client, conn, captured_logs):
    market = await _market(client, conn)
    unknown = str(uuid.uuid4())
    receipts = [market.bid_a["receipt"], market.bid_b["receipt"], market.bid_b2["receipt"]]
    d = market.d
    admin = await create_account(conn, "admin")
    reviewer = await create_account(conn, "reviewer")
    other_org = await create_account(conn, "organisation")
    viewers = {
        "funder": d.funder_account,
        "other organisation": other_org,
        "admin": admin,
        "reviewer": reviewer,
        "committee": d.committee_account,
        "anonymous": None,
    }
    for name, account in viewers.items():
        client.cookies.clear()
        headers = await bearer(client, await username_of(conn, account)) if account else None
        await _page_session(client, conn, account)
        for bid in (market.bid_a["id"], market.bid_b["id"]):
            bodies = await _sweep(client, headers, market, bid, unknown)
            _assert_clean(bodies, receipts)
        # The answers to "this bid" and "no such bid" are the same.
        if headers:
            real = await client.get(f"/api/bids/{market.bid_a['id']}", headers=headers)
            fake = await client.get(f"/api/bids/{unknown}", headers=headers)
            assert real.status_code == fake.status_code, name
            assert real.json()["detail"] == fake.json()["detail"]
    # Another bidder sees its own bid but nothing of the other's, and cannot tell whether it exists.
    await _page_session(client, conn, market.org_a_account)
    # (Its own bids differ between the two tenders, so only the other bidder's canaries are looked for.)
    bodies = await _sweep(client, market.org_a, market, market.bid_b["id"], unknown, compare=False)
    for body in bodies:
        for canary in [*spellings(CANARY_B), *spellings(CANARY_B2), PLAN_B, receipts[1], receipts[2]]:
            assert canary not in body
    own = await client.get(f"/api/bids/{market.bid_a['id']}", headers=market.org_a)
    assert own.status_code == 200 and own.json()["price_fen"] == CANARY_A
    # Nothing about a single bid reached the audit log; nothing reached the logs.
    audit_text = "".join(r["t"] for r in await conn.fetch("SELECT concat_ws(' ', action, object_type, object_id,"
                                                          " detail::text) AS t FROM audit_log"))  # fmt: skip
    for canary in [*CANARIES, *receipts, "bid"]:
        assert canary not in audit_text.replace("bids_opened", ""), canary
    logs = captured_logs()
    for canary in CANARIES:
        assert canary not in logs, canary

    # At the deadline the bids open once; the funder sees them.
    client.cookies.clear()
    await close_bidding(conn, market.sealed["id"])
    first = await bids_service.open_bids(conn, market.sealed["id"])
    again = await bids_service.open_bids(conn, market.sealed["id"])
    assert (first.opened, first.count) == (True, 3) and (again.opened, again.count) == (False, 3)
    rows = await conn.fetch(
        "SELECT detail FROM audit_log WHERE action = 'tender.bids_opened' AND object_id = $1", str(market.sealed["id"])
    )
    assert len(rows) == 1
    detail = json.loads(rows[0]["detail"])
    assert detail["count"] == 3 and sorted(detail["receipts"]) == sorted(
        [market.bid_a["receipt"], market.bid_b["receipt"],
         (await client.get(f"/api/bids/{market.bid_b2['id']}", headers=market.org_b)).json()["receipt"]]
    )  # fmt: skip
    opened = await client.get(f"/api/tenders/{market.sealed['id']}/bids", headers=market.funder)
    assert opened.status_code == 200
    assert sorted(b["price_fen"] for b in opened.json()) == [CANARY_A, CANARY_B, CANARY_B2]
    one = await client.get(f"/api/bids/{market.bid_a['id']}", headers=market.funder)
    assert one.status_code == 200 and one.json()["plan"] == PLAN_A and one.json()["events"] == []
    # Other funders and other organisations still get nothing.
    other_funder = await bearer(client, await username_of(conn, await create_account(conn, "funder")))
    assert (await client.get(f"/api/bids/{market.bid_a['id']}", headers=other_funder)).status_code == 404
    assert (await client.get(f"/api/tenders/{market.sealed['id']}/bids", headers=other_funder)).status_code == 404
    assert (await client.get(f"/api/bids/{market.bid_b['id']}", headers=market.org_a)).status_code == 404
    # The tender without bids stays sealed until its own deadline, whatever happened to the other.
    sealed_again = await client.get(f"/api/tenders/{market.empty['id']}/bids", headers=market.funder)
    assert sealed_again.status_code == 409


async def test_the_funder_asking_early_gets_the_same_answer_with_or_without_bids(client, conn):
    market = await _market(client, conn)
    with_bids = await client.get(f"/api/tenders/{market.sealed['id']}/bids", headers=market.funder)
    without = await client.get(f"/api/tenders/{market.empty['id']}/bids", headers=market.funder)
    assert with_bids.status_code == without.status_code == 409
    assert with_bids.json()["detail"] == without.json()["detail"]
    with pytest.raises(Exception, match="sealed"):
        await bids_service.open_bids(conn, market.sealed["id"])
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", market.sealed["id"]) == "open"
