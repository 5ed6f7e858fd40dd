"""Contracts, milestones, payments and performance grades (合同, 阶段节点, 分期拨付, 绩效评估等级)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from api.auth import Conn, User, Who, roles
from api.routes.downloads import FormatParam, file_response, locale_of
from api.routes.paging import Offset
from api.schemas.common import out, outs
from api.schemas.contracts import (
    ContractDetailOut,
    ContractPageOut,
    GradeOut,
    PaymentOut,
    PerformanceOut,
    VisitPerformanceOut,
)
from api.services import contracts, orgs, visit_notes
from api.services.contracts import (
    AttachmentFile,
    ContractCreate,
    GradeCommand,
    MilestoneDecision,
    MilestoneReport,
    Upload,
)
from api.services.exports import content_disposition
from api.services.verification import UPLOAD_CEILING

PARTIES = roles("funder", "organisation", "admin")
# A download holds the whole list, not the page the JSON would give.
EXPORT_LIMIT = 100_000


def attachment_response(file: AttachmentFile) -> Response[bytes]:
    """A milestone's file as a download, under the name it was sent with."""
    return Response(
        content=file.content,
        media_type=file.content_type,
        headers={
            "cache-control": "private, no-store",
            "content-disposition": content_disposition(file.filename),
            "x-content-type-options": "nosniff",
        },
    )


