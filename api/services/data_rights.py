"""A volunteer's data rights under PIPL (issue 15, item 6): download everything, erase the account; and the
retention schedule that erases what is left of a household that left the service.

What each table gives to the download and what erasure does to it is declared in sql/data_rights.py; the rules are
in docs/volunteer-profile-and-shifts.md ("Rules: data rights") and docs/security.md ("Data rights").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any

import asyncpg
import msgspec
import structlog

from api import security
from api.services import audit_log, coins, groups, shifts
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound
from api.services.exports import safe_text
from sql import audit
from sql import data_rights as rights_sql
from sql import ledger as ledger_sql
from sql.data_rights import ERASED_GROUP as ERASED_GROUP
from sql.data_rights import ERASED_MEMBER as ERASED_MEMBER
from sql.data_rights import ERASED_VOLUNTEER as ERASED_VOLUNTEER

_ONLY_VOLUNTEERS = "Only volunteers can download or erase a volunteer's data"
# What the person types on the confirmation page when they do not give their password (the page shows it).
CONFIRM_WORD = "注销"
DEFAULT_RETENTION_MONTHS = 12
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# The erasure's log line (ids only) outlives a database restored from a backup older than it: `linli reerase` reads
# the ids back from it (docs/runbook.md "Restoring a backup erases again").
log = structlog.get_logger("linli.data_rights")


class ErasureConfirm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The confirmation of an erasure: the password again, or the word 注销 typed."""

    password: str = ""
    confirm: str = ""


class Erased(msgspec.Struct, frozen=True):
    """What an erasure did, in figures (the same figures the audit entry keeps)."""

    volunteer_id: int
    places_cancelled: int
    certificates_withdrawn: int
    minutes_to_pool: int


class DataExport(msgspec.Struct, frozen=True):
    """The download: a ZIP file's bytes and its name."""

    filename: str
    content: bytes
    files: list[str]

    media_type = "application/zip"

    @property
    def headers(self) -> dict[str, str]:
        """A private attachment (the name is ASCII, made here), for the API and the page alike."""
        return {"content-disposition": f'attachment; filename="{self.filename}"', "cache-control": "private, no-store"}


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return safe_text("; ".join(str(v) for v in value))
    if isinstance(value, dict):
        return safe_text(json.dumps(value, ensure_ascii=False, default=_json_default))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return safe_text(str(value))


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    # jsonb arrives as its text (the pools set no codec): the download carries it as JSON, not as a string of it.
    return {k: json.loads(v) if k in ("params", "detail") and isinstance(v, str) else v for k, v in row.items()}


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    # With a BOM, so that a spreadsheet opens the Chinese text as UTF-8.
    return ("\ufeff" + out.getvalue()).encode()


_README = """Linli (邻里) — your data / 您的数据

One JSON and one CSV file per kind (the same rows), times in ISO 8601 with their offset; evidence/ holds the
files you uploaded to prove a certificate, insurance or a date of birth.
每类数据一个 JSON 文件和一个 CSV 文件（内容相同），时间为 ISO 8601 格式；evidence/ 为您上传的证明材料。
"""


