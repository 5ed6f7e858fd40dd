"""Portfolio runs of foundation calls (公益创投资助): which opened proposals a call funds, and why the others not.

After the deadline the foundation scores each opened proposal (0-100); a run solves matching.portfolio over the
call's pools, its limit of grants per organisation and its area quotas, maximising the total score. The run is a
`match_runs` row before it is a job, exactly as award runs are, and its grants are written once.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Annotated, Any

import asyncpg
import msgspec
import structlog
from msgspec import Meta

from api.services import audit_log, runs
from api.services import calls as calls_service
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound, found
from api.services.runs import JobQueue
from matching import portfolio as portfolio_model
from sql import calls as calls_sql
from sql import grants as grants_sql
from sql.match_runs import RunRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_FUNDERS = "Only the call's foundation may do this"

log = structlog.get_logger("linli.grants")

MODEL = "portfolio"
SUBJECT = "call"
TIME_LIMIT_S = 10.0
# Proposals are opened ('review'); a run may be started again while or after one runs, until grants are published.
STARTABLE = ("review", "awarding", "awarded")
_LIMIT = re.compile(r"(pool|org|area) (\S+) (budget_fen|max_per_org|quota)( \(minimum\))?")
_KIND = {"pool": "pool_budget", "org": "per_org_limit", "area": "area_quota"}
GrantRow = grants_sql.GrantRow


class ProposalScore(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The foundation's score of an opened proposal, from 0 to 100."""

    score: Annotated[float, Meta(ge=0, le=100)]


class PortfolioInputs(msgspec.Struct, frozen=True):
    """Everything a run decides from, loaded by the call's id."""

    call: calls_sql.CallRow
    problem: portfolio_model.PortfolioProblem
    proposals: list[grants_sql.PortfolioProposalRow]

    def digest(self) -> str:
        """A fingerprint of the inputs: equal inputs, equal digest."""
        return hashlib.sha256(msgspec.json.encode(self.problem)).hexdigest()


class PortfolioRunView(msgspec.Struct, frozen=True):
    """A run as its foundation sees it: the row, the call, and the grants it wrote."""

    run: RunRow
    call: calls_sql.CallRow
    grants: list[grants_sql.GrantRow]


async def _own_call(conn: asyncpg.Connection, funder_id: int, call_id: int) -> calls_sql.CallRow:
    call = await calls_sql.get_call(conn, call_id)
    if call is None or call.funder_id != funder_id:
        raise NotFound("No such call")
    return call


async def score_proposal(
    conn: asyncpg.Connection, who: Identity, public_id: uuid.UUID, form: ProposalScore
) -> list[grants_sql.PortfolioProposalRow]:
    """The foundation scores an opened proposal of its call; returns the call's scored proposals."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    async with conn.transaction():
        call_id = await grants_sql.set_score(conn, public_id, funder_id, form.score, who.account_id)
        if call_id is None:
            # Not its call, not opened yet, or withdrawn: all look the same, so nothing sealed leaks.
            raise NotFound("No such proposal")
        await audit_log.record(
            conn, who, "proposal.score", "call", call_id, detail={"proposal": str(public_id), "score": form.score}
        )
        return await grants_sql.portfolio_proposals(conn, call_id)


async def call_proposals(
    conn: asyncpg.Connection, who: Identity, call_id: int
) -> tuple[calls_sql.CallRow, list[grants_sql.PortfolioProposalRow]]:
    """A call's opened proposals with their scores (opening them if the deadline passed and nobody has yet)."""
    call = await _own_call(conn, who.funder_id_or_refuse(_ONLY_FUNDERS), call_id)
    if call.status == "open":
        await calls_service.open_proposals(conn, call_id)
        call = await _own_call(conn, who.funder_id_or_refuse(_ONLY_FUNDERS), call_id)
    return call, await grants_sql.portfolio_proposals(conn, call_id)


