"""311 teams: projects (contracts covering 311 needs), their households and carers, teams, refusals and visits."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.households import HOUSEHOLD_PLACE_COLUMNS, HouseholdPlaceRow
from sql.rows import fetch_all, fetch_one

# The catalogue item of 311 quasi-family companionship; a contract whose lot includes such a need is a 311 project.
CATALOGUE_311 = "companionship_311"


class ProjectPublic(msgspec.Struct, frozen=True):
    """What the API may show of a 311 project to its organisation: the contract and its coverage."""

    contract_id: int
    title: str
    funder_name: str
    status: str
    starts_on: dt.date
    ends_on: dt.date
    households: int
    live_teams: int


class ProjectRow(ProjectPublic, frozen=True):
    """A 311 project: an organisation's contract whose lot covers 311 needs, with its coverage."""

    organisation_id: int
    organisation_name: str


class ProjectHouseholdRow(HouseholdPlaceRow, frozen=True):
    """A household of a 311 project as the service sees it (the address is masked before it leaves it)."""

    members: int
    team_id: int | None
    team_slot: str | None
    team_size: int
    visit_slots: list[str]


class CarerRow(msgspec.Struct, frozen=True):
    """A volunteer who could join a team: home, training, weekly slots and live teams outside this project."""

    id: int
    lat: float
    lon: float
    trained: bool
    slots: list[str]
    teams_elsewhere: int


class LiveTeamRow(msgspec.Struct, frozen=True):
    """A live team of a project and its live members."""

    id: int
    household_id: int
    slot: str
    members: list[int]


class RefusalRow(msgspec.Struct, frozen=True):
    """A carer a household refused."""

    household_id: int
    volunteer_id: int


class TeamRow(msgspec.Struct, frozen=True):
    """One team with its household's committee and (for masking) address, its project and organisation."""

    id: int
    household_id: int
    committee_id: int
    committee_name: str
    address: str
    organisation_id: int
    organisation_name: str
    contract_id: int
    slot: str
    status: str
    run_id: int | None
    formed_at: dt.datetime
    dissolved_at: dt.datetime | None


class MemberPublic(msgspec.Struct, frozen=True):
    """What the API may show of a member of a team, present or past (display name only)."""

    volunteer_id: int
    display_name: str
    trained: bool
    since: dt.datetime
    until: dt.datetime | None
    ended_reason: str | None


class MemberRow(MemberPublic, frozen=True):
    """A member of a team, present or past, with the membership's id."""

    id: int


class VisitPublic(msgspec.Struct, frozen=True):
    """What the API may show of a planned or recorded visit (contact) of a team (the recorder by id)."""

    id: int
    at: dt.datetime
    status: str
    minutes: int | None
    contact_kind: str | None
    recorded_by: int | None


class VisitRow(VisitPublic, frozen=True):
    """A planned or recorded visit (contact) of a team, with the recorder's name for the pages."""

    team_id: int
    recorded_by_name: str | None


class MonthFiguresRow(msgspec.Struct, frozen=True):
    """A team's recorded contacts and minutes within a month."""

    minutes: int
    contacts: int


class TeamMonthRow(msgspec.Struct, frozen=True):
    """A live team's recorded minutes and contacts within a month."""

    team_id: int
    minutes: int
    contacts: int


class TeamSummaryRow(msgspec.Struct, frozen=True):
    """A live team: the household it serves (with its committee), the organisation that runs it, its weekly slot."""

    id: int
    household_id: int
    committee_name: str
    address: str
    organisation_name: str
    slot: str


class CommitteeTeamRow(TeamSummaryRow, frozen=True):
    """A live team serving one of a committee's households, with this month's figures."""

    members: int
    minutes: int
    contacts: int


class SlotRow(msgspec.Struct, frozen=True):
    """A live team and its weekly slot."""

    id: int
    slot: str


class MyTeamRow(TeamSummaryRow, frozen=True):
    """A live team the volunteer belongs to."""

    next_visit: dt.datetime | None


