"""Confirm, or free the place; count no-shows: the ask, one-tap confirm, release at the cut-off to the waitlist,
no-shows after check-in closes, and the reliability figure's arithmetic (against the real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg
import pytest

from api.services import attendance, confirmations, notifications, shifts
from api.services.errors import Conflict, NotFound
from sql import notifications as notifications_sql
from tests.factories_attendance import add_attendance
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity


def hours_from_now(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=hours)


async def _place(conn: asyncpg.Connection, signup_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT status, confirmed_at, released_at, no_show_at, confirm_token FROM signups WHERE id = $1", signup_id
    )
    assert row is not None
    return row


async def _ask_from_now_on(conn: asyncpg.Connection, shift_id: int, hours: int) -> None:
    """The shift asks for confirmation from now on: the places taken before are not confirmed yet."""
    await conn.execute("UPDATE shifts SET confirm_hours_before = $2 WHERE id = $1", shift_id, hours)


async def _audits(conn: asyncpg.Connection, action: str, shift_id: int) -> list[dict[str, object]]:
    rows = await conn.fetch(
        "SELECT detail::text AS detail FROM audit_log WHERE action = $1 AND object_id = $2 ORDER BY id",
        action,
        str(shift_id),
    )
    return [json.loads(r["detail"]) for r in rows]


async def test_a_volunteer_confirms_with_one_tap_and_again_changes_nothing(conn):
    volunteer = await volunteer_identity(conn)
    shift_id = await create_shift(conn, starts_at=hours_from_now(72))
    await _ask_from_now_on(conn, shift_id, 12)
    outcome = await shifts.sign_up(conn, volunteer, shift_id)
    token = (await _place(conn, outcome.signup_id))["confirm_token"]
    before = await confirmations.view(conn, token)
    assert (before.can_confirm, before.can_cancel, before.late_if_cancelled) == (True, True, False)
    assert before.confirm_by == before.place.starts_at - dt.timedelta(hours=12)

    after = await confirmations.confirm(conn, token)
    assert after.place.confirmed_at is not None and not after.can_confirm
    again = await confirmations.confirm(conn, token)
    assert again.place.confirmed_at == after.place.confirmed_at
    assert len(await _audits(conn, "shift.place_confirmed", shift_id)) == 1
    # Signed in, the same confirmation by shift; a shift without a place of mine is a 404.
    assert (await confirmations.confirm_mine(conn, volunteer, shift_id)).place.signup_id == outcome.signup_id
    with pytest.raises(NotFound):
        await confirmations.confirm_mine(conn, volunteer, await create_shift(conn))
    with pytest.raises(NotFound):
        await confirmations.view(conn, "0" * 32)


async def test_the_ask_goes_out_once_a_day_before_the_cut_off_with_its_links(conn):
    volunteer = await volunteer_identity(conn)
    shift_id = await create_shift(conn, starts_at=hours_from_now(30))
    signup_id = await add_signup(conn, shift_id, volunteer.volunteer_id or 0)
    far = await create_shift(conn, starts_at=hours_from_now(80))
    far_signup = await add_signup(conn, far, volunteer.volunteer_id or 0)
    for s in (shift_id, far):
        await _ask_from_now_on(conn, s, 12)

    first = await confirmations.sweep(conn)
    second = await confirmations.sweep(conn)
    assert (first.asked, second.asked, first.released) == (1, 0, 0)
    row = await conn.fetchrow(
        "SELECT params::text AS params, shift_id FROM notifications WHERE kind = 'confirm_request' AND account_id = $1",
        volunteer.account_id,
    )
    assert row is not None and row["shift_id"] == shift_id  # 80 h ahead: asked only 36 h before the start
    token = (await _place(conn, signup_id))["confirm_token"]
    assert token in row["params"] and (await _place(conn, far_signup))["confirmed_at"] is None
    [outgoing] = [r for r in await notifications_sql.claim_due(conn, hours_from_now(1), 50) if r.shift_id == shift_id]
    body = notifications.compose(outgoing, "https://linli.example.cn").body
    assert f"https://linli.example.cn/confirm/{token}" in body and f"/confirm/{token}/cancel" in body

    # Confirmed before delivery, the ask is withdrawn; a place taken after the ask went out counts as confirmed.
    await confirmations.confirm(conn, token)
    assert (await confirmations.sweep(conn)).withdrawn == 1
    late = await volunteer_identity(conn)
    taken = await shifts.sign_up(conn, late, shift_id)
    assert (await _place(conn, taken.signup_id))["confirmed_at"] is not None


async def test_unconfirmed_places_go_to_the_waitlist_at_the_cut_off(conn):
    holder, keeper, waiting = [await volunteer_identity(conn) for _ in range(3)]
    shift_id = await create_shift(conn, starts_at=hours_from_now(5), headcount=2)
    held = await add_signup(conn, shift_id, holder.volunteer_id or 0)
    kept = await add_signup(conn, shift_id, keeper.volunteer_id or 0)
    wait = await add_signup(conn, shift_id, waiting.volunteer_id or 0, "waitlisted")
    await conn.execute("UPDATE signups SET confirmed_at = now() WHERE id = $1", kept)
    await _ask_from_now_on(conn, shift_id, 12)  # the cut-off was 7 hours ago

    outcome = await confirmations.sweep(conn)
    assert (outcome.released, outcome.promoted) == (1, 1)
    released = await _place(conn, held)
    assert (released["status"], released["released_at"] is not None) == ("released", True)
    promoted = await _place(conn, wait)
    # Promoted after the cut-off: confirmed by taking it, never released again.
    assert promoted["status"] == "active" and promoted["confirmed_at"] is not None
    assert (await _place(conn, kept))["status"] == "active"
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 2
    # The calendar follows: the released place's commitment is released, the promoted one's active.
    commitments = dict(
        await conn.fetch("SELECT signup_id, status FROM commitments WHERE signup_id = ANY($1)", [held, kept, wait])
    )
    assert commitments == {held: "released", kept: "active", wait: "active"}
    kinds = {
        r["kind"]: r["account_id"]
        for r in await conn.fetch("SELECT kind, account_id FROM notifications WHERE shift_id = $1", shift_id)
    }
    assert kinds == {"place_released": holder.account_id, "waitlist_promoted": waiting.account_id}
    [entry] = await _audits(conn, "shift.place_released", shift_id)
    assert entry == {
        "signup_id": held,
        "volunteer_id": holder.volunteer_id,
        "promoted_volunteer_id": waiting.volunteer_id,
    }
    assert (await confirmations.sweep(conn)).released == 0
    # The link of a released place shows it, and neither confirms nor cancels it.
    view = await confirmations.view(conn, released["confirm_token"])
    assert (view.place.status, view.can_confirm, view.can_cancel) == ("released", False, False)
    with pytest.raises(Conflict):
        await confirmations.confirm(conn, released["confirm_token"])
    with pytest.raises(Conflict):
        await confirmations.cancel(conn, released["confirm_token"])


async def test_cancelling_by_the_link_keeps_the_late_rules_and_the_waitlist(conn):
    early, late, waiting = [await volunteer_identity(conn) for _ in range(3)]
    soon_shift = await create_shift(conn, starts_at=hours_from_now(10), headcount=1)
    late_place = await add_signup(conn, soon_shift, late.volunteer_id or 0)
    await add_signup(conn, soon_shift, waiting.volunteer_id or 0, "waitlisted")
    outcome = await confirmations.cancel(conn, (await _place(conn, late_place))["confirm_token"])
    assert (outcome.status, outcome.promoted) == ("late_cancelled", False)  # inside the 24-hour window

    later_shift = await create_shift(conn, starts_at=hours_from_now(60), headcount=1)
    early_place = await add_signup(conn, later_shift, early.volunteer_id or 0)
    await add_signup(conn, later_shift, waiting.volunteer_id or 0, "waitlisted")
    outcome = await confirmations.cancel(conn, (await _place(conn, early_place))["confirm_token"])
    assert (outcome.status, outcome.promoted) == ("cancelled", True)
    [entry] = await _audits(conn, "shift.cancelled", later_shift)
    assert entry["signup_id"] == early_place
    actor = await conn.fetchval(
        "SELECT actor_account_id FROM audit_log WHERE action = 'shift.cancelled' AND object_id = $1", str(later_shift)
    )
    assert actor == early.account_id


async def test_no_shows_are_recorded_once_after_check_in_closes(conn):
    publisher = await publisher_identity(conn)
    came, missed, cancelled, running = [await volunteer_identity(conn) for _ in range(4)]
    ended = await create_shift(
        conn, organisation_id=publisher.organisation_id, starts_at=hours_from_now(-3), hours=2, headcount=5
    )
    came_place = await add_signup(conn, ended, came.volunteer_id or 0)
    await add_attendance(conn, ended, came_place, came.volunteer_id or 0)
    missed_place = await add_signup(conn, ended, missed.volunteer_id or 0)
    await add_signup(conn, ended, cancelled.volunteer_id or 0)
    await shifts.cancel(conn, cancelled, ended)
    under_way = await create_shift(conn, starts_at=hours_from_now(-1), hours=2)
    running_place = await add_signup(conn, under_way, running.volunteer_id or 0)

    first = await confirmations.sweep(conn)
    assert first.no_shows == 1
    assert (await _place(conn, missed_place))["no_show_at"] is not None
    assert (await _place(conn, came_place))["no_show_at"] is None
    assert (await _place(conn, running_place))["no_show_at"] is None  # check-in is still open
    assert (await confirmations.sweep(conn)).no_shows == 0
    [entry] = await _audits(conn, "shift.no_show", ended)
    assert entry == {"signup_id": missed_place, "volunteer_id": missed.volunteer_id}
    # The publisher's roster says who missed it, with each person's reliability.
    roster = {r.volunteer_id: r for r in await _roster(conn, publisher, ended)}
    assert roster[missed.volunteer_id].no_show and not roster[came.volunteer_id].no_show
    assert (roster[missed.volunteer_id].reliability, roster[came.volunteer_id].reliability) == (0.0, 1.0)


async def _roster(conn, publisher, shift_id):
    return (await attendance.shift_attendance(conn, publisher, shift_id)).roster


async def test_reliability_counts_the_last_twenty_places_or_six_months(conn):
    volunteer = await volunteer_identity(conn)
    vid = volunteer.volunteer_id or 0
    assert (await confirmations.reliability(conn, [vid]))[vid].score is None  # nothing to count yet

    async def past(days: float, outcome: str, hours: float = 2) -> None:
        shift_id = await create_shift(conn, starts_at=hours_from_now(-24 * days), hours=hours)
        signup_id = await add_signup(conn, shift_id, vid)
        ended = {"late": "late_cancelled", "free": "cancelled", "released": "released"}.get(outcome)
        if ended is not None:
            await conn.execute(
                "UPDATE signups SET status = $2, released_at = CASE WHEN $2 = 'released' THEN now() END,"
                " cancelled_at = CASE WHEN $2 <> 'released' THEN now() END WHERE id = $1",
                signup_id,
                ended,
            )
        if outcome == "came":
            await add_attendance(conn, shift_id, signup_id, vid)
        elif outcome == "missed":
            await conn.execute("UPDATE signups SET no_show_at = now() WHERE id = $1", signup_id)

    await past(1, "came")
    await past(2, "came")
    await past(3, "missed")
    await past(4, "late")
    await past(5, "free")  # a cancellation in good time does not count
    await past(200, "missed")  # older than six months
    figure = (await confirmations.reliability(conn, [vid]))[vid]
    # 1 - (1 no-show + half of 1 late cancellation) / 4 places
    assert (figure.counted, figure.no_shows, figure.late_cancellations, figure.score) == (4, 1, 1, 0.625)

    await past(6, "released")  # released unconfirmed counts as a late cancellation
    figure = (await confirmations.reliability(conn, [vid]))[vid]
    assert (figure.counted, figure.late_cancellations, figure.score) == (5, 2, 0.6)

    # Twenty newer places push the oldest ones out of the window.
    for n in range(20):
        await past((1.5 + 1.05 * n) / 24, "came", hours=1)
    figure = (await confirmations.reliability(conn, [vid]))[vid]
    assert (figure.counted, figure.no_shows, figure.score) == (20, 0, 1.0)
