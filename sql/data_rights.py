"""Data rights (issue 15, item 6): what a volunteer's export reads, what erasing their account does to each table,
and what the retention schedule erases of a household that left.

Each table that refers to a volunteer or an account is declared once below: in `EXPORTS` (what the person
downloads), in `ERASURES` (a statement run when the account is erased) or `KEPT_ON_ERASURE` (rows kept holding only
ids, and why), or in `NOT_EXPORTED` (why the person's download leaves it out). `tests/test_data_rights_schema.py`
reads the catalogue and fails on a table that is missing from either side. Every statement takes one parameter,
$1: the volunteer's id, or the account's id where its `key` says "account".
"""

from __future__ import annotations

from typing import Any, Literal

import asyncpg
import msgspec

# A tombstone's fixed words (held by the CHECKs of migration 0038). They are stored in Chinese, as the name a report or
# a CSV shows; a page shows them through the catalogue in the reader's language (web/filters.py, `person`).
ERASED_VOLUNTEER = "已注销志愿者"
ERASED_GROUP = "已注销志愿者的团体"
ERASED_MEMBER = "已注销志愿者的成员"


class Export(msgspec.Struct, frozen=True):
    """One file of the download: its name, the tables it covers and the statement that reads it."""

    name: str
    tables: tuple[str, ...]
    query: str
    key: Literal["volunteer", "account"] = "volunteer"


class Erasure(msgspec.Struct, frozen=True):
    """One step of an account's erasure on one table."""

    table: str
    statement: str
    key: Literal["volunteer", "account"] = "volunteer"


