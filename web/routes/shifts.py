"""Volunteer shift pages: the list with reasons, a shift with its 报名 button, my shifts, and the publish form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import READS, Conn, User, login_required, roles
from api.services import confirmations, directory, groups, handovers, household_access, households, shifts
from api.services.accounts import Identity
from api.services.maps import navigation_links
from api.services.shifts import SeriesCreate, ShiftCreate, SignupRefused
from api.services.volunteers import CERTIFICATE_KINDS
from web import maps
from web.forms import parse_form, submit
from web.routes._common import (
    PAGE_SIZE,
    FormData,
    PageRedirect,
    confirm_page,
    multi,
    offset_of,
    read_local_times,
    redisplay,
    split_list,
)

# What the shift page says after a step, from the redirect's ?done=.
DoneQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^(signed|waiting|cancelled|late_cancelled|confirmed"
        r"|handover_(open|taken|requested|withdrawn|approved|declined|approval))$"
    ),
]
PageQuery = Annotated[int, QueryParameter(ge=1, le=100_000)]
SeriesDoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(published|skipped)$")]
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
# The publish form's list fields, kept as lists when the form is shown again.
LIST_FIELDS = ("required_skills", "required_certificates", "weekdays")


async def _household_choices(conn: Conn, user: Identity, values: dict[str, Any]) -> dict[str, Any]:
    """A committee picks among its register by name (searchable); an organisation among the households its
    contracts serve, masked."""
    if user.role == "committee":
        chosen = str(values.get("household_id") or "")
        picked = [int(chosen)] if chosen.isdigit() and len(chosen) < 19 else []
        return {"picker": await households.picker(conn, user, str(values.get("hq", "")), picked), "households": []}
    return {"picker": None, "households": await shifts.households_to_serve(conn, user)}


async def _form_context(
    conn: Conn, user: Identity, errors: dict[str, str], values: dict[str, Any], state: State
) -> dict[str, Any]:
    return {
        **await _household_choices(conn, user, values),
        "place_picker": await maps.place_picker(conn, user, maps.tiles_of(state)),
        "who": user,
        "errors": errors,
        "values": values,
        "certificate_kinds": list(CERTIFICATE_KINDS),
        "skills": directory.SKILLS,
        "weekdays": WEEKDAYS,
    }


def _dates(text: str) -> list[str] | None:
    """Dates typed in one box (YYYY-MM-DD, separated by commas), or None if one is not a date."""
    found = []
    for part in split_list(text.replace(" ", ",")):
        try:
            found.append(dt.date.fromisoformat(part).isoformat())
        except ValueError:
            return None
    return found


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
            "first_visit": (
                await household_access.first_visit_people(conn, user, shift_id) if shift.household_id else []
            ),
            # A home visit's point is near the household: no map link until the address may be shown.
            "navigation": None if shift.household_id else navigation_links(shift.lat, shift.lon, shift.place_name),
            # A held place on a shift that asks for confirmation: its confirm page, while it waits for one.
            "my_place": (
                await confirmations.my_place(conn, user, shift_id)
                if view is not None and view.my_status == "active" and shift.confirm_hours_before
                else None
            ),
            # The groups this volunteer leads on the shift (团体报名), the live one first.
            "my_groups": await groups.led_on_shift(conn, user, shift_id),
            # Places handed over (转让名额): web/templates/shifts/_handover.html.
            "handovers": await handovers.on_shift(conn, user, shift_id),
        },
        status_code=refusal.status if refusal else 200,
    )


async def _take_place(conn: Conn, user: Identity, shift_id: int, step: Awaitable[Any], done: str) -> Response[Any]:
    """Take a place or join the waitlist, then the shift says so; or the shift again with the reason it refused."""
    try:
        await step
    except SignupRefused as exc:
        return await _shift_page(conn, user, shift_id, refusal=exc)
    return PageRedirect("shift", shift_id=shift_id, query={"done": done})


async def _series_page(
    conn: Conn,
    user: Identity,
    series_id: int,
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    series, items = await shifts.series_shifts(conn, user, series_id)
    return Template(
        template_name="shifts/series.html",
        context={
            "who": user,
            "series": series,
            "items": items,
            "done": done,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=422 if errors else 200,
    )


class ShiftPages(Controller):
    """服务班次: browse, sign up, my shifts; publish for organisations and committees."""

    include_in_schema = False

    @get("/shifts", name="shifts", guards=[login_required], dependencies=READS)
    async def list_shifts(
        self, conn: Conn, user: User, page: PageQuery = 1, eligible: Annotated[bool, QueryParameter()] = False
    ) -> Response[Any]:
        """Volunteers see open shifts, eligible first (or only those); publishers see the shifts they published."""
        if user.role in ("organisation", "committee"):
            return PageRedirect("published_shifts")
        items = await shifts.browse(conn, user, eligible_only=eligible, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="shifts/list.html",
            context={"who": user, "items": items, "blocking": shifts.blocking, "page": page, "eligible": eligible},
        )

    @get("/shifts/mine", name="my_shifts", guards=[roles("volunteer")])
    async def mine(self, conn: Conn, user: User, page: PageQuery = 1) -> Template:
        """The shifts I signed up for."""
        items = await shifts.my_shifts(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
        return Template(
            template_name="shifts/mine.html",
            context={"who": user, "items": items, "page": page, "now": dt.datetime.now(dt.UTC)},
        )

    @get("/shifts/published", name="published_shifts", guards=[roles("organisation", "committee")])
    async def published(self, conn: Conn, user: User, page: PageQuery = 1) -> Template:
        """The shifts our organisation or committee published."""
        items = await shifts.published(conn, user, limit=PAGE_SIZE, offset=offset_of(page))
        series = await shifts.published_series(conn, user, limit=PAGE_SIZE, offset=0) if page == 1 else []
        return Template(
            template_name="shifts/published.html",
            context={"who": user, "items": items, "series": series, "page": page},
        )

    @get("/shifts/series/{series_id:int}", name="shift_series", guards=[roles("organisation", "committee")])
    async def series(self, conn: Conn, user: User, series_id: FromPath[int], done: SeriesDoneQuery = None) -> Template:
        """A weekly shift: its rule, its skipped dates and its shifts."""
        return await _series_page(conn, user, series_id, done=done)

    @post("/shifts/series/{series_id:int}/skip", name="shift_series_skip", guards=[roles("organisation", "committee")])
    async def skip(self, conn: Conn, user: User, series_id: FromPath[int], data: FormData) -> Response[Any]:
        """Skip a date of a weekly shift, calling that day's shift off."""
        form = multi(data)
        try:
            day = dt.date.fromisoformat(form.get("date", "").strip())
        except ValueError:
            return await _series_page(
                conn, user, series_id, errors={"date": "Enter a date as YYYY-MM-DD"}, values=redisplay(form)
            )
        return await submit(
            (day, {}),
            lambda day: shifts.skip_date(conn, user, series_id, day),
            lambda _row: PageRedirect("shift_series", series_id=series_id, query={"done": "skipped"}),
            lambda errors, _status: _series_page(conn, user, series_id, errors=errors, values=redisplay(form)),
        )

    @get("/shifts/{shift_id:int}", name="shift", guards=[login_required])
    async def detail(self, conn: Conn, user: User, shift_id: FromPath[int], done: DoneQuery = None) -> Template:
        """One shift: places left, and for a volunteer the 报名 button or the reason they cannot."""
        return await _shift_page(conn, user, shift_id, done=done)

    @post("/shifts/{shift_id:int}/signup", name="shift_signup", guards=[roles("volunteer")])
    async def sign_up(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Response[Any]:
        """Take a place, or show the shift again with the reason it was refused."""
        return await _take_place(conn, user, shift_id, shifts.sign_up(conn, user, shift_id), "signed")

    @post("/shifts/{shift_id:int}/waitlist", name="shift_waitlist", guards=[roles("volunteer")])
    async def join_waitlist(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Response[Any]:
        """Wait for a place on a full shift."""
        return await _take_place(conn, user, shift_id, shifts.join_waitlist(conn, user, shift_id), "waiting")

    @get("/shifts/{shift_id:int}/cancel", name="shift_cancel_confirm", guards=[roles("volunteer")])
    async def cancel_confirm(self, conn: Conn, user: User, shift_id: FromPath[int]) -> Response[Any]:
        """Ask before cancelling, and warn when the cancellation would be recorded as late."""
        view = await shifts.view_for_volunteer(conn, user, shift_id)
        if view is None or view.my_status not in ("active", "waitlisted"):
            return PageRedirect("shift", shift_id=shift_id)
        free_until = shifts.free_cancellation_until(view.shift)
        return confirm_page(
            "shift_cancel",
            user,
            action="shift_cancel",
            back="shift",
            params={"shift_id": shift_id},
            shift=view.shift,
            waiting=view.my_status == "waitlisted",
            late=view.my_status == "active" and dt.datetime.now(dt.UTC) >= free_until,
            free_until=free_until,
        )

    @post("/shifts/{shift_id:int}/cancel", name="shift_cancel", guards=[roles("volunteer")])
    async def cancel(self, conn: Conn, user: User, shift_id: FromPath[int]) -> PageRedirect:
        """Give up my place (or leave the waitlist)."""
        outcome = await shifts.cancel(conn, user, shift_id)
        return PageRedirect("shift", shift_id=shift_id, query={"done": outcome.status})

    @get(
        "/shifts/{shift_id:int}/confirm/{volunteer_id:int}",
        name="shift_confirm_person_ask",
        guards=[roles("organisation", "committee")],
    )
    async def confirm_person_ask(
        self, conn: Conn, user: User, shift_id: FromPath[int], volunteer_id: FromPath[int]
    ) -> Response[Any]:
        """Ask before confirming a person for the first visit to the shift's household."""
        shift = await shifts.get_shift(conn, user, shift_id)
        people = await household_access.first_visit_people(conn, user, shift_id)
        person = next((p for p in people if p.volunteer_id == volunteer_id), None)
        if person is None or person.confirmed_at is not None:
            return PageRedirect("shift", shift_id=shift_id)
        return confirm_page(
            "household_first_visit",
            user,
            action="shift_confirm_person",
            back="shift",
            params={"shift_id": shift_id, "volunteer_id": volunteer_id},
            shift=shift,
            person=person,
        )

    @post(
        "/shifts/{shift_id:int}/confirm/{volunteer_id:int}",
        name="shift_confirm_person",
        guards=[roles("organisation", "committee")],
    )
    async def confirm_person(
        self, conn: Conn, user: User, shift_id: FromPath[int], volunteer_id: FromPath[int]
    ) -> PageRedirect:
        """Confirm the person for the household's first visit; the shift page says so."""
        await household_access.confirm_volunteer(
            conn, user, household_access.ConfirmVolunteer(shift_id=shift_id, volunteer_id=volunteer_id)
        )
        return PageRedirect("shift", shift_id=shift_id, query={"done": "confirmed"})

    @get("/shifts/new", name="shift_new", guards=[roles("organisation", "committee")])
    async def new_form(self, conn: Conn, user: User, state: State) -> Template:
        """The form to publish a one-off or weekly shift; its place starts at the committee's own point."""
        values: dict[str, Any] = {"headcount": "1", "min_age": "0", "cancellation_window_hours": "24"}
        context = await _form_context(conn, user, {}, values, state)
        maps.start_at_centre(values, context["place_picker"])
        return Template(template_name="shifts/new.html", context=context)

    @post("/shifts/new", name="shift_new_submit", guards=[roles("organisation", "committee")])
    async def new_submit(self, conn: Conn, user: User, data: FormData, state: State) -> Response[Any]:
        """Publish the shift and show it, or the form again with each field's error (or narrowed by the household
        picker's search, saving nothing)."""
        form = multi(data)
        if form.get("find"):
            context = await _form_context(conn, user, {}, redisplay(form, LIST_FIELDS), state)
            return Template(template_name="shifts/new.html", context=context)
        # Ticked boxes, or codes typed in one box separated by commas (both arrive as required_skills).
        skills = [code for value in form.getall("required_skills", []) for code in split_list(value)]
        extra: dict[str, Any] = {"required_skills": skills}
        if not form.get("household_id", "").strip():
            extra["household_id"] = None
        errors: dict[str, str] = {}
        repeat = form.get("repeat") == "on"
        if repeat:
            extra["until"] = form.get("until", "").strip() or None
            exceptions = _dates(form.get("exceptions", ""))
            if exceptions is None:
                errors["exceptions"] = "Enter dates as YYYY-MM-DD, separated by commas"
            else:
                extra["exceptions"] = exceptions
        read_local_times(form, ("starts_at", "ends_at"), extra, errors)

        async def again(errors: dict[str, str], status: int) -> Template:
            context = await _form_context(conn, user, errors, redisplay(form, LIST_FIELDS), state)
            return Template(template_name="shifts/new.html", context=context, status_code=status)

        if repeat:
            series, parse_errors = parse_form(SeriesCreate, form, extra)
            return await submit(
                (series, {**parse_errors, **errors}),
                lambda command: shifts.publish_series(conn, user, command),
                lambda view: PageRedirect("shift_series", series_id=view.series.id, query={"done": "published"}),
                again,
            )
        shift, parse_errors = parse_form(ShiftCreate, form, extra)
        return await submit(
            (shift, {**parse_errors, **errors}),
            lambda command: shifts.publish(conn, user, command),
            lambda row: PageRedirect("shift", shift_id=row.id),
            again,
        )
