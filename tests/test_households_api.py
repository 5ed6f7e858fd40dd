"""The household register through the API: a committee lists, registers, reads, changes and archives its own
households; bad input is a 422 problem naming the field, another committee's household a 404, an archived one 409."""

from __future__ import annotations

from tests.factories import create_account, username_of
from tests.factories_tendering import REGISTERED_ADDRESS, create_district, registered_household
from tests.helpers import bearer

ADDRESS = REGISTERED_ADDRESS


def body(**overrides):
    return registered_household(**{"care_notes": "独居，听力较弱", "visit_slots": ["tue-pm", "mon-am"], **overrides})


async def _as(client, conn, account_id):
    return await bearer(client, await username_of(conn, account_id))


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


async def test_a_committee_registers_lists_changes_and_archives_a_household(client, conn):
    d = await create_district(conn)
    headers = await _as(client, conn, d.committee_account)
    created = await client.post("/api/households", json=body(), headers=headers)
    assert created.status_code == 201, created.text
    h = created.json()
    assert h["basis"] == "committee" and h["address"] == ADDRESS and h["visit_slots"] == ["mon-am", "tue-pm"]
    listed = await client.get("/api/households", params={"q": "秀英"}, headers=headers)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    [item] = listed.json()["items"]
    assert item["masked_address"] == "控江路1018弄**号" and ADDRESS not in listed.text and "听力" not in listed.text
    changed = await client.put(f"/api/households/{h['id']}", json=body(members=2, empty_nest=False), headers=headers)
    assert changed.status_code == 200 and changed.json()["members"] == 2
    archived = await client.post(f"/api/households/{h['id']}/archive", headers=headers)
    assert archived.status_code == 200 and archived.json()["head_name"] == "已退出"
    assert archived.json()["care_notes"] == "" and archived.json()["phone"] is None
    assert (await client.get("/api/households", headers=headers)).json()["total"] == 0
    gone = await client.get("/api/households", params={"archived": "true"}, headers=headers)
    assert [i["id"] for i in gone.json()["items"]] == [h["id"]]
    assert problem(await client.put(f"/api/households/{h['id']}", json=body(), headers=headers), 409)
    assert problem(await client.post(f"/api/households/{h['id']}/archive", headers=headers), 409)


async def test_bad_input_is_a_422_problem_naming_the_field(client, conn):
    d = await create_district(conn)
    headers = await _as(client, conn, d.committee_account)
    no_consent = problem(await client.post("/api/households", json=body(consent=False), headers=headers), 422)
    assert [e["field"] for e in no_consent["errors"]] == ["consent"]
    far = problem(await client.post("/api/households", json=body(lat=39.9, lon=116.4), headers=headers), 422)
    assert [e["field"] for e in far["errors"]] == ["lat"]
    # A body the command struct refuses is a 400 problem naming the field (as for every command of the API).
    for field, value in (
        ("visit_slots", ["mon-night"]),
        ("care_level", 7),
        ("lat", 91),
        ("head_name", " "),
        ("phone", "call me"),
        ("care_notes", "\x00"),
    ):
        refused = problem(await client.post("/api/households", json=body(**{field: value}), headers=headers), 400)
        assert field in refused["detail"], (field, refused)
    assert await conn.fetchval("SELECT count(*) FROM households WHERE committee_id = $1", d.committee_id) == 0


async def test_anonymous_other_roles_and_other_committees_are_refused(client, conn):
    d = await create_district(conn)
    own = await _as(client, conn, d.committee_account)
    household_id = (await client.post("/api/households", json=body(), headers=own)).json()["id"]
    assert problem(await client.get("/api/households"), 401)
    assert problem(await client.post("/api/households", json=body()), 401)
    funder = await _as(client, conn, d.funder_account)
    assert problem(await client.get("/api/households", headers=funder), 403)
    assert problem(await client.get(f"/api/households/{household_id}", headers=funder), 403)
    other = await _as(client, conn, d.other_committee_account)
    assert problem(await client.get(f"/api/households/{household_id}", headers=other), 404)
    assert problem(await client.put(f"/api/households/{household_id}", json=body(), headers=other), 404)
    assert problem(await client.post(f"/api/households/{household_id}/archive", headers=other), 404)
    assert (await client.get("/api/households", headers=other)).json()["total"] == 0
    volunteer = await _as(client, conn, await create_account(conn, "volunteer"))
    assert problem(await client.get(f"/api/households/{household_id}", headers=volunteer), 404)
    assert await conn.fetchval("SELECT head_name FROM households WHERE id = $1", household_id) == "王秀英"
