"""Staff of a committee or organisation: one-time invitation links, roles, removal that ends sessions and tokens,
and the last manager kept (by the service under a lock, and by the schema)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from api.services import staff
from api.services.accounts import SecurityPolicy, SessionStart
from api.services.errors import Conflict, Forbidden, NotFound
from api.services.staff import InvitationForm, JoinForm, RoleChange
from tests import factories
from tests.helpers import bearer, csrf_token, links, login, parse_page, post_form
from tests.pages_kit import page_context
from tests.test_abuse_auth import committed  # noqa: F401 (a fixture used below)

JOIN = JoinForm(username="new.colleague", display_name="王小梅", password="a-long-password-7")


async def committee_with_manager(conn: asyncpg.Connection) -> tuple[int, int]:
    """A committee and its manager's account."""
    committee_id = await factories.create_committee(conn)
    manager = await factories.create_account(conn, "committee", committee_id=committee_id)
    return committee_id, manager


async def member(conn: asyncpg.Connection, committee_id: int, role: str = "staff") -> int:
    account_id = await factories.create_account(conn, "committee", committee_id=committee_id)
    await conn.execute("UPDATE memberships SET role = $2 WHERE account_id = $1", account_id, role)
    return account_id


async def join(conn: asyncpg.Connection, token: str, form: JoinForm = JOIN):
    start = SessionStart(address="203.0.113.7", user_agent="test", previous_session_id=None, policy=SecurityPolicy())
    return await staff.join(conn, token, form, start)


# --- Invitations ------------------------------------------------------------------------------------------------------


async def test_an_invitation_link_makes_one_account_on_the_staff_once(conn):
    committee_id, manager_id = await committee_with_manager(conn)
    manager = await factories.identity_of(conn, manager_id)
    issued = await staff.invite(conn, manager, InvitationForm(invitee_name="王小梅", role="staff"))

    stored = await conn.fetchval("SELECT token_hash FROM staff_invitations WHERE id = $1", issued.id)
    assert issued.token.encode() not in stored
    joined = await join(conn, issued.token)

    assert (joined.identity.role, joined.identity.committee_id) == ("committee", committee_id)
    role = await conn.fetchval("SELECT role FROM memberships WHERE account_id = $1", joined.identity.account_id)
    assert role == "staff"
    with pytest.raises(NotFound):
        await join(conn, issued.token, JoinForm(username="second.person", display_name="李四", password="x" * 12))
    actions = await conn.fetch(
        "SELECT action, actor_account_id FROM audit_log WHERE object_type = 'staff_invitation' AND object_id = $1"
        " ORDER BY id",
        str(issued.id),
    )
    assert [(a["action"], a["actor_account_id"]) for a in actions] == [
        ("staff.invite", manager_id),
        ("staff.join", joined.identity.account_id),
    ]


async def test_an_expired_or_withdrawn_invitation_opens_nothing(conn):
    _committee_id, manager_id = await committee_with_manager(conn)
    manager = await factories.identity_of(conn, manager_id)
    expired = await staff.invite(conn, manager, InvitationForm(invitee_name="甲"))
    await conn.execute(
        "UPDATE staff_invitations SET created_at = now() - interval '4 days', expires_at = now() - interval '1 day'"
        " WHERE id = $1",
        expired.id,
    )
    withdrawn = await staff.invite(conn, manager, InvitationForm(invitee_name="乙"))
    await staff.withdraw_invitation(conn, manager, withdrawn.id)
    for token in (expired.token, withdrawn.token, "no-such-token"):
        with pytest.raises(NotFound):
            await join(conn, token)
    assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = $1", JOIN.username) == 0


async def test_invitations_that_ended_longer_ago_than_the_retention_are_purged_and_audited(conn):
    committee_id, manager_id = await committee_with_manager(conn)
    manager = await factories.identity_of(conn, manager_id)
    ids = {}
    for name in ("accepted", "withdrawn", "expired", "recent", "live"):
        ids[name] = (await staff.invite(conn, manager, InvitationForm(invitee_name=name, role="staff"))).id
    accepted = await factories.create_account(conn, "committee", committee_id=committee_id)
    # Each ended 31 days ago (the retention is 30) — except `recent`, which expired only a day ago.
    await conn.execute(
        "UPDATE staff_invitations SET created_at = now() - interval '40 days', expires_at = now() - interval '37 days',"
        " accepted_at = now() - interval '31 days', accepted_account_id = $2 WHERE id = $1",
        ids["accepted"],
        accepted,
    )
    await conn.execute(
        "UPDATE staff_invitations SET created_at = now() - interval '40 days', expires_at = now() - interval '37 days',"
        " revoked_at = now() - interval '31 days' WHERE id = $1",
        ids["withdrawn"],
    )
    await conn.execute(
        "UPDATE staff_invitations SET created_at = now() - interval '40 days', expires_at = now() - interval '31 days'"
        " WHERE id = $1",
        ids["expired"],
    )
    await conn.execute(
        "UPDATE staff_invitations SET created_at = now() - interval '4 days', expires_at = now() - interval '1 day'"
        " WHERE id = $1",
        ids["recent"],
    )
    assert await staff.purge_invitations(conn, 30) == 3
    left = await conn.fetch("SELECT id FROM staff_invitations ORDER BY id")
    assert [r["id"] for r in left] == [ids["recent"], ids["live"]]
    audited = await conn.fetch(
        "SELECT object_id, actor_account_id, detail->>'ended' AS ended FROM audit_log"
        " WHERE action = 'staff.invitation_purge' ORDER BY object_id::bigint"
    )
    assert [(r["object_id"], r["actor_account_id"], r["ended"]) for r in audited] == [
        (str(ids["accepted"]), None, "accepted"),
        (str(ids["withdrawn"]), None, "withdrawn"),
        (str(ids["expired"]), None, "expired"),
    ]
    # The one that ended a day ago goes once its own retention has passed; the live one never while it is live.
    assert await staff.purge_invitations(conn, 30) == 0
    assert await staff.purge_invitations(conn, 1) == 1


