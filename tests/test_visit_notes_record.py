"""A household's visit record on its pages (issue 15, item 4): its committee, the organisation holding its contract
and the carers who serve it read its notes and incidents (staff its ratings too), each read audited by ids; a
carer reaches the notes from their visit list; anyone else gets 404. A phone or video call is noted without the
home-safety signal and never rated, in the service and in the schema."""

from __future__ import annotations

import asyncpg
import pytest

from api.auth import LOCALE_COOKIE
from api.services import data_rights, visit_notes
from api.services.data_rights import ErasureConfirm
from api.services.errors import Conflict, Invalid
from api.services.visit_notes import IncidentForm, NoteForm, StaffRatingForm
from tests import factories
from tests.factories import PASSWORD
from tests.factories_attendance import add_attendance
from tests.factories_shifts import add_signup, create_shift, publisher_identity, soon, volunteer_identity
from tests.factories_teams import create_carer
from tests.factories_teams import volunteer_identity as carer_identity
from tests.factories_visits import create_visits, done_team_visit
from tests.helpers import elements, login, parse_page, post_form
from tests.pages_kit import page_context

SECRET = "金丝雀记录：老人说想念女儿"
DAYS = {"note_days": 7, "link_days": 7}


async def _noted(conn: asyncpg.Connection):
    """The usual scene with the team carer's note, the shift carer's incident and a staff rating of the shift."""
    v = await create_visits(conn)
    note = await visit_notes.record_note(
        conn, v.carer, NoteForm(team_visit_id=v.team_visit_id, mood=4, signals=["pain"], needs=["meals", "repairs"],
                                needs_other="换灯泡", remarks=SECRET), **DAYS,
    )  # fmt: skip
    incident = await visit_notes.raise_incident(
        conn, v.shift_carer, IncidentForm(shift_id=v.shift_id, kind="fall", severity="medium", what_happened=SECRET),
        note_days=7,
    )  # fmt: skip
    rating = await visit_notes.rate_on_behalf(
        conn, v.project.committee_who, StaffRatingForm(shift_id=v.shift_id, score=5, comment="很满意")
    )
    return v, note, incident, rating


async def test_the_households_page_lists_its_notes_incidents_and_ratings_for_its_committee(client, conn):
    v, note, incident, rating = await _noted(conn)
    await login(client, v.project.committee_who.username)
    rendered = await page_context(client, f"/households/{v.household_id}")
    record = rendered["record"]
    assert [n.id for n in record.notes] == [note.id] and [i.id for i in record.incidents] == [incident.id]
    assert [r.id for r in record.ratings] == [rating.id] and record.ratings_shown and record.basis == "committee"
    page = rendered.response.text
    for words in ("最近的上门服务记录", "疼痛", "助餐", "换灯泡", SECRET, "上门服务事件", "跌倒", "服务评价", "很满意",
                  "居委会工作人员代为录入", "全部上门服务记录"):  # fmt: skip
        assert words in page, words
    # The incident's list shows its state, not what happened (that is behind its own audited page).
    assert page.count(SECRET) == 1
    [entry] = await conn.fetch(
        "SELECT object_id, detail::text AS d FROM audit_log WHERE action = 'visit_notes.viewed' ORDER BY id"
    )
    assert entry["object_id"] == str(v.household_id) and SECRET not in entry["d"] and "很满意" not in entry["d"]
    for key, value in (("note_ids", note.id), ("incident_ids", incident.id), ("rating_ids", rating.id)):
        assert f'"{key}": [{value}]' in entry["d"]


