"""The organisation page's capacity and rating section: a funder verifies and revokes through the question pages,
the organisation sees 已声明/已核验 on its own edit page and cannot open the verify page."""

from __future__ import annotations

from tests import factories
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context


async def _funder(conn) -> str:
    account = await factories.create_account(conn, "funder", funder_id=await factories.create_funder(conn))
    return await factories.username_of(conn, account)


async def test_a_funder_verifies_the_capacity_then_revokes_it_through_the_question_pages(client, conn):
    org = await factories.create_org(conn, name="待核验社工中心", values_verified=False, staff_hours_capacity=4800)
    await login(client, await _funder(conn))
    shown = await page_context(client, f"/organisations/{org}")
    assert shown.template == "organisations/profile.html"
    assert [(s.subject, s.state) for s in shown.context["checks"]] == [("capacity", "declared"), ("rating", "declared")]
    assert shown.context["may_verify"] is True
    texts = parse_page(shown.response.text).texts
    assert "服务产能与评估等级：已声明或已核验" in texts and "已声明" in texts

    ask = await page_context(client, f"/organisations/{org}/checks/capacity/verify")
    assert ask.template == "confirm/org_value_verify.html"
    assert ask.context["state"].declared_capacity == 4800
    assert "核验待核验社工中心的服务产能？" in parse_page(ask.response.text).texts

    path = f"/organisations/{org}/checks/capacity/verify"
    empty = await post_form(client, path, {"against": ""}, page=path)
    assert empty.status_code == 422
    done = await post_form(client, path, {"against": "2025年度检查报告第3页"}, page=path)
    assert done.status_code in (302, 303)
    assert done.headers["location"] == f"/organisations/{org}?done=verified#checks"
    after = await page_context(client, f"/organisations/{org}?done=verified")
    assert after.context["checks"][0].state == "verified"
    assert "已核验：中标计算和等级要求现在采用这一数值。" in parse_page(after.response.text).texts

    revoke = f"/organisations/{org}/checks/capacity/revoke"
    gone = await post_form(client, revoke, {"reason": "社保名单与申报不符"}, page=revoke)
    assert gone.status_code in (302, 303)
    assert (await page_context(client, f"/organisations/{org}")).context["checks"][0].state == "revoked"


async def test_the_organisation_sees_its_states_on_its_edit_page_and_cannot_verify(client, conn):
    org = await factories.create_org(conn, values_verified=False)
    await factories.verify_org_values(conn, org, ("rating",))
    manager = await factories.create_account(conn, "organisation", organisation_id=org)
    await login(client, await factories.username_of(conn, manager))
    edit = await page_context(client, f"/organisations/{org}/edit")
    assert [(s.subject, s.state) for s in edit.context["checks"]] == [("capacity", "declared"), ("rating", "verified")]
    assert edit.context["may_verify"] is False
    texts = parse_page(edit.response.text).texts
    assert "已声明" in texts and "已核验" in texts
    refused = await client.get(f"/organisations/{org}/checks/capacity/verify")
    assert refused.status_code == 403
    # The public and other organisations see no section.
    client.cookies.clear()
    assert (await page_context(client, f"/organisations/{org}")).context["checks"] is None
