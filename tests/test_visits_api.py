"""Home visits over the JSON API: the roster of carers (another organisation's carer is a 404), a day planned and
its board, the carer's own day and check-in; every refusal an RFC 9457 problem."""

from __future__ import annotations

from tests import factories
from tests import factories_teams as ft
from tests import factories_visit_plans as fv
from tests.helpers import bearer
from tests.test_visits import ADDRESS, _day, _live


async def _as(client, conn, account_id: int) -> dict[str, str]:
    return await bearer(client, await factories.username_of(conn, account_id))


async def test_the_roster_of_carers_over_the_api_is_the_organisations_own(client, conn):
    contract = await fv.create_contract(conn)
    _, account_id = await ft.create_carer(conn)
    org = await _as(client, conn, contract.organisation_account)
    body = {"username": await factories.username_of(conn, account_id), "name": "李师傅", "lat": 31.28, "lon": 121.52,
            "work_days": [1, 2, 3], "work_starts": "08:00", "work_ends": "16:00", "travel_mode": "ebike"}  # fmt: skip
    made = await client.post("/api/carers", json=body, headers=org)
    assert made.status_code == 201, made.text
    carer = made.json()
    assert carer["name"] == "李师傅" and carer["joined_at"] is None and carer["abilities"] == []
    bad = await client.post("/api/carers", json={**body, "username": "nobody-here"}, headers=org)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "username"
    update = {k: v for k, v in body.items() if k != "username"}
    changed = await client.put(f"/api/carers/{carer['id']}", json={**update, "travel_mode": "walk"}, headers=org)
    assert changed.status_code == 200, changed.text
    assert changed.json()["travel_mode"] == "walk"
    other = await fv.create_contract(conn)
    theirs = await _as(client, conn, other.organisation_account)
    assert (await client.get(f"/api/carers/{carer['id']}", headers=theirs)).status_code == 404
    assert (await client.get("/api/carers", headers=theirs)).json() == []
    volunteer = await _as(client, conn, account_id)
    assert (await client.get("/api/carers", headers=volunteer)).status_code == 403
    assert (await client.post(f"/api/carers/{carer['id']}/join", headers=volunteer)).status_code == 204
    assert (await client.post(f"/api/carers/{carer['id']}/join", headers=volunteer)).status_code == 404


async def test_a_day_over_the_api_board_masked_and_the_carers_own_day(client, conn, redis):
    contract, _, carers = await _day(conn)
    day = fv.tomorrow()
    org = await _as(client, conn, contract.organisation_account)
    started = await client.post(
        f"/api/visits/contracts/{contract.contract_id}/plans", json={"day": day.isoformat()}, headers=org
    )
    assert started.status_code == 202 and started.json()["model"] == "visits"
    await fv.solve_run_here(conn, started.json()["id"])
    board = await client.get(f"/api/visits/contracts/{contract.contract_id}/days/{day.isoformat()}", headers=org)
    assert board.status_code == 200 and ADDRESS not in board.text
    assert sum(len(r["stops"]) for r in board.json()["routes"]) == 6
    past = await client.post(
        f"/api/visits/contracts/{contract.contract_id}/plans", json={"day": "2020-01-01"}, headers=org
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "day"
    other = await _as(client, conn, (await fv.create_contract(conn)).organisation_account)
    assert (await client.get(f"/api/visits/runs/{started.json()['id']}", headers=other)).status_code == 404
    rows = await _live(conn, day)
    carer = next(c for c in carers if any(r["carer_id"] == c[0] for r in rows))
    mine = await client.get(f"/api/visits/day?day={day.isoformat()}", headers=await _as(client, conn, carer[2]))
    assert mine.status_code == 200
    assert [s["id"] for s in mine.json()["stops"]] == [r["id"] for r in rows if r["carer_id"] == carer[0]]
    assert (await client.get("/api/visits/day", headers=org)).status_code == 403
