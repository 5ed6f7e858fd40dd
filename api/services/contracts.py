"""Use cases for contracts: made from an award after its notice, signed, paid by milestone, graded at the end."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, NoReturn

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, visit_notes
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, found
from api.services.exports import Column, Table, label
from api.services.types import Id, Name, Page, Text, today
from api.services.verification import sniff
from sql import contracts as contracts_sql
from sql.contracts import AttachmentFile as AttachmentFile  # the download's type, for the routes

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_FUNDERS = "Only the funder may do this"
_ONLY_ORGANISATION_REPORTS = "Only the organisation may report a milestone"
# A report's evidence: a few photos or scans and a written report, not an archive.
MAX_ATTACHMENTS = 5
ATTACHMENTS_FULL = "A milestone takes at most 5 files"

Fen = Annotated[int, Meta(ge=0, le=100_000_000_000)]
Grade = Literal["excellent", "good", "basic", "unqualified"]
GRADES: tuple[Grade, ...] = ("excellent", "good", "basic", "unqualified")
CONTRACT_STATUSES = ("unsigned", "active", "stopped", "completed")


class MilestonePlan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stage of the contract and the instalment paid when it is accepted."""

    title: Name
    due_on: dt.date
    amount_fen: Fen
    midterm: bool = False


class ContractCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The funder turns an award into a contract: when it starts, its milestones and instalments."""

    award_id: Id
    milestones: Annotated[list[MilestonePlan], Meta(min_length=1, max_length=50)]
    starts_on: dt.date | None = None


class MilestoneReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the organisation delivered for a milestone."""

    report: Annotated[str, Meta(min_length=1, max_length=20000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]


class Upload(msgspec.Struct, frozen=True):
    """A file as someone sent it: the name on their device and its bytes."""

    filename: str
    content: bytes


class MilestoneDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The funder accepts (and pays) or rejects a reported milestone."""

    accept: bool
    note: Text = ""


class GradeCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The performance grade given at the end of a contract."""

    grade: Grade


class ContractDetail(msgspec.Struct, frozen=True):
    """A contract with its milestones and the files their reports carry."""

    contract: contracts_sql.ContractRow
    milestones: list[contracts_sql.MilestoneRow]
    attachments: list[contracts_sql.AttachmentRow]


def _tenant(who: Identity) -> tuple[int | None, int | None]:
    """(funder_id, organisation_id) the caller reads contracts as; (None, None) for admins."""
    if who.role == "admin":
        return None, None
    if who.role == "funder" and who.funder_id is not None:
        return who.funder_id, None
    if who.role == "organisation" and who.organisation_id is not None:
        return None, who.organisation_id
    raise Forbidden("Only funders and organisations have contracts")


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def contract_period(starts_on: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """A contract of `months` months starting on a day ends the day before the same date `months` later."""
    return starts_on, _add_months(starts_on, months) - dt.timedelta(days=1)


async def create_contract(conn: asyncpg.Connection, who: Identity, form: ContractCreate) -> ContractDetail:
    """After the notice period, with no objection pending or upheld, the funder makes the award's contract."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    async with conn.transaction():
        award = found(await contracts_sql.get_award_for_contract(conn, form.award_id, funder_id), "No such award")
        if award.has_contract:
            raise Conflict("This award already has a contract")
        if award.award_status not in ("published", "final"):
            raise Conflict("The award has not been published")
        if not award.notice_over or award.sign_by is None:
            raise Conflict("The notice period has not ended")
        if award.open_objections:
            raise Conflict("An objection to this lot is pending or was upheld")
        starts_on, ends_on = contract_period(form.starts_on or today(), award.contract_months)
        errors: dict[str, str] = {}
        if sum(m.amount_fen for m in form.milestones) != award.price_fen:
            errors["milestones"] = "The instalments must add up to the contract amount"
        elif any(not starts_on <= m.due_on <= ends_on for m in form.milestones):
            errors["milestones"] = "Every milestone must fall within the contract period"
        elif [m.due_on for m in form.milestones] != sorted(m.due_on for m in form.milestones):
            errors["milestones"] = "List the milestones in the order they fall due"
        if errors:
            raise Invalid("The milestones do not fit the contract", fields=errors)
        contract_id = await contracts_sql.insert_contract(
            conn,
            award_id=award.award_id,
            funder_id=funder_id,
            organisation_id=award.organisation_id,
            amount_fen=award.price_fen,
            sign_by=award.sign_by,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        if contract_id is None:
            raise Conflict("This award already has a contract")
        await contracts_sql.insert_milestones(
            conn, contract_id, [(m.title.strip(), m.due_on, m.amount_fen, m.midterm) for m in form.milestones]
        )
        await contracts_sql.finalise_award(conn, award.award_id, award.tender_id)
        await audit_log.record(
            conn, who, "contract.create", "contract", contract_id,
            detail={"award_id": award.award_id, "amount_fen": award.price_fen, "milestones": len(form.milestones)},
        )  # fmt: skip
        return await _detail(conn, contract_id, funder_id=funder_id, organisation_id=None)


async def _detail(
    conn: asyncpg.Connection, contract_id: int, *, funder_id: int | None, organisation_id: int | None
) -> ContractDetail:
    contract = found(
        await contracts_sql.get_contract(conn, contract_id, funder_id=funder_id, organisation_id=organisation_id),
        "No such contract",
    )
    return ContractDetail(
        contract=contract,
        milestones=await contracts_sql.list_milestones(conn, contract_id),
        attachments=await contracts_sql.list_attachments(conn, contract_id),
    )


async def get_contract(conn: asyncpg.Connection, who: Identity, contract_id: int) -> ContractDetail:
    """One contract with its milestones, for its funder, its organisation or an admin."""
    funder_id, organisation_id = _tenant(who)
    return await _detail(conn, contract_id, funder_id=funder_id, organisation_id=organisation_id)


async def list_contracts(
    conn: asyncpg.Connection, who: Identity, *, status: str | None, limit: int, offset: int
) -> Page[contracts_sql.ContractRow]:
    """The caller's contracts (an admin sees all)."""
    funder_id, organisation_id = _tenant(who)
    rows, total = await contracts_sql.list_contracts(
        conn, funder_id=funder_id, organisation_id=organisation_id, status=status, limit=limit, offset=offset
    )
    return Page(items=rows, total=total, limit=limit, offset=offset)


async def ready_awards(conn: asyncpg.Connection, who: Identity) -> list[contracts_sql.ReadyAward]:
    """The funder's awards whose notice is over and that have no contract yet (none for other roles)."""
    if who.role != "funder" or who.funder_id is None:
        return []
    return await contracts_sql.list_ready_awards(conn, who.funder_id)


async def ready_award(conn: asyncpg.Connection, who: Identity, award_id: int) -> contracts_sql.ReadyAward:
    """One award the funder may turn into a contract now."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    for award in await contracts_sql.list_ready_awards(conn, funder_id):
        if award.award_id == award_id:
            return award
    raise NotFound("No award ready for a contract")


async def list_payments(conn: asyncpg.Connection, who: Identity, *, limit: int) -> list[contracts_sql.PaymentRow]:
    """Instalments paid on the caller's contracts, newest first."""
    funder_id, organisation_id = _tenant(who)
    return await contracts_sql.list_payments(conn, funder_id=funder_id, organisation_id=organisation_id, limit=limit)


async def sign(conn: asyncpg.Connection, who: Identity, contract_id: int) -> ContractDetail:
    """The organisation signs, or the funder records the signature: the contract becomes active."""
    funder_id, organisation_id = _tenant(who)
    if funder_id is None and organisation_id is None:
        raise Forbidden("Only the parties to a contract may sign it")
    async with conn.transaction():
        if not await contracts_sql.sign_contract(
            conn, contract_id, funder_id=funder_id, organisation_id=organisation_id
        ):
            current = await _detail(conn, contract_id, funder_id=funder_id, organisation_id=organisation_id)
            if current.contract.status != "unsigned":
                raise Conflict("The contract is already signed")
            raise Conflict("The signing deadline has passed")
        await audit_log.record(conn, who, "contract.sign", "contract", contract_id)
        return await _detail(conn, contract_id, funder_id=funder_id, organisation_id=organisation_id)


# A milestone is reported in order, and from this many days before its due date (a report months early describes
# work not yet done).
REPORT_OPENS_DAYS = 30
REPORT_OUT_OF_ORDER = "The milestone before this one must be accepted before this one is reported"
REPORT_TOO_EARLY = "A milestone can be reported from 30 days before its due date"


def _filename(name: str, n: int) -> str:
    """The name a file is kept under: its last path part, without control characters, at most 200 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()[:200].strip()
    return cleaned or f"attachment-{n}"


async def _attach(
    conn: asyncpg.Connection,
    who: Identity,
    organisation_id: int,
    contract_id: int,
    seq: int,
    upload: Upload,
    *,
    max_bytes: int,
) -> int:
    """Add one checked file to a milestone still to report (inside the caller's transaction); its id."""
    if not upload.content:
        raise Invalid("The file is empty", fields={"files": "Choose a photo, scan or PDF of the evidence"})
    if len(upload.content) > max_bytes:
        raise Invalid("The file is too large", fields={"files": "The file is too large"}, max_bytes=max_bytes)
    content_type = sniff(upload.content)
    if content_type is None:
        raise Invalid("Only JPEG, PNG or PDF files are accepted", fields={"files": "Only JPEG, PNG or PDF files"})
    milestone_id = await contracts_sql.lock_planned_milestone(conn, contract_id, seq, organisation_id)
    if milestone_id is None:
        await _refusal(conn, contract_id, seq, funder_id=None, organisation_id=organisation_id)
    count = await contracts_sql.count_attachments(conn, milestone_id)
    if count >= MAX_ATTACHMENTS:
        raise Conflict(ATTACHMENTS_FULL, fields={"files": ATTACHMENTS_FULL}, most=MAX_ATTACHMENTS)
    name = _filename(upload.filename, count + 1)
    attachment_id = await contracts_sql.insert_attachment(
        conn, milestone_id, name, content_type, upload.content, who.account_id
    )
    await audit_log.record(
        conn, who, "milestone.attach", "milestone", milestone_id,
        detail={"contract_id": contract_id, "seq": seq, "attachment_id": attachment_id, "bytes": len(upload.content)},
    )  # fmt: skip
    return attachment_id


async def attach(
    conn: asyncpg.Connection, who: Identity, contract_id: int, seq: int, upload: Upload, *, max_bytes: int
) -> ContractDetail:
    """The organisation adds a file (JPEG, PNG or PDF) to a milestone it has still to report."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATION_REPORTS)
    async with conn.transaction():
        await _attach(conn, who, organisation_id, contract_id, seq, upload, max_bytes=max_bytes)
        return await _detail(conn, contract_id, funder_id=None, organisation_id=organisation_id)


async def attachment(
    conn: asyncpg.Connection, who: Identity, contract_id: int, seq: int, attachment_id: int
) -> AttachmentFile:
    """A milestone's file with its bytes, for the contract's funder, its organisation or an admin."""
    funder_id, organisation_id = _tenant(who)
    return found(
        await contracts_sql.get_attachment(
            conn, contract_id, seq, attachment_id, funder_id=funder_id, organisation_id=organisation_id
        ),
        "No such file",
    )


async def report_milestone(
    conn: asyncpg.Connection,
    who: Identity,
    contract_id: int,
    seq: int,
    form: MilestoneReport,
    uploads: tuple[Upload, ...] = (),
    *,
    max_bytes: int = 0,
) -> ContractDetail:
    """The organisation reports what it delivered for a milestone of its active contract, with the files that show
    it (added in the same transaction: the report and its files are kept whole or not at all)."""
    organisation_id = who.organisation_id_or_refuse(_ONLY_ORGANISATION_REPORTS)
    async with conn.transaction():
        for upload in uploads:
            await _attach(conn, who, organisation_id, contract_id, seq, upload, max_bytes=max_bytes)
        milestone_id = await contracts_sql.report_milestone(
            conn, contract_id, seq, organisation_id, form.report.strip(), REPORT_OPENS_DAYS
        )
        if milestone_id is None:
            await _report_refusal(conn, contract_id, seq, organisation_id)
        await audit_log.record(
            conn, who, "milestone.report", "milestone", milestone_id, detail={"contract_id": contract_id, "seq": seq}
        )
        return await _detail(conn, contract_id, funder_id=None, organisation_id=organisation_id)


async def _report_refusal(conn: asyncpg.Connection, contract_id: int, seq: int, organisation_id: int) -> NoReturn:
    """Raise why a milestone report was refused: out of order, too early, or the common reasons."""
    detail = await _detail(conn, contract_id, funder_id=None, organisation_id=organisation_id)
    by_seq = {m.seq: m for m in detail.milestones}
    this = by_seq.get(seq)
    if this is not None and detail.contract.status == "active" and this.status == "planned":
        before = by_seq.get(seq - 1)
        if before is not None and before.status != "accepted":
            raise Conflict(REPORT_OUT_OF_ORDER, fields={"report": REPORT_OUT_OF_ORDER})
        raise Conflict(REPORT_TOO_EARLY, fields={"report": REPORT_TOO_EARLY})
    await _refusal(conn, contract_id, seq, funder_id=None, organisation_id=organisation_id)


async def _refusal(
    conn: asyncpg.Connection, contract_id: int, seq: int, *, funder_id: int | None, organisation_id: int | None
) -> NoReturn:
    """Raise why a milestone step was refused: not found for this tenant, or not in a state that allows it."""
    detail = await _detail(conn, contract_id, funder_id=funder_id, organisation_id=organisation_id)
    if not any(m.seq == seq for m in detail.milestones):
        raise NotFound("No such milestone")
    if detail.contract.status != "active":
        raise Conflict("The contract is not active")
    raise Conflict("The milestone is not in a state that allows this")


async def decide_milestone(
    conn: asyncpg.Connection, who: Identity, contract_id: int, seq: int, form: MilestoneDecision
) -> ContractDetail:
    """The funder accepts a reported milestone (paying its instalment) or rejects it (a mid-term one stops the rest)."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    async with conn.transaction():
        decided = await contracts_sql.decide_milestone(
            conn, contract_id, seq, funder_id, "accepted" if form.accept else "rejected", form.note.strip()
        )
        if decided is None:
            await _refusal(conn, contract_id, seq, funder_id=funder_id, organisation_id=None)
        detail: dict[str, object] = {"contract_id": contract_id, "seq": seq}
        if form.accept and decided.amount_fen > 0:
            detail["payment_id"] = await contracts_sql.insert_payment(conn, decided.id, decided.amount_fen)
            detail["amount_fen"] = decided.amount_fen
        if not form.accept and decided.midterm:
            detail["stopped_milestones"] = await contracts_sql.stop_after(conn, contract_id, seq)
        await audit_log.record(
            conn, who, "milestone.accept" if form.accept else "milestone.reject", "milestone", decided.id, detail=detail
        )
        if await contracts_sql.complete_if_done(conn, contract_id):
            await audit_log.record(conn, who, "contract.complete", "contract", contract_id)
        return await _detail(conn, contract_id, funder_id=funder_id, organisation_id=None)


async def grade(conn: asyncpg.Connection, who: Identity, contract_id: int, form: GradeCommand) -> ContractDetail:
    """The funder gives an ended contract its performance grade; 'unqualified' bars the organisation for a while."""
    funder_id = who.funder_id_or_refuse(_ONLY_FUNDERS)
    async with conn.transaction():
        if not await contracts_sql.grade_contract(conn, contract_id, funder_id, form.grade):
            current = await _detail(conn, contract_id, funder_id=funder_id, organisation_id=None)
            if current.contract.grade is not None:
                raise Conflict("The contract already has a grade")
            raise Conflict("A contract is graded when it has been completed or stopped")
        result = await _detail(conn, contract_id, funder_id=funder_id, organisation_id=None)
        await contracts_sql.close_tender_if_done(conn, result.contract.tender_id)
        await audit_log.record(
            conn, who, "contract.grade", "contract", contract_id,
            detail={"grade": form.grade, "organisation_id": result.contract.organisation_id},
        )  # fmt: skip
        return result


class Performance(msgspec.Struct, frozen=True):
    """An organisation's performance record as its public profile shows it."""

    grades: list[contracts_sql.GradeRow]
    barred_until: dt.date | None
    # The elders' ratings of its carers' home visits and the incidents raised on them (issue 15, item 4).
    visits: visit_notes.VisitPerformance


async def performance(conn: asyncpg.Connection, organisation_id: int) -> Performance:
    """Grades, any bar from an 'unqualified' grade, and its home visits' ratings and incidents (public, like the
    profile it appears on)."""
    return Performance(
        grades=await contracts_sql.list_grades(conn, organisation_id),
        barred_until=await contracts_sql.barred_until(conn, organisation_id, today()),
        visits=await visit_notes.organisation_figures(conn, organisation_id),
    )


async def organisation_grades(conn: asyncpg.Connection, organisation_id: int) -> list[contracts_sql.GradeRow]:
    """An organisation's performance grades, as its public profile shows them."""
    return await contracts_sql.list_grades(conn, organisation_id)


async def barred_until(conn: asyncpg.Connection, organisation_id: int) -> dt.date | None:
    """The day an 'unqualified' grade stops barring the organisation, if it is barred today."""
    return await contracts_sql.barred_until(conn, organisation_id, today())


CONTRACT_COLUMNS = [
    Column("Contract", "合同编号", "int"),
    Column("Tender", "招标项目"),
    Column("Lot", "标段"),
    Column("Funder", "出资方"),
    Column("Organisation", "社会组织"),
    Column("Amount (yuan)", "合同金额（元）", "money"),
    Column("Paid (yuan)", "已拨付（元）", "money"),
    Column("Sign by", "签订期限", "date"),
    Column("Signed at", "签订时间", "datetime"),
    Column("Starts on", "开始日期", "date"),
    Column("Ends on", "结束日期", "date"),
    Column("Status", "状态"),
    Column("Performance grade", "绩效评估等级"),
]
MILESTONE_COLUMNS = [
    Column("Contract", "合同编号", "int"),
    Column("No.", "序号", "int"),
    Column("Milestone", "阶段节点"),
    Column("Due on", "到期日", "date"),
    Column("Instalment (yuan)", "分期拨付金额（元）", "money"),
    Column("Mid-term", "中期评估"),
    Column("Status", "状态"),
    Column("Reported at", "报告时间", "datetime"),
    Column("Decided at", "验收时间", "datetime"),
    Column("Paid (yuan)", "已拨付（元）", "money"),
    Column("Paid at", "拨付时间", "datetime"),
]
PAYMENT_COLUMNS = [
    Column("Payment", "拨付编号", "int"),
    Column("Contract", "合同编号", "int"),
    Column("Tender", "招标项目"),
    Column("Funder", "出资方"),
    Column("Organisation", "社会组织"),
    Column("Milestone", "阶段节点"),
    Column("Amount (yuan)", "金额（元）", "money"),
    Column("Paid at", "拨付时间", "datetime"),
]
# Status and grade words in the export, in the reader's language: (Chinese, English).
_WORDS = {
    "unsigned": ("待签订", "unsigned"), "active": ("履行中", "active"), "stopped": ("已终止", "stopped"),
    "completed": ("已完成", "completed"), "planned": ("未开始", "planned"), "reported": ("已报告", "reported"),
    "accepted": ("已验收", "accepted"), "rejected": ("验收未通过", "rejected"), "excellent": ("优秀", "excellent"),
    "good": ("良好", "good"), "basic": ("基本合格", "basically qualified"), "unqualified": ("不合格", "unqualified"),
}  # fmt: skip


def word(value: str | None, locale: str) -> str:
    """A status or grade as the export's reader reads it."""
    return label(value, _WORDS, locale)


def contracts_table(rows: list[contracts_sql.ContractRow], locale: str) -> Table:
    """Contracts as an export table."""
    return Table(
        name="contracts",
        columns=CONTRACT_COLUMNS,
        rows=[
            (
                c.id,
                c.tender_title,
                c.lot_title,
                c.funder_name,
                c.organisation_name,
                c.amount_fen,
                c.paid_fen,
                c.sign_by,
                c.signed_at,
                c.starts_on,
                c.ends_on,
                word(c.status, locale),
                word(c.grade, locale),
            )
            for c in rows
        ],
    )


def milestones_table(contract_id: int, rows: list[contracts_sql.MilestoneRow], locale: str) -> Table:
    """A contract's milestones as an export table."""
    yes, no = ("yes", "no") if locale == "en" else ("是", "否")
    return Table(
        name=f"contract-{contract_id}-milestones",
        columns=MILESTONE_COLUMNS,
        rows=[
            (
                contract_id,
                m.seq,
                m.title,
                m.due_on,
                m.amount_fen,
                yes if m.midterm else no,
                word(m.status, locale),
                m.reported_at,
                m.decided_at,
                m.paid_fen,
                m.paid_at,
            )
            for m in rows
        ],
    )


def payments_table(rows: list[contracts_sql.PaymentRow]) -> Table:
    """Payments as an export table."""
    return Table(
        name="payments",
        columns=PAYMENT_COLUMNS,
        rows=[
            (
                p.id,
                p.contract_id,
                p.tender_title,
                p.funder_name,
                p.organisation_name,
                f"{p.milestone_seq}. {p.milestone_title}",
                p.amount_fen,
                p.paid_at,
            )
            for p in rows
        ],
    )
