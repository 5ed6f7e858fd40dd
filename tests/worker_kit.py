"""What the worker tests of optimiser runs share: a queue that records enqueues, a hanging solver pool, a worker,
and for each model a small world to run it on (a `Case`), so one scenario set serves every model."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import asyncpg
from arq.worker import Worker

from api.services import awards, grants, rosters, runs, teams, visits
from api.services.accounts import Identity
from sql.match_runs import RunRow
from tests import factories
from tests import factories_awards as fa
from tests import factories_grants as fg
from tests import factories_teams as ft
from tests import factories_visit_plans as fv
from tests.factories_rosters import at, next_monday
from tests.factories_shifts import create_shift, publisher_identity, volunteer_identity
from workers import tasks
from workers.main import WorkerSettings


class JobQueueSpy:
    """Records what start_run enqueues, then forwards it to the real pool."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.calls: list[tuple[str, tuple[Any, ...], str | None]] = []
        self.jobs: list[Any] = []

    async def enqueue_job(self, function: str, *args: Any, _job_id: str | None = None) -> Any:
        self.calls.append((function, args, _job_id))
        job = await self.redis.enqueue_job(function, *args, _job_id=_job_id)
        self.jobs.append(job)
        return job


class HangingExecutor(Executor):
    """A solver pool whose solve never finishes: the worker is killed while waiting on it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.started.set()
        return Future()


def worker_for(redis: Any, pool: asyncpg.Pool, executor: Executor) -> Worker:
    """A burst worker on the real Valkey that runs every job queued, with this database pool and solver pool."""
    return Worker(
        functions=WorkerSettings.functions,
        redis_pool=redis,
        burst=True,
        poll_delay=0,
        ctx={"pool": pool, "solver_pool": executor, "job_timeout_s": 30},
        handle_signals=False,
    )


Start = Callable[[asyncpg.Connection, Any], Awaitable[RunRow]]
Snapshot = Callable[[asyncpg.Connection], Awaitable[object]]


@dataclass(frozen=True)
class World:
    """A subject ready for a run: how to start its run (conn, queue), and what its run's result wrote so far."""

    start: Start
    written: Snapshot


@dataclass(frozen=True)
class Case:
    """One model in the shared worker scenarios."""

    kind: runs.RunKind[Any, Any]
    task: Callable[[dict[str, Any], int], Awaitable[dict[str, Any]]]
    arrange: Callable[[asyncpg.Connection], Awaitable[World]]
    # `written` before any result and after the one result.
    empty: object
    full: object
    # Whether starting again after the result is written finds the same run (else the result is new inputs).
    same_run_after_finish: bool = True
    # What the loser of two racing deliveries may find, besides the winner's "written".
    race_losers: frozenset[str] = frozenset({"already finished", "already written", "already succeeded"})

    def __str__(self) -> str:
        return self.kind.model


# --------------------------------------------------------------------------------------------- award


async def two_lot_tender(conn: asyncpg.Connection) -> tuple[int, Identity, dict[str, int]]:
    """A reviewed tender: two lots, three bidders, one reviewer who scored everything, limit one lot per bidder."""
    funder_id = await factories.create_funder(conn)
    tender = await fa.create_tender(conn, funder_id, max_lots_per_bidder=1)
    lot1 = await fa.create_lot(conn, tender, 1)
    lot2 = await fa.create_lot(conn, tender, 2)
    strong = await factories.create_org(conn, name="强社工中心")
    other = await factories.create_org(conn, name="次社工中心")
    third = await factories.create_org(conn, name="三社工中心")
    bids = {
        "strong1": await fa.create_bid(conn, lot1, strong, price_fen=8_000_000),
        "strong2": await fa.create_bid(conn, lot2, strong, price_fen=8_000_000),
        "other1": await fa.create_bid(conn, lot1, other, price_fen=9_000_000),
        "third2": await fa.create_bid(conn, lot2, third, price_fen=9_500_000),
    }
    reviewer = await fa.create_reviewer(conn)
    await fa.assign(conn, tender, reviewer)
    for name, bid in bids.items():
        await fa.score(conn, bid, reviewer, 90 if name.startswith("strong") else 70)
    account = await factories.create_account(conn, "funder", funder_id=funder_id)
    who = await factories.identity_of(conn, account)
    return tender, who, bids


