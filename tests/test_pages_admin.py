"""Admin pages: verify, suspend, reinstate organisations; create and disable accounts; read and check the audit log."""

from __future__ import annotations

import pytest

from tests import factories
from tests.helpers import elements, login, parse_page, post_form

ADMIN_PAGES = ("/admin/organisations", "/admin/accounts", "/admin/audit")


async def as_admin(client, conn) -> int:
    account_id = await factories.create_account(conn, "admin")
    await login(client, await factories.username_of(conn, account_id))
    return account_id


def decision_buttons(html: str, org_id: int) -> list[str]:
    """The decisions offered for one organisation (its form's submit buttons)."""
    action = f"/admin/organisations/{org_id}/decision"
    forms = [a for a, _ in elements(html, "form") if a.get("action") == action]
    assert len(forms) == 1
    # Buttons are listed in page order; the form of this organisation is the only one posting to its action.
    start = html.index(f'action="{action}"')
    end = html.index("</form>", start)
    return [a["value"] for a, _ in elements(html[start:end], "button")]


@pytest.mark.parametrize("role", ["volunteer", "organisation", "committee", "funder", "reviewer"])
async def test_other_roles_are_refused(client, conn, role):
    await login(client, await factories.username_of(conn, await factories.create_account(conn, role)))
    for path in ADMIN_PAGES:
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "无权操作" in parse_page(response.text).texts
    org_id = await factories.create_org(conn, status="pending")
    refused = await post_form(client, f"/admin/organisations/{org_id}/decision", {"decision": "verify"}, page="/home")
    assert refused.status_code == 403
    assert await conn.fetchval("SELECT status FROM organisations WHERE id = $1", org_id) == "pending"


async def test_anonymous_visitors_are_sent_to_log_in(client):
    for path in ADMIN_PAGES:
        response = await client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303)
        assert response.headers["location"] == f"/login?next={path}"


async def test_pending_organisations_come_first_with_a_verify_button(client, conn):
    pending = await factories.create_org(conn, status="pending", name="待审核服务中心")
    verified = await factories.create_org(conn, name="已审核服务中心")
    await as_admin(client, conn)
    response = await client.get("/admin/organisations")
    assert response.status_code == 200
    names = [text for a, text in elements(response.text, "a") if a["href"].startswith("/organisations/")]
    assert "待审核服务中心" in names and "已审核服务中心" not in names
    assert decision_buttons(response.text, pending) == ["verify", "suspend"]
    assert [a.get("aria-current") for a, t in elements(response.text, "a") if t == "待审核"] == ["page"]
    listed = await client.get("/admin/organisations", params={"status": "verified"})
    assert decision_buttons(listed.text, verified) == ["suspend"]


async def test_admin_verifies_a_pending_organisation(client, conn):
    org_id = await factories.create_org(conn, status="pending")
    admin_id = await as_admin(client, conn)
    response = await post_form(
        client,
        f"/admin/organisations/{org_id}/decision",
        {"decision": "verify", "status": "pending"},
        page="/admin/organisations",
    )
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == "/admin/organisations?status=pending&done=verify"
    assert await conn.fetchval("SELECT status FROM organisations WHERE id = $1", org_id) == "verified"
    audit = await conn.fetchrow(
        "SELECT actor_account_id, object_type FROM audit_log WHERE action = 'organisation.verify' AND object_id = $1",
        str(org_id),
    )
    assert (audit["actor_account_id"], audit["object_type"]) == (admin_id, "organisation")
    assert "社会组织已审核通过" in parse_page((await client.get(response.headers["location"])).text).texts


async def test_admin_suspends_and_reinstates(client, conn):
    org_id = await factories.create_org(conn)
    await as_admin(client, conn)
    path = f"/admin/organisations/{org_id}/decision"
    await post_form(client, path, {"decision": "suspend", "status": "verified"}, page="/admin/organisations")
    assert await conn.fetchval("SELECT status FROM organisations WHERE id = $1", org_id) == "suspended"
    suspended = await client.get("/admin/organisations", params={"status": "suspended"})
    assert decision_buttons(suspended.text, org_id) == ["reinstate"]
    await post_form(client, path, {"decision": "reinstate", "status": "suspended"}, page="/admin/organisations")
    assert await conn.fetchval("SELECT status FROM organisations WHERE id = $1", org_id) == "verified"


