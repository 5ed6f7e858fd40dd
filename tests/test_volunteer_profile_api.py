"""A volunteer's own profile through the JSON API: details, certificates, weekly availability and exceptions,
separately recorded consent, and the age rules (10 or over; under 14 with a named guardian)."""

from __future__ import annotations

import datetime as dt

from api.services.types import today
from tests import factories
from tests.helpers import bearer


async def _volunteer(client, conn):
    account_id = await factories.create_account(conn, "volunteer")
    headers = await bearer(client, await factories.username_of(conn, account_id))
    volunteer_id = await conn.fetchval("SELECT id FROM volunteers WHERE account_id = $1", account_id)
    home = await conn.fetchval("SELECT home_area_id FROM volunteers WHERE id = $1", volunteer_id)
    return headers, volunteer_id, home


def _details(home: int, **overrides):
    body = {
        "display_name": "王小梅",
        "home_area_id": home,
        "birth_year": 1990,
        "phone": "13800000000",
        "travel_km": 3.5,
        "weekly_hour_cap": 6,
        "skills": ["first_aid", "cooking"],
        "languages": ["普通话"],
        "dialects": ["上海话", "苏州话"],
        "insured_until": (today() + dt.timedelta(days=200)).isoformat(),
    }
    body.update(overrides)
    return body


async def test_a_volunteer_reads_and_replaces_their_details(client, conn):
    headers, volunteer_id, home = await _volunteer(client, conn)
    response = await client.put("/api/volunteers/me", json=_details(home), headers=headers)
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["id"] == volunteer_id
    assert (profile["travel_km"], profile["weekly_hour_cap"]) == (3.5, 6)
    assert profile["dialects"] == ["上海话", "苏州话"] and profile["skills"] == ["cooking", "first_aid"]
    again = (await client.get("/api/volunteers/me", headers=headers)).json()
    assert again == profile
    stored = await conn.fetchrow("SELECT weekly_hour_cap, dialects FROM volunteers WHERE id = $1", volunteer_id)
    assert (stored["weekly_hour_cap"], stored["dialects"]) == (6, ["上海话", "苏州话"])


async def test_moving_committee_moves_the_home_point_unless_one_is_given(client, conn):
    headers, _, _ = await _volunteer(client, conn)
    other = await factories.create_area(conn, "committee")
    point = await conn.fetchrow("SELECT lat, lon FROM areas WHERE id = $1", other)
    moved = (await client.put("/api/volunteers/me", json=_details(other), headers=headers)).json()
    assert (moved["lat"], moved["lon"]) == (point["lat"], point["lon"])
    pinned = (await client.put("/api/volunteers/me", json=_details(other, lat=31.3, lon=121.4), headers=headers)).json()
    assert (pinned["lat"], pinned["lon"]) == (31.3, 121.4)