async def export(conn: asyncpg.Connection, who: Identity) -> DataExport:
    """Everything Linli holds about the calling volunteer, as a ZIP of JSON and CSV, read in one snapshot; audited."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    files: list[str] = []
    buffer = io.BytesIO()
    # One repeatable-read snapshot: the files agree with each other even while the person keeps using the site
    # (inside a caller's transaction, such as a test's, that transaction's own view).
    snapshot = (
        conn.transaction() if conn.is_in_transaction() else conn.transaction(isolation="repeatable_read", readonly=True)
    )
    async with snapshot:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", _README)
            for kind in rights_sql.EXPORTS:
                rows = [_decoded(r) for r in await rights_sql.export_rows(conn, kind, volunteer_id, who.account_id)]
                columns = list(rows[0]) if rows else []
                body = json.dumps(rows, ensure_ascii=False, indent=1, default=_json_default)
                archive.writestr(f"{kind.name}.json", body)
                archive.writestr(f"{kind.name}.csv", _csv(columns, rows))
                files += [f"{kind.name}.json", f"{kind.name}.csv"]
            for evidence_id, content_type, content in await rights_sql.evidence_files(conn, volunteer_id):
                name = f"evidence/{evidence_id}.{_EXTENSIONS.get(content_type, 'bin')}"
                archive.writestr(name, content)
                files.append(name)
    async with conn.transaction():
        await audit_log.record(
            conn, who, "volunteer.data_export", "volunteer", volunteer_id, detail={"files": len(files)}
        )
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return DataExport(filename=f"linli-data-{today}.zip", content=buffer.getvalue(), files=files)


def _check_confirmation(form: ErasureConfirm, stored_hash: str) -> None:
    if form.password:
        if not security.verify_password(stored_hash, form.password):
            raise Invalid("The erasure is not confirmed", fields={"password": "Wrong password"})
        return
    if form.confirm.strip() != CONFIRM_WORD:
        raise Invalid(
            "The erasure is not confirmed",
            fields={"confirm": "Type 注销 (or your password) to confirm"},
        )


async def _cancel_future_places(conn: asyncpg.Connection, who: Identity, volunteer_id: int) -> int:
    """Each place or waitlist entry still to come ends through the volunteer's own cancellation (a group they lead,
    as a whole), so places are freed and the waitlist moves by the ordinary rules."""
    cancelled = 0
    for shift_id, group_id in await rights_sql.future_signups(conn, volunteer_id):
        try:
            if group_id is not None:
                await groups.cancel_group(conn, who, group_id)
            else:
                await shifts.cancel(conn, who, shift_id)
        except (NotFound, Conflict):
            continue  # ended meanwhile by someone else's step (a group's leader, the shift called off)
        cancelled += 1
    return cancelled


async def _cancel_open_bookings(conn: asyncpg.Connection, who: Identity, volunteer_id: int) -> int:
    """Each time-coin booking still open is cancelled by the volunteer's own cancellation (its coins refunded, its
    place freed); one whose time has begun cannot be, and stays for the committee."""
    cancelled = 0
    for booking_id in await rights_sql.open_bookings(conn, volunteer_id):
        try:
            await coins.cancel(conn, who, booking_id)
        except (NotFound, Conflict):
            continue
        cancelled += 1
    return cancelled


async def _balance_to_pool(conn: asyncpg.Connection, who: Identity, volunteer_id: int) -> int:
    """The time-bank balance, own and group time alike, goes to the community pool as a donation; its minutes."""
    mine = await ledger_sql.find_volunteer_account(conn, volunteer_id)
    if mine is None:
        return 0
    await ledger_sql.lock_accounts(conn, [mine])
    balance = await ledger_sql.balance(conn, mine)
    if balance.total <= 0:
        return 0
    pool = await ledger_sql.system_account(conn, "pool")
    entries = [(mine, "own", -balance.own), (pool, "own", balance.own)]
    entries += [(mine, "group", -balance.group), (pool, "group", balance.group)]
    transaction_id = await ledger_sql.post(
        conn,
        kind="donate",
        entries=[e for e in entries if e[2] != 0],
        created_by=who.account_id,
        memo="account erased",
    )
    await audit_log.record(
        conn, who, "timebank.erasure_donate", "ledger_transaction", transaction_id, detail={"minutes": balance.total}
    )
    return balance.total


async def erase(conn: asyncpg.Connection, who: Identity, form: ErasureConfirm) -> Erased:
    """Erase the calling volunteer's account in one transaction: a tombstone is left, future places are cancelled,
    hours records stay without the person, certificates are withdrawn and the balance goes to the pool."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        account_id = await rights_sql.lock_live_account(conn, volunteer_id)
        if account_id is None or account_id != who.account_id:
            raise NotFound("No such account")
        _check_confirmation(form, await rights_sql.password_hash(conn, account_id))
        erased = await _erase(conn, who, volunteer_id, account_id, again=False)
    log.info("volunteer erased", volunteer_id=volunteer_id, account_id=account_id)
    return erased


