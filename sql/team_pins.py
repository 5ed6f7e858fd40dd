"""Plans people can steer: the carers a 311 project's organisation pinned to its households' teams."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class TeamPinRow(msgspec.Struct, frozen=True):
    """A carer pinned to a household's team of a project, as its organisation sees it."""

    id: int
    contract_id: int
    household_id: int
    volunteer_id: int
    volunteer_name: str
    pinned_at: dt.datetime


_PIN_COLUMNS = "p.id, p.contract_id, p.household_id, p.volunteer_id, v.display_name AS volunteer_name, p.pinned_at"
SELECT_PINS = f"""
SELECT {_PIN_COLUMNS}
FROM team_pins p JOIN volunteers v ON v.id = p.volunteer_id
WHERE p.contract_id = $1
ORDER BY p.household_id, p.id
"""
# A pin comes from a live member of a live team of the project; pinning them again finds the same pin.
PIN_MEMBER = f"""
WITH pinned AS (
    INSERT INTO team_pins (contract_id, household_id, volunteer_id, pinned_by)
    SELECT t.contract_id, t.household_id, m.volunteer_id, $3
    FROM team_members m JOIN teams t ON t.id = m.team_id
    WHERE m.id = $2 AND t.contract_id = $1 AND t.status = 'live' AND m.until IS NULL
    ON CONFLICT (contract_id, household_id, volunteer_id) DO UPDATE SET pinned_by = team_pins.pinned_by
    RETURNING *
)
SELECT {_PIN_COLUMNS} FROM pinned p JOIN volunteers v ON v.id = p.volunteer_id
"""
DELETE_PIN = "DELETE FROM team_pins WHERE id = $1 AND contract_id = $2 RETURNING household_id, volunteer_id"


async def pins(conn: asyncpg.Connection, contract_id: int) -> list[TeamPinRow]:
    """The project's pins, by household."""
    return await fetch_all(conn, SELECT_PINS, TeamPinRow, contract_id)


async def pin_member(conn: asyncpg.Connection, contract_id: int, member_id: int, account_id: int) -> TeamPinRow | None:
    """Pin a live member of a live team of the project (the same pin if already pinned); None if it is not one."""
    return await fetch_one(conn, PIN_MEMBER, TeamPinRow, contract_id, member_id, account_id)


async def unpin(conn: asyncpg.Connection, contract_id: int, pin_id: int) -> tuple[int, int] | None:
    """Remove a pin of the project; its (household, carer), or None if the project has no such pin."""
    record = await conn.fetchrow(DELETE_PIN, pin_id, contract_id)
    return None if record is None else (int(record["household_id"]), int(record["volunteer_id"]))


class LiveMemberRow(msgspec.Struct, frozen=True):
    """A live member of a live team of a project, with the household it serves (address for masking only)."""

    member_id: int
    team_id: int
    household_id: int
    committee_id: int
    committee_name: str
    address: str
    slot: str
    volunteer_id: int
    volunteer_name: str
    trained: bool


SELECT_LIVE_MEMBERS = """
SELECT m.id AS member_id, t.id AS team_id, t.household_id, h.committee_id, cm.name AS committee_name, h.address,
       t.slot, m.volunteer_id, v.display_name AS volunteer_name, m.trained
FROM teams t JOIN team_members m ON m.team_id = t.id AND m.until IS NULL
JOIN volunteers v ON v.id = m.volunteer_id
JOIN households h ON h.id = t.household_id JOIN committees cm ON cm.id = h.committee_id
WHERE t.contract_id = $1 AND t.status = 'live'
ORDER BY t.household_id, m.volunteer_id
"""


async def live_members(conn: asyncpg.Connection, contract_id: int) -> list[LiveMemberRow]:
    """The live members of the project's live teams, by household."""
    return await fetch_all(conn, SELECT_LIVE_MEMBERS, LiveMemberRow, contract_id)
