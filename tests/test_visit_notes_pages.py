"""The pages of visit notes, incidents and ratings: the carer's visits and forms (errors beside the field), the
committee's incidents and the ratings it enters, the rating link's page without login, the committee's home block
and the organisation's visit figures; context and Chinese text."""

from __future__ import annotations

from api.services import visit_notes
from api.services.visit_notes import IncidentForm
from tests.factories_visits import create_visits, rating_link
from tests.helpers import login, parse_page, post_form
from tests.pages_kit import page_context


async def test_the_carer_sees_the_visits_and_notes_one_with_errors_beside_the_field(client, conn):
    v = await create_visits(conn)
    await login(client, v.carer.username)
    rendered = await page_context(client, "/visits")
    assert rendered.template == "visits/mine.html"
    assert [x.team_visit_id for x in rendered["visits"]] == [v.team_visit_id]
    assert "填写服务记录" in rendered.response.text and "**" in rendered["visits"][0].address
    key = f"t{v.team_visit_id}"
    # No mood chosen: the form comes back with the error beside it, the boxes ticked still ticked.
    response = await post_form(client, f"/visits/{key}/note", {"signals": "fall", "remarks": "膝盖疼"},
                               page=f"/visits/{key}/note")  # fmt: skip
    assert response.status_code == 422
    page = parse_page(response.text)
    assert "mood" in page.errors and 'value="fall" checked' in response.text and "膝盖疼" in response.text
    response = await post_form(client, f"/visits/{key}/note", {"mood": "4", "signals": ["fall", "pain"]},
                               page=f"/visits/{key}/note")  # fmt: skip
    assert response.status_code in (302, 303) and response.headers["location"] == "/visits?done=noted"
    rendered = await page_context(client, "/visits?done=noted")
    assert rendered["visits"][0].note_id is not None and "服务记录已保存" in rendered.response.text
    # Someone else's visit: 404, no form.
    await login(client, v.shift_carer.username)
    assert (await client.get(f"/visits/{key}/note")).status_code == 404


async def test_an_incident_raised_on_the_page_reaches_the_committees_list_and_is_closed_there(client, conn):
    v = await create_visits(conn)
    await login(client, v.shift_carer.username)
    key = f"s{v.shift_id}"
    response = await post_form(client, f"/visits/{key}/incident", {"kind": "fall", "severity": "high"},
                               page=f"/visits/{key}/incident")  # fmt: skip
    assert response.status_code == 422 and "what_happened" in parse_page(response.text).errors
    response = await post_form(client, f"/visits/{key}/incident",
                               {"kind": "fall", "severity": "high", "what_happened": "老人在卫生间滑倒"},
                               page=f"/visits/{key}/incident")  # fmt: skip
    assert response.headers["location"] == "/visits?done=incident"
    await login(client, v.project.committee_who.username)
    rendered = await page_context(client, "/incidents")
    [item] = rendered["items"]
    assert (item.kind, item.severity, rendered["board"].incidents.live) == ("fall", "high", 1)
    assert "跌倒" in rendered.response.text and "老人在卫生间滑倒" not in rendered.response.text
    home = await page_context(client, "/home")
    assert home["home"].visits.incidents.live == 1 and "上门事件" in home.response.text
    detail = await page_context(client, f"/incidents/{item.id}")
    assert "老人在卫生间滑倒" in detail.response.text and "确认" in detail.response.text
    response = await post_form(client, f"/incidents/{item.id}/close", {"action_taken": ""},
                               page=f"/incidents/{item.id}")  # fmt: skip
    assert response.status_code == 422 and "action_taken" in parse_page(response.text).errors
    response = await post_form(client, f"/incidents/{item.id}/close", {"action_taken": "已送医并联系子女"},
                               page=f"/incidents/{item.id}")  # fmt: skip
    assert response.headers["location"] == f"/incidents/{item.id}?done=closed"
    assert (await page_context(client, "/incidents"))["items"] == []


async def test_the_rating_page_works_without_login_once_and_staff_enter_ratings(client, conn):
    v = await create_visits(conn)
    token = await rating_link(conn, v.household_id, v.team_visit_id)
    rendered = await page_context(client, f"/rate/{token}")
    assert rendered.template == "visits/rate.html" and rendered["link"].used_at is None
    assert "这次上门服务怎么样" in rendered.response.text
    response = await post_form(client, f"/rate/{token}", {"comment": "很好"}, page=f"/rate/{token}")
    assert response.status_code == 422 and "score" in parse_page(response.text).errors
    response = await post_form(client, f"/rate/{token}", {"score": "5"}, page=f"/rate/{token}")
    assert response.headers["location"] == f"/rate/{token}?done=rated"
    again = await page_context(client, f"/rate/{token}")
    assert again["link"].used_at is not None and "已经评价过了" in again.response.text
    await login(client, v.project.committee_who.username)
    rendered = await page_context(client, "/visit-ratings")
    assert [x.shift_id for x in rendered["visits"]] == [v.shift_id]
    response = await post_form(client, f"/visit-ratings/s{v.shift_id}", {"score": "3", "comment": "电话回访"},
                               page="/visit-ratings")  # fmt: skip
    assert response.headers["location"] == "/visit-ratings?done=rated"
    profile = await page_context(client, f"/organisations/{v.project.organisation_id}")
    assert profile["performance"].visits.ratings == 2 and "近一年的上门服务" in profile.response.text


async def test_the_incident_notification_reads_in_the_committees_inbox(client, conn):
    v = await create_visits(conn)
    form = IncidentForm(team_visit_id=v.team_visit_id, kind="illness", severity="medium", what_happened="发烧")
    await visit_notes.raise_incident(conn, v.carer, form, note_days=7)
    await login(client, v.project.committee_who.username)
    response = await client.get("/inbox")
    assert "上门服务事件" in response.text and "发烧" not in response.text
    incident_id = await conn.fetchval("SELECT id FROM visit_incidents WHERE team_visit_id = $1", v.team_visit_id)
    assert f'href="/incidents/{incident_id}"' in response.text
