"""Group sign-ups: a leader's group on a shift, its members (volunteer accounts with their sign-ups, or named people
without an account), and the places the named people hold."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one
from sql.shifts import CANCELLED_OR_LATE


class GroupRow(msgspec.Struct, frozen=True):
    """A group on a shift, led by a volunteer."""

    id: int
    shift_id: int
    leader_volunteer_id: int
    leader_name: str
    name: str
    status: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class GroupMemberPublic(msgspec.Struct, frozen=True):
    """What the API may show of a group's member: a volunteer account or a named person, and its status."""

    id: int
    volunteer_id: int | None
    name: str
    birth_year: int | None
    guardian_consent_at: dt.datetime | None
    status: str
    is_leader: bool


class MemberRow(GroupMemberPublic, frozen=True):
    """One member of a group: a volunteer account (its sign-up's status) or a named person (its own status)."""

    group_id: int
    signup_id: int | None
    # A named person's minutes as the publisher recorded them (accounts' hours are on their own records).
    minutes: int | None = None


class NamedMemberRow(msgspec.Struct, frozen=True):
    """A member without an account holding a place on a shift, listed under the group's leader."""

    id: int
    group_id: int
    group_name: str
    leader_volunteer_id: int
    leader_name: str
    name: str
    birth_year: int
    minutes: int | None = None


