"""志愿者资料 pages: my profile, its edit form, certificates, weekly availability and exceptions, consent, the
calendar feed's secret address; and the feed itself, read by calendar apps without a session."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, roles
from api.services import directory, service_records, verification, volunteers
from api.services.accounts import Identity
from api.services.errors import DomainError
from api.services.verification import UPLOAD_CEILING, IssuerNumber
from api.services.volunteers import (
    CERTIFICATE_KINDS,
    AvailabilityUpdate,
    CertificateUpdate,
    ConsentUpdate,
    ExceptionCreate,
    Profile,
    ProfileUpdate,
    Window,
)
from web.forms import parse_form, submit
from web.routes._common import (
    FormData,
    MultipartData,
    PageRedirect,
    multi,
    read_local_times,
    redisplay,
    split_list,
    uploads,
)

# What the profile page says after a step, from the redirect's ?done=.
DoneQuery = Annotated[
    str | None, QueryParameter(pattern=r"^(saved|consent|certificate|availability|exception|calendar|evidence)$")
]
# A form with a file: the scan or photo of a claim's evidence (the CSRF token travels in the same form).
# Two windows a day fit most people's week (a morning and an evening); the API takes any number.
SLOTS_PER_DAY = 2
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


def _profile_values(p: Profile) -> dict[str, Any]:
    v = p.volunteer
    return {
        "display_name": v.display_name,
        "phone": v.phone,
        "home_area_id": str(v.home_area_id),
        "birth_year": str(v.birth_year),
        "birth_date": v.birth_date.isoformat() if v.birth_date else "",
        "travel_km": f"{v.travel_km:g}",
        "weekly_hour_cap": str(v.weekly_hour_cap),
        "skills": v.skills,
        "languages": "、".join(v.languages),
        "dialects": "、".join(v.dialects),
        "insured_until": v.insured_until.isoformat() if v.insured_until else "",
        "guardian_consent": "on" if v.guardian_consent else "",
        "guardian_name": v.guardian_name or "",
    }


def _window_values(p: Profile) -> dict[str, str]:
    values: dict[str, str] = {}
    used: dict[int, int] = {}
    for w in p.windows:
        slot = used.get(w.weekday, 0)
        used[w.weekday] = slot + 1
        if slot < SLOTS_PER_DAY:
            values[f"w{w.weekday}_{slot}_starts"] = w.starts.strftime("%H:%M")
            values[f"w{w.weekday}_{slot}_ends"] = w.ends.strftime("%H:%M")
    return values


def _profile_done(step: str) -> PageRedirect:
    """Back to my profile, which says the step was done."""
    return PageRedirect("volunteer_profile", query={"done": step})


async def details_form(
    template_name: str,
    conn: Conn,
    who: Identity | None,
    errors: dict[str, str],
    values: dict[str, Any],
    status: int,
) -> Template:
    """A form of a volunteer's details (registering, or editing them later): committees to live in, skills."""
    return Template(
        template_name=template_name,
        context={
            "who": who,
            "errors": errors,
            "values": values,
            "groups": await directory.committee_groups(conn),
            "skills": directory.SKILLS,
        },
        status_code=status,
    )


