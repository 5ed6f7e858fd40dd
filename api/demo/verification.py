"""The demo's verified claims: staff of a publisher each volunteer holds a place with verified their certificates,
insurance and date of birth against the issuer's number; volunteers with no place keep theirs declared only. The
publishers confirmed the people holding places on home visits."""

from __future__ import annotations

import datetime as dt

import asyncpg

from sql import demo_volunteering as demo_sql
from sql import verification as verification_sql


async def seed_verification(conn: asyncpg.Connection, today: dt.date) -> int:
    """Verify the claims of volunteers who hold places and confirm home-visit volunteers; how many were verified."""
    claims = await demo_sql.demo_claims(conn, today)
    for c in claims:
        evidence_id = await verification_sql.insert_evidence(
            conn,
            volunteer_id=c.volunteer_id,
            subject=c.subject,
            certificate_kind=c.certificate_kind,
            content_type=None,
            content=None,
            issuer_number=f"DEMO-{c.volunteer_id}-{c.subject}-{c.certificate_kind}".rstrip("-"),
            uploaded_by=c.owner_account_id,
        )
        await verification_sql.record_opening(conn, evidence_id, c.verifier_account_id)
        check_id = await verification_sql.insert_check(
            conn,
            volunteer_id=c.volunteer_id,
            subject=c.subject,
            certificate_kind=c.certificate_kind,
            state="verified",
            evidence_id=evidence_id,
            issued_on=c.issued_on,
            expires_on=c.expires_on,
            born_on=c.born_on,
            reason="",
            decided_by=c.verifier_account_id,
            committee_id=c.committee_id,
            organisation_id=c.organisation_id,
        )
        await verification_sql.point_claim_at(conn, c.volunteer_id, c.subject, c.certificate_kind, check_id)
    await demo_sql.confirm_demo_visits(conn)
    return len(claims)