async def load_inputs(conn: asyncpg.Connection, call: calls_sql.CallRow) -> PortfolioInputs:
    """Build the portfolio problem of a call from its pools, quotas, limit per organisation and scored proposals."""
    proposals = await grants_sql.portfolio_proposals(conn, call.id)
    problem = portfolio_model.PortfolioProblem(
        pools=tuple(portfolio_model.Pool(id=str(p.id), budget_fen=p.budget_fen) for p in call.pools),
        proposals=tuple(
            portfolio_model.Proposal(
                id=str(p.public_id),
                pool=str(p.pool_id),
                org=str(p.organisation_id),
                cost_fen=p.amount_fen,
                score=p.score or 0.0,
                area=str(p.area_id),
            )
            for p in proposals
        ),
        max_per_org=await grants_sql.max_grants_per_org(conn, call.id),
        area_quota=tuple(
            portfolio_model.AreaQuota(area=str(q.area_id), min=q.min_grants, max=q.max_grants) for q in call.quotas
        ),
    )
    return PortfolioInputs(call, problem, proposals)


async def start_run(conn: asyncpg.Connection, queue: JobQueue, who: Identity, call_id: int) -> RunRow:
    """The foundation starts a portfolio run; starting again with the same inputs returns the same run."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    call = await _own_call(conn, funder_id, call_id)
    if call.status == "open":
        # Opens the proposals if the deadline has passed (the cron may not have yet); before it, a 409.
        await calls_service.open_proposals(conn, call_id)

    async def ready_call(conn: asyncpg.Connection) -> int:
        call = await _own_call(conn, funder_id, call_id)
        if call.status not in STARTABLE:
            raise Conflict("The call is not ready for a portfolio run")
        return call_id

    return await runs.start(conn, queue, RUNS, who.account_id, ready_call)


async def get_run(conn: asyncpg.Connection, who: Identity, run_id: int) -> PortfolioRunView:
    """A portfolio run of one of the foundation's calls, with the grants it wrote."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)

    async def own(conn: asyncpg.Connection, call_id: int) -> calls_sql.CallRow | None:
        call = await calls_sql.get_call(conn, call_id)
        return call if call is not None and call.funder_id == funder_id else None

    run, call = found(await runs.find_run(conn, RUNS, run_id, own), "No such portfolio run")
    return PortfolioRunView(run=run, call=call, grants=await grants_sql.run_grants(conn, run_id))


async def list_runs(conn: asyncpg.Connection, who: Identity, call_id: int) -> list[RunRow]:
    """The foundation's portfolio runs of a call, newest first."""
    await _own_call(conn, who.funder_id_or_refuse(_ONLY_FUNDERS), call_id)
    return await runs.list_runs(conn, RUNS, call_id)


def _limits(text: str, inputs: PortfolioInputs) -> list[dict[str, Any]]:
    """matching's limit names ("pool 3 budget_fen; org 7 max_per_org") as structured limits with names."""
    pools = {str(p.id): p for p in inputs.call.pools}
    orgs = {str(p.organisation_id): p.organisation_name for p in inputs.proposals}
    areas = {str(q.area_id): q.area_name for q in inputs.call.quotas}
    out: list[dict[str, Any]] = []
    for owner, ident, _, minimum in _LIMIT.findall(text):
        limit: dict[str, Any] = {"kind": _KIND[owner], "minimum": bool(minimum)}
        if owner == "pool" and ident in pools:
            limit["pool_number"] = pools[ident].number
            limit["name"] = pools[ident].area_of_giving
            limit["budget_fen"] = pools[ident].budget_fen
        elif owner == "org":
            limit["name"] = orgs.get(ident, ident)
            limit["limit"] = inputs.problem.max_per_org
        else:
            limit["name"] = areas.get(ident, ident)
        out.append(limit)
    return out


