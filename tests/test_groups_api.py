"""The group sign-up API: 201 with every member, 409 naming each member who cannot come, 422 for a wrong form,
another volunteer's group is 404, cancelling the group or one member."""

from __future__ import annotations

import datetime as dt

from api.services.types import SHANGHAI
from tests import factories
from tests.factories_shifts import add_signup, create_shift, soon, volunteer_identity
from tests.helpers import bearer

YEAR = dt.datetime.now(SHANGHAI).year
PROBLEM = "application/problem+json"


async def test_a_leader_signs_up_a_group_reads_it_and_cancels_one_member_then_all(client, conn):
    shift_id = await create_shift(conn, headcount=4)
    leader = await volunteer_identity(conn)
    friend = await volunteer_identity(conn)
    headers = await bearer(client, leader.username)
    body = {
        "name": "王家",
        "members": [
            {"account": friend.username},
            {"name": "小明", "birth_year": YEAR - 9, "guardian_consent": True},
        ],
    }
    response = await client.post(f"/api/shifts/{shift_id}/groups", json=body, headers=headers)
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["shift"]["taken"] == 3 and group["shift"]["places_left"] == 1
    assert [(m["name"], m["is_leader"], m["status"]) for m in group["members"]][2] == ("小明", False, "active")
    again = await client.get(f"/api/groups/{group['id']}", headers=headers)
    assert again.json()["members"] == group["members"]
    child = group["members"][2]["id"]
    one = await client.post(f"/api/groups/{group['id']}/members/{child}/cancel", headers=headers)
    assert one.status_code == 200 and one.json()["shift"]["taken"] == 2
    leader_member = group["members"][0]["id"]
    refused = await client.post(f"/api/groups/{group['id']}/members/{leader_member}/cancel", headers=headers)
    assert refused.status_code == 409 and refused.headers["content-type"].startswith(PROBLEM)
    # Another volunteer (the member included) neither sees nor cancels the leader's group.
    other = await bearer(client, friend.username)
    assert (await client.get(f"/api/groups/{group['id']}", headers=other)).status_code == 404
    assert (await client.post(f"/api/groups/{group['id']}/cancel", headers=other)).status_code == 404
    whole = await client.post(f"/api/groups/{group['id']}/cancel", headers=headers)
    assert whole.status_code == 200
    assert whole.json()["status"] == "cancelled" and whole.json()["shift"]["taken"] == 0


async def test_409_names_each_member_who_cannot_come_and_nobody_is_signed_up(client, conn):
    starts = soon(6)
    shift_id = await create_shift(conn, starts_at=starts, headcount=5)
    leader = await volunteer_identity(conn)
    busy = await volunteer_identity(conn)
    await add_signup(conn, await create_shift(conn, starts_at=starts), busy.volunteer_id)
    headers = await bearer(client, leader.username)
    body = {
        "name": "同事",
        "members": [{"name": "小红", "birth_year": YEAR - 10, "guardian_consent": True}, {"account": busy.username}],
    }
    response = await client.post(f"/api/shifts/{shift_id}/groups", json=body, headers=headers)
    assert response.status_code == 409 and response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["type"] == "/problems/group-not-eligible"
    assert [e["field"] for e in problem["errors"]] == ["members[1].overlap"]
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 0


async def test_422_for_a_wrong_form_and_403_for_other_roles(client, conn):
    shift_id = await create_shift(conn)
    leader = await volunteer_identity(conn)
    headers = await bearer(client, leader.username)
    body = {"name": "班级", "members": [{"name": "小刚", "birth_year": YEAR - 8}]}
    response = await client.post(f"/api/shifts/{shift_id}/groups", json=body, headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["members[0].guardian_consent"]
    empty = await client.post(f"/api/shifts/{shift_id}/groups", json={"name": "班级", "members": []}, headers=headers)
    assert empty.status_code == 422
    committee = await bearer(
        client, await factories.username_of(conn, await factories.create_account(conn, "committee"))
    )
    body["members"][0]["guardian_consent"] = True
    assert (await client.post(f"/api/shifts/{shift_id}/groups", json=body, headers=committee)).status_code == 403
    missing = await client.post("/api/shifts/999999999/groups", json=body, headers=headers)
    assert missing.status_code == 404