async def award_world(conn: asyncpg.Connection) -> World:
    """The two-lot tender; its result: (awards, whether the winners are right, the tender's status)."""
    tender, who, bids = await two_lot_tender(conn)

    async def start(conn: asyncpg.Connection, queue: Any) -> RunRow:
        return await awards.start_run(conn, queue, who, tender)

    async def written(conn: asyncpg.Connection) -> object:
        won = {r["bid_id"] for r in await conn.fetch("SELECT bid_id FROM awards")}
        # One lot per bidder: the strong bidder wins one lot, the other lot goes to its rival.
        right = won in ({bids["strong1"], bids["third2"]}, {bids["strong2"], bids["other1"]})
        return len(won), right, await conn.fetchval("SELECT status FROM tenders WHERE id = $1", tender)

    return World(start, written)


# --------------------------------------------------------------------------------------------- portfolio


async def scored_call(conn: asyncpg.Connection) -> tuple[int, Identity, dict[str, str]]:
    """Two pools (100,000 and 50,000 yuan), one grant per organisation, five scored proposals."""
    call, (pool1, pool2), funder_id = await fg.create_call(conn, pools=[10_000_000, 5_000_000], max_grants_per_org=1)
    a, b, c, d = [await factories.create_org(conn, name=n) for n in ("甲社工", "乙社工", "丙社工", "丁社工")]
    proposals = {
        "a1": await fg.create_proposal(conn, call, pool1, a, 6_000_000, 90),
        "a2": await fg.create_proposal(conn, call, pool2, a, 3_000_000, 85),
        "b1": await fg.create_proposal(conn, call, pool1, b, 5_000_000, 70),
        "c2": await fg.create_proposal(conn, call, pool2, c, 4_000_000, 60),
        "d1": await fg.create_proposal(conn, call, pool1, d, 12_000_000, 99),
    }
    account = await conn.fetchval("SELECT created_by FROM calls WHERE id = $1", call)
    who = await factories.identity_of(conn, account)
    assert who.funder_id == funder_id
    return call, who, proposals


async def portfolio_world(conn: asyncpg.Connection) -> World:
    """The scored call; its result: (funded proposals, pools over budget, organisations over the limit, status)."""
    call, who, proposals = await scored_call(conn)
    name_of = {pid: name for name, pid in proposals.items()}

    async def start(conn: asyncpg.Connection, queue: Any) -> RunRow:
        return await grants.start_run(conn, queue, who, call)

    async def written(conn: asyncpg.Connection) -> object:
        funded = await conn.fetch(
            "SELECT p.public_id::text AS pid FROM grants g JOIN proposals p ON p.id = g.proposal_id"
        )
        over_budget = await conn.fetchval(
            "SELECT count(*) FROM (SELECT cp.id FROM grants g JOIN proposals p ON p.id = g.proposal_id"
            " JOIN call_pools cp ON cp.id = p.pool_id"
            " GROUP BY cp.id, cp.budget_fen HAVING sum(g.amount_fen) > cp.budget_fen) x"
        )
        over_org = await conn.fetchval(
            "SELECT count(*) FROM (SELECT organisation_id FROM grants GROUP BY organisation_id HAVING count(*) > 1) x"
        )
        status = await conn.fetchval("SELECT status FROM calls WHERE id = $1", call)
        return sorted(name_of[r["pid"]] for r in funded), over_budget, over_org, status

    return World(start, written)


# --------------------------------------------------------------------------------------------- roster

NEAR = {"lat": 31.2815, "lon": 121.5215, "travel_km": 5}


async def a_week(conn: asyncpg.Connection) -> tuple[Identity, list[int], list[Identity]]:
    """An organisation's three shifts next week (5 places) and four volunteers near them."""
    org = await publisher_identity(conn, "organisation")
    shifts = [
        await create_shift(conn, organisation_id=org.organisation_id, starts_at=at(d, 9), headcount=h)
        for d, h in ((0, 2), (1, 1), (2, 2))
    ]
    volunteers = [await volunteer_identity(conn, **NEAR) for _ in range(4)]
    return org, shifts, volunteers


async def proposal_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    """(all proposals, live pairs over capacity): a double write would show in either."""
    total = await conn.fetchval("SELECT count(*) FROM roster_proposals")
    over = await conn.fetchval(
        "SELECT count(*) FROM (SELECT p.shift_id FROM roster_proposals p JOIN shifts s ON s.id = p.shift_id"
        " WHERE p.status = 'proposed' GROUP BY p.shift_id, s.headcount HAVING count(*) > s.headcount) x"
    )
    return int(total), int(over)


async def start_week(conn: asyncpg.Connection, queue: Any, org: Identity) -> RunRow:
    """The organisation asks for next week's roster."""
    return await rosters.start_run(conn, queue, org, rosters.RosterStart(week_starts=next_monday()))


async def roster_world(conn: asyncpg.Connection) -> World:
    """The week; its result: (proposals, shifts over capacity)."""
    org, _, _ = await a_week(conn)

    async def start(conn: asyncpg.Connection, queue: Any) -> RunRow:
        return await start_week(conn, queue, org)

    return World(start, proposal_counts)