# The person's own words and records, with the ids that tie them together; never a hash, key or token.
EXPORTS: tuple[Export, ...] = (
    Export(
        "profile",
        ("volunteers", "accounts"),
        """
SELECT v.id AS volunteer_id, v.number, a.username, v.display_name, v.birth_year, v.birth_date, v.phone,
       ar.name AS home_area, v.lat, v.lon, v.travel_km::float8 AS travel_km, v.weekly_hour_cap, v.skills,
       v.languages, v.dialects, v.insured_until, v.guardian_consent, v.guardian_name, v.sensitive_data_consent_at,
       a.locale, a.created_at AS account_created_at, v.created_at
FROM volunteers v JOIN accounts a ON a.id = v.account_id JOIN areas ar ON ar.id = v.home_area_id
WHERE v.id = $1
""",
    ),
    Export(
        "contacts",
        ("notification_contacts",),
        "SELECT email, phone, updated_at FROM notification_contacts WHERE account_id = $1",
        key="account",
    ),
    Export(
        "certificates",
        ("volunteer_certificates",),
        """
SELECT id, kind, number, issued_on, expires_on, created_at, check_id
FROM volunteer_certificates WHERE volunteer_id = $1 ORDER BY kind
""",
    ),
    Export(
        "credential_checks",
        ("credential_checks",),
        """
SELECT id, subject, certificate_kind, state, evidence_id, issued_on, expires_on, born_on, reason, decided_at,
       revoked_at
FROM credential_checks WHERE volunteer_id = $1 ORDER BY id
""",
    ),
    Export(
        "evidence",
        ("credential_evidence",),
        """
SELECT id, subject, certificate_kind, content_type, issuer_number, octet_length(content) AS bytes, created_at
FROM credential_evidence WHERE volunteer_id = $1 ORDER BY id
""",
    ),
    Export(
        "availability",
        ("volunteer_availability",),
        """
SELECT weekday, starts, ends FROM volunteer_availability
WHERE volunteer_id = $1 ORDER BY weekday, starts
""",
    ),
    Export(
        "availability_exceptions",
        ("availability_exceptions",),
        """
SELECT id, lower(during) AS starts_at, upper(during) AS ends_at, available, created_at
FROM availability_exceptions WHERE volunteer_id = $1 ORDER BY lower(during)
""",
    ),
    Export(
        "signups",
        ("signups", "commitments"),
        """
SELECT g.id, g.shift_id, s.title AS shift_title, lower(g.during) AS starts_at, upper(g.during) AS ends_at, g.status,
       g.created_at, g.cancelled_at, g.confirmed_at, g.released_at, g.no_show_at
FROM signups g JOIN shifts s ON s.id = g.shift_id
WHERE g.volunteer_id = $1 ORDER BY g.created_at, g.id
""",
    ),
    Export(
        "attendance",
        ("attendance",),
        """
SELECT a.id, a.shift_id, s.title AS shift_title, a.checked_in_at, a.checked_out_at, a.method, a.minutes, a.status,
       a.confirmed_at, a.reject_reason, a.created_at
FROM attendance a JOIN shifts s ON s.id = a.shift_id
WHERE a.volunteer_id = $1 ORDER BY a.created_at, a.id
""",
    ),
    Export(
        "service_certificates",
        ("service_certificates",),
        """
SELECT number, records, minutes, stars, issued_at, withdrawn_at
FROM service_certificates WHERE volunteer_id = $1 ORDER BY issued_at, id
""",
    ),
    Export(
        "timebank",
        ("ledger_accounts",),
        """
SELECT t.id AS transaction_id, t.kind, t.created_at,
       sum(e.minutes) FILTER (WHERE e.bucket = 'own')::int AS own_minutes,
       sum(e.minutes) FILTER (WHERE e.bucket = 'group')::int AS group_minutes,
       t.over_cap_minutes, t.service, t.memo, t.attendance_id
FROM ledger_accounts la JOIN ledger_entries e ON e.account_id = la.id
JOIN ledger_transactions t ON t.id = e.transaction_id
WHERE la.volunteer_id = $1
GROUP BY t.id ORDER BY t.created_at, t.id
""",
    ),
    Export(
        "notifications",
        ("notifications",),
        """
SELECT id, kind, shift_id, params, status, channel, created_at, sent_at, read_at
FROM notifications WHERE account_id = $1 ORDER BY created_at, id
""",
        key="account",
    ),
    Export(
        "handovers",
        ("handovers",),
        """
SELECT id, shift_id, CASE WHEN volunteer_id = $1 THEN 'offered' ELSE 'taken' END AS my_part, status, offered_at,
       requested_at, closed_at
FROM handovers WHERE (volunteer_id = $1 OR taker_volunteer_id = $1) ORDER BY id
""",
    ),
    Export(
        "groups",
        ("shift_groups", "group_members"),
        """
SELECT gr.id AS group_id, gr.shift_id, gr.name AS group_name, gr.leader_volunteer_id = $1 AS i_lead, m.id AS member_id,
       m.volunteer_id = $1 AS is_me, m.person_name, m.birth_year, m.guardian_consent_at, m.status, m.minutes,
       m.created_at
FROM shift_groups gr JOIN group_members m ON m.group_id = gr.id
WHERE (gr.leader_volunteer_id = $1 OR m.volunteer_id = $1)
ORDER BY gr.id, m.id
""",
    ),
    Export(
        "roster_proposals",
        ("roster_proposals",),
        """
SELECT id, roster_id, shift_id, status, created_at, decided_at
FROM roster_proposals WHERE volunteer_id = $1 ORDER BY id
""",
    ),
    # A planner's pins of this person on a shift (plans people can steer, issue 15 item 7); pinned_by is staff.
    Export(
        "roster_pins",
        ("roster_pins",),
        "SELECT id, roster_id, shift_id, pinned_at FROM roster_pins WHERE volunteer_id = $1 ORDER BY id",
    ),
    # A 311 project's pins of this person to a household's team (issue 15 item 7); pinned_by is staff.
    Export(
        "carer_rosters",
        ("carers", "carer_absences"),
        """
SELECT c.id, o.name AS organisation, c.name, c.lat, c.lon, c.work_days, c.work_starts, c.work_ends, c.travel_mode,
       c.active, c.joined_at, c.created_at,
       (SELECT coalesce(array_agg(a.since ORDER BY a.since), '{}') FROM carer_absences a WHERE a.carer_id = c.id)
           AS absences_since
FROM carers c JOIN organisations o ON o.id = c.organisation_id
WHERE c.volunteer_id = $1 ORDER BY c.id
""",
    ),
    Export(
        "planned_visits",
        ("planned_visits",),
        """
SELECT id, household_id, service, lower(during) AS starts_at, upper(during) AS ends_at, status, checked_in_at
FROM planned_visits WHERE volunteer_id = $1 ORDER BY lower(during), id
""",
    ),
    Export(
        "team_pins",
        ("team_pins",),
        "SELECT id, contract_id, household_id, pinned_at FROM team_pins WHERE volunteer_id = $1 ORDER BY id",
    ),
    # A home-visit day's pins of this person's visits (issue 15 item 7); pinned_by is staff.
    Export(
        "visit_pins",
        ("visit_pins",),
        """
SELECT p.id, p.visit_day_id, p.visit_key, p.household_id, p.pinned_at
FROM visit_pins p JOIN carers c ON c.id = p.carer_id WHERE c.volunteer_id = $1 ORDER BY p.id
""",
    ),
    Export(
        "teams",
        ("team_members", "team_visits"),
        """
SELECT m.team_id, m.trained, m.since, m.until, m.ended_reason,
       (SELECT count(*) FROM team_visits tv WHERE tv.team_id = m.team_id AND tv.recorded_by = $1)::int
           AS visits_recorded
FROM team_members m WHERE m.volunteer_id = $1 ORDER BY m.since, m.id
""",
    ),
    Export(
        "household_links",
        ("household_confirmations", "household_refusals"),
        """
SELECT 'confirmed' AS kind, c.household_id, c.shift_id, NULL::bigint AS team_id, c.confirmed_at AS at
FROM household_confirmations c WHERE c.volunteer_id = $1
UNION ALL
SELECT 'refused', r.household_id, NULL, r.team_id, r.recorded_at
FROM household_refusals r WHERE r.volunteer_id = $1
ORDER BY at
""",
    ),
    Export(
        "checkin_code_failures",
        ("checkin_code_failures",),
        "SELECT shift_id, at FROM checkin_code_failures WHERE volunteer_id = $1 ORDER BY at",
    ),
    Export(
        "sessions",
        ("sessions",),
        """
SELECT created_at, last_seen_at, expires_at, user_agent, address
FROM sessions WHERE account_id = $1 ORDER BY created_at
""",
        key="account",
    ),
    Export(
        "api_tokens",
        ("api_tokens",),
        """
SELECT id, name, created_at, expires_at, last_used_at, revoked_at
FROM api_tokens WHERE account_id = $1 ORDER BY id
""",
        key="account",
    ),
    Export(
        "logins",
        ("login_attempts",),
        """
SELECT l.at, l.address, l.succeeded FROM login_attempts l JOIN accounts a ON lower(a.username) = lower(l.username)
WHERE a.id = $1 ORDER BY l.at
""",
        key="account",
    ),
    Export(
        "password_resets",
        ("password_resets",),
        """
SELECT created_at, expires_at, ended_at, attempts, address
FROM password_resets WHERE account_id = $1 ORDER BY created_at
""",
        key="account",
    ),
    Export(
        "my_actions",
        ("audit_log",),
        """
SELECT at, action, object_type, object_id, detail FROM audit_log
WHERE actor_account_id = $1 ORDER BY id
""",
        key="account",
    ),
    Export(
        "coin_bookings",
        ("coin_bookings",),
        """
SELECT b.id, i.name AS item, c.name AS committee, b.price_minutes, b.status, b.code, b.booked_at,
       sl.starts_at AS slot_starts_at, b.cancelled_at, b.redeemed_at
FROM coin_bookings b JOIN coin_items i ON i.id = b.item_id JOIN committees c ON c.id = b.committee_id
LEFT JOIN coin_slots sl ON sl.id = b.slot_id
WHERE b.volunteer_id = $1 ORDER BY b.booked_at, b.id
""",
    ),
)

