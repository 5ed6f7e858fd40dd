"""Home-visit days people can steer over the JSON API (issue 15, item 7): a planned visit pinned to a carer stays
with them at its time when the day is re-planned, a pin that can no longer hold is reported with its reason, pin
and unpin are audited with ids only, and another organisation gets 404, a volunteer 403."""

from __future__ import annotations

import datetime as dt
import json

from api.services.types import SHANGHAI
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
    # The planner wants this visit with another carer who can give it, at the minute it starts now (the pin follows).
    other = next(c[0] for c in carers if c[0] != care["carer_id"] and c[0] != carers[3][0])
    at = care["starts_at"].astimezone(SHANGHAI).strftime("%H:%M")
    moved = await client.post(
        f"/api/visits/days/{day_id}/pins", json={"visit_id": care["id"], "carer_id": other, "start": at}, headers=org
    )
    assert moved.status_code == 201 and moved.json()["id"] == pin["id"], moved.text
    steered = await client.post(f"/api/visits/days/{day_id}/replan", headers=org)
    assert steered.status_code == 202 and steered.json()["id"] != started.json()["id"]
    await fv.solve_run_here(conn, steered.json()["id"])
    after = {r["visit_key"]: r for r in await _live(conn, day)}
    assert after[care["visit_key"]]["carer_id"] == other
    # At the time it was pinned at.
    assert after[care["visit_key"]]["starts_at"].astimezone(SHANGHAI).strftime("%H:%M") == at
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
        ("visit_pin.pin", "visit_day", str(day_id)), ("visit_pin.pin", "visit_day", str(day_id)),
        ("visit_pin.unpin", "visit_day", str(day_id)),
    ]  # fmt: skip
    assert set(_detail(audited[0])) == {"pin_id", "household_id", "carer_id", "visit_key", "planned_carer_id",
                                        "previous_pin_carer_id", "starts_at"}  # fmt: skip


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


def _detail(record) -> dict:
    return json.loads(record["detail"]) if isinstance(record["detail"], str) else record["detail"]


async def test_a_planner_pins_a_visit_to_another_carer_and_a_start_and_the_replan_follows(client, conn, redis):
    contract, carers, day, org, _, day_id = await _planned(client, conn)
    rows = {r["visit_key"]: r for r in await _live(conn, day)}
    homes = sorted({r["household_id"] for r in rows.values()})
    # homes[0] takes a visit any time of the day, homes[1] in the morning only (08:00–11:00).
    anytime, morning = rows[f"{homes[0]}:care"], rows[f"{homes[1]}:care"]
    other = next(c[0] for c in carers[:3] if c[0] != anytime["carer_id"])
    url = f"/api/visits/days/{day_id}/pins"
    made = await client.post(url, json={"visit_id": anytime["id"], "carer_id": other}, headers=org)
    assert made.status_code == 201, made.text
    # To another carer without a start: the plan picks the time in the household's slot.
    assert (made.json()["carer_id"], made.json()["starts_at"]) == (other, None)
    late = await client.post(url, json={"visit_id": morning["id"], "start": "14:00"}, headers=org)
    assert late.status_code == 422 and [e["field"] for e in late.json()["errors"]] == ["start"]
    odd = await client.post(url, json={"visit_id": morning["id"], "start": "9h30"}, headers=org)
    assert odd.status_code == 400
    timed = await client.post(url, json={"visit_id": morning["id"], "start": "09:30"}, headers=org)
    assert timed.status_code == 201, timed.text
    assert timed.json()["carer_id"] == morning["carer_id"]
    # Until the day is re-planned, the board shows where each pin will take the visit.
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    stops = {s["id"]: s for r in board.json()["routes"] for s in r["stops"]}
    assert stops[anytime["id"]]["repin"]["carer_id"] == other and stops[anytime["id"]]["repin"]["pending"]
    assert stops[anytime["id"]]["pin_id"] is None
    assert {c["id"] for c in board.json()["carers"]} == {c[0] for c in carers}
    steered = await client.post(f"/api/visits/days/{day_id}/replan", headers=org)
    assert steered.status_code == 202, steered.text
    await fv.solve_run_here(conn, steered.json()["id"])
    after = {r["visit_key"]: r for r in await _live(conn, day)}
    assert after[anytime["visit_key"]]["carer_id"] == other
    assert after[morning["visit_key"]]["starts_at"].astimezone(SHANGHAI).time() == dt.time(9, 30)
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    stops = {s["id"]: s for r in board.json()["routes"] for s in r["stops"]}
    moved = stops[after[anytime["visit_key"]]["id"]]
    assert moved["pin_id"] == made.json()["id"] and moved["repin"] is None
    assert board.json()["pin_conflicts"] == []
    audited = await conn.fetch("SELECT detail FROM audit_log WHERE action = 'visit_pin.pin' ORDER BY id")
    first = _detail(audited[0])
    assert (first["planned_carer_id"], first["carer_id"], first["previous_pin_carer_id"]) == (
        anytime["carer_id"],
        other,
        None,
    )
    # Pinning it again moves the pin (one per visit) and the audit names the carer it was pinned to.
    back = await client.post(url, json={"visit_id": after[anytime["visit_key"]]["id"]}, headers=org)
    assert back.status_code == 201 and back.json()["id"] == made.json()["id"]
    last = _detail((await conn.fetch("SELECT detail FROM audit_log WHERE action = 'visit_pin.pin' ORDER BY id"))[-1])
    assert (last["previous_pin_carer_id"], last["carer_id"]) == (other, other)
    assert await conn.fetchval("SELECT count(*) FROM visit_pins") == 2


