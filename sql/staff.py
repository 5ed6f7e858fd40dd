"""Staff of a committee or an organisation: their memberships and roles, and the one-time invitation links.

Every statement names its tenant as `(committee_id = $1 OR organisation_id = $2)` with one of the two NULL, so a
manager reaches only their own committee's or organisation's people (another tenant's are simply not found).
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class MemberRow(msgspec.Struct, frozen=True):
    """A member of the staff: the account, its role and when it was last seen."""

    account_id: int
    username: str
    display_name: str
    role: str
    last_seen_at: dt.datetime | None


class InvitationRow(msgspec.Struct, frozen=True):
    """An invitation not yet accepted: whom it is for, the role it gives and until when it holds."""

    id: int
    invitee_name: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime


class OpenInvitationRow(msgspec.Struct, frozen=True):
    """A live invitation found by its link's token, with the name of the committee or organisation."""

    id: int
    organisation_id: int | None
    committee_id: int | None
    role: str
    invitee_name: str
    tenant_name: str


_TENANT = "(m.committee_id = $1 OR m.organisation_id = $2)"

# Locking every membership of the tenant, in one order, makes role changes and removals within it one at a time.
LOCK_MEMBERS = f"""
SELECT m.account_id, m.role FROM memberships m WHERE {_TENANT} ORDER BY m.account_id FOR UPDATE
"""
SELECT_MEMBERS = f"""
SELECT a.id AS account_id, a.username, a.display_name, m.role,
       (SELECT max(s.last_seen_at) FROM sessions s WHERE s.account_id = a.id) AS last_seen_at
FROM memberships m JOIN accounts a ON a.id = m.account_id
WHERE {_TENANT} AND a.disabled_at IS NULL
ORDER BY m.role = 'manager' DESC, a.display_name, a.id
"""
IS_MANAGER = f"""
SELECT EXISTS (SELECT 1 FROM memberships m WHERE {_TENANT} AND m.account_id = $3 AND m.role = 'manager')
"""
SET_ROLE = f"UPDATE memberships m SET role = $4 WHERE {_TENANT} AND m.account_id = $3 RETURNING m.account_id"
DELETE_MEMBER = f"DELETE FROM memberships m WHERE {_TENANT} AND m.account_id = $3 RETURNING m.account_id"

INSERT_INVITATION = """
INSERT INTO staff_invitations (token_hash, committee_id, organisation_id, role, invitee_name, invited_by, expires_at)
VALUES ($3, $1, $2, $4, $5, $6, now() + make_interval(hours => $7)) RETURNING id
"""
SELECT_OPEN_INVITATIONS = """
SELECT i.id, i.invitee_name, i.role, i.created_at, i.expires_at
FROM staff_invitations i
WHERE (i.committee_id = $1 OR i.organisation_id = $2)
  AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
ORDER BY i.created_at DESC, i.id DESC
"""
REVOKE_INVITATION = """
UPDATE staff_invitations i SET revoked_at = now()
WHERE (i.committee_id = $1 OR i.organisation_id = $2) AND i.id = $3 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
RETURNING i.id
"""
# The invitation stays locked until it is accepted, so two people using one link at once are served in turn.
LOCK_OPEN_INVITATION = """
SELECT i.id, i.organisation_id, i.committee_id, i.role, i.invitee_name,
       coalesce(c.name, o.name) AS tenant_name
FROM staff_invitations i
LEFT JOIN committees c ON c.id = i.committee_id
LEFT JOIN organisations o ON o.id = i.organisation_id
WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
FOR UPDATE OF i
"""
ACCEPT_INVITATION = """
UPDATE staff_invitations SET accepted_at = now(), accepted_account_id = $2
WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
RETURNING id
"""


class Tenant(msgspec.Struct, frozen=True):
    """A committee or an organisation (exactly one of the two ids)."""

    committee_id: int | None
    organisation_id: int | None


async def lock_members(conn: asyncpg.Connection, tenant: Tenant) -> dict[int, str]:
    """Lock the tenant's memberships until the transaction ends; each account's role."""
    rows = await conn.fetch(LOCK_MEMBERS, tenant.committee_id, tenant.organisation_id)
    return {int(r["account_id"]): str(r["role"]) for r in rows}


