"""The time bank (balance, history, give, spend, donate) and the service record with its certificate."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, roles
from api.routes.paging import Offset
from api.schemas.common import out, outs
from api.schemas.timebank import (
    BalanceOut,
    CertificateCheckOut,
    CertificateOut,
    HistoryOut,
    ServiceRecordOut,
    TransferOut,
    certificate_out,
)
from api.services import attendance, service_records, timebank
from api.services.timebank import Transfer

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def _cap(state: State) -> int:
    return attendance.rules_of(state.settings).timebank_cap_minutes


class TimeBankController(Controller):
    """时间银行: the calling volunteer's time coins (stored as minutes)."""

    path = "/api/timebank"
    tags = ("timebank",)

    @get("/mine", operation_id="getMyTimeBank", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User, state: State) -> BalanceOut:
        """My balance in minutes: own time, group time (can only be donated), and the cap."""
        return out(await timebank.my_account(conn, user, cap_minutes=_cap(state)), BalanceOut)

    @get("/mine/history", operation_id="getMyTimeBankHistory", guards=[roles("volunteer")])
    async def history(self, conn: Conn, user: User, limit: Limit = 50, offset: Offset = 0) -> list[HistoryOut]:
        """My ledger transactions, latest first."""
        return outs(await timebank.my_history(conn, user, limit=limit, offset=offset), HistoryOut)

    @post("/transfers", operation_id="transferTimeCoins", guards=[roles("volunteer")], status_code=201)
    async def transfer(self, conn: Conn, user: User, state: State, data: JSONBody[Transfer]) -> TransferOut:
        """Give coins to family, spend them on a service, or donate them; 409 above the balance."""
        return out(await timebank.transfer(conn, user, data, cap_minutes=_cap(state)), TransferOut)


class ServiceRecordController(Controller):
    """志愿服务记录: the calling volunteer's confirmed hours and the certificate."""

    path = "/api/records"
    tags = ("records",)

    @get("/mine", operation_id="getMyServiceRecord", guards=[roles("volunteer")])
    async def mine(
        self, conn: Conn, user: User, state: State, limit: Limit = 100, offset: Offset = 0
    ) -> ServiceRecordOut:
        """My service record: confirmed hours with content, place, dates and publisher, my star level (星级) and the
        hours to the next star; and hours not confirmed."""
        record = await service_records.my_record(conn, user, limit=limit, offset=offset, star_hours=state.star_hours)
        return out(record, ServiceRecordOut)

    @post("/mine/certificate", operation_id="issueMyCertificate", guards=[roles("volunteer")], status_code=200)
    async def certificate(self, conn: Conn, user: User, state: State) -> CertificateOut:
        """The certificate of my record (free), with the star level it reached; the same number until new hours are
        confirmed."""
        return certificate_out(await service_records.certificate(conn, user, state.star_hours))

    @get("/certificates/{number:str}/{code:str}", operation_id="verifyCertificate")
    async def verify(self, conn: Conn, state: State, number: FromPath[str], code: FromPath[str]) -> CertificateCheckOut:
        """Anyone: whether a certificate is genuine and valid, by its number and check code (404 unless both match)."""
        checked = await service_records.check(conn, number, code)
        return out(checked, CertificateCheckOut, issuer=state.settings.certificate_issuer)
