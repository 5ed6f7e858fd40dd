"""Social organisations: profile, categories, areas served, verification."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_one


class OrgPublic(msgspec.Struct, frozen=True):
    """What the API may show of an organisation: its public profile with its categories and areas served by id."""

    id: int
    name: str
    credit_code: str
    rating: int | None
    rating_expires_on: dt.date | None
    registered_on: dt.date
    status: str
    staff_hours_capacity: int
    contact_phone: str
    address: str
    description: str
    category_codes: list[str]
    area_ids: list[int]


class OrgRow(OrgPublic, frozen=True):
    """An organisation's profile with its categories and areas served (named for the pages)."""

    area_names: list[str]


_ORG_SELECT = """
SELECT o.id, o.name, o.credit_code, o.rating, o.rating_expires_on, o.registered_on, o.status,
       o.staff_hours_capacity, o.contact_phone, o.address, o.description,
       coalesce((SELECT array_agg(c.code ORDER BY c.sort_order) FROM organisation_categories oc
                 JOIN catalogue_items c ON c.id = oc.catalogue_item_id WHERE oc.organisation_id = o.id), '{}')
           AS category_codes,
       coalesce((SELECT array_agg(a.id ORDER BY a.code) FROM organisation_areas oa
                 JOIN areas a ON a.id = oa.area_id WHERE oa.organisation_id = o.id), '{}') AS area_ids,
       coalesce((SELECT array_agg(a.name ORDER BY a.code) FROM organisation_areas oa
                 JOIN areas a ON a.id = oa.area_id WHERE oa.organisation_id = o.id), '{}') AS area_names
FROM organisations o
"""
SELECT_ORG = _ORG_SELECT + " WHERE o.id = $1"
# Pending and suspended organisations are visible to their own staff and to admins only.
SELECT_ORG_VISIBLE = _ORG_SELECT + " WHERE o.id = $1 AND (o.status = 'verified' OR $2 OR o.id = $3)"
SELECT_ORGS = (
    _ORG_SELECT
    + """
WHERE ($1::text IS NULL OR o.status = $1)
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM organisation_categories oc JOIN catalogue_items c
                                   ON c.id = oc.catalogue_item_id WHERE oc.organisation_id = o.id AND c.code = $2))
  AND ($3::text IS NULL OR o.name ILIKE '%' || $3 || '%')
ORDER BY o.rating DESC NULLS LAST, o.id
LIMIT $4 OFFSET $5
"""
)
COUNT_ORGS = """
SELECT count(*) FROM organisations o
WHERE ($1::text IS NULL OR o.status = $1)
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM organisation_categories oc JOIN catalogue_items c
                                   ON c.id = oc.catalogue_item_id WHERE oc.organisation_id = o.id AND c.code = $2))
  AND ($3::text IS NULL OR o.name ILIKE '%' || $3 || '%')
"""
CREDIT_CODE_TAKEN = "SELECT EXISTS (SELECT 1 FROM organisations WHERE credit_code = $1)"
INSERT_ORG = """
INSERT INTO organisations (name, credit_code, rating, rating_expires_on, registered_on,
                           staff_hours_capacity, contact_phone, address, description)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
"""
UPDATE_ORG_PROFILE = """
UPDATE organisations SET name = $2, staff_hours_capacity = $3, contact_phone = $4, address = $5, description = $6
WHERE id = $1 RETURNING id
"""
DELETE_ORG_CATEGORIES = "DELETE FROM organisation_categories WHERE organisation_id = $1"
INSERT_ORG_CATEGORIES = """
INSERT INTO organisation_categories (organisation_id, catalogue_item_id)
SELECT $1, id FROM catalogue_items WHERE code = ANY($2::text[])
"""
DELETE_ORG_AREAS = "DELETE FROM organisation_areas WHERE organisation_id = $1"
INSERT_ORG_AREAS = """
INSERT INTO organisation_areas (organisation_id, area_id)
SELECT $1, id FROM areas WHERE id = ANY($2::bigint[]) AND level = 'subdistrict'
"""
SET_ORG_STATUS = """
UPDATE organisations SET status = $2, verified_at = CASE WHEN $2 = 'verified' THEN now() ELSE verified_at END
WHERE id = $1 AND status = ANY($3::text[]) RETURNING id
"""


async def get_org(conn: asyncpg.Connection, org_id: int) -> OrgRow | None:
    """One organisation by id, whatever its status."""
    return await fetch_one(conn, SELECT_ORG, OrgRow, org_id)


async def get_visible_org(
    conn: asyncpg.Connection, org_id: int, *, is_admin: bool, own_org_id: int | None
) -> OrgRow | None:
    """One organisation if the viewer may see it: verified ones for all, others for their staff and admins."""
    return await fetch_one(conn, SELECT_ORG_VISIBLE, OrgRow, org_id, is_admin, own_org_id)


async def list_orgs(
    conn: asyncpg.Connection, *, status: str | None, category: str | None, q: str | None, limit: int, offset: int
) -> tuple[list[OrgRow], int]:
    """A page of organisations matching the filters, and the total count."""
    rows = await conn.fetch(SELECT_ORGS, status, category, q, limit, offset)
    total = await conn.fetchval(COUNT_ORGS, status, category, q)
    return [msgspec.convert(r, OrgRow) for r in rows], int(total)


async def credit_code_taken(conn: asyncpg.Connection, credit_code: str) -> bool:
    """Whether an organisation with this unified social credit code exists."""
    return bool(await conn.fetchval(CREDIT_CODE_TAKEN, credit_code))


async def insert_org(
    conn: asyncpg.Connection,
    *,
    name: str,
    credit_code: str,
    rating: int | None,
    rating_expires_on: dt.date | None,
    registered_on: dt.date,
    staff_hours_capacity: int,
    contact_phone: str,
    address: str,
    description: str,
) -> int:
    """Create a pending organisation; returns its id."""
    return int(
        await conn.fetchval(
            INSERT_ORG,
            name,
            credit_code,
            rating,
            rating_expires_on,
            registered_on,
            staff_hours_capacity,
            contact_phone,
            address,
            description,
        )
    )


async def update_org_profile(
    conn: asyncpg.Connection,
    org_id: int,
    *,
    name: str,
    staff_hours_capacity: int,
    contact_phone: str,
    address: str,
    description: str,
) -> bool:
    """Change the editable profile fields; False if the organisation does not exist."""
    found = await conn.fetchval(
        UPDATE_ORG_PROFILE, org_id, name, staff_hours_capacity, contact_phone, address, description
    )
    return found is not None


async def replace_org_categories(conn: asyncpg.Connection, org_id: int, codes: list[str]) -> None:
    """Set the organisation's service categories to exactly these catalogue codes."""
    await conn.execute(DELETE_ORG_CATEGORIES, org_id)
    await conn.execute(INSERT_ORG_CATEGORIES, org_id, codes)


async def replace_org_areas(conn: asyncpg.Connection, org_id: int, area_ids: list[int]) -> None:
    """Set the sub-districts the organisation serves."""
    await conn.execute(DELETE_ORG_AREAS, org_id)
    await conn.execute(INSERT_ORG_AREAS, org_id, area_ids)


async def set_org_status(conn: asyncpg.Connection, org_id: int, status: str, from_statuses: list[str]) -> bool:
    """Move an organisation to a status if it is in one of the given statuses; False otherwise."""
    return await conn.fetchval(SET_ORG_STATUS, org_id, status, from_statuses) is not None
