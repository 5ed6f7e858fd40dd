"""The demo district's marketplace: needs from several committees and tenders at every stage, from sealed bids to a
graded contract, written by direct INSERTs that keep every CHECK and the semantics of the tendering use cases.

Deterministic for a seed and a day: every choice comes from one random stream, every time is relative to `today`.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import asyncpg
import msgspec

from api.demo.streams import stream
from api.services.bids import SealedContent, receipt_of
from api.services.contracts import contract_period
from api.services.types import SHANGHAI
from sql import areas as areas_sql
from sql import demo as demo_sql
from sql import demo_market as market_sql
from sql.demo_market import CommitteeRow

CRITERIA: list[dict[str, Any]] = [{"name": "服务方案", "weight": 40}, {"name": "团队与经验", "weight": 30}]
PRICE_WEIGHT = 30


class TenderingReport(msgspec.Struct, frozen=True):
    """What the marketplace demo created."""

    needs: int
    tenders: int
    bids: int
    contracts: int


@dataclass
class _Ctx:
    conn: asyncpg.Connection
    rng: random.Random
    today: date
    accounts: dict[str, int]
    demo_org: int
    committees: list[CommitteeRow]
    catalogue: dict[str, int]
    org_names: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"needs": 0, "tenders": 0, "bids": 0, "contracts": 0})


def _at(ctx: _Ctx, days: int, hour: int | None = None) -> datetime:
    """A moment `days` from today (negative: before) during office hours, Shanghai time."""
    h = hour if hour is not None else ctx.rng.randint(9, 16)
    return datetime.combine(ctx.today + timedelta(days), clock(h, ctx.rng.randint(0, 59)), tzinfo=SHANGHAI)


def _round_price(fen: float) -> int:
    """Bids are in whole hundreds of yuan, as people write them."""
    return max(100, round(fen / 10_000) * 10_000)


# (catalogue code, need title, description, beneficiaries, schedule, urgency).
_NEEDS: dict[str, tuple[str, str, int, str, str]] = {
    "elderly_care": ("老年助餐与陪伴", "小区高龄独居老人多，午餐和日常探访缺人手。", 60,
                     "每周一至周五 11:00-13:00", "high"),
    "respite_care": ("失能老人家庭喘息服务", "照护失能、失智老人的家属长期无休，需要短期替代照护。", 12,
                     "每户每月4天", "urgent"),
    "companionship_311": ("空巢老人311类家庭结对", "空巢老人需要长期情感陪伴和生活照料。", 20,
                          "每月至少4小时", "normal"),
    "home_care": ("长护险上门照护补位", "评估等级2-4级的老人上门照护频次不足。", 30, "每周3次上门", "high"),
    "food_bank": ("社区食物银行站点运营", "需要有人收集、分拣和配送爱心食物。", 200, "每周二、周六", "normal"),
    "low_carbon": ("垃圾分类与旧物循环", "楼道垃圾分类准确率低，旧物堆放占用公共空间。", 1500, "每月两次集中活动",
                   "low"),
    "youth": ("双职工子女课后看护", "放学后无人照看的小学生需要课后看护和作业辅导。", 40, "上学日 15:30-18:00",
              "normal"),
    "retirement_adaptation": ("新退休居民社区融入", "刚退休的居民希望参与社区活动、发挥所长。", 80, "每周一次",
                              "low"),
}  # fmt: skip


async def _need(
    ctx: _Ctx, committee: CommitteeRow, code: str, status: str, created_days_ago: int, households: int = 0
) -> int:
    """One committee's need; a personal service names some of the committee's households."""
    title, description, beneficiaries, schedule, urgency = _NEEDS[code]
    name = committee.name.removesuffix("居委会")
    starts = ctx.today - timedelta(created_days_ago) + timedelta(30)
    creator = ctx.accounts["committee.kailu4"] if committee.id == ctx.committees[0].id else ctx.accounts["admin"]
    lat = round(committee.lat + ctx.rng.uniform(-0.002, 0.002), 6)
    lon = round(committee.lon + ctx.rng.uniform(-0.002, 0.002), 6)
    need_id = await market_sql.insert_need(
        ctx.conn,
        market_sql.Need(
            committee_id=committee.id, catalogue_item_id=ctx.catalogue[code], title=f"{name}{title}",
            description=description, beneficiaries=beneficiaries + ctx.rng.randint(0, beneficiaries // 4), lat=lat,
            lon=lon, starts_on=starts, ends_on=starts + timedelta(364), schedule=schedule, urgency=urgency,
            status=status, created_by=creator, created_at=_at(ctx, -created_days_ago),
        ),
    )  # fmt: skip
    if households:
        named = await demo_sql.committee_households(ctx.conn, committee.id, households)
        await market_sql.name_households(ctx.conn, need_id, [h.id for h in named])
    ctx.counts["needs"] += 1
    return need_id


@dataclass
class _Bid:
    id: int
    lot_id: int
    organisation_id: int
    public_id: str
    price_fen: int
    quality: float = 0.0
    total: float = 0.0


@dataclass
class _Lot:
    id: int
    number: int
    title: str
    budget_fen: int
    months: int
    bids: list[_Bid] = field(default_factory=list)


@dataclass
class _Tender:
    id: int
    funder_id: int
    title: str
    lots: list[_Lot]


async def _tender(
    ctx: _Ctx,
    *,
    funder: str,
    funder_id: int,
    code: str,
    title: str,
    status: str,
    close_in_days: int,
    lots: list[tuple[str, int, list[int]]],
    notice: tuple[int, int] | None = None,
) -> _Tender:
    """A tender with its lots over needs: (lot title, budget in yuan, need ids) each; notice = (start, end) days."""
    opened = close_in_days - 21
    tender_id = await market_sql.insert_tender(
        ctx.conn,
        market_sql.Tender(
            funder_id=funder_id, catalogue_item_id=ctx.catalogue[code], title=title,
            description=f"{title}。按照政府购买服务指导目录采购，服务期一年，按阶段节点分期拨付。", status=status,
            bids_open_at=_at(ctx, opened, 9), bids_close_at=_at(ctx, close_in_days, 17), min_rating=3,
            min_years_registered=2, price_weight_pct=PRICE_WEIGHT, criteria=msgspec.json.encode(CRITERIA).decode(),
            max_lots_per_bidder=1, notice_starts_at=_at(ctx, notice[0], 10) if notice else None,
            notice_ends_at=_at(ctx, notice[1], 10) if notice else None, created_by=ctx.accounts[funder],
            created_at=_at(ctx, opened - 2),
        ),
    )  # fmt: skip
    made: list[_Lot] = []
    for number, (lot_title, budget_yuan, need_ids) in enumerate(lots, start=1):
        lot_status = "open" if status in ("open", "review", "cancelled") else "awarded"
        if status == "cancelled":
            lot_status = "cancelled"
        lot_id = await market_sql.insert_lot(
            ctx.conn,
            market_sql.Lot(
                tender_id=tender_id, number=number, title=lot_title, budget_fen=budget_yuan * 100,
                staff_hours=budget_yuan // 150, deliverables="按月提交服务记录，季度提交阶段报告，年终提交绩效自评。",
                contract_months=12, status=lot_status,
            ),
        )  # fmt: skip
        await market_sql.link_needs(ctx.conn, lot_id, need_ids)
        made.append(_Lot(lot_id, number, lot_title, budget_yuan * 100, 12))
    ctx.counts["tenders"] += 1
    return _Tender(tender_id, funder_id, title, made)


_PLANS = (
    "组建专职社工团队，依托居委会建立服务对象档案，按月走访、按季评估，志愿者队伍补位日常陪伴。",
    "以睦邻点为阵地，社工+志愿者结对服务，建立服务台账和满意度回访机制。",
    "引入专业护理员，分片包干，服务记录上传平台，家属可查询服务进度。",
)


async def _bids(ctx: _Ctx, tender: _Tender, lot: _Lot, bidders: list[int], *, close_days: int) -> None:
    """Sealed bids on a lot, each with its receipt and its first history event, submitted before the deadline."""
    for organisation_id in bidders:
        price = _round_price(lot.budget_fen * ctx.rng.uniform(0.78, 0.97))
        hours = lot.budget_fen // 15_000 + ctx.rng.randint(-40, 60)
        plan = ctx.rng.choice(_PLANS)
        team = f"项目主管1名，持证社工{ctx.rng.randint(2, 6)}名，志愿者{ctx.rng.randint(10, 40)}名"
        sealed_at = _at(ctx, close_days - ctx.rng.randint(2, 12))
        public_id = str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))
        receipt = receipt_of(
            SealedContent(
                bid=public_id, tender_id=tender.id, lot_id=lot.id, organisation_id=organisation_id,
                price_fen=price, hours=hours, plan=plan, team=team, conflict_of_interest=False, conflict_detail="",
                sealed_at=sealed_at.isoformat(),
            )
        )  # fmt: skip
        bid_id = await market_sql.insert_bid(
            ctx.conn,
            market_sql.Bid(
                lot_id=lot.id, organisation_id=organisation_id, price_fen=price, hours=hours, plan=plan, team=team,
                receipt=receipt, submitted_at=sealed_at, public_id=uuid.UUID(public_id),
            ),
        )  # fmt: skip
        actor = ctx.accounts["org.leling"] if organisation_id == ctx.demo_org else None
        await market_sql.record_submission(ctx.conn, bid_id, organisation_id, actor, receipt, sealed_at)
        lot.bids.append(_Bid(bid_id, lot.id, organisation_id, public_id, price))
        ctx.counts["bids"] += 1


async def _review(
    ctx: _Ctx, tender: _Tender, *, assigned_days: int, scored: int | None = None, favour: tuple[int, ...] = ()
) -> None:
    """reviewer.demo on the panel, scoring the bids (all unless `scored` says how many); `favour`ed bidders' plans
    score so much better that no price difference within the bids' range (≤ 6 of 30 price points) can beat them."""
    reviewer = ctx.accounts["reviewer.demo"]
    await market_sql.assign_reviewer(ctx.conn, tender.id, reviewer, _at(ctx, assigned_days))
    done = 0
    for lot in tender.lots:
        for bid in lot.bids:
            if scored is not None and done >= scored:
                continue
            low, high = (93, 98) if bid.organisation_id in favour else (68, 82 if favour else 95)
            scores = {c["name"]: float(ctx.rng.randint(low, high)) for c in CRITERIA}
            bid.quality = round(sum(scores[str(c["name"])] * int(c["weight"]) for c in CRITERIA) / 70, 2)
            await market_sql.insert_review(
                ctx.conn, bid.id, reviewer, msgspec.json.encode(scores).decode(), bid.quality,
                "方案完整，团队配置合理。" if bid.quality >= 80 else "方案可行，细节有待充实。",
                _at(ctx, assigned_days + 1),
            )  # fmt: skip
            done += 1
    for lot in tender.lots:
        lowest = min(b.price_fen for b in lot.bids)
        for bid in lot.bids:
            bid.total = round(lowest / bid.price_fen * PRICE_WEIGHT + bid.quality * (100 - PRICE_WEIGHT) / 100, 3)


