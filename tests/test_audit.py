"""The audit log is append-only; the sealer chains committed entries by hash, and tampering is detected."""

from __future__ import annotations

import asyncpg
import pytest

from sql import audit


async def _entry(conn, n: int) -> None:
    await audit.append(
        conn, actor_account_id=None, action="test.event", object_type="thing", object_id=n, detail={"n": n}
    )


async def _three_entries(conn):
    """Three entries, sealed (as the worker's sealer does within a second of their commit)."""
    for n in range(3):
        await _entry(conn, n)
    await audit.seal(conn)


async def test_entries_chain_to_each_other(conn):
    await _three_entries(conn)
    rows = await conn.fetch("SELECT prev_hash, hash FROM audit_log ORDER BY id")
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))
    assert await audit.verify_chain(conn) == []


async def test_a_new_entry_waits_unsealed_and_a_writer_cannot_seal_it(conn):
    await audit.seal(conn)
    await conn.execute(
        "INSERT INTO audit_log (action, object_type, object_id, seq, prev_hash, hash) "
        "VALUES ('test.forged', 'thing', '1', 1, '\\x00', '\\x00')"
    )
    row = await conn.fetchrow("SELECT seq, prev_hash, hash FROM audit_log WHERE action = 'test.forged'")
    assert tuple(row) == (None, None, None)
    waiting = await audit.unsealed(conn)
    assert waiting.rows == 1
    assert await audit.verify_chain(conn) == []  # waiting is not broken
    assert await audit.seal(conn) == 1
    assert (await audit.unsealed(conn)).rows == 0


async def test_only_a_true_seal_is_allowed(conn):
    await _three_entries(conn)
    await _entry(conn, 3)
    new_id = await conn.fetchval("SELECT id FROM audit_log WHERE seq IS NULL")
    last = await conn.fetchrow("SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
    # A made-up hash, a link to the wrong predecessor, or a changed content while sealing: all refused.
    attempts = [
        ("UPDATE audit_log SET seq = $2, prev_hash = $3, hash = '\\x00' WHERE id = $1", last["seq"] + 1, last["hash"]),
        (
            "UPDATE audit_log SET seq = $2, prev_hash = $3, hash = audit_row_hash($3, id, at, actor_account_id, "
            "action, object_type, object_id, detail) WHERE id = $1",
            last["seq"] + 1,
            b"\x01",
        ),
        (
            "UPDATE audit_log SET seq = $2, prev_hash = $3, object_id = 'x', hash = audit_row_hash($3, id, at, "
            "actor_account_id, action, object_type, 'x', detail) WHERE id = $1",
            last["seq"] + 1,
            last["hash"],
        ),
    ]
    for statement, seq, prev in attempts:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(statement, new_id, seq, prev)
    assert await audit.seal(conn) == 1
    assert await audit.verify_chain(conn) == []


async def test_writers_do_not_wait_for_each_other(empty_database_url):
    first = await asyncpg.connect(empty_database_url)
    second = await asyncpg.connect(empty_database_url)
    try:
        async with first.transaction():
            await _entry(first, 1)
            # Before the sealer, the second insert waited for the first transaction's commit (a global lock).
            async with second.transaction():
                await second.execute("SET LOCAL lock_timeout = '2s'")
                await _entry(second, 2)
    finally:
        await first.close()
        await second.close()


async def test_a_row_committed_after_a_later_one_was_sealed_is_sealed_next(empty_database_url):
    conn = await asyncpg.connect(empty_database_url)
    held = await asyncpg.connect(empty_database_url)
    try:
        await audit.seal(conn)
        transaction = held.transaction()
        await transaction.start()
        await _entry(held, 1)  # the lower id, still uncommitted
        await _entry(conn, 2)  # a higher id, committed at once
        assert await audit.seal(conn) == 1
        await transaction.commit()
        assert (await audit.unsealed(conn)).rows == 1
        assert await audit.seal(conn) == 1
        order = await conn.fetch("SELECT detail->>'n' AS n FROM audit_log WHERE seq IS NOT NULL ORDER BY seq")
        assert [r["n"] for r in order][-2:] == ["2", "1"]
        assert await audit.verify_chain(conn) == []
        assert (await audit.unsealed(conn)).rows == 0
    finally:
        await held.close()
        await conn.close()


async def test_update_and_delete_are_refused_by_the_database(conn):
    await _three_entries(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("UPDATE audit_log SET action = 'test.changed'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("DELETE FROM audit_log")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("TRUNCATE audit_log")


async def _behind_the_guard(conn, statement: str) -> int:
    """Run a statement on the second entry with the no-update guard switched off (as a superuser could); its id."""
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    target = int(await conn.fetchval("SELECT id FROM audit_log WHERE detail->>'n' = '1'"))
    await conn.execute(statement, target)
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
    return target


async def test_tampering_with_contents_is_detected(conn):
    await _three_entries(conn)
    # A superuser can switch the guard off; the hash chain still gives them away.
    target = await _behind_the_guard(conn, "UPDATE audit_log SET detail = '{\"n\": 99}' WHERE id = $1")
    breaks = await audit.verify_chain(conn)
    assert [(b.id, b.reason) for b in breaks] == [(target, "content")]


async def test_deleting_a_row_is_detected(conn):
    await _three_entries(conn)
    await _behind_the_guard(conn, "DELETE FROM audit_log WHERE id = $1")
    breaks = await audit.verify_chain(conn)
    assert [b.reason for b in breaks] == ["link"]


async def test_admin_api_reports_a_broken_chain(client, conn):
    from tests import factories
    from tests.helpers import bearer

    admin = await factories.username_of(conn, await factories.create_account(conn, "admin"))
    headers = await bearer(client, admin)
    unsealed = (await client.get("/api/audit/verify", headers=headers)).json()
    assert unsealed["intact"] is True
    assert unsealed["unsealed"] > 0  # the admin's own creation, not sealed by a worker in this test
    await audit.seal(conn)
    assert (await client.get("/api/audit/verify", headers=headers)).json() == {
        "intact": True,
        "broken_ids": [],
        "unsealed": 0,
        "oldest_unsealed_age_s": 0.0,
    }
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    await conn.execute("UPDATE audit_log SET object_id = 'forged' WHERE id = (SELECT min(id) FROM audit_log)")
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
    result = (await client.get("/api/audit/verify", headers=headers)).json()
    assert result["intact"] is False
    assert len(result["broken_ids"]) == 1


async def test_the_workers_sealer_seals_within_seconds(empty_database_url):
    import asyncio

    from workers.sealer import seal_forever

    pool = await asyncpg.create_pool(empty_database_url, min_size=1, max_size=2)
    sealer = asyncio.create_task(seal_forever(pool, 0.1))
    try:
        async with pool.acquire() as conn:
            await _entry(conn, 7)
            for _ in range(50):
                if (await audit.unsealed(conn)).rows == 0:
                    break
                await asyncio.sleep(0.1)
            assert (await audit.unsealed(conn)).rows == 0
            assert await audit.verify_chain(conn) == []
    finally:
        sealer.cancel()
        await pool.close()