# An account named by its username, or by the digits of the volunteer's phone (volunteers_phone_digits); two rows
# back mean the phone is shared and the username must be given.
FIND_VOLUNTEER = """
SELECT v.id, v.display_name
FROM volunteers v JOIN accounts a ON a.id = v.account_id
WHERE a.disabled_at IS NULL
  AND (lower(a.username) = lower($1)
       OR ($2 <> '' AND regexp_replace(v.phone, '[^0-9]', '', 'g') = $2 AND v.account_id IS NOT NULL))
ORDER BY v.id
LIMIT 2
"""
# The members' rows in id order, as every sign-up locks its volunteer: two groups sharing a member queue, never
# deadlock, and nobody's weekly hour cap is passed by two sign-ups at once.
LOCK_VOLUNTEERS = "SELECT id FROM volunteers WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"
# A member who gave up their own place (or had it released unconfirmed) through the single sign-up's paths leaves
# their group row live; it is closed here before those volunteers join a group on the shift again.
CLOSE_LEFT_MEMBERS = """
UPDATE group_members m
SET status = CASE WHEN g.status = 'late_cancelled' THEN 'late_cancelled' ELSE 'cancelled' END, cancelled_at = now()
FROM signups g
WHERE g.id = m.signup_id AND m.shift_id = $1 AND m.volunteer_id = ANY($2::bigint[]) AND m.status = 'active'
  AND g.status <> 'active'
"""
INSERT_GROUP = """
INSERT INTO shift_groups (shift_id, leader_volunteer_id, name, created_by) VALUES ($1, $2, $3, $4) RETURNING id
"""
INSERT_ACCOUNT_MEMBER = """
INSERT INTO group_members (group_id, shift_id, volunteer_id, signup_id, shift_starts_at)
SELECT $1, s.id, $3, $4, s.starts_at FROM shifts s WHERE s.id = $2
RETURNING id
"""
INSERT_NAMED_MEMBER = """
INSERT INTO group_members (group_id, shift_id, person_name, birth_year, shift_starts_at, guardian_consent_at,
                           guardian_consent_by)
SELECT $1, s.id, $3, $4, s.starts_at, CASE WHEN $5::bigint IS NOT NULL THEN now() END, $5 FROM shifts s
WHERE s.id = $2
RETURNING id
"""
# The named people's places, counted under the same guard as the pick-up: open, to come, and room for all of them.
TAKE_PLACES = """
UPDATE shifts SET taken = taken + $2
WHERE id = $1 AND status = 'open' AND starts_at > now() AND taken + $2 <= headcount
RETURNING id
"""
RELEASE_PLACES = "UPDATE shifts SET taken = taken - $2 WHERE id = $1"
# Whether one of these sign-ups is held by a proven adult on the shift's first day (the proof the minor_group rule of
# sql/shifts.py asks for: a verified date of birth).
PROVEN_ADULT_AMONG = """
SELECT EXISTS (
    SELECT 1 FROM signups g JOIN shifts s ON s.id = g.shift_id JOIN volunteers v ON v.id = g.volunteer_id
    JOIN credential_checks pk ON pk.id = v.birth_date_check_id AND pk.state = 'verified'
    WHERE g.id = ANY($1::bigint[]) AND g.status = 'active'
      AND date_part('year', age((s.starts_at AT TIME ZONE 'Asia/Shanghai')::date, pk.born_on)) >= 18)
"""
_GROUP_COLUMNS = """
sg.id, sg.shift_id, sg.leader_volunteer_id, lv.display_name AS leader_name, sg.name, sg.status, sg.created_at,
sg.cancelled_at
"""
# A group the volunteer ($2) leads: another's group is not found.
SELECT_GROUP = f"""
SELECT {_GROUP_COLUMNS}
FROM shift_groups sg JOIN volunteers lv ON lv.id = sg.leader_volunteer_id
WHERE sg.id = $1 AND sg.leader_volunteer_id = $2
"""
SELECT_GROUP_FOR_UPDATE = f"{SELECT_GROUP} FOR NO KEY UPDATE OF sg"
# The groups the volunteer leads on a shift, the live one first.
SELECT_LED_ON_SHIFT = f"""
SELECT {_GROUP_COLUMNS}
FROM shift_groups sg JOIN volunteers lv ON lv.id = sg.leader_volunteer_id
WHERE sg.shift_id = $1 AND sg.leader_volunteer_id = $2
ORDER BY sg.status = 'active' DESC, sg.id DESC
LIMIT 20
"""
# An account member's status is its sign-up's: the member may have given up the place themselves.
SELECT_MEMBERS = """
SELECT m.id, m.group_id, m.volunteer_id, m.signup_id, coalesce(v.display_name, m.person_name) AS name, m.birth_year,
       m.guardian_consent_at, coalesce(g.status, m.status) AS status,
       m.volunteer_id IS NOT DISTINCT FROM sg.leader_volunteer_id AS is_leader, m.minutes
FROM group_members m
JOIN shift_groups sg ON sg.id = m.group_id
LEFT JOIN volunteers v ON v.id = m.volunteer_id
LEFT JOIN signups g ON g.id = m.signup_id
WHERE m.group_id = $1
ORDER BY m.id
"""
# Cancelled late or not by the shift's window, as for a sign-up.
CANCEL_NAMED_MEMBER = f"""
UPDATE group_members m
SET status = {CANCELLED_OR_LATE}, cancelled_at = now()
FROM shifts s
WHERE s.id = m.shift_id AND m.id = $1 AND m.group_id = $2 AND m.volunteer_id IS NULL AND m.status = 'active'
RETURNING m.status
"""
CLOSE_ACCOUNT_MEMBER = """
UPDATE group_members SET status = $2, cancelled_at = now() WHERE id = $1 AND status = 'active'
"""
CANCEL_GROUP = """
UPDATE shift_groups SET status = $2, cancelled_at = now() WHERE id = $1 AND status = 'active' RETURNING id
"""
# The minutes a named person served, recorded by the shift's publisher ($4, $5 its tenant) once the shift began.
RECORD_NAMED_MINUTES = """
UPDATE group_members m SET minutes = $3, minutes_recorded_by = $6, minutes_recorded_at = now()
FROM shifts s
WHERE m.id = $2 AND m.shift_id = $1 AND s.id = m.shift_id AND m.volunteer_id IS NULL AND m.status = 'active'
  AND s.starts_at <= now()
  AND (($4::bigint IS NOT NULL AND s.organisation_id = $4) OR ($5::bigint IS NOT NULL AND s.committee_id = $5))
RETURNING m.id
"""
# The named people holding places on a shift, for its publisher's attendance list.
SELECT_NAMED_ON_SHIFT = """
SELECT m.id, m.group_id, sg.name AS group_name, sg.leader_volunteer_id, lv.display_name AS leader_name,
       m.person_name AS name, m.birth_year, m.minutes
FROM group_members m
JOIN shift_groups sg ON sg.id = m.group_id
JOIN volunteers lv ON lv.id = sg.leader_volunteer_id
WHERE m.shift_id = $1 AND m.volunteer_id IS NULL AND m.status = 'active'
ORDER BY lv.display_name, m.group_id, m.id
"""


async def find_volunteer(conn: asyncpg.Connection, username: str, phone_digits: str) -> list[tuple[int, str]]:
    """(id, name) of the volunteers named by a username or phone digits: none, one, or two (ambiguous)."""
    rows = await conn.fetch(FIND_VOLUNTEER, username, phone_digits)
    return [(int(r["id"]), str(r["display_name"])) for r in rows]


async def lock_volunteers(conn: asyncpg.Connection, volunteer_ids: list[int]) -> None:
    """Lock these volunteers' rows in id order until the transaction ends."""
    await conn.execute(LOCK_VOLUNTEERS, volunteer_ids)


