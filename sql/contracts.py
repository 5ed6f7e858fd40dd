"""Contracts made from published awards: milestones, instalment payments, performance grades."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from sql.rows import fetch_all, fetch_one


class AwardForContract(msgspec.Struct, frozen=True):
    """An award as the contract step sees it: whose it is, and whether its notice period is over."""

    award_id: int
    award_status: str
    lot_id: int
    lot_title: str
    contract_months: int
    tender_id: int
    tender_title: str
    funder_id: int
    organisation_id: int
    price_fen: int
    notice_ends_at: dt.datetime | None
    notice_over: bool
    open_objections: int
    sign_by: dt.date | None
    has_contract: bool


class ReadyAward(msgspec.Struct, frozen=True):
    """An award of the funder's whose notice is over, with no objection open and no contract yet."""

    award_id: int
    tender_id: int
    tender_title: str
    lot_title: str
    organisation_name: str
    price_fen: int
    contract_months: int
    notice_ends_at: dt.datetime


class MilestonePublic(msgspec.Struct, frozen=True):
    """What the API may show of one stage of a contract and the instalment paid when the funder accepts it."""

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


class MilestoneRow(MilestonePublic, frozen=True):
    """One stage of a contract and the instalment paid when the funder accepts it."""

    contract_id: int


class ContractRow(msgspec.Struct, frozen=True):
    """A contract with the names a page needs and its paid total."""

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


class PaymentRow(msgspec.Struct, frozen=True):
    """One instalment paid against an accepted milestone."""

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


class GradeRow(msgspec.Struct, frozen=True):
    """A performance grade as the organisation's public profile shows it."""

    contract_id: int
    tender_title: str
    lot_title: str
    funder_name: str
    grade: str
    graded_at: dt.datetime


# Only the funder that owns the tender reads the award ($2); objections count for the lot or the whole tender.
SELECT_AWARD_FOR_CONTRACT = """
SELECT a.id AS award_id, a.status AS award_status, l.id AS lot_id, l.title AS lot_title, l.contract_months,
       t.id AS tender_id, t.title AS tender_title, t.funder_id, a.organisation_id, a.price_fen, t.notice_ends_at,
       coalesce(t.notice_ends_at <= now(), false) AS notice_over,
       (SELECT count(*) FROM objections o
        WHERE o.tender_id = t.id AND (o.lot_id IS NULL OR o.lot_id = l.id)
          AND o.outcome IN ('pending', 'upheld'))::int AS open_objections,
       ((t.notice_ends_at AT TIME ZONE 'Asia/Shanghai')::date + r.contract_sign_days) AS sign_by,
       EXISTS (SELECT 1 FROM contracts c WHERE c.award_id = a.id) AS has_contract
FROM awards a
JOIN lots l ON l.id = a.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN funder_rules r ON r.funder_id = t.funder_id
WHERE a.id = $1 AND t.funder_id = $2
"""
SELECT_READY_AWARDS = """
SELECT a.id AS award_id, t.id AS tender_id, t.title AS tender_title, l.title AS lot_title,
       o.name AS organisation_name, a.price_fen, l.contract_months, t.notice_ends_at
FROM awards a
JOIN lots l ON l.id = a.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN organisations o ON o.id = a.organisation_id
WHERE t.funder_id = $1 AND a.status IN ('published', 'final') AND t.notice_ends_at <= now()
  AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.award_id = a.id)
  AND NOT EXISTS (SELECT 1 FROM objections ob WHERE ob.tender_id = t.id AND (ob.lot_id IS NULL OR ob.lot_id = l.id)
                  AND ob.outcome IN ('pending', 'upheld'))
ORDER BY t.notice_ends_at, a.id
LIMIT 100
"""
INSERT_CONTRACT = """
INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, starts_on, ends_on)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (award_id) DO NOTHING
RETURNING id
"""
INSERT_MILESTONES = """
INSERT INTO milestones (contract_id, seq, title, due_on, amount_fen, midterm)
SELECT $1, m.seq, m.title, m.due_on, m.amount_fen, m.midterm
FROM unnest($2::smallint[], $3::text[], $4::date[], $5::bigint[], $6::boolean[])
     AS m(seq, title, due_on, amount_fen, midterm)
"""
# Once a contract exists the award is no longer open to change, and the tender moves on to contracting.
FINALISE_AWARD = "UPDATE awards SET status = 'final' WHERE id = $1 AND status IN ('published', 'final')"
TENDER_CONTRACTING = """
UPDATE tenders SET status = 'contracting' WHERE id = $1 AND status IN ('awarded', 'notice', 'contracting')
"""
# The needs bundled into the contracted lot now have their funding: the committee sees them as funded.
NEEDS_FUNDED = """
UPDATE needs SET status = 'funded'
WHERE status = 'in_tender' AND id IN (SELECT ln.need_id FROM lot_needs ln JOIN awards a ON a.lot_id = ln.lot_id
                                      WHERE a.id = $1)
"""

