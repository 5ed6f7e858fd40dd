"""Visit notes, incidents and ratings (issue 15, item 4) against the real database: only the carer who did a visit
notes it; an incident reaches the committee in the transaction that records it and stays overdue past its day; a
rating link works once; notes are read only by those who serve the household, each read audited without the text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from api.services import visit_notes
from api.services.errors import Conflict, NotFound
from api.services.notifications import Message
from api.services.visit_notes import (
    IncidentForm,
    NoteForm,
    RatingForm,
    StaffRatingForm,
    VisitRef,
    suggested_grade,
)
from sql.visit_notes import VisitFigures
from tests import factories
from tests.factories_teams import create_carer, volunteer_identity
from tests.factories_visits import PHONE, create_visits, rating_link
from tests.helpers import bearer

SECRET = "金丝雀探访记录：老人说夜里摔了一跤"
DAYS = {"note_days": 7, "link_days": 7}


def note(ref: dict[str, int], **kw: Any) -> NoteForm:
    return NoteForm(**ref, mood=kw.pop("mood", 2), **kw)


async def test_the_carer_notes_a_team_visit_and_the_households_rating_link_waits_for_its_sms(conn):
    v = await create_visits(conn)
    form = note({"team_visit_id": v.team_visit_id}, signals=["fall", "pain", "fall"], needs=["meals"], remarks=SECRET)
    row = await visit_notes.record_note(conn, v.carer, form, **DAYS)
    assert (row.visit_kind, row.household_id, row.mood, row.signals, row.remarks) == (
        "team", v.household_id, 2, ["fall", "pain"], SECRET,
    )  # fmt: skip
    link = await conn.fetchrow("SELECT token, sms_status, expires_at FROM visit_rating_links WHERE team_visit_id = $1",
                               v.team_visit_id)  # fmt: skip
    assert link["sms_status"] == "pending" and len(link["token"]) == 43
    assert dt.timedelta(days=6.9) < link["expires_at"] - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    entry = await conn.fetchrow("SELECT detail::text AS d FROM audit_log WHERE action = 'visit_note.recorded'"
                                " AND object_id = $1", str(v.household_id))  # fmt: skip
    assert str(row.id) in entry["d"] and SECRET not in entry["d"] and "fall" not in entry["d"]
    with pytest.raises(Conflict):
        await visit_notes.record_note(conn, v.carer, form, **DAYS)


async def test_a_shift_visit_is_home_care_or_respite_and_each_carer_notes_it_once(conn):
    v = await create_visits(conn, phone=None)
    row = await visit_notes.record_note(conn, v.shift_carer, note({"shift_id": v.shift_id}), **DAYS)
    assert row.visit_kind == "home_care"
    # No phone on file: the link is made without a token to send; staff may enter the rating instead.
    assert await conn.fetchval("SELECT sms_status FROM visit_rating_links WHERE shift_id = $1", v.shift_id) == (
        "no_phone"
    )


async def test_a_note_by_someone_who_did_not_do_the_visit_is_refused(conn, client):
    v = await create_visits(conn)
    other = await volunteer_identity(conn, await create_carer(conn))
    for ref in ({"team_visit_id": v.team_visit_id}, {"shift_id": v.shift_id}):
        with pytest.raises(NotFound):
            await visit_notes.record_note(conn, other, note(ref), **DAYS)
    headers = await bearer(client, other.username)
    response = await client.post("/api/visit-notes", json={"team_visit_id": v.team_visit_id, "mood": 3},
                                 headers=headers)  # fmt: skip
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    # The team's carer may not note the shift either, nor a visit too long ago, nor one not begun.
    with pytest.raises(NotFound):
        await visit_notes.record_note(conn, v.carer, note({"shift_id": v.shift_id}), **DAYS)
    await conn.execute("UPDATE shifts SET starts_at = now() - interval '10 days', ends_at = now() - interval '9 days'"
                       " WHERE id = $1", v.shift_id)  # fmt: skip
    await conn.execute("UPDATE signups SET during = tstzrange(now() - interval '10 days', now() - interval '9 days')"
                       " WHERE shift_id = $1", v.shift_id)  # fmt: skip
    with pytest.raises(Conflict):
        await visit_notes.record_note(conn, v.shift_carer, note({"shift_id": v.shift_id}), **DAYS)
    response = await client.post("/api/visit-notes", json={"team_visit_id": v.team_visit_id, "shift_id": v.shift_id,
                                                           "mood": 3}, headers=headers)  # fmt: skip
    assert response.status_code == 422 and "team_visit_id" in response.text


async def test_an_incident_notifies_the_committee_in_the_transaction_that_records_it(conn):
    v = await create_visits(conn)
    second_staff = await factories.create_account(conn, "committee", committee_id=v.project.committee_id)
    form = IncidentForm(team_visit_id=v.team_visit_id, kind="fall", severity="high", what_happened=SECRET)
    incident = await visit_notes.raise_incident(conn, v.carer, form, note_days=7)
    assert (incident.status, incident.severity, incident.overdue) == ("open", "high", False)
    recorded = await conn.fetchval("SELECT xmin::text FROM visit_incidents WHERE id = $1", incident.id)
    told = await conn.fetch("SELECT account_id, xmin::text AS x, params::text AS p FROM notifications"
                            " WHERE kind = 'visit_incident'")  # fmt: skip
    assert {r["account_id"] for r in told} == {v.project.committee_account, second_staff}
    # One transaction: the notification rows carry the incident row's transaction id.
    assert {r["x"] for r in told} == {recorded}
    assert all(SECRET not in r["p"] for r in told)


async def test_an_incident_unacknowledged_after_its_day_is_overdue_until_acknowledged_and_closed(conn, client):
    v = await create_visits(conn)
    form = IncidentForm(shift_id=v.shift_id, kind="home_hazard", severity="medium", what_happened=SECRET)
    incident = await visit_notes.raise_incident(conn, v.shift_carer, form, note_days=7)
    await conn.execute("UPDATE visit_incidents SET raised_at = now() - interval '1 day' WHERE id = $1", incident.id)
    committee = v.project.committee_who
    [row] = await visit_notes.committee_incidents(conn, committee)
    assert row.overdue and "**" in row.address
    assert (await visit_notes.committee_board(conn, v.project.committee_id)).incidents.overdue == 1
    headers = await bearer(client, committee.username)
    response = await client.post(f"/api/incidents/{incident.id}/acknowledge", headers=headers)
    assert response.status_code == 200 and response.json()["overdue"] is False
    assert (await client.post(f"/api/incidents/{incident.id}/acknowledge", headers=headers)).status_code == 409
    response = await client.post(f"/api/incidents/{incident.id}/close", json={"action_taken": "已联系家属，加装扶手"},
                                 headers=headers)  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert await visit_notes.committee_incidents(conn, committee) == []
    actions = await conn.fetch("SELECT action, detail::text AS d FROM audit_log WHERE object_type = 'incident'"
                               " AND object_id = $1 ORDER BY id", str(incident.id))  # fmt: skip
    assert [a["action"] for a in actions] == ["incident.raised", "incident.acknowledged", "incident.closed"]
    assert all(SECRET not in a["d"] and "扶手" not in a["d"] for a in actions)
    # Another committee neither sees nor deals with it.
    outsider = await bearer(
        client, await factories.username_of(conn, await factories.create_account(conn, "committee"))
    )
    assert (await client.get(f"/api/incidents/{incident.id}", headers=outsider)).status_code == 404
    response = await client.post(f"/api/incidents/{incident.id}/close", json={"action_taken": "x"}, headers=outsider)
    assert response.status_code == 404


async def test_notes_are_read_by_those_who_serve_the_household_each_read_audited_with_its_basis(conn, client):
    v = await create_visits(conn)
    row = await visit_notes.record_note(conn, v.carer, note({"team_visit_id": v.team_visit_id}, remarks=SECRET), **DAYS)
    for who, basis in ((v.project.committee_who, "committee"), (v.project.organisation_who, "contract"),
                       (v.carer, "team")):  # fmt: skip
        page = await visit_notes.household_notes(conn, who, v.household_id, limit=20, offset=0)
        assert page.basis == basis and [n.remarks for n in page.notes] == [SECRET]
    views = await conn.fetch("SELECT detail::text AS d FROM audit_log WHERE action = 'visit_notes.viewed'")
    assert len(views) == 3 and all(str(row.id) in x["d"] and SECRET not in x["d"] for x in views)
    # A volunteer not on the team, another committee, an organisation without the contract: 404; a funder: 403.
    for role in ("volunteer", "committee", "organisation", "funder"):
        headers = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, role)))
        for path in (f"/api/households/{v.household_id}/visit-notes", f"/api/visit-notes/{row.id}"):
            response = await client.get(path, headers=headers)
            assert response.status_code == (403 if role == "funder" else 404), (role, path)
            assert SECRET not in response.text


async def test_a_rating_link_works_once_and_not_after_it_expires(conn, client):
    v = await create_visits(conn)
    token = await rating_link(conn, v.household_id, v.team_visit_id)
    shown = await client.get(f"/api/ratings/{token}")
    assert shown.status_code == 200 and shown.json()["used"] is False and shown.json()["visit_kind"] == "team"
    response = await client.post(f"/api/ratings/{token}", json={"score": 5, "comment": "小王很耐心"})
    assert response.status_code == 201 and response.json()["source"] == "link"
    again = await client.post(f"/api/ratings/{token}", json={"score": 1})
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/ratings/{token}")).json()["used"] is True
    assert (await client.post("/api/ratings/" + "x" * 43, json={"score": 3})).status_code == 404
    assert (await client.post(f"/api/ratings/{token}", json={"score": 6})).status_code in (400, 422)
    v2 = await create_visits(conn)
    expired = await rating_link(conn, v2.household_id, v2.team_visit_id)
    await conn.execute("UPDATE visit_rating_links SET expires_at = now() - interval '1 second'"
                       " WHERE team_visit_id = $1", v2.team_visit_id)  # fmt: skip
    with pytest.raises(Conflict, match="expired"):
        await visit_notes.rate_by_link(conn, expired, RatingForm(score=4))


async def test_staff_enter_a_rating_on_the_households_behalf_and_the_visit_is_rated_once(conn):
    v = await create_visits(conn)
    token = await rating_link(conn, v.household_id, v.team_visit_id)
    committee = v.project.committee_who
    rating = await visit_notes.rate_on_behalf(
        conn, committee, StaffRatingForm(team_visit_id=v.team_visit_id, score=4, comment="电话回访")
    )
    assert (rating.source, rating.score) == ("staff", 4)
    assert await conn.fetchval("SELECT entered_by FROM visit_ratings WHERE id = $1", rating.id) == committee.account_id
    with pytest.raises(Conflict):
        await visit_notes.rate_by_link(conn, token, RatingForm(score=1))
    unrated = await visit_notes.unrated_visits(conn, committee)
    assert [(u.team_visit_id, u.shift_id) for u in unrated] == [(None, v.shift_id)]
    other = await factories.identity_of(conn, await factories.create_account(conn, "committee"))
    with pytest.raises(NotFound):
        await visit_notes.rate_on_behalf(conn, other, StaffRatingForm(shift_id=v.shift_id, score=3))


class Recorder:
    """A sender that keeps what it was given (the gateway's side of the SMS)."""

    name = "sms"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> str:
        self.messages.append(message)
        return "sms"


async def test_the_rating_link_goes_to_the_households_phone_once_and_then_only_its_hash_is_kept(conn, client):
    v = await create_visits(conn)
    await visit_notes.record_note(conn, v.carer, note({"team_visit_id": v.team_visit_id}), **DAYS)
    sender = Recorder()
    outcome = await visit_notes.send_rating_links(conn, sender, public_url="https://linli.example/", max_attempts=5)
    assert outcome.sent == 1
    [message] = sender.messages
    assert message.phone == PHONE and "https://linli.example/rate/" in message.body
    token = message.body.split("/rate/")[1].split()[0]
    assert await conn.fetchval("SELECT token FROM visit_rating_links WHERE team_visit_id = $1", v.team_visit_id) is None
    assert (await visit_notes.send_rating_links(conn, sender, public_url="", max_attempts=5)).sent == 0
    assert (await client.post(f"/api/ratings/{token}", json={"score": 5})).status_code == 201


async def test_ratings_and_incidents_feed_the_organisations_performance(conn, client):
    v = await create_visits(conn)
    token = await rating_link(conn, v.household_id, v.team_visit_id)
    await visit_notes.rate_by_link(conn, token, RatingForm(score=3))
    await visit_notes.rate_on_behalf(conn, v.project.committee_who, StaffRatingForm(shift_id=v.shift_id, score=4))
    form = IncidentForm(shift_id=v.shift_id, kind="fall", severity="high", what_happened=SECRET)
    await visit_notes.raise_incident(conn, v.shift_carer, form, note_days=7)
    body = (await client.get(f"/api/organisations/{v.project.organisation_id}/performance")).json()
    assert body["visits"] == {"ratings": 2, "mean_rating": 3.5, "incidents_low": 0, "incidents_medium": 0,
                              "incidents_high": 1, "suggested_grade": None}  # fmt: skip
    board = await visit_notes.committee_board(conn, v.project.committee_id)
    assert (board.figures.ratings, board.incidents.live) == (2, 1)


@pytest.mark.parametrize(
    ("ratings", "mean", "high", "grade"),
    [(9, 5.0, 0, None), (10, 4.5, 0, "excellent"), (10, 4.5, 1, "good"), (12, 4.0, 0, "good"), (10, 3.9, 0, "basic"),
     (10, 2.9, 0, "unqualified"), (10, 2.0, 3, "unqualified")],
)  # fmt: skip
def test_the_visits_suggest_a_grade_by_the_mean_rating_one_step_lower_for_a_grave_incident(ratings, mean, high, grade):
    figures = VisitFigures(ratings=ratings, mean_rating=mean, incidents_low=0, incidents_medium=0, incidents_high=high)
    assert suggested_grade(figures) == grade


def test_a_visit_reference_names_one_visit():
    assert visit_notes.parse_visit_key("t12") == VisitRef(team_visit_id=12)
    assert visit_notes.visit_key(None, 7) == "s7"
    for bad in ("x1", "t", "t-1", "s0", "t1a"):
        with pytest.raises(NotFound):
            visit_notes.parse_visit_key(bad)


async def test_the_worker_sends_each_rating_link_once(empty_database_url):
    from workers import tasks

    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            v = await create_visits(conn)
            await visit_notes.record_note(conn, v.carer, note({"team_visit_id": v.team_visit_id}), **DAYS)
        first, second = await tasks.send_rating_links({"pool": pool}), await tasks.send_rating_links({"pool": pool})
        assert (first["sent"], second["sent"]) == (1, 0)
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT sms_status, token FROM visit_rating_links")
            assert (row["sms_status"], row["token"]) == ("sent", None)
    finally:
        await pool.close()
