"""Nothing self-declared opens restricted work (issue 11, step 4), through the API: a fake certificate number gets
no home visit and no elder's file; evidence opened and verified by staff of a committee the volunteer serves with
does, and the file then also waits for the publisher's confirmation of that person."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_account, username_of
from tests.factories_shifts import create_shift
from tests.factories_tendering import create_district, create_household
from tests.helpers import bearer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ZH = {"accept-language": "zh-CN"}


async def _as(client, conn, account_id):
    return await bearer(client, await username_of(conn, account_id)) | ZH


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


async def test_a_fake_certificate_opens_nothing_until_verified_and_confirmed(client, conn):
    d = await create_district(conn)
    household_id = await create_household(conn, d.committee_id)
    address = await conn.fetchval("SELECT address FROM households WHERE id = $1", household_id)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)
    visit = await create_shift(
        conn, committee_id=d.committee_id, starts_at=soon, household_id=household_id,
        required_certificates=["elderly_carer"], lat=31.30, lon=121.54,
    )  # fmt: skip
    plain = await create_shift(conn, committee_id=d.committee_id, lat=31.30, lon=121.54)
    volunteer_account = await create_account(conn, "volunteer")
    me = await _as(client, conn, volunteer_account)
    staff = await _as(client, conn, d.committee_account)
    assert (await client.put("/api/volunteers/me/consent", json={"sensitive_data": True}, headers=me)).is_success

    # The measured attack: a self-declared certificate, a sign-up, the elder's file.
    declared = await client.put(
        "/api/volunteers/me/certificates/elderly_carer", json={"number": "FAKE-000"}, headers=me
    )
    assert declared.status_code == 200
    [claim] = [c for c in declared.json()["claims"] if c["subject"] == "certificate"]
    assert claim["state"] == "declared"
    refused = _problem(await client.post(f"/api/shifts/{visit}/signups", headers=me), 409)
    assert refused["type"] == "/problems/shift-not-eligible"
    assert [e["field"] for e in refused["errors"]] == ["certificates"]
    assert "核验" in refused["errors"][0]["message"]  # the reason, in Chinese
    _problem(await client.get(f"/api/households/{household_id}", headers=me), 404)

    # Evidence: the bytes decide the type; the committee cannot see it before the volunteer serves with it.
    bad = _problem(
        await client.post("/api/volunteers/me/claims/elderly_carer/evidence", content=b"GIF89a", headers=me), 422
    )
    assert [e["field"] for e in bad["errors"]] == ["file"]
    added = await client.post("/api/volunteers/me/claims/elderly_carer/evidence", content=PNG, headers=me)
    assert added.status_code == 201, added.text
    evidence_id = added.json()["evidence_id"]
    assert (await client.get("/api/verification/pending", headers=staff)).json() == []
    _problem(await client.get(f"/api/verification/evidence/{evidence_id}", headers=staff), 404)
    assert (await client.post(f"/api/shifts/{plain}/signups", headers=me)).status_code == 201

    # Now the committee is one the volunteer serves with: open first, then verify.
    [pending] = (await client.get("/api/verification/pending", headers=staff)).json()
    assert pending["evidence_id"] == evidence_id and not pending["opened_by_me"]
    expiry = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    unopened = _problem(
        await client.post(
            f"/api/verification/evidence/{evidence_id}/verify", json={"expires_on": expiry}, headers=staff
        ),
        409,
    )
    assert "打开" in unopened["detail"]
    _problem(await client.post(f"/api/verification/evidence/{evidence_id}/verify", json={}, headers=me), 403)
    opened = await client.get(f"/api/verification/evidence/{evidence_id}", headers=staff)
    assert opened.status_code == 200 and opened.content == PNG and opened.headers["content-type"] == "image/png"
    verified = await client.post(
        f"/api/verification/evidence/{evidence_id}/verify", json={"expires_on": expiry}, headers=staff
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["claim"]["state"] == "verified" and verified.json()["claim"]["verified_expires_on"] == expiry

    # Verified: the home visit takes the volunteer; the file waits for the publisher's confirmation of the person.
    assert (await client.post(f"/api/shifts/{visit}/signups", headers=me)).status_code == 201
    unconfirmed = _problem(await client.get(f"/api/households/{household_id}", headers=me), 403)
    assert address not in str(unconfirmed)
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", volunteer_account)
    confirmed = await client.post(
        "/api/households/confirmations", json={"shift_id": visit, "volunteer_id": volunteer_id}, headers=staff
    )
    assert confirmed.status_code == 201 and confirmed.json() == {"household_id": household_id}
    seen = await client.get(f"/api/households/{household_id}", headers=me)
    assert seen.status_code == 200 and seen.json()["address"] == address

    # The committee sees who opened the file, and every step is in the audit log.
    openings = (await client.get(f"/api/households/{household_id}/openings", headers=staff)).json()
    assert [o["basis"] for o in openings] == ["shift"] and openings[0]["account_id"] == volunteer_account
    actions = await conn.fetch(
        "SELECT action FROM audit_log WHERE action LIKE 'credential.%' AND object_id = $1 ORDER BY id",
        str(volunteer_id),
    )
    assert [a["action"] for a in actions] == [
        "credential.evidence_added", "credential.evidence_opened", "credential.verified"
    ]  # fmt: skip

    # Revoked: the same person can no longer take a certificate-only shift.
    again = await create_shift(
        conn, committee_id=d.committee_id, required_certificates=["elderly_carer"], lat=31.30, lon=121.54,
        starts_at=soon + dt.timedelta(days=2),
    )  # fmt: skip
    revoked = await client.post(
        f"/api/verification/volunteers/{volunteer_id}/claims/elderly_carer/revoke",
        json={"reason": "证书编号查无此证"},
        headers=staff,
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    _problem(await client.post(f"/api/shifts/{again}/signups", headers=me), 409)


async def test_another_committee_cannot_see_or_verify_the_evidence(client, conn):
    d = await create_district(conn)
    shift = await create_shift(conn, committee_id=d.committee_id)
    volunteer_account = await create_account(conn, "volunteer")
    me = await _as(client, conn, volunteer_account)
    await client.put("/api/volunteers/me/certificates/first_aid", json={"number": "A1"}, headers=me)
    evidence = await client.put("/api/volunteers/me/claims/first_aid/issuer-number", json={"number": "A1"}, headers=me)
    assert evidence.status_code == 201
    evidence_id = evidence.json()["evidence_id"]
    assert (await client.post(f"/api/shifts/{shift}/signups", headers=me)).status_code == 201
    other = await _as(client, conn, d.other_committee_account)
    _problem(await client.get(f"/api/verification/evidence/{evidence_id}", headers=other), 404)
    _problem(await client.post(f"/api/verification/evidence/{evidence_id}/verify", json={}, headers=other), 404)
    staff = await _as(client, conn, d.committee_account)
    number = await client.get(f"/api/verification/evidence/{evidence_id}", headers=staff)
    assert number.text == "A1"
    # No expiry declared and none given: the verifier is asked for the one the evidence shows.
    no_expiry = _problem(
        await client.post(f"/api/verification/evidence/{evidence_id}/verify", json={}, headers=staff), 422
    )
    assert [e["field"] for e in no_expiry["errors"]] == ["expires_on"]
    rejected = await client.post(
        f"/api/verification/evidence/{evidence_id}/reject", json={"reason": "号码与证书不符"}, headers=staff
    )
    assert rejected.status_code == 200 and rejected.json()["claim"]["state"] == "rejected"
    _problem(await client.post(f"/api/verification/evidence/{evidence_id}/verify", json={}, headers=staff), 409)