async def members(conn: asyncpg.Connection, tenant: Tenant) -> list[MemberRow]:
    """The tenant's staff, managers first."""
    return await fetch_all(conn, SELECT_MEMBERS, MemberRow, tenant.committee_id, tenant.organisation_id)


async def is_manager(conn: asyncpg.Connection, tenant: Tenant, account_id: int) -> bool:
    """Whether the account manages the tenant."""
    return bool(await conn.fetchval(IS_MANAGER, tenant.committee_id, tenant.organisation_id, account_id))


async def set_role(conn: asyncpg.Connection, tenant: Tenant, account_id: int, role: str) -> bool:
    """Change a member's role; False when the account is not the tenant's."""
    found = await conn.fetchval(SET_ROLE, tenant.committee_id, tenant.organisation_id, account_id, role)
    return found is not None


async def delete_member(conn: asyncpg.Connection, tenant: Tenant, account_id: int) -> bool:
    """Remove a member from the tenant; False when the account is not the tenant's."""
    found = await conn.fetchval(DELETE_MEMBER, tenant.committee_id, tenant.organisation_id, account_id)
    return found is not None


async def insert_invitation(
    conn: asyncpg.Connection,
    tenant: Tenant,
    *,
    token_hash: bytes,
    role: str,
    invitee_name: str,
    invited_by: int,
    hours: int,
) -> int:
    """Store an invitation by its token's hash; returns its id."""
    return int(
        await conn.fetchval(
            INSERT_INVITATION,
            tenant.committee_id,
            tenant.organisation_id,
            token_hash,
            role,
            invitee_name,
            invited_by,
            hours,
        )
    )


# An invitation is kept for the retention period after it ended: accepted, withdrawn, or (never used) expired; a
# live one (expires_at still ahead) is never old enough.
PURGE_INVITATIONS = """
DELETE FROM staff_invitations
WHERE coalesce(accepted_at, revoked_at, expires_at) <= now() - make_interval(days => $1)
RETURNING id, CASE WHEN accepted_at IS NOT NULL THEN 'accepted' WHEN revoked_at IS NOT NULL THEN 'withdrawn'
                   ELSE 'expired' END AS ended
"""


class PurgedInvitationRow(msgspec.Struct, frozen=True):
    """An invitation removed after its retention period, and how it had ended."""

    id: int
    ended: str


async def open_invitations(conn: asyncpg.Connection, tenant: Tenant) -> list[InvitationRow]:
    """The tenant's invitations still waiting to be accepted, newest first."""
    return await fetch_all(conn, SELECT_OPEN_INVITATIONS, InvitationRow, tenant.committee_id, tenant.organisation_id)


async def revoke_invitation(conn: asyncpg.Connection, tenant: Tenant, invitation_id: int) -> bool:
    """Withdraw an invitation not yet accepted; False when it is not the tenant's or no longer open."""
    found = await conn.fetchval(REVOKE_INVITATION, tenant.committee_id, tenant.organisation_id, invitation_id)
    return found is not None


async def lock_open_invitation(conn: asyncpg.Connection, token_hash: bytes) -> OpenInvitationRow | None:
    """The live invitation a link's token opens, locked; None when unknown, used, withdrawn or expired."""
    return await fetch_one(conn, LOCK_OPEN_INVITATION, OpenInvitationRow, token_hash)


async def accept_invitation(conn: asyncpg.Connection, invitation_id: int, account_id: int) -> bool:
    """Mark the invitation used by the account it created; False if it was used or withdrawn meanwhile."""
    return await conn.fetchval(ACCEPT_INVITATION, invitation_id, account_id) is not None


async def purge_invitations(conn: asyncpg.Connection, retention_days: int) -> list[PurgedInvitationRow]:
    """Delete invitations that ended (accepted, withdrawn or expired) more than `retention_days` ago."""
    return await fetch_all(conn, PURGE_INVITATIONS, PurgedInvitationRow, retention_days)