async def test_a_carer_reads_the_households_notes_from_the_visit_list_but_not_its_ratings(client, conn):
    v, note, _incident, _rating = await _noted(conn)
    await login(client, v.carer.username)
    visits = await page_context(client, "/visits")
    assert visits["readable"] == {v.household_id} and "该家庭的服务记录" in visits.response.text
    assert f"/households/{v.household_id}/visit-notes" in visits.response.text
    rendered = await page_context(client, f"/households/{v.household_id}/visit-notes")
    assert rendered.template == "visits/household_notes.html" and rendered["record"].basis == "team"
    assert [n.id for n in rendered["record"].notes] == [note.id] and SECRET in rendered.response.text
    assert "**" in rendered["household"].masked_address and "返回我的上门服务" in rendered.response.text
    # The household's page (a team member opens its file) shows notes and incidents, never the ratings.
    page = await page_context(client, f"/households/{v.household_id}")
    assert not page["record"].ratings_shown and page["record"].ratings == [] and "很满意" not in page.response.text
    assert [i.kind for i in page["record"].incidents] == ["fall"]
    audited = await conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'visit_notes.viewed' AND detail->>'basis' = 'team'"
    )
    assert audited == 2


async def test_someone_not_serving_the_household_gets_404_and_reads_nothing(client, conn):
    v, _note, _incident, _rating = await _noted(conn)
    path = f"/households/{v.household_id}/visit-notes"
    stranger = await carer_identity(conn, await create_carer(conn))
    other_committee = await factories.username_of(conn, await factories.create_account(conn, "committee"))
    for username in (stranger.username, other_committee):
        await login(client, username)
        response = await client.get(path)
        assert response.status_code == 404 and SECRET not in response.text, username
    await login(client, stranger.username)
    visits = await page_context(client, "/visits")
    assert visits["readable"] == set() and path not in visits.response.text
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'visit_notes.viewed'") == 0


async def test_the_notes_page_pages_through_the_notes(client, conn):
    v = await create_visits(conn)
    team_id = await conn.fetchval("SELECT team_id FROM team_visits WHERE id = $1", v.team_visit_id)
    volunteer_id = v.carer.volunteer_id or 0
    for hours in range(visit_notes.NOTES_PAGE + 1):
        visit = await done_team_visit(conn, team_id, volunteer_id, hours_ago=2 + hours)
        await visit_notes.record_note(conn, v.carer, NoteForm(team_visit_id=visit, mood=3), **DAYS)
    await login(client, v.project.committee_who.username)
    first = await page_context(client, f"/households/{v.household_id}/visit-notes")
    assert len(first["record"].notes) == visit_notes.NOTES_PAGE and first["record"].more_notes
    assert "下一页" in first.response.text
    second = await page_context(client, f"/households/{v.household_id}/visit-notes?page=2")
    assert len(second["record"].notes) == 1 and not second["record"].more_notes and "上一页" in second.response.text
    assert {n.id for n in first["record"].notes}.isdisjoint({n.id for n in second["record"].notes})
    # The household's own page shows only the latest few.
    home = await page_context(client, f"/households/{v.household_id}")
    assert len(home["record"].notes) == visit_notes.RECORD_LATEST and home["record"].more_notes


async def _call(conn: asyncpg.Connection, kind: str = "phone"):
    v = await create_visits(conn)
    await conn.execute("UPDATE team_visits SET contact_kind = $2 WHERE id = $1", v.team_visit_id, kind)
    return v


@pytest.mark.parametrize("kind", ["phone", "video"])
async def test_a_call_is_noted_without_home_safety_and_never_rated(conn, kind):
    v = await _call(conn, kind)
    ref = {"team_visit_id": v.team_visit_id}
    with pytest.raises(Invalid) as refused:
        await visit_notes.record_note(conn, v.carer, NoteForm(**ref, mood=3, signals=["home_safety"]), **DAYS)
    assert set(refused.value.fields) == {"signals"}
    note = await visit_notes.record_note(conn, v.carer, NoteForm(**ref, mood=2, signals=["low_spirits"],
                                                                 needs=["companionship"]), **DAYS)  # fmt: skip
    assert note.signals == ["low_spirits"]
    # No rating link, so no SMS; staff cannot rate it either, and it is not offered to them.
    assert await conn.fetchval("SELECT count(*) FROM visit_rating_links WHERE team_visit_id = $1", v.team_visit_id) == 0
    with pytest.raises(Conflict):
        await visit_notes.rate_on_behalf(conn, v.project.committee_who, StaffRatingForm(**ref, score=4))
    unrated = await visit_notes.unrated_visits(conn, v.project.committee_who)
    assert v.team_visit_id not in {u.team_visit_id for u in unrated} and v.shift_id in {u.shift_id for u in unrated}
    # An incident heard of on the phone is still raised.
    incident = await visit_notes.raise_incident(
        conn, v.carer, IncidentForm(**ref, kind="fall", severity="high", what_happened="电话里说昨晚摔倒"), note_days=7
    )
    assert incident.kind == "fall"


