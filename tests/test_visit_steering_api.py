"""Home-visit days people can steer over the JSON API (issue 15, item 7): a planned visit pinned to a carer stays
with them at its time when the day is re-planned, a pin that can no longer hold is reported with its reason, pin
and unpin are audited with ids only, and another organisation gets 404, a volunteer 403."""

from __future__ import annotations

import json

from tests import factories
from tests import factories_visit_plans as fv
from tests.helpers import bearer
from tests.test_visits import _day, _live


async def _as(client, conn, account_id: int) -> dict[str, str]:
    return await bearer(client, await factories.username_of(conn, account_id))


async def _planned(client, conn):
    """The test day planned over the API by the contract's organisation."""
    contract, _, carers = await _day(conn)
    day = fv.tomorrow()
    org = await _as(client, conn, contract.organisation_account)
    started = await client.post(
        f"/api/visits/contracts/{contract.contract_id}/plans", json={"day": day.isoformat()}, headers=org
    )
    await fv.solve_run_here(conn, started.json()["id"])
    day_id = await conn.fetchval("SELECT id FROM visit_days WHERE day = $1", day)
    return contract, carers, day, org, started, day_id


async def test_a_pinned_visit_stays_with_its_carer_and_a_pin_that_cannot_hold_is_reported(client, conn, redis):
    contract, carers, day, org, started, day_id = await _planned(client, conn)
    rows = await _live(conn, day)
    care = next(r for r in rows if r["visit_key"].endswith(":care"))
    # Nothing changed: re-planning finds the standing run.
    same = await client.post(f"/api/visits/days/{day_id}/replan", headers=org)
    assert same.status_code == 202 and same.json()["id"] == started.json()["id"]
    made = await client.post(f"/api/visits/days/{day_id}/pins", json={"visit_id": care["id"]}, headers=org)
    assert made.status_code == 201, made.text
    pin = made.json()
    assert (pin["visit_key"], pin["carer_id"]) == (care["visit_key"], care["carer_id"])
    # The planner wants this visit with another carer who can give it (the pin is what they steer by).
    other = next(c[0] for c in carers if c[0] != care["carer_id"] and c[0] != carers[3][0])
    await conn.execute("UPDATE visit_pins SET carer_id = $1 WHERE id = $2", other, pin["id"])
    steered = await client.post(f"/api/visits/days/{day_id}/replan", headers=org)
    assert steered.status_code == 202 and steered.json()["id"] != started.json()["id"]
    await fv.solve_run_here(conn, steered.json()["id"])
    after = {r["visit_key"]: r for r in await _live(conn, day)}
    assert after[care["visit_key"]]["carer_id"] == other
    # At the time it was pinned at.
    assert after[care["visit_key"]]["starts_at"] == care["starts_at"]
    assert set(after) == {r["visit_key"] for r in rows}
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    stop = next(s for r in board.json()["routes"] for s in r["stops"] if s["id"] == after[care["visit_key"]]["id"])
    assert stop["pin_id"] == pin["id"] and board.json()["pin_conflicts"] == []
    # The pinned carer calls in sick: the re-plan cannot keep the pin and says why; the pin is not dropped.
    sick = await client.post(f"/api/visits/days/{day_id}/absences", json={"carer_id": other}, headers=org)
    assert sick.status_code == 202, sick.text
    await fv.solve_run_here(conn, sick.json()["id"])
    summary = (await client.get(f"/api/visits/runs/{sick.json()['id']}", headers=org)).json()["result"]
    assert summary["pin_conflicts"] == [
        {"pin_id": pin["id"], "household_id": care["household_id"], "carer_id": other,
         "visit_key": care["visit_key"], "why": "carer_absent"}
    ]  # fmt: skip
    assert other not in {r["carer_id"] for r in await _live(conn, day)}
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    assert [(c["pin_id"], c["why"]) for c in board.json()["pin_conflicts"]] == [(pin["id"], "carer_absent")]
    assert "**" in board.json()["pin_conflicts"][0]["household"]["masked_address"]
    listed = await client.get(f"/api/visits/days/{day_id}/pins", headers=org)
    assert [p["id"] for p in listed.json()] == [pin["id"]]
    assert (await client.delete(f"/api/visits/days/{day_id}/pins/{pin['id']}", headers=org)).status_code == 204
    assert (await client.delete(f"/api/visits/days/{day_id}/pins/{pin['id']}", headers=org)).status_code == 404
    audited = await conn.fetch(
        "SELECT action, object_type, object_id, detail FROM audit_log WHERE action LIKE 'visit_pin.%' ORDER BY id"
    )
    assert [(a["action"], a["object_type"], a["object_id"]) for a in audited] == [
        ("visit_pin.pin", "visit_day", str(day_id)), ("visit_pin.unpin", "visit_day", str(day_id))
    ]  # fmt: skip
    first = json.loads(audited[0]["detail"]) if isinstance(audited[0]["detail"], str) else audited[0]["detail"]
    assert set(first) == {"pin_id", "household_id", "carer_id", "visit_key"}


async def test_only_the_contracts_organisation_steers_its_day(client, conn, redis):
    _, carers, day, org, _, day_id = await _planned(client, conn)
    visit_id = (await _live(conn, day))[0]["id"]
    theirs = await _as(client, conn, (await fv.create_contract(conn)).organisation_account)
    volunteer = await _as(client, conn, carers[0][2])
    for headers, status in ((theirs, 404), (volunteer, 403)):
        made = await client.post(f"/api/visits/days/{day_id}/pins", json={"visit_id": visit_id}, headers=headers)
        assert made.status_code == status and made.headers["content-type"].startswith("application/problem+json")
        assert (await client.post(f"/api/visits/days/{day_id}/replan", headers=headers)).status_code == status
        assert (await client.get(f"/api/visits/days/{day_id}/pins", headers=headers)).status_code == status
    pin = (await client.post(f"/api/visits/days/{day_id}/pins", json={"visit_id": visit_id}, headers=org)).json()
    assert (await client.delete(f"/api/visits/days/{day_id}/pins/{pin['id']}", headers=theirs)).status_code == 404
    missing = await client.post(f"/api/visits/days/{day_id}/pins", json={"visit_id": 2**40}, headers=org)
    assert missing.status_code == 404
    assert await conn.fetchval("SELECT count(*) FROM visit_pins") == 1
