"""Verifying what volunteers declare: evidence (uploads or the issuer's number), who opened it, the verifier's
decisions, who may verify whom, and the claims with their states."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class EvidenceRow(msgspec.Struct, frozen=True):
    """One piece of evidence with its bytes (or the issuer's number)."""

    id: int
    volunteer_id: int
    subject: str
    certificate_kind: str
    content_type: str | None
    content: bytes | None
    issuer_number: str | None
    created_at: dt.datetime


class DeclaredRow(msgspec.Struct, frozen=True):
    """What the volunteer declares for one claim now (the values a verifier confirms)."""

    number: str
    issued_on: dt.date | None
    expires_on: dt.date | None
    born_on: dt.date | None
    check_id: int | None


class CheckRow(msgspec.Struct, frozen=True):
    """A verifier's decision."""

    id: int
    volunteer_id: int
    subject: str
    certificate_kind: str
    state: str
    evidence_id: int
    expires_on: dt.date | None
    born_on: dt.date | None
    decided_by: int
    decided_at: dt.datetime
    revoked_at: dt.datetime | None


class ClaimRow(msgspec.Struct, frozen=True):
    """One claim on a volunteer's profile with its state (declared, verified, expired, rejected, revoked)."""

    subject: str
    certificate_kind: str
    number: str
    declared_expires_on: dt.date | None
    declared_born_on: dt.date | None
    state: str
    verified_expires_on: dt.date | None
    decided_at: dt.datetime | None
    verifier_tenant: str | None
    reason: str
    evidence_count: int
    latest_evidence_at: dt.datetime | None


class VerifiedRow(msgspec.Struct, frozen=True):
    """A claim the caller's tenant verified and that still stands (for staff to revoke when it proves false)."""

    check_id: int
    volunteer_id: int
    volunteer_name: str
    subject: str
    certificate_kind: str
    expires_on: dt.date | None
    born_on: dt.date | None
    decided_at: dt.datetime


class PendingRow(msgspec.Struct, frozen=True):
    """Evidence waiting for a verifier of the caller's tenant, with the claim it supports."""

    evidence_id: int
    volunteer_id: int
    volunteer_name: str
    subject: str
    certificate_kind: str
    form: str
    number: str
    declared_expires_on: dt.date | None
    declared_born_on: dt.date | None
    created_at: dt.datetime
    opened_by_me: bool


INSERT_EVIDENCE = """
INSERT INTO credential_evidence (volunteer_id, subject, certificate_kind, content_type, content, issuer_number,
                                 uploaded_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""
SELECT_EVIDENCE = """
SELECT id, volunteer_id, subject, certificate_kind, content_type, content, issuer_number, created_at
FROM credential_evidence WHERE id = $1
"""
RECORD_OPENING = """
INSERT INTO credential_evidence_openings (evidence_id, account_id) VALUES ($1, $2)
ON CONFLICT (evidence_id, account_id) DO NOTHING
"""
SELECT_OPENED = "SELECT EXISTS (SELECT 1 FROM credential_evidence_openings WHERE evidence_id = $1 AND account_id = $2)"
# A committee or organisation serves with a volunteer who holds or held a place on one of its shifts (waiting for a
# place is not holding one), or who is on a team it runs or that serves one of its households.
_SERVES_WITH = """
(EXISTS (SELECT 1 FROM signups g JOIN shifts s ON s.id = g.shift_id
         WHERE g.volunteer_id = {v} AND g.status <> 'waitlisted'
           AND (s.organisation_id = {org} OR s.committee_id = {com}))
 OR EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id JOIN households h ON h.id = t.household_id
            WHERE m.volunteer_id = {v} AND (t.organisation_id = {org} OR h.committee_id = {com})))
