"""The demo's verified claims: staff of a publisher each volunteer holds a place with verified their certificates,
insurance and date of birth against the issuer's number; volunteers with no place keep theirs declared only. The
publishers confirmed the people holding places on home visits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from sql import demo_volunteering as demo_sql
from sql import verification as verification_sql
from sql.demo_volunteering import DemoClaimRow


async def seed_verification(conn: asyncpg.Connection, today: dt.date) -> int:
    """Verify the claims of volunteers who hold places and confirm home-visit volunteers; how many were verified."""
    claims = await demo_sql.demo_claims(conn, today)
    for c in claims:
        await verify_demo_claim(conn, c)
    await demo_sql.confirm_demo_visits(conn)
    return len(claims)


async def verify_demo_claim(conn: asyncpg.Connection, c: DemoClaimRow) -> None:
    """Staff verify one declared claim against its issuer's number, having opened it."""
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


async def verify_certificates(
    conn: asyncpg.Connection,
    certificates: Sequence[tuple[int, str, str, dt.date | None, dt.date | None]],
    *,
    verifier_account_id: int,
    committee_id: int,
) -> None:
    """A committee's staff verify certificates they saw (those of carers without an account were shown at the
    committee's office): (volunteer, kind, number, issued on, expires on) as the demo adds them."""
    accounts = await demo_sql.owners(conn, [c[0] for c in certificates])
    for v, kind, _number, issued_on, expires_on in certificates:
        await verify_demo_claim(conn, DemoClaimRow(
            volunteer_id=v, owner_account_id=accounts.get(v, verifier_account_id), subject="certificate",
            certificate_kind=kind, issued_on=issued_on, expires_on=expires_on, born_on=None,
            verifier_account_id=verifier_account_id, organisation_id=None, committee_id=committee_id,
        ))  # fmt: skip
