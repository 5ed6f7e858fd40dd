"""Organisations over the API: registration, credit-code validation, visibility, verification, object-level checks."""

from __future__ import annotations

import pytest

from tests import factories
from tests.helpers import bearer

VALID_CODE = "91350100M000100Y43"


def registration(**overrides):
    body = {
        "username": f"org{factories.next_n()}",
        "password": "a-long-enough-password",
        "display_name": "李经理",
        "name": "杨浦区阳光社工服务中心",
        "credit_code": factories.credit_code(),
        "registered_on": "2016-05-20",
        "rating": 4,
        "rating_expires_on": "2028-05-20",
        "staff_hours_capacity": 1200,
    }
    body.update(overrides)
    return body


async def test_registered_organisation_is_pending_and_hidden_from_others(client, conn):
    response = await client.post("/api/organisations", json=registration())
    assert response.status_code == 201, response.text
    org_id = response.json()["id"]
    assert await conn.fetchval("SELECT status FROM organisations WHERE id = $1", org_id) == "pending"
    assert (await client.get(f"/api/organisations/{org_id}")).status_code == 404
    volunteer = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    as_volunteer = await client.get(f"/api/organisations/{org_id}", headers=await bearer(client, volunteer))
    assert as_volunteer.status_code == 404
    listed = (await client.get("/api/organisations", params={"limit": 100})).json()
    assert org_id not in [item["id"] for item in listed["items"]]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100I43", "except I, O, Z, S and V"),
    ],
)
async def test_invalid_credit_codes_are_refused_with_the_reason(client, conn, code, message):
    response = await client.post(
        "/api/organisations", json=registration(credit_code=code), headers={"accept-language": "en"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "credit_code"
    assert message in problem["errors"][0]["message"]
    assert await conn.fetchval("SELECT count(*) FROM organisations") == 0


async def test_a_lowercase_valid_code_is_accepted_in_upper_case(client, conn):
    response = await client.post("/api/organisations", json=registration(credit_code=VALID_CODE.lower()))
    assert response.status_code == 201, response.text
    assert (
        await conn.fetchval("SELECT credit_code FROM organisations WHERE id = $1", response.json()["id"]) == VALID_CODE
    )


async def test_duplicate_credit_code_is_a_conflict(client):
    code = factories.credit_code()
    assert (await client.post("/api/organisations", json=registration(credit_code=code))).status_code == 201
    again = await client.post("/api/organisations", json=registration(credit_code=code))
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "credit_code"


async def test_the_database_refuses_an_invalid_code_even_if_the_service_were_bypassed(conn):
    import asyncpg

    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await factories.create_org(conn, credit_code="91350100M000100Y44")


async def test_admin_verifies_then_everyone_sees_it_and_audit_records_it(client, conn):
    org_id = (await client.post("/api/organisations", json=registration())).json()["id"]
    admin = await factories.username_of(conn, await factories.create_account(conn, "admin"))
    headers = await bearer(client, admin)
    verified = await client.post(f"/api/organisations/{org_id}/verify", headers=headers)
    assert verified.status_code == 200
    assert verified.json()["status"] == "verified"
    assert (await client.get(f"/api/organisations/{org_id}")).status_code == 200
    again = await client.post(f"/api/organisations/{org_id}/verify", headers=headers)
    assert again.status_code == 409
    actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log WHERE object_id = $1", str(org_id))]
    assert actions == ["organisation.register", "organisation.verify"]


async def test_only_admins_verify(client, conn):
    org_id = await factories.create_org(conn, status="pending")
    assert (await client.post(f"/api/organisations/{org_id}/verify")).status_code == 401
    for role in ("volunteer", "organisation", "committee", "funder", "reviewer"):
        username = await factories.username_of(conn, await factories.create_account(conn, role))
        response = await client.post(f"/api/organisations/{org_id}/verify", headers=await bearer(client, username))
        assert response.status_code == 403, role
    assert await conn.fetchval("SELECT status FROM organisations WHERE id = $1", org_id) == "pending"


async def test_a_manager_edits_only_their_own_organisation(client, conn):
    mine = await factories.create_org(conn)
    theirs = await factories.create_org(conn, name="别人的社工服务中心")
    manager = await factories.username_of(
        conn, await factories.create_account(conn, "organisation", organisation_id=mine)
    )
    headers = await bearer(client, manager)
    body = {"name": "改名后的社工服务中心", "staff_hours_capacity": 3000, "description": "为老服务"}
    ok = await client.put(f"/api/organisations/{mine}", json=body, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["staff_hours_capacity"] == 3000
    other = await client.put(f"/api/organisations/{theirs}", json=body, headers=headers)
    assert other.status_code == 404
    assert await conn.fetchval("SELECT name FROM organisations WHERE id = $1", theirs) == "别人的社工服务中心"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "a\x00b", "staff_hours_capacity": 1}, 400),
        ({"name": "   ", "staff_hours_capacity": 1}, 400),
        ({"name": "好名字", "staff_hours_capacity": -5}, 400),
        ({"name": "好名字", "staff_hours_capacity": 10**12}, 400),
        ({"name": "好名字"}, 400),
        ({"name": "好名字", "staff_hours_capacity": 1, "unknown": 1}, 400),
    ],
)
async def test_bad_profile_input_gets_a_problem_not_a_500(client, conn, body, status):
    org = await factories.create_org(conn)
    manager = await factories.username_of(
        conn, await factories.create_account(conn, "organisation", organisation_id=org)
    )
    response = await client.put(f"/api/organisations/{org}", json=body, headers=await bearer(client, manager))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_unknown_routes_and_ids_are_problems(client):
    for path in ("/api/nope", "/api/organisations/999999999", "/api/organisations/99999999999999999999999"):
        response = await client.get(path)
        assert response.status_code in (400, 404, 422), path
        assert response.headers["content-type"].startswith("application/problem+json"), path


async def test_catalogue_and_areas_are_public(client, conn):
    district = await factories.create_area(conn, "district", name="杨浦区")
    sub = await factories.create_area(conn, "subdistrict", parent_id=district, name="殷行街道")
    await factories.create_catalogue_item(conn, code="respite_care", personal=True)
    assert [a["name"] for a in (await client.get(f"/api/areas/{district}/children")).json()] == ["殷行街道"]
    assert (await client.get(f"/api/areas/{sub}")).json()["level"] == "subdistrict"
    item = (await client.get("/api/catalogue/respite_care")).json()
    assert item["personal"] is True