# The files a volunteer uploaded as evidence, for the download's evidence/ folder (an issuer's number is no file).
SELECT_EVIDENCE_FILES = """
SELECT id, content_type, content FROM credential_evidence WHERE volunteer_id = $1 AND content IS NOT NULL ORDER BY id
"""

# Columns that only staff accounts fill (a volunteer account never creates a tender or publishes a shift): they keep
# the staff member's account id, which is neither in a volunteer's download nor touched by a volunteer's erasure.
STAFF_ONLY: dict[str, str] = {
    "needs": "created by committee staff",
    "tenders": "created by funder staff",
    "tender_reviewers": "reviewer accounts",
    "reviews": "reviewer accounts",
    "match_runs": "started by staff",
    "objections": "filed by organisations",
    "bid_events": "organisation accounts",
    "calls": "created by funder staff",
    "shifts": "published by staff",
    "proposal_scores": "reviewer accounts",
    "shift_series": "published by staff",
    "rosters": "created by staff",
    "respite_entitlements": "created by committee staff",
    "respite_requests": "created by committee staff",
    "organisation_checks": "decided by admins",
    "staff_invitations": "staff accounts",
    "register_imports": "made by committee staff",
    "travel_matrices": "made by organisation or committee staff for their plans (uploaded_by names who)",
    "saved_places": "created by staff",
    "milestone_attachments": "organisation accounts",
    "memberships": "a volunteer account has no membership",
    "coin_items": "a committee's catalogue, kept by its staff",
    "visit_ratings": "entered by committee staff on a household's behalf (the rating is the household's)",
}

