"""Use cases for foundation calls (公益创投征集) and their sealed proposals (项目申报书).

A community foundation opens a call with budget pools per area of giving, a grant range, a limit of proposals
per organisation and area quotas. Proposals are sealed as bids are: only the proposer reads one before the
deadline, nothing about one reaches the audit log before then, and `open_proposals` writes one audit row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, eligibility, horizon
from api.services.accounts import Identity, logged_in
from api.services.bids import receipt_of
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.tenders import open_sealed, org_facts
from api.services.types import SHANGHAI, Id, Name, Page, Text, today
from sql import bids as bids_sql
from sql import calls as calls_sql
from sql import tenders as tenders_sql

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_ORGANISATIONS = "Only a social organisation may submit proposals"

Amount = Annotated[int, Meta(ge=-(2**62), le=2**62)]
AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]
RequiredText = Annotated[str, Meta(min_length=1, max_length=20000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
MAX_FEN = 100_000_000_000
# The proposal row as the edges receive it (they may not import sql).
ProposalRow = calls_sql.ProposalRow


class PoolCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A budget pool for one area of giving (for example: the elderly, youth, low-carbon living)."""

    area_of_giving: Name
    budget_fen: Amount


class QuotaCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """At least `min_grants` and at most `max_grants` grants for projects in an area."""

    area_id: Id
    min_grants: Annotated[int, Meta(ge=0, le=1000)] = 0
    max_grants: Annotated[int, Meta(ge=0, le=1000)] | None = None


class CallCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a foundation gives to open a call; grants default to 10,000–100,000 yuan, two proposals each."""

    title: Name
    proposals_close_at: AwareDateTime
    pools: list[PoolCommand]
    description: Text = ""
    proposals_open_at: AwareDateTime | None = None
    grant_min_fen: Amount = 1_000_000
    grant_max_fen: Amount = 10_000_000
    max_proposals_per_org: Amount = 2
    quotas: list[QuotaCommand] = []


class ProposalTerms(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A proposal's sealed terms: which pool, which area it serves, title, plan and the grant asked for."""

    pool_id: Id
    area_id: Id
    title: Name
    plan: RequiredText
    amount_fen: Amount


