"""An organisation's capacity and rating: declared until a funder or the admin verifies them (never the organisation
itself, in the service and in the schema); the award run and the rating rules read only the verified values."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import awards, eligibility, org_checks, tenders
from api.services.errors import Forbidden
from api.services.org_checks import VerifyOrgValue
from sql import bids as bids_sql
from sql import reviews as reviews_sql
from tests import factories
from tests import factories_awards as fa
from tests.helpers import bearer


async def _funder(conn) -> tuple[int, str]:
    funder_id = await factories.create_funder(conn)
    account = await factories.create_account(conn, "funder", funder_id=funder_id)
    return account, await factories.username_of(conn, account)


async def test_a_funder_verifies_and_revokes_and_a_new_declaration_is_declared_again(client, conn):
    org = await factories.create_org(conn, values_verified=False, staff_hours_capacity=3000)
    manager = await bearer(client, await factories.username_of(
        conn, await factories.create_account(conn, "organisation", organisation_id=org)))  # fmt: skip
    funder_account, funder_name = await _funder(conn)
    funder = await bearer(client, funder_name)

    before = (await client.get(f"/api/organisations/{org}/checks", headers=manager)).json()
    assert [(s["subject"], s["state"]) for s in before] == [("capacity", "declared"), ("rating", "declared")]

    missing = await client.post(f"/api/organisations/{org}/checks/capacity/verify", json={}, headers=funder)
    assert missing.status_code == 400
    ok = await client.post(
        f"/api/organisations/{org}/checks/capacity/verify", json={"against": "2025年度检查报告"}, headers=funder
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (body["state"], body["verified_capacity"], body["against"]) == ("verified", 3000, "2025年度检查报告")
    again = await client.post(f"/api/organisations/{org}/checks/capacity/verify", json={"against": "x"}, headers=funder)
    assert again.status_code == 409
    row = await conn.fetchrow("SELECT decided_by, funder_id FROM organisation_checks WHERE id = $1", body["check_id"])
    assert row["decided_by"] == funder_account and row["funder_id"] is not None

    # The organisation declares another capacity: it is declared only again, and the log says so.
    put = await client.put(
        f"/api/organisations/{org}", json={"name": "改了产能的中心", "staff_hours_capacity": 9000}, headers=manager
    )
    assert put.status_code == 200
    states = (await client.get(f"/api/organisations/{org}/checks", headers=funder)).json()
    assert states[0]["state"] == "declared" and states[0]["declared_capacity"] == 9000
    assert (
        await conn.fetchval(
            "SELECT detail->>'capacity_declared_again' FROM audit_log WHERE action = 'organisation.update'"
            " AND object_id = $1 ORDER BY id DESC LIMIT 1",
            str(org),
        )
        == "true"
    )

    await client.post(
        f"/api/organisations/{org}/checks/rating/verify", json={"against": "评估等级公告"}, headers=funder
    )
    revoked = await client.post(
        f"/api/organisations/{org}/checks/rating/revoke", json={"reason": "等级已被撤销"}, headers=funder
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    twice = await client.post(f"/api/organisations/{org}/checks/rating/revoke", json={"reason": "再撤"}, headers=funder)
    assert twice.status_code == 409
    actions = [
        r["action"]
        for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE object_type = 'organisation' AND object_id = $1 ORDER BY id", str(org)
        )
    ]
    assert actions == [
        "organisation.capacity_verified", "organisation.update", "organisation.rating_verified",
        "organisation.rating_revoked",
    ]  # fmt: skip


async def test_the_organisation_never_verifies_itself(client, conn):
    org = await factories.create_org(conn, values_verified=False)
    account = await factories.create_account(conn, "organisation", organisation_id=org)
    manager = await bearer(client, await factories.username_of(conn, account))
    # The API refuses it, other tenants' organisations see nothing, the service refuses it too.
    refused = await client.post(f"/api/organisations/{org}/checks/capacity/verify", json={"against": "自己说的"},
                                headers=manager)  # fmt: skip
    assert refused.status_code == 403
    other = await factories.create_org(conn)
    assert (await client.get(f"/api/organisations/{other}/checks", headers=manager)).status_code == 404
    with pytest.raises(Forbidden):
        await org_checks.verify(conn, await factories.identity_of(conn, account), org, "capacity", VerifyOrgValue("x"))
    # The schema refuses an organisation's own account, and a funder's account naming another funder.
    with pytest.raises(asyncpg.CheckViolationError, match="only a funder or the admin"):
        async with conn.transaction():  # a savepoint: the test's transaction goes on
            await conn.execute(
                "INSERT INTO organisation_checks (organisation_id, subject, staff_hours_capacity, against, decided_by)"
                " VALUES ($1, 'capacity', 2000, 'self', $2)",
                org,
                account,
            )
    funder_account, _ = await _funder(conn)
    with pytest.raises(asyncpg.CheckViolationError, match="names the funder"):
        async with conn.transaction():  # a savepoint: the test's transaction goes on
            await conn.execute(
                "INSERT INTO organisation_checks (organisation_id, subject, staff_hours_capacity, against, decided_by,"
                " funder_id) VALUES ($1, 'capacity', 2000, 'doc', $2, $3)",
                org,
                funder_account,
                await factories.create_funder(conn),
            )
    # A check that verified another value cannot be pointed at.
    admin = await factories.create_account(conn, "admin")
    check = await conn.fetchval(
        "INSERT INTO organisation_checks (organisation_id, subject, staff_hours_capacity, against, decided_by)"
        " VALUES ($1, 'capacity', 999999, 'doc', $2) RETURNING id",
        org,
        admin,
    )
    with pytest.raises(asyncpg.CheckViolationError, match="declared capacity"):
        async with conn.transaction():  # a savepoint: the test's transaction goes on
            await conn.execute("UPDATE organisations SET capacity_check_id = $2 WHERE id = $1", org, check)


async def test_the_award_run_reads_only_verified_capacity(conn):
    tender = await fa.create_tender(conn)
    lot = await fa.create_lot(conn, tender, 1)
    declared = await factories.create_org(conn, values_verified=False, staff_hours_capacity=900_000)
    verified = await factories.create_org(conn, staff_hours_capacity=1500)
    declared_bid = await fa.create_bid(conn, lot, declared, price_fen=5_000_000)
    verified_bid = await fa.create_bid(conn, lot, verified, price_fen=9_000_000)
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)
    await fa.score(conn, declared_bid, reviewer, 99)
    await fa.score(conn, verified_bid, reviewer, 50)
    row = await reviews_sql.get_tender(conn, tender)
    assert row is not None
    inputs = await awards.load_inputs(conn, row)
    assert [(x.bid_id, x.reason) for x in inputs.excluded] == [(declared_bid, "capacity_unverified")]
    assert [(o.id, o.capacity_hours) for o in inputs.problem.orgs] == [(str(verified), 1500)]

    # Once an admin verifies the declared capacity, the bid is in, with that value.
    await factories.verify_org_values(conn, declared, ("capacity",))
    inputs = await awards.load_inputs(conn, row)
    assert inputs.excluded == []
    assert {o.id: o.capacity_hours for o in inputs.problem.orgs}[str(declared)] == 900_000


async def test_the_rating_rules_read_only_the_verified_rating(conn):
    funder = await factories.create_funder(conn)
    org = await factories.create_org(conn, values_verified=False, rating=5)
    facts = await bids_sql.org_facts(conn, org)
    assert facts is not None
    assert (facts.rating, facts.declared_rating) == (None, 5)
    rules = eligibility.TenderRules(min_rating=3, rating_must_be_valid=True, min_years_registered=0,
                                    unqualified_bar_years=0)  # fmt: skip
    found = eligibility.reasons(tenders.org_facts(facts), rules, today=dt.date(2026, 1, 1))
    assert [(r.code, r.required, r.actual) for r in found] == [("rating_unverified", "3A", "5A")]
    await factories.verify_org_values(conn, org, ("rating",))
    facts = await bids_sql.org_facts(conn, org)
    assert facts is not None
    assert eligibility.reasons(tenders.org_facts(facts), rules, today=dt.date(2026, 1, 1)) == []
    assert funder
