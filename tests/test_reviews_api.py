"""Review panels over the API: secrecy of scores, assignment after the deadline, single-bidder lots, bad input."""

from __future__ import annotations

from tests import factories
from tests import factories_awards as fa
from tests.helpers import bearer


async def reviewed_setup(conn, *, bidders: int = 2):
    """A tender in review with one lot, `bidders` bids and two assigned reviewers."""
    tender = await fa.create_tender(conn)
    lot = await fa.create_lot(conn, tender)
    bids = [await fa.create_bid(conn, lot, price_fen=8_000_000 + i * 500_000) for i in range(bidders)]
    r1, r2 = await fa.create_reviewer(conn), await fa.create_reviewer(conn)
    await fa.assign(conn, tender, r1, r2)
    return tender, lot, bids, r1, r2


def scores(value: float) -> dict:
    return {c["name"]: value for c in fa.CRITERIA}


async def test_a_reviewer_cannot_see_others_scores_until_all_are_in(client, conn):
    tender, _, bids, r1, r2 = await reviewed_setup(conn)
    h1 = await bearer(client, await factories.username_of(conn, r1))
    h2 = await bearer(client, await factories.username_of(conn, r2))
    ids = [await fa.public_id(conn, b) for b in bids]
    for bid in ids:
        response = await client.put(f"/api/reviews/{tender}/bids/{bid}", json={"scores": scores(77)}, headers=h1)
        assert response.status_code == 200, response.text
        assert response.json()["quality_score"] == 77
    await client.put(f"/api/reviews/{tender}/bids/{ids[0]}", json={"scores": scores(55)}, headers=h2)
    sheet = (await client.get(f"/api/reviews/{tender}", headers=h2)).json()
    assert sheet["complete"] is False
    assert {r["reviewer_id"] for r in sheet["reviews"]} == {r2}
    assert "77" not in str([r["scores"] for r in sheet["reviews"]]) and sheet["scores"] == []
    funder = await bearer(client, await fa.funder_account(conn, tender))
    as_funder = (await client.get(f"/api/reviews/{tender}", headers=funder)).json()
    assert as_funder["reviews"] == [] and as_funder["reviews_in"] == 3 and as_funder["reviews_needed"] == 4
    # The last score makes the panel complete: now everyone sees everyone's, and the bid scores appear.
    assert (
        await client.put(f"/api/reviews/{tender}/bids/{ids[1]}", json={"scores": scores(65)}, headers=h2)
    ).is_success
    sheet = (await client.get(f"/api/reviews/{tender}", headers=h2)).json()
    assert sheet["complete"] is True
    assert {r["reviewer_id"] for r in sheet["reviews"]} == {r1, r2}
    by_bid = {s["bid"]: s for s in sheet["scores"]}
    # Price weight 30: the cheaper bid gets all 30 price points; quality (77+55)/2 × 0.7 = 46.2.
    assert by_bid[ids[0]]["price_score"] == 30 and by_bid[ids[0]]["total"] == 76.2
    assert round(by_bid[ids[1]]["price_score"], 3) == round(8_000_000 / 8_500_000 * 30, 3)
    # And the scores are frozen.
    late = await client.put(f"/api/reviews/{tender}/bids/{ids[1]}", json={"scores": scores(10)}, headers=h2)
    assert late.status_code == 409


async def test_an_unassigned_reviewer_and_other_roles_get_nothing(client, conn):
    tender, _, bids, _, _ = await reviewed_setup(conn)
    outsider = await bearer(client, await factories.username_of(conn, await fa.create_reviewer(conn)))
    bid = await fa.public_id(conn, bids[0])
    assert (await client.get(f"/api/reviews/{tender}", headers=outsider)).status_code == 404
    put = await client.put(f"/api/reviews/{tender}/bids/{bid}", json={"scores": scores(90)}, headers=outsider)
    assert put.status_code == 404
    assert (await client.get("/api/reviews", headers=outsider)).json() == []
    other_funder = await bearer(
        client, await factories.username_of(conn, await factories.create_account(conn, "funder"))
    )
    assert (await client.get(f"/api/reviews/{tender}", headers=other_funder)).status_code == 404
    for role in ("organisation", "committee", "volunteer"):
        h = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, role)))
        assert (await client.get(f"/api/reviews/{tender}", headers=h)).status_code == 403
    assert (await client.get(f"/api/reviews/{tender}")).status_code == 401
    assert await conn.fetchval("SELECT count(*) FROM reviews") == 0


