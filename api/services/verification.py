"""Verifying what volunteers declare: nothing self-declared opens restricted work.

A volunteer's certificates, insurance and date of birth are declared on the profile and count for restricted
shifts only once verified (docs/volunteer-profile-and-shifts.md, "Rules"):

- Evidence is a scan or photo (JPEG, PNG or PDF, recognised by its first bytes, at most LINLI_EVIDENCE_MAX_BYTES)
  or the issuer's number, to be looked up in the issuer's register. It is stored in PostgreSQL.
- Who verifies: staff of a committee or organisation the volunteer serves with (holds or held a place on one of its
  shifts, or is on one of its teams); never the volunteer (the schema refuses it too). Another tenant's volunteer's
  evidence answers as a missing one (404).
- The verifier opens the evidence first (recorded, audited); verifying unopened evidence is a 409.
- A verified certificate or insurance carries the expiry the verifier confirmed and counts until then; any
  verified claim can be revoked. Declaring a claim again (a new number, dates, expiry, birth date) clears its
  verification. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.types import NO_NUL, today
from api.services.volunteers import CERTIFICATE_KINDS
from sql import verification as verification_sql
from sql.verification import ClaimRow, EvidenceRow, PendingRow, VerifiedRow

_ONLY_VOLUNTEERS = "Only volunteers keep evidence for their profile"
_ONLY_STAFF = "Only staff of a residents' committee or an organisation may verify volunteers' claims"
NO_SUCH_EVIDENCE = "No such evidence"
# The file types a scan or photo may have, by the bytes they start with (never by the name or a header sent along).
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
SUBJECTS = ("insurance", "birth_date")
# The schema's hard ceiling for one file; the setting LINLI_EVIDENCE_MAX_BYTES is the working limit below it.
UPLOAD_CEILING = 20 * 1024 * 1024


class IssuerNumber(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The issuer's number of a certificate or insurance policy, for the verifier to look up."""

    number: Annotated[str, Meta(min_length=1, max_length=60, pattern=NO_NUL)]