"""
SELECT_DECIDED = "SELECT EXISTS (SELECT 1 FROM credential_checks WHERE evidence_id = $1)"
SERVES_WITH = "SELECT " + _SERVES_WITH.format(v="$1", org="$2::bigint", com="$3::bigint")
SELECT_DECLARED = """
SELECT c.number, c.issued_on, c.expires_on, NULL::date AS born_on, c.check_id
FROM volunteer_certificates c WHERE c.volunteer_id = $1 AND $2 = 'certificate' AND c.kind = $3
UNION ALL
SELECT '', NULL, v.insured_until, NULL, v.insurance_check_id
FROM volunteers v WHERE v.id = $1 AND $2 = 'insurance' AND v.insured_until IS NOT NULL
UNION ALL
SELECT '', NULL, NULL, v.birth_date, v.birth_date_check_id
FROM volunteers v WHERE v.id = $1 AND $2 = 'birth_date' AND v.birth_date IS NOT NULL
"""
INSERT_CHECK = """
INSERT INTO credential_checks (volunteer_id, subject, certificate_kind, state, evidence_id, issued_on, expires_on,
                               born_on, reason, decided_by, committee_id, organisation_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id
"""
# The declaration's pointer to its current decision; no row back: the declaration is gone.
SET_CERTIFICATE_CHECK = """
UPDATE volunteer_certificates SET check_id = $3 WHERE volunteer_id = $1 AND kind = $2 RETURNING id
"""
SET_INSURANCE_CHECK = """
UPDATE volunteers SET insurance_check_id = $2 WHERE id = $1 AND insured_until IS NOT NULL RETURNING id
"""
SET_BIRTH_DATE_CHECK = """
UPDATE volunteers SET birth_date_check_id = $2 WHERE id = $1 AND birth_date IS NOT NULL RETURNING id
"""
SELECT_CHECK = """
SELECT id, volunteer_id, subject, certificate_kind, state, evidence_id, expires_on, born_on, decided_by, decided_at,
       revoked_at
FROM credential_checks WHERE id = $1
"""
REVOKE_CHECK = """
UPDATE credential_checks SET state = 'revoked', revoked_at = now(), revoked_by = $2
WHERE id = $1 AND state = 'verified'
RETURNING id
"""
_STATE = """
CASE WHEN k.id IS NULL THEN 'declared'
     WHEN k.state = 'verified' AND k.expires_on < (now() AT TIME ZONE 'Asia/Shanghai')::date THEN 'expired'
     ELSE k.state END
"""
_CLAIM_TAIL = f"""
{_STATE} AS state, CASE WHEN k.state = 'verified' THEN k.expires_on END AS verified_expires_on, k.decided_at,
coalesce(ko.name, kc.name) AS verifier_tenant, coalesce(k.reason, '') AS reason,
(SELECT count(*) FROM credential_evidence e
 WHERE e.volunteer_id = {{v}} AND e.subject = {{subject}} AND e.certificate_kind = {{kind}})::int AS evidence_count,
(SELECT max(e.created_at) FROM credential_evidence e
 WHERE e.volunteer_id = {{v}} AND e.subject = {{subject}} AND e.certificate_kind = {{kind}}) AS latest_evidence_at
"""
_CHECK_JOIN = """
LEFT JOIN organisations ko ON ko.id = k.organisation_id LEFT JOIN committees kc ON kc.id = k.committee_id
"""
SELECT_CLAIMS = f"""
SELECT 'certificate' AS subject, c.kind AS certificate_kind, c.number, c.expires_on AS declared_expires_on,
       NULL::date AS declared_born_on,
       {_CLAIM_TAIL.format(v="c.volunteer_id", subject="'certificate'", kind="c.kind")}
FROM volunteer_certificates c LEFT JOIN credential_checks k ON k.id = c.check_id {_CHECK_JOIN}
WHERE c.volunteer_id = $1
UNION ALL
SELECT 'insurance', '', '', v.insured_until, NULL,
       {_CLAIM_TAIL.format(v="v.id", subject="'insurance'", kind="''")}
FROM volunteers v LEFT JOIN credential_checks k ON k.id = v.insurance_check_id {_CHECK_JOIN}
WHERE v.id = $1 AND v.insured_until IS NOT NULL
UNION ALL
SELECT 'birth_date', '', '', NULL, v.birth_date,
       {_CLAIM_TAIL.format(v="v.id", subject="'birth_date'", kind="''")}
FROM volunteers v LEFT JOIN credential_checks k ON k.id = v.birth_date_check_id {_CHECK_JOIN}
WHERE v.id = $1 AND v.birth_date IS NOT NULL
ORDER BY 1, 2
"""
# Evidence nobody decided on yet, for a claim still declared and not verified now, of volunteers who serve with the
# caller's committee ($2) or organisation ($1); the oldest first.
SELECT_PENDING = f"""
SELECT e.id AS evidence_id, e.volunteer_id, v.display_name AS volunteer_name, e.subject, e.certificate_kind,
       CASE WHEN e.content IS NULL THEN 'issuer_number' ELSE 'upload' END AS form,
       coalesce(c.number, '') AS number,
       CASE e.subject WHEN 'certificate' THEN c.expires_on WHEN 'insurance' THEN v.insured_until END
           AS declared_expires_on,
       CASE WHEN e.subject = 'birth_date' THEN v.birth_date END AS declared_born_on,
       e.created_at,
       EXISTS (SELECT 1 FROM credential_evidence_openings o WHERE o.evidence_id = e.id AND o.account_id = $3)
           AS opened_by_me
FROM credential_evidence e
JOIN volunteers v ON v.id = e.volunteer_id
LEFT JOIN volunteer_certificates c ON e.subject = 'certificate' AND c.volunteer_id = e.volunteer_id
                                   AND c.kind = e.certificate_kind
LEFT JOIN credential_checks cur ON cur.id = CASE e.subject WHEN 'certificate' THEN c.check_id
                                                           WHEN 'insurance' THEN v.insurance_check_id
                                                           ELSE v.birth_date_check_id END
WHERE NOT EXISTS (SELECT 1 FROM credential_checks d WHERE d.evidence_id = e.id)
  AND (cur.id IS NULL OR cur.state <> 'verified')
  AND CASE e.subject WHEN 'certificate' THEN c.id IS NOT NULL
                     WHEN 'insurance' THEN v.insured_until IS NOT NULL
                     ELSE v.birth_date IS NOT NULL END
  AND {_SERVES_WITH.format(v="e.volunteer_id", org="$1::bigint", com="$2::bigint")}
  AND ($6::bigint IS NULL OR e.id = $6)
ORDER BY e.created_at, e.id
LIMIT $4 OFFSET $5
"""
# Verified decisions of the tenant ($1 organisation, $2 committee) that are still a claim's current one, newest
# first: a check a claim no longer points at (declared again, revoked) is not offered for revocation.
SELECT_VERIFIED_BY_TENANT = """
SELECT k.id AS check_id, k.volunteer_id, v.display_name AS volunteer_name, k.subject, k.certificate_kind,
       k.expires_on, k.born_on, k.decided_at
FROM credential_checks k JOIN volunteers v ON v.id = k.volunteer_id
WHERE k.state = 'verified' AND (k.organisation_id = $1::bigint OR k.committee_id = $2::bigint)
  AND (EXISTS (SELECT 1 FROM volunteer_certificates c WHERE c.check_id = k.id)
       OR v.insurance_check_id = k.id OR v.birth_date_check_id = k.id)
  AND ($5::bigint IS NULL OR k.id = $5)
ORDER BY k.decided_at DESC, k.id DESC
LIMIT $3 OFFSET $4
"""


async def insert_evidence(
    conn: asyncpg.Connection,
    *,
    volunteer_id: int,
    subject: str,
    certificate_kind: str,
    content_type: str | None,
    content: bytes | None,
    issuer_number: str | None,
    uploaded_by: int,
) -> int:
    """Store one piece of evidence; its id."""
    return int(
        await conn.fetchval(
            INSERT_EVIDENCE, volunteer_id, subject, certificate_kind, content_type, content, issuer_number, uploaded_by
        )
    )


async def get_evidence(conn: asyncpg.Connection, evidence_id: int) -> EvidenceRow | None:
    """One piece of evidence with its bytes."""
    return await fetch_one(conn, SELECT_EVIDENCE, EvidenceRow, evidence_id)


async def record_opening(conn: asyncpg.Connection, evidence_id: int, account_id: int) -> None:
    """Note that this account opened the evidence (the first time is kept)."""
    await conn.execute(RECORD_OPENING, evidence_id, account_id)


async def opened(conn: asyncpg.Connection, evidence_id: int, account_id: int) -> bool:
    """Whether this account opened the evidence."""
    return bool(await conn.fetchval(SELECT_OPENED, evidence_id, account_id))


async def decided(conn: asyncpg.Connection, evidence_id: int) -> bool:
    """Whether a verifier decided on this evidence already."""
    return bool(await conn.fetchval(SELECT_DECIDED, evidence_id))


async def serves_with(
    conn: asyncpg.Connection, volunteer_id: int, *, organisation_id: int | None, committee_id: int | None
) -> bool:
    """Whether the volunteer holds or held a place on the tenant's shifts, or is on one of its teams."""
    return bool(await conn.fetchval(SERVES_WITH, volunteer_id, organisation_id, committee_id))


async def declared(conn: asyncpg.Connection, volunteer_id: int, subject: str, kind: str) -> DeclaredRow | None:
    """What the volunteer declares now for a claim; None when nothing is declared."""
    return await fetch_one(conn, SELECT_DECLARED, DeclaredRow, volunteer_id, subject, kind)


async def insert_check(
    conn: asyncpg.Connection,
    *,
    volunteer_id: int,
    subject: str,
    certificate_kind: str,
    state: str,
    evidence_id: int,
    issued_on: dt.date | None,
    expires_on: dt.date | None,
    born_on: dt.date | None,
    reason: str,
    decided_by: int,
    committee_id: int | None,
    organisation_id: int | None,
) -> int:
    """Record a decision; its id."""
    return int(
        await conn.fetchval(
            INSERT_CHECK,
            volunteer_id,
            subject,
            certificate_kind,
            state,
            evidence_id,
            issued_on,
            expires_on,
            born_on,
            reason,
            decided_by,
            committee_id,
            organisation_id,
        )
    )


async def point_claim_at(conn: asyncpg.Connection, volunteer_id: int, subject: str, kind: str, check_id: int) -> bool:
    """Make the decision the claim's current one; False when the declaration is gone."""
    if subject == "certificate":
        found = await conn.fetchval(SET_CERTIFICATE_CHECK, volunteer_id, kind, check_id)
    elif subject == "insurance":
        found = await conn.fetchval(SET_INSURANCE_CHECK, volunteer_id, check_id)
    else:
        found = await conn.fetchval(SET_BIRTH_DATE_CHECK, volunteer_id, check_id)
    return found is not None


async def get_check(conn: asyncpg.Connection, check_id: int) -> CheckRow | None:
    """One decision."""
    return await fetch_one(conn, SELECT_CHECK, CheckRow, check_id)


async def revoke(conn: asyncpg.Connection, check_id: int, revoked_by: int) -> bool:
    """Revoke a verified decision; False when it is not (or no longer) verified."""
    return await conn.fetchval(REVOKE_CHECK, check_id, revoked_by) is not None


async def claims(conn: asyncpg.Connection, volunteer_id: int) -> list[ClaimRow]:
    """Every declared claim of a volunteer with its state."""
    return await fetch_all(conn, SELECT_CLAIMS, ClaimRow, volunteer_id)


async def pending(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    account_id: int,
    limit: int,
    offset: int,
    evidence_id: int | None = None,
) -> list[PendingRow]:
    """Evidence waiting for a decision by the tenant's staff, oldest first (or only the one piece asked for)."""
    return await fetch_all(
        conn, SELECT_PENDING, PendingRow, organisation_id, committee_id, account_id, limit, offset, evidence_id
    )


async def verified_by_tenant(
    conn: asyncpg.Connection,
    *,
    organisation_id: int | None,
    committee_id: int | None,
    limit: int,
    offset: int,
    check_id: int | None = None,
) -> list[VerifiedRow]:
    """The tenant's verified decisions that still stand, newest first (or only the one asked for)."""
    return await fetch_all(
        conn, SELECT_VERIFIED_BY_TENANT, VerifiedRow, organisation_id, committee_id, limit, offset, check_id
    )
