"""Choice lists that forms and browsing pages offer: committees, sub-districts, funders, catalogue, skills."""

from __future__ import annotations

import asyncpg
import msgspec

from api.services import areas
from api.services.accounts import Identity
from api.services.errors import NotFound, found
from sql import areas as areas_sql
from sql import directory as directory_sql
from sql import orgs as orgs_sql

# The skills a volunteer can declare; shifts and 311 teams ask for these codes.
SKILLS = (
    "first_aid",
    "elderly_care_cert",
    "cooking",
    "haircut",
    "tutoring",
    "driving",
    "sign_language",
    "counselling",
)


class OrganisationChoices(msgspec.Struct, frozen=True):
    """What an organisation's profile form offers: service categories and sub-districts to serve."""

    categories: list[areas_sql.CatalogueItemRow]
    subdistricts: list[directory_sql.SubdistrictRow]


class StaffAccountChoices(msgspec.Struct, frozen=True):
    """What the admin's new-account form offers: committees by sub-district and funders."""

    committee_groups: list[directory_sql.SubdistrictGroupRow]
    funders: list[directory_sql.FunderOptionRow]


class AreaPage(msgspec.Struct, frozen=True):
    """An area with its path and children, and for a sub-district its committees' public facts."""

    view: areas.AreaView
    committees: list[directory_sql.CommitteeFactsRow]


class OrganisationEdit(msgspec.Struct, frozen=True):
    """An organisation's profile as its manager edits it, with the form's choices."""

    organisation: orgs_sql.OrgRow
    choices: OrganisationChoices


async def committee_groups(conn: asyncpg.Connection) -> list[directory_sql.SubdistrictGroupRow]:
    """Every sub-district with the committee areas under it (a volunteer picks their home among them)."""
    return await directory_sql.committees_by_subdistrict(conn)


async def organisation_choices(conn: asyncpg.Connection) -> OrganisationChoices:
    """The catalogue and the sub-districts, for registering or editing an organisation."""
    return OrganisationChoices(
        categories=await areas_sql.list_catalogue(conn),
        subdistricts=await directory_sql.list_subdistricts(conn),
    )


async def staff_account_choices(conn: asyncpg.Connection) -> StaffAccountChoices:
    """Committees and funders an admin can attach a new account to."""
    return StaffAccountChoices(
        committee_groups=await directory_sql.committees_by_subdistrict(conn),
        funders=await directory_sql.list_funders(conn),
    )


async def area_page(conn: asyncpg.Connection, area_id: int) -> AreaPage:
    """One area for browsing; a sub-district also lists its committees."""
    view = await areas.view_area(conn, area_id)
    committees = await directory_sql.committees_in(conn, area_id) if view.area.level == "subdistrict" else []
    return AreaPage(view=view, committees=committees)


async def organisation_edit(conn: asyncpg.Connection, who: Identity, org_id: int) -> OrganisationEdit:
    """The caller's own organisation for its edit form; any other id is not found, as in orgs.update_profile."""
    if who.organisation_id != org_id:
        raise NotFound("No such organisation")
    row = found(await orgs_sql.get_org(conn, org_id), "No such organisation")
    return OrganisationEdit(organisation=row, choices=await organisation_choices(conn))
