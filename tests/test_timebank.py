"""The time bank's ledger: double-entry and append-only in the schema, balances by SUM, the cap, group time, and
transfers that never overdraw, even when two race on separate connections."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from api.services import timebank
from api.services.errors import Conflict, Invalid
from api.services.timebank import NotEnoughCoins, Transfer
from tests.factories_attendance import add_attendance, credit, running_shift_scene
from tests.factories_shifts import volunteer_identity
from tests.helpers import bearer

CAP = 1500 * 60


async def test_ledger_rows_cannot_be_updated_deleted_or_truncated(conn):
    volunteer = await volunteer_identity(conn)
    await credit(conn, volunteer.volunteer_id, 60)
    # TRUNCATE refuses to run while deferred checks are pending: run them first.
    await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for statement in (
        "UPDATE ledger_entries SET minutes = minutes * 2",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
        "UPDATE ledger_transactions SET memo = 'x'",
        "DELETE FROM ledger_transactions",
        "TRUNCATE ledger_transactions CASCADE",
        "DELETE FROM ledger_accounts WHERE kind = 'pool'",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            async with conn.transaction():
                await conn.execute(statement)


async def test_a_transaction_that_does_not_sum_to_zero_is_refused_at_commit(conn):
    volunteer = await volunteer_identity(conn)
    await credit(conn, volunteer.volunteer_id, 60)
    account = await conn.fetchval("SELECT id FROM ledger_accounts WHERE volunteer_id = $1", volunteer.volunteer_id)
    pool = await conn.fetchval("SELECT id FROM ledger_accounts WHERE kind = 'pool'")
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        await _post_now(conn, [(account, 30)])
    with pytest.raises(asyncpg.CheckViolationError, match="overdrawn"):
        await _post_now(conn, [(account, -90), (pool, 90)])
    await _post_now(conn, [(account, -60), (pool, 60)])


async def _post_now(conn, entries: list[tuple[int, int]]) -> None:
    """Write a transaction's entries in a savepoint and run the deferred checks now, inside the test's transaction."""
    async with conn.transaction():
        tx = await conn.fetchval("INSERT INTO ledger_transactions (kind) VALUES ('donate') RETURNING id")
        for account, minutes in entries:
            await conn.execute(
                "INSERT INTO ledger_entries (transaction_id, account_id, bucket, minutes) VALUES ($1, $2, 'own', $3)",
                tx,
                account,
                minutes,
            )
        await conn.execute("SET CONSTRAINTS ledger_entries_balanced IMMEDIATE")


async def test_give_spend_donate_and_balances_are_sums(conn):
    giver = await volunteer_identity(conn)
    family = await volunteer_identity(conn)
    await credit(conn, giver.volunteer_id, 300)
    await credit(conn, giver.volunteer_id, 60, bucket="group")
    outcome = await timebank.transfer(
        conn, giver, Transfer(kind="give", minutes=120, to_username=family.username), cap_minutes=CAP
    )
    assert (outcome.balance.own_minutes, outcome.balance.group_minutes) == (180, 60)
    await timebank.transfer(conn, giver, Transfer(kind="spend", minutes=60, service="haircut"), cap_minutes=CAP)
    # A donation takes group time first.
    donated = await timebank.transfer(conn, giver, Transfer(kind="donate", minutes=90), cap_minutes=CAP)
    assert (donated.balance.own_minutes, donated.balance.group_minutes) == (90, 0)
    assert (await timebank.my_account(conn, family, cap_minutes=CAP)).own_minutes == 120
    kinds = [h.kind for h in await timebank.my_history(conn, giver, limit=10, offset=0)]
    assert kinds == ["donate", "spend", "give", "donate", "donate"]
    assert await conn.fetchval("SELECT sum(minutes) FROM ledger_entries") == 0

    with pytest.raises(NotEnoughCoins) as refused:
        await timebank.transfer(conn, giver, Transfer(kind="give", minutes=91, to_username=family.username),
                                cap_minutes=CAP)  # fmt: skip
    assert refused.value.status == 409 and "minutes" in refused.value.fields
    with pytest.raises(Invalid) as invalid:
        await timebank.transfer(conn, giver, Transfer(kind="give", minutes=1, to_username=giver.username),
                                cap_minutes=CAP)  # fmt: skip
    assert "to_username" in invalid.value.fields
    with pytest.raises(Invalid):
        await timebank.transfer(conn, giver, Transfer(kind="spend", minutes=1, service="caviar"), cap_minutes=CAP)
    # A gift that would take the family member past the cap is refused; the giver keeps the coins.
    with pytest.raises(Conflict) as capped:
        await timebank.transfer(conn, giver, Transfer(kind="give", minutes=60, to_username=family.username),
                                cap_minutes=150)  # fmt: skip
    assert "to_username" in capped.value.fields


async def test_confirmed_hours_beyond_the_cap_are_recorded_not_credited(conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2)
    await credit(conn, scene.volunteer.volunteer_id, 100)
    attendance_id = await add_attendance(conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id)
    from api.services import attendance
    from api.services.attendance import AttendanceRules, Decision

    rules = AttendanceRules(timebank_cap_minutes=180)
    outcome = await attendance.decide(
        conn, scene.publisher, Decision(attendance_ids=[attendance_id], decision="confirm"), rules
    )
    assert (outcome.credited_minutes, outcome.over_cap_minutes) == (80, 40)
    view = await timebank.my_account(conn, scene.volunteer, cap_minutes=180)
    assert view.total_minutes == 180
    history = await timebank.my_history(conn, scene.volunteer, limit=5, offset=0)
    assert (history[0].kind, history[0].minutes, history[0].over_cap_minutes) == ("earn", 80, 40)


async def test_transfer_above_the_balance_through_the_api_is_a_409_with_the_field(client, conn):
    volunteer = await volunteer_identity(conn)
    await credit(conn, volunteer.volunteer_id, 30)
    headers = await bearer(client, volunteer.username)
    response = await client.post("/api/timebank/transfers", json={"kind": "donate", "minutes": 31}, headers=headers)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/insufficient-coins"
    assert response.json()["errors"][0]["field"] == "minutes"
    response = await client.post("/api/timebank/transfers", json={"kind": "donate", "minutes": 0}, headers=headers)
    assert response.status_code in (400, 422)


async def test_the_certificate_number_is_stable_until_new_hours_are_confirmed(client, conn):
    scene = await running_shift_scene(conn, started_minutes_ago=150, hours=2)
    headers = await bearer(client, scene.volunteer.username)
    assert (await client.post("/api/records/mine/certificate", headers=headers)).status_code == 409
    await add_attendance(
        conn, scene.shift_id, scene.signup_id, scene.volunteer.volunteer_id, confirmed_by=scene.publisher.account_id
    )
    first = (await client.post("/api/records/mine/certificate", headers=headers)).json()
    second = (await client.post("/api/records/mine/certificate", headers=headers)).json()
    assert first["number"] == second["number"]
    assert first["number"].startswith("LL-")
    assert (first["records"], first["minutes"], len(first["items"])) == (1, 120, 1)


async def _racing_transfers(url: str, rounds: int) -> list[int]:
    setup = await asyncpg.connect(url)
    first = await asyncpg.connect(url)
    second = await asyncpg.connect(url)
    try:
        successes = []
        for _ in range(rounds):
            volunteer = await volunteer_identity(setup)
            family = await volunteer_identity(setup)
            await credit(setup, volunteer.volunteer_id, 60)
            start = asyncio.Event()

            async def attempt(
                conn: asyncpg.Connection, form: Transfer, start: asyncio.Event = start, volunteer=volunteer
            ) -> bool:
                await start.wait()
                try:
                    await timebank.transfer(conn, volunteer, form, cap_minutes=CAP)
                except NotEnoughCoins:
                    return False
                return True

            tasks = [
                asyncio.ensure_future(attempt(first, Transfer(kind="spend", minutes=60, service="meal"))),
                asyncio.ensure_future(attempt(second, Transfer(kind="give", minutes=45, to_username=family.username))),
            ]
            await asyncio.sleep(0)
            start.set()
            results = await asyncio.gather(*tasks)
            successes.append(sum(results))
            held = await setup.fetchval(
                "SELECT sum(e.minutes) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
                " WHERE a.volunteer_id = $1",
                volunteer.volunteer_id,
            )
            assert held in (0, 15)
        assert await setup.fetchval("SELECT sum(minutes) FROM ledger_entries") == 0
        return successes
    finally:
        for c in (setup, first, second):
            await c.close()


async def test_two_racing_transfers_on_separate_connections_never_overdraw(empty_database_url):
    successes = await _racing_transfers(empty_database_url, rounds=20)
    assert successes == [1] * 20


async def test_opposite_gifts_at_once_do_not_deadlock(empty_database_url):
    connections = [await asyncpg.connect(empty_database_url) for _ in range(3)]
    setup, one, two = connections
    try:
        a = await volunteer_identity(setup)
        b = await volunteer_identity(setup)
        await credit(setup, a.volunteer_id, 600)
        await credit(setup, b.volunteer_id, 600)
        for _ in range(10):
            await asyncio.gather(
                timebank.transfer(one, a, Transfer(kind="give", minutes=10, to_username=b.username), cap_minutes=CAP),
                timebank.transfer(two, b, Transfer(kind="give", minutes=20, to_username=a.username), cap_minutes=CAP),
            )
        assert (await timebank.my_account(setup, a, cap_minutes=CAP)).own_minutes == 700
        assert (await timebank.my_account(setup, b, cap_minutes=CAP)).own_minutes == 500
    finally:
        for c in connections:
            await c.close()


async def test_naive_read_then_write_reads_a_stale_balance_and_only_the_commit_trigger_saves_it(empty_database_url):
    """Without the lock, both transfers read the same balance and both write; the deferred trigger refuses the second
    at commit (a database error, not a clear 409). The account-row lock is what makes the second wait and re-read."""
    setup = await asyncpg.connect(empty_database_url)
    one = await asyncpg.connect(empty_database_url)
    two = await asyncpg.connect(empty_database_url)
    try:
        volunteer = await volunteer_identity(setup)
        await credit(setup, volunteer.volunteer_id, 60)
        account = await setup.fetchval("SELECT id FROM ledger_accounts WHERE volunteer_id = $1", volunteer.volunteer_id)
        services = await setup.fetchval("SELECT id FROM ledger_accounts WHERE kind = 'services'")
        balance_sql = "SELECT coalesce(sum(minutes), 0) FROM ledger_entries WHERE account_id = $1"
        t1, t2 = one.transaction(), two.transaction()
        await t1.start()
        await t2.start()
        seen = [await c.fetchval(balance_sql, account) for c in (one, two)]
        assert seen == [60, 60]  # both would go ahead
        for c in (one, two):
            tx = await c.fetchval(
                "INSERT INTO ledger_transactions (kind, service) VALUES ('spend', 'meal') RETURNING id"
            )
            await c.execute(
                "INSERT INTO ledger_entries (transaction_id, account_id, bucket, minutes)"
                " VALUES ($1, $2, 'own', -60), ($1, $3, 'own', 60)",
                tx,
                account,
                services,
            )
        await t1.commit()
        with pytest.raises(asyncpg.CheckViolationError, match="overdrawn"):
            await t2.commit()
        assert await setup.fetchval(balance_sql, account) == 0
    finally:
        for c in (setup, one, two):
            await c.close()
