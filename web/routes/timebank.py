"""The volunteer's pages: my hours (服务时长), the service record (志愿服务记录) and its certificate (a page and an A4
PDF), the time bank (时间银行) with its give, spend and donate forms; and the public page where anyone verifies a
certificate by its number and check code (the QR code on the certificate opens it)."""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, roles
from api.services import attendance, service_records, timebank
from api.services.accounts import Identity
from api.services.errors import Conflict, NotFound
from api.services.service_records import Certificate, check_code_shown
from api.services.timebank import SERVICES, Transfer
from web import certificate_pdf
from web.forms import submit
from web.routes._common import FormData, PageRedirect, multi
from web.routes.attendance import qr_svg

DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(give|spend|donate)$")]
FORMS = ("give", "spend", "donate")
# What a person may type into the verification form: long enough for a number and a code in groups, no longer.
TypedQuery = Annotated[str | None, QueryParameter(max_length=40)]


def _verify_url(request: Request[Any, Any, Any], issued: Certificate) -> str:
    """The public verification page of a certificate, as its QR code carries it."""
    c = issued.certificate
    path = request.app.route_reverse("verify_certificate", number=c.number, code=c.check_code)
    return str(request.base_url).rstrip("/") + path


async def _verify_page(conn: Conn, who: Identity | None, state: State, number: str, code: str) -> Template:
    """The verification's answer; an unknown number or a wrong code is a 404 page with the form to try again."""
    context: dict[str, Any] = {"who": who, "issuer": state.settings.certificate_issuer, "values": {}, "checked": None}
    try:
        context["checked"] = await service_records.check(conn, number, code)
    except NotFound:
        context["values"] = {"number": number, "code": code}
        return Template(template_name="timebank/verify.html", context=context, status_code=404)
    return Template(template_name="timebank/verify.html", context=context)


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
                "record": await service_records.my_record(conn, user, limit=10, offset=0, star_hours=state.star_hours),
                "balance": await timebank.my_account(conn, user, cap_minutes=rules.timebank_cap_minutes),
                "coins": timebank.coins,
            },
        )

    @get("/records", name="my_records", guards=[roles("volunteer")])
    async def records(self, conn: Conn, user: User, state: State) -> Template:
        """The service record: confirmed hours with content, place, dates and publisher, and the star level."""
        record = await service_records.my_record(conn, user, limit=500, offset=0, star_hours=state.star_hours)
        return Template(
            template_name="timebank/records.html",
            context={"who": user, "record": record, "coins": timebank.coins, "error": None},
        )

    @post("/records/certificate", name="issue_certificate", guards=[roles("volunteer")])
    async def issue(self, conn: Conn, user: User, state: State) -> Response[Any]:
        """Issue (or find) the certificate of the record as it stands and show it."""
        try:
            issued = await service_records.certificate(conn, user, state.star_hours)
        except Conflict as exc:
            record = await service_records.my_record(conn, user, limit=500, offset=0, star_hours=state.star_hours)
            return Template(
                template_name="timebank/records.html",
                context={"who": user, "record": record, "coins": timebank.coins, "error": exc.detail},
                status_code=exc.status,
            )
        return PageRedirect("certificate", number=issued.certificate.number)

    @get("/records/certificates/{number:str}", name="certificate", guards=[roles("volunteer")])
    async def certificate(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, state: State, number: FromPath[str]
    ) -> Template:
        """The printable certificate (志愿服务记录证明)."""
        issued = await service_records.my_certificate(conn, user, number)
        url = _verify_url(request, issued)
        return Template(
            template_name="timebank/certificate.html",
            context={
                "who": user,
                "issued": issued,
                "issuer": state.settings.certificate_issuer,
                "check_code": check_code_shown(issued.certificate.check_code),
                "verify_url": url,
                "qr": qr_svg(url),
                "coins": timebank.coins,
            },
        )

    @get("/records/certificates/{number:str}/certificate.pdf", name="certificate_pdf", guards=[roles("volunteer")])
    async def certificate_file(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, state: State, number: FromPath[str]
    ) -> Response[bytes]:
        """The certificate as an A4 PDF to download, print or send (only the caller's own: another's is a 404)."""
        issued = await service_records.my_certificate(conn, user, number)
        # Setting a long record takes seconds of CPU (0.4 s for 40 records, 2.3 s for 500 on a busy machine): off the
        # event loop, so other requests go on meanwhile.
        body = await asyncio.to_thread(
            functools.partial(
                certificate_pdf.render,
                issued,
                issuer=state.settings.certificate_issuer,
                verify_url=_verify_url(request, issued),
            )
        )
        return Response(
            body,
            media_type=certificate_pdf.MEDIA_TYPE,
            headers={
                # The number was found in the database, so it is safe in the header (LL-YYYYMMDD-NNNNNN).
                "content-disposition": f'attachment; filename="{issued.certificate.number}.pdf"',
                "cache-control": "private, no-store",
            },
        )

    @get("/verify", name="verify_certificate_form")
    async def verify_form(
        self, conn: Conn, who: Who, state: State, number: TypedQuery = None, code: TypedQuery = None
    ) -> Template:
        """Anyone: the form to verify a certificate by its number and check code, and its answer once both are typed."""
        if number or code:
            return await _verify_page(conn, who, state, number or "", code or "")
        context = {"who": who, "issuer": state.settings.certificate_issuer, "values": {}, "checked": None}
        return Template(template_name="timebank/verify.html", context=context)

    @get("/verify/{number:str}/{code:str}", name="verify_certificate")
    async def verify(self, conn: Conn, who: Who, state: State, number: FromPath[str], code: FromPath[str]) -> Template:
        """Anyone: whether a certificate is genuine and valid (the page its QR code opens)."""
        return await _verify_page(conn, who, state, number, code)

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