class ProposalCommand(ProposalTerms, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A new proposal to a call."""

    call_id: Id

    def terms(self) -> ProposalTerms:
        """The sealed terms without the call."""
        return ProposalTerms(**{name: getattr(self, name) for name in ProposalTerms.__struct_fields__})


class ProposalsOpened(msgspec.Struct, frozen=True):
    """What opening a call's proposals did."""

    call_id: int
    opened: bool
    count: int


class SealedProposal(msgspec.Struct, frozen=True):
    """The canonical content of a sealed proposal; its receipt is the SHA-256 of this as sorted-key JSON."""

    proposal: str
    call_id: int
    pool_id: int
    organisation_id: int
    area_id: int
    title: str
    plan: str
    amount_fen: int
    sealed_at: str


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


async def open_call(conn: asyncpg.Connection, who: Identity, form: CallCommand) -> calls_sql.CallRow:
    """A community foundation opens a call for proposals."""
    funder_id = who.funder_id_or_refuse("Only a community foundation may open a call")
    async with conn.transaction():
        rules = found(await tenders_sql.funder_rules(conn, funder_id), "No such funder")
        if rules.funder_kind != "community_foundation":
            raise Forbidden("Only a community foundation may open a call")
        errors: dict[str, str] = {}
        now = _now()
        if form.proposals_close_at <= now:
            errors["proposals_close_at"] = "The deadline for proposals must be in the future"
        elif form.proposals_close_at > now + dt.timedelta(days=366):
            errors["proposals_close_at"] = "The deadline for proposals must be within a year"
        elif form.proposals_open_at is not None and form.proposals_open_at >= form.proposals_close_at:
            errors["proposals_open_at"] = "Proposals must open before the deadline"
        horizon.check(errors, proposals_open_at=form.proposals_open_at, proposals_close_at=form.proposals_close_at)
        if not 100 <= form.grant_min_fen <= MAX_FEN:
            errors["grant_min_fen"] = "The smallest grant must be at least 1 yuan"
        if not 100 <= form.grant_max_fen <= MAX_FEN:
            errors["grant_max_fen"] = "The largest grant is out of range"
        elif form.grant_max_fen < form.grant_min_fen:
            errors["grant_max_fen"] = "The largest grant cannot be smaller than the smallest"
        if not 1 <= form.max_proposals_per_org <= 10:
            errors["max_proposals_per_org"] = "Proposals per organisation must be between 1 and 10"
        if not form.pools:
            errors["pools"] = "A call needs at least one budget pool"
        elif len(form.pools) > 50:
            errors["pools"] = "A call has at most 50 pools"
        for i, pool in enumerate(form.pools):
            if not max(100, form.grant_min_fen) <= pool.budget_fen <= MAX_FEN:
                errors[f"pools[{i}].budget_fen"] = "A pool's budget must cover at least the smallest grant"
        if len({q.area_id for q in form.quotas}) != len(form.quotas):
            errors["quotas"] = "Each area can have only one quota"
        for i, quota in enumerate(form.quotas):
            if quota.max_grants is not None and quota.max_grants < quota.min_grants:
                errors[f"quotas[{i}].max_grants"] = "The most grants cannot be fewer than the fewest"
        if errors:
            raise Invalid("The call is not valid", fields=errors)
        call_id = await calls_sql.insert_call(
            conn,
            funder_id=funder_id,
            title=form.title.strip(),
            description=form.description,
            proposals_open_at=form.proposals_open_at or now,
            proposals_close_at=form.proposals_close_at,
            grant_min_fen=form.grant_min_fen,
            grant_max_fen=form.grant_max_fen,
            max_proposals_per_org=form.max_proposals_per_org,
            created_by=who.account_id,
        )
        for number, pool in enumerate(form.pools, start=1):
            await calls_sql.insert_pool(conn, call_id, number, pool.area_of_giving.strip(), pool.budget_fen)
        quotas = [msgspec.structs.asdict(q) for q in form.quotas]
        if quotas and await calls_sql.insert_quotas(conn, call_id, quotas, rules.area_id) != len(quotas):
            raise Invalid(
                "The call is not valid", fields={"quotas": "Quotas can name only areas the foundation serves"}
            )
        await audit_log.record(
            conn, who, "call.open", "call", call_id,
            detail={"pools": len(form.pools), "budget_fen": sum(p.budget_fen for p in form.pools)},
        )  # fmt: skip
        row = await calls_sql.get_call(conn, call_id)
    assert row is not None
    return row


async def list_calls(
    conn: asyncpg.Connection, who: Identity | None, *, status: str | None, mine: bool, limit: int, offset: int
) -> Page[calls_sql.CallRow]:
    """Browse calls; a foundation may narrow to its own."""
    who = logged_in(who)
    funder_id = who.funder_id_or_refuse("Only a funder has calls of its own") if mine else None
    rows, total = await calls_sql.list_calls(conn, status=status, funder_id=funder_id, limit=limit, offset=offset)
    return Page(items=rows, total=total, limit=limit, offset=offset)


async def get_call(conn: asyncpg.Connection, who: Identity | None, call_id: int) -> calls_sql.CallRow:
    """One call with its pools and quotas (never its proposals' number)."""
    logged_in(who)
    row = found(await calls_sql.get_call(conn, call_id), "No such call")
    return row


async def _check_terms(
    conn: asyncpg.Connection, window: calls_sql.CallWindowRow, terms: ProposalTerms, organisation_id: int
) -> None:
    call = await calls_sql.get_call(conn, window.call_id)
    facts = await bids_sql.org_facts(conn, organisation_id)
    if call is None or facts is None:
        raise NotFound("No such call")
    rules = eligibility.TenderRules(
        min_rating=None,
        rating_must_be_valid=True,
        min_years_registered=0,
        unqualified_bar_years=call.unqualified_bar_years,
    )
    found = eligibility.reasons(org_facts(facts), rules, today=today())
    if found:
        raise Forbidden(
            "Your organisation is not eligible for this call",
            fields={f"eligibility.{r.code}": r.message for r in found},
        )
    errors: dict[str, str] = {}
    budget = await calls_sql.pool_budget(conn, terms.pool_id, window.call_id)
    if budget is None:
        errors["pool_id"] = "Choose a pool of this call"
    if not await calls_sql.area_exists(conn, terms.area_id):
        errors["area_id"] = "No such area"
    if not window.grant_min_fen <= terms.amount_fen <= window.grant_max_fen:
        errors["amount_fen"] = "The grant asked for is outside the call's grant range"
    elif budget is not None and terms.amount_fen > budget:
        errors["amount_fen"] = "The grant asked for is more than the pool's budget"
    if errors:
        raise Invalid("The proposal is not valid", fields=errors)


async def _open_window(conn: asyncpg.Connection, call_id: int) -> calls_sql.CallWindowRow:
    window = found(await calls_sql.call_window(conn, call_id), "No such call")
    if window.status == "cancelled":
        raise Conflict("This call is not taking proposals")
    if window.status != "open" or window.deadline_passed:
        raise Conflict("The deadline for proposals has passed; proposals can no longer be submitted or changed")
    if not window.window_open:
        raise Conflict("The call has not opened for proposals yet")
    return window


def _seal(
    public_id: uuid.UUID, call_id: int, organisation_id: int, terms: ProposalTerms
) -> calls_sql.SealedProposalTerms:
    """The terms as stored: sealed now, with the receipt of their canonical content (the title as sent)."""
    sealed_at = _now()
    content = SealedProposal(
        proposal=str(public_id),
        call_id=call_id,
        pool_id=terms.pool_id,
        organisation_id=organisation_id,
        area_id=terms.area_id,
        title=terms.title,
        plan=terms.plan,
        amount_fen=terms.amount_fen,
        sealed_at=sealed_at.isoformat(),
    )
    return calls_sql.SealedProposalTerms(
        pool_id=terms.pool_id,
        area_id=terms.area_id,
        title=terms.title.strip(),
        plan=terms.plan,
        amount_fen=terms.amount_fen,
        receipt=receipt_of(content),
        sealed_at=sealed_at,
    )


async def submit_proposal(conn: asyncpg.Connection, who: Identity, form: ProposalCommand) -> calls_sql.ProposalRow:
    """An eligible organisation submits a sealed proposal, within the call's limit per organisation."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        window = await _open_window(conn, form.call_id)
        terms = form.terms()
        await _check_terms(conn, window, terms, organisation_id)
        if (
            await calls_sql.count_own_live_proposals(conn, form.call_id, organisation_id)
            >= window.max_proposals_per_org
        ):
            raise Conflict("Your organisation has already submitted as many proposals as this call allows")
        public_id = uuid.uuid4()
        sealed = _seal(public_id, form.call_id, organisation_id, terms)
        await calls_sql.insert_proposal(conn, public_id, form.call_id, organisation_id, sealed)
        row = await calls_sql.get_own_proposal(conn, public_id, organisation_id)
    assert row is not None
    return row


async def revise_proposal(
    conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID, terms: ProposalTerms
) -> calls_sql.ProposalRow:
    """The proposer changes its proposal before the deadline; the receipt changes with it."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        own = found(await calls_sql.get_own_proposal(conn, public_id, organisation_id), "No such proposal")
        window = await _open_window(conn, own.call_id)
        if own.status != "submitted":
            raise Conflict("This proposal was withdrawn; submit a new one instead")
        await _check_terms(conn, window, terms, organisation_id)
        sealed = _seal(public_id, own.call_id, organisation_id, terms)
        if not await calls_sql.update_own_proposal(conn, public_id, organisation_id, sealed):
            raise Conflict("The deadline for proposals has passed; proposals can no longer be submitted or changed")
        row = await calls_sql.get_own_proposal(conn, public_id, organisation_id)
    assert row is not None
    return row


async def withdraw_proposal(conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID) -> calls_sql.ProposalRow:
    """The proposer withdraws its proposal before the deadline."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATIONS)
    async with conn.transaction():
        own = found(await calls_sql.get_own_proposal(conn, public_id, organisation_id), "No such proposal")
        await _open_window(conn, own.call_id)
        if not await calls_sql.withdraw_own_proposal(conn, public_id, organisation_id):
            raise Conflict("This proposal was withdrawn; submit a new one instead")
        row = await calls_sql.get_own_proposal(conn, public_id, organisation_id)
    assert row is not None
    return row


async def get_proposal(conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID) -> calls_sql.ProposalRow:
    """A proposal: its proposer always; the call's foundation once opened; anyone else never (404)."""
    if who.role == "organisation" and who.organisation_id is not None:
        row = await calls_sql.get_own_proposal(conn, public_id, who.organisation_id)
        if row is not None:
            return row
    if who.role == "funder" and who.funder_id is not None:
        row = await calls_sql.get_opened_proposal_for_funder(conn, public_id, who.funder_id)
        if row is not None:
            return row
    raise NotFound("No such proposal")


async def my_proposals(conn: asyncpg.Connection, who: Identity) -> list[calls_sql.ProposalRow]:
    """The organisation's own proposals."""
    return await calls_sql.list_own_proposals(conn, who.organisation_id_or_refuse(_ONLY_ORGANISATIONS))


async def open_proposals(conn: asyncpg.Connection, call_id: int) -> ProposalsOpened:
    """At or after the deadline: move the call to review and write one audit row; repeat calls do nothing."""
    opened, count = await open_sealed(
        conn,
        call_id,
        subject="call",
        action="call.proposals_opened",
        get=calls_sql.get_call,
        move_to_review=calls_sql.move_to_review,
        receipts=calls_sql.opened_receipts,
        missing="No such call",
        still_sealed="Proposals stay sealed until the deadline",
    )
    return ProposalsOpened(call_id=call_id, opened=opened, count=count)


async def open_due_proposals(conn: asyncpg.Connection) -> list[ProposalsOpened]:
    """Open the proposals of every call whose deadline has passed (for a worker's cron)."""
    return [await open_proposals(conn, call_id) for call_id in await calls_sql.due_calls(conn)]


async def opened_proposals_for_funder(
    conn: asyncpg.Connection, who: Identity, call_id: int
) -> list[calls_sql.ProposalRow]:
    """The foundation reads its call's proposals once the deadline has passed (opening them if nobody has yet)."""
    funder_id = who.funder_id_or_refuse("Only the call's foundation may read its proposals")
    call = await calls_sql.get_call(conn, call_id)
    if call is None or call.funder_id != funder_id:
        raise NotFound("No such call")
    if call.status == "open":
        await open_proposals(conn, call_id)
    return await calls_sql.list_opened_proposals(conn, call_id, funder_id)


async def own_call(conn: asyncpg.Connection, who: Identity, call_id: int) -> calls_sql.CallRow:
    """The caller's foundation's own call; any other is not found."""
    call = await calls_sql.get_call(conn, call_id)
    if call is None or who.role != "funder" or call.funder_id != who.funder_id:
        raise NotFound("No such call")
    return call