_PROJECTS = f"""
SELECT c.id AS contract_id, c.organisation_id, o.name AS organisation_name,
       t.title || ' · ' || l.title AS title, f.name AS funder_name, c.status, c.starts_on, c.ends_on,
       (SELECT count(DISTINCT nh.household_id) FROM lot_needs ln JOIN needs n ON n.id = ln.need_id
          JOIN catalogue_items ci ON ci.id = n.catalogue_item_id
          JOIN need_households nh ON nh.need_id = n.id
        WHERE ln.lot_id = l.id AND ci.code = '{CATALOGUE_311}')::int AS households,
       (SELECT count(*) FROM teams tm WHERE tm.contract_id = c.id AND tm.status = 'live')::int AS live_teams
FROM contracts c
JOIN awards a ON a.id = c.award_id
JOIN lots l ON l.id = a.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN funders f ON f.id = c.funder_id
JOIN organisations o ON o.id = c.organisation_id
WHERE c.status IN ('unsigned', 'active')
  AND EXISTS (SELECT 1 FROM lot_needs ln JOIN needs n ON n.id = ln.need_id
              JOIN catalogue_items ci ON ci.id = n.catalogue_item_id
              WHERE ln.lot_id = l.id AND ci.code = '{CATALOGUE_311}')
"""
SELECT_PROJECTS = _PROJECTS + " AND c.organisation_id = $1 ORDER BY c.starts_on DESC, c.id DESC"
SELECT_PROJECT = _PROJECTS + " AND c.id = $1 AND c.organisation_id = $2"
# Any 311 project by id, whoever runs it (the worker loads its inputs by id).
SELECT_PROJECT_BY_ID = _PROJECTS + " AND c.id = $1"
# The households named on the 311 needs of the contract's lot.
_PROJECT_HOUSEHOLD_IDS = f"""
SELECT DISTINCT nh.household_id
FROM contracts c JOIN awards a ON a.id = c.award_id
JOIN lot_needs ln ON ln.lot_id = a.lot_id
JOIN needs n ON n.id = ln.need_id
JOIN catalogue_items ci ON ci.id = n.catalogue_item_id AND ci.code = '{CATALOGUE_311}'
JOIN need_households nh ON nh.need_id = n.id
WHERE c.id = $1
"""
SELECT_PROJECT_HOUSEHOLDS = f"""
SELECT {HOUSEHOLD_PLACE_COLUMNS}, h.members::int AS members,
       tm.id AS team_id, tm.slot AS team_slot,
       coalesce((SELECT count(*) FROM team_members m WHERE m.team_id = tm.id AND m.until IS NULL), 0)::int
           AS team_size,
       h.visit_slots
FROM households h
JOIN committees cm ON cm.id = h.committee_id
LEFT JOIN teams tm ON tm.household_id = h.id AND tm.status = 'live'
WHERE h.id IN ({_PROJECT_HOUSEHOLD_IDS}) AND h.archived_at IS NULL
ORDER BY h.id
"""
# Carers within reach of any of the project's households who consented to handling sensitive data (a member sees
# the elder's address and care notes): trained means an elderly-carer or social-worker certificate verified by staff
# and not expired (a declared certificate or skill is only the volunteer's word). A slot is theirs when a weekly
# window covers it.
SELECT_CARERS = f"""
WITH homes AS (
    SELECT h.lat, h.lon FROM households h WHERE h.id IN ({_PROJECT_HOUSEHOLD_IDS}) AND h.archived_at IS NULL
), slots AS (
    SELECT d.n AS weekday, d.name || '-' || p.part AS slot, p.starts, p.ends
    FROM (VALUES (1, 'mon'), (2, 'tue'), (3, 'wed'), (4, 'thu'), (5, 'fri'), (6, 'sat'), (7, 'sun')) d (n, name)
    CROSS JOIN (VALUES ('am', time '09:00', time '11:00'), ('pm', time '14:00', time '16:00')) p (part, starts, ends)
)
SELECT v.id, v.lat, v.lon,
       EXISTS (SELECT 1 FROM volunteer_certificates vc JOIN credential_checks ck ON ck.id = vc.check_id
               WHERE vc.volunteer_id = v.id AND vc.kind IN ('elderly_carer', 'social_worker')
                 AND ck.state = 'verified' AND ck.expires_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date)
           AS trained,
       coalesce((SELECT array_agg(s.slot ORDER BY s.weekday, s.starts)
                 FROM slots s WHERE EXISTS (
                     SELECT 1 FROM volunteer_availability va
                     WHERE va.volunteer_id = v.id AND va.weekday = s.weekday
                       AND va.starts <= s.starts AND va.ends >= s.ends)), '{{}}') AS slots,
       (SELECT count(*) FROM team_members m JOIN teams tm ON tm.id = m.team_id
        WHERE m.volunteer_id = v.id AND m.until IS NULL AND tm.status = 'live' AND tm.contract_id <> $1)::int
           AS teams_elsewhere
FROM volunteers v
WHERE EXISTS (SELECT 1 FROM homes
              WHERE earth_distance(ll_to_earth(homes.lat, homes.lon), ll_to_earth(v.lat, v.lon)) <= $2 * 1000.0)
  AND EXISTS (SELECT 1 FROM volunteer_availability va WHERE va.volunteer_id = v.id)
  AND v.sensitive_data_consent_at IS NOT NULL
ORDER BY v.id
"""
SELECT_LIVE_TEAMS = """
SELECT tm.id, tm.household_id, tm.slot,
       coalesce(array_agg(m.volunteer_id ORDER BY m.volunteer_id) FILTER (WHERE m.id IS NOT NULL), '{}') AS members
FROM teams tm LEFT JOIN team_members m ON m.team_id = tm.id AND m.until IS NULL
WHERE tm.contract_id = $1 AND tm.status = 'live'
GROUP BY tm.id ORDER BY tm.household_id
"""
SELECT_REFUSALS = f"""
SELECT household_id, volunteer_id FROM household_refusals
WHERE household_id IN ({_PROJECT_HOUSEHOLD_IDS}) ORDER BY household_id, volunteer_id
"""
INSERT_TEAM = """
INSERT INTO teams (household_id, organisation_id, contract_id, slot, run_id) VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
INSERT_MEMBER = """
INSERT INTO team_members (team_id, volunteer_id, trained) VALUES ($1, $2, $3)
"""
END_MEMBER = """
UPDATE team_members SET until = now(), ended_reason = $3
WHERE team_id = $1 AND volunteer_id = $2 AND until IS NULL RETURNING id
"""
SET_TEAM_SLOT = """
UPDATE teams SET slot = $2, run_id = coalesce($3, run_id) WHERE id = $1 AND status = 'live'
"""
DISSOLVE_TEAM = """
WITH ended AS (
    UPDATE team_members SET until = now(), ended_reason = 'dissolved' WHERE team_id = $1 AND until IS NULL
)
UPDATE teams SET status = 'dissolved', dissolved_at = now() WHERE id = $1 AND status = 'live' RETURNING id
"""
CANCEL_PLANNED_VISITS = """
UPDATE team_visits SET status = 'cancelled' WHERE team_id = $1 AND status = 'planned' AND at > now()
"""
PLAN_VISITS = """
INSERT INTO team_visits (team_id, at)
SELECT $1, unnest($2::timestamptz[])
ON CONFLICT (team_id, at) WHERE status IN ('planned', 'done') DO NOTHING
"""
INSERT_REFUSAL = """
INSERT INTO household_refusals (household_id, volunteer_id, team_id, recorded_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (household_id, volunteer_id) DO NOTHING
"""
# From a team tm to the household h it serves, that household's committee cm and the organisation o running it.
_TEAM_JOINS = """
JOIN households h ON h.id = tm.household_id JOIN committees cm ON cm.id = h.committee_id
JOIN organisations o ON o.id = tm.organisation_id
"""
_TEAM_COLUMNS = """
tm.id, tm.household_id, h.committee_id, cm.name AS committee_name, h.address, tm.organisation_id,
o.name AS organisation_name, tm.contract_id, tm.slot, tm.status, tm.run_id, tm.formed_at, tm.dissolved_at
"""
SELECT_TEAM = f"""
SELECT {_TEAM_COLUMNS}
FROM teams tm {_TEAM_JOINS}
WHERE tm.id = $1
"""
SELECT_PROJECT_TEAMS = f"""
SELECT {_TEAM_COLUMNS}
FROM teams tm {_TEAM_JOINS}
WHERE tm.contract_id = $1 AND tm.status = 'live'
ORDER BY tm.id
"""
SELECT_MEMBERS = """
SELECT m.id, m.volunteer_id, v.display_name, m.trained, m.since, m.until, m.ended_reason
FROM team_members m JOIN volunteers v ON v.id = m.volunteer_id
WHERE m.team_id = $1
ORDER BY m.until IS NOT NULL, m.since, m.id
"""
IS_LIVE_MEMBER = """
SELECT EXISTS (SELECT 1 FROM team_members m JOIN teams tm ON tm.id = m.team_id
               WHERE m.team_id = $1 AND m.volunteer_id = $2 AND m.until IS NULL AND tm.status = 'live')
"""
SELECT_VISITS = """
SELECT tv.id, tv.team_id, tv.at, tv.status, tv.minutes, tv.contact_kind, tv.recorded_by,
       v.display_name AS recorded_by_name
FROM team_visits tv LEFT JOIN volunteers v ON v.id = tv.recorded_by
WHERE tv.team_id = $1 AND tv.status <> 'cancelled' AND tv.at >= $2 AND tv.at < $3
ORDER BY tv.at
"""
SELECT_MONTH_FIGURES = """
SELECT coalesce(sum(minutes), 0)::int AS minutes, count(*)::int AS contacts
FROM team_visits WHERE team_id = $1 AND status = 'done' AND at >= $2 AND at < $3
"""
# Recording at a planned visit's time marks it done; a contact at another time is added; a time already recorded
# returns nothing (a 409 for the caller).
RECORD_VISIT = """
INSERT INTO team_visits (team_id, at, status, minutes, contact_kind, recorded_by, recorded_at)
VALUES ($1, $2, 'done', $3, $4, $5, now())
ON CONFLICT (team_id, at) WHERE status IN ('planned', 'done') DO UPDATE
SET status = 'done', minutes = EXCLUDED.minutes, contact_kind = EXCLUDED.contact_kind,
    recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at
WHERE team_visits.status = 'planned'
RETURNING id
"""
SELECT_PROJECT_MONTH = """
SELECT tm.id AS team_id, coalesce(sum(tv.minutes), 0)::int AS minutes, count(tv.id)::int AS contacts
FROM teams tm LEFT JOIN team_visits tv ON tv.team_id = tm.id AND tv.status = 'done' AND tv.at >= $2 AND tv.at < $3
WHERE tm.contract_id = $1 AND tm.status = 'live'
GROUP BY tm.id
"""
# The columns of TeamSummaryRow, over teams tm and _TEAM_JOINS.
_TEAM_SUMMARY_COLUMNS = """
tm.id, tm.household_id, cm.name AS committee_name, h.address, o.name AS organisation_name, tm.slot
"""
SELECT_COMMITTEE_TEAMS = f"""
SELECT {_TEAM_SUMMARY_COLUMNS},
       (SELECT count(*) FROM team_members m WHERE m.team_id = tm.id AND m.until IS NULL)::int AS members,
       coalesce((SELECT sum(tv.minutes) FROM team_visits tv WHERE tv.team_id = tm.id AND tv.status = 'done'
                 AND tv.at >= $2 AND tv.at < $3), 0)::int AS minutes,
       (SELECT count(*) FROM team_visits tv WHERE tv.team_id = tm.id AND tv.status = 'done'
        AND tv.at >= $2 AND tv.at < $3)::int AS contacts
FROM teams tm {_TEAM_JOINS}
WHERE h.committee_id = $1 AND tm.status = 'live'
ORDER BY tm.id
"""
SELECT_LIVE_SLOTS = "SELECT id, slot FROM teams WHERE status = 'live' ORDER BY id"
SELECT_MY_TEAMS = f"""
SELECT {_TEAM_SUMMARY_COLUMNS},
       (SELECT min(tv.at) FROM team_visits tv WHERE tv.team_id = tm.id AND tv.status = 'planned' AND tv.at > now())
           AS next_visit
FROM team_members m JOIN teams tm ON tm.id = m.team_id {_TEAM_JOINS}
WHERE m.volunteer_id = $1 AND m.until IS NULL AND tm.status = 'live'
ORDER BY tm.id
"""


async def list_projects(conn: asyncpg.Connection, organisation_id: int) -> list[ProjectRow]:
    """The organisation's 311 projects (running or awaiting signature), newest first."""
    return await fetch_all(conn, SELECT_PROJECTS, ProjectRow, organisation_id)


async def get_project(conn: asyncpg.Connection, contract_id: int, organisation_id: int) -> ProjectRow | None:
    """One 311 project of the organisation."""
    return await fetch_one(conn, SELECT_PROJECT, ProjectRow, contract_id, organisation_id)


async def get_project_by_id(conn: asyncpg.Connection, contract_id: int) -> ProjectRow | None:
    """One 311 project, whoever runs it."""
    return await fetch_one(conn, SELECT_PROJECT_BY_ID, ProjectRow, contract_id)


async def project_households(conn: asyncpg.Connection, contract_id: int) -> list[ProjectHouseholdRow]:
    """The households a 311 project covers, each with its live team if any."""
    return await fetch_all(conn, SELECT_PROJECT_HOUSEHOLDS, ProjectHouseholdRow, contract_id)


async def carers(conn: asyncpg.Connection, contract_id: int, within_km: float) -> list[CarerRow]:
    """Volunteers living within `within_km` of a project household who gave weekly availability."""
    return await fetch_all(conn, SELECT_CARERS, CarerRow, contract_id, within_km)


async def live_teams(conn: asyncpg.Connection, contract_id: int) -> list[LiveTeamRow]:
    """A project's live teams with their live members."""
    return await fetch_all(conn, SELECT_LIVE_TEAMS, LiveTeamRow, contract_id)


async def refusals(conn: asyncpg.Connection, contract_id: int) -> list[RefusalRow]:
    """The carers refused by the project's households."""
    return await fetch_all(conn, SELECT_REFUSALS, RefusalRow, contract_id)


async def insert_team(
    conn: asyncpg.Connection,
    *,
    household_id: int,
    organisation_id: int,
    contract_id: int,
    slot: str,
    run_id: int | None,
) -> int:
    """A new live team; returns its id."""
    return int(await conn.fetchval(INSERT_TEAM, household_id, organisation_id, contract_id, slot, run_id))


async def add_member(conn: asyncpg.Connection, team_id: int, volunteer_id: int, trained: bool) -> None:
    """A volunteer joins a team from now."""
    await conn.execute(INSERT_MEMBER, team_id, volunteer_id, trained)


async def end_member(conn: asyncpg.Connection, team_id: int, volunteer_id: int, reason: str) -> bool:
    """A member leaves a team now, for a reason; False if they were not a live member."""
    return await conn.fetchval(END_MEMBER, team_id, volunteer_id, reason) is not None


async def set_slot(conn: asyncpg.Connection, team_id: int, slot: str, run_id: int | None) -> None:
    """Move a live team to another weekly slot (and note the run that did)."""
    await conn.execute(SET_TEAM_SLOT, team_id, slot, run_id)


async def dissolve(conn: asyncpg.Connection, team_id: int) -> bool:
    """End a live team and its memberships; False if it was not live."""
    return await conn.fetchval(DISSOLVE_TEAM, team_id) is not None


async def cancel_planned_visits(conn: asyncpg.Connection, team_id: int) -> None:
    """Cancel a team's planned visits to come."""
    await conn.execute(CANCEL_PLANNED_VISITS, team_id)


async def plan_visits(conn: asyncpg.Connection, team_id: int, times: list[dt.datetime]) -> None:
    """Plan visits at these times, once each."""
    await conn.execute(PLAN_VISITS, team_id, times)


async def add_refusal(
    conn: asyncpg.Connection, household_id: int, volunteer_id: int, team_id: int, recorded_by: int
) -> None:
    """Record that a household refuses a carer."""
    await conn.execute(INSERT_REFUSAL, household_id, volunteer_id, team_id, recorded_by)


async def get_team(conn: asyncpg.Connection, team_id: int) -> TeamRow | None:
    """One team by id."""
    return await fetch_one(conn, SELECT_TEAM, TeamRow, team_id)


async def project_teams(conn: asyncpg.Connection, contract_id: int) -> list[TeamRow]:
    """A project's live teams."""
    return await fetch_all(conn, SELECT_PROJECT_TEAMS, TeamRow, contract_id)


async def members(conn: asyncpg.Connection, team_id: int) -> list[MemberRow]:
    """A team's members, present first, then past."""
    return await fetch_all(conn, SELECT_MEMBERS, MemberRow, team_id)


async def is_live_member(conn: asyncpg.Connection, team_id: int, volunteer_id: int) -> bool:
    """Whether the volunteer is a present member of this live team."""
    return bool(await conn.fetchval(IS_LIVE_MEMBER, team_id, volunteer_id))


async def visits(conn: asyncpg.Connection, team_id: int, since: dt.datetime, until: dt.datetime) -> list[VisitRow]:
    """A team's planned and recorded visits in a time range, oldest first."""
    return await fetch_all(conn, SELECT_VISITS, VisitRow, team_id, since, until)


async def month_figures(
    conn: asyncpg.Connection, team_id: int, since: dt.datetime, until: dt.datetime
) -> MonthFiguresRow:
    """Minutes and contacts a team recorded in a time range."""
    row = await conn.fetchrow(SELECT_MONTH_FIGURES, team_id, since, until)
    assert row is not None  # an aggregate always returns one row
    return msgspec.convert(dict(row), MonthFiguresRow)


async def record_visit(
    conn: asyncpg.Connection, *, team_id: int, at: dt.datetime, minutes: int, contact_kind: str, volunteer_id: int
) -> int | None:
    """Record a contact (marking the planned visit at that time done); None if one is already recorded then."""
    value = await conn.fetchval(RECORD_VISIT, team_id, at, minutes, contact_kind, volunteer_id)
    return None if value is None else int(value)


async def project_month(
    conn: asyncpg.Connection, contract_id: int, since: dt.datetime, until: dt.datetime
) -> list[TeamMonthRow]:
    """Each live team's minutes and contacts in a time range."""
    return await fetch_all(conn, SELECT_PROJECT_MONTH, TeamMonthRow, contract_id, since, until)


async def committee_teams(
    conn: asyncpg.Connection, committee_id: int, since: dt.datetime, until: dt.datetime
) -> list[CommitteeTeamRow]:
    """The live teams serving a committee's households, with their figures in a time range."""
    return await fetch_all(conn, SELECT_COMMITTEE_TEAMS, CommitteeTeamRow, committee_id, since, until)


async def live_slots(conn: asyncpg.Connection) -> list[SlotRow]:
    """Every live team's slot (to keep their visits planned ahead)."""
    return await fetch_all(conn, SELECT_LIVE_SLOTS, SlotRow)


async def my_teams(conn: asyncpg.Connection, volunteer_id: int) -> list[MyTeamRow]:
    """The live teams a volunteer belongs to."""
    return await fetch_all(conn, SELECT_MY_TEAMS, MyTeamRow, volunteer_id)
