"""Pages of the review panel, award runs and notices: rendered in Chinese, forms work, tenants are kept apart."""

from __future__ import annotations

from tests import factories
from tests import factories_awards as fa
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context
from tests.test_awards_api import contested_tender, run_now
from web.assets import static_url


async def test_the_public_notice_page_needs_no_login_and_shows_winners_only(client, conn):
    tender, _ = await contested_tender(conn)
    funder = await fa.funder_account(conn, tender)
    await login(client, funder)
    sheet = await client.get(f"/reviews/{tender}")
    assert sheet.status_code == 200 and "开始评标运算" in sheet.text and "评审小组" in sheet.text
    started = await post_form(client, f"/reviews/{tender}/award-runs", {}, page=f"/reviews/{tender}")
    assert started.status_code in (302, 303), started.text
    run_path = started.headers["location"]
    run_id = int(run_path.rsplit("/", 1)[1])
    await run_now(conn, run_id)
    run_page = await client.get(run_path)
    assert (
        run_page.status_code == 200
        and "强社工中心" in run_page.text
        and static_url("js/run-progress.js") in run_page.text
    )
    # A small tender is solved well inside its work budget: the page says the same inputs give the same award.
    assert "可复现" in run_page.text
    assert await conn.fetchval("SELECT result->'reproducible' FROM match_runs WHERE id = $1", run_id) == "true"
    # Publishing asks first: the winners, the total and the notice period that will start.
    assert f'href="{run_path}/publish"' in run_page.text
    asked = await page_context(client, f"{run_path}/publish")
    assert asked.template == "confirm/award_publish.html"
    proposed = asked.context["proposed"]
    assert proposed and {a.status for a in proposed} == {"proposed"}
    assert asked.context["total_fen"] == sum(a.price_fen for a in proposed)
    assert f"为期 {asked.context['rules'].notice_days} 天的公示期" in asked.response.text
    assert "强社工中心" in asked.response.text
    published = await post_form(client, f"{run_path}/publish", {}, page=f"{run_path}/publish")
    assert published.headers["location"] == f"/notices/{tender}"
    # The funder answers objections on its notice; it is not offered a form to file one against itself.
    own = await page_context(client, f"/notices/{tender}")
    assert own.context["view"].is_funder and not own.context["view"].can_object
    assert f'action="/notices/{tender}/objections"' not in own.response.text
    refused = await post_form(
        client, f"/notices/{tender}/objections", {"body": "自己质疑自己"}, page=f"/notices/{tender}"
    )
    assert refused.status_code == 409
    # Once published, there is nothing left to confirm: the question page sends the funder back to the run.
    again = await client.get(f"{run_path}/publish", follow_redirects=False)
    assert again.status_code in (302, 303) and again.headers["location"] == run_path
    await client.post(
        "/logout", data={"_csrf_token": parse_page((await client.get("/notices")).text).inputs["_csrf_token"]}
    )
    client.cookies.clear()
    listing = await client.get("/notices")
    assert listing.status_code == 200 and f"/notices/{tender}" in listing.text
    page = await client.get(f"/notices/{tender}")
    assert page.status_code == 200
    texts = " ".join(parse_page(page.text).texts)
    assert "强社工中心" in texts and "乙" in texts
    assert "每周上门服务两次" not in page.text and "90,000" not in texts and "99,000" not in texts
    assert "登录后提出质疑" in texts
    # As a procurement result notice: the bids received, every bidder's total score, when objections close and
    # whom they go to.
    public = await page_context(client, f"/notices/{tender}")
    view = public.context["view"]
    assert view.bids_received == 6 and len(view.bidders) == 6 and not view.can_object
    assert view.objections_close_at == view.notice.notice_ends_at and view.notice_days == 15
    assert "（公示期内，自发布之日起 15 天）" in texts
    runner_up = next(b for b in view.bidders if b.organisation_name == "甲")
    assert runner_up.rank == 2 and not runner_up.won
    assert "收到投标" in texts and "质疑截止时间" in texts and "投标人及评审得分" in texts
    assert f"{runner_up.score:.2f}" in texts and "无效投标：已申报利益冲突" in texts
    assert f"{view.notice.funder_name}。质疑请在本页以书面形式提出，出资方在 5 天内逐件答复。" in texts