class Verify(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A verification: the expiry the evidence shows (certificates and insurance; the declared one if omitted)."""

    expires_on: dt.date | None = None


class Reject(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rejection or a revocation, with the reason the volunteer will read."""

    reason: Annotated[str, Meta(min_length=1, max_length=500, pattern=NO_NUL)]


class Decided(msgspec.Struct, frozen=True):
    """A decision just recorded, and the claim as it now stands."""

    check_id: int
    volunteer_id: int
    claim: ClaimRow


def parse_claim(claim: str) -> tuple[str, str]:
    """(subject, certificate kind) of a claim's name: `insurance`, `birth_date` or a certificate kind."""
    if claim in SUBJECTS:
        return claim, ""
    if claim in CERTIFICATE_KINDS:
        return "certificate", claim
    raise NotFound("No such claim")


def claim_name(subject: str, kind: str) -> str:
    """The claim's name as the API spells it."""
    return kind if subject == "certificate" else subject


def sniff(content: bytes) -> str | None:
    """The file's type from its first bytes, if it is one we accept."""
    return next((kind for magic, kind in MAGIC if content.startswith(magic)), None)


async def _declared_or_refuse(conn: asyncpg.Connection, volunteer_id: int, subject: str, kind: str) -> None:
    if await verification_sql.declared(conn, volunteer_id, subject, kind) is None:
        raise Conflict(
            "Declare it on your profile first", fields={"claim": "Declare it on your profile first, then add evidence"}
        )


async def _store(
    conn: asyncpg.Connection,
    who: Identity,
    claim: str,
    *,
    content_type: str | None,
    content: bytes | None,
    number: str | None,
) -> int:
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    subject, kind = parse_claim(claim)
    async with conn.transaction():
        await _declared_or_refuse(conn, volunteer_id, subject, kind)
        evidence_id = await verification_sql.insert_evidence(
            conn,
            volunteer_id=volunteer_id,
            subject=subject,
            certificate_kind=kind,
            content_type=content_type,
            content=content,
            issuer_number=number,
            uploaded_by=who.account_id,
        )
        # The log records the form and size, never the contents.
        await audit_log.record(
            conn, who, "credential.evidence_added", "volunteer", volunteer_id,
            detail={"evidence_id": evidence_id, "claim": claim,
                    "form": "issuer_number" if content is None else "upload", "bytes": len(content or b"")},
        )  # fmt: skip
    return evidence_id


async def upload_evidence(conn: asyncpg.Connection, who: Identity, claim: str, content: bytes, max_bytes: int) -> int:
    """A volunteer adds a scan or photo for one of their claims; the evidence's id."""
    who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    if not content:
        raise Invalid("The file is empty", fields={"file": "Choose a scan or photo of the document"})
    if len(content) > max_bytes:
        raise Invalid(
            "The file is too large",
            fields={"file": "The file is too large"},
            max_bytes=max_bytes,
        )
    content_type = sniff(content)
    if content_type is None:
        raise Invalid("Only JPEG, PNG or PDF files are accepted", fields={"file": "Only JPEG, PNG or PDF files"})
    return await _store(conn, who, claim, content_type=content_type, content=content, number=None)


async def submit_issuer_number(conn: asyncpg.Connection, who: Identity, claim: str, form: IssuerNumber) -> int:
    """A volunteer gives the issuer's number of a certificate or insurance policy as evidence; its id."""
    subject, _ = parse_claim(claim)
    if subject == "birth_date":
        raise Invalid(
            "A date of birth is verified from a scan or photo",
            fields={"number": "Upload a scan or photo of your identity card or household register"},
        )
    return await _store(conn, who, claim, content_type=None, content=None, number=form.number.strip())


def _tenant(who: Identity) -> tuple[int | None, int | None]:
    if who.role == "organisation" and who.organisation_id is not None:
        return who.organisation_id, None
    if who.role == "committee" and who.committee_id is not None:
        return None, who.committee_id
    raise Forbidden(_ONLY_STAFF)


async def _evidence_for_verifier(conn: asyncpg.Connection, who: Identity, evidence_id: int) -> EvidenceRow:
    organisation_id, committee_id = _tenant(who)
    evidence = found(await verification_sql.get_evidence(conn, evidence_id), NO_SUCH_EVIDENCE)
    if not await verification_sql.serves_with(
        conn, evidence.volunteer_id, organisation_id=organisation_id, committee_id=committee_id
    ):
        raise NotFound(NO_SUCH_EVIDENCE)
    return evidence


async def open_evidence(conn: asyncpg.Connection, who: Identity, evidence_id: int) -> EvidenceRow:
    """A verifier opens a piece of evidence (the file, or the issuer's number); the opening is recorded."""
    evidence = await _evidence_for_verifier(conn, who, evidence_id)
    async with conn.transaction():
        await verification_sql.record_opening(conn, evidence_id, who.account_id)
        await audit_log.record(
            conn, who, "credential.evidence_opened", "volunteer", evidence.volunteer_id,
            detail={"evidence_id": evidence_id, "claim": claim_name(evidence.subject, evidence.certificate_kind)},
        )  # fmt: skip
    return evidence


async def pending(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[PendingRow]:
    """Evidence waiting for the caller's committee or organisation to decide, oldest first."""
    organisation_id, committee_id = _tenant(who)
    return await verification_sql.pending(
        conn,
        organisation_id=organisation_id,
        committee_id=committee_id,
        account_id=who.account_id,
        limit=limit,
        offset=offset,
    )


async def pending_one(conn: asyncpg.Connection, who: Identity, evidence_id: int) -> PendingRow:
    """One piece of evidence still waiting for the caller's committee or organisation (404 otherwise)."""
    organisation_id, committee_id = _tenant(who)
    rows = await verification_sql.pending(
        conn,
        organisation_id=organisation_id,
        committee_id=committee_id,
        account_id=who.account_id,
        limit=1,
        offset=0,
        evidence_id=evidence_id,
    )
    if not rows:
        raise NotFound(NO_SUCH_EVIDENCE)
    return rows[0]


async def verified_by_us(
    conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int, check_id: int | None = None
) -> list[VerifiedRow]:
    """The claims the caller's committee or organisation verified and that still stand, newest first."""
    organisation_id, committee_id = _tenant(who)
    return await verification_sql.verified_by_tenant(
        conn, organisation_id=organisation_id, committee_id=committee_id, limit=limit, offset=offset, check_id=check_id
    )


async def verified_one(conn: asyncpg.Connection, who: Identity, check_id: int) -> VerifiedRow:
    """One claim the caller's committee or organisation verified and that still stands (404 otherwise)."""
    rows = await verified_by_us(conn, who, limit=1, offset=0, check_id=check_id)
    if not rows:
        raise NotFound("No such claim")
    return rows[0]


async def _current_claim(conn: asyncpg.Connection, volunteer_id: int, subject: str, kind: str) -> ClaimRow:
    claims = await verification_sql.claims(conn, volunteer_id)
    return next(c for c in claims if c.subject == subject and c.certificate_kind == kind)


async def _decide(
    conn: asyncpg.Connection, who: Identity, evidence_id: int, *, state: str, expires_on: dt.date | None, reason: str
) -> Decided:
    organisation_id, committee_id = _tenant(who)
    evidence = await _evidence_for_verifier(conn, who, evidence_id)
    subject, kind = evidence.subject, evidence.certificate_kind
    if await verification_sql.decided(conn, evidence_id):
        raise Conflict("This evidence was decided on already")
    if not await verification_sql.opened(conn, evidence_id, who.account_id):
        raise Conflict("Open the evidence before you decide on it", fields={"evidence": "Open the evidence first"})
    try:
        async with conn.transaction():
            claim = await verification_sql.declared(conn, evidence.volunteer_id, subject, kind)
            if claim is None:
                raise Conflict("The volunteer no longer declares this")
            if claim.check_id is not None:
                current = await verification_sql.get_check(conn, claim.check_id)
                if current is not None and current.state == "verified":
                    raise Conflict("This is verified already; revoke it first to decide again")
            born_on = claim.born_on if subject == "birth_date" else None
            expiry = None if subject == "birth_date" else (expires_on or claim.expires_on)
            if state == "verified" and subject != "birth_date":
                if expiry is None:
                    raise Invalid(
                        "Give the expiry date the evidence shows",
                        fields={"expires_on": "Give the expiry date the evidence shows"},
                    )
                if expiry < today():
                    raise Invalid("It has expired", fields={"expires_on": "The expiry date has passed"})
                if claim.issued_on is not None and expiry <= claim.issued_on:
                    raise Invalid(
                        "The expiry date must be after the date of issue",
                        fields={"expires_on": "The expiry date must be after the date of issue"},
                    )
            check_id = await verification_sql.insert_check(
                conn,
                volunteer_id=evidence.volunteer_id,
                subject=subject,
                certificate_kind=kind,
                state=state,
                evidence_id=evidence_id,
                issued_on=claim.issued_on,
                expires_on=expiry if state == "verified" else None,
                born_on=born_on if state == "verified" else None,
                reason=reason,
                decided_by=who.account_id,
                committee_id=committee_id,
                organisation_id=organisation_id,
            )
            if not await verification_sql.point_claim_at(conn, evidence.volunteer_id, subject, kind, check_id):
                raise Conflict("The volunteer no longer declares this")
            await audit_log.record(
                conn, who, f"credential.{state}", "volunteer", evidence.volunteer_id,
                detail={"check_id": check_id, "claim": claim_name(subject, kind), "evidence_id": evidence_id,
                        "against": "upload" if evidence.content is not None else "issuer_number",
                        "committee_id": committee_id, "organisation_id": organisation_id,
                        "expires_on": expiry.isoformat() if expiry and state == "verified" else None},
            )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("This evidence was decided on already") from exc
    except asyncpg.CheckViolationError as exc:
        # The schema's own guard: the claim owner's account (never a staff account) cannot decide on it.
        raise Forbidden("You cannot verify your own claims") from exc
    return Decided(
        check_id=check_id,
        volunteer_id=evidence.volunteer_id,
        claim=await _current_claim(conn, evidence.volunteer_id, subject, kind),
    )


async def verify(conn: asyncpg.Connection, who: Identity, evidence_id: int, form: Verify) -> Decided:
    """Verify the claim a piece of evidence supports (the evidence must have been opened by the caller)."""
    return await _decide(conn, who, evidence_id, state="verified", expires_on=form.expires_on, reason="")


async def reject(conn: asyncpg.Connection, who: Identity, evidence_id: int, form: Reject) -> Decided:
    """Reject the evidence, saying why (the claim stays declared only)."""
    return await _decide(conn, who, evidence_id, state="rejected", expires_on=None, reason=form.reason.strip())


async def revoke(conn: asyncpg.Connection, who: Identity, volunteer_id: int, claim: str, form: Reject) -> ClaimRow:
    """Revoke a volunteer's verified claim (staff of a tenant the volunteer serves with); audited with the reason."""
    organisation_id, committee_id = _tenant(who)
    subject, kind = parse_claim(claim)
    if not await verification_sql.serves_with(
        conn, volunteer_id, organisation_id=organisation_id, committee_id=committee_id
    ):
        raise NotFound("No such claim")
    async with conn.transaction():
        declared = found(await verification_sql.declared(conn, volunteer_id, subject, kind), "No such claim")
        if declared.check_id is None or not await verification_sql.revoke(conn, declared.check_id, who.account_id):
            raise Conflict("Only a verified claim can be revoked")
        await audit_log.record(
            conn, who, "credential.revoked", "volunteer", volunteer_id,
            detail={"check_id": declared.check_id, "claim": claim, "reason": form.reason.strip(),
                    "committee_id": committee_id, "organisation_id": organisation_id},
        )  # fmt: skip
    return await _current_claim(conn, volunteer_id, subject, kind)


async def my_claims(conn: asyncpg.Connection, who: Identity) -> list[ClaimRow]:
    """The calling volunteer's claims with their states."""
    return await verification_sql.claims(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS))