# Tables that refer to a volunteer or an account and are not in the person's download, and why.
NOT_EXPORTED: dict[str, str] = {
    **STAFF_ONLY,
    "ledger_transactions": "created_by is whoever made a transfer; the person's own transfers are in timebank",
    "credential_evidence_openings": "staff opening the evidence; the evidence itself is exported",
    # Elders' data (docs/teams-and-household-data.md): readable in the platform only while the carer serves the
    # household, so never carried off in a download; erased on the household's retention schedule.
    "visit_notes": "notes about an elder, the household's data; the carer reads them only while serving it",
    "visit_incidents": "incidents at an elder's home, the household's data (as visit_notes)",
}

# Erasing an account, in this order (a later step may need an earlier one: the tombstone drops the check ids before
# the checks go). The person's future places are cancelled and their balance moved before these run, by the
# service, through the ordinary paths.
ERASURES: tuple[Erasure, ...] = (
    Erasure("notification_contacts", "DELETE FROM notification_contacts WHERE account_id = $1", key="account"),
    Erasure("sessions", "DELETE FROM sessions WHERE account_id = $1", key="account"),
    Erasure("api_tokens", "DELETE FROM api_tokens WHERE account_id = $1", key="account"),
    Erasure("password_resets", "DELETE FROM password_resets WHERE account_id = $1", key="account"),
    Erasure("notifications", "DELETE FROM notifications WHERE account_id = $1", key="account"),
    Erasure(
        "login_throttle",
        """
DELETE FROM login_throttle t USING accounts a WHERE a.id = $1 AND lower(t.username) = lower(a.username)
""",
        key="account",
    ),
    Erasure(
        "login_attempts",
        """
DELETE FROM login_attempts l USING accounts a WHERE a.id = $1 AND lower(l.username) = lower(a.username)
""",
        key="account",
    ),
    Erasure("volunteer_certificates", "DELETE FROM volunteer_certificates WHERE volunteer_id = $1"),
    Erasure("volunteer_availability", "DELETE FROM volunteer_availability WHERE volunteer_id = $1"),
    Erasure("availability_exceptions", "DELETE FROM availability_exceptions WHERE volunteer_id = $1"),
    Erasure(
        "volunteers",
        f"""
UPDATE volunteers SET erased_at = now(), display_name = '{ERASED_VOLUNTEER}', birth_year = NULL, birth_date = NULL,
       phone = '', lat = 0, lon = 0, skills = '{{}}', languages = '{{}}', dialects = '{{}}', guardian_name = NULL,
       guardian_consent = false, insured_until = NULL, insurance_check_id = NULL, birth_date_check_id = NULL,
       claim_code_hash = NULL, sensitive_data_consent_at = NULL, calendar_key = gen_random_uuid()
WHERE id = $1 AND erased_at IS NULL
""",
    ),
    # The evidence's checks and the staff's openings of it go with it (ON DELETE CASCADE).
    Erasure("credential_checks", "DELETE FROM credential_checks WHERE volunteer_id = $1"),
    Erasure("credential_evidence", "DELETE FROM credential_evidence WHERE volunteer_id = $1"),
    Erasure("checkin_code_failures", "DELETE FROM checkin_code_failures WHERE volunteer_id = $1"),
    # A publisher's confirmation of this person for a household, and a household's refusal of them: nobody is left
    # to visit or to propose.
    Erasure("household_confirmations", "DELETE FROM household_confirmations WHERE volunteer_id = $1"),
    Erasure("household_refusals", "DELETE FROM household_refusals WHERE volunteer_id = $1"),
    # Their 311 teams run one short until the next run (as when a carer leaves).
    Erasure(
        "team_members",
        """
UPDATE team_members SET until = now(), ended_reason = 'left'
WHERE volunteer_id = $1 AND until IS NULL
""",
    ),
    Erasure(
        "roster_proposals",
        """
UPDATE roster_proposals SET status = 'declined', decided_at = now()
WHERE volunteer_id = $1 AND status = 'proposed'
""",
    ),
    # Nobody is left to keep on those shifts.
    Erasure("roster_pins", "DELETE FROM roster_pins WHERE volunteer_id = $1"),
    Erasure("team_pins", "DELETE FROM team_pins WHERE volunteer_id = $1"),
    Erasure("visit_pins", "DELETE FROM visit_pins p USING carers c WHERE c.id = p.carer_id AND c.volunteer_id = $1"),
    # On an organisation's carer roster: off it, without the name and base the organisation knew them by; their
    # sick calls go; their visits still to come are released for the organisation to plan again (as after a sick
    # call), the past ones stay for the households' history by id.
    Erasure(
        "carer_absences",
        "DELETE FROM carer_absences a USING carers c WHERE c.id = a.carer_id AND c.volunteer_id = $1",
    ),
    Erasure(
        "planned_visits",
        """
UPDATE planned_visits SET status = 'released', released_at = now()
WHERE volunteer_id = $1 AND status = 'planned' AND lower(during) > now()
""",
    ),
    Erasure(
        "carers",
        f"UPDATE carers SET name = '{ERASED_VOLUNTEER}', lat = 0, lon = 0, active = false WHERE volunteer_id = $1",
    ),
    # A take they asked for and the publisher has not approved lapses: the offer opens again.
    Erasure(
        "handovers",
        """
UPDATE handovers SET status = 'open', taker_volunteer_id = NULL, requested_at = NULL
WHERE taker_volunteer_id = $1 AND status = 'requested'
""",
    ),
    # The groups they led keep their places' history, but neither the group's name nor the names of the people
    # they recorded under it (children, friends without an account).
    Erasure(
        "shift_groups",
        f"UPDATE shift_groups SET name = '{ERASED_GROUP}' WHERE leader_volunteer_id = $1",
    ),
    Erasure(
        "group_members",
        f"""
UPDATE group_members m SET person_name = '{ERASED_MEMBER}'
FROM shift_groups gr
WHERE gr.id = m.group_id AND gr.leader_volunteer_id = $1 AND m.person_name IS NOT NULL
""",
    ),
    Erasure(
        "service_certificates",
        """
UPDATE service_certificates SET withdrawn_at = now(), withdrawn_reason = 'account_erased'
WHERE volunteer_id = $1 AND withdrawn_at IS NULL
""",
    ),
    Erasure(
        "accounts",
        f"""
UPDATE accounts SET erased_at = now(), username = 'erased.' || id::text, display_name = '{ERASED_VOLUNTEER}',
       password_hash = '', disabled_at = coalesce(disabled_at, now())
WHERE id = $1 AND erased_at IS NULL
""",
        key="account",
    ),
)

