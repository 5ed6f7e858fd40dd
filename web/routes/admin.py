"""The platform admin's pages: verify organisations, manage accounts, read and check the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import accounts, audit_log, directory, orgs
from api.services.accounts import StaffAccount
from api.services.errors import Invalid
from web.forms import parse_form, submit
from web.routes._common import PAGE_SIZE, FormData, Pager, PageRedirect, multi, offset_of, redisplay

DECISIONS = ("verify", "suspend", "reinstate")
Status = Annotated[str, QueryParameter(pattern=r"^(pending|verified|suspended)$")]
Page = Annotated[int, QueryParameter(ge=1, le=100_000)]
Role = Annotated[str | None, QueryParameter(pattern=r"^(admin|funder|committee|organisation|volunteer|reviewer)?$")]


class AdminPages(Controller):
    """Pages only a platform admin may open."""

    path = "/admin"
    include_in_schema = False
    # Litestar reads guards as an instance attribute, so ClassVar (which RUF012 asks for) fails mypy.
    guards = [roles("admin")]  # noqa: RUF012

    @get("/organisations", name="admin_organisations")
    async def organisations(
        self,
        conn: Conn,
        user: User,
        status: Status = "pending",
        page: Page = 1,
        done: Annotated[str | None, QueryParameter(pattern=r"^(verify|suspend|reinstate)$")] = None,
    ) -> Template:
        """Organisations by status, those waiting for verification first."""
        result = await orgs.list_orgs(
            conn, user, status=status, category=None, q=None, limit=PAGE_SIZE, offset=offset_of(page)
        )
        return Template(
            template_name="admin/organisations.html",
            context={
                "who": user,
                "status": status,
                "page": result,
                "done": done,
                "pager": Pager("admin_organisations", {"status": status}, page, result.total),
            },
        )

    @post("/organisations/{org_id:int}/decision", name="admin_organisation_decision")
    async def decide(self, conn: Conn, user: User, org_id: FromPath[int], data: FormData) -> PageRedirect:
        """Verify, suspend or reinstate one organisation, then go back to the list it was in."""
        decision = data.get("decision")
        if decision not in DECISIONS:
            raise Invalid(
                "Choose verify, suspend or reinstate", fields={"decision": "Choose verify, suspend or reinstate"}
            )
        back = data.get("status") if data.get("status") in ("pending", "verified", "suspended") else "pending"
        await orgs.decide(conn, user, org_id, decision)
        return PageRedirect("admin_organisations", query={"status": back, "done": decision})

    @get("/accounts", name="admin_accounts")
    async def accounts_page(
        self,
        conn: Conn,
        user: User,
        role: Role = None,
        page: Page = 1,
        created: Annotated[str | None, QueryParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{2,39}$")] = None,
    ) -> Template:
        """Accounts by role, and the form to create a staff account."""
        return await self._accounts(conn, user, role or None, page, created, {}, {"role": "committee"}, 200)

    @post("/accounts", name="admin_accounts_create")
    async def create_account(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Create a committee, funder, reviewer or admin account."""
        form = multi(data)

        async def create(command: StaffAccount) -> str:
            await accounts.create_staff_account(conn, user, command)
            return command.username

        return await submit(
            parse_form(StaffAccount, form, {"username": form.get("username", "").strip().lower()}),
            create,
            lambda username: PageRedirect("admin_accounts", query={"created": username}),
            lambda errors, status: self._accounts(conn, user, None, 1, None, errors, redisplay(form), status),
            refusal="__all__",
        )

    @post("/accounts/{account_id:int}/disabled", name="admin_account_disabled")
    async def set_disabled(self, conn: Conn, user: User, account_id: FromPath[int], data: FormData) -> PageRedirect:
        """Disable an account (ending its sessions) or enable it again."""
        await accounts.set_account_disabled(conn, user, account_id, data.get("disabled") == "1")
        return PageRedirect("admin_accounts")

    async def _accounts(
        self,
        conn: Conn,
        user: User,
        role: str | None,
        page: int,
        created: str | None,
        errors: dict[str, str],
        values: dict[str, Any],
        status: int,
    ) -> Template:
        rows = await accounts.list_accounts(conn, role, PAGE_SIZE, offset_of(page))
        return Template(
            template_name="admin/accounts.html",
            context={
                "who": user,
                "accounts": rows,
                "role": role or "",
                "created": created,
                "errors": errors,
                "values": values,
                "choices": await directory.staff_account_choices(conn),
                "pager": Pager("admin_accounts", {"role": role}, page, None, more=len(rows) == PAGE_SIZE),
            },
            status_code=status,
        )

    @get("/audit", name="admin_audit")
    async def audit(
        self,
        conn: Conn,
        user: User,
        page: Page = 1,
        action: Annotated[str | None, QueryParameter(pattern=r"^[a-z_.]{0,60}$")] = None,
        verify: Annotated[str | None, QueryParameter(pattern=r"^1$")] = None,
    ) -> Template:
        """The newest audit entries, and on request a check of the whole hash chain."""
        entries = await audit_log.entries(conn, user, action or None, PAGE_SIZE, offset_of(page))
        return Template(
            template_name="admin/audit.html",
            context={
                "who": user,
                "entries": entries,
                "action": action or "",
                "breaks": await audit_log.verify(conn) if verify else None,
                "pager": Pager("admin_audit", {"action": action}, page, None, more=len(entries) == PAGE_SIZE),
            },
        )
