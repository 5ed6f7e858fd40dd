"""Group sign-up: all or none, each member checked as a single sign-up, named people with a guardian's consent,
minors on "under 18 in groups only" shifts, cancelling the group or one member."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import groups, notifications, shifts
from api.services.errors import Conflict, Invalid, NotFound
from api.services.groups import GroupMemberIn, GroupRefused, GroupSignupForm
from api.services.types import SHANGHAI
from sql import notifications as notifications_sql
from tests.factories import username_of
from tests.factories_shifts import add_signup, create_shift, publisher_identity, soon, volunteer_identity
from tests.helpers import csrf_token, login
from tests.pages_kit import page_context

YEAR = dt.datetime.now(SHANGHAI).year


def child(name: str = "小明", age: int = 9, consent: bool = True) -> GroupMemberIn:
    """A person without an account, `age` by birth year on a shift this year."""
    return GroupMemberIn(name=name, birth_year=YEAR - age, guardian_consent=consent)


async def member(conn, **profile) -> tuple[object, GroupMemberIn]:
    """A volunteer account and the form row naming it by username."""
    who = await volunteer_identity(conn, **profile)
    return who, GroupMemberIn(account=await username_of(conn, who.account_id))


async def taken(conn, shift_id: int) -> int:
    return int(await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id))


async def test_a_family_takes_its_places_at_once_and_each_account_holds_a_sign_up(conn):
    shift_id = await create_shift(conn, starts_at=soon(5), headcount=5)
    leader = await volunteer_identity(conn, birth_year=1985)
    partner, row = await member(conn, birth_year=1987)
    view = await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="王家", members=[row, child()]))
    assert view.shift.taken == 3 and await taken(conn, shift_id) == 3
    assert [(m.is_leader, m.volunteer_id is None, m.status) for m in view.members] == [
        (True, False, "active"),
        (False, False, "active"),
        (False, True, "active"),
    ]
    named = view.members[2]
    assert (named.name, named.birth_year, named.guardian_consent_at is not None) == ("小明", YEAR - 9, True)
    # Hours are credited to the accounts: each holds an ordinary sign-up; the child has none.
    holders = await conn.fetch("SELECT volunteer_id FROM signups WHERE shift_id = $1 AND status = 'active'", shift_id)
    assert {r["volunteer_id"] for r in holders} == {leader.volunteer_id, partner.volunteer_id}
    action = await conn.fetchval(
        "SELECT action FROM audit_log WHERE object_id = $1 AND action = 'shift.group_signup'", str(shift_id)
    )
    assert action == "shift.group_signup"
    assert [m.name for m in await groups.named_on_shift(conn, shift_id)] == ["小明"]
    # The member with an account was signed up by someone else and is told so (the leader is not told of itself).
    told = await conn.fetch("SELECT account_id, kind, params FROM notifications WHERE shift_id = $1", shift_id)
    assert [(r["account_id"], r["kind"]) for r in told] == [(partner.account_id, "group_added")]
    assert '"group": "王家"' in told[0]["params"] and leader.display_name in told[0]["params"]


async def test_one_member_who_cannot_come_stops_the_whole_group_naming_who_and_why(conn):
    starts = soon(6)
    shift_id = await create_shift(conn, starts_at=starts, headcount=6)
    leader = await volunteer_identity(conn)
    _, ok_row = await member(conn)
    busy, busy_row = await member(conn)
    await add_signup(conn, await create_shift(conn, starts_at=starts), busy.volunteer_id)
    _, capped_row = await member(conn, weekly_hour_cap=1)
    form = GroupSignupForm(name="三年级二班", members=[ok_row, busy_row, capped_row, child()])
    with pytest.raises(GroupRefused) as refused:
        await groups.sign_up_group(conn, leader, shift_id, form)
    assert set(refused.value.fields) == {"members[1].overlap", "members[2].hours_cap"}
    assert refused.value.status == 409
    assert await taken(conn, shift_id) == 0
    assert await conn.fetchval("SELECT count(*) FROM signups WHERE shift_id = $1", shift_id) == 0
    assert await conn.fetchval("SELECT count(*) FROM shift_groups WHERE shift_id = $1", shift_id) == 0


async def test_a_group_larger_than_the_places_left_is_refused_whole(conn):
    shift_id = await create_shift(conn, headcount=3, taken=1)
    leader = await volunteer_identity(conn)
    with pytest.raises(GroupRefused) as refused:
        await groups.sign_up_group(
            conn, leader, shift_id, GroupSignupForm(name="公司", members=[child(), child("小红")])
        )
    assert refused.value.reason == "full"
    assert await taken(conn, shift_id) == 1


async def test_the_form_names_each_wrong_member(conn):
    shift_id = await create_shift(conn)
    leader = await volunteer_identity(conn)
    _, row = await member(conn)
    form = GroupSignupForm(
        name="班级",
        members=[
            GroupMemberIn(account="nobody-has-this-name"),
            GroupMemberIn(account=leader.username),
            row,
            row,
            child(consent=False),
            GroupMemberIn(name="小李"),
        ],
    )
    with pytest.raises(Invalid) as wrong:
        await groups.sign_up_group(conn, leader, shift_id, form)
    assert wrong.value.fields == {
        "members[0].account": groups.MEMBER_REASONS["unknown"],
        "members[1].account": groups.MEMBER_REASONS["leader"],
        "members[3].account": groups.MEMBER_REASONS["twice"],
        "members[4].guardian_consent": groups.MEMBER_REASONS["consent"],
        "members[5].birth_year": groups.MEMBER_REASONS["birth_year"],
    }


async def test_a_member_is_found_by_phone_number(conn):
    shift_id = await create_shift(conn)
    leader = await volunteer_identity(conn)
    other = await volunteer_identity(conn)
    await conn.execute("UPDATE volunteers SET phone = '139-0000-7788' WHERE id = $1", other.volunteer_id)
    view = await groups.sign_up_group(
        conn, leader, shift_id, GroupSignupForm(name="邻居", members=[GroupMemberIn(account="13900007788")])
    )
    assert [m.volunteer_id for m in view.members] == [leader.volunteer_id, other.volunteer_id]


async def test_people_without_an_account_meet_the_shift_rules_they_can(conn):
    adults_only = await create_shift(conn, min_age=18)
    first_aid = await create_shift(conn, starts_at=soon(4), required_skills=["first_aid"])
    leader = await volunteer_identity(conn)
    with pytest.raises(GroupRefused) as refused:
        await groups.sign_up_group(
            conn, leader, adults_only, GroupSignupForm(name="家", members=[child(), child("老张", age=40)])
        )
    assert set(refused.value.fields) == {"members[0].age", "members[1].age_unverified"}
    with pytest.raises(GroupRefused) as refused:
        await groups.sign_up_group(conn, leader, first_aid, GroupSignupForm(name="家", members=[child()]))
    # The leader lacks the skill too: both are named.
    assert set(refused.value.fields) == {"leader.skills", "members[0].skills"}


async def test_minors_join_a_groups_only_shift_through_a_group_an_adult_leads(conn):
    starts = soon(7)
    shift_id = await create_shift(conn, starts_at=starts, headcount=4, minors_in_groups_only=True)
    adult = await volunteer_identity(conn, birth_year=YEAR - 35)
    teen, teen_row = await member(conn, birth_year=YEAR - 15)
    # Alone, the teen may not take this shift; in the adult's group (listed first or not) they may.
    with pytest.raises(shifts.SignupRefused):
        await shifts.sign_up(conn, teen, shift_id)
    view = await groups.sign_up_group(conn, adult, shift_id, GroupSignupForm(name="亲子", members=[teen_row, child()]))
    assert [m.status for m in view.members] == ["active"] * 3

    # A teenager leading a group of children gives no adult to the group: every minor is named.
    other = await create_shift(conn, starts_at=starts + dt.timedelta(days=1), headcount=4, minors_in_groups_only=True)
    young_leader = await volunteer_identity(conn, birth_year=YEAR - 16)
    with pytest.raises(GroupRefused) as refused:
        await groups.sign_up_group(conn, young_leader, other, GroupSignupForm(name="小队", members=[child()]))
    assert set(refused.value.fields) == {"leader.minor_group", "members[0].minor_group"}
    # An adult whose date of birth is not verified is not proof either.
    unproven = await volunteer_identity(conn, birth_year=YEAR - 40, verified=False)
    with pytest.raises(GroupRefused) as refused:
        await groups.sign_up_group(conn, unproven, other, GroupSignupForm(name="小队", members=[child()]))
    assert "members[0].minor_group" in refused.value.fields
    assert await taken(conn, other) == 0


async def test_the_schema_holds_a_named_person_to_a_name_a_birth_year_and_consent_under_18(conn):
    shift_id = await create_shift(conn)
    leader = await volunteer_identity(conn)
    view = await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="家", members=[child()]))
    group_id = view.group.id
    insert = (
        "INSERT INTO group_members (group_id, shift_id, person_name, birth_year, shift_starts_at)"
        " SELECT $1, id, $2, $3, starts_at FROM shifts WHERE id = $4"
    )
    for name, birth_year in (("小刚", YEAR - 10), (None, YEAR - 40), ("老王", None)):
        with pytest.raises(asyncpg.CheckViolationError):
            async with conn.transaction():
                await conn.execute(insert, group_id, name, birth_year, shift_id)
    await conn.execute(insert, group_id, "老王", YEAR - 40, shift_id)  # an adult needs no consent
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(
            "INSERT INTO group_members (group_id, shift_id, volunteer_id, signup_id, shift_starts_at)"
            " SELECT $1, $2, volunteer_id, id, lower(during) FROM signups WHERE shift_id = $2",
            group_id,
            shift_id,
        )


async def test_cancelling_one_member_or_the_group_frees_the_places_to_the_waitlist(conn):
    shift_id = await create_shift(conn, headcount=4)
    leader = await volunteer_identity(conn)
    partner, row = await member(conn)
    view = await groups.sign_up_group(
        conn, leader, shift_id, GroupSignupForm(name="家", members=[row, child(), child("小红")])
    )
    waiting = [await volunteer_identity(conn) for _ in range(3)]
    for w in waiting:
        await shifts.join_waitlist(conn, w, shift_id)
    kid = view.members[2]
    view = await groups.cancel_member(conn, leader, view.group.id, kid.id)
    assert [m.status for m in view.members] == ["active", "active", "cancelled", "active"]
    status = await conn.fetchval(
        "SELECT status FROM signups WHERE shift_id = $1 AND volunteer_id = $2", shift_id, waiting[0].volunteer_id
    )
    assert status == "active" and await taken(conn, shift_id) == 4
    with pytest.raises(Conflict):
        await groups.cancel_member(conn, leader, view.group.id, view.members[0].id)  # the leader cancels the group
    with pytest.raises(Conflict):
        await groups.cancel_member(conn, leader, view.group.id, kid.id)  # already gone
    view = await groups.cancel_group(conn, leader, view.group.id)
    assert view.group.status == "cancelled"
    assert [m.status for m in view.members] == ["cancelled"] * 4
    promoted = await conn.fetchval(
        "SELECT count(*) FROM signups WHERE shift_id = $1 AND status = 'active' AND volunteer_id = ANY($2)",
        shift_id,
        [w.volunteer_id for w in waiting],
    )
    assert promoted == 3 and await taken(conn, shift_id) == 3
    assert await groups.named_on_shift(conn, shift_id) == []
    with pytest.raises(Conflict):
        await groups.cancel_group(conn, leader, view.group.id)
    # Another volunteer does not see (or cancel) the group.
    with pytest.raises(NotFound):
        await groups.cancel_group(conn, partner, view.group.id)


async def test_a_late_cancellation_of_the_group_promotes_nobody(conn):
    starts = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(microsecond=0)
    shift_id = await create_shift(conn, starts_at=starts, headcount=2, cancellation_window_hours=24)
    leader = await volunteer_identity(conn)
    view = await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="家", members=[child()]))
    waiting = await volunteer_identity(conn)
    await shifts.join_waitlist(conn, waiting, shift_id)
    view = await groups.cancel_group(conn, leader, view.group.id)
    assert view.group.status == "late_cancelled"
    assert [m.status for m in view.members] == ["late_cancelled"] * 2
    assert await taken(conn, shift_id) == 0


async def test_a_member_who_gave_up_their_own_place_may_join_another_group_on_the_shift(conn):
    shift_id = await create_shift(conn, headcount=6)
    first = await volunteer_identity(conn)
    member_who, row = await member(conn)
    view = await groups.sign_up_group(conn, first, shift_id, GroupSignupForm(name="甲", members=[row]))
    await shifts.cancel(conn, member_who, shift_id)
    assert [m.status for m in (await groups.view_group(conn, first, view.group.id)).members] == ["active", "cancelled"]
    second = await volunteer_identity(conn)
    again = await groups.sign_up_group(conn, second, shift_id, GroupSignupForm(name="乙", members=[row]))
    assert [m.volunteer_id for m in again.members] == [second.volunteer_id, member_who.volunteer_id]
    assert await taken(conn, shift_id) == 3


async def test_a_member_signed_up_by_the_leader_is_told_in_words_in_the_inbox_and_by_email_or_sms(client, conn):
    shift_id = await create_shift(conn, starts_at=soon(5), headcount=5, title="社区环境整治")
    leader = await volunteer_identity(conn)
    added, row = await member(conn)
    await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="三年级二班", members=[row]))
    [due] = await notifications_sql.claim_due(conn, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), 50)
    message = notifications.compose(due)
    assert message.kind == "group_added" and "三年级二班" in message.body and "社区环境整治" in message.body
    assert leader.display_name in message.body and "名额在您名下" in message.body
    await login(client, await username_of(conn, added.account_id))
    inbox = await page_context(client, "/inbox")
    assert "随团体报名" in inbox.response.text and "三年级二班" in inbox.response.text


async def test_the_publisher_records_the_hours_of_a_member_without_an_account_on_the_groups_record(client, conn):
    publisher = await publisher_identity(conn)
    shift_id = await create_shift(conn, organisation_id=publisher.organisation_id, starts_at=soon(5), headcount=5)
    leader = await volunteer_identity(conn)
    view = await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="李家", members=[child()]))
    kid = view.members[1]
    hours = groups.NamedHours(minutes=90)
    with pytest.raises(Conflict):  # not before the shift has begun
        await groups.record_named_hours(conn, publisher, shift_id, kid.id, hours)
    await conn.execute("UPDATE shifts SET starts_at = now() - interval '2 hours' WHERE id = $1", shift_id)
    with pytest.raises(NotFound):  # another publisher's shift, or a member of no group on it
        await groups.record_named_hours(conn, await publisher_identity(conn), shift_id, kid.id, hours)
    with pytest.raises(NotFound):
        await groups.record_named_hours(conn, publisher, shift_id, view.members[0].id, hours)
    await groups.record_named_hours(conn, publisher, shift_id, kid.id, hours)
    # On the group's record, not on any ledger; audited with ids and minutes only.
    assert [m.minutes for m in (await groups.view_group(conn, leader, view.group.id)).members] == [None, 90]
    assert not await conn.fetchval(
        "SELECT count(*) FROM ledger_transactions WHERE created_at > now() - interval '1 minute'"
    )
    detail = await conn.fetchval("SELECT detail FROM audit_log WHERE action = 'shift.group_member_hours'")
    assert "小明" not in detail and '"minutes": 90' in detail
    # The page: the field beside the person, its error there, then the saved minutes.
    await login(client, publisher.username)
    path = f"/attendance/shifts/{shift_id}/group-people/{kid.id}"
    token = await csrf_token(client, f"/attendance/shifts/{shift_id}/manage")
    form = {f"minutes-{kid.id}": "lots", "_csrf_token": token}
    wrong = await page_context(client, path, method="POST", status=422, data=form)
    assert f"minutes-{kid.id}" in wrong["errors"] and "请填写服务分钟数" in wrong.response.text
    manage = await page_context(client, f"/attendance/shifts/{shift_id}/manage")
    assert [p.minutes for p in manage["view"].group_people] == [90]
    assert "已记录：1 小时 30 分钟" in manage.response.text
