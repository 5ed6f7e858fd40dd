"""The hand-over API (转让名额): offer, list, take with 409 reasons, withdraw, and the publisher's approval."""

from __future__ import annotations

from tests import factories
from tests.factories_shifts import create_shift
from tests.helpers import bearer


async def _auth(client, conn, role: str):
    account_id = await factories.create_account(conn, role)
    headers = await bearer(client, await factories.username_of(conn, account_id))
    row = await conn.fetchrow(
        "SELECT v.id AS volunteer_id, m.organisation_id FROM accounts a LEFT JOIN volunteers v ON v.account_id = a.id"
        " LEFT JOIN memberships m ON m.account_id = a.id WHERE a.id = $1",
        account_id,
    )
    return headers, row


async def _offered(client, conn, **shift):
    """A one-place shift held by a volunteer who offers it: (shift id, offerer's headers, handover id)."""
    shift_id = await create_shift(conn, headcount=1, **shift)
    holder, _ = await _auth(client, conn, "volunteer")
    assert (await client.post(f"/api/shifts/{shift_id}/signups", headers=holder)).status_code == 201
    offer = await client.post(f"/api/shifts/{shift_id}/handovers", headers=holder)
    assert offer.status_code == 201, offer.text
    assert offer.json()["status"] == "open"
    return shift_id, holder, offer.json()["handover_id"]


async def test_a_volunteer_lists_and_takes_an_offered_place(client, conn):
    shift_id, holder, handover_id = await _offered(client, conn)
    taker, _ = await _auth(client, conn, "volunteer")
    [listed] = (await client.get("/api/shifts/handovers", headers=taker)).json()
    assert (listed["handover_id"], listed["shift"]["id"], listed["eligible"]) == (handover_id, shift_id, True)
    # The offerer's identity does not leave the service.
    assert "volunteer_id" not in listed and "signup_id" not in listed
    mine = (await client.get(f"/api/shifts/{shift_id}/handovers", headers=holder)).json()
    assert (mine["mine"]["id"], mine["offered"]) == (handover_id, [])
    took = await client.post(f"/api/shifts/{shift_id}/handovers/{handover_id}/take", headers=taker)
    assert took.status_code == 200, took.text
    assert took.json() == {"handover_id": handover_id, "shift_id": shift_id, "status": "taken"}
    [held] = (await client.get("/api/shifts/mine", headers=taker)).json()
    assert (held["shift"]["id"], held["my_status"]) == (shift_id, "active")
    again = await client.post(f"/api/shifts/{shift_id}/handovers/{handover_id}/take", headers=taker)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/handover-gone"
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_an_ineligible_taker_gets_409_with_each_reason(client, conn):
    shift_id, _holder, handover_id = await _offered(client, conn, min_age=0)
    await conn.execute("UPDATE shifts SET required_skills = '{first_aid}' WHERE id = $1", shift_id)
    taker, _ = await _auth(client, conn, "volunteer")
    refused = await client.post(f"/api/shifts/{shift_id}/handovers/{handover_id}/take", headers=taker)
    assert refused.status_code == 409
    body = refused.json()
    assert body["type"] == "/problems/handover-not-eligible"
    assert [e["field"] for e in body["errors"]] == ["skills"]


async def test_the_publisher_approves_takes_when_the_shift_asks_for_it(client, conn):
    publisher, row = await _auth(client, conn, "organisation")
    shift_id, _holder, handover_id = await _offered(client, conn, organisation_id=row["organisation_id"])
    setting = await client.put(f"/api/shifts/{shift_id}/handover-approval", json={"approval": True}, headers=publisher)
    assert setting.status_code == 200 and setting.json() == {"approval": True}
    taker, _ = await _auth(client, conn, "volunteer")
    asked = await client.post(f"/api/shifts/{shift_id}/handovers/{handover_id}/take", headers=taker)
    assert asked.json()["status"] == "requested"
    [request] = (await client.get(f"/api/shifts/{shift_id}/handovers", headers=publisher)).json()["requests"]
    assert request["status"] == "requested" and request["taker_name"]
    approved = await client.post(f"/api/shifts/{shift_id}/handovers/{handover_id}/approve", headers=publisher)
    assert approved.status_code == 200 and approved.json()["status"] == "taken"
    # A volunteer may not decide, and a wrong body is a 4xx problem.
    decline = f"/api/shifts/{shift_id}/handovers/{handover_id}/decline"
    assert (await client.post(decline, headers=taker)).status_code == 403
    bad = await client.put(f"/api/shifts/{shift_id}/handover-approval", json={"approval": "maybe"}, headers=publisher)
    assert bad.status_code in (400, 422)


async def test_withdrawing_an_offer_and_offering_nothing_are_answered_clearly(client, conn):
    shift_id, holder, _handover_id = await _offered(client, conn)
    withdrawn = await client.delete(f"/api/shifts/{shift_id}/handovers/mine", headers=holder)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    nothing = await client.delete(f"/api/shifts/{shift_id}/handovers/mine", headers=holder)
    assert (nothing.status_code, nothing.json()["type"]) == (409, "/problems/handover-gone")
    other, _ = await _auth(client, conn, "volunteer")
    none = await client.post(f"/api/shifts/{shift_id}/handovers", headers=other)
    assert (none.status_code, none.json()["type"]) == (409, "/problems/handover-no-place")
    assert (await client.post("/api/shifts/999999999/handovers", headers=other)).status_code == 404
