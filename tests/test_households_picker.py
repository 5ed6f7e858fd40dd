"""The household picker of the need and shift forms: a committee tells households on one lane apart by the names of
its register, their size, care level and last visit; a search narrows a long register without JavaScript and keeps
what was typed and ticked; another committee's households never appear."""

from __future__ import annotations

import datetime as dt

from api.services import households
from tests.factories import username_of
from tests.factories_shifts import create_shift
from tests.factories_tendering import create_district, create_household
from tests.helpers import csrf_token, login, post_form
from tests.pages_kit import page_context

LANE = "开鲁路764弄{}号{}室"


async def _lane(conn, committee_id: int) -> list[int]:
    """Three households of one lane (the same masked address) with different heads."""
    ids = [await create_household(conn, committee_id, LANE.format(n, 101 + n)) for n in (3, 5, 9)]
    for household_id, name in zip(ids, ("王秀英", "李桂兰", "王建国"), strict=True):
        await conn.execute("UPDATE households SET head_name = $2 WHERE id = $1", household_id, name)
    return ids


async def test_the_need_form_names_households_and_says_what_tells_them_apart(client, conn):
    d = await create_district(conn)
    wang, li, _jianguo = await _lane(conn, d.committee_id)
    await conn.execute("UPDATE households SET care_level = 4, members = 2 WHERE id = $1", li)
    visited = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    await create_shift(conn, committee_id=d.committee_id, starts_at=visited, household_id=li)
    stranger = await create_household(conn, d.other_committee_id, LANE.format(11, 102))
    await login(client, await username_of(conn, d.committee_account))
    rendered = await page_context(client, "/needs/new")
    picker = rendered.context["households"]
    assert isinstance(picker, households.HouseholdPicker)
    by_id = {h.id: h for h in picker.items}
    assert stranger not in by_id and {wang, li} <= set(by_id)
    assert [h.head_name for h in picker.items][:3] == sorted(["王秀英", "李桂兰", "王建国"])
    assert by_id[li].masked_address == "开鲁路764弄**号" and by_id[li].members == 2 and by_id[li].care_level == 4
    assert by_id[li].last_visit_on == dt.date(2026, 11, 20) and by_id[wang].last_visit_on is None
    page = rendered.response.text
    assert "李桂兰" in page and "上次探访" in page and "尚未探访" in page and "护理等级" in page
    assert "开鲁路764弄5号" not in page


async def test_the_search_narrows_the_picker_and_keeps_what_was_typed_and_ticked(client, conn):
    d = await create_district(conn)
    wang, li, jianguo = await _lane(conn, d.committee_id)
    await login(client, await username_of(conn, d.committee_account))
    typed = {"title": "助餐送餐", "beneficiaries": "3", "household_ids": [str(li)], "hq": "王", "find": "1"}
    token = await csrf_token(client, "/needs/new")
    rendered = await page_context(client, "/needs/new", method="POST", data={**typed, "_csrf_token": token})
    assert rendered.template == "needs/form.html"
    picker = rendered.context["households"]
    # The ticked household stays listed (first) though it does not match; the others match the search.
    assert [h.id for h in picker.items] == [li, jianguo, wang] and picker.total == 3 and picker.q == "王"
    assert rendered.context["values"]["title"] == "助餐送餐" and rendered.context["errors"] == {}
    assert await conn.fetchval("SELECT count(*) FROM needs WHERE title = '助餐送餐'") == 0
    narrowed = await page_context(client, "/needs/new?hq=桂兰")
    assert [h.id for h in narrowed.context["households"].items] == [li]


async def test_the_shift_form_lets_a_committee_pick_one_household_by_name(client, conn):
    d = await create_district(conn)
    _wang, li, _jianguo = await _lane(conn, d.committee_id)
    await login(client, await username_of(conn, d.committee_account))
    rendered = await page_context(client, "/shifts/new")
    assert {h.head_name for h in rendered.context["picker"].items} == {"王秀英", "李桂兰", "王建国"}
    assert 'type="radio"' in rendered.response.text and "不针对特定家庭" in rendered.response.text
    typed = {"title": "上门探访", "household_id": str(li), "hq": "李", "find": "1"}
    found = await post_form(client, "/shifts/new", typed, page="/shifts/new")
    assert found.status_code == 200 and f'value="{li}" checked' in found.text and 'value="上门探访"' in found.text
