"""What each role's home page shows: its to-do list first (what waits, with counts), then the figures so far."""

from __future__ import annotations

import asyncpg
import msgspec

from api.services import visit_notes
from api.services.accounts import Identity
from sql import areas as areas_sql
from sql import audit, overview
from sql import home as home_sql
from sql import orgs as orgs_sql
from sql import volunteers as volunteers_sql

# A household nobody has visited (311 team visit done, or a household shift held) for this long is flagged.
QUIET_DAYS = 30
# Tenders closing, milestones falling due and shifts short of people within this many days count as "soon".
SOON_DAYS = 7


class Home(msgspec.Struct, frozen=True):
    """The home page's content for one identity; fields not of its role stay None."""

    role: str
    platform: overview.PlatformFigures
    organisation: orgs_sql.OrgRow | None = None
    committee: areas_sql.CommitteeRow | None = None
    committee_figures: overview.CommitteeFigures | None = None
    # The committee's incidents on home visits and its households' ratings (issue 15, item 4).
    visits: visit_notes.CommitteeBoard | None = None
    funder: areas_sql.FunderRow | None = None
    funder_figures: overview.FunderFigures | None = None
    volunteer: volunteers_sql.VolunteerRow | None = None
    pending_organisations: list[orgs_sql.OrgRow] = []
    organisations_waiting: int = 0
    recent_audit: list[audit.AuditRow] = []
    # What waits for the caller, in the order the page lists it; a zero count is shown as done, not hidden.
    todo: list[home_sql.TodoRow] = []
    next_shift: home_sql.NextShiftRow | None = None
    quiet_days: int = QUIET_DAYS
    soon_days: int = SOON_DAYS


async def home_for(conn: asyncpg.Connection, who: Identity, *, checkin_window_minutes: int) -> Home:
    """Collect what the caller's home page shows."""
    platform = await overview.platform_figures(conn)
    if who.role == "organisation" and who.organisation_id is not None:
        return Home(
            role=who.role,
            platform=platform,
            organisation=await orgs_sql.get_org(conn, who.organisation_id),
            todo=await home_sql.organisation_todo(conn, who.account_id, who.organisation_id, SOON_DAYS),
        )
    if who.role == "committee" and who.committee_id is not None:
        return Home(
            role=who.role,
            platform=platform,
            todo=await home_sql.committee_todo(conn, who.account_id, who.committee_id, QUIET_DAYS),
            committee=await areas_sql.get_committee(conn, who.committee_id),
            committee_figures=await overview.committee_figures(conn, who.committee_id),
            visits=await visit_notes.committee_board(conn, who.committee_id),
        )
    if who.role == "funder" and who.funder_id is not None:
        return Home(
            role=who.role,
            platform=platform,
            funder=await areas_sql.get_funder(conn, who.funder_id),
            todo=await home_sql.funder_todo(conn, who.account_id, who.funder_id),
            funder_figures=await overview.funder_figures(conn, who.funder_id),
        )
    if who.role == "volunteer" and who.volunteer_id is not None:
        return Home(
            role=who.role,
            platform=platform,
            volunteer=await volunteers_sql.get_volunteer_by_account(conn, who.account_id),
            todo=await home_sql.volunteer_todo(conn, who.account_id, who.volunteer_id, checkin_window_minutes),
            next_shift=await home_sql.next_shift(conn, who.volunteer_id),
        )
    if who.role == "admin":
        pending, waiting = await orgs_sql.list_orgs(conn, status="pending", category=None, q=None, limit=10, offset=0)
        return Home(
            role=who.role,
            platform=platform,
            pending_organisations=pending,
            # Counted now, not from the minute-old figures: the list below it is now too.
            organisations_waiting=waiting,
            recent_audit=await audit.list_entries(conn, None, 10, 0),
            todo=await home_sql.admin_todo(conn, who.account_id),
        )
    if who.role == "reviewer":
        return Home(role=who.role, platform=platform, todo=await home_sql.reviewer_todo(conn, who.account_id))
    return Home(role=who.role, platform=platform)


async def platform(conn: asyncpg.Connection) -> overview.PlatformFigures:
    """Counts across the platform, for the public front page (at most a minute old)."""
    return await overview.platform_figures(conn)


async def count_platform(conn: asyncpg.Connection) -> None:
    """Count the platform's figures again (the worker does it every minute, a seed when it is done)."""
    await overview.refresh_platform_figures(conn)
