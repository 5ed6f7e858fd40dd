"""Verifying what organisations declare: nothing self-declared opens restricted work.

An organisation declares its staff-hours capacity (on its profile) and its evaluation rating (at registration). The
award optimiser and the tenders' rating rules read only the verified values (docs/optimiser-assignment.md,
docs/tendering.md "Rules"):

- Who verifies: a funder's staff (for their funder) or the admin; never the organisation's own staff (the schema
  refuses it too). Both see every organisation's state; the organisation sees its own.
- A verification says what it was checked against (a document, a register entry); it copies the declared value,
  which is what the rules then read. Declaring another value (a new capacity) makes it declared only again.
- A verified value can be revoked, with a reason. Every step is audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, NotFound, found
from api.services.types import NO_NUL
from sql import org_checks as org_checks_sql
from sql.org_checks import DeclaredOrgRow
from sql.org_checks import OrgCheckState as OrgCheckState

Subject = Literal["capacity", "rating"]
SUBJECTS: tuple[Subject, ...] = ("capacity", "rating")
ONLY_FUNDERS = "Only a funder or the admin may verify an organisation's capacity or rating"
NO_SUCH_ORGANISATION = "No such organisation"


class VerifyOrgValue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A verification: what the declared value was checked against (a document, a register entry)."""

    against: Annotated[str, Meta(min_length=1, max_length=300, pattern=NO_NUL)]


class RevokeOrgValue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A revocation, with the reason the organisation will read."""

    reason: Annotated[str, Meta(min_length=1, max_length=500, pattern=NO_NUL)]


def may_verify(who: Identity | None) -> bool:
    """Whether the caller may verify or revoke organisations' capacity and rating (a funder's staff or the admin)."""
    return who is not None and (who.role == "admin" or (who.role == "funder" and who.funder_id is not None))


def _verifier(who: Identity) -> int | None:
    """The funder the verifier acts for (None: the admin); refuses everyone else."""
    if not may_verify(who):
        raise Forbidden(ONLY_FUNDERS)
    return who.funder_id if who.role == "funder" else None


def parse_subject(subject: str) -> Subject:
    """`capacity` or `rating`; anything else is a missing resource."""
    if subject == "capacity":
        return "capacity"
    if subject == "rating":
        return "rating"
    raise NotFound("No such value")


async def states(conn: asyncpg.Connection, who: Identity, organisation_id: int) -> list[OrgCheckState]:
    """The capacity's and rating's states, for a funder, the admin or the organisation's own staff."""
    if not may_verify(who) and who.organisation_id != organisation_id:
        # The same answer as for a missing organisation: no probing other tenants' states.
        raise NotFound(NO_SUCH_ORGANISATION)
    rows = await org_checks_sql.states(conn, organisation_id)
    if not rows:
        raise NotFound(NO_SUCH_ORGANISATION)
    return rows


def _state_of(rows: list[OrgCheckState], subject: Subject) -> OrgCheckState:
    return next(r for r in rows if r.subject == subject)


async def _point(conn: asyncpg.Connection, org: DeclaredOrgRow, subject: Subject, check_id: int) -> None:
    if subject == "capacity":
        moved = await org_checks_sql.point_capacity_at(conn, org.id, check_id, org.staff_hours_capacity)
    else:
        assert org.rating is not None
        assert org.rating_expires_on is not None
        moved = await org_checks_sql.point_rating_at(conn, org.id, check_id, org.rating, org.rating_expires_on)
    if not moved:
        raise Conflict("The organisation declared another value meanwhile; look again")


@asynccontextmanager
async def _decision(conn: asyncpg.Connection, organisation_id: int) -> AsyncIterator[DeclaredOrgRow]:
    """One verify or revoke: the organisation's row locked for a transaction; the schema's own guard (an account of
    the organisation itself never verifies its values) answers 403."""
    try:
        async with conn.transaction():
            yield found(await org_checks_sql.declared_for_update(conn, organisation_id), NO_SUCH_ORGANISATION)
    except asyncpg.CheckViolationError as exc:
        raise Forbidden(ONLY_FUNDERS) from exc


async def verify(
    conn: asyncpg.Connection, who: Identity, organisation_id: int, subject: str, form: VerifyOrgValue
) -> OrgCheckState:
    """A funder or the admin verifies the organisation's declared capacity or rating against a document."""
    funder_id = _verifier(who)
    what = parse_subject(subject)
    async with _decision(conn, organisation_id) as org:
        if org.capacity_verified if what == "capacity" else org.rating_verified:
            raise Conflict("This is verified already; revoke it first to verify it again")
        if what == "rating" and org.rating is None:
            raise Conflict("The organisation declares no rating")
        check_id = await org_checks_sql.insert_check(
            conn,
            organisation_id=org.id,
            subject=what,
            staff_hours_capacity=org.staff_hours_capacity if what == "capacity" else None,
            rating=org.rating if what == "rating" else None,
            rating_expires_on=org.rating_expires_on if what == "rating" else None,
            against=form.against.strip(),
            decided_by=who.account_id,
            funder_id=funder_id,
        )
        await _point(conn, org, what, check_id)
        await audit_log.record(
            conn,
            who,
            f"organisation.{what}_verified",
            "organisation",
            org.id,
            detail={
                "check_id": check_id,
                "funder_id": funder_id,
                "against": form.against.strip(),
                "value": org.staff_hours_capacity if what == "capacity" else org.rating,
                "expires_on": org.rating_expires_on.isoformat() if what == "rating" and org.rating_expires_on else None,
            },
        )
    return _state_of(await org_checks_sql.states(conn, organisation_id), what)


async def revoke(
    conn: asyncpg.Connection, who: Identity, organisation_id: int, subject: str, form: RevokeOrgValue
) -> OrgCheckState:
    """A funder or the admin revokes a verified capacity or rating, with the reason; it counts as declared only."""
    funder_id = _verifier(who)
    what = parse_subject(subject)
    async with _decision(conn, organisation_id) as org:
        check_id = org.capacity_check_id if what == "capacity" else org.rating_check_id
        verified = org.capacity_verified if what == "capacity" else org.rating_verified
        if check_id is None or not verified:
            raise Conflict("Only a verified value can be revoked")
        if not await org_checks_sql.revoke(conn, check_id, who.account_id, form.reason.strip()):
            raise Conflict("Only a verified value can be revoked")
        await audit_log.record(
            conn, who, f"organisation.{what}_revoked", "organisation", org.id,
            detail={"check_id": check_id, "funder_id": funder_id, "reason": form.reason.strip()},
        )  # fmt: skip
    return _state_of(await org_checks_sql.states(conn, organisation_id), what)
