"""Star levels (星级, issue #15 item 5): one to five stars at confirmed-hour thresholds (LINLI_STAR_LEVEL_HOURS), on
the profile and the service record, and frozen into a certificate and its public verification page."""

from __future__ import annotations

import datetime as dt

import pytest

from api.app import create_app
from api.services import service_records
from api.services.service_records import StarLevel, parse_star_hours, star_level
from tests import conftest
from tests.factories_attendance import add_attendance
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.helpers import login
from tests.pages_kit import page_context

DEFAULT = (100, 300, 600, 1000, 1500)


@pytest.mark.parametrize(
    ("minutes", "level"),
    [
        (0, StarLevel(0, 6000)),
        (99 * 60 + 59, StarLevel(0, 1)),
        (100 * 60, StarLevel(1, 200 * 60)),
        (1000 * 60 + 30, StarLevel(4, 500 * 60 - 30)),
        (1500 * 60, StarLevel(5, None)),
        (4000 * 60, StarLevel(5, None)),
    ],
)
def test_a_star_at_each_threshold_passed_and_the_minutes_to_the_next(minutes: int, level: StarLevel) -> None:
    assert star_level(minutes, DEFAULT) == level


@pytest.mark.parametrize("raw", ["100,300,600,1000", "100,300,300,1000,1500", "0,1,2,3,4", "100,300,600,1000,lots"])
def test_a_setting_that_is_not_five_rising_whole_hours_stops_the_start(raw: str, tmp_path) -> None:
    with pytest.raises(ValueError, match="LINLI_STAR_LEVEL_HOURS"):
        parse_star_hours(raw)
    with pytest.raises(ValueError, match="LINLI_STAR_LEVEL_HOURS"):
        create_app(conftest.test_settings(tmp_path, star_level_hours=raw), pool=None, redis=None)
    assert parse_star_hours(" 50, 100,200,400 ,800") == (50, 100, 200, 400, 800)


async def _served(conn, minutes: int):
    """A volunteer with `minutes` confirmed, a day's record (at most 24 hours) on each of the last days."""
    volunteer = await volunteer_identity(conn)
    org = await publisher_identity(conn, "organisation")
    day = 0
    while minutes > 0:
        day += 1
        starts_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=day)
        shift_id = await create_shift(conn, organisation_id=org.organisation_id, starts_at=starts_at)
        signup_id = await add_signup(conn, shift_id, volunteer.volunteer_id)
        served = min(minutes, 24 * 60)
        await add_attendance(
            conn, shift_id, signup_id, volunteer.volunteer_id, minutes=served, confirmed_by=org.account_id
        )
        minutes -= served
    return volunteer, org


async def test_a_certificate_keeps_the_level_it_was_issued_with_and_its_check_shows_it(client, conn) -> None:
    volunteer, _ = await _served(conn, 310 * 60)
    issued = (await service_records.certificate(conn, volunteer, DEFAULT)).certificate
    assert issued.stars == 2
    # Other thresholds later: the same record's certificate is the one issued, with its level.
    again = (await service_records.certificate(conn, volunteer, (10, 20, 30, 40, 50))).certificate
    assert (again.number, again.stars) == (issued.number, 2)
    checked = await client.get(f"/api/records/certificates/{issued.number}/{issued.check_code}")
    assert checked.status_code == 200 and checked.json()["stars"] == 2
    page = await page_context(client, f"/verify/{issued.number}/{issued.check_code}")
    assert page["checked"].stars == 2
    assert "2 星级志愿者" in page.response.text and "★★☆☆☆" in page.response.text


async def test_the_volunteer_sees_the_level_and_the_way_to_the_next_star(client, conn) -> None:
    volunteer, _ = await _served(conn, 130 * 60)
    username = await conn.fetchval("SELECT username FROM accounts WHERE id = $1", volunteer.account_id)
    await login(client, username)
    record = await page_context(client, "/records")
    assert record["record"].level == StarLevel(1, 170 * 60)
    assert "1 星级志愿者" in record.response.text
    assert "再累计 170 小时 确认服务时长可升一星" in record.response.text
    profile = await page_context(client, "/volunteer/profile")
    assert profile["level"] == StarLevel(1, 170 * 60)
    assert "1 星级志愿者" in profile.response.text
    api = await client.get("/api/records/mine")
    assert api.status_code == 200 and api.json()["level"] == {"stars": 1, "next_star_minutes": 170 * 60}
