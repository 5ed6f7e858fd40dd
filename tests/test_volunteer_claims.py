"""Imported volunteers claim their profiles: the committee issues one-time codes (a new issue replaces them), the
person claims with the phone in the sheet and the code, and gets a volunteer account linked to the imported
profile; five wrong tries close a phone's codes until new ones are issued; other committees cannot issue codes."""

from __future__ import annotations

import io

import openpyxl
import pytest

from api.services import register_imports, volunteer_claims
from api.services.errors import Conflict, Invalid, NotFound
from api.services.volunteer_claims import VolunteerClaim
from tests.factories import create_account, username_of
from tests.helpers import csrf_token, login, post_form
from tests.pages_kit import page_context
from tests.test_register_imports import LIMITS, VOLUNTEER_HEADERS, setting, sheet

ROWS = [["李建国", "13900000001", 66, "急救", "上海话", 6], ["王芳", "13900000002", 40, "", "", ""]]


async def imported(conn, own) -> str:
    public_id = await register_imports.upload(conn, own, "volunteers", "v.xlsx", sheet(VOLUNTEER_HEADERS, ROWS), LIMITS)
    await register_imports.confirm(conn, own, public_id, set(), LIMITS)
    return public_id


def claim(phone: str, code: str, username: str = "li.jianguo") -> VolunteerClaim:
    return VolunteerClaim(phone=phone, code=code, username=username, password="a-long-password-1")


async def test_a_volunteer_claims_the_imported_profile_with_the_phone_and_code(conn):
    _, own, other = await setting(conn)
    public_id = await imported(conn, own)
    with pytest.raises(NotFound):
        await volunteer_claims.issue_codes(conn, other, public_id)
    codes = await volunteer_claims.issue_codes(conn, own, public_id)
    assert [(c.display_name, c.phone) for c in codes] == [("李建国", "13900000001"), ("王芳", "13900000002")]
    assert all(len(c.code) == 9 and c.code[4] == "-" for c in codes)
    typed = codes[0].code.replace("-", " ").lower()
    account_id = await volunteer_claims.claim(conn, claim("139-0000-0001", typed))
    row = await conn.fetchrow(
        "SELECT v.account_id, v.claim_code_hash, v.skills, a.role, a.display_name FROM volunteers v"
        " JOIN accounts a ON a.id = v.account_id WHERE v.phone = '13900000001'"
    )
    assert dict(row) == {
        "account_id": account_id, "claim_code_hash": None, "skills": ["first_aid"], "role": "volunteer",
        "display_name": "李建国",
    }  # fmt: skip
    # The code is spent; the other volunteer's code is still good; a new issue covers only who has not claimed.
    with pytest.raises(Invalid):
        await volunteer_claims.claim(conn, claim("13900000001", codes[0].code, "another.name"))
    again = await volunteer_claims.issue_codes(conn, own, public_id)
    assert [c.display_name for c in again] == ["王芳"]
    with pytest.raises(Invalid):
        await volunteer_claims.claim(conn, claim("13900000002", codes[1].code, "wang.fang"))
    await volunteer_claims.claim(conn, claim("13900000002", again[0].code, "wang.fang"))
    with pytest.raises(Conflict):
        await volunteer_claims.issue_codes(conn, own, public_id)
    actions = await conn.fetch("SELECT action FROM audit_log WHERE action LIKE 'volunteer.claim%' ORDER BY id")
    assert [r["action"] for r in actions] == [
        "volunteer.claim_codes_issued", "volunteer.claimed", "volunteer.claim_codes_issued", "volunteer.claimed",
    ]  # fmt: skip


async def test_five_wrong_tries_close_a_phones_codes_until_new_ones_are_issued(conn):
    _, own, _ = await setting(conn)
    public_id = await imported(conn, own)
    code = (await volunteer_claims.issue_codes(conn, own, public_id))[0].code
    for _ in range(volunteer_claims.MAX_FAILURES):
        with pytest.raises(Invalid) as wrong:
            await volunteer_claims.claim(conn, claim("13900000001", "AAAA-AAAA"))
        assert wrong.value.fields == {"code": volunteer_claims.WRONG_CODE}
    with pytest.raises(Invalid):
        await volunteer_claims.claim(conn, claim("13900000001", code))
    fresh = await volunteer_claims.issue_codes(conn, own, public_id)
    assert await volunteer_claims.claim(conn, claim("13900000001", fresh[0].code))


