"""The home-visit demo: org.leling holds a home-care contract with households and carers, today and tomorrow are
planned (each visit in its carer's calendar), and the board and a carer's phone page render on the demo."""

from __future__ import annotations

import datetime as dt

from api.services.types import SHANGHAI
from tests.helpers import login
from tests.pages_kit import page_context


async def test_the_demo_has_a_plannable_home_care_day_with_carers_and_planned_visits(demo_conn, demo_client):
    contract = await demo_conn.fetchrow(
        "SELECT c.id, a.id AS org_account FROM contracts c JOIN awards aw ON aw.id = c.award_id"
        " JOIN tenders t ON t.id = (SELECT tender_id FROM lots WHERE id = aw.lot_id)"
        " JOIN memberships m ON m.organisation_id = c.organisation_id JOIN accounts a ON a.id = m.account_id"
        " WHERE t.title = '开鲁新村居家照护上门服务项目' AND a.username = 'org.leling'"
    )
    assert contract is not None
    carers = await demo_conn.fetchval("SELECT count(*) FROM carers WHERE joined_at IS NOT NULL AND active")
    assert carers >= 8
    today = dt.datetime.now(SHANGHAI).date()
    planned = await demo_conn.fetch(
        "SELECT d.day, count(pv.*) AS n, count(cm.*) AS held FROM visit_days d"
        " JOIN planned_visits pv ON pv.visit_day_id = d.id AND pv.status <> 'released'"
        " LEFT JOIN commitments cm ON cm.planned_visit_id = pv.id AND cm.status = 'active'"
        " WHERE d.contract_id = $1 GROUP BY d.day ORDER BY d.day",
        contract["id"],
    )
    assert [r["day"] for r in planned] == [today, today + dt.timedelta(days=1)]
    assert all(r["n"] >= 10 and r["held"] == r["n"] for r in planned)
    await login(demo_client, "org.leling", "demo-org-2026")
    board = await page_context(demo_client, f"/visits/contracts/{contract['id']}?day={today.isoformat()}")
    assert len(board["board"].routes) >= 4 and board["board"].latest_run.status == "succeeded"
