"""Use cases for social organisations: browse, view, edit the profile, verify or suspend."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, NotFound, found
from api.services.types import Hours, Id, Name, Page, Phone, Text
from sql import org_checks as org_checks_sql
from sql import orgs as orgs_sql


class OrgProfileUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The fields an organisation's manager may change (the credit code and rating are not among them)."""

    name: Name
    staff_hours_capacity: Hours
    contact_phone: Phone = ""
    address: Text = ""
    description: Text = ""
    category_codes: list[Annotated[str, Meta(pattern=r"^[a-z0-9_]{2,40}$")]] = []
    area_ids: list[Id] = []


async def list_orgs(
    conn: asyncpg.Connection,
    who: Identity | None,
    *,
    status: str | None,
    category: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> Page[orgs_sql.OrgRow]:
    """Browse organisations; only admins see pending or suspended ones."""
    if who is None or who.role != "admin":
        status = "verified"
    rows, total = await orgs_sql.list_orgs(conn, status=status, category=category, q=q, limit=limit, offset=offset)
    return Page(items=rows, total=total, limit=limit, offset=offset)


async def get_org(conn: asyncpg.Connection, who: Identity | None, org_id: int) -> orgs_sql.OrgRow:
    """One organisation, if the caller may see it (a pending one is hidden as not found)."""
    row = found(
        await orgs_sql.get_visible_org(
            conn,
            org_id,
            is_admin=who is not None and who.role == "admin",
            own_org_id=who.organisation_id if who else None,
        ),
        "No such organisation",
    )
    return row


async def update_profile(
    conn: asyncpg.Connection, who: Identity, org_id: int, form: OrgProfileUpdate
) -> orgs_sql.OrgRow:
    """The organisation's own manager edits its profile."""
    if who.organisation_id != org_id:
        # Same answer whether the organisation exists or not: no probing other tenants' ids.
        raise NotFound("No such organisation")
    async with conn.transaction():
        before = await org_checks_sql.declared_for_update(conn, org_id)
        if not await orgs_sql.update_org_profile(
            conn,
            org_id,
            name=form.name.strip(),
            staff_hours_capacity=form.staff_hours_capacity,
            contact_phone=form.contact_phone,
            address=form.address,
            description=form.description,
        ):
            raise NotFound("No such organisation")
        await orgs_sql.replace_org_categories(conn, org_id, sorted(set(form.category_codes)))
        await orgs_sql.replace_org_areas(conn, org_id, sorted(set(form.area_ids)))
        await audit_log.record(
            conn,
            who,
            "organisation.update",
            "organisation",
            org_id,
            detail={
                "capacity_declared_again": before is not None
                and before.capacity_verified
                and before.staff_hours_capacity != form.staff_hours_capacity
            },
        )
        row = await orgs_sql.get_org(conn, org_id)
    assert row is not None
    return row


Decision = Literal["verify", "suspend", "reinstate"]
_TRANSITIONS: dict[str, tuple[str, list[str]]] = {
    "verify": ("verified", ["pending"]),
    "suspend": ("suspended", ["pending", "verified"]),
    "reinstate": ("verified", ["suspended"]),
}


async def decide(conn: asyncpg.Connection, who: Identity, org_id: int, decision: Decision) -> orgs_sql.OrgRow:
    """An admin verifies, suspends or reinstates an organisation."""
    if who.role != "admin":
        raise Forbidden("Only an admin may verify or suspend organisations")
    status, from_statuses = _TRANSITIONS[decision]
    async with conn.transaction():
        if not await orgs_sql.set_org_status(conn, org_id, status, from_statuses):
            if await orgs_sql.get_org(conn, org_id) is None:
                raise NotFound("No such organisation")
            raise Conflict("The organisation is not in a state that allows this")
        await audit_log.record(conn, who, f"organisation.{decision}", "organisation", org_id)
        row = await orgs_sql.get_org(conn, org_id)
    assert row is not None
    return row
