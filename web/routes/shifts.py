"""Volunteer shift pages: the list with reasons, a shift with its 报名 button, my shifts, and the publish form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from api.auth import Conn, User, login_required, roles
from api.services import shifts
from api.services.accounts import Identity
from api.services.errors import DomainError
from api.services.shifts import ShiftCreate, SignupRefused
from api.services.types import SHANGHAI
from web.forms import parse_form
from web.routes._common import PAGE_SIZE, FormData, multi, offset_of, redisplay, split_list

# What the shift page says after a step, from the redirect's ?done=.
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(signed|waiting|cancelled|late_cancelled)$")]
PageQuery = Annotated[int, QueryParameter(ge=1, le=100_000)]


def _local(text: str) -> str | None:
    """A date and time typed on the page (a datetime-local box) as an ISO time in Shanghai, or None."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value).isoformat()


async def _shift_page(
    conn: Conn, user: Identity, shift_id: int, *, refusal: SignupRefused | None = None, done: str | None = None
) -> Template:
    view = await shifts.view_for_volunteer(conn, user, shift_id)
    shift = view.shift if view is not None else await shifts.get_shift(conn, user, shift_id)
    return Template(
        template_name="shifts/detail.html",
        context={
            "who": user,
            "shift": shift,
            "view": view,
            "blocking": shifts.blocking(view.reasons) if view else [],
            "refusal": refusal,
            "done": done,
        },
        status_code=refusal.status if refusal else 200,
    )


class ShiftPages(Controller):
    """服务班次: browse, sign up, my shifts; publish for organisations and committees."""

    include_in_schema = False

    @get("/shifts", name="shifts", guards=[login_required])
    async def list_shifts(self, conn: Conn, user: User, page: PageQuery = 1) -> Response[Any]:
        """Volunteers see open shifts, eligible first; publishers see the shifts they published."""
        if user.role in ("organisation", "committee"):
            return Redirect(path="/shifts/published")
        items = await shifts.browse(conn, user, eligible_only=False, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="shifts/list.html",
            context={"who": user, "items": items, "blocking": shifts.blocking, "page": page},
        )

    @get("/shifts/mine", name="my_shifts", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User, page: PageQuery = 1) -> Template:
        """The shifts I signed up for."""
        items = await shifts.my_shifts(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(template_name="shifts/mine.html", context={"who": user, "items": items, "page": page})

    @get("/shifts/published", name="published_shifts", guards=[roles("organisation", "committee")])
    async def published(self, conn: Conn, user: User, page: PageQuery = 1) -> Template:
        """The shifts our organisation or committee published."""
        items = await shifts.published(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(template_name="shifts/published.html", context={"who": user, "items": items, "page": page})

    @get("/shifts/{shift_id:int}", name="shift", guards=[login_required])
    async def detail(self, conn: Conn, user: User, shift_id: FromPath[int], done: DoneQuery = None) -> Template:
        """One shift: places left, and for a volunteer the 报名 button or the reason they cannot."""
        return await _shift_page(conn, user, shift_id, done=done)

    @post("/shifts/{shift_id:int}/signup", name="shift_signup", guards=[roles("volunteer")])
    async def sign_up(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Response[Any]:
        """Take a place, or show the shift again with the reason it was refused."""
        try:
            await shifts.sign_up(conn, user, shift_id)
        except SignupRefused as exc:
            return await _shift_page(conn, user, shift_id, refusal=exc)
        return Redirect(path=f"/shifts/{shift_id}?done=signed")

    @post("/shifts/{shift_id:int}/waitlist", name="shift_waitlist", guards=[roles("volunteer")])
    async def join_waitlist(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Response[Any]:
        """Wait for a place on a full shift."""
        try:
            await shifts.join_waitlist(conn, user, shift_id)
        except SignupRefused as exc:
            return await _shift_page(conn, user, shift_id, refusal=exc)
        return Redirect(path=f"/shifts/{shift_id}?done=waiting")

    @post("/shifts/{shift_id:int}/cancel", name="shift_cancel", guards=[roles("volunteer")])
    async def cancel(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Redirect:
        """Give up my place (or leave the waitlist)."""
        outcome = await shifts.cancel(conn, user, shift_id)
        return Redirect(path=f"/shifts/{shift_id}?done={outcome.status}")

    @get("/shifts/new", name="shift_new", guards=[roles("organisation", "committee")])
    async def new_form(self, user: User) -> Template:
        """The form to publish a one-off shift."""
        values = {"headcount": "1", "min_age": "0", "cancellation_window_hours": "24"}
        return Template(template_name="shifts/new.html", context={"who": user, "errors": {}, "values": values})

    @post("/shifts/new", name="shift_new_submit", guards=[roles("organisation", "committee")])
    async def new_submit(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Publish the shift and show it, or the form again with each field's error."""
        form = multi(data)
        extra: dict[str, Any] = {"required_skills": split_list(form.get("required_skills", ""))}
        errors: dict[str, str] = {}
        for name in ("starts_at", "ends_at"):
            raw = form.get(name, "")
            if raw.strip():
                moment = _local(raw)
                if moment is None:
                    errors[name] = "Enter a date and time"
                else:
                    extra[name] = moment
        command, parse_errors = parse_form(ShiftCreate, form, extra)
        errors = {**parse_errors, **errors}
        status = 422
        if command is not None and not errors:
            try:
                shift = await shifts.publish(conn, user, command)
            except DomainError as exc:
                if not exc.fields:
                    raise
                errors, status = exc.fields, exc.status
            else:
                return Redirect(path=f"/shifts/{shift.id}")
        values = redisplay(form)
        return Template(
            template_name="shifts/new.html",
            context={"who": user, "errors": errors, "values": values},
            status_code=status,
        )
