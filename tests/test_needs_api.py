"""Needs through the API: a committee posts and edits its own, everyone logged in browses and filters them,
households are named only from the committee's own and shown to nobody else."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_account
from tests.factories_tendering import create_district, create_household, create_need
from tests.helpers import bearer


def need_body(item_code: str, **overrides):
    today = dt.date.today()
    body = {
        "catalogue_code": item_code,
        "title": "独居老人助餐",
        "description": "每天午餐送餐上门",
        "beneficiaries": 40,
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=180)).isoformat(),
        "schedule": "每周一至周五 11:00",
        "urgency": "high",
    }
    body.update(overrides)
    return body


async def _headers(client, conn, account_id):
    from tests.factories import username_of

    return await bearer(client, await username_of(conn, account_id))


async def test_committee_posts_a_need_at_its_own_point_and_edits_it(client, conn):
    d = await create_district(conn)
    headers = await _headers(client, conn, d.committee_account)
    response = await client.post("/api/needs", json=need_body(d.item_code), headers=headers)
    assert response.status_code == 201, response.text
    need = response.json()["need"]
    assert need["committee_id"] == d.committee_id and need["status"] == "open" and need["urgency"] == "high"
    assert (need["lat"], need["lon"]) == (31.30, 121.54)
    changed = need_body(d.item_code, title="助餐（扩大）", beneficiaries=60, lat=31.295, lon=121.535)
    response = await client.put(f"/api/needs/{need['id']}", json=changed, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["need"]["beneficiaries"] == 60 and response.json()["need"]["lat"] == 31.295
    response = await client.post(f"/api/needs/{need['id']}/close", headers=headers)
    assert response.json()["need"]["status"] == "closed"
    response = await client.put(f"/api/needs/{need['id']}", json=changed, headers=headers)
    assert response.status_code == 409
    actions = await conn.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'need' AND object_id = $1", str(need["id"])
    )
    assert [r["action"] for r in actions] == ["need.post", "need.update", "need.close"]


async def test_bad_needs_get_field_problems(client, conn):
    d = await create_district(conn)
    headers = await _headers(client, conn, d.committee_account)
    today = dt.date.today()
    bad = need_body(d.item_code, starts_on=today.isoformat(), ends_on=(today - dt.timedelta(days=1)).isoformat())
    response = await client.post("/api/needs", json=bad, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in response.json()["errors"]} == {"ends_on"}
    response = await client.post("/api/needs", json=need_body("no_such_item"), headers=headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "catalogue_code"
    response = await client.post("/api/needs", json=need_body(d.item_code, lat=39.9, lon=116.4), headers=headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "lat"
    response = await client.post("/api/needs", json=need_body(d.item_code, beneficiaries=-3), headers=headers)
    assert response.status_code == 400
    household = await create_household(conn, d.committee_id)
    response = await client.post("/api/needs", json=need_body(d.item_code, household_ids=[household]), headers=headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "household_ids"


async def test_households_only_from_own_committee_and_only_masked_to_it(client, conn):
    d = await create_district(conn)
    own = await create_household(conn, d.committee_id, "控江路1018弄12号301室")
    foreign = await create_household(conn, d.other_committee_id, "长阳路88弄3号102室")
    headers = await _headers(client, conn, d.committee_account)
    choices = (await client.get("/api/needs/households", headers=headers)).json()
    assert {"id": own, "masked_address": "控江路1018弄**号", "members": 1} in choices
    assert all(c["id"] != foreign for c in choices)
    assert "12号" not in str(choices)

    body = need_body(d.personal_item_code, household_ids=[own, foreign])
    response = await client.post("/api/needs", json=body, headers=headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "household_ids"
    assert await conn.fetchval("SELECT count(*) FROM need_households") == 0

    response = await client.post(
        "/api/needs", json=need_body(d.personal_item_code, household_ids=[own]), headers=headers
    )
    assert response.status_code == 201
    need_id = response.json()["need"]["id"]
    assert response.json()["households"] == [{"id": own, "masked_address": "控江路1018弄**号", "members": 1}]

    for role_account in (
        d.other_committee_account,
        d.funder_account,
        await create_account(conn, "organisation"),
        await create_account(conn, "admin"),
        await create_account(conn, "volunteer"),
    ):
        other = await _headers(client, conn, role_account)
        seen = await client.get(f"/api/needs/{need_id}", headers=other)
        assert seen.status_code == 200
        assert seen.json()["households"] == [] and seen.json()["own"] is False
        assert seen.json()["need"]["households"] == 1
        listed = await client.get("/api/needs", headers=other)
        exported = await client.get("/api/needs/export.csv", headers=other)
        for text in (seen.text, listed.text, exported.text):
            assert "控江路1018弄" not in text and "张" not in text


async def test_committees_change_only_their_own_needs(client, conn):
    d = await create_district(conn)
    need_id = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    other = await _headers(client, conn, d.other_committee_account)
    assert (await client.put(f"/api/needs/{need_id}", json=need_body(d.item_code), headers=other)).status_code == 404
    assert (await client.post(f"/api/needs/{need_id}/close", headers=other)).status_code == 404
    assert (await client.put("/api/needs/999999999", json=need_body(d.item_code), headers=other)).status_code == 404
    funder = await _headers(client, conn, d.funder_account)
    assert (await client.post("/api/needs", json=need_body(d.item_code), headers=funder)).status_code == 403
    assert (await client.put(f"/api/needs/{need_id}", json=need_body(d.item_code), headers=funder)).status_code == 403
    assert (await client.get("/api/needs")).status_code == 401
    assert (await client.get(f"/api/needs/{need_id}")).status_code == 401
    assert (await client.post("/api/needs", json=need_body(d.item_code))).status_code == 401
    assert await conn.fetchval("SELECT status FROM needs WHERE id = $1", need_id) == "open"


async def test_needs_filter_by_area_category_and_status(client, conn):
    d = await create_district(conn)
    a = await create_need(conn, d.committee_id, d.item_id, d.committee_account, title="甲")
    b = await create_need(conn, d.other_committee_id, d.item_id, d.other_committee_account, title="乙")
    c = await create_need(conn, d.committee_id, d.personal_item_id, d.committee_account, title="丙", status="closed")
    headers = await _headers(client, conn, d.funder_account)

    async def ids(**params):
        response = await client.get("/api/needs", params={**params, "limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        return {n["id"] for n in response.json()["items"]}

    assert await ids(subdistrict_id=d.subdistrict_id) == {a, b, c}
    assert await ids(committee_id=d.committee_id) == {a, c}
    assert await ids(subdistrict_id=d.subdistrict_id, category=d.item_code) == {a, b}
    assert await ids(subdistrict_id=d.subdistrict_id, status="closed") == {c}
    assert await ids(committee_id=d.other_committee_id, status="open") == {b}
    page = (await client.get("/api/needs", params={"committee_id": d.committee_id}, headers=headers)).json()
    assert page["total"] == 2
    csv = await client.get("/api/needs/export.csv", params={"subdistrict_id": d.subdistrict_id}, headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 4
    assert (await client.get("/api/needs", params={"status": "bogus"}, headers=headers)).status_code == 400
