"""What each role's home page is given: its own tenant and the figures of its area, counted from the data made here."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from api.services import home
from tests.factories import create_account, create_org, create_volunteer, username_of
from tests.factories_tendering import District, create_district, create_household
from tests.helpers import login
from tests.pages_kit import Rendered, page_context


class Area:
    """A district with two live households and an archived one, three volunteers and two organisations."""

    def __init__(self, d: District, serving: int, pending: int) -> None:
        self.d, self.serving, self.pending = d, serving, pending


async def _area(conn: asyncpg.Connection) -> Area:
    d = await create_district(conn)
    for _ in range(2):
        await create_household(conn, d.committee_id)
    archived = await create_household(conn, d.committee_id)
    await conn.execute("UPDATE households SET archived_at = now(), address = '控江路1018弄' WHERE id = $1", archived)
    home_area = await conn.fetchval("SELECT area_id FROM committees WHERE id = $1", d.committee_id)
    for _ in range(3):
        await create_volunteer(conn, home_area_id=home_area)
    serving = await create_org(conn)
    pending = await create_org(conn, status="pending")
    for org in (serving, pending):  # a pending organisation serves nobody yet
        await conn.execute(
            "INSERT INTO organisation_areas (organisation_id, area_id) VALUES ($1, $2)", org, d.subdistrict_id
        )
    return Area(d, serving, pending)


async def _home_of(client: httpx.AsyncClient, conn: asyncpg.Connection, account_id: int) -> Rendered:
    await login(client, await username_of(conn, account_id))
    rendered = await page_context(client, "/home")
    client.cookies.clear()
    return rendered


async def test_the_committees_home_counts_what_lives_in_its_area(client: httpx.AsyncClient, conn: asyncpg.Connection):
    a = await _area(conn)
    rendered = await _home_of(client, conn, a.d.committee_account)
    assert rendered.template == "home/committee.html"
    content = rendered["home"]
    assert content.role == "committee" and content.committee.id == a.d.committee_id
    figures = content.committee_figures
    assert (figures.volunteers_living_here, figures.households_listed, figures.organisations_serving) == (3, 2, 1)
    assert content.funder is None and content.organisation is None
    other = (await _home_of(client, conn, a.d.other_committee_account))["home"].committee_figures
    assert (other.volunteers_living_here, other.households_listed, other.organisations_serving) == (0, 0, 1)


async def test_the_funders_home_counts_its_sub_district(client: httpx.AsyncClient, conn: asyncpg.Connection):
    a = await _area(conn)
    rendered = await _home_of(client, conn, a.d.funder_account)
    assert rendered.template == "home/funder.html"
    content = rendered["home"]
    assert content.funder.id == a.d.funder_id
    figures = content.funder_figures
    assert (figures.committees, figures.organisations_serving, figures.volunteers) == (2, 1, 3)


async def test_the_admins_home_lists_the_organisations_waiting_and_the_platform_counts(
    client: httpx.AsyncClient, conn: asyncpg.Connection
):
    before = await home.platform(conn)
    a = await _area(conn)
    admin = await create_account(conn, "admin")
    rendered = await _home_of(client, conn, admin)
    assert rendered.template == "home/admin.html"
    content = rendered["home"]
    assert a.pending in [o.id for o in content.pending_organisations]
    assert a.serving not in [o.id for o in content.pending_organisations]
    p = content.platform
    # create_district makes one sub-district, two committees and a funder, and an account for each of the three.
    assert p.subdistricts - before.subdistricts == 1
    assert (p.committees - before.committees, p.funders - before.funders) == (2, 1)
    assert (p.households - before.households, p.volunteers - before.volunteers) == (2, 3)
    assert p.organisations_verified - before.organisations_verified == 1
    assert p.organisations_pending - before.organisations_pending == 1
    assert p.accounts - before.accounts == 4


@pytest.mark.parametrize("role", ["organisation", "volunteer", "reviewer"])
async def test_each_other_role_gets_its_own_home(client: httpx.AsyncClient, conn: asyncpg.Connection, role: str):
    account = await create_account(conn, role)
    rendered = await _home_of(client, conn, account)
    assert rendered.template == f"home/{role}.html"
    content = rendered["home"]
    assert content.role == role and rendered["who"].account_id == account
    if role == "organisation":
        org_id = await conn.fetchval("SELECT organisation_id FROM memberships WHERE account_id = $1", account)
        assert content.organisation.id == org_id
    if role == "volunteer":
        assert content.volunteer.account_id == account
    if role == "reviewer":
        assert (content.organisation, content.volunteer, content.committee, content.funder) == (None,) * 4