async def _award(
    ctx: _Ctx, tender: _Tender, *, finished_days: int, status: str, winners: dict[int, int] | None = None
) -> dict[int, tuple[int, _Bid]]:
    """A succeeded award run (its result as the award use case writes it) and one award per lot; lot → (award, bid)."""
    chosen = {lot.id: min(lot.bids, key=lambda b: (-b.total, b.id)) for lot in tender.lots}
    for number, organisation_id in (winners or {}).items():
        # The favoured reviews make these the best-scored bids, so the reasons shown agree with the figures.
        assert chosen[tender.lots[number - 1].id].organisation_id == organisation_id
    lots_out: list[dict[str, Any]] = []
    bids_out: list[dict[str, Any]] = []
    reasons_of: dict[int, dict[str, Any]] = {}
    for lot in tender.lots:
        winner = chosen[lot.id]
        lowest = min(b.price_fen for b in lot.bids)
        reasons = {
            "score": winner.total,
            "price_score": round(lowest / winner.price_fen * PRICE_WEIGHT, 3),
            "quality_score": round(winner.quality * (100 - PRICE_WEIGHT) / 100, 3),
            "rank": 1,
            "eligible_bids": len(lot.bids),
            "single_bidder": len(lot.bids) == 1,
            "binding": [],
            "passed_over": [],
        }
        reasons_of[lot.id] = reasons
        lots_out.append({
            "lot_id": lot.id, "number": lot.number, "title": lot.title, "winner_bid": winner.public_id,
            "organisation_name": ctx.org_names[winner.organisation_id], "price_fen": winner.price_fen,
            "reasons": reasons,
        })  # fmt: skip
        for bid in lot.bids:
            entry: dict[str, Any] = {
                "bid": bid.public_id, "lot_id": lot.id, "organisation_id": bid.organisation_id,
                "organisation_name": ctx.org_names[bid.organisation_id], "price_fen": bid.price_fen,
                "score": bid.total, "outcome": "won" if bid is winner else "lost",
                "reason": "won" if bid is winner else "outscored",
            }  # fmt: skip
            if bid is not winner:
                entry["detail"] = ""
                entry["beaten_by"] = {
                    "bid": winner.public_id, "organisation_name": ctx.org_names[winner.organisation_id],
                    "score": winner.total,
                }  # fmt: skip
            bids_out.append(entry)
    objective = round(sum(b.total for b in chosen.values()), 3)
    result = {
        "status": "optimal", "objective": objective, "bound": objective, "gap": 0.0, "bound_source": "exact",
        "lots": lots_out, "bids": bids_out,
    }  # fmt: skip
    started = _at(ctx, finished_days, 10)
    progress = [{"t": 0.2, "objective": objective, "bound": objective}]
    digest = hashlib.sha256(f"demo-run:{tender.id}:{objective}".encode()).hexdigest()
    run_id = await market_sql.insert_award_run(
        ctx.conn,
        market_sql.AwardRun(
            tender_id=tender.id, progress=msgspec.json.encode(progress).decode(), objective=objective,
            result=msgspec.json.encode(result).decode(), created_by=ctx.accounts["funder.yinhang"],
            started_at=started, finished_at=started + timedelta(seconds=3), inputs_digest=digest,
        ),
    )  # fmt: skip
    made: dict[int, tuple[int, _Bid]] = {}
    for lot in tender.lots:
        winner = chosen[lot.id]
        award_id = await market_sql.insert_award(
            ctx.conn,
            market_sql.Award(
                lot_id=lot.id, bid_id=winner.id, run_id=run_id, organisation_id=winner.organisation_id,
                price_fen=winner.price_fen, score=winner.total,
                reasons=msgspec.json.encode(reasons_of[lot.id]).decode(), status=status,
                created_at=started + timedelta(seconds=3),
            ),
        )  # fmt: skip
        made[lot.id] = (award_id, winner)
    return made