async def _erase(conn: asyncpg.Connection, who: Identity, volunteer_id: int, account_id: int, *, again: bool) -> Erased:
    places = await _cancel_future_places(conn, who, volunteer_id)
    bookings = await _cancel_open_bookings(conn, who, volunteer_id)
    minutes = await _balance_to_pool(conn, who, volunteer_id)
    touched: dict[str, int] = {}
    for step in rights_sql.ERASURES:
        key = account_id if step.key == "account" else volunteer_id
        touched[step.table] = touched.get(step.table, 0) + await rights_sql.run_erasure(conn, step, key)
    # Ids and counts only: the audit log outlives the person and must not name them.
    await audit.append(
        conn,
        actor_account_id=None if again else account_id,
        action="volunteer.erased",
        object_type="volunteer",
        object_id=volunteer_id,
        detail={
            "account_id": account_id,
            "places_cancelled": places,
            "bookings_cancelled": bookings,
            "minutes_to_pool": minutes,
            **touched,
            **({"after_restore": True} if again else {}),
        },
    )
    return Erased(
        volunteer_id=volunteer_id,
        places_cancelled=places,
        certificates_withdrawn=touched.get("service_certificates", 0),
        minutes_to_pool=minutes,
    )


_ERASED_LINE = re.compile(r"volunteer erased(?! again)")
_VOLUNTEER_ID = re.compile(r"""["']?volunteer_id["']?\s*[:=]\s*(\d+)""")


def erased_in_log(lines: Iterable[str]) -> list[int]:
    """The volunteer ids of the erasures a log names (JSON or key=value lines), in order, each once."""
    found: dict[int, None] = {}
    for line in lines:
        if _ERASED_LINE.search(line) and (match := _VOLUNTEER_ID.search(line)):
            found[int(match.group(1))] = None
    return list(found)


async def erase_again(conn: asyncpg.Connection, volunteer_ids: list[int]) -> list[int]:
    """After a restore from a backup older than some erasures, erase those volunteers again (`linli reerase`); each
    in its own transaction, the ones already erased or unknown skipped. The ids erased now."""
    done: list[int] = []
    for volunteer_id in volunteer_ids:
        async with conn.transaction():
            account_id = await rights_sql.lock_live_account(conn, volunteer_id)
            if account_id is None:
                continue
            who = Identity(
                account_id=account_id, username="", display_name="", role="volunteer", locale="zh_CN",
                volunteer_id=volunteer_id,
            )  # fmt: skip
            await _erase(conn, who, volunteer_id, account_id, again=True)
        log.info("volunteer erased again after a restore", volunteer_id=volunteer_id, account_id=account_id)
        done.append(volunteer_id)
    return done


async def erase_left_households(conn: asyncpg.Connection, *, months: int, batch: int = 200) -> list[int]:
    """Erase for good what is left of households that left the service more than `months` ago (the worker's daily
    cron), in batches; one transaction and one audit entry per household. The ids erased."""
    erased: list[int] = []
    while due := await rights_sql.households_due(conn, months, batch):
        for household_id in due:
            async with conn.transaction():
                touched = {
                    step.table: await rights_sql.run_erasure(conn, step, household_id)
                    for step in rights_sql.HOUSEHOLD_RETENTION_ERASURES
                }
                await audit.append(
                    conn,
                    actor_account_id=None,
                    action="household.retention_erased",
                    object_type="household",
                    object_id=household_id,
                    detail={"months": months, **touched},
                )
            erased.append(household_id)
    return erased
