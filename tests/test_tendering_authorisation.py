"""Who may call each need, tender and bid route: every other role and every other tenant gets 401, 403 or 404,
never data, and nothing changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.factories import create_account, create_funder, username_of
from tests.factories_tendering import District, create_district, create_household, create_need, tender_body
from tests.helpers import bearer

CANARY_FEN = 7_654_321
SECRET_PLAN = "秘密方案-AUTHZ-PLAN"
HOUSEHOLD = "控江路1018弄12号301室"

# Outsiders: anonymous, each role without a stake, and the other tenant of each role that has one.
OUTSIDERS = ("anonymous", "volunteer", "reviewer", "admin", "other_committee", "other_funder", "other_org")


def _need_body(item_code: str) -> dict[str, Any]:
    # Within the dating horizon (LINLI_MAX_HORIZON_DAYS) whenever the test runs.
    starts = dt.date.today() + dt.timedelta(days=30)
    return {"catalogue_code": item_code, "title": "改", "beneficiaries": 5, "starts_on": starts.isoformat(),
            "ends_on": (starts + dt.timedelta(days=180)).isoformat()}  # fmt: skip


async def _outsiders(conn: Any) -> tuple[District, dict[str, int]]:
    """A second district, and an account for each outsider but the anonymous one (other tenants of the same roles)."""
    other = await create_district(conn)
    accounts = {
        "volunteer": await create_account(conn, "volunteer"),
        "reviewer": await create_account(conn, "reviewer"),
        "admin": await create_account(conn, "admin"),
        "other_committee": other.committee_account,
        "other_funder": other.funder_account,
        "other_org": await create_account(conn, "organisation"),
    }
    return other, accounts


async def _outsider_headers(client: Any, conn: Any) -> tuple[District, dict[str, dict[str, str]]]:
    """The second district and each outsider's bearer header (none for the anonymous one)."""
    other, accounts = await _outsiders(conn)
    headers = {role: await bearer(client, await username_of(conn, a)) for role, a in accounts.items()}
    headers["anonymous"] = {}
    return other, headers


Route = tuple[str, str, Any, dict[str, int]]


async def _refusals(
    client: Any, routes: list[Route], headers: dict[str, dict[str, str]], secrets: tuple[str, ...]
) -> list[str]:
    """Each outsider calls each route: every status that is not the expected one, and every secret that leaked."""
    failures = []
    for method, path, body, allowed in routes:
        for role in OUTSIDERS:
            expected = 401 if role == "anonymous" else allowed.get(role, 403)
            response = await client.request(method, path, json=body, headers=headers[role])
            if response.status_code != expected:
                failures.append(f"{role} {method} {path}: {response.status_code} (expected {expected})")
            failures.extend(f"{role} {method} {path}: leaked {secret}" for secret in secrets if secret in response.text)
    return failures


def _routes(s: dict[str, Any]) -> list[Route]:
    """(method, path, body, {role: expected status}); roles not named expect 403 (401 when anonymous)."""
    bid_terms = {"price_fen": 100_000, "hours": 10, "plan": "改"}
    return [
        ("PUT", f"/api/needs/{s['need']}", _need_body(s["item"]), {"other_committee": 404}),
        ("POST", f"/api/needs/{s['need']}/close", None, {"other_committee": 404}),
        ("POST", "/api/needs", _need_body(s["item"]), {"other_committee": 201}),
        ("GET", "/api/needs/households", None, {"other_committee": 200}),
        ("POST", "/api/tenders", tender_body(s["item"]), {"other_funder": 201}),
        ("POST", f"/api/tenders/{s['tender']}/cancel", None, {"other_funder": 404}),
        ("GET", f"/api/tenders/{s['tender']}/bids", None, {"other_funder": 404}),
        ("POST", f"/api/tenders/{s['tender']}/open-bids", None, {"other_funder": 404, "admin": 409}),
        ("GET", f"/api/tenders/{s['tender']}/eligibility", None, {"other_org": 200}),
        ("GET", "/api/tenders/for-me", None, {"other_org": 200}),
        ("GET", "/api/bids", None, {"other_org": 200}),
        ("POST", "/api/bids", {"lot_id": s["lot"], **bid_terms}, {"other_org": 201}),
        ("GET", f"/api/bids/{s['bid']}", None, dict.fromkeys(OUTSIDERS[1:], 404)),
        ("PUT", f"/api/bids/{s['bid']}", bid_terms, {"other_org": 404}),
        ("POST", f"/api/bids/{s['bid']}/withdraw", None, {"other_org": 404}),
        # Readable by anyone logged in: public facts only.
        ("GET", f"/api/needs/{s['need']}", None, dict.fromkeys(OUTSIDERS[1:], 200)),
        ("GET", "/api/needs", None, dict.fromkeys(OUTSIDERS[1:], 200)),
        ("GET", "/api/needs/export.csv", None, dict.fromkeys(OUTSIDERS[1:], 200)),
        ("GET", f"/api/tenders/{s['tender']}", None, dict.fromkeys(OUTSIDERS[1:], 200)),
        ("GET", "/api/tenders", None, dict.fromkeys(OUTSIDERS[1:], 200)),
        ("GET", "/api/tenders/export.csv", None, dict.fromkeys(OUTSIDERS[1:], 200)),
    ]


