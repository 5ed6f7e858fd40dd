"""Use cases for tenders (招标项目): a funder opens one over open needs of its area; everyone logged in reads them.

A tender's public face (lots, budgets, rules, window) never says how many bids it has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, Protocol

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, eligibility, horizon
from api.services.accounts import Identity, logged_in
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.exports import Column, Table, label
from api.services.types import SHANGHAI, Id, Name, Page, Text, today
from sql import audit
from sql import bids as bids_sql
from sql import tenders as tenders_sql

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_FUNDERS = "Only a funder may open tenders"
_ONLY_ORGANISATIONS = "Only a social organisation may bid"

TenderStatus = Literal["open", "review", "awarding", "awarded", "notice", "contracting", "closed", "cancelled"]
AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]
# Wide bounds here so that a wrong amount gets the use case's own clear message rather than a type error.
Amount = Annotated[int, Meta(ge=-(2**62), le=2**62)]
MIN_BUDGET_FEN = 100
MAX_BUDGET_FEN = 100_000_000_000
MAX_LOTS = 100


class CriterionCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An evaluation criterion other than price, with its weight in percent."""

    name: Name
    weight: Amount


class LotCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One lot: a budget cap in fen, staff-hours, deliverables, contract length, and the needs it bundles."""

    title: Name
    budget_fen: Amount
    staff_hours: Amount
    contract_months: Amount
    deliverables: Text = ""
    long_contract_reason: Text = ""
    need_ids: list[Id] = []


class TenderCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a funder gives to open a tender."""

    title: Name
    bids_close_at: AwareDateTime
    price_weight_pct: Amount
    catalogue_code: Annotated[str, Meta(pattern=r"^[a-z0-9_]{2,40}$")] | None = None
    description: Text = ""
    bids_open_at: AwareDateTime | None = None
    min_rating: Annotated[int, Meta(ge=1, le=5)] | None = None
    rating_must_be_valid: bool = True
    min_years_registered: Annotated[int, Meta(ge=0, le=50)] = 0
    criteria: list[CriterionCommand] = []
    max_lots_per_bidder: Amount | None = None
    lots: list[LotCommand] = []


class TenderForOrg(msgspec.Struct, frozen=True):
    """An open tender as an organisation sees it: whether it may bid, and if not, why."""

    tender: tenders_sql.TenderRow
    eligible: bool
    reasons: list[eligibility.Reason]


class TendersForOrg(msgspec.Struct, frozen=True):
    """The open tenders with the organisation's eligibility for each."""

    items: list[TenderForOrg]
    total: int
    limit: int
    offset: int


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


def tender_rules(tender: tenders_sql.TenderRow) -> eligibility.TenderRules:
    """The eligibility rules of a tender and its funder."""
    return eligibility.TenderRules(
        min_rating=tender.min_rating,
        rating_must_be_valid=tender.rating_must_be_valid,
        min_years_registered=tender.min_years_registered,
        unqualified_bar_years=tender.unqualified_bar_years,
        catalogue_item_id=tender.catalogue_item_id,
        catalogue_name=tender.catalogue_name_zh,
        lot_need_areas={
            lot.id: [[a for a in path if a is not None] for path in lot.need_areas]
            for lot in tender.lots
            if lot.status != "cancelled"
        },
    )


def org_facts(row: bids_sql.OrgFactsRow) -> eligibility.OrgFacts:
    """The facts of an organisation that eligibility looks at."""
    return eligibility.OrgFacts(
        status=row.status,
        rating=row.rating,
        rating_expires_on=row.rating_expires_on,
        registered_on=row.registered_on,
        last_unqualified_at=row.last_unqualified_at,
        category_ids=row.category_ids,
        area_ids=row.area_ids,
        declared_rating=row.declared_rating,
    )