# Tables whose rows outlive the person, holding only ids (of the tombstone), and why.
KEPT_ON_ERASURE: dict[str, str] = {
    # The organisations' and committees' reports: who served (now 已注销志愿者), when and how long.
    "signups": "past places; the future ones are cancelled through shifts.cancel_place first",
    "attendance": "hours records, which the publishers' reports and the dashboards count",
    "commitments": "follow the sign-ups and team visits (triggers)",
    "team_visits": "the household's visit history names the recorder by id",
    "ledger_accounts": "the append-only ledger; its name is 'volunteer:<id>', the balance goes to the pool first",
    "audit_log": "append-only and chained; its entries hold ids only (tests/test_data_rights.py scans them)",
    "ledger_transactions": "append-only; created_by is an id",
    "credential_evidence_openings": "deleted with the evidence (ON DELETE CASCADE)",
    "coin_bookings": "the committees' redemption lists and settlement; the open ones are cancelled (refunded) first",
    "planned_visits": "the visits done and planned stay for the households' history by id; those to come are released",
    "carers": "the roster row stays (its planned visits name it) without the name and base",
    "visit_notes": "the household's record of care names the carer by id; erased on the household's schedule",
    "visit_incidents": "the committee's record of what happened names the carer by id (as visit_notes)",
    **STAFF_ONLY,
}

