"""Award: brute-force optima on generated instances, the checker, reasons, conflicts, repair and the JSON format."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli.solving_assign import format_schemas, solve_file
from matching import award
from matching.award import AwardPick, AwardProblem, Bid, Funder, Lot, Org
from matching.common import Progress

ROOT = Path(__file__).resolve().parents[1]


@st.composite
def award_problems(draw: st.DrawFn) -> AwardProblem:
    n_lots = draw(st.integers(1, 4))
    n_orgs = draw(st.integers(1, 3))
    lots = tuple(Lot(f"L{i}", draw(st.integers(0, 100))) for i in range(n_lots))
    orgs = tuple(Org(f"O{i}", draw(st.integers(0, 20)), draw(st.integers(0, 3))) for i in range(n_orgs))
    bids: list[Bid] = []
    for lot in lots:
        for _ in range(draw(st.integers(0, 3))):
            org = draw(st.sampled_from(orgs))
            price = draw(st.integers(0, 120))
            hours = draw(st.integers(0, 10))
            score = draw(st.integers(-4, 60)) / 2  # halves exercise the non-integer score scale
            bids.append(Bid(f"B{len(bids)}", lot.id, org.id, price, hours, score))
    funders = tuple(
        Funder(f"F{i}", draw(st.integers(0, 200)), tuple(draw(st.sets(st.sampled_from([x.id for x in lots])))))
        for i in range(draw(st.integers(0, 2)))
    )
    return AwardProblem(lots, orgs, tuple(bids), funders, draw(st.booleans()))


def brute_award(problem: AwardProblem) -> float | None:
    per_lot = [[None, *[b for b in problem.bids if b.lot == lot.id]] for lot in problem.lots]
    best: float | None = None
    for combo in itertools.product(*per_lot):
        picks = [AwardPick(b.lot, b.id) for b in combo if b is not None]
        if not award.check(problem, picks):
            total = sum(b.score for b in combo if b is not None)
            best = total if best is None else max(best, total)
    return best


@settings(max_examples=60, deadline=None)
@given(award_problems())
def test_generated_awards_are_valid_and_optimal(problem: AwardProblem) -> None:
    r = award.solve(problem, time_limit_s=5, seed=0)
    best = brute_award(problem)
    if best is None:
        assert r.status == "infeasible"
        assert r.conflicts and r.assignments == ()
        return
    assert award.check(problem, r.assignments) == []
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best)
    assert r.bound == pytest.approx(best)
    # Every lot and every losing bid is accounted for.
    decided = {a.lot for a in r.assignments} | {u.id for u in r.unassigned if u.kind == "lot"}
    assert decided == {x.id for x in problem.lots}
    winners = {a.bid for a in r.assignments}
    assert {u.id for u in r.unassigned if u.kind == "bid"} == {b.id for b in problem.bids} - winners


def capacity_clash() -> AwardProblem:
    return AwardProblem(
        lots=(Lot("L1", 100), Lot("L2", 100)),
        orgs=(Org("A", 10, 5), Org("B", 10, 5)),
        bids=(
            Bid("a1", "L1", "A", 50, 10, 90),
            Bid("b1", "L1", "B", 60, 5, 80),
            Bid("a2", "L2", "A", 70, 10, 100),
            Bid("x1", "L1", "B", 200, 1, 99),
        ),
    )


def test_reasons_name_the_capacity_that_blocked_a_better_bid() -> None:
    problem = capacity_clash()
    r = award.solve(problem, time_limit_s=5, seed=0)
    assert r.status == "optimal" and r.objective == 180
    won = {a.lot: a for a in r.assignments}
    assert won["L2"].bid == "a2" and won["L2"].rank == 1
    l1 = won["L1"]
    assert l1.bid == "b1" and l1.rank == 2 and l1.eligible_bids == 2
    assert [p.bid for p in l1.passed_over] == ["a1"]
    assert l1.passed_over[0].blocked_by[0].startswith("org A capacity_hours")
    assert l1.binding == ("org A capacity_hours",)
    why = {u.id: u for u in r.unassigned}
    assert why["x1"].reason == "ineligible" and "over lot L1 budget" in why["x1"].detail
    assert why["a1"].reason == "blocked"


def test_award_all_with_too_little_capacity_reports_the_conflict() -> None:
    problem = AwardProblem(
        lots=(Lot("L1", 100), Lot("L2", 100), Lot("L3", 100)),
        orgs=(Org("A", 5, 5), Org("B", 100, 5)),
        bids=(Bid("a1", "L1", "A", 10, 4, 5), Bid("a2", "L2", "A", 10, 4, 5), Bid("b3", "L3", "B", 10, 4, 5)),
        award_all=True,
    )
    r = award.solve(problem, time_limit_s=5, seed=0)
    assert r.status == "infeasible" and r.assignments == ()
    details = {c.detail for c in r.conflicts}
    # The small conflicting set: both lots that only A bid for, A's hours, and award_all itself.
    assert "lot L1 must be assigned" in details and "lot L2 must be assigned" in details
    assert "org A capacity_hours at most 5" in details
    assert "lot L3 must be assigned" not in details
    assert any(c.constraint == "award_all" for c in r.conflicts)


def test_award_all_with_a_lot_nobody_can_take() -> None:
    problem = AwardProblem(
        lots=(Lot("L1", 10),), orgs=(Org("A", 5, 5),), bids=(Bid("a1", "L1", "A", 50, 1, 5),), award_all=True
    )
    r = award.solve(problem, time_limit_s=2, seed=0)
    assert r.status == "infeasible"
    assert any("lot L1" in c.detail for c in r.conflicts)


def test_funder_budget_and_max_lots_are_respected() -> None:
    problem = AwardProblem(
        lots=(Lot("L1", 100), Lot("L2", 100), Lot("L3", 100)),
        orgs=(Org("A", 100, 2), Org("B", 100, 5)),
        bids=(
            Bid("a1", "L1", "A", 60, 1, 10),
            Bid("a2", "L2", "A", 60, 1, 10),
            Bid("a3", "L3", "A", 10, 1, 10),
            Bid("b1", "L1", "B", 20, 1, 4),
            Bid("b2", "L2", "B", 20, 1, 3),
        ),
        funders=(Funder("F", 100, ("L1", "L2")),),
    )
    r = award.solve(problem, time_limit_s=5, seed=0)
    assert award.check(problem, r.assignments) == []
    # A wins at most two lots and F pays at most 100 for L1 and L2: A takes L3 and one of L1/L2; B the other.
    assert r.status == "optimal" and r.objective == 24


def test_repair_keeps_what_still_holds() -> None:
    problem = capacity_clash()
    previous = [AwardPick("L1", "a1"), AwardPick("L2", "gone")]
    r = award.solve(problem, time_limit_s=5, seed=0, previous=previous)
    assert award.check(problem, r.assignments) == []
    assert r.objective == 180  # the solver still improves on the repaired plan


def test_checker_catches_every_broken_rule() -> None:
    problem = capacity_clash()
    problems = award.check(problem, [AwardPick("L1", "a1"), AwardPick("L2", "a2"), AwardPick("L1", "x1")])
    assert any("capacity" in p for p in problems)
    assert any("more than one winner" in p for p in problems)
    assert award.check(problem, [AwardPick("L1", "x1")]) == ["bid 'x1' costs 200 fen, over lot 'L1' budget 100"]
    assert award.check(problem, [AwardPick("L2", "a1")]) == ["bid 'a1' is for lot 'L1', not 'L2'"]


def test_invalid_references_are_rejected() -> None:
    problem = AwardProblem(lots=(Lot("L1", 1),), orgs=(), bids=(Bid("b", "L1", "nobody", 0, 0, 1),))
    with pytest.raises(ValueError, match="unknown org"):
        award.solve(problem, time_limit_s=1, seed=0)


def test_progress_is_reported_and_same_seed_same_answer() -> None:
    problem = capacity_clash()
    seen: list[Progress] = []
    a = award.solve(problem, time_limit_s=5, seed=4, on_progress=seen.append)
    b = award.solve(problem, time_limit_s=5, seed=4)
    assert seen and seen[-1].objective == a.objective
    assert a.assignments == b.assignments
    # The service solves in a process pool: problem and result must survive pickling.
    assert pickle.loads(pickle.dumps(problem)) == problem  # noqa: S301 - our own bytes
    assert pickle.loads(pickle.dumps(a)) == a  # noqa: S301 - our own bytes


def test_solve_file_reads_the_documented_json(tmp_path: Path) -> None:
    doc = {
        "lots": [{"id": "L1", "budget_fen": 100}],
        "orgs": [{"id": "A", "capacity_hours": 10, "max_lots": 1}],
        "funders": [{"id": "F", "budget_fen": 500, "lots": ["L1"]}],
        "bids": [{"id": "b1", "lot": "L1", "org": "A", "price_fen": 90, "hours": 3, "score": 7.5}],
        "award_all": False,
    }
    path = tmp_path / "award.json"
    path.write_text(json.dumps(doc))
    out = json.loads(solve_file("award", path, time_limit_s=2, seed=0))
    assert out["status"] == "optimal" and out["objective"] == 7.5
    assert out["assignments"][0]["lot"] == "L1" and out["assignments"][0]["bid"] == "b1"


def test_committed_schemas_match_the_structs() -> None:
    for name, text in format_schemas().items():
        assert (ROOT / "docs" / "formats" / name).read_text() == text, f"regenerate docs/formats/{name}"
    schema = msgspec.json.decode(format_schemas()["award.schema.json"].encode())
    assert set(schema["$defs"]) >= {"AwardProblem", "Lot", "Org", "Funder", "Bid"}