async def _contract(
    ctx: _Ctx,
    tender: _Tender,
    lot: _Lot,
    award: tuple[int, _Bid],
    *,
    notice_end_days: int,
    starts_days: int,
    outcome: str,
    grade: tuple[str, int] | None = None,
) -> None:
    """A signed contract with four milestones (the second a mid-term evaluation); outcome: running/completed/stopped."""
    award_id, bid = award
    starts_on, ends_on = contract_period(ctx.today + timedelta(starts_days), lot.months)
    sign_by = ctx.today + timedelta(notice_end_days + 30)
    signed_at = _at(ctx, starts_days - 3)
    amounts = [round(bid.price_fen * share / 100) for share in (30, 30, 20)]
    amounts.append(bid.price_fen - sum(amounts))
    titles = ("项目启动与需求评估", "服务过半阶段报告", "服务深化与第三季度报告", "结项评估与绩效自评")
    dues = [starts_on + timedelta(days) for days in (14, 150, 260)] + [ends_on]
    status = {"running": "active", "completed": "completed", "stopped": "stopped"}[outcome]
    contract_id = await market_sql.insert_contract(
        ctx.conn,
        market_sql.Contract(
            award_id=award_id, funder_id=tender.funder_id, organisation_id=bid.organisation_id,
            amount_fen=bid.price_fen, sign_by=sign_by, signed_at=signed_at, starts_on=starts_on, ends_on=ends_on,
            status=status, grade=grade[0] if grade else None, graded_at=_at(ctx, grade[1]) if grade else None,
        ),
    )  # fmt: skip
    for seq, (title, due, amount) in enumerate(zip(titles, dues, amounts, strict=True), start=1):
        midterm = seq == 2
        if outcome == "completed" or (outcome in ("running", "stopped") and seq == 1):
            state = "accepted"
        elif outcome == "running" and seq == 2:
            state = "reported"
        elif outcome == "stopped" and seq == 2:
            state = "rejected"
        elif outcome == "stopped":
            state = "stopped"
        else:
            state = "planned"
        reported = datetime.combine(min(due, ctx.today - timedelta(2)), clock(15, 0), tzinfo=SHANGHAI)
        decided = reported + timedelta(days=3) if state in ("accepted", "rejected") else None
        report = (
            f"已完成「{title}」：服务记录、签到表和满意度回访见附件。" if state not in ("planned", "stopped") else None
        )
        note = {
            "accepted": "验收通过，按合同拨付本期款项。",
            "rejected": "中期评估不合格：服务频次未达合同约定，停止后续拨付。",
        }.get(state)  # fmt: skip
        milestone_id = await market_sql.insert_milestone(
            ctx.conn,
            market_sql.Milestone(
                contract_id=contract_id, seq=seq, title=title, due_on=due, amount_fen=amount, midterm=midterm,
                status=state, report=report, reported_at=reported if report else None, decided_at=decided,
                decision_note=note,
            ),
        )  # fmt: skip
        if state == "accepted" and decided is not None:
            await market_sql.record_payment(ctx.conn, milestone_id, amount, decided + timedelta(hours=2))
    ctx.counts["contracts"] += 1