# What the retention schedule erases of a household that left the service more than the retention ago ($1: its id).
# Team visits stay (ids, times and minutes: the carers' contribution); notes about them go when they exist.
HOUSEHOLD_RETENTION_ERASURES: tuple[Erasure, ...] = (
    Erasure("visit_notes", "DELETE FROM visit_notes WHERE household_id = $1"),
    Erasure("visit_incidents", "DELETE FROM visit_incidents WHERE household_id = $1"),
    Erasure("visit_rating_links", "DELETE FROM visit_rating_links WHERE household_id = $1"),
    Erasure("visit_ratings", "DELETE FROM visit_ratings WHERE household_id = $1"),
    Erasure("respite_requests", "DELETE FROM respite_requests WHERE household_id = $1"),
    Erasure("respite_entitlements", "DELETE FROM respite_entitlements WHERE household_id = $1"),
    Erasure("household_confirmations", "DELETE FROM household_confirmations WHERE household_id = $1"),
    Erasure("household_refusals", "DELETE FROM household_refusals WHERE household_id = $1"),
    Erasure("team_pins", "DELETE FROM team_pins WHERE household_id = $1"),
    Erasure("visit_pins", "DELETE FROM visit_pins WHERE household_id = $1"),
    Erasure(
        "households",
        """
UPDATE households SET erased_at = now(), address = '**', head_name = '已退出',
       lat = round(lat::numeric, 1)::double precision, lon = round(lon::numeric, 1)::double precision
WHERE id = $1 AND archived_at IS NOT NULL AND erased_at IS NULL
""",
    ),
)