async def test_the_codes_download_and_the_claim_page(client, conn):
    d, own, _ = await setting(conn)
    public_id = await imported(conn, own)
    await login(client, await username_of(conn, d.committee_account))
    page = f"/imports/volunteers/{public_id}"
    shown = await client.get(page)
    assert "下载认领码（XLSX）" in shown.text and "/register/claim" in shown.text
    download = await post_form(client, f"{page}/claim-codes", {}, page=page)
    assert download.status_code == 201 and download.headers["cache-control"] == "no-store"
    rows = list(openpyxl.load_workbook(io.BytesIO(download.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("姓名", "联系电话", "认领码", "认领网址") and rows[1][:2] == ("李建国", "13900000001")
    assert str(rows[1][3]).endswith("/register/claim")
    code = str(rows[1][2])
    await client.post("/logout", data={"_csrf_token": await csrf_token(client, "/households")})
    form = await client.get("/register/claim")
    assert form.status_code == 200 and "认领志愿者档案" in form.text and "认领码" in form.text
    assert "/register/claim" in (await client.get("/register")).text
    wrong = await post_form(
        client, "/register/claim",
        {"phone": "13900000001", "code": "AAAA-AAAA", "username": "li.jianguo", "password": "a-long-password-1"},
    )  # fmt: skip
    assert wrong.status_code == 422 and "手机号或认领码不对" in wrong.text and 'value="li.jianguo"' in wrong.text
    done = await post_form(
        client, "/register/claim",
        {"phone": "13900000001", "code": code, "username": "li.jianguo", "password": "a-long-password-1"},
    )  # fmt: skip
    assert done.status_code in (302, 303) and "registered=volunteer" in done.headers["location"]
    assert await login(client, "li.jianguo", "a-long-password-1")
    volunteer = await create_account(conn, "volunteer")
    assert volunteer


async def test_the_committee_sees_its_imported_volunteers_who_have_not_claimed(client, conn):
    d, own, other = await setting(conn)
    public_id = await imported(conn, own)
    assert await volunteer_claims.waiting_profiles(conn, other) == []  # another committee sees none of them
    await login(client, await username_of(conn, d.committee_account))
    before = await page_context(client, "/volunteers/unclaimed")
    assert before.template == "imports/unclaimed.html" and before["kind"] == "unclaimed"
    [waiting] = before["waiting"]
    assert waiting.public_id == public_id and waiting.filename == "v.xlsx"
    assert [(v.masked_name, v.masked_phone, v.has_code, v.locked) for v in waiting.volunteers] == [
        ("李*国", "139****0001", False, False), ("王*", "139****0002", False, False),
    ]  # fmt: skip
    text = before.response.text
    assert "尚未认领档案的导入志愿者" in text and "2 名志愿者尚未认领档案。" in text and "尚未发认领码" in text
    assert "李建国" not in text and "13900000001" not in text
    assert f'action="/imports/volunteers/{public_id}/claim-codes"' in text
    assert '在 <a href="/register/claim" translate="no">/register/claim</a> 认领' in text

    # After codes are issued, one is claimed and the other phone's code is closed by five wrong tries.
    codes = await volunteer_claims.issue_codes(conn, own, public_id)
    await volunteer_claims.claim(conn, claim("13900000001", codes[0].code))
    await conn.execute("UPDATE volunteers SET claim_failures = $1 WHERE phone = '13900000002'", 5)
    after = await page_context(client, "/volunteers/unclaimed")
    assert [(v.masked_name, v.has_code, v.locked) for v in after["waiting"][0].volunteers] == [("王*", True, True)]
    assert "1 名志愿者尚未认领档案。" in after.response.text and "连续输错五次，认领码已失效" in after.response.text

    await volunteer_claims.claim(
        conn, claim("13900000002", (await volunteer_claims.issue_codes(conn, own, public_id))[0].code, "wang.fang")
    )
    done = await page_context(client, "/volunteers/unclaimed")
    assert done["waiting"] == [] and "您导入的志愿者都已认领档案。" in done.response.text


async def test_only_committees_see_the_volunteers_yet_to_claim(client, conn):
    await login(client, await username_of(conn, await create_account(conn, "organisation")))
    assert (await client.get("/volunteers/unclaimed")).status_code == 403