async def test_age_rules_and_the_guardian_are_checked(client, conn):
    headers, _, home = await _volunteer(client, conn)
    year = today().year
    too_young = await client.put("/api/volunteers/me", json=_details(home, birth_year=year - 8), headers=headers)
    assert too_young.status_code == 422
    assert [e["field"] for e in too_young.json()["errors"]] == ["birth_year"]
    child = _details(home, birth_year=year - 12)
    response = await client.put("/api/volunteers/me", json=child, headers=headers)
    assert response.status_code == 422 and "guardian_consent" in {e["field"] for e in response.json()["errors"]}
    response = await client.put("/api/volunteers/me", json={**child, "guardian_consent": True}, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["guardian_name"]
    response = await client.put(
        "/api/volunteers/me", json={**child, "guardian_consent": True, "guardian_name": "王建国"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["guardian_name"] == "王建国" and response.json()["age"] in (11, 12)
    mismatch = _details(home, birth_year=1990, birth_date="1991-03-04")
    response = await client.put("/api/volunteers/me", json=mismatch, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["birth_date"]


async def test_a_home_area_that_is_not_a_committee_is_refused(client, conn):
    headers, _, _ = await _volunteer(client, conn)
    district = await factories.create_area(conn, "district")
    response = await client.put("/api/volunteers/me", json=_details(district), headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["home_area_id"]


async def test_consent_is_recorded_on_its_own_and_audited(client, conn):
    headers, volunteer_id, home = await _volunteer(client, conn)
    await client.put("/api/volunteers/me", json=_details(home), headers=headers)
    assert (await client.get("/api/volunteers/me", headers=headers)).json()["sensitive_data_consent"] is False
    given = await client.put("/api/volunteers/me/consent", json={"sensitive_data": True}, headers=headers)
    assert given.status_code == 200 and given.json()["sensitive_data_consent"] is True
    first_at = given.json()["sensitive_data_consent_at"]
    again = await client.put("/api/volunteers/me/consent", json={"sensitive_data": True}, headers=headers)
    assert again.json()["sensitive_data_consent_at"] == first_at  # the first moment of consent is kept
    # Saving the details does not touch the consent.
    await client.put("/api/volunteers/me", json=_details(home), headers=headers)
    assert (await client.get("/api/volunteers/me", headers=headers)).json()["sensitive_data_consent"] is True
    withdrawn = await client.put("/api/volunteers/me/consent", json={"sensitive_data": False}, headers=headers)
    assert withdrawn.json()["sensitive_data_consent"] is False
    actions = await conn.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'volunteer' AND object_id = $1 ORDER BY id", str(volunteer_id)
    )
    assert [a["action"] for a in actions if "consent" in a["action"]] == [
        "volunteer.consent_given",
        "volunteer.consent_given",
        "volunteer.consent_withdrawn",
    ]


async def test_certificates_are_recorded_renewed_and_removed(client, conn):
    headers, _, _ = await _volunteer(client, conn)
    expired = (today() - dt.timedelta(days=1)).isoformat()
    response = await client.put(
        "/api/volunteers/me/certificates/elderly_carer",
        json={"number": "YL-2024-001", "issued_on": "2024-01-05", "expires_on": expired},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    (cert,) = response.json()["certificates"]
    assert (cert["kind"], cert["valid_today"]) == ("elderly_carer", False)
    renewed = await client.put(
        "/api/volunteers/me/certificates/elderly_carer",
        json={"number": "YL-2026-001", "issued_on": "2026-01-05", "expires_on": "2029-01-04"},
        headers=headers,
    )
    (cert,) = renewed.json()["certificates"]
    assert (cert["number"], cert["valid_today"]) == ("YL-2026-001", True)
    unknown = await client.put("/api/volunteers/me/certificates/wizard", json={}, headers=headers)
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["kind"]
    backwards = await client.put(
        "/api/volunteers/me/certificates/first_aid",
        json={"issued_on": "2025-01-05", "expires_on": "2024-01-04"},
        headers=headers,
    )
    assert backwards.status_code == 422 and [e["field"] for e in backwards.json()["errors"]] == ["expires_on"]
    removed = await client.delete("/api/volunteers/me/certificates/elderly_carer", headers=headers)
    assert removed.status_code == 200 and removed.json()["certificates"] == []
    assert (await client.delete("/api/volunteers/me/certificates/elderly_carer", headers=headers)).status_code == 404


async def test_weekly_windows_replace_the_old_ones_and_may_not_overlap(client, conn):
    headers, volunteer_id, _ = await _volunteer(client, conn)
    week = {
        "windows": [
            {"weekday": 6, "starts": "09:00", "ends": "12:00"},
            {"weekday": 2, "starts": "18:30", "ends": "21:00"},
            {"weekday": 2, "starts": "08:00", "ends": "10:00"},
        ]
    }
    response = await client.put("/api/volunteers/me/availability", json=week, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["availability"] == [
        {"weekday": 2, "starts": "08:00", "ends": "10:00"},
        {"weekday": 2, "starts": "18:30", "ends": "21:00"},
        {"weekday": 6, "starts": "09:00", "ends": "12:00"},
    ]
    overlap = {
        "windows": [
            {"weekday": 1, "starts": "09:00", "ends": "12:00"},
            {"weekday": 1, "starts": "11:00", "ends": "13:00"},
        ]
    }
    response = await client.put("/api/volunteers/me/availability", json=overlap, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["windows[1]"]
    backwards = {"windows": [{"weekday": 1, "starts": "12:00", "ends": "09:00"}]}
    assert (await client.put("/api/volunteers/me/availability", json=backwards, headers=headers)).status_code == 422
    bad = {"windows": [{"weekday": 8, "starts": "09:00", "ends": "10:00"}]}
    assert (await client.put("/api/volunteers/me/availability", json=bad, headers=headers)).status_code == 422
    assert await conn.fetchval("SELECT count(*) FROM volunteer_availability WHERE volunteer_id = $1", volunteer_id) == 3
    cleared = await client.put("/api/volunteers/me/availability", json={"windows": []}, headers=headers)
    assert cleared.json()["availability"] == []


async def test_exceptions_need_aware_times_and_belong_to_their_volunteer(client, conn):
    headers, _, _ = await _volunteer(client, conn)
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    body = {"starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(days=2)).isoformat(), "available": False}
    response = await client.post("/api/volunteers/me/availability/exceptions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    (exception,) = response.json()["exceptions"]
    assert exception["available"] is False
    naive = {"starts_at": "2030-01-01T09:00:00", "ends_at": "2030-01-01T12:00:00"}
    response = await client.post("/api/volunteers/me/availability/exceptions", json=naive, headers=headers)
    assert response.status_code == 422 and "starts_at" in response.json()["detail"]
    backwards = {**body, "ends_at": (start - dt.timedelta(hours=1)).isoformat()}
    response = await client.post("/api/volunteers/me/availability/exceptions", json=backwards, headers=headers)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["ends_at"]
    other_headers, _, _ = await _volunteer(client, conn)
    stolen = await client.delete(f"/api/volunteers/me/availability/exceptions/{exception['id']}", headers=other_headers)
    assert stolen.status_code == 404
    gone = await client.delete(f"/api/volunteers/me/availability/exceptions/{exception['id']}", headers=headers)
    assert gone.status_code == 200 and gone.json()["exceptions"] == []


async def test_only_volunteers_have_a_profile(client, conn):
    account_id = await factories.create_account(conn, "organisation")
    headers = await bearer(client, await factories.username_of(conn, account_id))
    assert (await client.get("/api/volunteers/me", headers=headers)).status_code == 403
    assert (await client.get("/api/volunteers/me")).status_code == 401


async def test_odd_input_is_a_4xx_problem_never_a_server_error(client, conn):
    headers, _, home = await _volunteer(client, conn)
    org_account = await factories.create_account(conn, "organisation")
    org = await bearer(client, await factories.username_of(conn, org_account))
    calls = [
        ("PUT", "/api/volunteers/me", _details(home, travel_km=0.01), headers),
        ("PUT", "/api/volunteers/me", _details(home, display_name="a\x00b"), headers),
        ("PUT", "/api/volunteers/me", _details(home, lat=95, lon=121), headers),
        ("PUT", "/api/volunteers/me", _details(home, lat=31.2), headers),
        ("PUT", "/api/volunteers/me", _details(2**62), headers),
        ("PUT", "/api/volunteers/me", {"display_name": "x"}, headers),
        ("PUT", "/api/volunteers/me/certificates/elderly_carer", {"number": "a\x00"}, headers),
        ("PUT", "/api/volunteers/me/certificates/" + "x" * 300, {}, headers),
        ("DELETE", "/api/volunteers/me/certificates/%00", None, headers),
        ("DELETE", f"/api/volunteers/me/availability/exceptions/{2**63 + 5}", None, headers),
        (
            "PUT",
            "/api/volunteers/me/availability",
            {"windows": [{"weekday": 1, "starts": "9:00", "ends": "10:00"}]},
            headers,
        ),
        (
            "PUT",
            "/api/volunteers/me/availability",
            {"windows": [{"weekday": 1, "starts": "23:59", "ends": "00:00"}]},
            headers,
        ),
        (
            "POST",
            "/api/volunteers/me/availability/exceptions",
            {"starts_at": "0001-01-01T00:00:00+14:00", "ends_at": "9999-12-31T23:59:59-12:00"},
            headers,
        ),
        ("POST", "/api/shifts/series", {"title": "x"}, org),
        ("POST", "/api/shifts/series/999999999/exceptions", {"date": "9999-12-31"}, org),
        ("GET", "/api/shifts/series/99999999999999999999", None, org),
    ]
    for method, path, body, who in calls:
        response = await client.request(method, path, json=body, headers=who)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), (method, path)
    for path in ("/ical/1-" + "A" * 32 + "/shifts.ics", "/ical/99999999999999999999-" + "A" * 32 + "/shifts.ics"):
        assert (await client.get(path)).status_code == 404