async def seed_tendering(
    conn: asyncpg.Connection,
    *,
    seed: int,
    today: date,
    accounts: dict[str, int],
    office_funder_id: int,
    foundation_funder_id: int,
    office_area_id: int,
    demo_committee_id: int,
    demo_organisation_id: int,
) -> TenderingReport:
    """Needs and tenders at every stage for the demo logins: funder.yinhang's tenders, org.leling's bids and contracts,
    reviewer.demo's panel, committee.kailu4's needs."""
    rng = stream(seed, "tendering")
    committees = await market_sql.committees(conn, office_area_id, demo_committee_id)
    organisations = await market_sql.verified_organisations(conn)
    ctx = _Ctx(
        conn=conn, rng=rng, today=today, accounts=accounts, demo_org=demo_organisation_id, committees=committees,
        catalogue={item.code: item.id for item in await areas_sql.list_catalogue(conn)},
    )  # fmt: skip
    ctx.org_names = {o.id: o.name for o in organisations}
    other_ids = [o.id for o in organisations if o.id != demo_organisation_id]

    def pick(k: int) -> list[int]:
        return rng.sample(other_ids, min(k, len(other_ids)))

    def committee(i: int) -> CommitteeRow:
        return committees[i % len(committees)]

    yh, lel = office_funder_id, demo_organisation_id
    yh_kw: dict[str, Any] = {"funder": "funder.yinhang", "funder_id": yh}

    # Needs not yet in a tender, for the committees' and funders' lists.
    await _need(ctx, committee(0), "youth", "open", 6)
    await _need(ctx, committee(1), "retirement_adaptation", "open", 9)
    await _need(ctx, committee(2), "elderly_care", "open", 3)

    # 1. Open for bids (closes in 12 days): org.leling's sealed bid and two others.
    needs = [await _need(ctx, committee(0), "elderly_care", "in_tender", 20),
             await _need(ctx, committee(3), "elderly_care", "in_tender", 18)]  # fmt: skip
    t_open = await _tender(
        ctx, **yh_kw, code="elderly_care", title="殷行街道2026年度社区为老助餐与探访服务项目", status="open",
        close_in_days=12, lots=[("开鲁片区助餐与探访", 380_000, needs)],
    )  # fmt: skip
    await _bids(ctx, t_open, t_open.lots[0], [lel, *pick(2)], close_days=12)

    # 2. Past the deadline, in review: reviewer.demo has scored one bid of three.
    needs = [await _need(ctx, committee(1), "food_bank", "in_tender", 40)]
    t_review = await _tender(
        ctx, **yh_kw, code="food_bank", title="殷行街道社区食物银行站点运营项目", status="review",
        close_in_days=-4, lots=[("食物银行站点运营", 260_000, needs)],
    )  # fmt: skip
    await _bids(ctx, t_review, t_review.lots[0], [lel, *pick(2)], close_days=-4)
    await _review(ctx, t_review, assigned_days=-3, scored=1)

    # 3. Award run succeeded, awards proposed, not yet published.
    needs = [await _need(ctx, committee(2), "home_care", "in_tender", 55)]
    t_awarded = await _tender(
        ctx, **yh_kw, code="home_care", title="殷行街道长护险上门照护补位服务项目", status="awarded",
        close_in_days=-25, lots=[("上门照护补位", 300_000, needs)],
    )  # fmt: skip
    await _bids(ctx, t_awarded, t_awarded.lots[0], pick(3), close_days=-25)
    await _review(ctx, t_awarded, assigned_days=-23)
    await _award(ctx, t_awarded, finished_days=-2, status="proposed")

    # 4. Published: the notice runs for 15 days, and a resident's objection awaits the funder's reply.
    needs = [await _need(ctx, committee(0), "companionship_311", "in_tender", 70, households=3),
             await _need(ctx, committee(4), "companionship_311", "in_tender", 68)]  # fmt: skip
    t_notice = await _tender(
        ctx, **yh_kw, code="companionship_311", title="殷行街道空巢老人311类家庭结对服务项目", status="notice",
        close_in_days=-40, lots=[("开鲁片区结对", 240_000, needs[:1]), ("国和片区结对", 220_000, needs[1:])],
        notice=(-3, 12),
    )  # fmt: skip
    for lot in t_notice.lots:
        await _bids(ctx, t_notice, lot, [lel, *pick(2)], close_days=-40)
    await _review(ctx, t_notice, assigned_days=-38)
    awarded = await _award(ctx, t_notice, finished_days=-5, status="published")
    first_lot = t_notice.lots[0]
    await market_sql.file_objection(
        conn,
        market_sql.Objection(
            tender_id=t_notice.id, lot_id=first_lot.id, filed_by=accounts["volunteer.demo"],
            body=f"对「{first_lot.title}」的评审结果有疑问：中标方的服务团队人数与投标文件所列不一致，请予核实。",
            filed_at=_at(ctx, -1), reply_due_at=_at(ctx, -1) + timedelta(days=5),
        ),
    )  # fmt: skip
    del awarded

    # 4b. Notice over, the one objection answered and rejected: the award is ready for funder.yinhang's contract.
    needs = [await _need(ctx, committee(5), "retirement_adaptation", "in_tender", 75)]
    t_ready = await _tender(
        ctx, **yh_kw, code="retirement_adaptation", title="殷行街道新退休居民社区融入项目", status="notice",
        close_in_days=-45, lots=[("退休适应与社区参与", 180_000, needs)], notice=(-18, -3),
    )  # fmt: skip
    await _bids(ctx, t_ready, t_ready.lots[0], [lel, *pick(2)], close_days=-45)
    await _review(ctx, t_ready, assigned_days=-43, favour=(lel,))
    await _award(ctx, t_ready, finished_days=-20, status="published", winners={1: lel})
    await market_sql.file_objection(
        conn,
        market_sql.Objection(
            tender_id=t_ready.id, lot_id=t_ready.lots[0].id, filed_by=accounts["volunteer.demo"],
            body="中标方是否具备退休适应服务经验？请公开其以往项目情况。", filed_at=_at(ctx, -10),
            reply_due_at=_at(ctx, -10) + timedelta(days=5),
            reply="经核实，中标方近三年承接同类项目两项，绩效评估均为良好以上，质疑不成立。", replied_at=_at(ctx, -8),
        ),
    )  # fmt: skip

    # 5. Under contract: org.leling delivers; first instalment paid, second reported and awaiting acceptance.
    needs = [await _need(ctx, committee(0), "respite_care", "funded", 160, households=4),
             await _need(ctx, committee(5), "respite_care", "funded", 158)]  # fmt: skip
    t_contract = await _tender(
        ctx, **yh_kw, code="respite_care", title="殷行街道失能老人家庭喘息服务项目", status="contracting",
        close_in_days=-130, lots=[("喘息服务", 420_000, needs)], notice=(-110, -95),
    )  # fmt: skip
    await _bids(ctx, t_contract, t_contract.lots[0], [lel, *pick(2)], close_days=-130)
    await _review(ctx, t_contract, assigned_days=-128, favour=(lel,))
    awards = await _award(ctx, t_contract, finished_days=-112, status="final", winners={1: lel})
    lot = t_contract.lots[0]
    await _contract(ctx, t_contract, lot, awards[lot.id], notice_end_days=-95, starts_days=-85, outcome="running")

    # 6. Closed a year on: org.leling graded excellent; the other lot stopped at mid-term and graded unqualified.
    needs = [await _need(ctx, committee(0), "elderly_care", "funded", 520),
             await _need(ctx, committee(6), "elderly_care", "funded", 515)]  # fmt: skip
    t_closed = await _tender(
        ctx, **yh_kw, code="elderly_care", title="殷行街道2025年度居家养老服务项目", status="closed",
        close_in_days=-500, lots=[("开鲁片区居家养老", 360_000, needs[:1]), ("市光片区居家养老", 330_000, needs[1:])],
        notice=(-480, -465),
    )  # fmt: skip
    loser, rival_1, rival_2 = pick(3)
    await _bids(ctx, t_closed, t_closed.lots[0], [lel, rival_1], close_days=-500)
    await _bids(ctx, t_closed, t_closed.lots[1], [loser, rival_2], close_days=-500)
    await _review(ctx, t_closed, assigned_days=-498, favour=(lel, loser))
    awards = await _award(ctx, t_closed, finished_days=-482, status="final", winners={1: lel, 2: loser})
    await _contract(
        ctx, t_closed, t_closed.lots[0], awards[t_closed.lots[0].id], notice_end_days=-465, starts_days=-455,
        outcome="completed", grade=("excellent", -60),
    )  # fmt: skip
    await _contract(
        ctx, t_closed, t_closed.lots[1], awards[t_closed.lots[1].id], notice_end_days=-465, starts_days=-455,
        outcome="stopped", grade=("unqualified", -200),
    )  # fmt: skip

    # 7. Cancelled before the deadline: its need went back to the committee's open list.
    needs = [await _need(ctx, committee(3), "low_carbon", "open", 90)]
    await _tender(
        ctx, **yh_kw, code="low_carbon", title="殷行街道垃圾分类宣传与旧物循环项目", status="cancelled",
        close_in_days=-60, lots=[("垃圾分类与旧物循环", 120_000, [])],
    )  # fmt: skip

    # The community foundation's own open call-for-bids on youth services.
    needs = [await _need(ctx, committee(7), "youth", "in_tender", 15)]
    t_foundation = await _tender(
        ctx, funder="funder.jiangpu", funder_id=foundation_funder_id, code="youth",
        title="江浦路街道社区基金会双职工子女课后看护项目", status="open", close_in_days=20,
        lots=[("课后看护", 150_000, needs)],
    )  # fmt: skip
    await _bids(ctx, t_foundation, t_foundation.lots[0], pick(2), close_days=20)
    return TenderingReport(**ctx.counts)
