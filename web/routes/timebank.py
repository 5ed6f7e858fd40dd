"""The volunteer's pages: my hours (服务时长), the service record (志愿服务记录) and its printable certificate, and the
time bank (时间银行) with its give, spend and donate forms."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import attendance, service_records, timebank
from api.services.accounts import Identity
from api.services.errors import Conflict
from api.services.timebank import SERVICES, Transfer
from web.forms import submit
from web.routes._common import FormData, PageRedirect, multi

DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(give|spend|donate)$")]
FORMS = ("give", "spend", "donate")


def _cap(state: State) -> int:
    return attendance.rules_of(state.settings).timebank_cap_minutes


async def _timebank_page(
    conn: Conn,
    user: Identity,
    state: State,
    *,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Template:
    return Template(
        template_name="timebank/account.html",
        context={
            "who": user,
            "balance": await timebank.my_account(conn, user, cap_minutes=_cap(state)),
            "history": await timebank.my_history(conn, user, limit=50, offset=0),
            "services": SERVICES,
            "form": form,
            "errors": errors or {},
            "values": values or {},
            "done": done,
            "coins": timebank.coins,
        },
        status_code=status,
    )


class TimeBankPages(Controller):
    """My hours, my service record and certificate, my time bank."""

    include_in_schema = False

    @get("/hours", name="my_hours", guards=[roles("volunteer")])
    async def hours(self, conn: Conn, user: User, state: State) -> Template:
        """Shifts to check in to now, hours waiting for confirmation or rejected, totals and the balance."""
        rules = attendance.rules_of(state.settings)
        return Template(
            template_name="timebank/hours.html",
            context={
                "who": user,
                "due": await attendance.due(conn, user, rules),
                "record": await service_records.my_record(conn, user, limit=10, offset=0),
                "balance": await timebank.my_account(conn, user, cap_minutes=rules.timebank_cap_minutes),
                "coins": timebank.coins,
            },
        )

    @get("/records", name="my_records", guards=[roles("volunteer")])
    async def records(self, conn: Conn, user: User) -> Template:
        """The service record: confirmed hours with content, place, dates and publisher."""
        record = await service_records.my_record(conn, user, limit=500, offset=0)
        return Template(
            template_name="timebank/records.html",
            context={"who": user, "record": record, "coins": timebank.coins, "error": None},
        )

    @post("/records/certificate", name="issue_certificate", guards=[roles("volunteer")])
    async def issue(self, conn: Conn, user: User) -> Response[Any]:
        """Issue (or find) the certificate of the record as it stands and show it."""
        try:
            issued = await service_records.certificate(conn, user)
        except Conflict as exc:
            record = await service_records.my_record(conn, user, limit=500, offset=0)
            return Template(
                template_name="timebank/records.html",
                context={"who": user, "record": record, "coins": timebank.coins, "error": exc.detail},
                status_code=exc.status,
            )
        return PageRedirect("certificate", number=issued.certificate.number)

    @get("/records/certificates/{number:str}", name="certificate", guards=[roles("volunteer")])
    async def certificate(self, conn: Conn, user: User, number: FromPath[str]) -> Template:
        """The printable certificate (志愿服务记录证明)."""
        issued = await service_records.my_certificate(conn, user, number)
        return Template(
            template_name="timebank/certificate.html",
            context={"who": user, "issued": issued, "coins": timebank.coins},
        )

    @get("/timebank", name="timebank", guards=[roles("volunteer")])
    async def account(self, conn: Conn, user: User, state: State, done: DoneQuery = None) -> Template:
        """My balance and history, and the forms to give, spend and donate coins."""
        return await _timebank_page(conn, user, state, done=done)

    @post("/timebank/{kind:str}", name="timebank_transfer", guards=[roles("volunteer")])
    async def transfer(
        self, conn: Conn, user: User, state: State, kind: FromPath[str], data: FormData
    ) -> Response[Any]:
        """Give, spend or donate; the form again with the error beside the field when refused."""
        if kind not in FORMS:
            return PageRedirect("timebank")
        form = multi(data)
        values = {k: str(form.get(k, "")).strip() for k in ("coins", "to_username", "service", "memo")}
        errors: dict[str, str] = {}
        minutes = timebank.minutes_of_coins(values["coins"]) if values["coins"] else None
        if not values["coins"]:
            errors["coins"] = "This field is required"
        elif minutes is None:
            errors["coins"] = "Enter a positive number of coins, e.g. 1.5"
        command = None
        if minutes is not None:
            command = Transfer(
                kind=kind,  # type: ignore[arg-type]
                minutes=minutes,
                to_username=values["to_username"] or None,
                service=values["service"] or None,
                memo=values["memo"][:200],
            )
        return await submit(
            (command, errors),
            lambda command: timebank.transfer(conn, user, command, cap_minutes=_cap(state)),
            lambda _row: PageRedirect("timebank", query={"done": kind}),
            lambda errors, status: _timebank_page(
                conn, user, state, form=kind, errors=errors, values=values, status=status
            ),
            fields=lambda fields: {("coins" if k == "minutes" else k): v for k, v in fields.items()},
            refusal="coins",
        )