# From a contract c to its award a, lot l, tender t, funder f and organisation o.
_CONTRACT_JOINS = """
JOIN awards a ON a.id = c.award_id
JOIN lots l ON l.id = a.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN funders f ON f.id = c.funder_id
JOIN organisations o ON o.id = c.organisation_id
"""
_CONTRACT_SELECT = f"""
SELECT c.id, c.award_id, t.id AS tender_id, t.title AS tender_title, l.id AS lot_id, l.title AS lot_title,
       c.funder_id, f.name AS funder_name, c.organisation_id, o.name AS organisation_name, c.amount_fen,
       coalesce((SELECT sum(p.amount_fen) FROM payments p JOIN milestones m ON m.id = p.milestone_id
                 WHERE m.contract_id = c.id), 0)::bigint AS paid_fen,
       c.sign_by, c.signed_at, c.starts_on, c.ends_on, c.status, c.grade, c.graded_at
FROM contracts c
{_CONTRACT_JOINS}"""
# The contracts of a funder ($1) or an organisation ($2), or every one when both are NULL (admins).
_CONTRACT_PARTY = "(($1::bigint IS NULL AND $2::bigint IS NULL) OR c.funder_id = $1 OR c.organisation_id = $2)"
# A contract is read by its funder ($2), its organisation ($3), or anyone when both are NULL (admins).
SELECT_CONTRACT = (
    _CONTRACT_SELECT
    + """
WHERE c.id = $1
  AND (($2::bigint IS NULL AND $3::bigint IS NULL) OR c.funder_id = $2 OR c.organisation_id = $3)
"""
)
_CONTRACTS_FILTER = f"WHERE {_CONTRACT_PARTY} AND ($3::text IS NULL OR c.status = $3)"
SELECT_CONTRACTS = f"""
{_CONTRACT_SELECT}
{_CONTRACTS_FILTER}
ORDER BY c.id DESC
LIMIT $4 OFFSET $5
"""
COUNT_CONTRACTS = f"SELECT count(*) FROM contracts c {_CONTRACTS_FILTER}"
SELECT_MILESTONES = """
SELECT m.id, m.contract_id, m.seq, m.title, m.due_on, m.amount_fen, m.midterm, m.status, m.report, m.reported_at,
       m.decided_at, m.decision_note, p.amount_fen AS paid_fen, p.paid_at
FROM milestones m LEFT JOIN payments p ON p.milestone_id = m.id
WHERE m.contract_id = $1
ORDER BY m.seq
"""
SELECT_PAYMENTS = f"""
SELECT p.id, c.id AS contract_id, m.id AS milestone_id, m.seq AS milestone_seq, m.title AS milestone_title,
       f.name AS funder_name, o.name AS organisation_name, t.title AS tender_title, p.amount_fen, p.paid_at
FROM payments p
JOIN milestones m ON m.id = p.milestone_id
JOIN contracts c ON c.id = m.contract_id
{_CONTRACT_JOINS}
WHERE {_CONTRACT_PARTY}
ORDER BY p.paid_at DESC, p.id DESC
LIMIT $3
"""
# The organisation or the funder records the signature; only an unsigned contract before its deadline signs.
SIGN_CONTRACT = """
UPDATE contracts SET status = 'active', signed_at = now()
WHERE id = $1 AND (funder_id = $2 OR organisation_id = $3) AND status = 'unsigned'
  AND sign_by >= (now() AT TIME ZONE 'Asia/Shanghai')::date
RETURNING id
"""
REPORT_MILESTONE = """
UPDATE milestones m SET status = 'reported', report = $4, reported_at = now()
FROM contracts c
WHERE m.contract_id = c.id AND c.id = $1 AND m.seq = $2 AND c.organisation_id = $3
  AND c.status = 'active' AND m.status = 'planned'
  -- In order: the milestone before it is accepted; and not earlier than $5 days before its due date.
  AND (m.seq = 1 OR EXISTS (SELECT 1 FROM milestones p WHERE p.contract_id = m.contract_id AND p.seq = m.seq - 1
                                                         AND p.status = 'accepted'))
  AND m.due_on - $5::int <= (now() AT TIME ZONE 'Asia/Shanghai')::date
RETURNING m.id
"""
DECIDE_MILESTONE = """
UPDATE milestones m SET status = $4, decided_at = now(), decision_note = $5
FROM contracts c
WHERE m.contract_id = c.id AND c.id = $1 AND m.seq = $2 AND c.funder_id = $3
  AND c.status = 'active' AND m.status = 'reported'
RETURNING m.id, m.amount_fen, m.midterm
"""
INSERT_PAYMENT = "INSERT INTO payments (milestone_id, amount_fen) VALUES ($1, $2) RETURNING id"
# A failed mid-term evaluation stops the payments after it (PRODUCT.md, "Rules from practice").
STOP_LATER_MILESTONES = """
UPDATE milestones SET status = 'stopped'
WHERE contract_id = $1 AND seq > $2 AND status IN ('planned', 'reported')
RETURNING id
"""
STOP_CONTRACT = "UPDATE contracts SET status = 'stopped' WHERE id = $1 AND status = 'active'"
# When no milestone is left to report or decide, the contract is completed.
COMPLETE_IF_DONE = """
UPDATE contracts SET status = 'completed'
WHERE id = $1 AND status = 'active'
  AND NOT EXISTS (SELECT 1 FROM milestones WHERE contract_id = $1 AND status IN ('planned', 'reported'))
RETURNING id
"""
GRADE_CONTRACT = """
UPDATE contracts SET grade = $3, graded_at = now()
WHERE id = $1 AND funder_id = $2 AND status IN ('completed', 'stopped') AND grade IS NULL
RETURNING id
"""
# The tender is closed once every lot with a live award has a graded contract.
CLOSE_TENDER_IF_DONE = """
UPDATE tenders t SET status = 'closed'
WHERE t.id = $1 AND t.status = 'contracting'
  AND NOT EXISTS (
      SELECT 1 FROM awards a JOIN lots l ON l.id = a.lot_id
      LEFT JOIN contracts c ON c.award_id = a.id
      WHERE l.tender_id = t.id AND a.status NOT IN ('reopened', 'superseded') AND (c.id IS NULL OR c.grade IS NULL))
RETURNING id
"""
SELECT_GRADES = """
SELECT c.id AS contract_id, t.title AS tender_title, l.title AS lot_title, f.name AS funder_name, c.grade,
       c.graded_at
FROM contracts c
JOIN awards a ON a.id = c.award_id
JOIN lots l ON l.id = a.lot_id
JOIN tenders t ON t.id = l.tender_id
JOIN funders f ON f.id = c.funder_id
WHERE c.organisation_id = $1 AND c.grade IS NOT NULL
ORDER BY c.graded_at DESC, c.id DESC
LIMIT $2
"""
# An 'unqualified' grade bars the organisation for the grading funder's unqualified_bar_years after the grade.
SELECT_BARRED_UNTIL = """
SELECT max(((c.graded_at AT TIME ZONE 'Asia/Shanghai') + make_interval(years => r.unqualified_bar_years))::date)
FROM contracts c JOIN funder_rules r ON r.funder_id = c.funder_id
WHERE c.organisation_id = $1 AND c.grade = 'unqualified'
HAVING max(((c.graded_at AT TIME ZONE 'Asia/Shanghai') + make_interval(years => r.unqualified_bar_years))::date)
       > $2::date
"""


