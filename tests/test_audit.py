"""The audit log is append-only and hash-chained; tampering is detected."""

from __future__ import annotations

import asyncpg
import pytest

from sql import audit


async def _three_entries(conn):
    for n in range(3):
        await audit.append(
            conn, actor_account_id=None, action="test.event", object_type="thing", object_id=n, detail={"n": n}
        )


async def test_entries_chain_to_each_other(conn):
    await _three_entries(conn)
    rows = await conn.fetch("SELECT prev_hash, hash FROM audit_log ORDER BY id")
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))
    assert await audit.verify_chain(conn) == []


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
    assert (await client.get("/api/audit/verify", headers=headers)).json() == {"intact": True, "broken_ids": []}
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    await conn.execute("UPDATE audit_log SET object_id = 'forged' WHERE id = (SELECT min(id) FROM audit_log)")
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
    result = (await client.get("/api/audit/verify", headers=headers)).json()
    assert result["intact"] is False
    assert len(result["broken_ids"]) == 1