async def test_only_a_manager_invites_and_only_their_own_staff(conn):
    committee_id, manager_id = await committee_with_manager(conn)
    worker = await factories.identity_of(conn, await member(conn, committee_id))
    with pytest.raises(Forbidden):
        await staff.invite(conn, worker, InvitationForm(invitee_name="丙"))
    volunteer = await factories.identity_of(conn, await factories.create_account(conn, "volunteer"))
    with pytest.raises(Forbidden):
        await staff.staff_list(conn, volunteer)
    # Another committee's manager does not reach this committee's people.
    _other, other_manager_id = await committee_with_manager(conn)
    other_manager = await factories.identity_of(conn, other_manager_id)
    with pytest.raises(NotFound):
        await staff.remove(conn, other_manager, worker.account_id)
    with pytest.raises(NotFound):
        await staff.change_role(conn, other_manager, manager_id, RoleChange(role="staff"))


# --- Roles and removal ------------------------------------------------------------------------------------------------


async def test_the_last_manager_cannot_leave_or_step_down(conn):
    committee_id, manager_id = await committee_with_manager(conn)
    manager = await factories.identity_of(conn, manager_id)
    with pytest.raises(Conflict):
        await staff.change_role(conn, manager, manager_id, RoleChange(role="staff"))
    with pytest.raises(Conflict):
        await staff.remove(conn, manager, manager_id)
    # With a second manager, the first may step down.
    second = await member(conn, committee_id)
    await staff.change_role(conn, manager, second, RoleChange(role="manager"))
    await staff.change_role(conn, manager, manager_id, RoleChange(role="staff"))
    roles = dict(await conn.fetch("SELECT account_id, role FROM memberships WHERE committee_id = $1", committee_id))
    assert roles == {manager_id: "staff", second: "manager"}


async def test_the_schema_keeps_the_last_manager_too(conn):
    committee_id, manager_id = await committee_with_manager(conn)
    await member(conn, committee_id)
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE memberships SET role = 'staff' WHERE account_id = $1", manager_id)
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("DELETE FROM memberships WHERE account_id = $1", manager_id)


async def test_two_managers_stepping_down_at_once_leave_one_manager(empty_database_url, committed):  # noqa: F811
    committee_id, first = await committee_with_manager(committed)
    second = await member(committed, committee_id, "manager")
    identities = [await factories.identity_of(committed, a) for a in (first, second)]
    connections = [await asyncpg.connect(empty_database_url) for _ in identities]

    async def step_down(conn: asyncpg.Connection, who) -> str:
        try:
            await staff.change_role(conn, who, who.account_id, RoleChange(role="staff"))
        except Conflict:
            return "refused"
        return "ok"

    try:
        outcomes = await asyncio.gather(*(step_down(c, w) for c, w in zip(connections, identities, strict=True)))
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    assert sorted(outcomes) == ["ok", "refused"]
    managers = await committed.fetchval(
        "SELECT count(*) FROM memberships WHERE committee_id = $1 AND role = 'manager'", committee_id
    )
    assert managers == 1


async def test_removal_ends_the_members_sessions_and_tokens_at_once(client, conn):
    committee_id, manager_id = await committee_with_manager(conn)
    leaving = await member(conn, committee_id)
    username = await factories.username_of(conn, leaving)
    headers = await bearer(client, username)
    assert (await login(client, username)).status_code in (302, 303)
    assert (await client.get("/home")).status_code == 200

    await staff.remove(conn, await factories.identity_of(conn, manager_id), leaving)

    assert (await client.get("/api/accounts/me", headers=headers)).status_code == 401
    assert (await client.get("/home", follow_redirects=False)).status_code in (302, 303, 401)
    assert await conn.fetchval("SELECT count(*) FROM sessions WHERE account_id = $1", leaving) == 0
    assert await conn.fetchval("SELECT disabled_at IS NOT NULL FROM accounts WHERE id = $1", leaving)
    assert await conn.fetchval("SELECT count(*) FROM memberships WHERE account_id = $1", leaving) == 0
    detail = await conn.fetchval(
        "SELECT detail FROM audit_log WHERE action = 'staff.remove' AND object_id = $1", str(leaving)
    )
    assert '"sessions_ended": 1' in detail and '"tokens_revoked": 1' in detail


