"""What the profile decides about shifts: certificates valid on the shift's date, weekly availability and its
exceptions, the weekly hour cap, minors only alongside an adult, consent for home visits; the pick-up refuses
(409 not-eligible) on the blocking reasons and the list offers the eligible shifts first."""

from __future__ import annotations

import datetime as dt

import pytest

from api.services import shifts
from api.services.shifts import SignupRefused
from api.services.types import SHANGHAI
from tests.factories_shifts import add_certificate, add_signup, create_shift, volunteer_identity
from tests.factories_tendering import create_household

BEIJING = dt.timezone(dt.timedelta(hours=8))


def next_weekday(isoweekday: int, hour: int, minute: int = 0, *, weeks_ahead: int = 1) -> dt.datetime:
    """A Beijing time on the given weekday at least a week ahead (so the whole week is in the future)."""
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=7 * weeks_ahead)
    day += dt.timedelta(days=(isoweekday - day.isoweekday()) % 7)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


async def _reasons(conn, who, shift_id) -> list[str]:
    view = await shifts.view_for_volunteer(conn, who, shift_id)
    assert view is not None
    return view.reasons


async def test_a_required_certificate_must_be_valid_on_the_shifts_date(conn):
    starts = next_weekday(3, 9)
    shift_id = await create_shift(conn, starts_at=starts, required_certificates=["elderly_carer"])
    without = await volunteer_identity(conn)
    assert "certificates" in await _reasons(conn, without, shift_id)
    with pytest.raises(SignupRefused) as refused:
        await shifts.sign_up(conn, without, shift_id)
    assert refused.value.reason == "not-eligible" and "certificates" in refused.value.fields

    lapsing = await volunteer_identity(conn)
    await add_certificate(conn, lapsing.volunteer_id, "elderly_carer", expires_on=starts.date() - dt.timedelta(days=1))
    assert "certificates" in await _reasons(conn, lapsing, shift_id)
    with pytest.raises(SignupRefused):
        await shifts.sign_up(conn, lapsing, shift_id)

    valid = await volunteer_identity(conn)
    await add_certificate(conn, valid.volunteer_id, "elderly_carer", expires_on=starts.date())
    await add_certificate(conn, valid.volunteer_id, "first_aid")  # another kind does not stand in for it
    assert await _reasons(conn, valid, shift_id) == []
    assert (await shifts.sign_up(conn, valid, shift_id)).status == "active"


async def test_availability_filters_the_list_but_does_not_stop_a_pick_up(conn):
    saturday_morning = next_weekday(6, 9)
    fits = await create_shift(conn, starts_at=saturday_morning, hours=2)
    too_long = await create_shift(conn, starts_at=saturday_morning + dt.timedelta(hours=4), hours=3)
    monday = await create_shift(conn, starts_at=next_weekday(1, 9), hours=2)
    who = await volunteer_identity(conn)
    assert await _reasons(conn, who, monday) == []  # no windows on file: available any time
    await conn.execute(
        "INSERT INTO volunteer_availability (volunteer_id, weekday, starts, ends) VALUES ($1, 6, '08:30', '15:00')",
        who.volunteer_id,
    )
    assert await _reasons(conn, who, fits) == []
    assert await _reasons(conn, who, too_long) == ["availability"]  # 13:00-16:00 runs past the window
    assert await _reasons(conn, who, monday) == ["availability"]
    # An extra available time covers the Monday; an away time knocks out the Saturday.
    await conn.execute(
        "INSERT INTO availability_exceptions (volunteer_id, during, available) VALUES"
        " ($1, tstzrange($2::timestamptz - interval '1 hour', $2::timestamptz + interval '3 hours'), true),"
        " ($1, tstzrange($3::timestamptz - interval '1 day', $3::timestamptz + interval '1 day'), false)",
        who.volunteer_id,
        next_weekday(1, 9),
        saturday_morning,
    )
    assert await _reasons(conn, who, monday) == []
    assert await _reasons(conn, who, fits) == ["availability"]
    eligible = await shifts.browse(conn, who, eligible_only=True, limit=50, offset=0)
    assert monday in [v.shift.id for v in eligible] and fits not in [v.shift.id for v in eligible]
    # Availability is the volunteer's own statement: they may still step in.
    assert (await shifts.sign_up(conn, who, fits)).status == "active"


async def test_the_weekly_hour_cap_counts_held_hours_in_the_same_week(conn):
    who = await volunteer_identity(conn, weekly_hour_cap=5)
    monday = await create_shift(conn, starts_at=next_weekday(1, 9), hours=3)
    tuesday = await create_shift(conn, starts_at=next_weekday(2, 9), hours=2)
    wednesday = await create_shift(conn, starts_at=next_weekday(3, 9), hours=1)
    next_week = await create_shift(conn, starts_at=next_weekday(3, 9, weeks_ahead=2), hours=4)
    await shifts.sign_up(conn, who, monday)
    await shifts.sign_up(conn, who, tuesday)  # 3 + 2 = 5, exactly the cap
    assert "hours_cap" in await _reasons(conn, who, wednesday)
    with pytest.raises(SignupRefused) as refused:
        await shifts.sign_up(conn, who, wednesday)
    assert refused.value.reason == "not-eligible" and set(refused.value.fields) == {"hours_cap"}
    assert await _reasons(conn, who, next_week) == []
    # A cancelled place no longer counts.
    await shifts.cancel(conn, who, tuesday)
    assert await _reasons(conn, who, wednesday) == []