def _validate(form: TenderCommand, rules: tenders_sql.FunderRulesRow, now: dt.datetime) -> dict[str, str]:
    """Every rule the tender breaks, by field (the checks that need no database)."""
    errors: dict[str, str] = {}
    if form.catalogue_code is None:
        errors["catalogue_code"] = "A tender needs a catalogue item"
    if form.bids_close_at <= now:
        errors["bids_close_at"] = "The bid deadline must be in the future"
    elif form.bids_open_at is not None and form.bids_open_at >= form.bids_close_at:
        errors["bids_open_at"] = "Bids must open before the deadline"
    if form.bids_close_at > now + dt.timedelta(days=366):
        errors["bids_close_at"] = "The bid deadline must be within a year"
    horizon.check(errors, bids_open_at=form.bids_open_at, bids_close_at=form.bids_close_at)
    if not 0 <= form.price_weight_pct <= 100:
        errors["price_weight_pct"] = "A weight is a percentage between 0 and 100"
    elif form.price_weight_pct < rules.min_price_weight_pct:
        errors["price_weight_pct"] = "The price weight is below the funder's minimum for service tenders"
    names = [c.name.strip() for c in form.criteria]
    if len(set(names)) != len(names):
        errors["criteria"] = "Each criterion needs its own name"
    elif any(not 1 <= c.weight <= 100 for c in form.criteria):
        errors["criteria"] = "A weight is a percentage between 0 and 100"
    elif form.price_weight_pct + sum(c.weight for c in form.criteria) != 100:
        errors["criteria"] = "The weights of the price and the criteria must add up to 100"
    if not form.lots:
        errors["lots"] = "A tender needs at least one lot with a budget"
    elif len(form.lots) > MAX_LOTS:
        errors["lots"] = "A tender has at most 100 lots"
    if form.max_lots_per_bidder is not None and not 1 <= form.max_lots_per_bidder <= max(1, len(form.lots)):
        errors["max_lots_per_bidder"] = "The lots-won limit must be between 1 and the number of lots"
    seen_needs: set[int] = set()
    for i, lot in enumerate(form.lots):
        if lot.budget_fen < MIN_BUDGET_FEN:
            errors[f"lots[{i}].budget_fen"] = "The budget must be at least 1 yuan"
        elif lot.budget_fen > MAX_BUDGET_FEN:
            errors[f"lots[{i}].budget_fen"] = "The budget is larger than any tender could be"
        if not 1 <= lot.staff_hours <= 1_000_000:
            errors[f"lots[{i}].staff_hours"] = "Staff-hours must be between 1 and 1,000,000"
        usual = min(rules.max_contract_months, 12)
        if lot.contract_months < 1:
            errors[f"lots[{i}].contract_months"] = "A contract lasts at least one month"
        elif lot.contract_months > max(rules.max_continuous_contract_months, rules.max_contract_months):
            errors[f"lots[{i}].contract_months"] = "The contract is longer than the funder's rules allow"
        elif lot.contract_months > usual and not lot.long_contract_reason.strip():
            errors[f"lots[{i}].long_contract_reason"] = (
                "A contract longer than the usual limit needs a reason (a continuous service)"
            )
        if seen_needs & set(lot.need_ids):
            errors[f"lots[{i}].need_ids"] = "A need can be in only one lot"
        seen_needs |= set(lot.need_ids)
    return errors


