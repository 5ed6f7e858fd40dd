"""Contract pages: the list, making a contract from an award, signing, milestones, payments, grades; exports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream, Template

from api import i18n
from api.auth import Conn, User, roles
from api.services import contracts, exports
from api.services.contracts import ContractCreate, GradeCommand, MilestoneDecision, MilestoneReport, Upload
from api.services.errors import DomainError
from api.services.types import today
from api.services.verification import UPLOAD_CEILING
from web.routes._common import (
    PAGE_SIZE,
    FormData,
    MultipartData,
    Pager,
    PageRedirect,
    confirm_page,
    offset_of,
    uploads,
)

Format = Annotated[Literal["csv", "xlsx"] | None, QueryParameter(name="format")]
Page = Annotated[int, QueryParameter(ge=1, le=100_000)]
# Empty rows for milestones on the new-contract form; a contract may have up to 50, most have 2-6.
FORM_ROWS = 6


class FileStream(Stream):
    """A streamed file whose own media type wins over the handler's JSON default (Litestar's Stream prefers the
    handler's, so a route that answers JSON or a file would label the file application/json)."""

    def to_asgi_response(self, app: Any, request: Any, **kwargs: Any) -> Any:
        """The streaming ASGI response, with this file's media type."""
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(app, request, **kwargs)


def download(table: exports.Table, fmt: Literal["csv", "xlsx"]) -> Stream:
    """A list as a file in the page's language."""
    export = exports.render(table, fmt, i18n.current_locale.get(), today())
    return FileStream(
        export.chunks,
        media_type=export.media_type,
        headers={"content-disposition": exports.content_disposition(export.filename)},
    )


