"""Response structs for verifying volunteers' claims (certificates, insurance, date of birth)."""

from __future__ import annotations

import msgspec

from api.schemas.volunteers import ClaimOut
from sql.verification import PendingRow


class EvidenceAdded(msgspec.Struct, frozen=True):
    """Evidence just stored, waiting for a verifier."""

    evidence_id: int


class PendingOut(PendingRow, frozen=True):
    """Evidence waiting for a decision (待核验): the volunteer, the claim and its declared values, the form of the
    evidence (`upload` or `issuer_number`) and whether the caller has opened it."""


class DecidedOut(msgspec.Struct, frozen=True):
    """A decision just recorded and the claim as it now stands."""

    check_id: int
    volunteer_id: int
    claim: ClaimOut
