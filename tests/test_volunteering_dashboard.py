"""The volunteering dashboard: figures computed by hand on small data, only the caller's own data, charts, files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from api.services import households
from api.services import volunteering_dashboard as vd
from api.services.accounts import Identity
from api.services.errors import Forbidden, Invalid
from sql import volunteering_dashboard as board_sql
from tests import factories
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.factories_teams import create_project
from tests.factories_tendering import create_household, create_need
from tests.helpers import bearer, login
from tests.pages_kit import page_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
SINCE = dt.date(2026, 10, 5)  # a Monday
UNTIL = dt.date(2026, 10, 18)  # the Sunday of the next week


def at(day: int, hour: int) -> dt.datetime:
    """A moment in October 2026, Shanghai time."""
    return dt.datetime(2026, 10, day, hour, tzinfo=SHANGHAI)


# --- Pure figures -------------------------------------------------------------------------------------------------


def test_gini_of_equal_hours_is_zero_and_of_one_person_doing_all_is_near_one():
    assert vd.gini([120, 120, 120]) == 0
    # Four people, one does everything: sum |xi - xj| = 2 * 3 * 100 = 600; 2 n² mean = 2 * 16 * 25 = 800.
    assert vd.gini([0, 0, 0, 100]) == pytest.approx(0.75)
    assert vd.gini([]) is None and vd.gini([0, 0]) is None


def test_gini_by_hand_on_uneven_hours():
    # [60, 120, 300]: pairs |60-120| + |60-300| + |120-300| = 60 + 240 + 180 = 480, counted twice = 960;
    # 2 n² mean = 2 * 9 * 160 = 2880; G = 960 / 2880 = 1/3.
    assert vd.gini([300, 60, 120]) == pytest.approx(1 / 3)


def test_top_decile_share_takes_at_least_one_person():
    assert vd.top_share([0, 0, 300, 300]) == (0.5, 1)
    # Eleven people: the top tenth rounds up to two; 100 + 50 of 250.
    values = [100, 50] + [10] * 9
    share, size = vd.top_share(values)
    assert size == 2 and share == pytest.approx(150 / 240)
    assert vd.top_share([]) == (None, 0)


def test_bands_count_volunteers_by_confirmed_hours():
    # 0 | under 2 h | 2-5 h | 5-10 h | 10-20 h | 20 h or more
    assert vd.bands([0, 0, 119, 120, 299, 300, 600, 1200, 5000]) == [2, 1, 2, 1, 1, 2]


def test_a_period_ending_before_it_starts_or_longer_than_a_year_is_refused():
    with pytest.raises(Invalid) as ended:
        vd.period(dt.date(2026, 10, 5), dt.date(2026, 10, 4))
    assert "until" in ended.value.fields
    with pytest.raises(Invalid):
        vd.period(dt.date(2025, 1, 1), dt.date(2026, 1, 2))
    with pytest.raises(Invalid):
        vd.period(dt.date(1, 1, 1), dt.date(1, 1, 2))
    with pytest.raises(Invalid):
        vd.period(dt.date(9999, 12, 30), dt.date(9999, 12, 31))
    assert vd.period(SINCE, UNTIL) == (SINCE, UNTIL)


# --- A small world whose figures are worked out by hand -----------------------------------------------------------


@dataclass
class World:
    organisation: Identity
    committee: Identity
    names: dict[str, str]


async def _attend(conn, shift_id: int, volunteer_id: int, minutes: int, status: str, by: int) -> None:
    signup_id = await conn.fetchval(
        "SELECT id FROM signups WHERE shift_id = $1 AND volunteer_id = $2", shift_id, volunteer_id
    )
    starts = await conn.fetchval("SELECT starts_at FROM shifts WHERE id = $1", shift_id)
    decided = status in ("confirmed", "rejected")
    await conn.execute(
        "INSERT INTO attendance (signup_id, shift_id, volunteer_id, checked_in_at, checked_out_at, method, minutes,"
        " status, confirmed_by, confirmed_at, reject_reason)"
        " VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz + make_interval(mins => $5), 'manual', $5, $6, $7,"
        " $8, $9)",
        signup_id,
        shift_id,
        volunteer_id,
        starts,
        minutes,
        status,
        by if decided else None,
        starts + dt.timedelta(days=1) if decided else None,
        "未到场" if status == "rejected" else None,
    )


async def world(conn) -> World:
    """An organisation running a contract whose lot covers two needs of a committee; shifts of both in October.

    Organisation O: S1 (Tue 6th, 4 places, v1 v2 v3 hold one), S2 (Thu 8th, 2 places, v1 v4), S3 (Tue 13th,
    5 places, v2), a cancelled shift, and nothing else counts. Attendance: v1 S1 120 confirmed, v2 S1 60
    confirmed, v3 S1 90 pending, v1 S2 180 confirmed, v4 S2 30 rejected, v2 S3 240 confirmed.
    Needs of committee C on O's lot: N1 elderly care naming H1 and H2 (S1 serves H1), N2 311 naming H3 and H4
    (a live team of O serves H3), N3 elderly care naming nobody. Committee C's own shift S6 (Wed 14th, 3 places,
    v5 holds one, 90 minutes confirmed).
    """
    project = await create_project(conn, households=2)  # N2: the 311 need with H3, H4
    h3, _h4 = project.households
    organisation = project.organisation()
    committee = project.committee()
    lot_id = await conn.fetchval(
        "SELECT a.lot_id FROM contracts k JOIN awards a ON a.id = k.award_id WHERE k.id = $1", project.contract_id
    )
    elderly = await factories.create_catalogue_item(conn, code="elderly_care_t")
    n1 = await create_need(conn, project.committee_id, elderly, project.committee_account, status="funded")
    n3 = await create_need(conn, project.committee_id, elderly, project.committee_account, status="funded")
    for need in (n1, n3):
        await conn.execute("INSERT INTO lot_needs (lot_id, need_id) VALUES ($1, $2)", lot_id, need)
    h1 = await create_household(conn, project.committee_id)
    h2 = await create_household(conn, project.committee_id)
    for household in (h1, h2):
        await conn.execute("INSERT INTO need_households (need_id, household_id) VALUES ($1, $2)", n1, household)
    # Another committee's need and a closed need of this committee count nowhere.
    other_committee = await factories.create_committee(conn)
    await create_need(conn, other_committee, elderly, project.committee_account)
    await create_need(conn, project.committee_id, elderly, project.committee_account, status="closed")

    org = organisation.organisation_id
    s1 = await create_shift(conn, organisation_id=org, starts_at=at(6, 9), headcount=4)
    await conn.execute("UPDATE shifts SET household_id = $2 WHERE id = $1", s1, h1)
    s2 = await create_shift(conn, organisation_id=org, starts_at=at(8, 14), headcount=2)
    s3 = await create_shift(conn, organisation_id=org, starts_at=at(13, 10), headcount=5)
    cancelled = await create_shift(conn, organisation_id=org, starts_at=at(9, 10), headcount=9, status="cancelled")
    outside = await create_shift(conn, organisation_id=org, starts_at=at(20, 10), headcount=7)
    stranger_org = await factories.create_org(conn)
    strangers = await create_shift(conn, organisation_id=stranger_org, starts_at=at(7, 10), headcount=8)
    s6 = await create_shift(conn, committee_id=project.committee_id, starts_at=at(14, 9), headcount=3)

    names: dict[str, str] = {}
    vs: dict[str, int] = {}
    for key in ("v1", "v2", "v3", "v4", "v5", "v6"):
        who = await volunteer_identity(conn)
        assert who.volunteer_id is not None
        vs[key] = who.volunteer_id
        names[key] = f"志愿者{key}号"
        await conn.execute("UPDATE volunteers SET display_name = $2 WHERE id = $1", who.volunteer_id, names[key])
    for shift, people in ((s1, "v1 v2 v3"), (s2, "v1 v4"), (s3, "v2"), (s6, "v5"), (strangers, "v6"), (outside, "v6")):
        for key in people.split():
            await add_signup(conn, shift, vs[key])
    await add_signup(conn, cancelled, vs["v6"], status="waitlisted")
    by = organisation.account_id
    for shift, key, minutes, status in (
        (s1, "v1", 120, "confirmed"),
        (s1, "v2", 60, "confirmed"),
        (s1, "v3", 90, "pending"),
        (s2, "v1", 180, "confirmed"),
        (s2, "v4", 30, "rejected"),
        (s3, "v2", 240, "confirmed"),
        (s6, "v5", 90, "confirmed"),
        (strangers, "v6", 600, "confirmed"),
    ):
        await _attend(conn, shift, vs[key], minutes, status, by)

    # A live team of O serves H3; two visits done in the period, one planned, one done before the period.
    team = await conn.fetchval(
        "INSERT INTO teams (household_id, organisation_id, contract_id, slot) VALUES ($1, $2, $3, 'tue-am')"
        " RETURNING id",
        h3,
        org,
        project.contract_id,
    )
    for when, status, minutes in ((at(6, 10), "done", 60), (at(13, 10), "done", 45), (at(16, 10), "planned", None),
                                  (at(1, 10), "done", 50)):  # fmt: skip
        await conn.execute(
            "INSERT INTO team_visits (team_id, at, status, minutes, contact_kind, recorded_by, recorded_at)"
            " VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'done' THEN 'home_visit' END,"
            " CASE WHEN $3 = 'done' THEN $5::bigint END, CASE WHEN $3 = 'done' THEN now() END)",
            team,
            when,
            status,
            minutes,
            vs["v1"],
        )
    return World(organisation=organisation, committee=committee, names=names)


async def test_the_organisations_figures_match_the_hand_count(conn):
    w = await world(conn)
    board = await vd.dashboard(conn, w.organisation, since=SINCE, until=UNTIL)
    t = board.totals
    assert (t.shifts, t.headcount, t.taken) == (3, 11, 6)
    assert (t.confirmed_minutes, t.pending_minutes) == (600, 90)
    assert [(x.week, x.shifts, x.headcount, x.taken, x.confirmed_minutes, x.pending_minutes) for x in board.weeks] == [
        (dt.date(2026, 10, 5), 2, 6, 5, 360, 90),
        (dt.date(2026, 10, 12), 1, 5, 1, 240, 0),
    ]
    assert {(c.code, c.listed, c.covered) for c in board.coverage} == {
        ("elderly_care_t", 2, 1),
        ("companionship_311", 1, 1),
    }
    assert (t.needs_listed, t.needs_covered) == (3, 2)
    h = board.households_311
    assert (h.listed, h.covered, h.live_teams, h.visits_done, h.visit_minutes) == (2, 1, 1, 2, 105)
    # Confirmed minutes per volunteer: v1 300, v2 300, v3 0, v4 0 → Gini 0.5, the top one holds half.
    assert board.served_minutes == [300, 300, 0, 0]
    # The page's minutes are the service records' minutes, counted the short way.
    records = await board_sql.volunteer_hours(conn, board.organisation_id, None, *vd._bounds(SINCE, UNTIL))
    assert board.served_minutes == sorted((r.confirmed_minutes for r in records), reverse=True)
    s = board.spread
    assert (s.volunteers, s.top_decile_size) == (4, 1)
    assert s.gini == pytest.approx(0.5) and s.top_decile_share == pytest.approx(0.5)
    assert s.bands == [2, 0, 0, 2, 0, 0]


async def test_the_committees_figures_count_its_needs_served_by_anyone_and_only_its_own_shifts(conn):
    w = await world(conn)
    board = await vd.dashboard(conn, w.committee, since=SINCE, until=UNTIL)
    t = board.totals
    assert (t.shifts, t.headcount, t.taken, t.confirmed_minutes, t.pending_minutes) == (1, 3, 1, 90, 0)
    assert (t.needs_listed, t.needs_covered) == (3, 2)
    h = board.households_311
    assert (h.listed, h.covered, h.live_teams, h.visits_done, h.visit_minutes) == (2, 1, 1, 2, 105)
    assert board.served_minutes == [90]
    assert board.spread.gini == 0 and board.spread.top_decile_share == 1


async def test_a_household_that_left_the_service_is_no_longer_listed_for_311(conn):
    w = await world(conn)
    uncovered = await conn.fetchval(
        "SELECT nh.household_id FROM need_households nh JOIN needs n ON n.id = nh.need_id"
        " JOIN catalogue_items ci ON ci.id = n.catalogue_item_id AND ci.code = 'companionship_311'"
        " WHERE NOT EXISTS (SELECT 1 FROM teams t WHERE t.household_id = nh.household_id AND t.status = 'live')"
    )
    await households.archive_household(conn, w.committee, uncovered)
    h = (await vd.dashboard(conn, w.committee, since=SINCE, until=UNTIL)).households_311
    assert (h.listed, h.covered, h.live_teams) == (1, 1, 1)


async def test_another_organisation_or_committee_sees_none_of_it(conn):
    await world(conn)
    for role in ("organisation", "committee"):
        outsider = await publisher_identity(conn, role)
        board = await vd.dashboard(conn, outsider, since=SINCE, until=UNTIL)
        assert board.totals == vd.Totals(0, 0, 0, 0, 0, 0, 0)
        assert board.served_minutes == [] and board.coverage == []
        assert board.households_311.listed == 0 and board.households_311.live_teams == 0
        table = await vd.export_table(conn, outsider, "hours", "zh_CN", since=SINCE, until=UNTIL)
        assert list(table.rows) == []


async def test_volunteers_and_funders_have_no_volunteering_dashboard(conn):
    volunteer = await volunteer_identity(conn)
    with pytest.raises(Forbidden):
        await vd.dashboard(conn, volunteer)
    funder = await factories.create_account(conn, "funder")
    funder_id = await conn.fetchval("SELECT funder_id FROM memberships WHERE account_id = $1", funder)
    with pytest.raises(Forbidden):
        await vd.dashboard(
            conn, Identity(account_id=funder, username="f", display_name="f", role="funder", locale="zh_CN",
                           funder_id=funder_id)
        )  # fmt: skip


async def test_the_api_answers_the_callers_own_figures_and_refuses_others(client, conn):
    w = await world(conn)
    username = await factories.username_of(conn, w.organisation.account_id)
    headers = await bearer(client, username)
    response = await client.get(f"/api/volunteering/dashboard?since={SINCE}&until={UNTIL}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"]["taken"] == 6 and body["spread"]["gini"] == pytest.approx(0.5)
    assert body["organisation_id"] == w.organisation.organisation_id and body["committee_id"] is None
    bad = await client.get(f"/api/volunteering/dashboard?since={UNTIL}&until={SINCE}", headers=headers)
    assert bad.status_code == 422 and "until" in bad.text
    volunteer = await factories.create_account(conn, "volunteer")
    refused = await client.get(
        "/api/volunteering/dashboard", headers=await bearer(client, await factories.username_of(conn, volunteer))
    )
    assert refused.status_code == 403


async def test_hours_and_service_records_export_to_csv_and_xlsx(client, conn):
    w = await world(conn)
    headers = await bearer(client, await factories.username_of(conn, w.organisation.account_id))
    base = f"/api/volunteering/dashboard?since={SINCE}&until={UNTIL}"
    hours = await client.get(f"{base}&format=csv&table=hours", headers=headers)
    assert hours.status_code == 200 and hours.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(hours.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["班次开始时间", "服务班次", "志愿者"]
    assert len(rows) == 1 + 6  # O's six attendances, not the stranger's or the committee's
    first = rows[1]
    assert first[0] == "2026-10-06 09:00:00" and first[5] in ("2.00", "1.00", "1.50")
    assert {r[2] for r in rows[1:]} == {w.names[k] for k in ("v1", "v2", "v3", "v4")}
    assert {r[6] for r in rows[1:]} == {"已确认", "待确认", "未通过"}
    records = await client.get(f"{base}&format=xlsx&table=records", headers=headers)
    assert records.status_code == 200
    sheet = load_workbook(io.BytesIO(records.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "志愿者" and values[0][3] == "已确认服务时长（小时）"
    by_name = {r[0]: r for r in values[1:]}
    assert set(by_name) == {w.names[k] for k in ("v1", "v2", "v3", "v4")}
    assert float(by_name[w.names["v1"]][3]) == 5.0 and by_name[w.names["v1"]][1:3] == (2, 2)
    assert float(by_name[w.names["v3"]][3]) == 0.0


async def test_the_page_shows_figures_and_charts_in_chinese(client, conn):
    w = await world(conn)
    await login(client, await factories.username_of(conn, w.committee.account_id))
    page = await client.get(f"/volunteering/dashboard?since={SINCE}&until={UNTIL}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "志愿服务数据看板" in text and "需求覆盖" in text and "服务时长基尼系数" in text
    assert 'id="chart-coverage"' in text and 'id="chart-spread"' in text and "<svg" in text
    assert "2 / 3" in text  # needs covered / listed
    assert "1 小时 30 分钟" in text  # the committee's 90 confirmed minutes
    assert f"/volunteering/dashboard?since={SINCE}&amp;until={UNTIL}&amp;table=records&amp;format=xlsx" in text
    assert 'href="/volunteering/dashboard"' in (await client.get("/inbox")).text  # the nav links here
    wrong = await client.get(f"/volunteering/dashboard?since={UNTIL}&until={SINCE}")
    assert wrong.status_code == 200 and "结束日期不能早于开始日期" in wrong.text
    download = await client.get(f"/volunteering/dashboard?since={SINCE}&until={UNTIL}&table=weeks&format=csv")
    assert download.status_code == 200 and "周（起始日）" in download.content.decode("utf-8-sig")


def _bars(chart) -> list[list[int]]:
    return [[bar.value for bar in group.bars] for group in chart.groups]


async def test_the_organisations_page_is_given_its_figures_and_charts_of_them(client, conn):
    w = await world(conn)
    await login(client, await factories.username_of(conn, w.organisation.account_id))
    rendered = await page_context(client, f"/volunteering/dashboard?since={SINCE}&until={UNTIL}")
    assert rendered.template == "volunteering_dashboard/index.html"
    board = rendered["board"]
    assert board.organisation_id == w.organisation.organisation_id and board.committee_id is None
    assert (board.totals.shifts, board.totals.headcount, board.totals.taken) == (3, 11, 6)
    assert rendered["errors"] == {}
    assert rendered["values"] == {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    assert rendered["query"] == f"since={SINCE}&until={UNTIL}"
    charts = rendered["charts"]
    # Week by week: places and places taken, confirmed and pending minutes (as counted by hand in `world`).
    assert _bars(charts["places"]) == [[6, 5], [5, 1]]
    assert _bars(charts["hours"]) == [[360, 90], [240, 0]]
    assert sorted(_bars(charts["coverage"])) == [[1, 1], [2, 1]]
    assert _bars(charts["households"]) == [[2, 1]]
    assert _bars(charts["spread"]) == [[2], [0], [0], [2], [0], [0]]
    assert len(rendered["band_labels"]) == len(board.spread.bands)


async def test_the_committees_page_is_given_its_own_shifts_and_the_needs_anyone_serves(client, conn):
    w = await world(conn)
    await login(client, await factories.username_of(conn, w.committee.account_id))
    rendered = await page_context(client, f"/volunteering/dashboard?since={SINCE}&until={UNTIL}")
    board = rendered["board"]
    assert board.committee_id == w.committee.committee_id and board.organisation_id is None
    t = board.totals
    assert (t.shifts, t.headcount, t.taken, t.confirmed_minutes, t.needs_listed, t.needs_covered) == (1, 3, 1, 90, 3, 2)
    assert [x.week for x in board.weeks] == [dt.date(2026, 10, 12)]  # only weeks with a shift of its own
    assert _bars(rendered["charts"]["hours"]) == [[90, 0]]
    # A period that ends before it starts: the error is given beside the field, the default period is shown.
    wrong = await page_context(client, f"/volunteering/dashboard?since={UNTIL}&until={SINCE}")
    assert set(wrong["errors"]) == {"until"}
    assert wrong["values"] == {"since": UNTIL.isoformat(), "until": SINCE.isoformat()}
    assert (wrong["board"].since, wrong["board"].until) != (UNTIL, SINCE)