async def get_award_for_contract(conn: asyncpg.Connection, award_id: int, funder_id: int) -> AwardForContract | None:
    """The award if this funder owns its tender, with its notice and objection state."""
    return await fetch_one(conn, SELECT_AWARD_FOR_CONTRACT, AwardForContract, award_id, funder_id)


async def list_ready_awards(conn: asyncpg.Connection, funder_id: int) -> list[ReadyAward]:
    """The funder's awards that may become contracts now."""
    return await fetch_all(conn, SELECT_READY_AWARDS, ReadyAward, funder_id)


async def insert_contract(
    conn: asyncpg.Connection,
    *,
    award_id: int,
    funder_id: int,
    organisation_id: int,
    amount_fen: int,
    sign_by: dt.date,
    starts_on: dt.date,
    ends_on: dt.date,
) -> int | None:
    """Create the award's contract; None if the award already has one."""
    found = await conn.fetchval(
        INSERT_CONTRACT, award_id, funder_id, organisation_id, amount_fen, sign_by, starts_on, ends_on
    )
    return None if found is None else int(found)


async def insert_milestones(
    conn: asyncpg.Connection, contract_id: int, milestones: list[tuple[str, dt.date, int, bool]]
) -> None:
    """Add the contract's milestones, numbered 1.. in the order given: (title, due_on, amount_fen, midterm)."""
    await conn.execute(
        INSERT_MILESTONES,
        contract_id,
        list(range(1, len(milestones) + 1)),
        [m[0] for m in milestones],
        [m[1] for m in milestones],
        [m[2] for m in milestones],
        [m[3] for m in milestones],
    )