async def open_tender(conn: asyncpg.Connection, who: Identity, form: TenderCommand) -> tenders_sql.TenderRow:
    """A funder opens a tender bundling open needs of its area into lots; the needs move into the tender."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    async with conn.transaction():
        rules = found(await tenders_sql.funder_rules(conn, funder_id), "No such funder")
        errors = _validate(form, rules, _now())
        item_id = None
        if form.catalogue_code is not None:
            item_id = await tenders_sql.catalogue_item_id(conn, form.catalogue_code)
            if item_id is None:
                errors["catalogue_code"] = "No such catalogue item"
        if errors or item_id is None:
            raise Invalid("The tender is not valid", fields=errors)
        tender_id = await tenders_sql.insert_tender(
            conn,
            funder_id=funder_id,
            catalogue_item_id=item_id,
            title=form.title.strip(),
            description=form.description,
            bids_open_at=form.bids_open_at or _now(),
            bids_close_at=form.bids_close_at,
            min_rating=form.min_rating,
            rating_must_be_valid=form.rating_must_be_valid,
            min_years_registered=form.min_years_registered,
            price_weight_pct=form.price_weight_pct,
            criteria=[tenders_sql.Criterion(name=c.name.strip(), weight=c.weight) for c in form.criteria],
            max_lots_per_bidder=form.max_lots_per_bidder,
            created_by=who.account_id,
        )
        for number, lot in enumerate(form.lots, start=1):
            need_ids = sorted(set(lot.need_ids))
            if need_ids:
                moved = await tenders_sql.take_needs(conn, need_ids, item_id, rules.area_id)
                if len(moved) != len(need_ids):
                    raise Invalid(
                        "The tender is not valid",
                        fields={
                            f"lots[{number - 1}].need_ids": (
                                "Only open needs of the tender's catalogue item in your area can be put into a tender"
                            )
                        },
                    )
            await tenders_sql.insert_lot(
                conn,
                tender_id,
                number=number,
                title=lot.title.strip(),
                budget_fen=lot.budget_fen,
                staff_hours=lot.staff_hours,
                deliverables=lot.deliverables,
                contract_months=lot.contract_months,
                long_contract_reason=lot.long_contract_reason.strip(),
                need_ids=need_ids,
            )
        await audit_log.record(
            conn, who, "tender.open", "tender", tender_id,
            detail={"lots": len(form.lots), "budget_fen": sum(lot.budget_fen for lot in form.lots)},
        )  # fmt: skip
        row = await tenders_sql.get_tender(conn, tender_id)
    assert row is not None
    return row


async def cancel_tender(conn: asyncpg.Connection, who: Identity, tender_id: int) -> tenders_sql.TenderRow:
    """The funder cancels its own open tender; its needs become open again."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    async with conn.transaction():
        if not await tenders_sql.cancel_tender(conn, tender_id, funder_id):
            row = await tenders_sql.get_tender(conn, tender_id)
            if row is None or row.funder_id != funder_id:
                raise NotFound("No such tender")
            raise Conflict("Only an open tender can be cancelled")
        await audit_log.record(conn, who, "tender.cancel", "tender", tender_id)
        row = await tenders_sql.get_tender(conn, tender_id)
    assert row is not None
    return row


class TenderFilters(msgspec.Struct, frozen=True):
    """How to narrow the tenders: by status and catalogue code, and (`mine`) to a funder's own."""

    status: str | None = None
    category: str | None = None
    mine: bool = False


async def list_tenders(
    conn: asyncpg.Connection, who: Identity | None, filters: TenderFilters, *, limit: int, offset: int
) -> Page[tenders_sql.TenderRow]:
    """Browse tenders; a funder may narrow to its own."""
    who = logged_in(who)
    funder_id = who.funder_id_or_refuse("Only a funder has tenders of its own") if filters.mine else None
    rows, total = await tenders_sql.list_tenders(
        conn, status=filters.status, funder_id=funder_id, category=filters.category, limit=limit, offset=offset
    )
    return Page(items=rows, total=total, limit=limit, offset=offset)


async def get_tender(conn: asyncpg.Connection, who: Identity | None, tender_id: int) -> tenders_sql.TenderRow:
    """One tender with its lots and rules."""
    logged_in(who)
    row = found(await tenders_sql.get_tender(conn, tender_id), "No such tender")
    return row


async def eligibility_for(
    conn: asyncpg.Connection, who: Identity, tender: tenders_sql.TenderRow, lot_id: int | None = None
) -> list[eligibility.Reason]:
    """Why the caller's organisation may not bid on this tender (and on this lot, when one is named); empty when it
    may."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    facts = found(await bids_sql.org_facts(conn, organisation_id), "No such organisation")
    org, rules = org_facts(facts), tender_rules(tender)
    found_reasons = eligibility.reasons(org, rules, today=today())
    return found_reasons + (eligibility.lot_reasons(org, rules, lot_id) if lot_id is not None else [])


async def lot_eligibility(
    conn: asyncpg.Connection, who: Identity, tender: tenders_sql.TenderRow
) -> dict[int, list[eligibility.Reason]]:
    """Per lot of the tender, why the caller's organisation may not bid on it in particular (its areas)."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    facts = found(await bids_sql.org_facts(conn, organisation_id), "No such organisation")
    org, rules = org_facts(facts), tender_rules(tender)
    return {lot.id: eligibility.lot_reasons(org, rules, lot.id) for lot in tender.lots}


