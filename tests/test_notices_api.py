"""The public award notice and objections: public without login, the objection window, upheld objections."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories
from tests import factories_awards as fa
from tests.helpers import bearer
from tests.test_awards_api import contested_tender, run_now


async def published(client, conn):
    """A contested tender, awarded and published; returns (tender, funder headers)."""
    tender, bids = await contested_tender(conn)
    funder = await bearer(client, await fa.funder_account(conn, tender))
    run_id = (await client.post(f"/api/awards/tenders/{tender}/runs", headers=funder)).json()["id"]
    await run_now(conn, run_id)
    response = await client.post(f"/api/awards/tenders/{tender}/publish", headers=funder)
    assert response.status_code == 200, response.text
    return tender, funder, bids


async def test_the_notice_is_public_and_shows_no_losing_bid_or_personal_data(client, conn):
    tender, _, _ = await published(client, conn)
    listed = (await client.get("/api/notices")).json()
    assert [n["tender_id"] for n in listed["items"]] == [tender]
    notice = await client.get(f"/api/notices/{tender}")
    assert notice.status_code == 200
    body = notice.json()
    assert body["notice"]["in_period"] is True and body["can_object"] is False
    assert {a["organisation_name"] for a in body["awards"]} == {"强社工中心", "乙"}
    assert sorted(a["price_fen"] for a in body["awards"]) == [8_000_000, 8_500_000]
    # Losing prices and every bid's plan stay off the public notice.
    assert "9000000" not in notice.text and "9900000" not in notice.text and "每周上门服务两次" not in notice.text
    assert "plan" not in notice.text
    starts = await conn.fetchrow("SELECT notice_starts_at, notice_ends_at, status FROM tenders WHERE id = $1", tender)
    assert (starts["notice_ends_at"] - starts["notice_starts_at"]).days == 15 and starts["status"] == "notice"
    assert await conn.fetchval("SELECT count(*) FROM awards WHERE status = 'published'") == 2


async def test_the_notice_counts_the_bids_and_shows_every_bidders_score_and_when_objections_close(client, conn):
    tender, funder, bids = await published(client, conn)
    body = (await client.get(f"/api/notices/{tender}")).json()
    # Six live bids on two lots, as a result notice says: how many came in, and each bidder's total and rank.
    assert body["bids_received"] == len(bids) == 6
    by_name = {(b["lot_number"], b["organisation_name"]): b for b in body["bidders"]}
    assert {k for k, b in by_name.items() if b["won"]} == {(1, "强社工中心"), (2, "乙")}
    assert [b["organisation_name"] for b in body["bidders"] if b["lot_number"] == 2] == ["乙", "强社工中心", "丙"]
    assert [b["rank"] for b in body["bidders"] if b["lot_number"] == 2] == [1, 2, 3]
    # The winners' totals are the awards' scores; the runner-up on lot 1 scored less than the winner.
    score_of = {(a["lot_number"], a["organisation_name"]): a["score"] for a in body["awards"]}
    assert all(by_name[k]["score"] == pytest.approx(v) for k, v in score_of.items())
    assert 0 < by_name[(1, "甲")]["score"] < by_name[(1, "强社工中心")]["score"]
    assert by_name[(1, "甲")]["rank"] == 2 and not by_name[(1, "甲")]["won"]
    conflicted = next(b for b in body["bidders"] if b["invalid_reason"] is not None)
    assert conflicted["valid"] is False and conflicted["invalid_reason"] == "conflict_of_interest"
    assert conflicted["rank"] is None and conflicted["score"] == 0
    # Objections close with the notice period (the funder's 15 days from publication), replies within 5 days.
    ends = await conn.fetchval("SELECT notice_ends_at FROM tenders WHERE id = $1", tender)
    assert dt.datetime.fromisoformat(body["objections_close_at"]) == ends
    assert body["objection_reply_days"] == 5
    # Losing prices and plans stay off it, and the funder is not offered an objection against its own notice.
    assert "9000000" not in str(body) and "plan" not in str(body)
    assert (await client.get(f"/api/notices/{tender}", headers=funder)).json()["can_object"] is False


async def test_the_notice_never_counts_or_scores_a_bid_before_the_deadline(client, conn):
    tender, _, _ = await published(client, conn)
    # A notice whose tender's deadline had not passed (no publication can make one, but the bids' statements
    # refuse it themselves): no bid is counted, named or scored.
    await conn.execute("UPDATE tenders SET bids_close_at = now() + interval '1 day' WHERE id = $1", tender)
    body = (await client.get(f"/api/notices/{tender}")).json()
    assert body["bids_received"] == 0 and body["bidders"] == []


async def test_an_unpublished_tender_has_no_notice(client, conn):
    tender, _ = await contested_tender(conn)
    assert (await client.get(f"/api/notices/{tender}")).status_code == 404
    assert (await client.get("/api/notices")).json()["items"] == []


async def test_objections_during_the_period_and_409_after_it(client, conn):
    tender, funder, _ = await published(client, conn)
    anyone = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, "volunteer")))
    anon = await client.post(f"/api/notices/{tender}/objections", json={"body": "评分不公"})
    assert anon.status_code == 401
    filed = await client.post(f"/api/notices/{tender}/objections", json={"body": "评分不公"}, headers=anyone)
    assert filed.status_code == 201, filed.text
    due = await conn.fetchval("SELECT reply_due_at - filed_at FROM objections WHERE id = $1", filed.json()["id"])
    assert due.days == 5
    # The filer and the funder see the text; the public sees only that there is one.
    assert (await client.get(f"/api/notices/{tender}", headers=anyone)).json()["objections"][0]["body"] == "评分不公"
    public = (await client.get(f"/api/notices/{tender}")).json()
    assert public["objections"] == [] and public["objections_total"] == 1
    other = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, "volunteer")))
    assert (await client.get(f"/api/notices/{tender}", headers=other)).json()["objections"] == []
    blank = await client.post(f"/api/notices/{tender}/objections", json={"body": "   "}, headers=anyone)
    assert blank.status_code == 400
    wrong_lot = await client.post(
        f"/api/notices/{tender}/objections", json={"body": "x", "lot_id": 999999}, headers=anyone
    )
    assert wrong_lot.status_code == 422
    await conn.execute(
        "UPDATE tenders SET notice_starts_at = now() - interval '16 days', notice_ends_at = now() - interval '1 day'"
        " WHERE id = $1",
        tender,
    )
    late = await client.post(f"/api/notices/{tender}/objections", json={"body": "迟到的质疑"}, headers=anyone)
    assert late.status_code == 409
    assert await conn.fetchval("SELECT count(*) FROM objections") == 1
    assert funder  # the funder's answer is tested below


async def test_an_upheld_objection_reopens_the_lot_and_a_rerun_awards_it_again(client, conn):
    tender, funder, bids = await published(client, conn)
    lot1 = await conn.fetchval("SELECT lot_id FROM bids WHERE id = $1", bids["strong1"])
    filer = await bearer(
        client, await factories.username_of(conn, await factories.create_account(conn, "organisation"))
    )
    objection = (
        await client.post(
            f"/api/notices/{tender}/objections", json={"body": "中标方存在利益冲突", "lot_id": lot1}, headers=filer
        )
    ).json()
    # Only the tender's funder answers.
    other_funder = await bearer(
        client, await factories.username_of(conn, await factories.create_account(conn, "funder"))
    )
    answer = {"outcome": "upheld", "reply": "经核实，质疑成立"}
    url = f"/api/notices/objections/{objection['id']}/answer"
    assert (await client.post(url, json=answer, headers=other_funder)).status_code == 404
    assert (await client.post(url, json=answer, headers=filer)).status_code == 403
    assert (await client.post(url, json={"outcome": "maybe", "reply": "x"}, headers=funder)).status_code == 400
    response = await client.post(url, json=answer, headers=funder)
    assert response.status_code == 200 and response.json()["outcome"] == "upheld"
    assert (await client.post(url, json=answer, headers=funder)).status_code == 409
    assert await conn.fetchval("SELECT status FROM lots WHERE id = $1", lot1) == "reopened"
    assert await conn.fetchval("SELECT status FROM awards WHERE lot_id = $1", lot1) == "reopened"
    actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["objection.upheld", "lot.reopen"]
    # A new run decides the reopened lot only, without the overturned bid; the other lot's award stands.
    rerun = await client.post(f"/api/awards/tenders/{tender}/runs", headers=funder)
    assert rerun.status_code == 202 and rerun.json()["inputs_version"] == 2
    await run_now(conn, rerun.json()["id"])
    result = (await client.get(f"/api/awards/runs/{rerun.json()['id']}", headers=funder)).json()["run"]["result"]
    assert [e["lot_id"] for e in result["lots"]] == [lot1]
    rival1 = await fa.public_id(conn, bids["rival1"])
    assert result["lots"][0]["winner_bid"] == rival1
    strong1_id = await fa.public_id(conn, bids["strong1"])
    strong1 = next(b for b in result["bids"] if b["bid"] == strong1_id)
    assert strong1["reason"] == "overturned"
    assert (await client.post(f"/api/awards/tenders/{tender}/publish", headers=funder)).status_code == 200
    public = (await client.get(f"/api/notices/{tender}")).json()
    assert sorted(a["status"] for a in public["awards"]) == ["published", "published", "reopened"]


async def test_overdue_answers_are_flagged(client, conn):
    tender, funder, _ = await published(client, conn)
    filer = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, "volunteer")))
    objection = (await client.post(f"/api/notices/{tender}/objections", json={"body": "质疑"}, headers=filer)).json()
    assert objection["overdue"] is False
    await conn.execute("UPDATE objections SET reply_due_at = now() - interval '1 hour' WHERE id = $1", objection["id"])
    seen = (await client.get(f"/api/notices/{tender}", headers=funder)).json()["objections"]
    assert seen[0]["overdue"] is True
