"""Foundation calls (公益创投征集) and sealed proposals (项目申报书)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Conn, User, Who, login_required, roles
from api.routes.paging import Limit, Offset
from api.schemas.common import out
from api.schemas.tendering import CallOut, CallPageOut, ProposalOut, ProposalsOpenedOut
from api.services import calls
from api.services.calls import CallCommand, ProposalCommand, ProposalTerms

StatusQuery = Annotated[str | None, QueryParameter(pattern=r"^(open|review|awarding|awarded|closed|cancelled)$")]


def proposal_out(row: calls.ProposalRow) -> ProposalOut:
    """A proposal as the API shows it (its public id as `id`)."""
    data = msgspec.structs.asdict(row)
    data["id"] = data.pop("public_id")
    return msgspec.convert(data, ProposalOut)


class CallController(Controller):
    """Calls for proposals: community foundations open them; organisations propose."""

    path = "/api/calls"
    tags = ("calls",)

    @get("/", operation_id="listCalls", guards=[login_required])
    async def list_calls(
        self,
        conn: Conn,
        who: Who,
        status: StatusQuery = None,
        mine: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> CallPageOut:
        """Calls by status; `mine` for a foundation's own."""
        page = await calls.list_calls(conn, who, status=status, mine=mine, limit=limit, offset=offset)
        return out(page, CallPageOut)

    @get("/{call_id:int}", operation_id="getCall", guards=[login_required])
    async def get_call(self, conn: Conn, who: Who, call_id: FromPath[int]) -> CallOut:
        """One call with its pools and quotas."""
        return out(await calls.get_call(conn, who, call_id), CallOut)

    @post("/", operation_id="openCall", guards=[roles("funder")], status_code=201)
    async def open_call(self, conn: Conn, user: User, data: JSONBody[CallCommand]) -> CallOut:
        """A community foundation opens a call."""
        return out(await calls.open_call(conn, user, data), CallOut)

    @get("/{call_id:int}/proposals", operation_id="listOpenedProposals", guards=[roles("funder")])
    async def opened(self, conn: Conn, user: User, call_id: FromPath[int]) -> list[ProposalOut]:
        """The foundation's call's proposals, after the deadline only (409 before it)."""
        return [proposal_out(p) for p in await calls.opened_proposals_for_funder(conn, user, call_id)]

    @post("/{call_id:int}/open-proposals", operation_id="openProposals", guards=[roles("funder")], status_code=200)
    async def open_proposals(self, conn: Conn, user: User, call_id: FromPath[int]) -> ProposalsOpenedOut:
        """Open the proposals at or after the deadline (idempotent)."""
        await calls.own_call(conn, user, call_id)
        return out(await calls.open_proposals(conn, call_id), ProposalsOpenedOut)


class ProposalController(Controller):
    """Sealed proposals: only the proposer reads one before the deadline."""

    path = "/api/proposals"
    tags = ("calls",)

    @get("/", operation_id="listMyProposals", guards=[roles("organisation")])
    async def mine(self, conn: Conn, user: User) -> list[ProposalOut]:
        """The caller's organisation's own proposals."""
        return [proposal_out(p) for p in await calls.my_proposals(conn, user)]

    @post("/", operation_id="submitProposal", guards=[roles("organisation")], status_code=201)
    async def submit(self, conn: Conn, user: User, data: JSONBody[ProposalCommand]) -> ProposalOut:
        """Submit a sealed proposal; the answer carries the receipt."""
        return proposal_out(await calls.submit_proposal(conn, user, data))

    @get("/{proposal_id:uuid}", operation_id="getProposal", guards=[login_required])
    async def get_proposal(self, conn: Conn, user: User, proposal_id: FromPath[uuid.UUID]) -> ProposalOut:
        """A proposal: for its proposer, or the foundation after the deadline; 404 for anyone else."""
        return proposal_out(await calls.get_proposal(conn, user, proposal_id))

    @put("/{proposal_id:uuid}", operation_id="reviseProposal", guards=[roles("organisation")])
    async def revise(
        self, conn: Conn, user: User, proposal_id: FromPath[uuid.UUID], data: JSONBody[ProposalTerms]
    ) -> ProposalOut:
        """Revise the caller's own proposal before the deadline."""
        return proposal_out(await calls.revise_proposal(conn, user, proposal_id, data))

    @post("/{proposal_id:uuid}/withdraw", operation_id="withdrawProposal", guards=[roles("organisation")],
          status_code=200)  # fmt: skip
    async def withdraw(self, conn: Conn, user: User, proposal_id: FromPath[uuid.UUID]) -> ProposalOut:
        """Withdraw the caller's own proposal before the deadline."""
        return proposal_out(await calls.withdraw_proposal(conn, user, proposal_id))