async def finalise_award(conn: asyncpg.Connection, award_id: int, tender_id: int) -> None:
    """Mark the award final, its tender as contracting, and the lot's needs as funded."""
    await conn.execute(FINALISE_AWARD, award_id)
    await conn.execute(TENDER_CONTRACTING, tender_id)
    await conn.execute(NEEDS_FUNDED, award_id)


async def get_contract(
    conn: asyncpg.Connection, contract_id: int, *, funder_id: int | None, organisation_id: int | None
) -> ContractRow | None:
    """One contract if the tenant is a party to it (both None: any contract, for admins)."""
    return await fetch_one(conn, SELECT_CONTRACT, ContractRow, contract_id, funder_id, organisation_id)


async def list_contracts(
    conn: asyncpg.Connection,
    *,
    funder_id: int | None,
    organisation_id: int | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ContractRow], int]:
    """A page of the tenant's contracts (both None: all) and the total count."""
    rows = await conn.fetch(SELECT_CONTRACTS, funder_id, organisation_id, status, limit, offset)
    total = await conn.fetchval(COUNT_CONTRACTS, funder_id, organisation_id, status)
    return [msgspec.convert(r, ContractRow) for r in rows], int(total)


async def list_milestones(conn: asyncpg.Connection, contract_id: int) -> list[MilestoneRow]:
    """A contract's milestones in order, with what was paid for each."""
    return await fetch_all(conn, SELECT_MILESTONES, MilestoneRow, contract_id)


async def list_payments(
    conn: asyncpg.Connection, *, funder_id: int | None, organisation_id: int | None, limit: int
) -> list[PaymentRow]:
    """Instalments paid on the tenant's contracts (both None: all), newest first."""
    return await fetch_all(conn, SELECT_PAYMENTS, PaymentRow, funder_id, organisation_id, limit)


async def sign_contract(
    conn: asyncpg.Connection, contract_id: int, *, funder_id: int | None, organisation_id: int | None
) -> bool:
    """Record the signature of an unsigned contract still within its signing period."""
    return await conn.fetchval(SIGN_CONTRACT, contract_id, funder_id, organisation_id) is not None


async def report_milestone(
    conn: asyncpg.Connection, contract_id: int, seq: int, organisation_id: int, report: str, opens_days: int
) -> int | None:
    """The organisation reports a planned milestone of its active contract, in order and within `opens_days` of its
    due date; the milestone's id or None."""
    found = await conn.fetchval(REPORT_MILESTONE, contract_id, seq, organisation_id, report, opens_days)
    return None if found is None else int(found)


class Decided(msgspec.Struct, frozen=True):
    """A milestone just decided."""

    id: int
    amount_fen: int
    midterm: bool


async def decide_milestone(
    conn: asyncpg.Connection, contract_id: int, seq: int, funder_id: int, status: str, note: str
) -> Decided | None:
    """The funder accepts or rejects a reported milestone of its active contract; None if it cannot."""
    return await fetch_one(conn, DECIDE_MILESTONE, Decided, contract_id, seq, funder_id, status, note)


async def insert_payment(conn: asyncpg.Connection, milestone_id: int, amount_fen: int) -> int:
    """Pay a milestone's instalment."""
    return int(await conn.fetchval(INSERT_PAYMENT, milestone_id, amount_fen))


async def stop_after(conn: asyncpg.Connection, contract_id: int, seq: int) -> int:
    """Stop the milestones after `seq` and the contract; how many milestones were stopped."""
    stopped = await conn.fetch(STOP_LATER_MILESTONES, contract_id, seq)
    await conn.execute(STOP_CONTRACT, contract_id)
    return len(stopped)


async def complete_if_done(conn: asyncpg.Connection, contract_id: int) -> bool:
    """Complete the contract when every milestone is decided or stopped."""
    return await conn.fetchval(COMPLETE_IF_DONE, contract_id) is not None


