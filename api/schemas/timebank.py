"""Response structs for the time bank and the service record."""

from __future__ import annotations

import msgspec

from api.schemas.common import out
from api.services.service_records import Certificate, CertificateCheck, StarLevel
from api.services.timebank import TimeBankView
from sql.attendance import CertificatePublic, RecordPublic
from sql.ledger import HistoryRow


class BalanceOut(TimeBankView, frozen=True):
    """A time-bank balance in minutes (60 minutes = 1 time coin): own time, group time (donate only), the cap."""


class HistoryOut(HistoryRow, frozen=True):
    """One ledger transaction as the account sees it (minutes signed: in positive, out negative)."""


class TransferOut(msgspec.Struct, frozen=True):
    """A transfer just made and the balance it left."""

    transaction_id: int
    kind: str
    minutes: int
    balance: BalanceOut


class RecordOut(RecordPublic, frozen=True):
    """One entry of the service record: content, place, dates, publisher and minutes."""


class ServiceRecordOut(msgspec.Struct, frozen=True):
    """The service record (志愿服务记录): confirmed records with totals and the star level (星级) they reach, and
    attendances not confirmed (yet)."""

    records: int
    minutes: int
    confirmed: list[RecordOut]
    others: list[RecordOut]
    level: StarLevel


class CertificateOut(CertificatePublic, frozen=True):
    """A certificate of the service record with a stable number, and the records it certifies. `volunteer_number` is
    the platform's number of the volunteer; anyone verifies the certificate at `/verify/{number}/{check_code}`."""

    items: list[RecordOut]


class CertificateCheckOut(CertificateCheck, frozen=True):
    """Anyone's check of a certificate: the holder's name masked, the totals, the issuer and date, and whether the
    records it certified still add up to its totals."""

    issuer: str


def certificate_out(issued: Certificate) -> CertificateOut:
    """The public shape of a certificate with its records."""
    return out(issued.certificate, CertificateOut, items=issued.items)