async def test_a_decision_that_does_not_fit_the_status_is_a_conflict(client, conn):
    org_id = await factories.create_org(conn)
    await as_admin(client, conn)
    response = await post_form(
        client, f"/admin/organisations/{org_id}/decision", {"decision": "verify"}, page="/admin/organisations"
    )
    assert response.status_code == 409
    assert "该社会组织当前的状态不允许此操作" in parse_page(response.text).texts


async def test_admin_creates_a_committee_account_that_can_log_in(client, conn):
    committee_id = await factories.create_committee(conn)
    committee_name = await conn.fetchval("SELECT name FROM committees WHERE id = $1", committee_id)
    funder_id = await factories.create_funder(conn, kind="community_foundation")
    await as_admin(client, conn)
    form_page = await client.get("/admin/accounts")
    assert form_page.status_code == 200
    options = {(a.get("value"), text) for a, text in elements(form_page.text, "option")}
    assert (str(committee_id), committee_name) in options
    assert any(value == str(funder_id) and "社区基金会" in text for value, text in options)
    response = await post_form(
        client,
        "/admin/accounts",
        {
            "role": "committee",
            "committee_id": str(committee_id),
            "username": "KaiLu4",
            "password": "a-long-password-1",
            "display_name": "开鲁四村居委会",
        },
    )
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == "/admin/accounts?created=kailu4"
    row = await conn.fetchrow(
        "SELECT a.role, m.committee_id FROM accounts a JOIN memberships m ON m.account_id = a.id"
        " WHERE a.username = 'kailu4'"
    )
    assert (row["role"], row["committee_id"]) == ("committee", committee_id)
    assert "账号 kailu4 已创建。" in parse_page((await client.get(response.headers["location"])).text).texts
    client.cookies.clear()
    assert (await login(client, "kailu4", "a-long-password-1")).status_code in (302, 303)


async def test_committee_account_without_a_committee_is_refused_beside_the_select(client, conn):
    await as_admin(client, conn)
    response = await post_form(
        client,
        "/admin/accounts",
        {"role": "committee", "username": "nocommittee", "password": "a-long-password-1", "display_name": "某居委会"},
    )
    assert response.status_code == 422
    page = parse_page(response.text)
    assert page.errors == {"committee_id": "请选择居委会"}
    assert page.inputs["username"] == "nocommittee"
    assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = 'nocommittee'") == 0


async def test_admin_disables_an_account(client, conn):
    volunteer = await factories.create_account(conn, "volunteer")
    await as_admin(client, conn)
    response = await post_form(
        client, f"/admin/accounts/{volunteer}/disabled", {"disabled": "1"}, page="/admin/accounts"
    )
    assert response.status_code in (302, 303)
    assert await conn.fetchval("SELECT disabled_at IS NOT NULL FROM accounts WHERE id = $1", volunteer)


async def test_audit_log_lists_entries_and_verifies_the_chain(client, conn):
    org_id = await factories.create_org(conn, status="pending")
    await as_admin(client, conn)
    await post_form(
        client, f"/admin/organisations/{org_id}/decision", {"decision": "verify"}, page="/admin/organisations"
    )
    response = await client.get("/admin/audit")
    assert response.status_code == 200
    page = parse_page(response.text)
    assert "社会组织已审核通过" in page.texts
    assert "登录" in page.texts
    checked = await client.get("/admin/audit", params={"verify": "1"})
    assert "哈希链完整：没有记录被修改或删除。" in parse_page(checked.text).texts


async def test_audit_log_is_paged(client, conn):
    await as_admin(client, conn)
    for _ in range(25):
        await conn.execute(
            "INSERT INTO audit_log (actor_account_id, action, object_type, object_id)"
            " VALUES (NULL, 'test.paging', 'x', '1')"
        )
    first = await client.get("/admin/audit", params={"action": "test."})
    assert len(elements(first.text, "tr")) == 21  # the header and 20 entries
    next_links = [a["href"] for a, _ in elements(first.text, "a") if a.get("rel") == "next"]
    second = await client.get(next_links[0])
    assert len(elements(second.text, "tr")) == 6


async def test_admin_pages_switch_to_english(client, conn):
    await as_admin(client, conn)
    await post_form(client, "/lang", {"locale": "en", "next": "/admin/organisations"}, page="/admin/organisations")
    page = parse_page((await client.get("/admin/organisations")).text)
    assert "Verify organisations" in page.texts
    assert "Pending verification" in page.texts
