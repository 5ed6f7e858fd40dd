"""Sealed bids through the API: eligibility with reasons, budget caps, the deadline, revisions and receipts."""

from __future__ import annotations

import datetime as dt
import hashlib

import msgspec

from api.services import eligibility
from tests.factories import create_account, create_org, username_of
from tests.factories_tendering import close_bidding, create_district, tender_body
from tests.helpers import bearer


async def _headers(client, conn, account_id):
    return await bearer(client, await username_of(conn, account_id))


async def _tender(client, conn, **overrides):
    d = await create_district(conn)
    funder = await _headers(client, conn, d.funder_account)
    response = await client.post("/api/tenders", json=tender_body(d.item_code, **overrides), headers=funder)
    assert response.status_code == 201, response.text
    return d, funder, response.json()


def bid(lot_id: int, price_fen: int = 15_000_000, **kw):
    return {
        "lot_id": lot_id,
        "price_fen": price_fen,
        "hours": 1200,
        "plan": "每周五天助餐，配送上门",
        "team": "社工3名",
        **kw,
    }


async def test_bid_gets_a_receipt_that_changes_on_revision_and_can_be_withdrawn(client, conn):
    _, _, tender = await _tender(client, conn)
    lot_id = tender["lots"][0]["id"]
    org = await _headers(client, conn, await create_account(conn, "organisation"))
    response = await client.post("/api/bids", json=bid(lot_id), headers=org)
    assert response.status_code == 201, response.text
    placed = response.json()
    assert len(placed["receipt"]) == 64 and placed["status"] == "submitted"
    assert await conn.fetchval("SELECT receipt FROM bids WHERE public_id = $1", placed["id"]) == placed["receipt"]
    again = await client.post("/api/bids", json=bid(lot_id), headers=org)
    assert again.status_code == 409
    terms = {k: v for k, v in bid(lot_id, 14_000_000).items() if k != "lot_id"}
    revised = (await client.put(f"/api/bids/{placed['id']}", json=terms, headers=org)).json()
    assert revised["price_fen"] == 14_000_000 and revised["receipt"] != placed["receipt"]
    assert [e["event"] for e in revised["events"]] == ["submitted", "revised"]
    assert [e["receipt"] for e in revised["events"]] == [placed["receipt"], revised["receipt"]]
    withdrawn = (await client.post(f"/api/bids/{placed['id']}/withdraw", headers=org)).json()
    assert withdrawn["status"] == "withdrawn"
    assert (await client.put(f"/api/bids/{placed['id']}", json=terms, headers=org)).status_code == 409
    # After withdrawing, a fresh bid on the same lot is allowed.
    assert (await client.post("/api/bids", json=bid(lot_id), headers=org)).status_code == 201
    mine = (await client.get("/api/bids", headers=org)).json()
    assert sorted(b["status"] for b in mine) == ["submitted", "withdrawn"]


async def test_receipt_is_the_sha256_of_the_canonical_sealed_bid(client, conn):
    from api.services.bids import SealedContent, receipt_of

    content = SealedContent(
        bid="b", tender_id=1, lot_id=2, organisation_id=3, price_fen=100, hours=1, plan="p", team="",
        conflict_of_interest=False, conflict_detail="", sealed_at="2026-01-01T00:00:00+08:00",
    )  # fmt: skip
    expected = hashlib.sha256(msgspec.json.encode(msgspec.to_builtins(content), order="sorted")).hexdigest()
    assert receipt_of(content) == expected
    assert receipt_of(msgspec.structs.replace(content, price_fen=101)) != expected


async def test_bid_above_the_budget_or_with_absurd_amounts_is_refused(client, conn):
    _, _, tender = await _tender(client, conn)
    lot = tender["lots"][0]
    org = await _headers(client, conn, await create_account(conn, "organisation"))
    for price in (lot["budget_fen"] + 1, 0, -100, 10**15):
        response = await client.post("/api/bids", json=bid(lot["id"], price), headers=org)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["price_fen"]
    response = await client.post("/api/bids", json=bid(lot["id"], hours=-5), headers=org)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "hours"
    assert (await client.post("/api/bids", json=bid(lot["id"], plan=" "), headers=org)).status_code == 400
    assert (await client.post("/api/bids", json=bid(lot["id"], lot["budget_fen"]), headers=org)).status_code == 201


async def test_bid_after_the_deadline_is_a_conflict(client, conn):
    _, _, tender = await _tender(client, conn)
    lot_id = tender["lots"][0]["id"]
    org = await _headers(client, conn, await create_account(conn, "organisation"))
    placed = (await client.post("/api/bids", json=bid(lot_id), headers=org)).json()
    await close_bidding(conn, tender["id"])
    late = await client.post("/api/bids", json=bid(lot_id, 10_000_000), headers=await _headers(
        client, conn, await create_account(conn, "organisation")))  # fmt: skip
    assert late.status_code == 409 and "截止" in late.json()["detail"]
    terms = {k: v for k, v in bid(lot_id, 1_000_000).items() if k != "lot_id"}
    assert (await client.put(f"/api/bids/{placed['id']}", json=terms, headers=org)).status_code == 409
    assert (await client.post(f"/api/bids/{placed['id']}/withdraw", headers=org)).status_code == 409
    assert await conn.fetchval("SELECT price_fen FROM bids WHERE public_id = $1", placed["id"]) == 15_000_000