async def test_under_18s_join_a_groups_only_shift_once_an_adult_has(conn):
    year = dt.datetime.now(SHANGHAI).year
    starts = next_weekday(6, 9)
    shift_id = await create_shift(conn, starts_at=starts, headcount=4, minors_in_groups_only=True)
    solo = await create_shift(conn, starts_at=starts + dt.timedelta(days=1), headcount=1, minors_in_groups_only=True)
    plain = await create_shift(conn, starts_at=starts + dt.timedelta(days=2), headcount=4)
    teen = await volunteer_identity(conn, birth_year=year - 15)
    other_teen = await volunteer_identity(conn, birth_year=year - 16)
    adult = await volunteer_identity(conn, birth_year=year - 30)
    assert await _reasons(conn, teen, plain) == []
    assert await _reasons(conn, teen, shift_id) == ["minor_group"]
    await add_signup(conn, shift_id, other_teen.volunteer_id)  # another minor is not an adult
    with pytest.raises(SignupRefused) as refused:
        await shifts.sign_up(conn, teen, shift_id)
    assert set(refused.value.fields) == {"minor_group"}
    assert await _reasons(conn, adult, shift_id) == []
    await shifts.sign_up(conn, adult, shift_id)
    assert (await shifts.sign_up(conn, teen, shift_id)).status == "active"
    assert await _reasons(conn, teen, solo) == ["minor_group"]  # one place: never a group


async def test_age_counts_to_the_day_when_the_birth_date_is_known(conn):
    starts = next_weekday(4, 9)
    shift_id = await create_shift(conn, starts_at=starts, min_age=18)
    turns_18_after = starts.date().replace(year=starts.date().year - 18) + dt.timedelta(days=1)
    turns_18_before = starts.date().replace(year=starts.date().year - 18) - dt.timedelta(days=1)
    young = await volunteer_identity(conn, birth_year=turns_18_after.year, birth_date=turns_18_after)
    of_age = await volunteer_identity(conn, birth_year=turns_18_before.year, birth_date=turns_18_before)
    assert "age" in await _reasons(conn, young, shift_id)
    assert await _reasons(conn, of_age, shift_id) == []


async def test_home_visits_are_offered_to_volunteers_who_consented(conn):
    from tests.factories_shifts import publisher_identity

    committee = await publisher_identity(conn, "committee")
    household = await create_household(conn, committee.committee_id)
    visit = await create_shift(conn, committee_id=committee.committee_id, household_id=household)
    who = await volunteer_identity(conn)
    assert await _reasons(conn, who, visit) == ["consent"]
    await conn.execute("UPDATE volunteers SET sensitive_data_consent_at = now() WHERE id = $1", who.volunteer_id)
    assert await _reasons(conn, who, visit) == []


async def test_the_pick_up_api_answers_409_not_eligible_without_the_certificate(client, conn):
    from tests import factories
    from tests.helpers import bearer

    account_id = await factories.create_account(conn, "volunteer")
    headers = await bearer(client, await factories.username_of(conn, account_id))
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)
    starts = next_weekday(5, 10)
    shift_id = await create_shift(conn, starts_at=starts, required_certificates=["elderly_carer"])
    response = await client.post(f"/api/shifts/{shift_id}/signups", headers=headers)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("shift-not-eligible") and [e["field"] for e in problem["errors"]] == [
        "certificates"
    ]
    view = (await client.get(f"/api/shifts/{shift_id}/for-me", headers=headers)).json()
    assert view["eligible"] is False and view["reasons"] == ["certificates"]
    await add_certificate(conn, volunteer_id, "elderly_carer", expires_on=starts.date() + dt.timedelta(days=30))
    response = await client.post(f"/api/shifts/{shift_id}/signups", headers=headers)
    assert response.status_code == 201, response.text
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 1


async def test_under_14s_need_a_named_guardians_consent(conn):
    year = dt.datetime.now(SHANGHAI).year
    shift_id = await create_shift(conn, starts_at=next_weekday(6, 10))
    child = await volunteer_identity(conn, birth_year=year - 12)
    assert "guardian" in await _reasons(conn, child, shift_id)
    await conn.execute("UPDATE volunteers SET guardian_consent = true WHERE id = $1", child.volunteer_id)
    assert "guardian" in await _reasons(conn, child, shift_id)  # consent without a name is not enough
    await conn.execute("UPDATE volunteers SET guardian_name = '张建华' WHERE id = $1", child.volunteer_id)
    assert await _reasons(conn, child, shift_id) == []
