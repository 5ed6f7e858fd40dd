"""The volunteer's service record (志愿服务记录) and its certificate, issued free on request (MCA Order 67)."""

from __future__ import annotations

import asyncpg
import msgspec

from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound
from sql import attendance as attendance_sql
from sql import audit
from sql.attendance import CertificateRow, RecordRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_VOLUNTEERS = "Only volunteers have a service record"

# A certificate lists every confirmed record; beyond this many the page would be a book, not a certificate.
CERTIFICATE_RECORDS = 500


class ServiceRecord(msgspec.Struct, frozen=True):
    """The confirmed records and their totals, and the attendances still open, pending or rejected."""

    records: int
    minutes: int
    confirmed: list[RecordRow]
    others: list[RecordRow]


class Certificate(msgspec.Struct, frozen=True):
    """A certificate of the service record and the records it certifies."""

    certificate: CertificateRow
    items: list[RecordRow]


async def my_record(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> ServiceRecord:
    """The caller's service record: confirmed hours with content, place, dates and publisher; and the rest."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    records, minutes = await attendance_sql.record_totals(conn, volunteer_id)
    confirmed = await attendance_sql.my_records(conn, volunteer_id, status="confirmed", limit=limit, offset=offset)
    every = await attendance_sql.my_records(conn, volunteer_id, status=None, limit=100, offset=0)
    return ServiceRecord(
        records=records, minutes=minutes, confirmed=confirmed, others=[r for r in every if r.status != "confirmed"]
    )


async def certificate(conn: asyncpg.Connection, who: Identity) -> Certificate:
    """The certificate of the caller's record as it stands: the same number until new hours are confirmed."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    async with conn.transaction():
        issued = await attendance_sql.issue_certificate(conn, volunteer_id)
        if issued is None:
            raise Conflict("There are no confirmed hours to certify yet")
        await audit.append(
            conn,
            actor_account_id=who.account_id,
            action="record.certificate",
            object_type="service_certificate",
            object_id=issued.number,
            detail={"records": issued.records, "minutes": issued.minutes},
        )
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