async def test_a_reviewer_scores_through_the_page_and_the_other_tenant_gets_404(client, conn):
    tender = await fa.create_tender(conn)
    lot = await fa.create_lot(conn, tender)
    bid = await fa.create_bid(conn, lot)
    await fa.create_bid(conn, lot, price_fen=9_000_000)
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)
    await login(client, await factories.username_of(conn, reviewer))
    listing = await client.get("/reviews")
    assert listing.status_code == 200 and f"/reviews/{tender}" in listing.text
    pid = await fa.public_id(conn, bid)
    bad = await post_form(
        client, f"/reviews/{tender}/bids/{pid}", {"score_0": "abc", "score_1": "80"}, page=f"/reviews/{tender}"
    )
    assert bad.status_code == 422
    ok = await post_form(
        client,
        f"/reviews/{tender}/bids/{pid}",
        {"score_0": "88", "score_1": "70", "comment": "好"},
        page=f"/reviews/{tender}",
    )
    assert ok.status_code in (302, 303), ok.text
    assert float(await conn.fetchval("SELECT quality_score FROM reviews WHERE bid_id = $1", bid)) == 80.8
    other = await fa.create_tender(conn)
    assert (await client.get(f"/reviews/{other}")).status_code == 404
    assert (await client.get("/award-runs/1")).status_code == 403


async def test_objections_through_the_page(client, conn):
    tender, _ = await contested_tender(conn)
    funder = await fa.funder_account(conn, tender)
    await login(client, funder)
    run_path = (await post_form(client, f"/reviews/{tender}/award-runs", {}, page=f"/reviews/{tender}")).headers[
        "location"
    ]
    await run_now(conn, int(run_path.rsplit("/", 1)[1]))
    await post_form(client, f"{run_path}/publish", {}, page=run_path)
    client.cookies.clear()
    await login(client, await factories.username_of(conn, await factories.create_account(conn, "volunteer")))
    empty = await post_form(client, f"/notices/{tender}/objections", {"body": ""}, page=f"/notices/{tender}")
    assert empty.status_code == 422 and parse_page(empty.text).errors.get("body")
    filed = await post_form(
        client, f"/notices/{tender}/objections", {"body": "价格偏低，存疑"}, page=f"/notices/{tender}"
    )
    assert filed.status_code in (302, 303)
    assert await conn.fetchval("SELECT count(*) FROM objections WHERE tender_id = $1", tender) == 1


async def test_the_run_page_is_given_the_winner_of_each_lot_and_why(client, conn):
    tender, bids = await contested_tender(conn)
    await login(client, await fa.funder_account(conn, tender))
    run_path = (await post_form(client, f"/reviews/{tender}/award-runs", {}, page=f"/reviews/{tender}")).headers[
        "location"
    ]
    queued = await page_context(client, run_path)
    assert queued.template == "awards/run.html"
    assert queued["run"].status == "queued" and queued["result"] == {} and queued["view"].awards == []
    await run_now(conn, int(run_path.rsplit("/", 1)[1]))
    rendered = await page_context(client, run_path)
    assert rendered["view"].tender.id == tender and rendered["run"].status == "succeeded"
    pid = {name: await fa.public_id(conn, b) for name, b in bids.items()}
    won = {a.bid_id for a in rendered["view"].awards}
    # strong1 (95) wins lot 1; strong is then held to one lot, so rival2 (80) wins lot 2.
    assert won == {bids["strong1"], bids["rival2"]}
    result = rendered["result"]
    assert result["reproducible"] is True
    winners = {lot["number"]: lot["winner_bid"] for lot in result["lots"]}
    assert winners == {1: pid["strong1"], 2: pid["rival2"]}
    lot2 = next(lot for lot in result["lots"] if lot["number"] == 2)
    assert lot2["reasons"]["eligible_bids"] == 3
