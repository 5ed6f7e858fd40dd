"""The volunteer's service record (志愿服务记录) and its certificate, issued free on request (MCA Order 67)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence

import asyncpg
import msgspec

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound
from sql import attendance as attendance_sql
from sql.attendance import CertificateCheckPublic, CertificateCheckRow, CertificateRow, RecordRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_VOLUNTEERS = "Only volunteers have a service record"

# A certificate lists every confirmed record; beyond this many the page would be a book, not a certificate.
CERTIFICATE_RECORDS = 500
# Star levels: one to five (issue 15, item 5).
STARS = 5


class StarLevel(msgspec.Struct, frozen=True):
    """A volunteer's star level (星级) by confirmed hours, and how many more minutes the next star takes."""

    stars: int
    next_star_minutes: int | None


def parse_star_hours(raw: str) -> tuple[int, ...]:
    """The five thresholds of LINLI_STAR_LEVEL_HOURS ("100,300,600,1000,1500"): whole hours, rising."""
    try:
        hours = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"LINLI_STAR_LEVEL_HOURS={raw!r}: five whole numbers of hours, comma-separated") from None
    if len(hours) != STARS or hours[0] <= 0 or any(b <= a for a, b in itertools.pairwise(hours)):
        raise ValueError(f"LINLI_STAR_LEVEL_HOURS={raw!r}: five rising numbers of hours above 0")
    return hours


def star_level(minutes: int, star_hours: Sequence[int]) -> StarLevel:
    """The stars `minutes` of confirmed service reach (a star at each threshold passed) and the hours to the next."""
    stars = sum(1 for hours in star_hours if minutes >= hours * 60)
    left = None if stars == len(star_hours) else star_hours[stars] * 60 - minutes
    return StarLevel(stars=stars, next_star_minutes=left)


class ServiceRecord(msgspec.Struct, frozen=True):
    """The confirmed records and their totals and star level, and the attendances still open, pending or rejected."""

    records: int
    minutes: int
    confirmed: list[RecordRow]
    others: list[RecordRow]
    level: StarLevel


# A certificate's number as issued (sql/migrations/0010) and its check code (0026), as typed or scanned: the code may
# come in lower case and in groups of four.
_NUMBER = re.compile(r"^LL-[0-9]{8}-[0-9]{6,12}$")
_CHECK_CODE = re.compile(r"^[0-9A-F]{12}$")
_NO_SUCH_CERTIFICATE = "No certificate has this number and check code"


class Certificate(msgspec.Struct, frozen=True):
    """A certificate of the service record and the records it certifies (by date of service)."""

    certificate: CertificateRow
    items: list[RecordRow]

    @property
    def organisers(self) -> list[str]:
        """The organising bodies (组织单位) of the certified records, each once, in the order first served."""
        return list(dict.fromkeys(item.publisher_name for item in self.items))

    @property
    def period(self) -> tuple[dt.datetime, dt.datetime] | None:
        """When the certified service took place: the start of the first record and the end of the last."""
        if not self.items:
            return None
        return self.items[0].starts_at, max(item.ends_at for item in self.items)


class CertificateCheck(CertificateCheckPublic, frozen=True):
    """What the public verification page shows: the totals, the date, validity and the holder's name masked."""

    masked_name: str


def mask_name(name: str) -> str:
    """A name as a stranger may see it: 张*明, 李*, 欧阳**; a Latin name keeps its first letter (J***)."""
    name = name.strip()
    if not name:
        return "*"
    if name.isascii():
        return name[0] + "***"
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def check_code_shown(code: str) -> str:
    """A check code in groups of four, as printed (3F9A-2B7C-1D0E)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


async def check(conn: asyncpg.Connection, number: str, code: str) -> CertificateCheck:
    """Anyone's check of a certificate by its number and check code; NotFound unless both match one."""
    number = number.strip().upper()
    code = re.sub(r"[\s-]", "", code).upper()
    if not (_NUMBER.match(number) and _CHECK_CODE.match(code)):
        raise NotFound(_NO_SUCH_CERTIFICATE)
    row = await attendance_sql.check_certificate(conn, number, code)
    if row is None:
        raise NotFound(_NO_SUCH_CERTIFICATE)
    return _public(row)


def _public(row: CertificateCheckRow) -> CertificateCheck:
    facts = {name: getattr(row, name) for name in CertificateCheckPublic.__struct_fields__}
    return CertificateCheck(**facts, masked_name="" if row.withdrawn else mask_name(row.volunteer_name))


async def my_record(
    conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int, star_hours: Sequence[int]
) -> ServiceRecord:
    """The caller's service record: confirmed hours with content, place, dates and publisher, the star level they
    reach; and the rest."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    records, minutes = await attendance_sql.record_totals(conn, volunteer_id)
    confirmed = await attendance_sql.my_records(conn, volunteer_id, status="confirmed", limit=limit, offset=offset)
    every = await attendance_sql.my_records(conn, volunteer_id, status=None, limit=100, offset=0)
    return ServiceRecord(
        records=records,
        minutes=minutes,
        confirmed=confirmed,
        others=[r for r in every if r.status != "confirmed"],
        level=star_level(minutes, star_hours),
    )


async def my_star_level(conn: asyncpg.Connection, who: Identity, star_hours: Sequence[int]) -> StarLevel:
    """The caller's star level by the hours confirmed so far."""
    _, minutes = await attendance_sql.record_totals(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS))
    return star_level(minutes, star_hours)


async def certificate(conn: asyncpg.Connection, who: Identity, star_hours: Sequence[int]) -> Certificate:
    """The certificate of the caller's record as it stands, with the star level it reached: the same number until
    new hours are confirmed."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        issued = await attendance_sql.issue_certificate(conn, volunteer_id, star_hours)
        if issued is None:
            raise Conflict("There are no confirmed hours to certify yet")
        await audit_log.record(
            conn, who, "record.certificate", "service_certificate", issued.number,
            detail={"records": issued.records, "minutes": issued.minutes, "stars": issued.stars},
        )  # fmt: skip
        items = await attendance_sql.certified_records(conn, volunteer_id, min(issued.records, CERTIFICATE_RECORDS))
    return Certificate(certificate=issued, items=items)


async def my_certificate(conn: asyncpg.Connection, who: Identity, number: str) -> Certificate:
    """A certificate issued to the caller earlier, with the records it certified (the first `records` confirmed)."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    found = await attendance_sql.certificate(conn, number)
    if found is None or found.volunteer_id != volunteer_id:
        raise NotFound("No such certificate")
    items = await attendance_sql.certified_records(conn, volunteer_id, found.records)
    return Certificate(certificate=found, items=items)
