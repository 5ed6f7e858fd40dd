"""Staff pages of a committee or an organisation: the list, invitations by a one-time link, roles and removal;
and the page where an invited person makes their account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from api.auth import Conn, User, Who, roles
from api.i18n import current_locale
from api.services import staff
from api.services.errors import DomainError, NotFound
from api.services.staff import InvitationForm, JoinForm, RoleChange
from web.forms import parse_form, submit
from web.routes._common import SAVED, FormData, PageRedirect, confirm_page, multi, redisplay
from web.routes.session import logged_in_redirect, session_start

STAFF = [roles("committee", "organisation")]


async def _staff_page(
    request: Request[Any, Any, Any],
    conn: Conn,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    new_link: str | None = None,
    status: int = 200,
) -> Template:
    listing = await staff.staff_list(conn, user)
    return Template(
        template_name="staff/list.html",
        context={
            "who": user,
            "staff": listing,
            "errors": errors or {},
            "values": values or {"role": "staff"},
            "new_link": new_link,
            "saved": request.query_params.get("saved") == "1",
            "refusal": request.query_params.get("refused"),
            "refused_member": request.query_params.get("member"),
        },
        status_code=status,
    )


class StaffPages(Controller):
    """员工管理 for a committee's or an organisation's manager."""

    include_in_schema = False

    @get("/staff", name="staff", guards=STAFF)
    async def staff_list(self, request: Request[Any, Any, Any], conn: Conn, user: User) -> Template:
        """Who works here, the invitations still open, and (for a manager) the form to invite someone."""
        return await _staff_page(request, conn, user)

    @post("/staff/invitations", name="staff_invite", guards=STAFF)
    async def invite(self, request: Request[Any, Any, Any], conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Make a one-time link and show it once, to pass on to the person invited."""
        form = multi(data)

        async def done_page(issued: staff.IssuedInvitation) -> Template:
            link = str(request.base_url).rstrip("/") + request.app.route_reverse("staff_join", token=issued.token)
            return await _staff_page(request, conn, user, new_link=link, status=201)

        async def again(errors: dict[str, str], status: int) -> Response[Any]:
            return await _staff_page(request, conn, user, errors=errors, values=redisplay(form), status=status)

        return await submit(
            parse_form(InvitationForm, form), lambda command: staff.invite(conn, user, command), done_page, again
        )

    @post("/staff/invitations/{invitation_id:int}/withdraw", name="staff_invitation_withdraw", guards=STAFF)
    async def withdraw(self, conn: Conn, user: User, invitation_id: FromPath[int]) -> PageRedirect:
        """Withdraw an invitation nobody has used yet: its link stops working."""
        await staff.withdraw_invitation(conn, user, invitation_id)
        return PageRedirect("staff", query=SAVED)

    @post("/staff/{account_id:int}/role", name="staff_role", guards=STAFF)
    async def change_role(self, conn: Conn, user: User, account_id: FromPath[int], data: FormData) -> PageRedirect:
        """Make a member a manager or staff (the last manager stays one: said at the top of the page)."""
        command, _errors = parse_form(RoleChange, multi(data))
        if command is None:
            return PageRedirect("staff", query={"refused": "role", "member": account_id})
        try:
            await staff.change_role(conn, user, account_id, command)
        except DomainError as exc:
            if exc.status != 409:
                raise
            return PageRedirect("staff", query={"refused": "last_manager", "member": account_id})
        return PageRedirect("staff", query=SAVED)

    @get("/staff/{account_id:int}/remove", name="staff_remove_ask", guards=STAFF)
    async def remove_ask(self, conn: Conn, user: User, account_id: FromPath[int]) -> Template:
        """Say what removing a member does before it is done."""
        listing = await staff.staff_list(conn, user)
        member = next((m for m in listing.members if m.account_id == account_id), None)
        if member is None or not listing.can_manage:
            raise NotFound("No such member of your staff")
        params = {"account_id": account_id}
        return confirm_page(
            "staff_remove", user, action="staff_remove", back="staff_back", params=params, member=member
        )

    @get("/staff/{account_id:int}/back", name="staff_back", guards=STAFF)
    async def back(self) -> PageRedirect:
        """The way back from the confirmation: the staff list."""
        return PageRedirect("staff")

    @post("/staff/{account_id:int}/remove", name="staff_remove", guards=STAFF)
    async def remove(self, conn: Conn, user: User, account_id: FromPath[int]) -> PageRedirect:
        """Remove a member: their account is closed and they are logged out everywhere at once."""
        try:
            await staff.remove(conn, user, account_id)
        except DomainError as exc:
            if exc.status != 409:
                raise
            return PageRedirect("staff", query={"refused": "last_manager", "member": account_id})
        if account_id == user.account_id:
            return PageRedirect("index")
        return PageRedirect("staff", query=SAVED)

    @get("/staff/join/{token:str}", name="staff_join")
    async def join(self, conn: Conn, who: Who, token: FromPath[str]) -> Template:
        """The invited person's form: their username, name and password."""
        invitation = await staff.open_invitation(conn, token)
        return Template(
            template_name="staff/join.html",
            context={"who": who, "invitation": invitation, "token": token, "errors": {}, "values": {}},
        )

    @post("/staff/join/{token:str}", name="staff_join_submit")
    async def join_submit(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        who: Who,
        token: FromPath[str],
        data: FormData,
    ) -> Response[Any]:
        """Make the account on the staff (the link then stops working) and log in."""
        form = multi(data)
        extra = {"username": form.get("username", "").strip().lower(), "locale": current_locale.get()}

        async def save(command: JoinForm) -> Any:
            return await staff.join(conn, token, command, session_start(request))

        async def again(errors: dict[str, str], status: int) -> Response[Any]:
            invitation = await staff.open_invitation(conn, token)
            return Template(
                template_name="staff/join.html",
                context={
                    "who": who,
                    "invitation": invitation,
                    "token": token,
                    "errors": errors,
                    "values": redisplay(form),
                },
                status_code=status,
            )

        return await submit(
            parse_form(JoinForm, form, extra),
            save,
            lambda result: logged_in_redirect(request, result, PageRedirect("home")),
            again,
        )