async def grade_contract(conn: asyncpg.Connection, contract_id: int, funder_id: int, grade: str) -> bool:
    """Give an ended, ungraded contract its performance grade."""
    return await conn.fetchval(GRADE_CONTRACT, contract_id, funder_id, grade) is not None


async def close_tender_if_done(conn: asyncpg.Connection, tender_id: int) -> bool:
    """Close the tender once all its awarded lots have graded contracts."""
    return await conn.fetchval(CLOSE_TENDER_IF_DONE, tender_id) is not None


async def list_grades(conn: asyncpg.Connection, organisation_id: int, limit: int = 20) -> list[GradeRow]:
    """An organisation's performance grades, newest first."""
    return await fetch_all(conn, SELECT_GRADES, GradeRow, organisation_id, limit)


async def barred_until(conn: asyncpg.Connection, organisation_id: int, today: dt.date | None = None) -> dt.date | None:
    """The day an 'unqualified' grade's bar ends, if the organisation is barred today (Shanghai date); else None."""
    if today is None:
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    value = await conn.fetchval(SELECT_BARRED_UNTIL, organisation_id, today)
    return value if isinstance(value, dt.date) else None


class AttachmentRow(msgspec.Struct, frozen=True):
    """A file added to a milestone's report, without its bytes."""

    id: int
    milestone_id: int
    seq: int
    filename: str
    content_type: str
    size_bytes: int
    uploaded_at: dt.datetime


class AttachmentFile(msgspec.Struct, frozen=True):
    """A milestone's file with its bytes, for its download."""

    filename: str
    content_type: str
    content: bytes


# The organisation's planned milestone of its active contract, locked so that two uploads count each other.
LOCK_PLANNED_MILESTONE = """
SELECT m.id FROM milestones m JOIN contracts c ON c.id = m.contract_id
WHERE c.id = $1 AND m.seq = $2 AND c.organisation_id = $3 AND c.status = 'active' AND m.status = 'planned'
FOR UPDATE OF m
"""
COUNT_ATTACHMENTS = "SELECT count(*) FROM milestone_attachments WHERE milestone_id = $1"
INSERT_ATTACHMENT = """
INSERT INTO milestone_attachments (milestone_id, filename, content_type, content, uploaded_by)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""
SELECT_ATTACHMENTS = """
SELECT a.id, a.milestone_id, m.seq, a.filename, a.content_type, octet_length(a.content) AS size_bytes, a.uploaded_at
FROM milestone_attachments a JOIN milestones m ON m.id = a.milestone_id
WHERE m.contract_id = $1
ORDER BY m.seq, a.id
"""
# Only the contract's parties read a file (admins: both NULL), as they read the contract itself.
SELECT_ATTACHMENT = f"""
SELECT a.filename, a.content_type, a.content
FROM milestone_attachments a JOIN milestones m ON m.id = a.milestone_id JOIN contracts c ON c.id = m.contract_id
WHERE a.id = $3 AND c.id = $4 AND m.seq = $5 AND {_CONTRACT_PARTY}
"""


async def lock_planned_milestone(
    conn: asyncpg.Connection, contract_id: int, seq: int, organisation_id: int
) -> int | None:
    """The id of the organisation's milestone still to report on its active contract, locked; None if none."""
    found = await conn.fetchval(LOCK_PLANNED_MILESTONE, contract_id, seq, organisation_id)
    return None if found is None else int(found)


async def count_attachments(conn: asyncpg.Connection, milestone_id: int) -> int:
    """How many files a milestone has."""
    return int(await conn.fetchval(COUNT_ATTACHMENTS, milestone_id))


async def insert_attachment(
    conn: asyncpg.Connection, milestone_id: int, filename: str, content_type: str, content: bytes, account_id: int
) -> int:
    """Add a file to a milestone; its id."""
    return int(await conn.fetchval(INSERT_ATTACHMENT, milestone_id, filename, content_type, content, account_id))


async def list_attachments(conn: asyncpg.Connection, contract_id: int) -> list[AttachmentRow]:
    """A contract's milestone files, by milestone and upload."""
    return await fetch_all(conn, SELECT_ATTACHMENTS, AttachmentRow, contract_id)


async def get_attachment(
    conn: asyncpg.Connection,
    contract_id: int,
    seq: int,
    attachment_id: int,
    *,
    funder_id: int | None,
    organisation_id: int | None,
) -> AttachmentFile | None:
    """One milestone file with its bytes, for a party to the contract (or an admin: both None)."""
    return await fetch_one(
        conn, SELECT_ATTACHMENT, AttachmentFile, funder_id, organisation_id, attachment_id, contract_id, seq
    )