async def test_ineligible_organisations_see_why_and_cannot_bid(client, conn):
    _, _, tender = await _tender(client, conn, min_rating=4, min_years_registered=3)
    lot_id = tender["lots"][0]["id"]
    today = dt.date.today()
    cases = {
        "rating_too_low": await create_org(conn, rating=3),
        "unrated": await create_org(conn, rating=None),
        "rating_expired": await create_org(conn, rating=5, rating_expires_on=today - dt.timedelta(days=1)),
        "registered_too_recently": await create_org(conn, registered_on=today - dt.timedelta(days=400)),
        "not_verified": await create_org(conn, status="suspended"),
    }
    barred = await create_org(conn)
    await _unqualified_contract(conn, barred, tender["funder_id"])
    cases["unqualified_grade"] = barred
    for code, org_id in cases.items():
        headers = await _headers(client, conn, await create_account(conn, "organisation", organisation_id=org_id))
        why = (await client.get(f"/api/tenders/{tender['id']}/eligibility", headers=headers)).json()
        assert why["eligible"] is False and code in [r["code"] for r in why["reasons"]], (code, why)
        listed = (await client.get("/api/tenders/for-me", headers=headers)).json()["items"]
        mine = next(i for i in listed if i["tender"]["id"] == tender["id"])
        assert mine["eligible"] is False and code in [r["code"] for r in mine["reasons"]]
        response = await client.post("/api/bids", json=bid(lot_id), headers=headers)
        assert response.status_code == 403, (code, response.text)
        assert f"eligibility.{code}" in [e["field"] for e in response.json()["errors"]]
    good = await _headers(client, conn, await create_account(conn, "organisation"))
    why = (await client.get(f"/api/tenders/{tender['id']}/eligibility", headers=good)).json()
    assert why == {"tender_id": tender["id"], "eligible": True, "reasons": []}
    conflicted = bid(lot_id, conflict_of_interest=True, conflict_detail="理事长为居委会主任亲属")
    response = await client.post("/api/bids", json=conflicted, headers=good)
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "eligibility.conflict_of_interest"
    assert await conn.fetchval("SELECT count(*) FROM bids b JOIN lots l ON l.id = b.lot_id WHERE l.tender_id = $1",
                               tender["id"]) == 0  # fmt: skip


async def _unqualified_contract(conn, org_id: int, funder_id: int) -> None:
    """An award and a contract graded 'unqualified' a month ago (the minimum rows the schema needs)."""
    other = await conn.fetchval(
        "INSERT INTO tenders (funder_id, catalogue_item_id, title, bids_open_at, bids_close_at, price_weight_pct,"
        " created_by, status) SELECT $1, (SELECT min(id) FROM catalogue_items), '旧项目', now() - interval '2 years',"
        " now() - interval '23 months', 30, (SELECT min(id) FROM accounts), 'closed' RETURNING id",
        funder_id,
    )
    lot = await conn.fetchval(
        "INSERT INTO lots (tender_id, number, title, budget_fen, staff_hours, contract_months)"
        " VALUES ($1, 1, '旧标段', 100000, 10, 12) RETURNING id",
        other,
    )
    bid_id = await conn.fetchval(
        "INSERT INTO bids (lot_id, organisation_id, price_fen, hours, plan, receipt) VALUES ($1, $2, 90000, 10, 'x',"
        " repeat('a', 64)) RETURNING id",
        lot,
        org_id,
    )
    run = await conn.fetchval(
        "INSERT INTO match_runs (model, subject_type, subject_id, inputs_version, time_limit_s)"
        " VALUES ('award', 'tender', $1, 1, 5) RETURNING id",
        other,
    )
    award = await conn.fetchval(
        "INSERT INTO awards (lot_id, bid_id, run_id, organisation_id, price_fen, score, reasons, status)"
        " VALUES ($1, $2, $3, $4, 90000, 80, '{}', 'final') RETURNING id",
        lot,
        bid_id,
        run,
        org_id,
    )
    await conn.execute(
        "INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, signed_at, starts_on,"
        " ends_on, status, grade, graded_at) VALUES ($1, $2, $3, 90000, current_date - 300,"
        " now() - interval '300 days', current_date - 300, current_date - 30, 'completed', 'unqualified',"
        " now() - interval '30 days')",
        award,
        funder_id,
        org_id,
    )


def test_eligibility_rules_are_pure_and_each_has_a_reason():
    today = dt.date(2026, 6, 1)
    good = eligibility.OrgFacts("verified", 4, dt.date(2028, 1, 1), dt.date(2015, 1, 1))
    rules = eligibility.TenderRules(min_rating=3, rating_must_be_valid=True, min_years_registered=2,
                                    unqualified_bar_years=1)  # fmt: skip
    assert eligibility.reasons(good, rules, today=today) == []
    graded = msgspec.structs.replace(good, last_unqualified_at=dt.datetime(2025, 9, 1, tzinfo=dt.UTC))
    assert [r.code for r in eligibility.reasons(graded, rules, today=today)] == ["unqualified_grade"]
    # The bar lasts the funder's number of years, then lifts.
    assert eligibility.reasons(graded, rules, today=dt.date(2026, 9, 2)) == []
    lenient = msgspec.structs.replace(rules, unqualified_bar_years=0)
    assert eligibility.reasons(graded, lenient, today=today) == []
    expired = msgspec.structs.replace(good, rating_expires_on=dt.date(2026, 5, 31))
    assert [r.code for r in eligibility.reasons(expired, rules, today=today)] == ["rating_expired"]
    assert eligibility.reasons(expired, msgspec.structs.replace(rules, rating_must_be_valid=False), today=today) == []
    assert [r.code for r in eligibility.reasons(good, rules, today=today, conflict_of_interest=True)] == [
        "conflict_of_interest"
    ]
    assert all(r.message in eligibility.MESSAGES for r in eligibility.reasons(
        eligibility.OrgFacts("pending", None, None, today), rules, today=today, conflict_of_interest=True))  # fmt: skip