def _fen(text: str) -> int | None:
    """Yuan typed on a form (up to two decimals) as fen; None when it is not an amount."""
    try:
        value = Decimal(text.strip().replace(",", "").replace("，", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


def milestone_rows(data: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The milestone rows filled in on the form (title_N, due_on_N, amount_N, midterm_N), and per-field errors."""
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for n in range(1, 51):
        title = str(data.get(f"title_{n}", "")).strip()
        due = str(data.get(f"due_on_{n}", "")).strip()
        amount = str(data.get(f"amount_{n}", "")).strip()
        if not (title or due or amount):
            continue
        row: dict[str, Any] = {"title": title, "midterm": data.get(f"midterm_{n}") in ("on", "true", "1")}
        if not title:
            errors[f"title_{n}"] = "This field is required"
        try:
            row["due_on"] = dt.date.fromisoformat(due)
        except ValueError:
            errors[f"due_on_{n}"] = "Enter a date as YYYY-MM-DD"
        fen = _fen(amount)
        if fen is None or fen < 0:
            errors[f"amount_{n}"] = "Enter an amount in yuan"
        else:
            row["amount_fen"] = fen
        rows.append(row)
    if not rows and not errors:
        errors["milestones"] = "Add at least one milestone"
    return rows, errors


class ContractPages(Controller):
    """合同: contracts, milestones (阶段节点) and instalments (分期拨付)."""

    include_in_schema = False
    # Litestar reads guards as an instance attribute, so ClassVar (which RUF012 asks for) fails mypy.
    guards = [roles("funder", "organisation", "admin")]  # noqa: RUF012

    @get("/contracts", name="contracts")
    async def list_contracts(
        self,
        conn: Conn,
        user: User,
        fmt: Format = None,
        status: Annotated[str | None, QueryParameter(pattern=r"^(unsigned|active|stopped|completed)?$")] = None,
        page: Page = 1,
    ) -> Template | Stream:
        """The caller's contracts, awards ready for one (funders), and downloads."""
        if fmt is not None:
            everything = await contracts.list_contracts(conn, user, status=status or None, limit=100_000, offset=0)
            return download(contracts.contracts_table(everything.items, i18n.current_locale.get()), fmt)
        result = await contracts.list_contracts(
            conn, user, status=status or None, limit=PAGE_SIZE, offset=offset_of(page)
        )
        return Template(
            template_name="contracts/list.html",
            context={
                "who": user,
                "page": result,
                "status": status or "",
                "statuses": contracts.CONTRACT_STATUSES,
                "ready": await contracts.ready_awards(conn, user),
                "pager": Pager("contracts", {"status": status}, page, result.total),
            },
        )

    @get("/contracts/{contract_id:int}", name="contract")
    async def detail(self, conn: Conn, user: User, contract_id: FromPath[int], fmt: Format = None) -> Template | Stream:
        """One contract with its milestones and the actions the caller may take."""
        detail = await contracts.get_contract(conn, user, contract_id)
        if fmt is not None:
            return download(contracts.milestones_table(contract_id, detail.milestones, i18n.current_locale.get()), fmt)
        return self._detail(user, detail, {}, None, 200)

    def _detail(
        self,
        user: Any,
        detail: contracts.ContractDetail,
        errors: dict[str, str],
        error: str | None,
        status: int,
        values: dict[str, str] | None = None,
    ) -> Template:
        files: dict[int, list[Any]] = {}
        for a in detail.attachments:
            files.setdefault(a.seq, []).append(a)
        return Template(
            template_name="contracts/detail.html",
            context={
                "who": user,
                "contract": detail.contract,
                "milestones": detail.milestones,
                "files": files,
                "max_files": contracts.MAX_ATTACHMENTS,
                "grades": contracts.GRADES,
                "errors": errors,
                "error": error,
                "values": values or {},
                "today": today(),
            },
            status_code=status,
        )

    async def _act(self, conn: Conn, user: User, contract_id: int, step: Any) -> Response[Any]:
        """Run one step on the contract; back to its page, or the page again with the reason it was refused."""
        try:
            await step
        except DomainError as exc:
            if exc.status in (401, 404):
                raise
            detail = await contracts.get_contract(conn, user, contract_id)
            return self._detail(user, detail, exc.fields, exc.detail, exc.status)
        return PageRedirect("contract", contract_id=contract_id)

    @post("/contracts/{contract_id:int}/sign", name="contract_sign", guards=[roles("funder", "organisation")])
    async def sign(self, conn: Conn, user: User, contract_id: FromPath[int]) -> Response[Any]:
        """Sign the contract (the organisation), or record the signature (the funder)."""
        return await self._act(conn, user, contract_id, contracts.sign(conn, user, contract_id))

    @post(
        "/contracts/{contract_id:int}/milestones/{seq:int}/report",
        name="milestone_report",
        request_max_body_size=UPLOAD_CEILING,
    )
    async def report(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        user: User,
        contract_id: FromPath[int],
        seq: FromPath[int],
        data: MultipartData,
    ) -> Response[Any]:
        """The organisation reports a milestone with the files that show it, once it confirms the report is true."""
        text = str(data.get("report", ""))
        errors: dict[str, str] = {}
        form: MilestoneReport | None = None
        try:
            form = msgspec.convert({"report": text}, MilestoneReport)
        except msgspec.ValidationError:
            errors["report"] = "Describe what was delivered"
        if data.get("confirm") != "on":
            errors["confirm"] = "Confirm that the report and its files are true"
        files = tuple(Upload(name, content) for name, content in await uploads(data, "files"))
        status = 422
        if form is not None and not errors:
            limit = int(request.app.state.settings.evidence_max_bytes)
            try:
                await contracts.report_milestone(conn, user, contract_id, seq, form, files, max_bytes=limit)
            except DomainError as exc:
                if exc.status in (401, 404):
                    raise
                errors, status = dict(exc.fields) or {"report": exc.detail}, exc.status
            else:
                return PageRedirect("contract", contract_id=contract_id)
        detail = await contracts.get_contract(conn, user, contract_id)
        # The fields are per milestone on the page: the error shows beside this milestone's form.
        by_field = {f"{field}_{seq}": message for field, message in errors.items()}
        return self._detail(user, detail, by_field, None, status, values={f"report_{seq}": text})

    @post("/contracts/{contract_id:int}/milestones/{seq:int}/decision", name="milestone_decision")
    async def decide(
        self, conn: Conn, user: User, contract_id: FromPath[int], seq: FromPath[int], data: FormData
    ) -> Response[Any]:
        """The funder accepts or rejects a reported milestone, after a page that says what the decision does."""
        form = MilestoneDecision(accept=data.get("decision") == "accept", note=str(data.get("note", ""))[:20000])
        if data.get("confirmed") != "1":
            detail = await contracts.get_contract(conn, user, contract_id)
            milestone = next((m for m in detail.milestones if m.seq == seq), None)
            if milestone is None or milestone.status != "reported" or user.role != "funder":
                return PageRedirect("contract", contract_id=contract_id)
            later = [m for m in detail.milestones if m.seq > seq and m.status == "planned"]
            return confirm_page(
                "milestone_decide",
                user,
                action="milestone_decision",
                back="contract",
                params={"contract_id": contract_id, "seq": seq},
                back_params={"contract_id": contract_id},
                contract=detail.contract,
                milestone=milestone,
                form=form,
                files=[a for a in detail.attachments if a.seq == seq],
                stops=later if milestone.midterm and not form.accept else [],
            )
        return await self._act(conn, user, contract_id, contracts.decide_milestone(conn, user, contract_id, seq, form))

    @post("/contracts/{contract_id:int}/grade", name="contract_grade")
    async def grade(self, conn: Conn, user: User, contract_id: FromPath[int], data: FormData) -> Response[Any]:
        """The funder grades the ended contract."""
        try:
            form = msgspec.convert({"grade": data.get("grade")}, GradeCommand)
        except msgspec.ValidationError:
            detail = await contracts.get_contract(conn, user, contract_id)
            return self._detail(user, detail, {"grade": "Choose a performance grade"}, None, 422)
        return await self._act(conn, user, contract_id, contracts.grade(conn, user, contract_id, form))

    @get("/contracts/new", name="contract_new", guards=[roles("funder")])
    async def new_form(
        self, conn: Conn, user: User, award_id: Annotated[int, QueryParameter(ge=1, le=2**62)]
    ) -> Template:
        """The form that makes an award's contract: start date, milestones and instalments."""
        award = await contracts.ready_award(conn, user, award_id)
        return self._new(user, award, {"starts_on": today().isoformat()}, {}, 200)

    def _new(self, user: Any, award: Any, values: dict[str, Any], errors: dict[str, str], status: int) -> Template:
        return Template(
            template_name="contracts/new.html",
            context={"who": user, "award": award, "values": values, "errors": errors, "rows": range(1, FORM_ROWS + 1)},
            status_code=status,
        )

    @post("/contracts/new", name="contract_create", guards=[roles("funder")])
    async def create(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Make the contract, then show it."""
        try:
            award_id = int(str(data.get("award_id", "")))
        except ValueError:
            award_id = 0
        award = await contracts.ready_award(conn, user, award_id)
        values = {key: str(value) for key, value in data.items() if key != "_csrf_token"}
        rows, errors = milestone_rows(data)
        starts_on: dt.date | None = None
        try:
            starts_on = dt.date.fromisoformat(str(data.get("starts_on", "")).strip())
        except ValueError:
            errors["starts_on"] = "Enter a date as YYYY-MM-DD"
        if not errors:
            try:
                command = msgspec.convert(
                    {"award_id": award_id, "starts_on": starts_on, "milestones": rows}, ContractCreate, strict=False
                )
                detail = await contracts.create_contract(conn, user, command)
            except msgspec.ValidationError:
                errors["milestones"] = "Check the milestones: each needs a title, a date and an amount"
            except DomainError as exc:
                if not exc.fields:
                    raise
                errors.update(exc.fields)
            else:
                return PageRedirect("contract", contract_id=detail.contract.id)
        return self._new(user, award, values, errors, 422)

    @get("/payments", name="payments")
    async def payments(self, conn: Conn, user: User, fmt: Format = None) -> Template | Stream:
        """Instalments paid on the caller's contracts."""
        if fmt is not None:
            return download(contracts.payments_table(await contracts.list_payments(conn, user, limit=100_000)), fmt)
        rows = await contracts.list_payments(conn, user, limit=500)
        return Template(
            template_name="contracts/payments.html",
            context={"who": user, "payments": rows, "total_fen": sum(p.amount_fen for p in rows)},
        )
