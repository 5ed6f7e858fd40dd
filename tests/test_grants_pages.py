"""Portfolio-run pages in Chinese: the foundation scores proposals, starts a run and reads why each was left out."""

from __future__ import annotations

from tests import factories
from tests import factories_grants as fg
from tests.helpers import login, post_form
from tests.pages_kit import page_context
from tests.test_grants_api import contested_call, run_now


async def test_the_foundation_scores_starts_a_run_and_reads_funded_and_left_out_proposals(client, conn):
    call, p = await contested_call(conn)
    assert (await login(client, await fg.funder_account(conn, call))).status_code in (302, 303)
    page = await client.get(f"/calls/{call}/portfolio")
    assert page.status_code == 200 and "项目申报书与评分" in page.text
    scored = await post_form(
        client, f"/calls/{call}/proposals/{p['a1']}/score", {"score": "90"}, page=f"/calls/{call}/portfolio"
    )
    assert scored.status_code in (302, 303), scored.text
    bad = await post_form(
        client, f"/calls/{call}/proposals/{p['a2']}/score", {"score": "abc"}, page=f"/calls/{call}/portfolio"
    )
    assert bad.status_code == 422
    started = await post_form(client, f"/calls/{call}/portfolio-runs", {}, page=f"/calls/{call}/portfolio")
    assert started.status_code in (302, 303), started.text
    run_url = started.headers["location"]
    assert (await run_now(conn, int(run_url.rsplit("/", 1)[1])))["outcome"] == "written"
    run_page = await client.get(run_url)
    assert run_page.status_code == 200
    text = run_page.text
    assert "获资助项目" in text and "未获资助的项目" in text
    assert "申请金额超过其资金池预算" in text  # d1 asks for more than its pool
    assert "得分较低" in text and "每个组织最多1项资助的限制" in text  # c2 outscored; a1 meets the per-org limit
    other = await factories.create_funder(conn, kind="community_foundation")
    await client.post("/logout")
    stranger = await factories.username_of(conn, await factories.create_account(conn, "funder", funder_id=other))
    assert (await login(client, stranger)).status_code in (302, 303)
    assert (await client.get(run_url)).status_code == 404
    assert (await client.get(f"/calls/{call}/portfolio")).status_code == 404


async def test_the_scores_and_run_pages_are_given_the_proposals_the_grants_and_the_reasons(client, conn):
    call, p = await contested_call(conn)
    await login(client, await fg.funder_account(conn, call))
    scores = await page_context(client, f"/calls/{call}/portfolio")
    assert scores.template == "grants/scores.html"
    assert {str(x.public_id): x.score for x in scores["proposals"]} == {
        p["a1"]: None, p["a2"]: 85, p["b1"]: 70, p["c2"]: 60, p["d1"]: 99,
    }  # fmt: skip
    assert scores["runs"] == []
    await post_form(
        client, f"/calls/{call}/proposals/{p['a1']}/score", {"score": "90"}, page=f"/calls/{call}/portfolio"
    )
    started = await post_form(client, f"/calls/{call}/portfolio-runs", {}, page=f"/calls/{call}/portfolio")
    run_url = started.headers["location"]
    run_id = int(run_url.rsplit("/", 1)[1])
    await run_now(conn, run_id)
    rendered = await page_context(client, run_url)
    assert rendered.template == "grants/run.html"
    assert rendered["view"].call.id == call and rendered["run"].status == "succeeded"
    grants = rendered["view"].grants
    assert {str(g.proposal): g.amount_fen for g in grants} == {p["a2"]: 3_000_000, p["b1"]: 5_000_000}
    left = {x["proposal"]: x for x in rendered["result"]["left_out"]}
    assert {k: v["reason"] for k, v in left.items()} == {
        p["a1"]: "outscored",
        p["c2"]: "outscored",
        p["d1"]: "ineligible",
    }
    assert {x["kind"] for x in left[p["a1"]]["limits"]} == {"pool_budget", "per_org_limit"}
    assert [r.id for r in (await page_context(client, f"/calls/{call}/portfolio"))["runs"]] == [run_id]
