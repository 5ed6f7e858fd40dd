"""The household register: a committee registers, changes and archives its own households; another committee's
read as missing; consent is required; the audit log names fields, never data; an archived household is erased and
offered for no new work."""

from __future__ import annotations

import msgspec
import pytest

from api.services import household_access, households, needs, respite, shifts
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound
from api.services.households import HouseholdCommand, RegisterFilters
from tests.factories_tendering import REGISTERED_ADDRESS, create_district, registered_household

ADDRESS = REGISTERED_ADDRESS
NOTE = "糖尿病，每周二复诊"


def committee(account_id: int, committee_id: int) -> Identity:
    return Identity(
        account_id=account_id, username=f"c{account_id}", display_name="居委会", role="committee", locale="zh_CN",
        committee_id=committee_id,
    )  # fmt: skip


def command(**overrides) -> HouseholdCommand:
    own = {"members": 1, "empty_nest": True, "dialects": ["上海话"], "care_notes": NOTE,
           "visit_slots": ["wed-pm", "mon-am", "mon-am"]}  # fmt: skip
    return msgspec.convert(registered_household(**{**own, **overrides}), HouseholdCommand)


async def setting(conn):
    d = await create_district(conn)
    return d, committee(d.committee_account, d.committee_id), committee(d.other_committee_account, d.other_committee_id)


async def test_a_committee_registers_views_and_changes_its_household_and_the_log_names_only_fields(conn):
    _, own, _ = await setting(conn)
    household_id = await households.create_household(conn, own, command())
    view = await household_access.view_household(conn, own, household_id, daily_cap=5)
    h = view.household
    assert view.basis == "committee" and h.head_name == "王秀英" and h.address == ADDRESS and h.phone == "13800001111"
    assert h.visit_slots == ["mon-am", "wed-pm"] and h.care_notes == NOTE and h.consent_recorded_at is not None
    await households.update_household(conn, own, household_id, command(phone="", care_level=4, visit_slots=[]))
    h = (await household_access.view_household(conn, own, household_id, daily_cap=5)).household
    assert h.phone is None and h.care_level == 4 and h.visit_slots == []
    log = await conn.fetch(
        "SELECT action, detail::text AS detail FROM audit_log WHERE object_type = 'household' AND object_id = $1"
        " ORDER BY id",
        str(household_id),
    )
    assert [r["action"] for r in log] == [
        "household.created", "household.viewed", "household.updated", "household.viewed",
    ]  # fmt: skip
    assert msgspec.json.decode(log[2]["detail"]) == {"fields": ["care_level", "phone", "visit_slots"]}
    assert msgspec.json.decode(log[1]["detail"]) == {"basis": "committee"}
    text = " ".join(r["detail"] for r in log)
    assert "王秀英" not in text and "控江路" not in text and "13800001111" not in text and "糖尿病" not in text


async def test_the_register_lists_names_with_masked_addresses_filtered_and_paged(conn):
    _, own, other = await setting(conn)
    first = await households.create_household(conn, own, command())
    await households.create_household(conn, own, command(head_name="李建国", address="长阳路88弄3号", empty_nest=False))
    await households.create_household(conn, other, command(head_name="别家"))
    page = await households.list_register(conn, own, RegisterFilters(), limit=20, offset=0)
    assert page.total == 2 and {i.head_name for i in page.items} == {"王秀英", "李建国"}
    item = next(i for i in page.items if i.id == first)
    assert item.masked_address == "控江路1018弄**号" and item.visit_slots == ["mon-am", "wed-pm"]
    assert not any(ADDRESS in msgspec.json.encode(i).decode() for i in page.items)
    by_name = await households.list_register(conn, own, RegisterFilters(q="秀英"), limit=20, offset=0)
    by_lane = await households.list_register(conn, own, RegisterFilters(q="长阳路88"), limit=20, offset=0)
    wildcard = await households.list_register(conn, own, RegisterFilters(q="%"), limit=20, offset=0)
    only_311 = await households.list_register(conn, own, RegisterFilters(empty_nest=True), limit=20, offset=0)
    level = await households.list_register(conn, own, RegisterFilters(care_level=5), limit=20, offset=0)
    paged = await households.list_register(conn, own, RegisterFilters(), limit=1, offset=1)
    assert [i.head_name for i in by_name.items] == ["王秀英"] and [i.head_name for i in by_lane.items] == ["李建国"]
    assert wildcard.total == 0 and [i.id for i in only_311.items] == [first] and level.total == 0
    assert paged.total == 2 and len(paged.items) == 1