async def test_before_the_deadline_nothing_is_reviewable(client, conn):
    tender = await fa.create_tender(conn, closed=False)
    lot = await fa.create_lot(conn, tender)
    bid = await fa.public_id(conn, await fa.create_bid(conn, lot))
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)  # even if someone slipped one onto the panel early
    h = await bearer(client, await factories.username_of(conn, reviewer))
    assert (await client.get(f"/api/reviews/{tender}", headers=h)).status_code == 404
    assert (await client.get("/api/reviews", headers=h)).json() == []
    put = await client.put(f"/api/reviews/{tender}/bids/{bid}", json={"scores": scores(90)}, headers=h)
    assert put.status_code == 404
    funder = await bearer(client, await fa.funder_account(conn, tender))
    other = await fa.create_reviewer(conn)
    assigned = await client.post(f"/api/reviews/{tender}/reviewers", json={"reviewer_ids": [other]}, headers=funder)
    assert assigned.status_code == 409
    sealed = await client.get(f"/api/reviews/{tender}", headers=funder)
    assert sealed.status_code == 409 and "bids" not in sealed.json()


async def test_the_funder_assigns_reviewers_after_the_deadline_and_it_is_audited(client, conn):
    tender = await fa.create_tender(conn, status="open")  # past the deadline, bids not yet opened by the cron
    await fa.create_bid(conn, await fa.create_lot(conn, tender))
    reviewer = await fa.create_reviewer(conn)
    funder = await bearer(client, await fa.funder_account(conn, tender))
    response = await client.post(f"/api/reviews/{tender}/reviewers", json={"reviewer_ids": [reviewer]}, headers=funder)
    assert response.status_code == 200, response.text
    assert [r["account_id"] for r in response.json()] == [reviewer]
    assert await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender) == "review"
    actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["tender.bids_opened", "tender.reviewer_assign"]
    volunteer = await factories.create_account(conn, "volunteer")
    bad = await client.post(f"/api/reviews/{tender}/reviewers", json={"reviewer_ids": [volunteer]}, headers=funder)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reviewer_ids"
    empty = await client.post(f"/api/reviews/{tender}/reviewers", json={"reviewer_ids": []}, headers=funder)
    assert empty.status_code == 400


async def test_a_single_bidder_lot_is_judged_on_necessity_and_feasibility(client, conn):
    tender, _, bids, r1, _ = await reviewed_setup(conn, bidders=1)
    h1 = await bearer(client, await factories.username_of(conn, r1))
    bid = await fa.public_id(conn, bids[0])
    sheet = (await client.get(f"/api/reviews/{tender}", headers=h1)).json()
    assert sheet["bids"][0]["single_bidder"] is True
    missing = await client.put(f"/api/reviews/{tender}/bids/{bid}", json={"scores": scores(80)}, headers=h1)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "necessary"
    ok = await client.put(
        f"/api/reviews/{tender}/bids/{bid}",
        json={"scores": scores(80), "necessary": True, "feasible": False, "comment": "人手不足"},
        headers=h1,
    )
    assert ok.status_code == 200 and ok.json()["feasible"] is False


async def test_bad_scores_are_clear_problems(client, conn):
    tender, _, bids, r1, _ = await reviewed_setup(conn)
    h1 = await bearer(client, await factories.username_of(conn, r1))
    bid = await fa.public_id(conn, bids[0])
    url = f"/api/reviews/{tender}/bids/{bid}"
    too_high = await client.put(url, json={"scores": scores(101)}, headers=h1)
    assert too_high.status_code == 400 and too_high.headers["content-type"] == "application/problem+json"
    unknown = await client.put(url, json={"scores": {"颜值": 90}}, headers=h1)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "scores"
    yes_no = await client.put(url, json={"scores": scores(50), "necessary": True, "feasible": True}, headers=h1)
    assert yes_no.status_code == 422
    nonsense = await client.put(f"/api/reviews/{tender}/bids/not-a-uuid", json={"scores": scores(5)}, headers=h1)
    assert nonsense.status_code in (400, 404)
    assert await conn.fetchval("SELECT count(*) FROM reviews") == 0
