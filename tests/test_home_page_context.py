"""What each role's home page is given: its own tenant and the figures of its area, counted from the data made here."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx
import pytest

from api.services import home
from tests.factories import create_account, create_org, create_volunteer, username_of
from tests.factories_attendance import add_attendance
from tests.factories_awards import assign, create_bid, create_lot, create_reviewer, create_tender, score
from tests.factories_shifts import add_signup, create_shift, soon
from tests.factories_tendering import District, create_district, create_household, create_need
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
    await home.count_platform(conn)
    before = await home.platform(conn)
    admins_before = await conn.fetchval("SELECT count(*) FROM accounts WHERE role = 'admin'")
    a = await _area(conn)
    admin = await create_account(conn, "admin")
    # The figures are the worker's count of a minute ago until it counts again.
    assert await home.platform(conn) == before
    await home.count_platform(conn)
    rendered = await _home_of(client, conn, admin)
    assert rendered.template == "home/admin.html"
    content = rendered["home"]
    assert a.pending in [o.id for o in content.pending_organisations]
    assert a.serving not in [o.id for o in content.pending_organisations]
    assert content.organisations_waiting == await conn.fetchval(
        "SELECT count(*) FROM organisations WHERE status = 'pending'"
    )
    p = content.platform
    # create_district makes one sub-district, two committees and a funder, and an account for each of the three.
    assert p.subdistricts - before.subdistricts == 1
    assert (p.committees - before.committees, p.funders - before.funders) == (2, 1)
    assert (p.households - before.households, p.volunteers - before.volunteers) == (2, 3)
    assert p.organisations_verified - before.organisations_verified == 1
    assert p.organisations_pending - before.organisations_pending == 1
    # Four accounts of its own, and the admin who verified the organisations' capacity and rating (when the
    # database had no admin yet).
    assert p.accounts - before.accounts == 4 + (admins_before == 0)


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


def _todo(rendered: Rendered) -> dict[str, tuple[int, int | None]]:
    return {item.key: (item.count, item.target) for item in rendered["home"].todo}


async def test_the_committees_to_do_list_counts_its_own_waiting_work(
    client: httpx.AsyncClient, conn: asyncpg.Connection
):
    d = await create_district(conn)
    volunteer = await create_volunteer(conn)
    shift = await create_shift(conn, committee_id=d.committee_id, starts_at=soon(-1))
    for _ in range(2):
        other = await create_volunteer(conn)
        await add_attendance(conn, shift, await add_signup(conn, shift, other), other)
    elsewhere = await create_shift(conn, committee_id=d.other_committee_id, starts_at=soon(-1))
    await add_attendance(conn, elsewhere, await add_signup(conn, elsewhere, volunteer), volunteer)
    open_need = await create_need(conn, d.committee_id, d.item_id, d.committee_account)
    await create_need(conn, d.committee_id, d.item_id, d.committee_account, status="in_tender")
    quiet = await create_household(conn, d.committee_id)
    await conn.execute("UPDATE households SET created_at = now() - interval '40 days' WHERE id = $1", quiet)
    visited = await create_household(conn, d.committee_id)
    await conn.execute("UPDATE households SET created_at = now() - interval '90 days' WHERE id = $1", visited)
    await create_shift(conn, committee_id=d.committee_id, starts_at=soon(-3), household_id=visited)
    await create_household(conn, d.committee_id)  # registered today: not yet quiet

    rendered = await _home_of(client, conn, d.committee_account)
    assert [item.key for item in rendered["home"].todo] == [
        "hours_pending", "needs_without_tender", "households_quiet", "proposals_declined", "unread",
    ]  # fmt: skip
    assert _todo(rendered) == {
        "hours_pending": (2, shift),
        "needs_without_tender": (1, open_need),
        "households_quiet": (1, quiet),
        "proposals_declined": (0, None),
        "unread": (0, None),
    }
    html = rendered.response.text
    assert 'href="/attendance"' in html and f'href="/needs/{open_need}"' in html
    assert f'href="/households/{quiet}"' in html


async def test_the_volunteers_home_leads_with_the_next_shift_and_what_to_answer(
    client: httpx.AsyncClient, conn: asyncpg.Connection
):
    account = await create_account(conn, "volunteer")
    volunteer = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account)
    now = dt.datetime.now(dt.UTC)
    later = await create_shift(conn, starts_at=now + dt.timedelta(days=2), title="周末探访")
    starting = await create_shift(conn, starts_at=now + dt.timedelta(minutes=10), title="午间送餐")
    waiting = await create_shift(conn, starts_at=now + dt.timedelta(hours=1))
    for s in (later, starting):
        await add_signup(conn, s, volunteer)
    await add_signup(conn, waiting, volunteer, status="waitlisted")  # a waitlist is no place
    await conn.execute(
        "INSERT INTO notifications (account_id, kind, shift_id, dedupe_key) VALUES ($1, 'shift_reminder', $2, $3)",
        account,
        later,
        f"shift_reminder:{later}:{account}",
    )

    rendered = await _home_of(client, conn, account)
    nxt = rendered["home"].next_shift
    assert (nxt.shift_id, nxt.title, nxt.checked_in) == (starting, "午间送餐", False)
    assert _todo(rendered) == {"proposals_open": (0, None), "checkins_due": (1, starting), "unread": (1, None)}
    assert f'href="/attendance/shifts/{starting}"' in rendered.response.text


async def test_the_organisations_reviewers_funders_and_admins_lists(
    client: httpx.AsyncClient, conn: asyncpg.Connection
):
    account = await create_account(conn, "organisation")
    org = await conn.fetchval("SELECT organisation_id FROM memberships WHERE account_id = $1", account)
    short = await create_shift(conn, organisation_id=org, starts_at=soon(2), headcount=3, taken=1)
    await create_shift(conn, organisation_id=org, starts_at=soon(2), headcount=1, taken=1)  # full
    await create_shift(conn, organisation_id=org, starts_at=soon(20))  # not soon
    assert _todo(await _home_of(client, conn, account))["shifts_short"] == (1, short)

    tender = await create_tender(conn)  # in review
    lot = await create_lot(conn, tender)
    bids = [await create_bid(conn, lot) for _ in range(3)]
    reviewer = await create_reviewer(conn)
    await assign(conn, tender, reviewer)
    await score(conn, bids[0], reviewer, 80)
    assert _todo(await _home_of(client, conn, reviewer)) == {"bids_to_score": (2, tender), "unread": (0, None)}

    funder_id = await conn.fetchval("SELECT funder_id FROM tenders WHERE id = $1", tender)
    funder = await create_account(conn, "funder", funder_id=funder_id)
    assert _todo(await _home_of(client, conn, funder))["tenders_to_review"] == (1, tender)

    before = _todo(await _home_of(client, conn, await create_account(conn, "admin")))["organisations_pending"][0]
    await create_org(conn, status="pending")
    admin = _todo(await _home_of(client, conn, await create_account(conn, "admin")))
    assert admin["organisations_pending"][0] == before + 1 and "audit_unsealed" in admin