async def test_consent_and_a_point_in_the_district_are_required_each_beside_its_field(conn):
    _, own, _ = await setting(conn)
    with pytest.raises(Invalid) as caught:
        await households.create_household(conn, own, command(consent=False, lat=39.9, lon=116.4))
    assert set(caught.value.fields) == {"consent", "lat"}
    with pytest.raises(msgspec.ValidationError):
        command(visit_slots=["mon-night"])
    with pytest.raises(msgspec.ValidationError):
        command(care_level=7)
    assert await conn.fetchval("SELECT count(*) FROM households WHERE committee_id = $1", own.committee_id) == 0


async def test_another_committee_gets_not_found_and_other_roles_are_refused(conn):
    d, own, other = await setting(conn)
    household_id = await households.create_household(conn, own, command())
    with pytest.raises(NotFound):
        await household_access.view_household(conn, other, household_id, daily_cap=5)
    with pytest.raises(NotFound):
        await households.update_household(conn, other, household_id, command(head_name="篡改"))
    with pytest.raises(NotFound):
        await households.archive_household(conn, other, household_id)
    funder = Identity(account_id=d.funder_account, username="f", display_name="f", role="funder", locale="zh_CN")
    with pytest.raises(Forbidden):
        await households.create_household(conn, funder, command())
    with pytest.raises(Forbidden):
        await household_access.view_household(conn, funder, household_id, daily_cap=5)
    assert await conn.fetchval("SELECT head_name FROM households WHERE id = $1", household_id) == "王秀英"


async def test_an_archived_household_is_erased_and_offered_for_no_new_work(conn):
    _, own, _ = await setting(conn)
    household_id = await households.create_household(conn, own, command())
    kept = await households.create_household(conn, own, command(head_name="留下"))
    entitlement = await conn.fetchval(
        "INSERT INTO respite_entitlements (household_id, kind, amount, period, visit_minutes, valid_from, valid_until)"
        " VALUES ($1, 'days', 4, 'month', 240, current_date, current_date + 90) RETURNING id",
        household_id,
    )
    await households.archive_household(conn, own, household_id)
    assert await conn.fetchval("SELECT status FROM respite_entitlements WHERE id = $1", entitlement) == "ended"
    row = await conn.fetchrow(
        "SELECT head_name, address, phone, care_notes, care_level, archived_at FROM households WHERE id = $1",
        household_id,
    )
    assert row["head_name"] == "已退出" and row["address"] == "控江路1018弄" and row["phone"] is None
    assert row["care_notes"] == "" and row["care_level"] is None and row["archived_at"] is not None
    with pytest.raises(Conflict):
        await households.update_household(conn, own, household_id, command())
    with pytest.raises(Conflict):
        await households.archive_household(conn, own, household_id)
    assert [h.id for h in await needs.household_choices(conn, own)] == [kept]
    assert [h.id for h in await shifts.households_to_serve(conn, own)] == [kept]
    assert [h.id for h in await respite.households(conn, own)] == [kept]
    current = await households.list_register(conn, own, RegisterFilters(), limit=20, offset=0)
    archived = await households.list_register(conn, own, RegisterFilters(archived=True), limit=20, offset=0)
    assert [i.id for i in current.items] == [kept] and [i.id for i in archived.items] == [household_id]
    log = await conn.fetchval(
        "SELECT detail::text FROM audit_log WHERE action = 'household.archived' AND object_id = $1", str(household_id)
    )
    assert log == "{}"