class ContractController(Controller):
    """Contracts made from awards after their notice period."""

    path = "/api/contracts"
    tags = ("contracts",)

    @get("/", operation_id="listContracts", guards=[PARTIES])
    async def list_contracts(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        fmt: FormatParam = None,
        status: Annotated[str | None, QueryParameter(pattern=r"^(unsigned|active|stopped|completed)$")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
        offset: Offset = 0,
    ) -> ContractPageOut | Stream:
        """The caller's contracts (an admin sees all); `?format=csv|xlsx` downloads all of them, not one page."""
        if fmt is not None:
            locale = locale_of(request)
            everything = await contracts.list_contracts(conn, user, status=status, limit=EXPORT_LIMIT, offset=0)
            return file_response(contracts.contracts_table(everything.items, locale), fmt, locale)
        page = await contracts.list_contracts(conn, user, status=status, limit=limit, offset=offset)
        return out(page, ContractPageOut)

    @post("/", operation_id="createContract", guards=[roles("funder")], status_code=201)
    async def create(self, conn: Conn, user: User, data: JSONBody[ContractCreate]) -> ContractDetailOut:
        """After the notice period the funder makes the award's contract with its milestones and instalments."""
        return out(await contracts.create_contract(conn, user, data), ContractDetailOut)

    @get("/{contract_id:int}", operation_id="getContract", guards=[PARTIES])
    async def get_contract(self, conn: Conn, user: User, contract_id: FromPath[int]) -> ContractDetailOut:
        """One contract with its milestones."""
        return out(await contracts.get_contract(conn, user, contract_id), ContractDetailOut)

    @get("/{contract_id:int}/milestones", operation_id="listMilestones", guards=[PARTIES])
    async def milestones(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        contract_id: FromPath[int],
        fmt: FormatParam = None,
    ) -> ContractDetailOut | Stream:
        """A contract's milestones; `?format=csv|xlsx` downloads them."""
        detail = await contracts.get_contract(conn, user, contract_id)
        if fmt is not None:
            locale = locale_of(request)
            return file_response(contracts.milestones_table(contract_id, detail.milestones, locale), fmt, locale)
        return out(detail, ContractDetailOut)

    @post(
        "/{contract_id:int}/sign",
        operation_id="signContract",
        guards=[roles("funder", "organisation")],
        status_code=200,
    )
    async def sign(self, conn: Conn, user: User, contract_id: FromPath[int]) -> ContractDetailOut:
        """The organisation signs (or the funder records its signature): the contract becomes active."""
        return out(await contracts.sign(conn, user, contract_id), ContractDetailOut)

    @post(
        "/{contract_id:int}/milestones/{seq:int}/report",
        operation_id="reportMilestone",
        guards=[roles("organisation")],
        status_code=200,
    )
    async def report(
        self, conn: Conn, user: User, contract_id: FromPath[int], seq: FromPath[int], data: JSONBody[MilestoneReport]
    ) -> ContractDetailOut:
        """The organisation reports a milestone."""
        return out(await contracts.report_milestone(conn, user, contract_id, seq, data), ContractDetailOut)

    @post(
        "/{contract_id:int}/milestones/{seq:int}/attachments",
        operation_id="attachToMilestone",
        guards=[roles("organisation")],
        status_code=201,
        request_max_body_size=UPLOAD_CEILING,
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        user: User,
        contract_id: FromPath[int],
        seq: FromPath[int],
        filename: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    ) -> ContractDetailOut:
        """Add a file (JPEG, PNG or PDF, sent as the raw request body) to a milestone still to report; at most
        five per milestone, frozen once the milestone is reported."""
        upload = Upload(filename=filename, content=await request.body())
        limit = int(request.app.state.settings.evidence_max_bytes)
        return out(await contracts.attach(conn, user, contract_id, seq, upload, max_bytes=limit), ContractDetailOut)

    @get(
        "/{contract_id:int}/milestones/{seq:int}/attachments/{attachment_id:int}",
        operation_id="getMilestoneAttachment",
        name="milestone_attachment",
        guards=[PARTIES],
        media_type="application/octet-stream",
    )
    async def attachment(
        self, conn: Conn, user: User, contract_id: FromPath[int], seq: FromPath[int], attachment_id: FromPath[int]
    ) -> Response[bytes]:
        """One file of a milestone's report, for the contract's parties."""
        return attachment_response(await contracts.attachment(conn, user, contract_id, seq, attachment_id))

    @post(
        "/{contract_id:int}/milestones/{seq:int}/decision",
        operation_id="decideMilestone",
        guards=[roles("funder")],
        status_code=200,
    )
    async def decide(
        self, conn: Conn, user: User, contract_id: FromPath[int], seq: FromPath[int], data: JSONBody[MilestoneDecision]
    ) -> ContractDetailOut:
        """The funder accepts a reported milestone (its instalment is paid) or rejects it."""
        return out(await contracts.decide_milestone(conn, user, contract_id, seq, data), ContractDetailOut)

    @post("/{contract_id:int}/grade", operation_id="gradeContract", guards=[roles("funder")], status_code=200)
    async def grade(
        self, conn: Conn, user: User, contract_id: FromPath[int], data: JSONBody[GradeCommand]
    ) -> ContractDetailOut:
        """The funder gives the ended contract its performance grade."""
        return out(await contracts.grade(conn, user, contract_id, data), ContractDetailOut)


class PaymentController(Controller):
    """Instalments paid against accepted milestones."""

    path = "/api/payments"
    tags = ("contracts",)

    @get("/", operation_id="listPayments", guards=[PARTIES])
    async def list_payments(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        fmt: FormatParam = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 100,
    ) -> list[PaymentOut] | Stream:
        """Payments on the caller's contracts, newest first; `?format=csv|xlsx` downloads all of them."""
        if fmt is not None:
            everything = await contracts.list_payments(conn, user, limit=EXPORT_LIMIT)
            return file_response(contracts.payments_table(everything), fmt, locale_of(request))
        rows = await contracts.list_payments(conn, user, limit=limit)
        return outs(rows, PaymentOut)


class PerformanceController(Controller):
    """Organisations' performance grades, public like their profiles."""

    path = "/api/organisations/{org_id:int}/performance"
    tags = ("organisations",)

    @get("/", operation_id="getOrganisationPerformance")
    async def performance(self, conn: Conn, who: Who, org_id: FromPath[int]) -> PerformanceOut:
        """An organisation's performance grades and any bar an 'unqualified' grade puts on it."""
        org = await orgs.get_org(conn, who, org_id)
        return PerformanceOut(
            organisation_id=org.id,
            grades=outs(await contracts.organisation_grades(conn, org.id), GradeOut),
            barred_until=await contracts.barred_until(conn, org.id),
            visits=out(await visit_notes.organisation_figures(conn, org.id), VisitPerformanceOut),
        )
