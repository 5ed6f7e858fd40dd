"""The demo district shows spending time coins: catalogue items at two committees of the district, with times to
come, and volunteer.demo's bookings (one of them already redeemed by the demo committee)."""

from __future__ import annotations

import asyncpg


async def test_the_demo_has_a_catalogue_at_two_committees_and_bookings(demo_conn: asyncpg.Connection) -> None:
    committees = await demo_conn.fetchval("SELECT count(DISTINCT committee_id) FROM coin_items WHERE status = 'active'")
    assert committees == 2
    assert await demo_conn.fetchval("SELECT count(*) FROM coin_slots WHERE starts_at > now()") >= 6
    statuses = await demo_conn.fetch(
        "SELECT b.status FROM coin_bookings b JOIN volunteers v ON v.id = b.volunteer_id"
        " JOIN accounts a ON a.id = v.account_id WHERE a.username = 'volunteer.demo' ORDER BY b.id"
    )
    assert [s["status"] for s in statuses].count("redeemed") == 1 and len(statuses) >= 2
    # Every booking paid through the ledger and its coins' origins add up to its price.
    unbalanced = await demo_conn.fetchval(
        "SELECT count(*) FROM coin_bookings b WHERE b.price_minutes <>"
        " (SELECT sum(minutes) FROM coin_booking_origins WHERE booking_id = b.id)"
    )
    assert unbalanced == 0
