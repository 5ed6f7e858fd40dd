"""Verifying what volunteers declare: the volunteer adds evidence to a claim; staff of a committee or organisation
the volunteer serves with open it, then verify, reject or later revoke (docs/volunteer-profile-and-shifts.md)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody

from api.auth import Conn, User, roles
from api.routes.paging import Limit, Offset
from api.schemas.common import out, outs
from api.schemas.verification import DecidedOut, EvidenceAdded, PendingOut
from api.schemas.volunteers import ClaimOut
from api.services import verification
from api.services.verification import UPLOAD_CEILING, IssuerNumber, Reject, Verify


class MyEvidenceController(Controller):
    """The calling volunteer's evidence for their claims (certificates by kind, `insurance`, `birth_date`)."""

    path = "/api/volunteers/me/claims"
    tags = ("verification",)
    guards = [roles("volunteer")]  # noqa: RUF012  (Litestar reads it per instance; ClassVar fails mypy)

    @get("/", operation_id="listMyClaims")
    async def claims(self, conn: Conn, user: User) -> list[ClaimOut]:
        """My declared claims and their states: declared, verified, expired, rejected, revoked."""
        return outs(await verification.my_claims(conn, user), ClaimOut)

    @post(
        "/{claim:str}/evidence",
        operation_id="uploadMyEvidence",
        status_code=201,
        request_max_body_size=UPLOAD_CEILING,
    )
    async def upload(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, claim: FromPath[str]
    ) -> EvidenceAdded:
        """Upload a scan or photo (JPEG, PNG or PDF, sent as the raw request body) for one of my claims."""
        content = await request.body()
        limit = int(request.app.state.settings.evidence_max_bytes)
        return EvidenceAdded(evidence_id=await verification.upload_evidence(conn, user, claim, content, limit))

    @put("/{claim:str}/issuer-number", operation_id="putMyIssuerNumber", status_code=201)
    async def issuer_number(
        self, conn: Conn, user: User, claim: FromPath[str], data: JSONBody[IssuerNumber]
    ) -> EvidenceAdded:
        """Give the issuer's number of my certificate or insurance policy, for the verifier to look up."""
        return EvidenceAdded(evidence_id=await verification.submit_issuer_number(conn, user, claim, data))


class VerificationController(Controller):
    """Staff of a committee or organisation verifying the volunteers who serve with them (待核验)."""

    path = "/api/verification"
    tags = ("verification",)
    guards = [roles("committee", "organisation")]  # noqa: RUF012

    @get("/pending", operation_id="listPendingEvidence")
    async def pending(self, conn: Conn, user: User, limit: Limit = 20, offset: Offset = 0) -> list[PendingOut]:
        """Evidence waiting for my committee or organisation to decide, oldest first."""
        return outs(await verification.pending(conn, user, limit=limit, offset=offset), PendingOut)

    @get("/evidence/{evidence_id:int}", operation_id="openEvidence", media_type="application/octet-stream")
    async def open(self, conn: Conn, user: User, evidence_id: FromPath[int]) -> Response[bytes]:
        """Open a piece of evidence: the file, or the issuer's number as text. Opening is recorded and required
        before a decision."""
        evidence = await verification.open_evidence(conn, user, evidence_id)
        if evidence.content is not None:
            body, media_type = evidence.content, evidence.content_type or "application/octet-stream"
        else:
            body, media_type = (evidence.issuer_number or "").encode(), "text/plain; charset=utf-8"
        return Response(
            content=body,
            media_type=media_type,
            headers={"cache-control": "no-store", "content-disposition": "inline", "x-content-type-options": "nosniff"},
        )

    @post("/evidence/{evidence_id:int}/verify", operation_id="verifyEvidence", status_code=200)
    async def verify(self, conn: Conn, user: User, evidence_id: FromPath[int], data: JSONBody[Verify]) -> DecidedOut:
        """Verify the claim this evidence supports (409 until I have opened it)."""
        return out(await verification.verify(conn, user, evidence_id, data), DecidedOut)

    @post("/evidence/{evidence_id:int}/reject", operation_id="rejectEvidence", status_code=200)
    async def reject(self, conn: Conn, user: User, evidence_id: FromPath[int], data: JSONBody[Reject]) -> DecidedOut:
        """Reject the evidence with a reason (409 until I have opened it)."""
        return out(await verification.reject(conn, user, evidence_id, data), DecidedOut)

    @post("/volunteers/{volunteer_id:int}/claims/{claim:str}/revoke", operation_id="revokeClaim", status_code=200)
    async def revoke(
        self, conn: Conn, user: User, volunteer_id: FromPath[int], claim: FromPath[str], data: JSONBody[Reject]
    ) -> ClaimOut:
        """Revoke a volunteer's verified claim, with the reason."""
        return out(await verification.revoke(conn, user, volunteer_id, claim, data), ClaimOut)
