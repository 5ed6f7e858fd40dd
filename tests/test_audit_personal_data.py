"""The audit log outlives the people it mentions (it is append-only, and kept when an account is erased), so it must
hold ids and counts only. After a demo flow through the use cases that audit the most personal steps — a household
changed, viewed and leaving, a place taken and given up, coins donated, a download and an erasure — no entry's
detail or object id holds a name, phone, email, address or care note of a seeded person."""

from __future__ import annotations

import contextlib
import json

import asyncpg

from api.services import data_rights, household_access, households, shifts, timebank
from api.services.data_rights import ErasureConfirm
from api.services.errors import DomainError
from api.services.households import HouseholdCommand
from tests.factories import identity_of

# Everything personal the demo district holds about its people, as text to look for. Words the product writes in
# place of erased data (已退出, **) are not personal.
PERSONAL_DATA = """
SELECT DISTINCT value FROM (
    SELECT display_name AS value FROM volunteers UNION ALL SELECT phone FROM volunteers
    UNION ALL SELECT guardian_name FROM volunteers
    UNION ALL SELECT display_name FROM accounts WHERE role = 'volunteer'
    UNION ALL SELECT head_name FROM households UNION ALL SELECT address FROM households
    UNION ALL SELECT phone FROM households UNION ALL SELECT care_notes FROM households
    UNION ALL SELECT email FROM notification_contacts UNION ALL SELECT phone FROM notification_contacts
) d
WHERE value IS NOT NULL AND length(btrim(value)) >= 2 AND value NOT IN ('已退出', '**', '已注销志愿者')
"""
FOUND_IN_AUDIT = """
SELECT a.id, a.action, d.value
FROM audit_log a JOIN unnest($1::text[]) AS d (value) ON strpos(a.detail::text || ' ' || a.object_id, d.value) > 0
ORDER BY a.id
LIMIT 20
"""


async def _account(conn: asyncpg.Connection, username: str) -> int:
    return int(await conn.fetchval("SELECT id FROM accounts WHERE username = $1", username))


async def _household_form(conn: asyncpg.Connection, household_id: int, **changes: object) -> HouseholdCommand:
    row = await conn.fetchrow(
        "SELECT head_name, address, lat, lon, coalesce(phone, '') AS phone, members, empty_nest, care_level,"
        " dialects, care_notes, visit_slots FROM households WHERE id = $1",
        household_id,
    )
    assert row is not None
    return HouseholdCommand(consent=True, **{**dict(row), **changes})  # type: ignore[arg-type]


async def test_no_audit_entry_holds_a_personal_datum_after_a_demo_flow(demo_conn: asyncpg.Connection) -> None:
    conn = demo_conn
    personal = [r["value"] for r in await conn.fetch(PERSONAL_DATA)]
    assert len(personal) > 100
    committee = await identity_of(conn, await _account(conn, "committee.kailu4"))
    volunteer = await identity_of(conn, await _account(conn, "volunteer.demo"))
    own = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM households WHERE committee_id = $1 AND archived_at IS NULL ORDER BY id LIMIT 2",
            committee.committee_id,
        )
    ]
    # A household changed (its name, phone and care notes), viewed, and another one leaving.
    await households.update_household(
        conn, committee, own[0], await _household_form(conn, own[0], phone="13700001234", care_notes="高血压，独居")
    )
    await household_access.view_household(conn, committee, own[0], daily_cap=20)
    await households.archive_household(conn, committee, own[1])
    await conn.execute("UPDATE households SET archived_at = archived_at - interval '13 months' WHERE id = $1", own[1])
    await data_rights.erase_left_households(conn, months=12)
    # A place taken and given up, coins donated.
    for offer in await shifts.browse(conn, volunteer, eligible_only=True, limit=5, offset=0):
        try:
            await shifts.sign_up(conn, volunteer, offer.shift.id)
        except DomainError:
            continue
        await shifts.cancel(conn, volunteer, offer.shift.id)
        break
    with contextlib.suppress(DomainError):  # no coins yet
        await timebank.transfer(conn, volunteer, timebank.Transfer(kind="donate", minutes=1), cap_minutes=90_000)
    # The person downloads everything and erases their account.
    await data_rights.export(conn, volunteer)
    await data_rights.erase(conn, volunteer, ErasureConfirm(confirm=data_rights.CONFIRM_WORD))

    actions = {r["action"] for r in await conn.fetch("SELECT DISTINCT action FROM audit_log")}
    assert {"household.updated", "household.viewed", "household.archived", "household.retention_erased"} <= actions
    assert {"shift.signup", "volunteer.data_export", "volunteer.erased"} <= actions
    found = [(r["id"], r["action"], r["value"]) for r in await conn.fetch(FOUND_IN_AUDIT, personal)]
    assert found == [], f"audit entries holding personal data (id, action, datum): {found}"
    # The scan itself finds a name where one is written.
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO audit_log (action, object_type, object_id, detail) VALUES ('test.leak', 'x', '1', $1)",
            json.dumps({"name": personal[0]}, ensure_ascii=False),
        )
        assert [r["action"] for r in await conn.fetch(FOUND_IN_AUDIT, personal)] == ["test.leak"]
