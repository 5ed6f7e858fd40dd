"""签到 / 签退 pages: the QR code's page on the volunteer's phone, the typed code, and the publisher's attendance pages
(the QR code to show at the place, who came, manual records, confirming or rejecting hours singly or in bulk)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
import qrcode
import qrcode.image.svg
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import attendance, groups, shifts, timebank
from api.services.accounts import Identity
from api.services.attendance import CheckIn, CheckinRefused, Decision, GroupActivity, ManualAttendance
from api.services.errors import Conflict, DomainError, Invalid, NotFound
from api.services.groups import NamedHours
from web.forms import submit
from web.routes._common import FormData, PageRedirect, local_time, multi

Secret = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(in|out|recorded|confirm|reject|group)$")]
CountQuery = Annotated[int | None, QueryParameter(ge=0, le=100_000)]


def qr_svg(url: str) -> str:
    """The URL as an inline SVG QR code (no image library, no inline style: the page's CSP allows it)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg: str = image.to_string(encoding="unicode")
    return svg.replace("<svg ", '<svg class="qr" role="img" aria-hidden="true" ', 1)


async def _volunteer_page(
    conn: Conn,
    user: Identity,
    state: State,
    *,
    secret: str | None = None,
    shift_id: int | None = None,
    refusal: DomainError | None = None,
    done: str | None = None,
) -> Template:
    if secret is not None:
        page = await attendance.checkin_page(conn, user, secret)
    else:
        assert shift_id is not None
        page = await attendance.shift_page(conn, user, shift_id)
    rules = attendance.rules_of(state.settings)
    return Template(
        template_name="attendance/checkin.html",
        context={
            "who": user,
            "page": page,
            "secret": secret,
            "refusal": refusal,
            "errors": refusal.fields if refusal else {},
            "done": done,
            "window": rules.checkin_window_minutes,
            "coins": timebank.coins,
        },
        status_code=refusal.status if refusal else 200,
    )


async def _manage_page(
    conn: Conn,
    user: Identity,
    request: Request[Any, Any, Any],
    shift_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
    count: int | None = None,
) -> Template:
    view = await attendance.shift_attendance(conn, user, shift_id)
    url = str(request.base_url).rstrip("/") + request.app.route_reverse("checkin_qr", secret=view.shift.checkin_secret)
    return Template(
        template_name="attendance/manage.html",
        context={
            "who": user,
            "view": view,
            "url": url,
            "qr": qr_svg(url),
            "errors": errors or {},
            "values": values or {},
            "done": done,
            "count": count,
            # Hours of the group's people without an account are taken once the shift has begun.
            "begun": view.shift.starts_at <= dt.datetime.now(dt.UTC),
            "coins": timebank.coins,
        },
        status_code=status,
    )


async def _pending_page(
    conn: Conn, user: Identity, *, errors: dict[str, str] | None = None, status: int = 200, **extra: Any
) -> Template:
    extra = {"done": None, "count": None, "reason": "", **extra}
    items = await attendance.pending(conn, user, limit=200, offset=0)
    recent = await shifts.published(conn, user, limit=20, offset=0)
    return Template(
        template_name="attendance/pending.html",
        context={
            "who": user,
            "items": items,
            "recent": recent,
            "errors": errors or {},
            "coins": timebank.coins,
            **extra,
        },
        status_code=status,
    )


class AttendancePages(Controller):
    """Check-in at the place and the publisher's confirmation of hours."""

    include_in_schema = False

    @get("/attendance/check-in/{secret:str}", name="checkin_qr", guards=[roles("volunteer")])
    async def qr_page(
        self, conn: Conn, user: User, state: State, secret: FromPath[str], done: DoneQuery = None
    ) -> Template:
        """What the shift's QR code opens on the volunteer's phone: the 签到 or 签退 button."""
        return await _volunteer_page(conn, user, state, secret=_secret(secret), done=done)

    @post("/attendance/check-in/{secret:str}", name="checkin_qr_submit", guards=[roles("volunteer")])
    async def qr_check_in(self, conn: Conn, user: User, state: State, secret: FromPath[str]) -> Response[Any]:
        """Check in with the QR code's secret."""
        secret = _secret(secret)
        try:
            await attendance.check_in(conn, user, CheckIn(secret=secret), attendance.rules_of(state.settings))
        except (CheckinRefused, Invalid) as exc:
            return await _volunteer_page(conn, user, state, secret=secret, refusal=exc)
        return PageRedirect("checkin_qr", secret=secret, query={"done": "in"})

    @get("/attendance/shifts/{shift_id:int}", name="checkin_shift", guards=[roles("volunteer")])
    async def shift_page(
        self, conn: Conn, user: User, state: State, shift_id: FromPath[int], done: DoneQuery = None
    ) -> Template:
        """Check in by typing the code shown at the place, or check out."""
        return await _volunteer_page(conn, user, state, shift_id=shift_id, done=done)

    @post("/attendance/shifts/{shift_id:int}/check-in", name="checkin_code", guards=[roles("volunteer")])
    async def code_check_in(
        self, conn: Conn, user: User, state: State, shift_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Check in with the shift's six-digit code."""
        code = str(multi(data).get("code", "")).strip()
        rules = attendance.rules_of(state.settings)
        try:
            if len(code) != 6 or not code.isdigit():
                raise Invalid("The code is not right", fields={"code": "Enter the six-digit code shown at the place"})
            await attendance.check_in(conn, user, CheckIn(shift_id=shift_id, code=code), rules)
        except (CheckinRefused, Invalid) as exc:
            return await _volunteer_page(conn, user, state, shift_id=shift_id, refusal=exc)
        return PageRedirect("checkin_shift", shift_id=shift_id, query={"done": "in"})

    @post("/attendance/shifts/{shift_id:int}/check-out", name="checkout", guards=[roles("volunteer")])
    async def check_out(
        self, conn: Conn, user: User, state: State, shift_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Check out; back to the page the volunteer came from."""
        secret = str(multi(data).get("secret", ""))
        back = PageRedirect("checkin_qr", secret=_secret(secret), query={"done": "out"}) if secret else (
            PageRedirect("checkin_shift", shift_id=shift_id, query={"done": "out"}))  # fmt: skip
        try:
            await attendance.check_out(conn, user, shift_id, attendance.rules_of(state.settings))
        except CheckinRefused as exc:
            if secret:
                return await _volunteer_page(conn, user, state, secret=_secret(secret), refusal=exc)
            return await _volunteer_page(conn, user, state, shift_id=shift_id, refusal=exc)
        return back

    @get("/attendance", name="attendance", guards=[roles("organisation", "committee")])
    async def pending(self, conn: Conn, user: User, done: DoneQuery = None, n: CountQuery = None) -> Template:
        """Hours waiting for our decision, with checkboxes for a bulk decision; our recent shifts."""
        return await _pending_page(conn, user, done=done, count=n)

    @get(
        "/attendance/shifts/{shift_id:int}/manage",
        name="attendance_manage",
        guards=[roles("organisation", "committee")],
    )
    async def manage(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        shift_id: FromPath[int],
        done: DoneQuery = None,
        n: CountQuery = None,
    ) -> Template:
        """One of our shifts: the QR code and code to show at the place, who came, manual records and decisions."""
        return await _manage_page(conn, user, request, shift_id, done=done, count=n)

    @post(
        "/attendance/shifts/{shift_id:int}/records",
        name="attendance_record",
        guards=[roles("organisation", "committee")],
    )
    async def record(
        self,
        conn: Conn,
        user: User,
        state: State,
        request: Request[Any, Any, Any],
        shift_id: FromPath[int],
        data: FormData,
    ) -> Response[Any]:
        """Record a volunteer's check-in and check-out times by hand."""
        form = multi(data)
        values = {k: str(form.get(k, "")) for k in ("volunteer_id", "checked_in_at", "checked_out_at")}
        errors: dict[str, str] = {}
        moments: dict[str, dt.datetime] = {}
        for name in ("checked_in_at", "checked_out_at"):
            moment = local_time(values[name])
            if moment is None:
                errors[name] = "Enter a date and time"
            else:
                moments[name] = moment
        if not values["volunteer_id"].isdigit():
            errors["volunteer_id"] = "Choose a volunteer"
        command = None
        if not errors:
            command = ManualAttendance(
                volunteer_id=int(values["volunteer_id"]),
                checked_in_at=moments["checked_in_at"],
                checked_out_at=moments["checked_out_at"],
            )
        return await submit(
            (command, errors),
            lambda command: attendance.record_manual(
                conn, user, shift_id, command, attendance.rules_of(state.settings)
            ),
            lambda _row: PageRedirect("attendance_manage", shift_id=shift_id, query={"done": "recorded"}),
            lambda errors, status: _manage_page(
                conn, user, request, shift_id, errors=errors, values=values, status=status
            ),
            refusal="volunteer_id",
            refusal_statuses=(409,),
        )

    @post(
        "/attendance/shifts/{shift_id:int}/group-activity",
        name="attendance_group",
        guards=[roles("organisation", "committee")],
    )
    async def group_activity(
        self, conn: Conn, user: User, request: Request[Any, Any, Any], shift_id: FromPath[int], data: FormData
    ) -> Response[Any]:
        """Mark the shift as a group activity or not."""
        group = str(multi(data).get("group_activity", "")) == "on"
        return await submit(
            (GroupActivity(group_activity=group), {}),
            lambda command: attendance.set_group_activity(conn, user, shift_id, command),
            lambda _row: PageRedirect("attendance_manage", shift_id=shift_id, query={"done": "group"}),
            lambda errors, status: _manage_page(conn, user, request, shift_id, errors=errors, status=status),
            refusal="group_activity",
            refusal_statuses=(409,),
        )

    @post(
        "/attendance/shifts/{shift_id:int}/group-people/{member_id:int}",
        name="attendance_group_person",
        guards=[roles("organisation", "committee")],
    )
    async def group_person(
        self,
        conn: Conn,
        user: User,
        request: Request[Any, Any, Any],
        shift_id: FromPath[int],
        member_id: FromPath[int],
        data: FormData,
    ) -> Response[Any]:
        """Record how long a group's member without an account served; the error beside that person's field."""
        field = f"minutes-{member_id}"
        raw = str(multi(data).get(field, "")).strip()
        if not raw.isdigit() or int(raw) > 1500:
            errors = {field: "Give the minutes served as a whole number from 0 to 1500"}
            return await _manage_page(conn, user, request, shift_id, errors=errors, status=422)
        try:
            await groups.record_named_hours(conn, user, shift_id, member_id, NamedHours(minutes=int(raw)))
        except Conflict as exc:
            return await _manage_page(conn, user, request, shift_id, errors={field: exc.detail}, status=exc.status)
        return PageRedirect("attendance_manage", shift_id=shift_id, query={"done": "group-hours"})

    @post("/attendance/decisions", name="attendance_decide", guards=[roles("organisation", "committee")])
    async def decide(
        self, conn: Conn, user: User, state: State, request: Request[Any, Any, Any], data: FormData
    ) -> Response[Any]:
        """Confirm or reject the ticked hours (all or none), then back to the page the form was on."""
        form = multi(data)
        shift_id = str(form.get("shift_id", ""))
        ids = [int(v) for v in form.getall("attendance_ids", []) if str(v).isdigit()]
        decision = str(form.get("decision", ""))
        reason = str(form.get("reason", "")).strip() or None
        errors: dict[str, str] = {}
        if not ids:
            errors["attendance_ids"] = "Tick at least one volunteer's hours"
        if decision not in ("confirm", "reject"):
            errors["decision"] = "Choose confirm or reject"

        def done(outcome: attendance.DecisionOutcome) -> PageRedirect:
            query = {"done": decision, "n": outcome.count}
            if shift_id.isdigit():
                return PageRedirect("attendance_manage", shift_id=int(shift_id), query=query)
            return PageRedirect("attendance", query=query)

        async def again(errors: dict[str, str], status: int) -> Template:
            if shift_id.isdigit():
                values = {"reason": reason or ""}
                return await _manage_page(
                    conn, user, request, int(shift_id), errors=errors, values=values, status=status
                )
            return await _pending_page(conn, user, errors=errors, status=status, reason=reason or "")

        command = Decision(attendance_ids=ids, decision=decision, reason=reason)  # type: ignore[arg-type]
        return await submit(
            (command, errors),
            lambda command: attendance.decide(conn, user, command, attendance.rules_of(state.settings)),
            done,
            again,
            refusal="attendance_ids",
        )


def _secret(text: str) -> str:
    """The secret from the path, checked for shape (a malformed one is simply not found)."""
    try:
        return msgspec.convert(text, Secret)
    except msgspec.ValidationError:
        raise NotFound("This check-in code is not valid") from None
