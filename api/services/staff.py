"""Staff of a committee or an organisation: the manager invites people by a one-time link, changes their role
(manager or staff) and removes them; every step is audited (docs/security.md "Staff invitations").

The tenant's memberships are locked (in one order) before a role changes or someone leaves, so the rule "at least
one manager stays" is decided one change at a time; the database refuses a last manager's demotion or removal too
(the trigger of migration 0023).
"""

from __future__ import annotations

from typing import Literal

import asyncpg
import msgspec

from api import security
from api.services import audit_log
from api.services.accounts import Identity, LoginResult, SessionStart, new_account, start_session
from api.services.errors import Conflict, Forbidden, NotFound
from api.services.types import Locale, Name, Password, Username
from sql import accounts as accounts_sql
from sql import audit
from sql import staff as staff_sql
from sql.staff import InvitationRow, MemberRow, OpenInvitationRow, Tenant

INVITATION_HOURS = 72
Role = Literal["manager", "staff"]
LAST_MANAGER = "A committee or organisation keeps at least one manager: make someone else a manager first"
NOT_A_MANAGER = "Only a manager of this committee or organisation may do this"
DEAD_LINK = "This invitation link cannot be used: it was used already, withdrawn, or it has expired"


class InvitationForm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whom a manager invites (the name they will recognise on the list) and the role the link gives."""

    invitee_name: Name
    role: Role = "staff"


class RoleChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A member's new role."""

    role: Role


class JoinForm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the invited person gives to make their account."""

    username: Username
    display_name: Name
    password: Password
    locale: Locale = "zh_CN"


class IssuedInvitation(msgspec.Struct, frozen=True):
    """A new invitation: its id and the secret of its link (shown once)."""

    id: int
    token: str
    expires_in_hours: int


class StaffList(msgspec.Struct, frozen=True):
    """The staff page: the members, the open invitations (managers only) and whether the caller manages them."""

    members: list[MemberRow]
    invitations: list[InvitationRow]
    can_manage: bool


def tenant_of(who: Identity) -> Tenant:
    """The committee or organisation the caller works for, or Forbidden for any other role."""
    if who.role == "committee" and who.committee_id is not None:
        return Tenant(committee_id=who.committee_id, organisation_id=None)
    if who.role == "organisation" and who.organisation_id is not None:
        return Tenant(committee_id=None, organisation_id=who.organisation_id)
    raise Forbidden("Only a residents' committee or a social organisation has staff here")


async def staff_list(conn: asyncpg.Connection, who: Identity) -> StaffList:
    """Who works for the caller's committee or organisation; a manager also sees the invitations still open."""
    tenant = tenant_of(who)
    manager = await staff_sql.is_manager(conn, tenant, who.account_id)
    invitations = await staff_sql.open_invitations(conn, tenant) if manager else []
    return StaffList(members=await staff_sql.members(conn, tenant), invitations=invitations, can_manage=manager)


async def invite(conn: asyncpg.Connection, who: Identity, form: InvitationForm) -> IssuedInvitation:
    """A manager makes a one-time link (valid 72 hours) that lets one person make an account on the staff."""
    tenant = tenant_of(who)
    token = security.new_token()
    async with conn.transaction():
        if not await staff_sql.is_manager(conn, tenant, who.account_id):
            raise Forbidden(NOT_A_MANAGER)
        invitation_id = await staff_sql.insert_invitation(
            conn,
            tenant,
            token_hash=security.token_hash(token),
            role=form.role,
            invitee_name=form.invitee_name.strip(),
            invited_by=who.account_id,
            hours=INVITATION_HOURS,
        )
        await audit_log.record(conn, who, "staff.invite", "staff_invitation", invitation_id, detail={"role": form.role})
    return IssuedInvitation(id=invitation_id, token=token, expires_in_hours=INVITATION_HOURS)


async def withdraw_invitation(conn: asyncpg.Connection, who: Identity, invitation_id: int) -> None:
    """A manager withdraws an invitation nobody has used yet."""
    tenant = tenant_of(who)
    async with conn.transaction():
        if not await staff_sql.is_manager(conn, tenant, who.account_id):
            raise Forbidden(NOT_A_MANAGER)
        if not await staff_sql.revoke_invitation(conn, tenant, invitation_id):
            raise NotFound("No such open invitation")
        await audit_log.record(conn, who, "staff.invitation_withdraw", "staff_invitation", invitation_id)