def build_result(inputs: PortfolioInputs, result: portfolio_model.PortfolioResult) -> dict[str, Any]:
    """The run's result for pages: each funded proposal with its reasons, each left-out one with why."""
    by_id = {str(p.public_id): p for p in inputs.proposals}

    def brief(p: grants_sql.PortfolioProposalRow) -> dict[str, Any]:
        return {
            "proposal": str(p.public_id),
            "title": p.title,
            "organisation_id": p.organisation_id,
            "organisation_name": p.organisation_name,
            "pool_number": p.pool_number,
            "area_name": p.area_name,
            "amount_fen": p.amount_fen,
            "score": p.score or 0.0,
        }

    funded = []
    for a in result.assignments:
        entry = brief(by_id[a.proposal])
        entry["reasons"] = {"score": a.score, "rank_in_pool": a.rank, "binding": _limits("; ".join(a.binding), inputs)}
        funded.append(entry)
    left_out = []
    for x in result.unassigned:
        entry = brief(by_id[x.proposal])
        entry["reason"] = x.reason
        entry["detail"] = x.detail
        # The detail names the full limits before the rivals, which are proposals' public ids.
        entry["limits"] = _limits(x.detail.split(" full;")[0] if x.reason != "ineligible" else x.detail, inputs)
        if x.reason == "ineligible" and "over pool" in x.detail:
            entry["limits"] = [{"kind": "pool_budget", "minimum": False, **_pool_of(by_id[x.proposal], inputs)}]
        entry["displaced"] = [brief(by_id[r]) for r in x.by if r in by_id]
        left_out.append(entry)
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "bound_source": result.bound_source,
        "max_grants_per_org": inputs.problem.max_per_org,
        "conflicts": [{"constraint": c.constraint, "detail": c.detail} for c in result.conflicts],
        "funded": funded,
        "left_out": left_out,
    }


def _pool_of(p: grants_sql.PortfolioProposalRow, inputs: PortfolioInputs) -> dict[str, Any]:
    pool = next(x for x in inputs.call.pools if x.id == p.pool_id)
    return {"pool_number": pool.number, "name": pool.area_of_giving, "budget_fen": pool.budget_fen}


def _check(inputs: PortfolioInputs) -> None:
    if not inputs.proposals:
        raise Conflict("The call has no proposals to fund")
    if any(p.score is None for p in inputs.proposals):
        raise Conflict("Score every proposal before the portfolio run")


async def write_grants(
    conn: asyncpg.Connection,
    run_id: int,
    inputs: PortfolioInputs,
    result: portfolio_model.PortfolioResult,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """A run's grants with their reasons, and the call awarded."""
    by_id = {str(p.public_id): p for p in inputs.proposals}
    reasons = {e["proposal"]: e["reasons"] for e in summary["funded"]}
    for a in result.assignments:
        p = by_id[a.proposal]
        await grants_sql.insert_grant(
            conn,
            call_id=inputs.call.id,
            proposal_id=p.id,
            run_id=run_id,
            organisation_id=p.organisation_id,
            amount_fen=p.amount_fen,
            score=a.score,
            reasons=reasons[a.proposal],
        )
    await grants_sql.set_call_status(conn, inputs.call.id, ["awarding"], "awarded")
    return {"call_id": inputs.call.id, "grants": len(result.assignments), "status": result.status}


# The portfolio model as the run pipeline (api.services.runs) is told it.
RUNS: runs.RunKind[PortfolioInputs, portfolio_model.PortfolioResult] = runs.RunKind(
    model=MODEL,
    subject=SUBJECT,
    time_limit_s=TIME_LIMIT_S,
    load=runs.inputs_by_id(calls_sql.get_call, load_inputs, "No such call"),
    solve=portfolio_model.solve,
    result_type=portfolio_model.PortfolioResult,
    check=_check,
    describe=lambda inputs: {"call_id": inputs.call.id, "proposals": len(inputs.proposals)},
    summarise=runs.summary_of(build_result),
    apply=write_grants,
    on_start=lambda conn, call_id: grants_sql.set_call_status(conn, call_id, ["review", "awarded"], "awarding"),
)