class VolunteerPages(Controller):
    """My volunteer profile (志愿者资料) and the calendar feed of my shifts."""

    include_in_schema = False

    async def _render(self, request: Request[Any, Any, Any], conn: Conn, user: Identity, **kw: Any) -> Template:
        p = await volunteers.profile(conn, user)
        token = await volunteers.calendar_token(conn, user, request.app.state.settings.secret_key)
        section = kw.get("section")
        values = kw.get("values") or {}
        return Template(
            template_name="volunteers/profile.html",
            context={
                "who": user,
                "p": p,
                "done": kw.get("done"),
                "errors": kw.get("errors") or {},
                "section": section,
                "values": values,
                "windows": values if section == "availability" else _window_values(p),
                "weekdays": WEEKDAYS,
                "slots": range(SLOTS_PER_DAY),
                "kinds": list(CERTIFICATE_KINDS),
                "claims": await verification.my_claims(conn, user),
                "level": await service_records.my_star_level(conn, user, request.app.state.star_hours),
                "max_mb": request.app.state.settings.evidence_max_bytes / (1024 * 1024),
                "feed_url": str(request.base_url).rstrip("/") + volunteers.feed_path(token),
            },
            status_code=kw.get("status", 200),
        )

    @get("/volunteer/profile", name="volunteer_profile", guards=[roles("volunteer")])
    async def show(self, request: Request[Any, Any, Any], conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """My profile: details, certificates, availability, consent and my calendar's address."""
        return await self._render(request, conn, user, done=done)

    @get("/volunteer/profile/edit", name="volunteer_profile_edit", guards=[roles("volunteer")])
    async def edit_form(self, conn: Conn, user: User) -> Template:
        """The form to edit my details."""
        p = await volunteers.profile(conn, user)
        return await details_form("volunteers/edit.html", conn, user, {}, _profile_values(p), 200)

    @post("/volunteer/profile/edit", name="volunteer_profile_save", guards=[roles("volunteer")])
    async def edit_submit(self, conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Save my details, or show the form again with each field's error."""
        form = multi(data)
        extra: dict[str, Any] = {
            "languages": split_list(form.get("languages", "")),
            "dialects": split_list(form.get("dialects", "")),
        }
        for name in ("birth_date", "insured_until"):
            if not form.get(name, "").strip():
                extra[name] = None
        return await submit(
            parse_form(ProfileUpdate, form, extra),
            lambda command: volunteers.update_profile(conn, user, command),
            lambda _row: _profile_done("saved"),
            lambda errors, status: details_form(
                "volunteers/edit.html", conn, user, errors, redisplay(form, ("skills",)), status
            ),
        )

    @post("/volunteer/profile/consent", name="volunteer_consent", guards=[roles("volunteer")])
    async def consent(self, conn: Conn, user: User, data: FormData) -> PageRedirect:
        """Give or withdraw consent to process sensitive data."""
        form = multi(data)
        await volunteers.set_consent(conn, user, ConsentUpdate(sensitive_data=form.get("sensitive_data") == "on"))
        return _profile_done("consent")

    @post("/volunteer/profile/certificates", name="volunteer_certificate", guards=[roles("volunteer")])
    async def certificate(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, data: FormData
    ) -> Response[Any]:
        """Record or renew a certificate."""
        form = multi(data)
        extra = {n: None for n in ("issued_on", "expires_on") if not form.get(n, "").strip()}
        return await submit(
            parse_form(CertificateUpdate, form, extra),
            lambda command: volunteers.put_certificate(conn, user, form.get("kind", ""), command),
            lambda _row: _profile_done("certificate"),
            lambda errors, status: self._render(
                request, conn, user, errors=errors, section="certificates", values=redisplay(form), status=status
            ),
        )

    @post(
        "/volunteer/profile/certificates/{kind:str}/delete",
        name="volunteer_certificate_delete",
        guards=[roles("volunteer")],
    )
    async def certificate_delete(self, conn: Conn, user: User, kind: FromPath[str]) -> PageRedirect:
        """Remove a certificate."""
        await volunteers.remove_certificate(conn, user, kind)
        return _profile_done("certificate")

    @post(
        "/volunteer/profile/claims/{claim:str}/evidence",
        name="volunteer_evidence",
        guards=[roles("volunteer")],
        request_max_body_size=UPLOAD_CEILING,
    )
    async def evidence(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, claim: FromPath[str], data: MultipartData
    ) -> Response[Any]:
        """Add evidence for one of my claims: a scan or photo, or else the issuer's number."""
        content = next((body for _, body in await uploads(data, "file")), b"")
        number = str(data.get("number") or "").strip()
        errors: dict[str, str] = {}
        status = 422
        try:
            if content or not number:
                limit = int(request.app.state.settings.evidence_max_bytes)
                await verification.upload_evidence(conn, user, claim, content, limit)
            else:
                form, errors = parse_form(IssuerNumber, {"number": number})
                if form is not None:
                    await verification.submit_issuer_number(conn, user, claim, form)
        except DomainError as exc:
            if not exc.fields:
                raise
            errors, status = dict(exc.fields), exc.status
        if not errors:
            return _profile_done("evidence")
        return await self._render(
            request, conn, user, errors=errors, section=f"claim-{claim}", values={"number": number}, status=status
        )

    @post("/volunteer/profile/availability", name="volunteer_availability", guards=[roles("volunteer")])
    async def availability(
        self, request: Request[Any, Any, Any], conn: Conn, user: User, data: FormData
    ) -> Response[Any]:
        """Replace my weekly windows from the week grid (a row left empty is no window)."""
        form = multi(data)
        errors: dict[str, str] = {}
        windows: list[Window] = []
        positions: list[str] = []
        for day in WEEKDAYS:
            for slot in range(SLOTS_PER_DAY):
                key = f"w{day}_{slot}"
                starts, ends = form.get(f"{key}_starts", "").strip(), form.get(f"{key}_ends", "").strip()
                if not starts and not ends:
                    continue
                if not starts or not ends:
                    errors[key] = "Give both the start and the end"
                    continue
                try:
                    begin, end = dt.time.fromisoformat(starts), dt.time.fromisoformat(ends)
                except ValueError:
                    errors[key] = "Enter a time as HH:MM"
                    continue
                windows.append(Window(weekday=day, starts=begin.strftime("%H:%M"), ends=end.strftime("%H:%M")))
                positions.append(key)

        def by_day_and_slot(fields: dict[str, str]) -> dict[str, str]:
            # The use case names windows by their position in the list; the page names them by day and slot.
            mapped: dict[str, str] = {}
            for field, message in fields.items():
                index = int(field.split("[")[1].rstrip("]")) if "[" in field else -1
                mapped[positions[index] if 0 <= index < len(positions) else "__all__"] = message
            return mapped

        return await submit(
            (AvailabilityUpdate(windows=windows), errors),
            lambda command: volunteers.set_availability(conn, user, command),
            lambda _row: _profile_done("availability"),
            lambda errors, _status: self._render(
                request, conn, user, errors=errors, section="availability", values=redisplay(form), status=422
            ),
            fields=by_day_and_slot,
        )

    @post("/volunteer/profile/exceptions", name="volunteer_exception", guards=[roles("volunteer")])
    async def exception(self, request: Request[Any, Any, Any], conn: Conn, user: User, data: FormData) -> Response[Any]:
        """Add an away time or an extra available time."""
        form = multi(data)
        errors: dict[str, str] = {}
        extra: dict[str, Any] = {"available": form.get("available") == "yes"}
        read_local_times(form, ("starts_at", "ends_at"), extra, errors)
        command, parse_errors = parse_form(ExceptionCreate, form, extra)
        return await submit(
            (command, {**parse_errors, **errors}),
            lambda command: volunteers.add_exception(conn, user, command),
            lambda _row: _profile_done("exception"),
            lambda errors, _status: self._render(
                request, conn, user, errors=errors, section="exceptions", values=redisplay(form), status=422
            ),
        )

    @post(
        "/volunteer/profile/exceptions/{exception_id:int}/delete",
        name="volunteer_exception_delete",
        guards=[roles("volunteer")],
    )
    async def exception_delete(self, conn: Conn, user: User, exception_id: FromPath[int]) -> PageRedirect:
        """Remove an exception."""
        await volunteers.remove_exception(conn, user, exception_id)
        return _profile_done("exception")

    @post("/volunteer/profile/calendar/renew", name="volunteer_calendar_renew", guards=[roles("volunteer")])
    async def calendar_renew(self, request: Request[Any, Any, Any], conn: Conn, user: User) -> PageRedirect:
        """A new secret calendar address; the old one stops working."""
        await volunteers.renew_calendar_token(conn, user, request.app.state.settings.secret_key)
        return _profile_done("calendar")

    @get("/ical/{token:str}/shifts.ics", name="volunteer_calendar_feed")
    async def feed(self, request: Request[Any, Any, Any], conn: Conn, token: FromPath[str]) -> Response[bytes]:
        """The iCalendar feed of a volunteer's shifts; the secret token in the address is its only credential."""
        body = await volunteers.calendar_feed(
            conn, token, request.app.state.settings.secret_key, site=str(request.base_url)
        )
        return Response(
            content=body,
            media_type="text/calendar; charset=utf-8",
            headers={"cache-control": "private, max-age=300", "content-disposition": 'inline; filename="shifts.ics"'},
        )
