"""Response structs of the contract, milestone, payment and performance-grade API."""

from __future__ import annotations

import datetime as dt

import msgspec


class ContractOut(msgspec.Struct, frozen=True):
    """A contract made from an award."""

    id: int
    award_id: int
    tender_id: int
    tender_title: str
    lot_id: int
    lot_title: str
    funder_id: int
    funder_name: str
    organisation_id: int
    organisation_name: str
    amount_fen: int
    paid_fen: int
    sign_by: dt.date
    signed_at: dt.datetime | None
    starts_on: dt.date
    ends_on: dt.date
    status: str
    grade: str | None
    graded_at: dt.datetime | None


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


class ContractPageOut(msgspec.Struct, frozen=True):
    """A page of contracts."""

    items: list[ContractOut]
    total: int
    limit: int
    offset: int


class PaymentOut(msgspec.Struct, frozen=True):
    """An instalment paid."""

    id: int
    contract_id: int
    milestone_id: int
    milestone_seq: int
    milestone_title: str
    funder_name: str
    organisation_name: str
    tender_title: str
    amount_fen: int
    paid_at: dt.datetime


class GradeOut(msgspec.Struct, frozen=True):
    """A performance grade on an organisation's record."""

    contract_id: int
    tender_title: str
    lot_title: str
    funder_name: str
    grade: str
    graded_at: dt.datetime


class PerformanceOut(msgspec.Struct, frozen=True):
    """An organisation's performance grades and whether an 'unqualified' grade bars it now."""

    organisation_id: int
    grades: list[GradeOut]
    barred_until: dt.date | None
