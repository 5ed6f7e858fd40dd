"""The time-coin catalogue API (时间币兑换): a committee adds, edits, withdraws items and slots; a volunteer of the
district books and cancels; the committee redeems by code and reads its settlement; every error a problem."""

from __future__ import annotations

import datetime as dt

from tests.factories import create_area, username_of
from tests.helpers import bearer
from tests.test_coins import committee_in, later, volunteer_in


async def _headers(client, conn, who):
    return await bearer(client, await username_of(conn, who.account_id))


def _problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{kind}"
    return body


async def test_a_committee_keeps_its_catalogue_and_a_volunteer_books_and_cancels(client, conn):
    district = await create_area(conn, "district")
    committee = await committee_in(conn, district)
    staff = await _headers(client, conn, committee)
    made = await client.post(
        "/api/coins/items",
        json={"name": "理发", "price_minutes": 60, "kind": "service", "description": "周二上午，社区活动室"},
        headers=staff,
    )
    assert made.status_code == 201, made.text
    item_id = made.json()["id"]
    starts = later()
    slot = await client.post(
        f"/api/coins/items/{item_id}/slots",
        json={"starts_at": starts.isoformat(), "ends_at": (starts + dt.timedelta(hours=2)).isoformat(), "capacity": 3},
        headers=staff,
    )
    assert slot.status_code == 201, slot.text
    [slot_out] = slot.json()["slots"]
    assert (slot_out["capacity"], slot_out["taken"]) == (3, 0)
    edited = await client.put(
        f"/api/coins/items/{item_id}", json={"name": "理发（男女均可）", "price_minutes": 90}, headers=staff
    )
    assert edited.json()["price_minutes"] == 90

    volunteer = await volunteer_in(conn, district, minutes=120)
    mine = await _headers(client, conn, volunteer)
    [listed] = [i for i in (await client.get("/api/coins/items", headers=mine)).json() if i["id"] == item_id]
    assert listed["slots"][0]["id"] == slot_out["id"]
    booked = await client.post(
        "/api/coins/bookings", json={"item_id": item_id, "slot_id": slot_out["id"]}, headers=mine
    )
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert (body["status"], body["price_minutes"], body["committee_id"]) == ("booked", 90, committee.committee_id)
    assert "volunteer_id" not in body
    balance = (await client.get("/api/timebank/mine", headers=mine)).json()
    assert balance["own_minutes"] == 30
    _problem(
        await client.post("/api/coins/bookings", json={"item_id": item_id, "slot_id": slot_out["id"]}, headers=mine),
        409,
        "coins-already",
    )
    cancelled = await client.post(f"/api/coins/bookings/{body['id']}/cancel", headers=mine)
    assert cancelled.json()["status"] == "cancelled"
    assert (await client.get("/api/timebank/mine", headers=mine)).json()["own_minutes"] == 120
    [listed_booking] = (await client.get("/api/coins/bookings/mine", headers=mine)).json()
    assert listed_booking["status"] == "cancelled"

    withdrawn = await client.post(f"/api/coins/items/{item_id}/withdraw", headers=staff)
    assert withdrawn.json()["status"] == "withdrawn"
    _problem(await client.post(f"/api/coins/items/{item_id}/withdraw", headers=staff), 409, "conflict")


async def test_insufficient_balance_and_another_district_are_problems(client, conn):
    district = await create_area(conn, "district")
    committee = await committee_in(conn, district)
    staff = await _headers(client, conn, committee)
    item = await client.post(
        "/api/coins/items", json={"name": "米一袋", "price_minutes": 120, "kind": "goods", "stock": 4}, headers=staff
    )
    item_id = item.json()["id"]
    poor = await _headers(client, conn, await volunteer_in(conn, district, minutes=60))
    body = _problem(
        await client.post("/api/coins/bookings", json={"item_id": item_id}, headers=poor), 409, "insufficient-coins"
    )
    assert [e["field"] for e in body["errors"]] == ["item_id"]
    stranger = await _headers(client, conn, await volunteer_in(conn, await create_area(conn, "district"), minutes=600))
    _problem(
        await client.post("/api/coins/bookings", json={"item_id": item_id}, headers=stranger),
        403,
        "coins-other-district",
    )
    assert item_id not in [i["id"] for i in (await client.get("/api/coins/items", headers=stranger)).json()]
    _problem(await client.post("/api/coins/bookings", json={"item_id": 10**12}, headers=poor), 404, "not-found")
    bad = await client.post("/api/coins/items", json={"name": "油", "price_minutes": 0, "kind": "goods"}, headers=staff)
    assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")
    _problem(
        await client.post("/api/coins/items", json={"name": "油", "price_minutes": 60, "kind": "goods"}, headers=staff),
        422,
        "invalid-input",
    )
    _problem(
        await client.post(
            "/api/coins/items", json={"name": "油", "price_minutes": 60, "kind": "goods", "stock": 1}, headers=poor
        ),
        403,
        "forbidden",
    )


async def test_the_committee_redeems_a_code_and_reads_its_bookings_and_settlement(client, conn):
    district = await create_area(conn, "district")
    committee = await committee_in(conn, district)
    staff = await _headers(client, conn, committee)
    item_id = (
        await client.post(
            "/api/coins/items", json={"name": "米一袋", "price_minutes": 60, "kind": "goods", "stock": 2}, headers=staff
        )
    ).json()["id"]
    volunteer = await _headers(client, conn, await volunteer_in(conn, district, minutes=60))
    code = (await client.post("/api/coins/bookings", json={"item_id": item_id}, headers=volunteer)).json()["code"]
    body = _problem(
        await client.post("/api/coins/redemptions", json={"code": "ZZZZZZZZ"}, headers=staff), 404, "not-found"
    )
    assert [e["field"] for e in body["errors"]] == ["code"]
    redeemed = await client.post("/api/coins/redemptions", json={"code": code.lower()}, headers=staff)
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["status"] == "redeemed" and redeemed.json()["volunteer_name"]
    _problem(await client.post("/api/coins/redemptions", json={"code": code}, headers=staff), 409, "conflict")
    [listed] = (await client.get("/api/coins/bookings", headers=staff)).json()
    assert listed["code"] == code
    today = dt.datetime.now(dt.UTC).date()
    settled = await client.get(
        "/api/coins/settlement",
        params={
            "since": (today - dt.timedelta(days=1)).isoformat(),
            "until": (today + dt.timedelta(days=1)).isoformat(),
        },
        headers=staff,
    )
    assert settled.status_code == 200, settled.text
    assert (settled.json()["redeemed_bookings"], settled.json()["redeemed_minutes"]) == (1, 60)
    # The volunteer's plain credit came from no committee's shift: all of it is "earned elsewhere" (null).
    assert [(r["other_committee_id"], r["minutes"]) for r in settled.json()["redeemed_here_earned_elsewhere"]] == [
        (None, 60)
    ]
    _problem(
        await client.get("/api/coins/settlement", params={"since": "2026-05-02", "until": "2026-05-01"}, headers=staff),
        422,
        "invalid-input",
    )
