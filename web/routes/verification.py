"""待核验 pages for staff of a committee or organisation: the evidence volunteers sent, opened before a decision
(an image shown, a PDF downloaded, an issuer's number shown), then verified or rejected, and later revoked — each
decision through a page that says what it will do (docs/volunteer-profile-and-shifts.md, "Rules")."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import verification
from api.services.accounts import Identity
from api.services.verification import Reject, Verify
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, confirm_page, multi

STAFF = [roles("committee", "organisation")]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(verified|rejected|revoked)$")]
# A busy committee decides a few dozen a week; the oldest come first, so the page never hides the next to do.
PENDING_SHOWN = 100
VERIFIED_SHOWN = 30
# The refusals of a decision shown beside the page's field (not opened, decided already, one's own claim, a wrong
# date); a missing piece of evidence is the error page.
REFUSALS = (403, 409, 422)


async def _decision_page(
    conn: Conn,
    user: Identity,
    evidence_id: int,
    decision: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    item = await verification.pending_one(conn, user, evidence_id)
    expiry = item.declared_expires_on.isoformat() if item.declared_expires_on else ""
    page = confirm_page(
        f"evidence_{decision}",
        user,
        action=f"verification_{decision}",
        back="verification_pending_item",
        params={"evidence_id": evidence_id},
        item=item,
        errors=errors or {},
        values=values if values is not None else {"expires_on": expiry, "reason": ""},
    )
    page.status_code = status
    return page


class VerificationPages(Controller):
    """待核验: evidence to decide on, and the claims we verified (to revoke)."""

    include_in_schema = False

    @get("/verification", name="verification_pending", guards=STAFF)
    async def pending(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """Evidence waiting for our decision, oldest first, and the claims we verified that still stand."""
        return Template(
            template_name="verification/pending.html",
            context={
                "who": user,
                "done": done,
                "items": await verification.pending(conn, user, limit=PENDING_SHOWN, offset=0),
                "verified": await verification.verified_by_us(conn, user, limit=VERIFIED_SHOWN, offset=0),
            },
        )

    @get("/verification/evidence/{evidence_id:int}/back", name="verification_pending_item", guards=STAFF)
    async def back(self, evidence_id: FromPath[int]) -> PageRedirect:
        """The way back from a decision page: the list, at that piece of evidence."""
        return PageRedirect("verification_pending", fragment=f"evidence-{evidence_id}")

    @get("/verification/evidence/{evidence_id:int}", name="verification_evidence", guards=STAFF)
    async def open(self, conn: Conn, user: User, evidence_id: FromPath[int]) -> Response[Any]:
        """Open the evidence (recorded): an image shown, a PDF downloaded, an issuer's number on a page."""
        evidence = await verification.open_evidence(conn, user, evidence_id)
        if evidence.content is None:
            return Template(
                template_name="verification/number.html",
                context={"who": user, "evidence": evidence},
                headers={"cache-control": "no-store"},
            )
        media_type = evidence.content_type or "application/octet-stream"
        disposition = (
            "inline" if media_type.startswith("image/") else f'attachment; filename="evidence-{evidence_id}.pdf"'
        )
        return Response(
            content=evidence.content,
            media_type=media_type,
            headers={"cache-control": "no-store", "content-disposition": disposition},
        )

    @get("/verification/evidence/{evidence_id:int}/verify", name="verification_verify_ask", guards=STAFF)
    async def verify_ask(self, conn: Conn, user: User, evidence_id: FromPath[int]) -> Response[Any]:
        """Ask before verifying, with the expiry date the evidence shows (or the date of birth) to confirm."""
        return await _decision_page(conn, user, evidence_id, "verify")

    @post("/verification/evidence/{evidence_id:int}/verify", name="verification_verify", guards=STAFF)
    async def verify(self, conn: Conn, user: User, evidence_id: FromPath[int], data: FormData) -> Response[Any]:
        """Verify the claim; the decision page again with the reason beside the field when refused."""
        form = multi(data)
        raw = form.get("expires_on", "").strip()
        return await submit(
            parse_form(Verify, form, {"expires_on": raw or None}),
            lambda command: verification.verify(conn, user, evidence_id, command),
            lambda _decided: PageRedirect("verification_pending", query={"done": "verified"}),
            lambda errors, status: _decision_page(
                conn, user, evidence_id, "verify", errors=errors, values={"expires_on": raw}, status=status
            ),
            refusal="expires_on",
            refusal_statuses=REFUSALS,
        )

    @get("/verification/evidence/{evidence_id:int}/reject", name="verification_reject_ask", guards=STAFF)
    async def reject_ask(self, conn: Conn, user: User, evidence_id: FromPath[int]) -> Response[Any]:
        """Ask for the reason before rejecting the evidence."""
        return await _decision_page(conn, user, evidence_id, "reject")

    @post("/verification/evidence/{evidence_id:int}/reject", name="verification_reject", guards=STAFF)
    async def reject(self, conn: Conn, user: User, evidence_id: FromPath[int], data: FormData) -> Response[Any]:
        """Reject the evidence with the reason the volunteer will read."""
        form = multi(data)
        typed = {"reason": form.get("reason", "")}
        return await submit(
            parse_form(Reject, form),
            lambda command: verification.reject(conn, user, evidence_id, command),
            lambda _decided: PageRedirect("verification_pending", query={"done": "rejected"}),
            lambda errors, status: _decision_page(
                conn, user, evidence_id, "reject", errors=errors, values=typed, status=status
            ),
            refusal="reason",
            refusal_statuses=REFUSALS,
        )

    @get("/verification/checks/{check_id:int}/revoke", name="verification_revoke_ask", guards=STAFF)
    async def revoke_ask(self, conn: Conn, user: User, check_id: FromPath[int]) -> Template:
        """Ask for the reason before revoking a verified claim."""
        return await self._revoke_page(conn, user, check_id)

    @post("/verification/checks/{check_id:int}/revoke", name="verification_revoke", guards=STAFF)
    async def revoke(self, conn: Conn, user: User, check_id: FromPath[int], data: FormData) -> Response[Any]:
        """Revoke the verified claim: it no longer counts for restricted shifts."""
        form = multi(data)
        row = await verification.verified_one(conn, user, check_id)
        command, errors = parse_form(Reject, form)
        if command is not None:
            claim = verification.claim_name(row.subject, row.certificate_kind)
            await verification.revoke(conn, user, row.volunteer_id, claim, command)
            return PageRedirect("verification_pending", query={"done": "revoked"})
        return await self._revoke_page(conn, user, check_id, errors=errors, status=422)

    async def _revoke_page(
        self, conn: Conn, user: Identity, check_id: int, *, errors: dict[str, str] | None = None, status: int = 200
    ) -> Template:
        row = await verification.verified_one(conn, user, check_id)
        page = confirm_page(
            "claim_revoke",
            user,
            action="verification_revoke",
            back="verification_revoke_back",
            params={"check_id": check_id},
            row=row,
            errors=errors or {},
            values={},
        )
        page.status_code = status
        return page

    @get("/verification/checks/{check_id:int}/back", name="verification_revoke_back", guards=STAFF)
    async def revoke_back(self, check_id: FromPath[int]) -> PageRedirect:
        """The way back from the revocation page: the list, at that claim."""
        return PageRedirect("verification_pending", fragment=f"check-{check_id}")
