"""Response structs of the contract, milestone, payment and performance-grade API."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import PageOut
from api.services.visit_notes import VisitPerformance
from sql.contracts import AttachmentRow, ContractRow, GradeRow, MilestonePublic, PaymentRow


class ContractOut(ContractRow, frozen=True):
    """A contract made from an award."""


class MilestoneOut(MilestonePublic, frozen=True):
    """One milestone with its instalment and, once accepted, its payment."""


class AttachmentOut(AttachmentRow, frozen=True):
    """A file a milestone's report carries (its bytes at its own address)."""


class ContractDetailOut(msgspec.Struct, frozen=True):
    """A contract, its milestones and the files their reports carry."""

    contract: ContractOut
    milestones: list[MilestoneOut]
    attachments: list[AttachmentOut]


class ContractPageOut(PageOut, frozen=True):
    """A page of contracts."""

    items: list[ContractOut]


class PaymentOut(PaymentRow, frozen=True):
    """An instalment paid."""


class GradeOut(GradeRow, frozen=True):
    """A performance grade on an organisation's record."""


class VisitPerformanceOut(VisitPerformance, frozen=True):
    """Its carers' home visits over the last year: the elders' ratings, incidents by severity, the grade they suggest
    (null under 10 ratings)."""


class PerformanceOut(msgspec.Struct, frozen=True):
    """An organisation's performance grades and whether an 'unqualified' grade bars it now."""

    organisation_id: int
    grades: list[GradeOut]
    barred_until: dt.date | None
    visits: VisitPerformanceOut
