"""Response structs of the needs, tenders and bids API (public shapes; no household data, no bid counts)."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from api.schemas.common import PageOut
from api.services.bids import BidsOpened
from api.services.calls import ProposalsOpened
from api.services.needs import HouseholdChoice
from sql.bids import BidEventRow
from sql.calls import PoolRow, QuotaRow
from sql.tenders import Criterion


class NeedOut(msgspec.Struct, frozen=True):
    """A need as anyone logged in sees it (households only as a count)."""

    id: int
    committee_id: int
    committee_name: str
    subdistrict_id: int
    subdistrict_name: str
    catalogue_code: str
    catalogue_name_zh: str
    catalogue_name_en: str
    personal: bool
    title: str
    description: str
    beneficiaries: int
    households: int
    lat: float
    lon: float
    starts_on: dt.date
    ends_on: dt.date
    schedule: str | None
    urgency: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


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


class LotOut(msgspec.Struct, frozen=True):
    """A lot of a tender."""

    id: int
    number: int
    title: str
    budget_fen: int
    staff_hours: int
    deliverables: str
    contract_months: int
    long_contract_reason: str
    status: str
    need_ids: list[int]


class TenderOut(msgspec.Struct, frozen=True):
    """A tender with its lots, window, eligibility rules and weights."""

    id: int
    funder_id: int
    funder_name: str
    funder_kind: str
    catalogue_code: str
    catalogue_name_zh: str
    catalogue_name_en: str
    title: str
    description: str
    status: str
    bids_open_at: dt.datetime
    bids_close_at: dt.datetime
    min_rating: int | None
    rating_must_be_valid: bool
    min_years_registered: int
    price_weight_pct: int
    criteria: list[CriterionOut]
    max_lots_per_bidder: int | None
    total_budget_fen: int
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


class BidOut(msgspec.Struct, frozen=True):
    """A bid as its bidder (or, after the deadline, the funder) sees it."""

    id: uuid.UUID
    tender_id: int
    tender_title: str
    lot_id: int
    lot_number: int
    lot_title: str
    organisation_id: int
    organisation_name: str
    price_fen: int
    hours: int
    plan: str
    team: str
    conflict_of_interest: bool
    conflict_detail: str
    status: str
    receipt: str
    submitted_at: dt.datetime
    updated_at: dt.datetime
    bids_close_at: dt.datetime
    events: list[BidEventOut] = []


class BidsOpenedOut(BidsOpened, frozen=True):
    """The result of opening a tender's bids at the deadline."""


class PoolOut(PoolRow, frozen=True):
    """A budget pool of a call."""


class QuotaOut(QuotaRow, frozen=True):
    """An area's quota of grants."""


class CallOut(msgspec.Struct, frozen=True):
    """A foundation's call for proposals."""

    id: int
    funder_id: int
    funder_name: str
    title: str
    description: str
    status: str
    proposals_open_at: dt.datetime
    proposals_close_at: dt.datetime
    grant_min_fen: int
    grant_max_fen: int
    max_proposals_per_org: int
    pools: list[PoolOut]
    quotas: list[QuotaOut]


class CallPageOut(PageOut, frozen=True):
    """A page of calls."""

    items: list[CallOut]


class ProposalOut(msgspec.Struct, frozen=True):
    """A proposal as its proposer (or, after the deadline, the foundation) sees it."""

    id: uuid.UUID
    call_id: int
    call_title: str
    pool_id: int
    pool_number: int
    area_of_giving: str
    organisation_id: int
    organisation_name: str
    area_id: int
    area_name: str
    title: str
    plan: str
    amount_fen: int
    status: str
    receipt: str
    submitted_at: dt.datetime
    updated_at: dt.datetime
    proposals_close_at: dt.datetime


class ProposalsOpenedOut(ProposalsOpened, frozen=True):
    """The result of opening a call's proposals at the deadline."""
