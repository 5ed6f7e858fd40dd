"""The guarded pick-up statement on its own: every blocking reason, a second place and the audit entry, in SQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from api.services import shifts
from sql import shifts as shifts_sql
from tests.factories_shifts import add_signup, create_shift, soon, volunteer_identity

_ABOUT_SHIFT = "WHERE object_type = 'shift' AND object_id = $1"


async def test_the_statement_refuses_a_blocking_reason_whatever_python_checked(conn):
    shift_id = await create_shift(conn, required_skills=["first_aid"])
    who = await volunteer_identity(conn)
    blocking = list(shifts.BLOCKING_REASONS)
    assert await shifts_sql.pick_up(conn, shift_id, who.volunteer_id, blocking=blocking, actor_account_id=None) is None
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 0
    assert await conn.fetchval(f"SELECT count(*) FROM audit_log {_ABOUT_SHIFT}", str(shift_id)) == 0
    # The list given is what refused: without "skills" in it the same place is taken.
    others = [r for r in blocking if r != "skills"]
    assert await shifts_sql.pick_up(conn, shift_id, who.volunteer_id, blocking=others, actor_account_id=None)


async def test_the_statement_refuses_the_hours_cap_and_an_overlap_itself(conn):
    who = await volunteer_identity(conn, weekly_hour_cap=3)
    blocking = list(shifts.BLOCKING_REASONS)
    starts = soon(4)
    held = await create_shift(conn, starts_at=starts, hours=2)
    await shifts.sign_up(conn, who, held)
    overlapping = await create_shift(conn, starts_at=starts + dt.timedelta(hours=1), hours=1)
    later = await create_shift(conn, starts_at=starts + dt.timedelta(hours=5), hours=2)
    for shift_id in (overlapping, later):
        taken = await shifts_sql.pick_up(conn, shift_id, who.volunteer_id, blocking=blocking, actor_account_id=None)
        assert taken is None
    # Through the use case each is refused with its reason, as before the statement checked them.
    with pytest.raises(shifts.SignupRefused) as overlap:
        await shifts.sign_up(conn, who, overlapping)
    assert (overlap.value.reason, list(overlap.value.fields or {})) == ("overlap", ["overlap"])
    with pytest.raises(shifts.SignupRefused) as capped:
        await shifts.sign_up(conn, who, later)
    assert (capped.value.reason, list(capped.value.fields or {})) == ("not-eligible", ["hours_cap"])


@pytest.mark.parametrize("status", ["active", "waitlisted"])
async def test_a_second_place_is_refused_without_breaking_the_unique_index(conn, status):
    shift_id = await create_shift(conn)
    who = await volunteer_identity(conn)
    await add_signup(conn, shift_id, who.volunteer_id, status)
    blocking = list(shifts.BLOCKING_REASONS)
    # None, not a UniqueViolationError: the transaction stays usable for asking why.
    assert await shifts_sql.pick_up(conn, shift_id, who.volunteer_id, blocking=blocking, actor_account_id=None) is None
    with pytest.raises(shifts.SignupRefused) as already:
        await shifts.sign_up(conn, who, shift_id)
    assert already.value.reason == "already"


async def test_a_sign_up_is_audited_by_its_statement_and_answers_the_shift_as_it_stands(conn):
    shift_id = await create_shift(conn, headcount=3)
    await add_signup(conn, shift_id, (await volunteer_identity(conn)).volunteer_id, "waitlisted")
    who = await volunteer_identity(conn)
    outcome = await shifts.sign_up(conn, who, shift_id)
    assert outcome.shift == await shifts_sql.get_shift(conn, shift_id)
    assert (outcome.status, outcome.shift.taken, outcome.shift.waitlisted) == ("active", 1, 1)
    entries = await conn.fetch(
        f"SELECT actor_account_id, action, object_type, detail::text FROM audit_log {_ABOUT_SHIFT}",
        str(shift_id),
    )
    assert [(e[0], e[1], e[2], json.loads(e[3])) for e in entries] == [
        (who.account_id, "shift.signup", "shift", {"signup_id": outcome.signup_id})
    ]


async def test_the_hours_cap_counts_the_places_of_the_shifts_monday_to_sunday_week_in_shanghai(conn):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    today = dt.datetime.now(shanghai).date()
    monday = dt.datetime.combine(today + dt.timedelta(days=7 - today.weekday() + 7), dt.time(0), shanghai)
    blocking = list(shifts.BLOCKING_REASONS)

    async def holding(starts: dt.datetime) -> int:
        who = await volunteer_identity(conn, weekly_hour_cap=3)
        await shifts.sign_up(conn, who, await create_shift(conn, starts_at=starts, hours=2))
        return who.volunteer_id

    # Two hours held up to the week's first instant or from the next week's: another two fit under the cap of three.
    for held, wanted in ((monday - dt.timedelta(hours=2), monday + dt.timedelta(hours=9)),
                         (monday + dt.timedelta(days=7), monday + dt.timedelta(days=6, hours=20))):  # fmt: skip
        volunteer_id = await holding(held)
        shift_id = await create_shift(conn, starts_at=wanted, hours=2)
        assert await shifts_sql.pick_up(conn, shift_id, volunteer_id, blocking=blocking, actor_account_id=None)
    # Held from the week's first instant or starting in its last hour, they count.
    for held, wanted in ((monday, monday + dt.timedelta(hours=9)),
                         (monday + dt.timedelta(days=6, hours=23), monday + dt.timedelta(hours=9))):  # fmt: skip
        volunteer_id = await holding(held)
        shift_id = await create_shift(conn, starts_at=wanted, hours=2)
        assert await shifts_sql.pick_up(conn, shift_id, volunteer_id, blocking=blocking, actor_account_id=None) is None


async def test_a_reason_that_only_orders_the_list_refuses_when_it_is_given(conn):
    shift_id = await create_shift(conn, lat=31.0, lon=121.0)
    who = await volunteer_identity(conn, lat=31.5, lon=121.5, travel_km=5)
    blocking = list(shifts.BLOCKING_REASONS)
    refused = await shifts_sql.pick_up(
        conn, shift_id, who.volunteer_id, blocking=[*blocking, "distance"], actor_account_id=None
    )
    assert refused is None
    assert await shifts_sql.pick_up(conn, shift_id, who.volunteer_id, blocking=blocking, actor_account_id=None)
