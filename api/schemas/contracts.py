"""Response structs of the contract, milestone, payment and performance-grade API."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import PageOut
from sql.contracts import ContractRow, GradeRow, PaymentRow


class ContractOut(ContractRow, frozen=True):
    """A contract made from an award."""


class MilestoneOut(msgspec.Struct, frozen=True):
    """One milestone with its instalment and, once accepted, its payment."""

    id: int
    seq: int
    title: str
    due_on: dt.date
    amount_fen: int
    midterm: bool
    status: str
    report: str | None
    reported_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_note: str | None
    paid_fen: int | None
    paid_at: dt.datetime | None


class ContractDetailOut(msgspec.Struct, frozen=True):
    """A contract and its milestones."""

    contract: ContractOut
    milestones: list[MilestoneOut]


class ContractPageOut(PageOut, frozen=True):
    """A page of contracts."""

    items: list[ContractOut]


class PaymentOut(PaymentRow, frozen=True):
    """An instalment paid."""


class GradeOut(GradeRow, frozen=True):
    """A performance grade on an organisation's record."""


class PerformanceOut(msgspec.Struct, frozen=True):
    """An organisation's performance grades and whether an 'unqualified' grade bars it now."""

    organisation_id: int
    grades: list[GradeOut]
    barred_until: dt.date | None
