"""A committee steers its respite day as an organisation steers a contract's (issue 14, step 3): it pins a planned
visit to its carer (or another of its carers that day, at a start within the request's window) and re-plans the rest
of the day around it through the same pipeline, audited the same way; the day is read by its owner in SQL, so another
committee or an organisation gets 404; and on the board page."""

from __future__ import annotations

import datetime as dt

import pytest

from api.services import visit_steering
from api.services.errors import Invalid, NotFound
from api.services.types import SHANGHAI
from api.services.visit_steering import VisitPinCreate
from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from tests.test_respite_routes import plan_here, respite_day
from tests.worker_kit import JobQueueSpy

LIVE = (
    "SELECT id, visit_key, carer_id, lower(during) AS starts_at FROM planned_visits"
    " WHERE visit_day_id = $1 AND status <> 'released' ORDER BY id"
)


async def test_a_committee_pins_a_respite_visit_and_the_re_plan_keeps_it_another_gets_404(conn, redis):
    who, _, roster, day = await respite_day(conn)
    first = await plan_here(conn, redis, who, day)
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE committee_id = $1", who.committee_id)
    before = await conn.fetch(LIVE, day_id)
    visit = before[0]
    queue = JobQueueSpy(redis)
    # Another committee and an organisation find no such day: nothing to list, pin, unpin or re-plan.
    other, _, _, _ = await respite_day(conn)
    organisation = (await fv.create_contract(conn)).organisation()
    for stranger in (other, organisation):
        with pytest.raises(NotFound):
            await visit_steering.pins(conn, stranger, day_id)
        with pytest.raises(NotFound):
            await visit_steering.pin(conn, stranger, day_id, VisitPinCreate(visit_id=visit["id"]))
        with pytest.raises(NotFound):
            await visit_steering.replan(conn, queue, stranger, day_id)
    assert await conn.fetchval("SELECT count(*) FROM visit_pins") == 0
    pin = await visit_steering.pin(conn, who, day_id, VisitPinCreate(visit_id=visit["id"]))
    assert (pin.visit_key, pin.carer_id, pin.starts_at) == (visit["visit_key"], visit["carer_id"], visit["starts_at"])
    for stranger in (other, organisation):
        with pytest.raises(NotFound):
            await visit_steering.unpin(conn, stranger, day_id, pin.id)
    # The committee wants this visit with its other carer, at the minute it starts: the re-plan keeps the pin. An
    # organisation's carer is not one of the committee's day, nor a start outside the request's window.
    moved_to = next(c for c, _ in roster if c != visit["carer_id"])
    at = visit["starts_at"].astimezone(SHANGHAI)
    theirs = (await fv.add_carer(conn, await fv.create_contract(conn)))[0]
    for form, field in ((VisitPinCreate(visit_id=visit["id"], carer_id=theirs), "carer_id"),
                        (VisitPinCreate(visit_id=visit["id"], start=(at - dt.timedelta(hours=2)).strftime("%H:%M")),
                         "start")):  # fmt: skip
        with pytest.raises(Invalid) as refused:
            await visit_steering.pin(conn, who, day_id, form)
        assert list(refused.value.fields) == [field]
    moved = VisitPinCreate(visit_id=visit["id"], carer_id=moved_to, start=at.strftime("%H:%M"))
    assert (await visit_steering.pin(conn, who, day_id, moved)).id == pin.id
    run = await visit_steering.replan(conn, queue, who, day_id)
    assert run.id != first and run.subject_id == day_id
    await fv.solve_run_here(conn, run.id)
    after = {r["visit_key"]: r for r in await conn.fetch(LIVE, day_id)}
    assert set(after) == {r["visit_key"] for r in before}
    assert after[visit["visit_key"]]["carer_id"] == moved_to
    assert after[visit["visit_key"]]["starts_at"].astimezone(SHANGHAI).strftime("%H:%M") == at.strftime("%H:%M")
    assert [p.id for p in await visit_steering.pins(conn, who, day_id)] == [pin.id]
    await visit_steering.unpin(conn, who, day_id, pin.id)
    audited = await conn.fetch(
        "SELECT action, object_type, object_id FROM audit_log WHERE action LIKE 'visit_pin.%' ORDER BY id"
    )
    assert [tuple(a) for a in audited] == [
        ("visit_pin.pin", "visit_day", str(day_id)), ("visit_pin.pin", "visit_day", str(day_id)),
        ("visit_pin.unpin", "visit_day", str(day_id)),
    ]  # fmt: skip


async def test_the_committee_pins_on_its_board_page_and_over_the_api(client, conn, redis):
    who, _, _, day = await respite_day(conn)
    await plan_here(conn, redis, who, day)
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE committee_id = $1", who.committee_id)
    visit = (await conn.fetch(LIVE, day_id))[0]
    await login(client, await factories.username_of(conn, who.account_id))
    board_url = f"/visits/respite?day={day.isoformat()}"
    shown = await page_context(client, board_url)
    assert "锁定" in shown.response.text and "保留锁定并重新排班" not in shown.response.text
    pinned = await post_form(
        client, f"/visits/days/{day_id}/pins", {"visit_id": str(visit["id"]), "day": day.isoformat()}, page=board_url
    )
    assert pinned.status_code in (302, 303), pinned.text
    assert pinned.headers["location"].startswith("/visits/respite?") and "done=pinned" in pinned.headers["location"]
    shown = await page_context(client, f"{board_url}&done=pinned")
    board = shown["board"]
    assert [p.visit_key for p in board.pins] == [visit["visit_key"]]
    assert any(s.pin_id == board.pins[0].id for r in board.routes for s in r.stops)
    text = shown.response.text
    assert "保留锁定并重新排班" in text and "取消锁定" in text
    replanned = await post_form(client, f"/visits/days/{day_id}/replan", {"day": day.isoformat()}, page=board_url)
    assert replanned.status_code in (302, 303) and "done=started" in replanned.headers["location"]
    # Over the API: the committee lists its pins; another committee's token gets a 404 problem.
    client.cookies.clear()
    headers = await bearer(client, await factories.username_of(conn, who.account_id))
    listed = await client.get(f"/api/visits/days/{day_id}/pins", headers=headers)
    assert listed.status_code == 200 and [p["visit_key"] for p in listed.json()] == [visit["visit_key"]]
    other, _, _, _ = await respite_day(conn)
    stranger = await bearer(client, await factories.username_of(conn, other.account_id))
    refused = await client.post(f"/api/visits/days/{day_id}/pins", json={"visit_id": visit["id"]}, headers=stranger)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