async def test_each_role_and_other_tenant_gets_401_403_or_404_and_no_data(client, conn):
    d = await create_district(conn)
    household = await create_household(conn, d.committee_id, HOUSEHOLD)
    need = await create_need(conn, d.committee_id, d.personal_item_id, d.committee_account)
    await conn.execute("INSERT INTO need_households VALUES ($1, $2)", need, household)
    tender_need = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    funder = await bearer(client, await username_of(conn, d.funder_account))
    tender = (await client.post("/api/tenders", json=tender_body(d.item_code, [tender_need]), headers=funder)).json()
    owner_org = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    placed = await client.post(
        "/api/bids",
        json={"lot_id": tender["lots"][0]["id"], "price_fen": CANARY_FEN, "hours": 100, "plan": SECRET_PLAN},
        headers=owner_org,
    )
    assert placed.status_code == 201
    bid_id = placed.json()["id"]
    # The other committee and funder are of a second district: other tenants of the same roles.
    other, headers = await _outsider_headers(client, conn)
    state = {"need": need, "item": d.personal_item_code, "tender": tender["id"], "lot": tender["lots"][0]["id"],
             "bid": bid_id}  # fmt: skip
    routes = _routes(state)
    # The tender route's body names the other funder's own catalogue item, the need route's a valid one.
    routes[4] = ("POST", "/api/tenders", tender_body(other.item_code), routes[4][3])
    secrets = (str(CANARY_FEN), "76,543.21", "76543.21", SECRET_PLAN, "1018弄", "12号")
    assert await _refusals(client, routes, headers, secrets) == []
    # Nothing the outsiders did changed the owners' things.
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", need) == "open"
    assert await conn.fetchval("SELECT title FROM needs WHERE id = $1", need) != "改"
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender["id"]) == "open"
    row = await conn.fetchrow("SELECT status, price_fen, plan FROM bids WHERE public_id = $1", bid_id)
    assert (row["status"], row["price_fen"], row["plan"]) == ("submitted", CANARY_FEN, SECRET_PLAN)
    # And the owners themselves may.
    assert (await client.get(f"/api/bids/{bid_id}", headers=owner_org)).json()["price_fen"] == CANARY_FEN
    assert (await client.get(f"/api/tenders/{tender['id']}/bids", headers=funder)).status_code == 409


async def test_pages_refuse_other_roles_and_tenants(client, conn):
    from tests.helpers import login

    d = await create_district(conn)
    need = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    funder = await bearer(client, await username_of(conn, d.funder_account))
    tender = (await client.post("/api/tenders", json=tender_body(d.item_code), headers=funder)).json()
    owner = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    body = {"lot_id": tender["lots"][0]["id"], "price_fen": CANARY_FEN, "hours": 100, "plan": SECRET_PLAN}
    bid_id = (await client.post("/api/bids", json=body, headers=owner)).json()["id"]
    lot_page = f"/tenders/{tender['id']}/lots/{tender['lots'][0]['id']}/bid"
    pages = {
        "/needs/new": {"other_committee": 200},
        f"/needs/{need}/edit": {"other_committee": 404},
        "/tenders/new": {"other_funder": 200},
        lot_page: {"other_org": 200},
        "/bids": {"other_org": 200},
        f"/bids/{bid_id}": dict.fromkeys(OUTSIDERS[1:], 404),
    }
    _, accounts = await _outsiders(conn)
    failures = []
    for role in OUTSIDERS:
        client.cookies.clear()
        if role != "anonymous":
            await login(client, await username_of(conn, accounts[role]))
        for path, allowed in pages.items():
            response = await client.get(path, follow_redirects=False)
            expected = 302 if role == "anonymous" else allowed.get(role, 403)
            if response.status_code != expected:
                failures.append(f"{role} {path}: {response.status_code} (expected {expected})")
            if str(CANARY_FEN) in response.text or SECRET_PLAN in response.text or "76,543.21" in response.text:
                failures.append(f"{role} {path}: leaked the bid")
    assert failures == []


async def test_call_and_proposal_routes_refuse_outsiders(client, conn):
    import datetime as dt

    d = await create_district(conn)
    foundation_id = await create_funder(conn, kind="community_foundation", area_id=d.district_id)
    foundation_account = await create_account(conn, "funder", funder_id=foundation_id)
    foundation = await bearer(client, await username_of(conn, foundation_account))
    close = (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).isoformat()
    body = {
        "title": "创投",
        "proposals_close_at": close,
        "pools": [{"area_of_giving": "为老", "budget_fen": 50_000_000}],
    }
    call = (await client.post("/api/calls", json=body, headers=foundation)).json()
    owner = await bearer(client, await username_of(conn, await create_account(conn, "organisation")))
    terms = {"pool_id": call["pools"][0]["id"], "area_id": d.subdistrict_id, "title": "项目", "plan": SECRET_PLAN,
             "amount_fen": CANARY_FEN}  # fmt: skip
    proposal = (await client.post("/api/proposals", json={"call_id": call["id"], **terms}, headers=owner)).json()
    _, headers = await _outsider_headers(client, conn)
    routes = [
        ("GET", f"/api/proposals/{proposal['id']}", None, dict.fromkeys(OUTSIDERS[1:], 404)),
        ("PUT", f"/api/proposals/{proposal['id']}", terms, {"other_org": 404}),
        ("POST", f"/api/proposals/{proposal['id']}/withdraw", None, {"other_org": 404}),
        ("GET", f"/api/calls/{call['id']}/proposals", None, {"other_funder": 404}),
        ("POST", f"/api/calls/{call['id']}/open-proposals", None, {"other_funder": 404}),
        ("GET", "/api/proposals", None, {"other_org": 200}),
        ("GET", f"/api/calls/{call['id']}", None, dict.fromkeys(OUTSIDERS[1:], 200)),
    ]
    assert await _refusals(client, routes, headers, (str(CANARY_FEN), SECRET_PLAN)) == []
    row = await conn.fetchrow("SELECT status, amount_fen FROM proposals WHERE public_id = $1", proposal["id"])
    assert (row["status"], row["amount_fen"]) == ("submitted", CANARY_FEN)