async def _locked_roles(conn: asyncpg.Connection, who: Identity, account_id: int) -> tuple[Tenant, dict[int, str]]:
    """Lock the caller's tenant's memberships; refuse a caller who is not its manager or a member not its own."""
    tenant = tenant_of(who)
    roles = await staff_sql.lock_members(conn, tenant)
    if roles.get(who.account_id) != "manager":
        raise Forbidden(NOT_A_MANAGER)
    if account_id not in roles:
        raise NotFound("No such member of your staff")
    return tenant, roles


def _last_manager(roles: dict[int, str], account_id: int) -> bool:
    return roles[account_id] == "manager" and sum(1 for role in roles.values() if role == "manager") == 1


async def change_role(conn: asyncpg.Connection, who: Identity, account_id: int, change: RoleChange) -> None:
    """A manager makes a member a manager or staff; the last manager stays one."""
    async with conn.transaction():
        tenant, roles = await _locked_roles(conn, who, account_id)
        if roles[account_id] == change.role:
            return
        if change.role == "staff" and _last_manager(roles, account_id):
            raise Conflict(LAST_MANAGER)
        await staff_sql.set_role(conn, tenant, account_id, change.role)
        await audit_log.record(
            conn, who, "staff.role", "account", account_id, detail={"from": roles[account_id], "to": change.role}
        )


async def remove(conn: asyncpg.Connection, who: Identity, account_id: int) -> None:
    """A manager removes a member: the account leaves the staff and is disabled, its sessions end and its API
    tokens are revoked at once; the last manager stays."""
    async with conn.transaction():
        tenant, roles = await _locked_roles(conn, who, account_id)
        if _last_manager(roles, account_id):
            raise Conflict(LAST_MANAGER)
        await staff_sql.delete_member(conn, tenant, account_id)
        # An account acts for one tenant only: without it, it has nothing left to do and is closed.
        await accounts_sql.set_disabled(conn, account_id, True)
        sessions_ended = await accounts_sql.delete_account_sessions(conn, account_id)
        tokens_revoked = await accounts_sql.revoke_account_tokens(conn, account_id)
        await audit_log.record(
            conn, who, "staff.remove", "account", account_id,
            detail={"role": roles[account_id], "sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked},
        )  # fmt: skip


async def open_invitation(conn: asyncpg.Connection, token: str) -> OpenInvitationRow:
    """The invitation a link opens, or NotFound when it was used, withdrawn or has expired."""
    row = await staff_sql.lock_open_invitation(conn, security.token_hash(token))
    if row is None:
        raise NotFound(DEAD_LINK)
    return row


async def join(conn: asyncpg.Connection, token: str, form: JoinForm, start: SessionStart) -> LoginResult:
    """The invited person makes their account on the staff through the link (once) and is logged in."""
    password_hash = security.hash_password(form.password)
    async with conn.transaction():
        invitation = await open_invitation(conn, token)
        account_id = await new_account(
            conn,
            username=form.username,
            password_hash=password_hash,
            display_name=form.display_name,
            role="committee" if invitation.committee_id is not None else "organisation",
            locale=form.locale,
        )
        await accounts_sql.insert_membership(
            conn,
            account_id,
            organisation_id=invitation.organisation_id,
            committee_id=invitation.committee_id,
            role=invitation.role,
        )
        if not await staff_sql.accept_invitation(conn, invitation.id, account_id):
            raise NotFound(DEAD_LINK)
        await audit.append(
            conn,
            actor_account_id=account_id,
            action="staff.join",
            object_type="staff_invitation",
            object_id=invitation.id,
            detail={"role": invitation.role},
        )
        return await start_session(conn, account_id, start)


async def purge_invitations(conn: asyncpg.Connection, retention_days: int) -> int:
    """Remove invitations that ended more than `retention_days` ago, each audited; how many (a cron job)."""
    async with conn.transaction():
        purged = await staff_sql.purge_invitations(conn, retention_days)
        for row in purged:
            await audit.append(
                conn,
                actor_account_id=None,
                action="staff.invitation_purge",
                object_type="staff_invitation",
                object_id=row.id,
                detail={"ended": row.ended, "retention_days": retention_days},
            )
    return len(purged)
