"""Group sign-up pages: the 团体报名 form of a shift (members in rows, each row's errors beside it), the leader's view
of the group with its cancel buttons, and the page that asks before the whole group is cancelled."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import groups, shifts
from api.services.accounts import Identity
from api.services.errors import DomainError
from api.services.groups import MAX_MEMBERS, GroupMemberIn, GroupSignupForm
from web.routes._common import FormData, PageRedirect, confirm_page

# Rows the form shows at first; "add a row" brings one more (up to the group's maximum).
FIRST_ROWS = 3
ROW_FIELDS = ("account", "name", "birth_year", "guardian_consent")
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(signed|member_cancelled|cancelled)$")]


def _rows(form: dict[str, Any]) -> int:
    raw = str(form.get("rows", FIRST_ROWS))
    count = int(raw) if raw.isdigit() and len(raw) < 4 else FIRST_ROWS
    return max(1, min(MAX_MEMBERS, count))


def _read(
    form: dict[str, Any], rows: int, starts_at: dt.datetime
) -> tuple[GroupSignupForm | None, dict[str, str], list[int]]:
    """The command from the rows people filled in, the errors the page finds, and which row each member came from."""
    errors: dict[str, str] = {}
    members: list[GroupMemberIn] = []
    origin: list[int] = []
    for row in range(rows):
        account = str(form.get(f"m{row}_account", "")).strip()
        name = str(form.get(f"m{row}_name", "")).strip()
        year = str(form.get(f"m{row}_birth_year", "")).strip()
        consent = form.get(f"m{row}_guardian_consent") == "on"
        if not (account or name or year):
            continue
        if account and (name or year):
            errors[f"m{row}_account"] = "Give either an account or a name and birth year, not both"
            continue
        if len(account) > 80 or len(name) > 60:
            errors[f"m{row}_{'account' if account else 'name'}"] = "This is too long"
            continue
        if not account and not (year.isdigit() and len(year) == 4):
            errors[f"m{row}_birth_year"] = groups.MEMBER_REASONS["birth_year"]
            continue
        member = (
            GroupMemberIn(account=account)
            if account
            else GroupMemberIn(name=name or None, birth_year=int(year), guardian_consent=consent)
        )
        # The same checks the use case makes of a person, so that every row's mistakes show at once.
        if not account and (wrong := groups.person_errors(0, member, starts_at)):
            errors |= {f"m{row}_{key.partition('.')[2]}": message for key, message in wrong.items()}
            continue
        members.append(member)
        origin.append(row)
    name = str(form.get("name", "")).strip()
    if not name or len(name) > 200:
        errors["name"] = "Give the group a name, such as a family's, a class's or a company's"
    if not members and not errors:
        errors["m0_account"] = "Add at least one member beside you"
    if errors:
        return None, errors, origin
    return GroupSignupForm(name=name, members=members), {}, origin


def _page_fields(fields: dict[str, str], origin: list[int]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """A refusal's `members[i].<what>` as the page's fields: a form field's error, or the row's reasons listed."""
    errors: dict[str, str] = {}
    reasons: dict[str, list[str]] = {}
    for key, message in fields.items():
        who, _, what = key.partition(".")
        if who.startswith("members[") and who[8:-1].isdigit() and int(who[8:-1]) < len(origin):
            row = f"m{origin[int(who[8:-1])]}"
            if what in ROW_FIELDS:
                errors[f"{row}_{what}"] = message
            else:
                reasons.setdefault(row, []).append(message)
        else:
            reasons.setdefault(who, []).append(message)
    return errors, reasons


async def _form_page(
    conn: Conn,
    user: Identity,
    shift_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    reasons: dict[str, list[str]] | None = None,
    refusal: DomainError | None = None,
    rows: int = FIRST_ROWS,
    status: int = 200,
) -> Template:
    shift = await shifts.get_shift(conn, user, shift_id)
    return Template(
        template_name="groups/new.html",
        context={
            "who": user,
            "shift": shift,
            "rows": rows,
            "max_rows": MAX_MEMBERS,
            "values": values or {},
            "errors": errors or {},
            "reasons": reasons or {},
            "refusal": refusal,
            "led": await groups.led_on_shift(conn, user, shift_id),
        },
        status_code=status,
    )


class GroupPages(Controller):
    """团体报名: a leader signs up a group for a shift, sees it, and cancels it or one member."""

    include_in_schema = False
    guards = [roles("volunteer")]  # noqa: RUF012 - Litestar reads it as an instance attribute

    @get("/shifts/{shift_id:int}/group", name="group_new")
    async def new_form(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Template:
        """The group sign-up form of a shift: the group's name, then one row per member."""
        return await _form_page(conn, user, shift_id)

    @post("/shifts/{shift_id:int}/group", name="group_new_submit")
    async def submit(self, conn: Conn, user: User, shift_id: FromPath[int], data: FormData) -> Response[Any]:
        """Sign the group up, or show the form again with each member's error beside their row."""
        rows = _rows(data)
        values = {k: v for k, v in data.items() if k != "_csrf_token"}
        if "add_row" in data:
            return await _form_page(conn, user, shift_id, values=values, rows=min(MAX_MEMBERS, rows + 1))
        command, errors, origin = _read(data, rows, (await shifts.get_shift(conn, user, shift_id)).starts_at)
        if command is None:
            return await _form_page(conn, user, shift_id, values=values, errors=errors, rows=rows, status=422)
        try:
            view = await groups.sign_up_group(conn, user, shift_id, command)
        except DomainError as exc:
            fields, reasons = _page_fields(exc.fields, origin)
            return await _form_page(
                conn,
                user,
                shift_id,
                values=values,
                errors=fields,
                reasons=reasons,
                refusal=exc,
                rows=rows,
                status=exc.status,
            )
        return PageRedirect("group", group_id=view.group.id, query={"done": "signed"})

    @get("/groups/{group_id:int}", name="group")
    async def detail(self, conn: Conn, user: User, group_id: FromPath[int], done: DoneQuery = None) -> Template:
        """The leader's view of the group: who holds a place, with a button to cancel each or all."""
        view = await groups.view_group(conn, user, group_id)
        return Template(template_name="groups/detail.html", context={"who": user, "view": view, "done": done})

    @get("/groups/{group_id:int}/cancel", name="group_cancel_confirm")
    async def cancel_confirm(self, conn: Conn, user: User, group_id: FromPath[int]) -> Response[Any]:
        """Ask before the whole group gives up its places, and warn when that is late."""
        view = await groups.view_group(conn, user, group_id)
        if view.group.status != "active":
            return PageRedirect("group", group_id=group_id)
        free_until = shifts.free_cancellation_until(view.shift)
        return confirm_page(
            "group_cancel",
            user,
            action="group_cancel",
            back="group",
            params={"group_id": group_id},
            view=view,
            places=sum(1 for m in view.members if m.status == "active"),
            late=dt.datetime.now(dt.UTC) >= free_until,
            free_until=free_until,
        )

    @post("/groups/{group_id:int}/cancel", name="group_cancel")
    async def cancel(self, conn: Conn, user: User, group_id: FromPath[int]) -> PageRedirect:
        """Give up every place of the group."""
        await groups.cancel_group(conn, user, group_id)
        return PageRedirect("group", group_id=group_id, query={"done": "cancelled"})

    @post("/groups/{group_id:int}/members/{member_id:int}/cancel", name="group_member_cancel")
    async def cancel_member(
        self, conn: Conn, user: User, group_id: FromPath[int], member_id: FromPath[int]
    ) -> PageRedirect:
        """Give up one member's place."""
        await groups.cancel_member(conn, user, group_id, member_id)
        return PageRedirect("group", group_id=group_id, query={"done": "member_cancelled"})
