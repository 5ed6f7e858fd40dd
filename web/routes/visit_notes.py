"""Pages for visit notes, incidents and ratings (上门记录、事件、服务评价): the carer's recent visits with the note and
incident forms; the committee's incidents (acknowledge, close) and the ratings it enters for its households; the
phone-friendly rating page behind a one-use link (no login)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.response import Template

from api.auth import Conn, User, Who, roles
from api.services import household_access, visit_notes
from api.services.accounts import Identity
from api.services.visit_notes import CloseForm, IncidentForm, NoteForm, RatingForm, StaffRatingForm
from web.forms import parse_form, submit
from web.routes._common import FormData, PageRedirect, multi, redisplay

VisitKey = Annotated[str, Parameter(pattern=r"^[ts][0-9]{1,19}$")]
TokenPath = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_-]{32,100}$")]
PageQuery = Annotated[int, QueryParameter(ge=1, le=10_000)]
DoneQuery = Annotated[str | None, QueryParameter(pattern=r"^(noted|incident|acknowledged|closed|rated)$")]
LISTS = ("signals", "needs")


def _visit_fields(key: str) -> dict[str, Any]:
    """The visit a page address names, as the fields of the use case's command."""
    ref = visit_notes.parse_visit_key(key)
    return {"team_visit_id": ref.team_visit_id, "shift_id": ref.shift_id}


def _days(state: State) -> int:
    return int(state.settings.visit_note_days)