async def close_left_members(conn: asyncpg.Connection, shift_id: int, volunteer_ids: list[int]) -> None:
    """Close the group rows of these volunteers whose sign-up on the shift no longer holds a place."""
    await conn.execute(CLOSE_LEFT_MEMBERS, shift_id, volunteer_ids)


async def insert_group(conn: asyncpg.Connection, shift_id: int, leader_id: int, name: str, account_id: int) -> int:
    """A new live group; raises UniqueViolationError when the leader already leads one on the shift."""
    return int(await conn.fetchval(INSERT_GROUP, shift_id, leader_id, name, account_id))


async def insert_account_member(
    conn: asyncpg.Connection, group_id: int, shift_id: int, volunteer_id: int, signup_id: int
) -> int:
    """A volunteer account as a member, holding the sign-up just taken."""
    return int(await conn.fetchval(INSERT_ACCOUNT_MEMBER, group_id, shift_id, volunteer_id, signup_id))


async def insert_named_member(
    conn: asyncpg.Connection, group_id: int, shift_id: int, name: str, birth_year: int, consent_by: int | None
) -> int:
    """A named person without an account as a member; `consent_by` the account that gave the guardian's consent."""
    return int(await conn.fetchval(INSERT_NAMED_MEMBER, group_id, shift_id, name, birth_year, consent_by))


async def take_places(conn: asyncpg.Connection, shift_id: int, count: int) -> bool:
    """Count `count` more places as taken; False when the shift is closed, past or lacks the room."""
    return await conn.fetchval(TAKE_PLACES, shift_id, count) is not None


async def release_places(conn: asyncpg.Connection, shift_id: int, count: int) -> None:
    """Count `count` places fewer as taken."""
    await conn.execute(RELEASE_PLACES, shift_id, count)


async def proven_adult_among(conn: asyncpg.Connection, signup_ids: list[int]) -> bool:
    """Whether a proven adult holds one of these sign-ups."""
    return bool(await conn.fetchval(PROVEN_ADULT_AMONG, signup_ids))


async def get_group(
    conn: asyncpg.Connection, group_id: int, leader_id: int, *, for_update: bool = False
) -> GroupRow | None:
    """A group the volunteer leads (locked for this transaction when asked); None for anyone else's."""
    return await fetch_one(conn, SELECT_GROUP_FOR_UPDATE if for_update else SELECT_GROUP, GroupRow, group_id, leader_id)


async def led_on_shift(conn: asyncpg.Connection, shift_id: int, leader_id: int) -> list[GroupRow]:
    """The groups the volunteer leads on a shift, the live one first."""
    return await fetch_all(conn, SELECT_LED_ON_SHIFT, GroupRow, shift_id, leader_id)


async def members(conn: asyncpg.Connection, group_id: int) -> list[MemberRow]:
    """A group's members, the leader first."""
    return await fetch_all(conn, SELECT_MEMBERS, MemberRow, group_id)


async def cancel_named_member(conn: asyncpg.Connection, member_id: int, group_id: int) -> str | None:
    """End a named person's place: 'cancelled' or 'late_cancelled', None if it held none."""
    found = await conn.fetchval(CANCEL_NAMED_MEMBER, member_id, group_id)
    return None if found is None else str(found)


async def close_account_member(conn: asyncpg.Connection, member_id: int, status: str) -> None:
    """Mark an account member as gone with its sign-up's new status."""
    await conn.execute(CLOSE_ACCOUNT_MEMBER, member_id, status)


async def cancel_group(conn: asyncpg.Connection, group_id: int, status: str) -> bool:
    """Mark a live group cancelled (or late); False if it was not live."""
    return await conn.fetchval(CANCEL_GROUP, group_id, status) is not None


async def record_named_minutes(
    conn: asyncpg.Connection,
    shift_id: int,
    member_id: int,
    minutes: int,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    recorded_by: int,
) -> bool:
    """Record a named member's minutes on the publisher's begun shift; False when no such member or not yet."""
    row = await conn.fetchval(
        RECORD_NAMED_MINUTES, shift_id, member_id, minutes, organisation_id, committee_id, recorded_by
    )
    return row is not None


async def named_on_shift(conn: asyncpg.Connection, shift_id: int) -> list[NamedMemberRow]:
    """The named people holding places on a shift, by leader."""
    return await fetch_all(conn, SELECT_NAMED_ON_SHIFT, NamedMemberRow, shift_id)