# --- The API ----------------------------------------------------------------------------------------------------------


async def test_the_api_lists_invites_changes_and_removes_with_problems_for_refusals(client, conn):
    org_id = await factories.create_org(conn)
    manager_id = await factories.create_account(conn, "organisation", organisation_id=org_id)
    headers = await bearer(client, await factories.username_of(conn, manager_id))

    invited = await client.post(
        "/api/staff/invitations", json={"invitee_name": "赵六", "role": "staff"}, headers=headers
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["path"] == f"/staff/join/{invited.json()['token']}"
    listing = (await client.get("/api/staff", headers=headers)).json()
    assert [m["account_id"] for m in listing["members"]] == [manager_id]
    assert [i["invitee_name"] for i in listing["invitations"]] == ["赵六"]
    assert listing["can_manage"] is True
    assert "token" not in listing["invitations"][0] and "token_hash" not in listing["invitations"][0]

    refused = await client.put(f"/api/staff/{manager_id}/role", json={"role": "staff"}, headers=headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.delete(f"/api/staff/{manager_id}", headers=headers)).status_code == 409
    other = await factories.create_account(conn, "organisation")
    assert (await client.delete(f"/api/staff/{other}", headers=headers)).status_code == 404
    withdrawn = await client.delete(f"/api/staff/invitations/{invited.json()['id']}", headers=headers)
    assert withdrawn.status_code == 204


# --- The pages --------------------------------------------------------------------------------------------------------


async def test_the_staff_page_invites_by_a_link_that_a_colleague_uses_to_join_and_log_in(client, conn):
    committee_id, manager_id = await committee_with_manager(conn)
    worker = await member(conn, committee_id)
    await login(client, await factories.username_of(conn, manager_id))

    rendered = await page_context(client, "/staff")
    assert rendered.template == "staff/list.html"
    assert rendered["staff"].can_manage is True
    assert {m.account_id: m.role for m in rendered["staff"].members} == {manager_id: "manager", worker: "staff"}
    assert "邀请同事" in parse_page(rendered.response.text).texts

    data = {"invitee_name": "王小梅", "role": "staff", "_csrf_token": await csrf_token(client, "/staff")}
    invited = await page_context(client, "/staff/invitations", method="POST", status=201, data=data)
    link = invited["new_link"]
    assert link.startswith("http://testserver.local/staff/join/")
    assert f'value="{link}"' in invited.response.text
    join_path = link.removeprefix("http://testserver.local")

    client.cookies.clear()
    form = await page_context(client, join_path)
    assert form.template == "staff/join.html"
    assert form["invitation"].invitee_name == "王小梅"
    joined = await post_form(
        client, join_path, {"username": "Wang.Xiaomei", "display_name": "王小梅", "password": "a-long-password-7"}
    )
    assert joined.status_code in (302, 303), joined.text
    assert joined.headers["location"] == "/home"
    assert (await client.get("/home")).status_code == 200
    # Used once: the link now says it cannot be used.
    client.cookies.clear()
    again = await client.get(join_path)
    assert again.status_code == 404


async def test_a_field_error_and_the_last_manager_refusal_are_shown_where_they_belong(client, conn):
    _committee_id, manager_id = await committee_with_manager(conn)
    await login(client, await factories.username_of(conn, manager_id))
    empty = await post_form(client, "/staff/invitations", {"invitee_name": "", "role": "staff"}, page="/staff")
    assert empty.status_code == 422
    assert set(parse_page(empty.text).errors) == {"invitee_name"}
    step_down = await post_form(client, f"/staff/{manager_id}/role", {"role": "staff"}, page="/staff")
    assert step_down.status_code in (302, 303)
    page = await client.get(step_down.headers["location"])
    assert "居委会或社会组织至少要保留一名负责人：请先把其他人设为负责人" in parse_page(page.text).texts


async def test_removal_asks_first_and_staff_members_see_the_list_without_the_controls(client, conn):
    committee_id, manager_id = await committee_with_manager(conn)
    worker = await member(conn, committee_id)
    await login(client, await factories.username_of(conn, manager_id))
    ask = await page_context(client, f"/staff/{worker}/remove")
    assert ask.template == "confirm/staff_remove.html"
    assert ask["member"].account_id == worker
    token = await csrf_token(client, f"/staff/{worker}/remove")
    done = await client.post(f"/staff/{worker}/remove", data={"_csrf_token": token}, follow_redirects=False)
    assert done.status_code in (302, 303)
    assert await conn.fetchval("SELECT count(*) FROM memberships WHERE account_id = $1", worker) == 0

    colleague = await member(conn, committee_id)
    client.cookies.clear()
    await login(client, await factories.username_of(conn, colleague))
    rendered = await page_context(client, "/staff")
    assert rendered["staff"].can_manage is False
    assert rendered["staff"].invitations == []
    assert "邀请同事" not in parse_page(rendered.response.text).texts
    assert "/staff/invitations" not in str(links(rendered.response.text))
