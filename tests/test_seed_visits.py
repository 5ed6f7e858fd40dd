"""The home-visit demo: org.leling holds a home-care contract with households and carers, today and tomorrow are
planned (each visit in its carer's calendar), and the board and a carer's phone page render on the demo."""

from __future__ import annotations

import datetime as dt

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
    # The day the demo was seeded (its template is seeded once per session, which may cross midnight in Shanghai).
    today = await demo_conn.fetchval(
        "SELECT (min(created_at) AT TIME ZONE 'Asia/Shanghai')::date FROM visit_days WHERE contract_id = $1",
        contract["id"],
    )
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


async def test_the_demo_committee_has_tomorrows_respite_visits_planned_as_its_carers_routes(demo_conn, demo_client):
    committee_id = await demo_conn.fetchval(
        "SELECT m.committee_id FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE a.username = $1",
        "committee.kailu4",
    )
    roster = await demo_conn.fetch(
        "SELECT volunteer_id FROM carers WHERE committee_id = $1 AND joined_at IS NOT NULL AND active", committee_id
    )
    assert len(roster) == 3
    day = await demo_conn.fetchrow(
        "SELECT d.id, d.day, (d.created_at AT TIME ZONE 'Asia/Shanghai')::date AS seeded FROM visit_days d"
        " WHERE d.committee_id = $1",
        committee_id,
    )
    assert day is not None and day["day"] == day["seeded"] + dt.timedelta(days=1)
    planned = await demo_conn.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT pv.carer_id) AS carers, count(cm.*) AS held FROM planned_visits pv"
        " LEFT JOIN commitments cm ON cm.planned_visit_id = pv.id AND cm.status = 'active'"
        " WHERE pv.visit_day_id = $1 AND pv.status <> 'released' AND pv.service = 'respite'",
        day["id"],
    )
    assert planned["n"] >= 3 and planned["carers"] >= 2 and planned["held"] == planned["n"]
    # Every request of the day is routed to it: none waits, none was scheduled as a shift.
    states = await demo_conn.fetchrow(
        "SELECT count(*) FILTER (WHERE visit_day_id = $2) AS routed, count(*) FILTER (WHERE visit_day_id IS NULL)"
        " AS other FROM respite_requests q JOIN households h ON h.id = q.household_id"
        " WHERE h.committee_id = $1 AND (lower(q.wanted) AT TIME ZONE 'Asia/Shanghai')::date = $3",
        committee_id, day["id"], day["day"],
    )  # fmt: skip
    # A request for two carers is two visits of the plan, by two carers starting together.
    pairs = await demo_conn.fetch(
        "SELECT count(DISTINCT pv.carer_id) AS carers, count(DISTINCT lower(pv.during)) AS starts"
        " FROM planned_visits pv JOIN respite_requests q ON q.id = pv.respite_request_id"
        " WHERE pv.visit_day_id = $1 AND pv.status <> 'released' AND q.carers_needed = 2 GROUP BY q.id",
        day["id"],
    )
    assert [tuple(p) for p in pairs] == [(2, 1)]
    assert states["routed"] + len(pairs) == planned["n"] and states["other"] == 0
    await login(demo_client, "committee.kailu4", "demo-committee-2026")
    board = await page_context(demo_client, f"/visits/respite?day={day['day'].isoformat()}")
    assert board["board"].latest_run.status == "succeeded" and len(board["board"].routes) >= 2
    assert board["requests"].routed + len(pairs) == planned["n"] and board["requests"].pending == 0
    assert sum(1 for r in board["board"].routes for s in r.stops if s.partner) == 2
    assert "全天路线" in board.response.text and "喘息服务" in board.response.text


# The demo's visit record as the schema holds it: what the pages below show.
_RECORD = """
SELECT (SELECT count(*) FROM visit_notes) AS notes,
       (SELECT count(*) FROM visit_notes WHERE visit_kind = 'home_care') AS care_notes,
       (SELECT count(*) FROM visit_notes n JOIN team_visits tv ON tv.id = n.team_visit_id
        WHERE tv.contact_kind = 'phone') AS call_notes,
       (SELECT count(*) FROM visit_ratings r JOIN team_visits tv ON tv.id = r.team_visit_id
        WHERE tv.contact_kind IN ('phone', 'video')) AS rated_calls,
       (SELECT count(*) FROM visit_ratings WHERE source = 'link') AS by_link,
       (SELECT count(*) FROM visit_ratings WHERE source = 'staff') AS by_staff,
       (SELECT count(*) FROM visit_ratings WHERE score <= 3) AS low,
       (SELECT count(*) FROM visit_ratings r WHERE source = 'link'
        AND NOT EXISTS (SELECT 1 FROM visit_rating_links l WHERE l.rating_id = r.id AND l.sms_status = 'sent'))
       AS unsent,
       (SELECT count(*) FROM signups g JOIN shifts s ON s.id = g.shift_id WHERE s.household_id IS NOT NULL
        AND s.ends_at < now() AND g.status = 'active'
        AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.signup_id = g.id)) AS care_no_shows
"""


async def test_the_demo_has_a_visit_record_its_committee_carer_and_organisation_see(demo_conn, demo_client):
    record = await demo_conn.fetchrow(_RECORD)
    assert record["notes"] >= 100 and record["care_notes"] >= 5 and record["call_notes"] >= 5
    assert record["rated_calls"] == 0 and record["unsent"] == 0 and record["care_no_shows"] == 0
    assert record["by_link"] >= 10 and record["by_staff"] >= 3 and 0 < record["low"] < record["by_link"] // 3

    await login(demo_client, "committee.kailu4", "demo-committee-2026")
    live = await page_context(demo_client, "/incidents")
    assert [(i.status, i.overdue) for i in live["items"]] == [("open", True), ("acknowledged", False)]
    assert live["board"].incidents.overdue == 1 and live["board"].figures.ratings >= 10
    assert "已逾期：当天未确认" in live.response.text
    closed = await page_context(demo_client, "/incidents?closed=true")
    assert [i.status for i in closed["items"]] == ["closed"]
    household = await page_context(demo_client, f"/households/{live['items'][0].household_id}")
    shown = household["record"]
    assert shown.notes and shown.incidents and shown.ratings_shown
    assert any("已报居委会" in n.remarks for n in shown.notes)

    await login(demo_client, "volunteer.demo", "demo-volunteer-2026")
    mine = await page_context(demo_client, "/visits")
    care = [v for v in mine["visits"] if v.visit_kind == "home_care"]
    assert any(v.note_id is not None for v in care) and any(v.note_id is None for v in care)
    assert "填写服务记录" in mine.response.text

    org = await demo_conn.fetchval(
        "SELECT m.organisation_id FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE a.username = $1",
        "org.leling",
    )
    profile = await page_context(demo_client, f"/organisations/{org}")
    visits = profile["performance"].visits
    assert visits.ratings >= 10 and 3.8 <= visits.mean_rating <= 4.8 and visits.suggested_grade is not None
    assert visits.incidents_low + visits.incidents_medium >= 3
