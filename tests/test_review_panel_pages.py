"""The review workflow as a funder follows it: assigning says what happened, the panel lists who is on it and a
reviewer who has scored nothing can be taken off (audited), the award button's absence is explained with how many
scores are in, and a run's page speaks plain Chinese with a progress bar."""

from __future__ import annotations

from tests.factories_awards import assign, create_bid, create_lot, create_reviewer, create_tender, funder_account, score
from tests.factories_contracts import create_award
from tests.helpers import login, post_form
from tests.pages_kit import page_context


async def test_the_panel_lists_reviewers_removes_one_who_has_not_scored_and_says_why_the_award_waits(client, conn):
    tender = await create_tender(conn)
    lot = await create_lot(conn, tender)
    bids = [await create_bid(conn, lot), await create_bid(conn, lot)]
    busy, idle, extra = [await create_reviewer(conn) for _ in range(3)]
    await assign(conn, tender, busy, idle)
    await score(conn, bids[0], busy, 80)
    await login(client, await funder_account(conn, tender))
    sheet = f"/reviews/{tender}"
    rendered = await page_context(client, sheet)
    assert [r.account_id for r in rendered.context["sheet"].reviewers] == [busy, idle]
    page = rendered.response.text
    assert "已收到 1 / 4 份评分" in page and "开始评定中标" in page and "award_run_start" not in page
    assert f"/reviews/{tender}/reviewers/{idle}/remove" in page and f"/reviewers/{busy}/remove" not in page
    removed = await post_form(client, f"/reviews/{tender}/reviewers/{idle}/remove", {}, page=sheet)
    assert removed.status_code in (302, 303) and "done=removed" in removed.headers["location"]
    panel = await conn.fetch("SELECT account_id FROM tender_reviewers WHERE tender_id = $1", tender)
    assert [r["account_id"] for r in panel] == [busy]
    assert await conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'tender.reviewer_remove' AND object_id = $1", str(tender)
    ) == 1  # fmt: skip
    refused = await post_form(client, f"/reviews/{tender}/reviewers/{busy}/remove", {}, page=sheet)
    assert refused.status_code == 409 and "已评分的评审专家不能移出评审小组" in refused.text
    assigned = await post_form(client, f"{sheet}/reviewers", {"reviewer_ids": [str(extra)]}, page=sheet)
    assert assigned.status_code in (302, 303) and "done=assigned" in assigned.headers["location"]
    shown = await client.get(assigned.headers["location"])
    assert "评审小组已更新：现有 2 位评审专家" in shown.text


async def test_a_runs_page_shows_a_progress_bar_in_plain_words(client, conn):
    tender = await create_tender(conn, status="awarded")
    lot = await create_lot(conn, tender)
    bid = await create_bid(conn, lot)
    organisation = await conn.fetchval("SELECT organisation_id FROM bids WHERE id = $1", bid)
    await create_award(conn, lot, bid, organisation, 8_000_000, tender, status="proposed")
    run_id = await conn.fetchval("SELECT run_id FROM awards WHERE lot_id = $1", lot)
    # Half-way: the best plan found scores 45 of a possible 90.
    await conn.execute(
        "UPDATE match_runs SET status = 'running', result = NULL, finished_at = NULL, objective = 45, bound = 90,"
        " started_at = now() WHERE id = $1",
        run_id,
    )
    await login(client, await funder_account(conn, tender))
    page = (await client.get(f"/award-runs/{run_id}")).text
    assert 'max="100" value="50"' in page and "任何方案的总分都不会超过" in page
    assert "上界" not in page and "输入版本" not in page and "尝试" not in page