SELECT_ACCOUNT_OF_VOLUNTEER = """
SELECT a.id FROM accounts a JOIN volunteers v ON v.account_id = a.id
WHERE v.id = $1 AND a.erased_at IS NULL
FOR UPDATE OF a, v
"""
SELECT_PASSWORD_HASH = "SELECT password_hash FROM accounts WHERE id = $1"
# Live sign-ups still to come (a place or a waitlist entry), with whether they lead a live group on that shift.
SELECT_FUTURE_SIGNUPS = """
SELECT g.shift_id,
       (SELECT gr.id FROM shift_groups gr
        WHERE gr.shift_id = g.shift_id AND gr.leader_volunteer_id = $1 AND gr.status = 'active') AS group_id
FROM signups g JOIN shifts s ON s.id = g.shift_id
WHERE g.volunteer_id = $1 AND g.status IN ('active', 'waitlisted') AND s.starts_at > now()
ORDER BY s.starts_at, g.shift_id
"""
# The time-coin bookings not yet redeemed nor cancelled, cancelled (refunded) before the balance goes to the pool.
SELECT_OPEN_BOOKINGS = "SELECT id FROM coin_bookings WHERE volunteer_id = $1 AND status = 'booked' ORDER BY id"
# Households that left the service more than the retention ago and still hold what was kept for the history.
SELECT_HOUSEHOLDS_DUE = """
SELECT id FROM households
WHERE archived_at IS NOT NULL AND erased_at IS NULL AND archived_at < now() - make_interval(months => $1)
ORDER BY archived_at, id
LIMIT $2
"""


async def export_rows(
    conn: asyncpg.Connection, export: Export, volunteer_id: int, account_id: int
) -> list[dict[str, Any]]:
    """One file's rows, as dicts in the statement's column order."""
    key = account_id if export.key == "account" else volunteer_id
    return [dict(record) for record in await conn.fetch(export.query, key)]


async def evidence_files(conn: asyncpg.Connection, volunteer_id: int) -> list[tuple[int, str, bytes]]:
    """The volunteer's uploaded files: id, content type, bytes."""
    return [
        (int(r["id"]), str(r["content_type"]), bytes(r["content"]))
        for r in await conn.fetch(SELECT_EVIDENCE_FILES, volunteer_id)
    ]


async def lock_live_account(conn: asyncpg.Connection, volunteer_id: int) -> int | None:
    """The volunteer's account id, locked with the volunteer's row; None if already erased."""
    found = await conn.fetchval(SELECT_ACCOUNT_OF_VOLUNTEER, volunteer_id)
    return None if found is None else int(found)


async def password_hash(conn: asyncpg.Connection, account_id: int) -> str:
    """The account's stored password hash."""
    return str(await conn.fetchval(SELECT_PASSWORD_HASH, account_id))


async def future_signups(conn: asyncpg.Connection, volunteer_id: int) -> list[tuple[int, int | None]]:
    """(shift id, the live group they lead on it or None) for each live sign-up still to come."""
    return [
        (int(r["shift_id"]), None if r["group_id"] is None else int(r["group_id"]))
        for r in await conn.fetch(SELECT_FUTURE_SIGNUPS, volunteer_id)
    ]


async def open_bookings(conn: asyncpg.Connection, volunteer_id: int) -> list[int]:
    """The ids of the volunteer's time-coin bookings still open."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_OPEN_BOOKINGS, volunteer_id)]


async def run_erasure(conn: asyncpg.Connection, step: Erasure, key: int) -> int:
    """Run one step for one volunteer, account or household; how many rows it touched."""
    status = await conn.execute(step.statement, key)
    return int(status.rsplit(" ", 1)[-1])


async def households_due(conn: asyncpg.Connection, months: int, limit: int) -> list[int]:
    """Households that left more than `months` ago and are not erased yet, oldest first."""
    return [int(r["id"]) for r in await conn.fetch(SELECT_HOUSEHOLDS_DUE, months, limit)]