async def test_a_pin_names_one_of_the_days_carers_and_one_who_cannot_give_it_is_a_conflict(client, conn, redis):
    contract, carers, day, org, _, day_id = await _planned(client, conn)
    rows = {r["visit_key"]: r for r in await _live(conn, day)}
    care = next(r for r in rows.values() if r["visit_key"].endswith(":care"))
    url = f"/api/visits/days/{day_id}/pins"
    theirs = await fv.create_contract(conn)
    strangers = [(await fv.add_carer(conn, theirs))[0], (await fv.add_carer(conn, contract, joined=False))[0]]
    for stranger in strangers:
        refused = await client.post(url, json={"visit_id": care["id"], "carer_id": stranger}, headers=org)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["carer_id"]
    their_org = await _as(client, conn, theirs.organisation_account)
    other_day = await client.post(url, json={"visit_id": care["id"], "carer_id": strangers[0]}, headers=their_org)
    assert other_day.status_code == 404
    # A nurse without the carer's certificate: the board says so before the pin is made, beside every stop.
    nurse = carers[3][0]
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    stops = {s["id"]: s for r in board.json()["routes"] for s in r["stops"]}
    assert stops[care["id"]]["unable_carers"] == [{"carer_id": nurse, "why": "carer_not_able"}]
    medication = next(r for r in rows.values() if r["visit_key"].endswith(":medication"))
    assert stops[medication["id"]]["unable_carers"] == [{"carer_id": c[0], "why": "carer_not_able"} for c in carers[:2]]
    # A carer pinned to one half of a two-carer visit cannot take the other half.
    bath1, bath2 = (next(r for r in rows.values() if r["visit_key"].endswith(k)) for k in (":bath1", ":bath2"))
    both = carers[2][0]
    half = await client.post(url, json={"visit_id": bath2["id"], "carer_id": both}, headers=org)
    assert half.status_code == 201, half.text
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    stops = {s["id"]: s for r in board.json()["routes"] for s in r["stops"]}
    assert {(u["carer_id"], u["why"]) for u in stops[bath1["id"]]["unable_carers"]} == {
        (both, "same_carer_twice"),
        (nurse, "carer_not_able"),
    }
    assert (await client.delete(f"/api/visits/days/{day_id}/pins/{half.json()['id']}", headers=org)).status_code == 204
    # The nurse is accepted as a pin all the same, and reported by the next plan.
    made = await client.post(url, json={"visit_id": care["id"], "carer_id": nurse}, headers=org)
    assert made.status_code == 201, made.text
    steered = await client.post(f"/api/visits/days/{day_id}/replan", headers=org)
    await fv.solve_run_here(conn, steered.json()["id"])
    summary = (await client.get(f"/api/visits/runs/{steered.json()['id']}", headers=org)).json()["result"]
    assert [(c["pin_id"], c["carer_id"], c["why"]) for c in summary["pin_conflicts"]] == [
        (made.json()["id"], nurse, "carer_not_able")
    ]
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    stop = next(s for r in board.json()["routes"] for s in r["stops"] if s["household"]["id"] == care["household_id"]
                and s["service"] == "care")  # fmt: skip
    assert stop["repin"]["carer_id"] == nurse and not stop["repin"]["pending"]
    assert await conn.fetchval("SELECT count(*) FROM visit_pins") == 1
