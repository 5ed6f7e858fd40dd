"""The verification pages in Chinese (issue 11, step 4): the volunteer sends evidence from the profile (errors beside
the file field), staff open it on 待核验, then verify, reject or revoke through a page that asks first, and the
publisher of a home visit confirms a person for the household's first visit."""

from __future__ import annotations

import datetime as dt

from api.services.types import today
from tests.factories import create_account, username_of
from tests.factories_shifts import create_shift
from tests.factories_tendering import create_district, create_household
from tests.helpers import bearer, csrf_token, login, parse_page, post_form
from tests.pages_kit import page_context

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROFILE = "/volunteer/profile"


async def _volunteer(client, conn):
    """A volunteer logged in on the client who declared an elderly-care certificate and a date of birth."""
    account_id = await create_account(conn, "volunteer")
    me = await bearer(client, await username_of(conn, account_id))
    declared = await client.put("/api/volunteers/me/certificates/elderly_carer", json={"number": "YL-7"}, headers=me)
    assert declared.status_code == 200, declared.text
    await conn.execute("UPDATE volunteers SET birth_date = '1985-05-04' WHERE account_id = $1", account_id)
    await login(client, await username_of(conn, account_id))
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)
    return account_id, volunteer_id, me


async def _send(client, claim: str, *, file: tuple[str, bytes, str] | None = None, number: str = ""):
    token = await csrf_token(client, PROFILE)
    return await client.post(
        f"/volunteer/profile/claims/{claim}/evidence",
        data={"_csrf_token": token, "number": number},
        files={"file": file or ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )


async def test_the_profile_shows_each_claims_state_and_takes_evidence(client, conn):
    _, volunteer_id, _ = await _volunteer(client, conn)
    rendered = await page_context(client, PROFILE)
    states = {(k.subject, k.certificate_kind): k.state for k in rendered["claims"]}
    assert states == {("certificate", "elderly_carer"): "declared", ("birth_date", ""): "declared"}
    page = rendered.response.text
    assert "资料核验" in page and "已声明" in page and "尚未核验" in page
    assert 'enctype="multipart/form-data"' in page
    # The birth date is verified from a scan only: no number box for it.
    assert 'id="f-elderly_carer-number"' in page and 'id="f-birth_date-number"' not in page

    # Neither a file nor a number; then a file that is not JPEG, PNG or PDF: the error is beside the file field.
    gif = ("a.gif", b"GIF89a", "image/png")
    for sent in (await _send(client, "elderly_carer"), await _send(client, "elderly_carer", file=gif)):
        assert sent.status_code == 422, sent.text
        errors = parse_page(sent.text).errors
        assert set(errors) == {"elderly_carer-file"}
    assert "JPEG" in errors["elderly_carer-file"] and "PDF" in errors["elderly_carer-file"]
    too_long = await _send(client, "elderly_carer", number="9" * 61)
    assert too_long.status_code == 422 and "elderly_carer-number" in parse_page(too_long.text).errors

    sent = await _send(client, "elderly_carer", file=("zheng.png", PNG, "image/png"))
    assert sent.status_code in (302, 303), sent.text
    assert sent.headers["location"].endswith("done=evidence")
    numbered = await _send(client, "elderly_carer", number="YL-2026-7")
    assert numbered.status_code in (302, 303), numbered.text
    rows = await conn.fetch(
        "SELECT content, issuer_number FROM credential_evidence WHERE volunteer_id = $1 ORDER BY id", volunteer_id
    )
    assert [(r["content"], r["issuer_number"]) for r in rows] == [(PNG, None), (None, "YL-2026-7")]
    shown = await client.get(sent.headers["location"])
    assert "证明材料已提交" in shown.text and "等待核验" in shown.text


async def test_staff_open_then_verify_reject_and_revoke_through_pages(client, conn):
    d = await create_district(conn)
    shift = await create_shift(conn, committee_id=d.committee_id)
    _, volunteer_id, me = await _volunteer(client, conn)
    assert (await client.post(f"/api/shifts/{shift}/signups", headers=me)).status_code == 201
    upload = await client.post("/api/volunteers/me/claims/elderly_carer/evidence", content=PNG, headers=me)
    born = await client.post("/api/volunteers/me/claims/birth_date/evidence", content=PNG, headers=me)
    evidence_id, birth_evidence = upload.json()["evidence_id"], born.json()["evidence_id"]
    await login(client, await username_of(conn, d.committee_account))

    listed = await page_context(client, "/verification")
    assert listed.template == "verification/pending.html"
    assert [i.evidence_id for i in listed["items"]] == [evidence_id, birth_evidence]
    assert "待核验" in listed.response.text and "查看证明材料" in listed.response.text
    home = await client.get("/")
    assert 'href="/verification"' in home.text

    # Before opening the evidence the button is disabled, and a decision is refused beside it.
    ask = await page_context(client, f"/verification/evidence/{evidence_id}/verify")
    assert ask.template == "confirm/evidence_verify.html" and not ask["item"].opened_by_me
    assert "请先查看证明材料" in ask.response.text and "disabled" in ask.response.text
    path = f"/verification/evidence/{evidence_id}/verify"
    expiry = (today() + dt.timedelta(days=300)).isoformat()
    unopened = await post_form(client, path, {"expires_on": expiry})
    assert unopened.status_code == 409 and "打开" in unopened.text

    opened = await client.get(f"/verification/evidence/{evidence_id}")
    assert opened.content == PNG and opened.headers["content-disposition"] == "inline"
    assert opened.headers["cache-control"] == "no-store"
    past = await post_form(client, path, {"expires_on": (today() - dt.timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and "expires_on" in parse_page(past.text).errors
    done = await post_form(client, path, {"expires_on": expiry})
    assert done.status_code in (302, 303), done.text
    check = await conn.fetchrow(
        "SELECT k.id, k.state, k.expires_on FROM volunteer_certificates c JOIN credential_checks k ON k.id = c.check_id"
        " WHERE c.volunteer_id = $1",
        volunteer_id,
    )
    assert (check["state"], check["expires_on"].isoformat()) == ("verified", expiry)

    # The date of birth: opened, then rejected with a reason (none given: the error is beside the reason).
    await client.get(f"/verification/evidence/{birth_evidence}")
    reject = f"/verification/evidence/{birth_evidence}/reject"
    no_reason = await post_form(client, reject, {"reason": ""})
    assert no_reason.status_code == 422 and "reason" in parse_page(no_reason.text).errors
    assert (await post_form(client, reject, {"reason": "照片模糊，看不清出生日期"})).status_code in (302, 303)

    after = await page_context(client, "/verification?done=rejected")
    assert after["items"] == [] and [k.check_id for k in after["verified"]] == [check["id"]]
    assert "已驳回" in after.response.text and "我们核验过的" in after.response.text

    revoke = f"/verification/checks/{check['id']}/revoke"
    asked = await page_context(client, revoke)
    assert asked.template == "confirm/claim_revoke.html" and "撤销核验" in asked.response.text
    assert (await post_form(client, revoke, {"reason": ""})).status_code == 422
    assert (await post_form(client, revoke, {"reason": "发证机构查无此证"})).status_code in (302, 303)
    assert await conn.fetchval("SELECT state FROM credential_checks WHERE id = $1", check["id"]) == "revoked"

    # The volunteer sees each state on the profile.
    await login(client, await username_of(conn, await conn.fetchval(
        "SELECT account_id FROM volunteers WHERE id = $1", volunteer_id)))  # fmt: skip
    profile = await page_context(client, PROFILE)
    assert {k.subject: k.state for k in profile["claims"]} == {"certificate": "revoked", "birth_date": "rejected"}
    assert "照片模糊" in profile.response.text and "已撤销" in profile.response.text


async def test_an_issuer_number_opens_on_a_page_and_another_committee_sees_nothing(client, conn):
    d = await create_district(conn)
    shift = await create_shift(conn, committee_id=d.committee_id)
    _, _, me = await _volunteer(client, conn)
    assert (await client.post(f"/api/shifts/{shift}/signups", headers=me)).status_code == 201
    added = await client.put(
        "/api/volunteers/me/claims/elderly_carer/issuer-number", json={"number": "YL-99"}, headers=me
    )
    evidence_id = added.json()["evidence_id"]
    await login(client, await username_of(conn, d.other_committee_account))
    assert (await page_context(client, "/verification"))["items"] == []
    assert (await client.get(f"/verification/evidence/{evidence_id}")).status_code == 404
    await login(client, await username_of(conn, d.committee_account))
    shown = await page_context(client, f"/verification/evidence/{evidence_id}")
    assert shown.template == "verification/number.html" and "YL-99" in shown.response.text
    assert "发证机构" in shown.response.text


async def test_the_publisher_confirms_a_person_for_a_households_first_visit(client, conn):
    d = await create_district(conn)
    household_id = await create_household(conn, d.committee_id)
    visit = await create_shift(conn, committee_id=d.committee_id, household_id=household_id, lat=31.30, lon=121.54)
    account_id = await create_account(conn, "volunteer")
    me = await bearer(client, await username_of(conn, account_id))
    assert (await client.put("/api/volunteers/me/consent", json={"sensitive_data": True}, headers=me)).is_success
    assert (await client.post(f"/api/shifts/{visit}/signups", headers=me)).status_code == 201
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)
    await login(client, await username_of(conn, d.committee_account))

    page = await page_context(client, f"/shifts/{visit}")
    [person] = page["first_visit"]
    assert person.volunteer_id == volunteer_id and person.confirmed_at is None
    assert "上门人员" in page.response.text and "尚未确认" in page.response.text
    ask = await page_context(client, f"/shifts/{visit}/confirm/{volunteer_id}")
    assert ask.template == "confirm/household_first_visit.html" and "确认此人" in ask.response.text
    done = await post_form(client, f"/shifts/{visit}/confirm/{volunteer_id}", {})
    assert done.status_code in (302, 303) and done.headers["location"].endswith("done=confirmed")
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM household_confirmations WHERE household_id = $1 AND volunteer_id = $2",
            household_id,
            volunteer_id,
        )
        == 1
    )
    again = await page_context(client, f"/shifts/{visit}?done=confirmed")
    assert again["first_visit"][0].confirmed_at is not None and "已确认" in again.response.text
    # Another committee is not the publisher: no list, and the confirmation is refused.
    await login(client, await username_of(conn, d.other_committee_account))
    assert (await page_context(client, f"/shifts/{visit}"))["first_visit"] == []