async def tenders_for_organisation(
    conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int
) -> TendersForOrg:
    """The tenders open for bids now, each with the organisation's eligibility and the reasons against it."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    facts = found(await bids_sql.org_facts(conn, organisation_id), "No such organisation")
    rows, total = await tenders_sql.list_biddable_tenders(conn, limit, offset)
    day = today()
    items = []
    for row in rows:
        reasons = eligibility.reasons(org_facts(facts), tender_rules(row), today=day)
        items.append(TenderForOrg(tender=row, eligible=not reasons, reasons=reasons))
    return TendersForOrg(items=items, total=total, limit=limit, offset=offset)


TENDER_COLUMNS = [
    Column("Tender", "招标项目编号", "int"),
    Column("Title", "招标项目"),
    Column("Funder", "出资方"),
    Column("Catalogue code", "目录编码"),
    Column("Status", "状态"),
    Column("Bid deadline", "投标截止时间", "datetime"),
    Column("Lot", "标段号", "int"),
    Column("Lot title", "标段"),
    Column("Budget (yuan)", "预算（元）", "money"),
    Column("Staff-hours", "服务工时", "int"),
    Column("Contract months", "合同期（月）", "int"),
    Column("Needs", "需求数", "int"),
]
TENDER_STATUS_WORDS = {
    "open": ("投标中", "Open for bids"), "review": ("评审中", "Under review"), "awarding": ("评定中标中", "Awarding"),
    "awarded": ("已评定", "Award decided"), "notice": ("公示中", "Award notice"),
    "contracting": ("签约中", "Contracting"), "closed": ("已结束", "Closed"), "cancelled": ("已取消", "Cancelled"),
}  # fmt: skip


async def tenders_table(conn: asyncpg.Connection, who: Identity | None, filters: TenderFilters, locale: str) -> Table:
    """One row per lot of the tenders matching the filters, ready to export (no bids, no bid counts)."""
    page = await list_tenders(conn, who, filters, limit=1000, offset=0)
    return Table(
        name="tenders",
        columns=TENDER_COLUMNS,
        rows=[
            (t.id, t.title, t.funder_name, t.catalogue_code, label(t.status, TENDER_STATUS_WORDS, locale),
             t.bids_close_at, lot.number, lot.title, lot.budget_fen, lot.staff_hours, lot.contract_months,
             len(lot.need_ids))
            for t in page.items
            for lot in t.lots
        ],
    )  # fmt: skip


async def open_bids_as(conn: asyncpg.Connection, who: Identity, tender_id: int) -> tenders_sql.TenderRow:
    """Check that the caller is the tender's funder (or an admin) and return the tender, for opening its bids."""
    if who.role not in ("funder", "admin"):
        raise Forbidden("Only the tender's funder may open its bids")
    row = await tenders_sql.get_tender(conn, tender_id)
    if row is None or (who.role == "funder" and row.funder_id != who.funder_id):
        raise NotFound("No such tender")
    return row


class _Stated(Protocol):
    """A tender or call row: what opening its sealed bids or proposals reads of it."""

    @property
    def status(self) -> str:
        """Its status ('open' until its bids or proposals are opened)."""


async def open_sealed(
    conn: asyncpg.Connection,
    subject_id: int,
    *,
    subject: Literal["tender", "call"],
    action: str,
    get: Callable[[asyncpg.Connection, int], Awaitable[_Stated | None]],
    move_to_review: Callable[[asyncpg.Connection, int], Awaitable[bool]],
    receipts: Callable[[asyncpg.Connection, int], Awaitable[list[str]]],
    missing: str,
    still_sealed: str,
) -> tuple[bool, int]:
    """At or after the deadline: move a tender (bids) or a call (proposals) to review and write one audit row with
    the receipts; repeat calls do nothing. Whether this call opened them, and how many live ones there are."""
    async with conn.transaction():
        found(await get(conn, subject_id), missing)
        if not await move_to_review(conn, subject_id):
            # Read again: another caller may have opened them between our read and our update.
            fresh = await get(conn, subject_id)
            if fresh is not None and fresh.status == "open":
                raise Conflict(still_sealed)
            return False, len(await receipts(conn, subject_id))
        opened = await receipts(conn, subject_id)
        await audit.append(
            conn,
            actor_account_id=None,
            action=action,
            object_type=subject,
            object_id=subject_id,
            detail={"count": len(opened), "receipts": opened},
        )
    return True, len(opened)
