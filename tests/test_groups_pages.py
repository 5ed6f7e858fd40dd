"""Group sign-up pages in Chinese: the 团体报名 link on the shift page, the form with its rows, errors beside each
member's row, the leader's group page and its cancel buttons, the page that asks before cancelling the group."""

from __future__ import annotations

import datetime as dt

from api.services import groups
from api.services.groups import GroupMemberIn, GroupSignupForm
from api.services.types import SHANGHAI
from tests.factories_shifts import add_signup, create_shift, publisher_identity, soon, volunteer_identity
from tests.helpers import csrf_token, login
from tests.pages_kit import page_context

YEAR = dt.datetime.now(SHANGHAI).year


async def _leader(client, conn):
    who = await volunteer_identity(conn)
    await login(client, who.username)
    return who


async def _post(client, path: str, page: str, data: dict[str, str], status: int):
    token = await csrf_token(client, page)
    return await page_context(client, path, method="POST", status=status, data={**data, "_csrf_token": token})


async def test_the_shift_page_offers_a_group_sign_up_and_the_form_adds_rows(client, conn):
    await _leader(client, conn)
    shift_id = await create_shift(conn, headcount=4, title="社区清洁日")
    shown = await page_context(client, f"/shifts/{shift_id}")
    assert shown["my_groups"] == []
    assert f'href="/shifts/{shift_id}/group"' in shown.response.text and "团体报名" in shown.response.text
    form = await page_context(client, f"/shifts/{shift_id}/group")
    assert form.template == "groups/new.html" and form["rows"] == 3
    assert "团体名称" in form.response.text and "成员 3" in form.response.text
    more = await _post(
        client,
        f"/shifts/{shift_id}/group",
        f"/shifts/{shift_id}/group",
        {"rows": "3", "name": "王家", "m0_name": "小明", "add_row": "1"},
        200,
    )
    assert more["rows"] == 4 and more["values"]["m0_name"] == "小明"
    assert "成员 4" in more.response.text


async def test_a_leader_signs_up_a_family_and_sees_the_group(client, conn):
    leader = await _leader(client, conn)
    friend = await volunteer_identity(conn)
    shift_id = await create_shift(conn, headcount=4)
    data = {
        "rows": "3",
        "name": "王家",
        "m0_account": friend.username,
        "m2_name": "小明",
        "m2_birth_year": str(YEAR - 9),
        "m2_guardian_consent": "on",
    }
    token = await csrf_token(client, f"/shifts/{shift_id}/group")
    response = await client.post(f"/shifts/{shift_id}/group", data={**data, "_csrf_token": token})
    assert response.status_code in (302, 303), response.text
    group = await page_context(client, response.headers["location"])
    view = group["view"]
    assert group.template == "groups/detail.html" and group["done"] == "signed"
    assert [m.volunteer_id for m in view.members] == [leader.volunteer_id, friend.volunteer_id, None]
    assert view.shift.taken == 3
    text = group.response.text
    assert "团体报名成功" in text and "小明" in text and "监护人已同意" in text and "取消整个团体" in text
    shift_page = await page_context(client, f"/shifts/{shift_id}")
    assert [g.id for g in shift_page["my_groups"]] == [view.group.id]
    # One member's place, then the whole group after the page that asks first.
    child = view.members[2].id
    token = await csrf_token(client, f"/groups/{view.group.id}")
    one = await client.post(f"/groups/{view.group.id}/members/{child}/cancel", data={"_csrf_token": token})
    assert one.status_code in (302, 303)
    after = await page_context(client, one.headers["location"])
    assert [m.status for m in after["view"].members] == ["active", "active", "cancelled"]
    ask = await page_context(client, f"/groups/{view.group.id}/cancel")
    assert ask.template == "confirm/group_cancel.html" and ask["places"] == 2 and ask["late"] is False
    assert "取消整个团体" in ask.response.text
    token = await csrf_token(client, f"/groups/{view.group.id}/cancel")
    whole = await client.post(f"/groups/{view.group.id}/cancel", data={"_csrf_token": token})
    final = await page_context(client, whole.headers["location"])
    assert final["view"].group.status == "cancelled" and final["view"].shift.taken == 0


async def test_errors_stand_beside_each_members_row_in_chinese(client, conn):
    await _leader(client, conn)
    starts = soon(5)
    shift_id = await create_shift(conn, starts_at=starts, headcount=5)
    busy = await volunteer_identity(conn)
    await add_signup(conn, await create_shift(conn, starts_at=starts), busy.volunteer_id)
    page = f"/shifts/{shift_id}/group"
    # What the page itself finds: a child without the guardian's consent, a row with both kinds.
    wrong = await _post(
        client,
        page,
        page,
        {
            "rows": "3",
            "name": "班级",
            "m0_name": "小刚",
            "m0_birth_year": str(YEAR - 8),
            "m1_account": "x",
            "m1_name": "y",
        },
        422,
    )
    assert set(wrong["errors"]) == {"m0_guardian_consent", "m1_account"}
    assert 'id="e-m0_guardian_consent"' in wrong.response.text and "未满18岁" in wrong.response.text
    # What the use case refuses: the busy member in row 2 (the empty first row skipped), all or none.
    refused = await _post(
        client,
        page,
        page,
        {
            "rows": "3",
            "name": "同事",
            "m1_account": busy.username,
            "m2_name": "小红",
            "m2_birth_year": str(YEAR - 10),
            "m2_guardian_consent": "on",
        },
        409,
    )
    assert list(refused["reasons"]) == ["m1"]
    assert 'id="e-m1"' in refused.response.text and "此时段已有名额" in refused.response.text
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 0


async def test_the_publisher_sees_members_without_an_account_under_their_leader(client, conn):
    publisher = await publisher_identity(conn, "committee")
    shift_id = await create_shift(conn, committee_id=publisher.committee_id, headcount=5)
    leader = await volunteer_identity(conn)
    kids = [GroupMemberIn(name=n, birth_year=YEAR - 9, guardian_consent=True) for n in ("小明", "小红")]
    await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="王家", members=kids))
    await login(client, publisher.username)
    page = await page_context(client, f"/attendance/shifts/{shift_id}/manage")
    assert [(p.leader_volunteer_id, p.name) for p in page["view"].group_people] == [
        (leader.volunteer_id, "小明"),
        (leader.volunteer_id, "小红"),
    ]
    assert "无账号的团体成员" in page.response.text and f"小明（{YEAR - 9}年生）" in page.response.text
    api = await client.get(f"/api/attendance/shifts/{shift_id}")
    assert [p["name"] for p in api.json()["group_people"]] == ["小明", "小红"]