async def _visit_form(
    conn: Conn,
    state: State,
    user: Identity,
    key: str,
    name: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    ref = visit_notes.parse_visit_key(key)
    visit = await visit_notes.carers_visit(conn, user, ref, note_days=_days(state))
    return Template(
        template_name=f"visits/{name}.html",
        context={
            "who": user,
            "key": key,
            "visit": visit,
            "errors": errors or {},
            "values": values or {"mood": "", "signals": [], "needs": []},
            # A call's note has no home-safety box: nobody saw the home.
            "signals": visit_notes.CALL_SIGNALS if visit.contact_kind in visit_notes.CALLS else visit_notes.SIGNALS,
            "needs": visit_notes.NEEDS,
            "kinds": visit_notes.INCIDENT_KINDS,
            "severities": visit_notes.SEVERITIES,
        },
        status_code=status,
    )


async def _incident_page(
    conn: Conn, user: Identity, incident_id: int, *, errors: dict[str, str] | None = None, status: int = 200,
    values: dict[str, Any] | None = None, done: str | None = None,
) -> Template:  # fmt: skip
    return Template(
        template_name="visits/incident.html",
        context={
            "who": user,
            "incident": await visit_notes.get_incident(conn, user, incident_id),
            "errors": errors or {},
            "values": values or {},
            "done": done,
        },
        status_code=status,
    )


async def _ratings_page(
    conn: Conn, user: Identity, *, errors: dict[str, str] | None = None, status: int = 200, key: str = "",
    done: str | None = None,
) -> Template:  # fmt: skip
    return Template(
        template_name="visits/ratings.html",
        context={
            "who": user,
            "visits": await visit_notes.unrated_visits(conn, user),
            "key_of": visit_notes.visit_key,
            "errors": errors or {},
            "error_key": key,
            "done": done,
        },
        status_code=status,
    )


async def _rate_page(
    conn: Conn, who: Identity | None, token: str, *, errors: dict[str, str] | None = None, status: int = 200,
    values: dict[str, Any] | None = None, done: str | None = None,
) -> Template:  # fmt: skip
    return Template(
        template_name="visits/rate.html",
        context={
            "who": who,
            "token": token,
            "link": await visit_notes.link_view(conn, token),
            "errors": errors or {},
            "values": values or {},
            "done": done,
        },
        status_code=status,
    )


class VisitNotePages(Controller):
    """上门服务记录: notes and incidents for carers, incidents and ratings for committees, the rating link's page."""

    include_in_schema = False

    @get("/visits", name="my_visits", guards=[roles("volunteer")])
    async def mine(self, state: State, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """The home visits I did lately: note each, or raise an incident; read the household's notes."""
        visits = await visit_notes.my_visits(conn, user, note_days=_days(state))
        return Template(
            template_name="visits/mine.html",
            context={
                "who": user,
                "visits": visits,
                # The households whose notes I may read now (a 311 team's, a shift's inside its window).
                "readable": await visit_notes.readable_households(conn, user, {v.household_id for v in visits}),
                "key_of": visit_notes.visit_key,
                "done": done,
                "days": _days(state),
            },
        )

    @get(
        "/households/{household_id:int}/visit-notes",
        name="household_visit_notes",
        guards=[roles("committee", "organisation", "volunteer")],
    )
    async def household_notes(
        self, conn: Conn, user: User, household_id: FromPath[int], page: PageQuery = 1
    ) -> Template:
        """A household's visit notes, the newest first, a page at a time, for those who may read its file (audited)."""
        size = visit_notes.NOTES_PAGE
        record = await visit_notes.household_record(
            conn, user, household_id, limit=size, offset=(page - 1) * size, notes_only=True
        )
        return Template(
            template_name="visits/household_notes.html",
            context={
                "who": user,
                "household": await household_access.masked_household(conn, household_id),
                "record": record,
                "page": page,
            },
        )

    @get("/visits/{key:str}/note", name="visit_note_new", guards=[roles("volunteer")])
    async def note_form(self, state: State, conn: Conn, user: User, key: VisitKey) -> Template:
        """The note form for a visit I did."""
        return await _visit_form(conn, state, user, key, "note")

    @post("/visits/{key:str}/note", name="visit_note_create", guards=[roles("volunteer")])
    async def note(self, state: State, conn: Conn, user: User, key: VisitKey, data: FormData) -> Response[Any]:
        """Record my note; the form comes back with each field's error."""
        form = multi(data)
        extra = _visit_fields(key)
        return await submit(
            parse_form(NoteForm, form, extra),
            lambda command: visit_notes.record_note(
                conn, user, command, note_days=_days(state), link_days=int(state.settings.rating_link_days)
            ),
            lambda _row: PageRedirect("my_visits", query={"done": "noted"}),
            lambda errors, status: _visit_form(
                conn, state, user, key, "note", errors=errors, values=redisplay(form, LISTS), status=status
            ),
            refusal="mood",
            refusal_statuses=(409,),
        )

    @get("/visits/{key:str}/incident", name="incident_new", guards=[roles("volunteer")])
    async def incident_form(self, state: State, conn: Conn, user: User, key: VisitKey) -> Template:
        """The form to raise an incident on a visit I did."""
        return await _visit_form(conn, state, user, key, "incident_new")

    @post("/visits/{key:str}/incident", name="incident_create", guards=[roles("volunteer")])
    async def raise_incident(
        self, state: State, conn: Conn, user: User, key: VisitKey, data: FormData
    ) -> Response[Any]:
        """Raise the incident: the household's committee is told at once."""
        form = multi(data)
        extra = _visit_fields(key)
        return await submit(
            parse_form(IncidentForm, form, extra),
            lambda command: visit_notes.raise_incident(conn, user, command, note_days=_days(state)),
            lambda _row: PageRedirect("my_visits", query={"done": "incident"}),
            lambda errors, status: _visit_form(
                conn, state, user, key, "incident_new", errors=errors, values=redisplay(form), status=status
            ),
            refusal="what_happened",
            refusal_statuses=(409,),
        )

    @get("/incidents", name="incidents", guards=[roles("committee")])
    async def incidents(self, conn: Conn, user: User, closed: Annotated[bool, QueryParameter()] = False) -> Template:
        """My committee's incidents: those still to deal with (overdue first), or the closed ones."""
        committee_id = user.committee_id_or_refuse("Only a residents' committee deals with incidents")
        return Template(
            template_name="visits/incidents.html",
            context={
                "who": user,
                "items": await visit_notes.committee_incidents(conn, user, closed=closed),
                "closed": closed,
                "board": await visit_notes.committee_board(conn, committee_id),
            },
        )

    @get("/incidents/{incident_id:int}", name="incident", guards=[roles("committee", "organisation", "volunteer")])
    async def incident(self, conn: Conn, user: User, incident_id: FromPath[int], done: DoneQuery = None) -> Template:
        """One incident: what happened, and for the committee the buttons to acknowledge and close it (audited)."""
        return await _incident_page(conn, user, incident_id, done=done)

    @post("/incidents/{incident_id:int}/acknowledge", name="incident_acknowledge", guards=[roles("committee")])
    async def acknowledge(self, conn: Conn, user: User, incident_id: FromPath[int]) -> Response[Any]:
        """Acknowledge the incident."""
        await visit_notes.acknowledge_incident(conn, user, incident_id)
        return PageRedirect("incident", incident_id=incident_id, query={"done": "acknowledged"})

    @post("/incidents/{incident_id:int}/close", name="incident_close", guards=[roles("committee")])
    async def close(self, conn: Conn, user: User, incident_id: FromPath[int], data: FormData) -> Response[Any]:
        """Close the incident with what was done; the form comes back with the field's error."""
        form = multi(data)
        return await submit(
            parse_form(CloseForm, form),
            lambda command: visit_notes.close_incident(conn, user, incident_id, command),
            lambda _row: PageRedirect("incident", incident_id=incident_id, query={"done": "closed"}),
            lambda errors, status: _incident_page(
                conn, user, incident_id, errors=errors, values=redisplay(form), status=status
            ),
            refusal="action_taken",
            refusal_statuses=(409,),
        )

    @get("/visit-ratings", name="visit_ratings", guards=[roles("committee")])
    async def ratings(self, conn: Conn, user: User, done: DoneQuery = None) -> Template:
        """Recent visits to my committee's households nobody rated: enter the household's rating on its behalf."""
        return await _ratings_page(conn, user, done=done)

    @post("/visit-ratings/{key:str}", name="visit_rating_create", guards=[roles("committee")])
    async def rate_on_behalf(self, conn: Conn, user: User, key: VisitKey, data: FormData) -> Response[Any]:
        """Record the rating the household gave staff (by phone, in person)."""
        form = multi(data)
        extra = _visit_fields(key)
        return await submit(
            parse_form(StaffRatingForm, form, extra),
            lambda command: visit_notes.rate_on_behalf(conn, user, command),
            lambda _row: PageRedirect("visit_ratings", query={"done": "rated"}),
            lambda errors, status: _ratings_page(conn, user, errors=errors, status=status, key=key),
            refusal="score",
            refusal_statuses=(409,),
        )

    @get("/rate/{token:str}", name="rate")
    async def rate_page(self, conn: Conn, who: Who, token: TokenPath, done: DoneQuery = None) -> Template:
        """The rating page behind the SMS link: 1 to 5 and a comment, once (no login)."""
        return await _rate_page(conn, who, token, done=done)

    @post("/rate/{token:str}", name="rate_submit")
    async def rate(self, conn: Conn, who: Who, token: TokenPath, data: FormData) -> Response[Any]:
        """Record the rating; a second submission is told the link was used."""
        form = multi(data)
        return await submit(
            parse_form(RatingForm, form),
            lambda command: visit_notes.rate_by_link(conn, token, command),
            lambda _row: PageRedirect("rate", token=token, query={"done": "rated"}),
            lambda errors, status: _rate_page(conn, who, token, errors=errors, values=redisplay(form), status=status),
            refusal="score",
            refusal_statuses=(409,),
        )