# --------------------------------------------------------------------------------------------- teams

WINDOWS = ((1, "08:00", "12:00"), (3, "13:30", "17:00"))


async def project_with_carers(conn: asyncpg.Connection) -> ft.Project:
    """Three households and eight carers (three trained) within walking distance, sharing two weekly slots."""
    project = await ft.create_project(conn, households=3)
    for k in range(8):
        await ft.create_carer(conn, trained=k < 3, windows=WINDOWS, at=(ft.BASE[0] + 0.002 * (k % 4), ft.BASE[1]))
    return project


async def team_counts(conn: asyncpg.Connection) -> tuple[int, int, int, int]:
    """(teams, members, visits, households with a live team): one live team per household."""
    teams_n = await conn.fetchval("SELECT count(*) FROM teams")
    members = await conn.fetchval("SELECT count(*) FROM team_members")
    visits = await conn.fetchval("SELECT count(*) FROM team_visits")
    served = await conn.fetchval("SELECT count(DISTINCT household_id) FROM teams WHERE status = 'live'")
    return int(teams_n), int(members), int(visits), int(served)


async def start_project(conn: asyncpg.Connection, queue: Any, project: ft.Project) -> RunRow:
    """The organisation starts a teams run of its project."""
    return await teams.start_run(conn, queue, project.organisation(), project.contract_id)


async def project_with_live_teams(pool: asyncpg.Pool, redis: Any, solver_pool: Executor) -> ft.Project:
    """The three-household project after the worker has solved its first teams run: every household has a team."""
    async with pool.acquire() as conn:
        project = await project_with_carers(conn)
        run = await start_project(conn, JobQueueSpy(redis), project)
    await tasks.run_teams({"pool": pool, "solver_pool": solver_pool}, run.id)
    return project


async def teams_world(conn: asyncpg.Connection) -> World:
    """The project; its result: (teams, members, visits, households served)."""
    project = await project_with_carers(conn)

    async def start(conn: asyncpg.Connection, queue: Any) -> RunRow:
        return await start_project(conn, queue, project)

    return World(start, team_counts)


# --------------------------------------------------------------------------------------------- visits


async def visits_world(conn: asyncpg.Connection) -> World:
    """A home-care contract's day: three households (one bathed by two carers), three carers (one a nurse); its
    result: (live planned visits, their active commitments)."""
    contract = await fv.create_contract(conn)
    for k, level in enumerate((2, 3, 5)):
        await fv.add_household(conn, contract, at=(ft.BASE[0] + 0.002 * k, ft.BASE[1]), care_level=level)
    for k in range(3):
        abilities = ("elderly_carer", "nurse") if k == 0 else ("elderly_carer",)
        await fv.add_carer(conn, contract, at=(ft.BASE[0], ft.BASE[1] + 0.002 * k), abilities=abilities)
    day = fv.tomorrow()

    async def start(conn: asyncpg.Connection, queue: Any) -> RunRow:
        return await visits.start_plan(conn, queue, contract.organisation(), contract.contract_id,
                                       visits.PlanDay(day=day), fv.SPEEDS)  # fmt: skip

    async def written(conn: asyncpg.Connection) -> object:
        planned = await conn.fetchval("SELECT count(*) FROM planned_visits WHERE status <> 'released'")
        held = await conn.fetchval("SELECT count(*) FROM commitments WHERE kind = 'care_visit' AND status = 'active'")
        return int(planned), int(held)

    return World(start, written)


CASES = (
    Case(awards.RUNS, tasks.run_award, award_world, empty=(0, False, "awarding"), full=(2, True, "awarded")),
    Case(
        grants.RUNS,
        tasks.run_portfolio,
        portfolio_world,
        # a2 + b1 (155) beats a1 + c2 (150): one grant per organisation, pool 1 cannot hold a1 and b1.
        empty=([], 0, 0, "awarding"),
        full=(["a2", "b1"], 0, 0, "awarded"),
    ),
    Case(
        rosters.RUNS,
        tasks.run_roster,
        roster_world,
        empty=(0, 0),
        full=(5, 0),
    ),
    Case(
        teams.RUNS,
        tasks.run_teams,
        teams_world,
        empty=(0, 0, 0, 0),
        full=(3, 9, 3 * teams.PLAN_WEEKS, 3),
        # The live teams are the next run's previous plan: new inputs, so a new run.
        same_run_after_finish=False,
    ),
    # The plan just written is the next run's start, but the day is the same problem: the same run.
    Case(visits.RUNS, tasks.run_visits, visits_world, empty=(0, 0), full=(4, 4)),
)
