"""Response structs of the needs, tenders and bids API (public shapes; no household data, no bid counts)."""

from __future__ import annotations

import uuid

import msgspec

from api.schemas.common import PageOut
from api.services.bids import BidsOpened
from api.services.calls import ProposalsOpened
from api.services.needs import HouseholdChoice
from sql.bids import BidEventRow, BidPublic
from sql.calls import CallPublic, PoolRow, ProposalPublic, QuotaRow
from sql.needs import NeedPublic
from sql.tenders import Criterion, LotPublic, TenderPublic


class NeedOut(NeedPublic, frozen=True):
    """A need as anyone logged in sees it (households only as a count)."""


class HouseholdOut(HouseholdChoice, frozen=True):
    """One of the committee's own households, its address masked to the lane."""


class NeedDetailOut(msgspec.Struct, frozen=True):
    """A need; `households` is filled only for the committee that lists it."""

    need: NeedOut
    own: bool
    households: list[HouseholdOut]


class NeedPageOut(PageOut, frozen=True):
    """A page of needs."""

    items: list[NeedOut]


class CriterionOut(Criterion, frozen=True):
    """An evaluation criterion and its weight in percent."""


class LotOut(LotPublic, frozen=True):
    """A lot of a tender."""


class TenderOut(TenderPublic, frozen=True):
    """A tender with its lots, window, eligibility rules and weights."""

    criteria: list[CriterionOut]
    lots: list[LotOut]


class TenderPageOut(PageOut, frozen=True):
    """A page of tenders."""

    items: list[TenderOut]


class ReasonOut(msgspec.Struct, frozen=True):
    """A rule the organisation does not meet."""

    code: str
    message: str
    required: str
    actual: str


class EligibilityOut(msgspec.Struct, frozen=True):
    """Whether the caller's organisation may bid on a tender, and why not."""

    tender_id: int
    eligible: bool
    reasons: list[ReasonOut]


class TenderForOrgOut(msgspec.Struct, frozen=True):
    """An open tender with the caller's eligibility."""

    tender: TenderOut
    eligible: bool
    reasons: list[ReasonOut]


class TendersForOrgOut(PageOut, frozen=True):
    """The tenders open for bids, each with the caller's eligibility."""

    items: list[TenderForOrgOut]


class BidEventOut(BidEventRow, frozen=True):
    """One step of a bid's history."""


class BidOut(BidPublic, frozen=True):
    """A bid as its bidder (or, after the deadline, the funder) sees it, by its public id."""

    id: uuid.UUID
    events: list[BidEventOut] = msgspec.field(default_factory=list)


class BidsOpenedOut(BidsOpened, frozen=True):
    """The result of opening a tender's bids at the deadline."""


class PoolOut(PoolRow, frozen=True):
    """A budget pool of a call."""


class QuotaOut(QuotaRow, frozen=True):
    """An area's quota of grants."""


class CallOut(CallPublic, frozen=True):
    """A foundation's call for proposals."""

    pools: list[PoolOut]
    quotas: list[QuotaOut]


class CallPageOut(PageOut, frozen=True):
    """A page of calls."""

    items: list[CallOut]


class ProposalOut(ProposalPublic, frozen=True):
    """A proposal as its proposer (or, after the deadline, the foundation) sees it, by its public id."""

    id: uuid.UUID


class ProposalsOpenedOut(ProposalsOpened, frozen=True):
    """The result of opening a call's proposals at the deadline."""
