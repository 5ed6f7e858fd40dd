"""Handing a place over (转让名额): offer, take through the sign-up's guarded statement, withdraw, the waitlist first
before the cancellation window, and the publisher's approval."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import handovers, notifications, shifts
from api.services.accounts import Identity
from api.services.handovers import ApprovalSetting, HandoverRefused
from sql import notifications as notifications_sql
from tests import factories
from tests.factories_shifts import add_signup, create_shift, publisher_identity, soon, volunteer_identity
from tests.helpers import login
from tests.pages_kit import page_context


async def _held(conn: asyncpg.Connection, **shift: object) -> tuple[int, Identity]:
    """A full shift (one place) held by a volunteer (with the skills it asks), who is returned."""
    shift_id = await create_shift(conn, headcount=1, **shift)  # type: ignore[arg-type]
    holder = await volunteer_identity(conn, skills=list(shift.get("required_skills", [])))  # type: ignore[call-overload]
    await shifts.sign_up(conn, holder, shift_id)
    return shift_id, holder


async def _status(conn: asyncpg.Connection, shift_id: int, who: Identity) -> str | None:
    return await conn.fetchval(
        "SELECT status FROM signups WHERE shift_id = $1 AND volunteer_id = $2 ORDER BY id DESC LIMIT 1",
        shift_id,
        who.volunteer_id,
    )


async def _actions(conn: asyncpg.Connection, shift_id: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'shift' AND object_id = $1 ORDER BY id", str(shift_id)
    )
    return [r["action"] for r in rows]


async def test_a_taken_place_changes_hands_in_one_step_and_the_offerer_hears_of_it(conn):
    shift_id, holder = await _held(conn)
    offered = await handovers.offer(conn, holder, shift_id)
    assert offered.status == "open"
    taker = await volunteer_identity(conn)
    [place] = await handovers.offered(conn, taker, limit=20, offset=0)
    assert (place.handover_id, place.shift.id, place.reasons) == (offered.handover_id, shift_id, [])
    outcome = await handovers.take(conn, taker, shift_id, offered.handover_id)
    assert outcome.status == "taken"
    assert (await _status(conn, shift_id, holder), await _status(conn, shift_id, taker)) == ("cancelled", "active")
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 1
    assert (
        await conn.fetchval(
            "SELECT kind FROM notifications WHERE account_id = $1 AND shift_id = $2", holder.account_id, shift_id
        )
        == "handover_taken"
    )
    assert _actions_tail(await _actions(conn, shift_id)) == [
        "shift.handover_offered", "shift.signup", "shift.handover_taken",
    ]  # fmt: skip
    # A handed-over place never counts as a late cancellation, and the offer is gone from the list.
    assert await handovers.offered(conn, await volunteer_identity(conn), limit=20, offset=0) == []


def _actions_tail(actions: list[str]) -> list[str]:
    return [a for a in actions if a.startswith("shift.handover") or a == "shift.signup"][1:]


async def test_an_ineligible_taker_is_refused_with_the_reasons_and_the_offerer_keeps_the_place(conn):
    shift_id, holder = await _held(conn, required_skills=["first_aid"])
    offered = await handovers.offer(conn, holder, shift_id)
    taker = await volunteer_identity(conn)
    with pytest.raises(HandoverRefused) as refused:
        await handovers.take(conn, taker, shift_id, offered.handover_id)
    assert (refused.value.kind, refused.value.status, list(refused.value.fields or {})) == (
        "handover-not-eligible", 409, ["skills"],
    )  # fmt: skip
    assert (await _status(conn, shift_id, holder), await _status(conn, shift_id, taker)) == ("active", None)
    assert await conn.fetchval("SELECT status FROM handovers WHERE id = $1", offered.handover_id) == "open"


async def test_a_taker_holding_an_overlapping_place_is_refused(conn):
    starts = soon(5)
    shift_id, holder = await _held(conn, starts_at=starts)
    offered = await handovers.offer(conn, holder, shift_id)
    taker = await volunteer_identity(conn)
    await shifts.sign_up(conn, taker, await create_shift(conn, starts_at=starts + dt.timedelta(hours=1)))
    with pytest.raises(HandoverRefused) as refused:
        await handovers.take(conn, taker, shift_id, offered.handover_id)
    assert refused.value.reason == "not-eligible" and "overlap" in (refused.value.fields or {})


async def test_one_cannot_take_ones_own_place_nor_offer_it_twice_nor_offer_what_one_does_not_hold(conn):
    shift_id, holder = await _held(conn)
    offered = await handovers.offer(conn, holder, shift_id)
    with pytest.raises(HandoverRefused) as own:
        await handovers.take(conn, holder, shift_id, offered.handover_id)
    assert own.value.reason == "own"
    with pytest.raises(HandoverRefused) as twice:
        await handovers.offer(conn, holder, shift_id)
    assert twice.value.reason == "already-offered"
    with pytest.raises(HandoverRefused) as none:
        await handovers.offer(conn, await volunteer_identity(conn), shift_id)
    assert none.value.reason == "no-place"


async def test_the_schema_holds_one_live_offer_per_sign_up(conn):
    shift_id, holder = await _held(conn)
    await handovers.offer(conn, holder, shift_id)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(
            "INSERT INTO handovers (shift_id, signup_id, volunteer_id, status)"
            " SELECT shift_id, id, volunteer_id, 'open' FROM signups WHERE shift_id = $1 AND status = 'active'",
            shift_id,
        )


async def test_a_withdrawn_offer_cannot_be_taken(conn):
    shift_id, holder = await _held(conn)
    offered = await handovers.offer(conn, holder, shift_id)
    assert (await handovers.withdraw(conn, holder, shift_id)).status == "withdrawn"
    with pytest.raises(HandoverRefused) as gone:
        await handovers.take(conn, await volunteer_identity(conn), shift_id, offered.handover_id)
    assert gone.value.kind == "handover-gone"
    assert await _status(conn, shift_id, holder) == "active"


async def test_an_offer_ends_with_its_place_when_the_offerer_cancels(conn):
    shift_id, holder = await _held(conn)
    offered = await handovers.offer(conn, holder, shift_id)
    await shifts.cancel(conn, holder, shift_id)
    with pytest.raises(HandoverRefused):
        await handovers.take(conn, await volunteer_identity(conn), shift_id, offered.handover_id)
    # The trigger that closes it runs at commit: here, in the test's transaction, on demand.
    await conn.execute("SET CONSTRAINTS signups_handovers IMMEDIATE")
    assert await conn.fetchval("SELECT status FROM handovers WHERE id = $1", offered.handover_id) == "withdrawn"


async def test_an_offer_cannot_be_taken_once_the_shift_has_started(conn):
    shift_id, holder = await _held(conn)
    offered = await handovers.offer(conn, holder, shift_id)
    await conn.execute(
        "UPDATE shifts SET starts_at = now() - interval '1 minute', ends_at = now() + interval '1 hour' WHERE id = $1",
        shift_id,
    )
    with pytest.raises(HandoverRefused) as gone:
        await handovers.take(conn, await volunteer_identity(conn), shift_id, offered.handover_id)
    assert gone.value.reason == "gone"


async def test_before_the_window_the_first_eligible_person_waiting_gets_the_place_at_once(conn):
    shift_id, holder = await _held(conn, required_skills=["first_aid"])
    unskilled, first, second = [await volunteer_identity(conn) for _ in range(3)]
    for who in (unskilled, first, second):
        await add_signup(conn, shift_id, who.volunteer_id or 0, "waitlisted")
    for who in (first, second):
        await conn.execute("UPDATE volunteers SET skills = '{first_aid}' WHERE id = $1", who.volunteer_id)
    outcome = await handovers.offer(conn, holder, shift_id)
    assert outcome.status == "taken"
    statuses = [await _status(conn, shift_id, w) for w in (holder, unskilled, first, second)]
    assert statuses == ["cancelled", "waitlisted", "active", "waitlisted"]
    kinds = {r["kind"] for r in await conn.fetch("SELECT kind FROM notifications WHERE shift_id = $1", shift_id)}
    assert {"handover_taken", "waitlist_promoted"} <= kinds


async def test_inside_the_window_the_offer_goes_to_everyone_and_nobody_is_drafted(conn):
    shift_id, holder = await _held(conn, starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=5))
    waiting = await volunteer_identity(conn)
    await add_signup(conn, shift_id, waiting.volunteer_id or 0, "waitlisted")
    outcome = await handovers.offer(conn, holder, shift_id)
    assert outcome.status == "open"
    assert await _status(conn, shift_id, waiting) == "waitlisted"
    # The person waiting sees it and may choose to take it: they leave the waitlist for the place.
    [place] = await handovers.offered(conn, waiting, limit=20, offset=0)
    assert (await handovers.take(conn, waiting, shift_id, place.handover_id)).status == "taken"
    assert await _status(conn, shift_id, waiting) == "active"
    assert await conn.fetchval(
        "SELECT count(*) FROM signups WHERE shift_id = $1 AND volunteer_id = $2 AND status = 'waitlisted'",
        shift_id, waiting.volunteer_id,
    ) == 0  # fmt: skip


async def test_with_approval_a_take_waits_and_the_offerer_keeps_the_place_until_approved(conn):
    publisher = await publisher_identity(conn)
    shift_id, holder = await _held(conn, organisation_id=publisher.organisation_id)
    await handovers.set_approval(conn, publisher, shift_id, ApprovalSetting(approval=True))
    offered = await handovers.offer(conn, holder, shift_id)
    taker, other = await volunteer_identity(conn), await volunteer_identity(conn)
    assert (await handovers.take(conn, taker, shift_id, offered.handover_id)).status == "requested"
    assert (await _status(conn, shift_id, holder), await _status(conn, shift_id, taker)) == ("active", None)
    # Others no longer see it; the publisher does, with the names.
    assert await handovers.offered(conn, other, limit=20, offset=0) == []
    [request] = (await handovers.on_shift(conn, publisher, shift_id)).requests
    assert (request.status, request.taker_volunteer_id) == ("requested", taker.volunteer_id)
    assert (await handovers.decline(conn, publisher, shift_id, offered.handover_id)).status == "open"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE account_id = $1 AND kind = 'handover_declined'", taker.account_id
        )
        == 1
    )
    assert (await handovers.take(conn, other, shift_id, offered.handover_id)).status == "requested"
    assert (await handovers.approve(conn, publisher, shift_id, offered.handover_id)).status == "taken"
    assert (await _status(conn, shift_id, holder), await _status(conn, shift_id, other)) == ("cancelled", "active")
    assert {"shift.handover_requested", "shift.handover_declined", "shift.handover_taken"} <= set(
        await _actions(conn, shift_id)
    )


async def test_another_publisher_cannot_decide_nor_set_approval(conn):
    publisher = await publisher_identity(conn)
    shift_id, holder = await _held(conn, organisation_id=publisher.organisation_id)
    stranger = await publisher_identity(conn, "committee")
    with pytest.raises(handovers.NotFound):
        await handovers.set_approval(conn, stranger, shift_id, ApprovalSetting(approval=True))
    offered = await handovers.offer(conn, holder, shift_id)
    with pytest.raises(handovers.NotFound):
        await handovers.approve(conn, stranger, shift_id, offered.handover_id)


async def test_the_offerer_is_told_in_words_in_the_inbox_and_by_email_or_sms(client, conn):
    shift_id, holder = await _held(conn, title="周末助餐")
    offered = await handovers.offer(conn, holder, shift_id)
    await handovers.take(conn, await volunteer_identity(conn), shift_id, offered.handover_id)
    [row] = await notifications_sql.claim_due(conn, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), 50)
    message = notifications.compose(row)
    assert message.kind == "handover_taken" and "周末助餐" in message.body and "不再持有" in message.body
    await login(client, await factories.username_of(conn, holder.account_id))
    inbox = await page_context(client, "/inbox")
    assert "名额已被接收" in inbox.response.text and "您转让的服务班次" in inbox.response.text
