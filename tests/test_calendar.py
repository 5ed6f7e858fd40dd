"""One calendar per volunteer (issue 12): sign-ups and 311 team visits are commitments that never overlap (the
schema holds it), a place held bars waiting for an overlapping shift, promotion skips whoever it would double-book,
the teams optimiser is told the slots a carer is busy in, and 我的日程 lists everything in date order."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import calendar, shifts, teams
from sql import calendar as calendar_sql
from sql import teams as teams_sql
from tests import factories
from tests import factories_teams as ft
from tests.factories_shifts import add_signup, create_shift, soon
from tests.helpers import login
from tests.pages_kit import page_context


async def _member(conn: asyncpg.Connection) -> tuple[ft.Project, int, tuple[int, int], dt.datetime]:
    """A carer in a live team whose visits are planned; (project, team, carer, first visit)."""
    project = await ft.create_project(conn)
    carer = await ft.create_carer(conn, trained=True)
    others = [await ft.create_carer(conn) for _ in range(2)]
    # A slot two days or more ahead, so shifts at the visit's time are still open and outside any late window.
    day = (dt.datetime.now(teams.SHANGHAI) + dt.timedelta(days=3)).weekday()
    slot = f"{teams.WEEKDAYS[day]}-am"
    team_id = await ft.form_team(conn, project, project.households[0], [carer[0], *(v for v, _ in others)], slot)
    times = teams.visit_times(slot, dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    await teams_sql.plan_visits(conn, team_id, times)
    return project, team_id, carer, times[0]


async def test_a_team_visit_is_a_commitment_that_bars_an_overlapping_place_and_waitlist(conn):
    _project, _team_id, carer, visit = await _member(conn)
    who = await ft.volunteer_identity(conn, carer)
    rows = await calendar_sql.commitments(
        conn, carer[0], visit - dt.timedelta(hours=1), visit + dt.timedelta(weeks=9), limit=50
    )
    assert [r.kind for r in rows] == ["team_visit"] * teams.PLAN_WEEKS
    overlapping = await create_shift(conn, starts_at=visit + dt.timedelta(hours=1), hours=2)
    with pytest.raises(shifts.SignupRefused) as refused:
        await shifts.sign_up(conn, who, overlapping)
    assert refused.value.reason == "overlap" and "overlap" in (refused.value.fields or {})
    full = await create_shift(conn, starts_at=visit - dt.timedelta(hours=1), hours=2, headcount=1)
    await add_signup(conn, full, await factories.create_volunteer(conn))
    with pytest.raises(shifts.SignupRefused) as refused:
        await shifts.join_waitlist(conn, who, full)
    assert refused.value.reason == "overlap"
    # The shift page says why, as a reason beside the others.
    view = await shifts.view_for_volunteer(conn, who, full)
    assert view is not None and "overlap" in view.reasons
    # Two full alternatives at one free time: waiting for both is fine.
    later = visit + dt.timedelta(days=1)
    alternatives = [await create_shift(conn, starts_at=later, headcount=1) for _ in range(2)]
    for shift_id in alternatives:
        await add_signup(conn, shift_id, await factories.create_volunteer(conn))
        assert (await shifts.join_waitlist(conn, who, shift_id)).status == "waitlisted"


async def test_the_schema_refuses_two_overlapping_commitments_whatever_writes_them(conn):
    _project, _team_id, carer, visit = await _member(conn)
    shift_id = await create_shift(conn, starts_at=visit, hours=1)
    with pytest.raises(asyncpg.ExclusionViolationError, match="commitments_no_overlap"):
        async with conn.transaction():
            await add_signup(conn, shift_id, carer[0])
    assert await calendar_sql.overlaps(conn) == []


async def test_leaving_the_team_or_a_cancelled_visit_frees_the_time(conn):
    _project, team_id, carer, visit = await _member(conn)
    who = await ft.volunteer_identity(conn, carer)
    await teams_sql.end_member(conn, team_id, carer[0], "left")
    shift_id = await create_shift(conn, starts_at=visit, hours=1)
    assert (await shifts.sign_up(conn, who, shift_id)).status == "active"
    assert [e.kind for e in await calendar.my_calendar(conn, who)] == ["shift"]
    await shifts.cancel(conn, who, shift_id)
    assert await calendar.my_calendar(conn, who) == []


async def test_promotion_skips_whoever_the_place_would_double_book(conn):
    full = await create_shift(conn, starts_at=soon(days=4), headcount=1)
    holder = await shifts_identity(conn)
    await shifts.sign_up(conn, holder, full)
    first, second = await shifts_identity(conn), await shifts_identity(conn)
    await shifts.join_waitlist(conn, first, full)
    await shifts.join_waitlist(conn, second, full)
    # While waiting, the first takes a place elsewhere at the same time: waiting is not holding.
    elsewhere = await create_shift(conn, starts_at=soon(days=4) + dt.timedelta(minutes=30))
    await shifts.sign_up(conn, first, elsewhere)
    outcome = await shifts.cancel(conn, holder, full)
    assert outcome.promoted
    status = await conn.fetch("SELECT volunteer_id, status FROM signups WHERE shift_id = $1 ORDER BY id", full)
    assert {(r["volunteer_id"], r["status"]) for r in status} >= {
        (first.volunteer_id, "waitlisted"),
        (second.volunteer_id, "active"),
    }
    assert await calendar_sql.overlaps(conn) == []


async def shifts_identity(conn):
    from tests.factories_shifts import volunteer_identity

    return await volunteer_identity(conn)


async def test_the_teams_optimiser_is_told_the_slots_a_carer_is_committed_in_elsewhere(conn):
    _project, _team_id, carer, visit = await _member(conn)
    other = await ft.create_project(conn)
    project = await teams_sql.get_project_by_id(conn, other.contract_id)
    assert project is not None
    busy = await teams._busy(conn, [carer[0]], other.contract_id)
    local = visit.astimezone(teams.SHANGHAI)
    assert f"{teams.WEEKDAYS[local.weekday()]}-am" in busy[carer[0]]
    # Its own project's teams are the plan being repaired: they do not block it.
    assert await teams._busy(conn, [carer[0]], _project.contract_id) == {}


async def test_my_calendar_page_lists_every_commitment_in_date_order(client, conn):
    _project, team_id, carer, visit = await _member(conn)
    who = await ft.volunteer_identity(conn, carer)
    before = await create_shift(conn, starts_at=visit - dt.timedelta(hours=3), hours=2, title="社区助老午餐")
    await shifts.sign_up(conn, who, before)
    await login(client, await factories.username_of(conn, carer[1]))
    page = await page_context(client, "/calendar")
    assert page.template == "calendar/mine.html"
    entries = page.context["entries"]
    assert [e.kind for e in entries[:2]] == ["shift", "team_visit"] and entries[1].team_id == team_id
    assert [e.starts_at for e in entries] == sorted(e.starts_at for e in entries)
    text = page.response.text
    assert "我的日程" in text and "311小组探访" in text and "社区助老午餐" in text and "服务班次" in text