async def test_the_schema_refuses_a_calls_home_safety_signal_and_its_rating(conn):
    v = await _call(conn)
    household, visit = v.household_id, v.team_visit_id
    statements = (
        ("INSERT INTO visit_notes (household_id, team_visit_id, visit_kind, volunteer_id, mood, signals)"
         " VALUES ($1, $2, 'team', $3, 3, '{home_safety}')", (household, visit, v.carer.volunteer_id)),
        ("INSERT INTO visit_ratings (household_id, team_visit_id, visit_kind, score, source, entered_by)"
         " VALUES ($1, $2, 'team', 4, 'staff', $3)", (household, visit, v.project.committee_who.account_id)),
        ("INSERT INTO visit_rating_links (token_hash, household_id, team_visit_id, visit_kind, expires_at, sms_status)"
         " VALUES (sha256('x'::bytea), $1, $2, 'team', now() + interval '1 day', 'no_phone')", (household, visit)),
    )  # fmt: skip
    for sql, args in statements:
        with pytest.raises(asyncpg.CheckViolationError):
            async with conn.transaction():
                await conn.execute(sql, *args)
    # A visit to the home that was rated does not become a call afterwards; one without a rating may be corrected.
    visited = await create_visits(conn)
    await visit_notes.rate_on_behalf(
        conn, visited.project.committee_who, StaffRatingForm(team_visit_id=visited.team_visit_id, score=3)
    )
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE team_visits SET contact_kind = 'phone' WHERE id = $1", visited.team_visit_id)
    await conn.execute("UPDATE team_visits SET contact_kind = 'home_visit' WHERE id = $1", visit)


async def test_the_note_form_of_a_call_has_no_home_safety_box_and_says_so_beside_the_field(client, conn):
    v = await _call(conn)
    await login(client, v.carer.username)
    key = f"t{v.team_visit_id}"
    form = await page_context(client, f"/visits/{key}/note")
    assert "home_safety" not in form["signals"] and "电话联系" in form.response.text
    response = await post_form(client, f"/visits/{key}/note", {"mood": "3", "signals": "home_safety"},
                               page=f"/visits/{key}/note")  # fmt: skip
    assert response.status_code == 422 and "signals" in parse_page(response.text).errors
    assert "居家安全只能在上门时记录" in response.text
    visit = await create_visits(conn)
    await login(client, visit.carer.username)
    assert "home_safety" in (await page_context(client, f"/visits/t{visit.team_visit_id}/note"))["signals"]


async def test_an_erased_volunteer_reads_erased_volunteer_in_english_on_the_staffs_pages(client, conn):
    me = await volunteer_identity(conn)
    assert me.volunteer_id is not None
    publisher = await publisher_identity(conn)
    past = await create_shift(
        conn, organisation_id=publisher.organisation_id, starts_at=soon(days=-2), title="Lunch delivery"
    )
    signup = await add_signup(conn, past, me.volunteer_id)
    await add_attendance(conn, past, signup, me.volunteer_id, minutes=90)
    await data_rights.erase(conn, me, ErasureConfirm(password=PASSWORD))
    await login(client, publisher.username)
    client.cookies.set(LOCALE_COOKIE, "en")
    try:
        for path in ("/attendance", f"/attendance/shifts/{past}/manage"):
            rendered = await page_context(client, path)
            [row] = [text for _, text in elements(rendered.response.text, "tr") if "Erased volunteer" in text]
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in row), (path, row)
            assert "已注销志愿者" not in rendered.response.text, path
    finally:
        client.cookies.set(LOCALE_COOKIE, "zh_CN")
    # In Chinese the tombstone reads as it always did.
    assert "已注销志愿者" in (await client.get(f"/attendance/shifts/{past}/manage")).text
