"""Visit notes, incidents and the elder's voice (上门服务记录、事件与评价): the carer notes a home visit and raises
incidents; the household's committee deals with incidents the same day; the elder or family rates the visit by a
one-use link, or committee staff enter the rating on their behalf."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from api.auth import Conn, User, roles
from api.routes.paging import Limit, Offset
from api.schemas.common import out, outs
from api.schemas.visit_notes import (
    CommitteeBoardOut,
    IncidentOut,
    IncidentSummaryOut,
    MyVisitOut,
    NoteOut,
    NotesPageOut,
    RatingLinkOut,
    RatingOut,
    UnratedVisitOut,
)
from api.services import visit_notes
from api.services.visit_notes import CloseForm, IncidentForm, NoteForm, RatingForm, StaffRatingForm

# The link's token: what api.security.new_token draws (43 URL-safe characters), with room to spare.
Token = Annotated[
    str, Parameter(min_length=32, max_length=100, pattern=r"^[A-Za-z0-9_-]+$", description="A rating link's token")
]
# Who may read a household's visit notes and incidents (household_access then decides which households).
READERS = ("volunteer", "committee", "organisation")


def _note_days(state: State) -> int:
    return int(state.settings.visit_note_days)


class VisitNoteController(Controller):
    """The carer's notes on the visits they did, and an entitled reader's view of a household's notes."""

    path = "/api"
    tags = ("visit notes",)

    @get("/visits/mine", operation_id="listMyVisits", guards=[roles("volunteer")])
    async def my_visits(self, state: State, conn: Conn, user: User) -> list[MyVisitOut]:
        """The home visits I did lately that I may still note (masked addresses), with my note's id if any."""
        return outs(await visit_notes.my_visits(conn, user, note_days=_note_days(state)), MyVisitOut)

    @post("/visit-notes", operation_id="recordVisitNote", guards=[roles("volunteer")], status_code=201)
    async def record(self, state: State, conn: Conn, user: User, data: JSONBody[NoteForm]) -> NoteOut:
        """Note a visit I did (`team_visit_id` or `shift_id`): 404 when it is not mine, 409 when already noted or out
        of time. The household's one-use rating link is made and goes out by SMS."""
        note = await visit_notes.record_note(
            conn, user, data, note_days=_note_days(state), link_days=int(state.settings.rating_link_days)
        )
        return out(note, NoteOut)

    @get("/visit-notes/{note_id:int}", operation_id="getVisitNote", guards=[roles(*READERS)])
    async def note(self, conn: Conn, user: User, note_id: FromPath[int]) -> NoteOut:
        """One visit note, for the household's committee, its contract's organisation or a carer serving it now (404
        otherwise); the read is audited."""
        return out(await visit_notes.get_note(conn, user, note_id), NoteOut)

    @get(
        "/households/{household_id:int}/visit-notes",
        operation_id="listHouseholdVisitNotes",
        guards=[roles(*READERS)],
    )
    async def household_notes(
        self, conn: Conn, user: User, household_id: FromPath[int], limit: Limit = 20, offset: Offset = 0
    ) -> NotesPageOut:
        """A household's visit notes, newest first, for those who serve it and its committee (404 otherwise); the
        read is audited with its basis and the notes' ids."""
        page = await visit_notes.household_notes(conn, user, household_id, limit=limit, offset=offset)
        return out(page, NotesPageOut)


class IncidentController(Controller):
    """Incidents on home visits: raised by the carer, acknowledged and closed by the household's committee."""

    path = "/api/incidents"
    tags = ("visit notes",)

    @post("/", operation_id="raiseIncident", guards=[roles("volunteer")], status_code=201)
    async def raise_incident(self, state: State, conn: Conn, user: User, data: JSONBody[IncidentForm]) -> IncidentOut:
        """Raise an incident on a visit I did; the household's committee is notified at once."""
        return out(await visit_notes.raise_incident(conn, user, data, note_days=_note_days(state)), IncidentOut)

    @get("/", operation_id="listIncidents", guards=[roles("committee")])
    async def list_incidents(
        self,
        conn: Conn,
        user: User,
        closed: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[IncidentSummaryOut]:
        """My committee's incidents still to deal with (overdue first, then oldest), or with `closed` the closed."""
        rows = await visit_notes.committee_incidents(conn, user, closed=closed, limit=limit, offset=offset)
        return outs(rows, IncidentSummaryOut)

    @get("/board", operation_id="getIncidentBoard", guards=[roles("committee")])
    async def board(self, conn: Conn, user: User) -> CommitteeBoardOut:
        """My committee's dashboard figures: live and overdue incidents, its households' ratings over the year."""
        committee_id = user.committee_id_or_refuse("Only a residents' committee has this dashboard")
        return out(await visit_notes.committee_board(conn, committee_id), CommitteeBoardOut)

    @get("/{incident_id:int}", operation_id="getIncident", guards=[roles(*READERS)])
    async def incident(self, conn: Conn, user: User, incident_id: FromPath[int]) -> IncidentOut:
        """One incident with what happened, for those entitled to its household's data (404 otherwise); audited."""
        return out(await visit_notes.get_incident(conn, user, incident_id), IncidentOut)

    @post(
        "/{incident_id:int}/acknowledge", operation_id="acknowledgeIncident", guards=[roles("committee")],
        status_code=200,
    )  # fmt: skip
    async def acknowledge(self, conn: Conn, user: User, incident_id: FromPath[int]) -> IncidentOut:
        """My committee acknowledges an open incident of one of its households (409 if it is not open)."""
        return out(await visit_notes.acknowledge_incident(conn, user, incident_id), IncidentOut)

    @post("/{incident_id:int}/close", operation_id="closeIncident", guards=[roles("committee")], status_code=200)
    async def close(self, conn: Conn, user: User, incident_id: FromPath[int], data: JSONBody[CloseForm]) -> IncidentOut:
        """My committee closes an incident with what was done (409 if closed already)."""
        return out(await visit_notes.close_incident(conn, user, incident_id, data), IncidentOut)


class RatingController(Controller):
    """The elder's or family's rating of a visit: by its one-use link (no login), or entered by committee staff."""

    path = "/api"
    tags = ("visit notes",)

    @get("/visit-ratings/unrated", operation_id="listUnratedVisits", guards=[roles("committee")])
    async def unrated(self, conn: Conn, user: User) -> list[UnratedVisitOut]:
        """Recent visits to my committee's households that nobody has rated yet."""
        return outs(await visit_notes.unrated_visits(conn, user), UnratedVisitOut)

    @post("/visit-ratings", operation_id="rateVisitOnBehalf", guards=[roles("committee")], status_code=201)
    async def on_behalf(self, conn: Conn, user: User, data: JSONBody[StaffRatingForm]) -> RatingOut:
        """Enter a visit's rating on the household's behalf (recorded as entered by staff); 409 if rated already."""
        return out(await visit_notes.rate_on_behalf(conn, user, data), RatingOut)

    @get("/ratings/{token:str}", operation_id="getRatingLink")
    async def link(self, conn: Conn, token: Token) -> RatingLinkOut:
        """What a rating link is for and whether it still works (no login: the unguessable token is the key)."""
        view = await visit_notes.link_view(conn, token)
        return out(view, RatingLinkOut, used=view.used_at is not None)

    @post("/ratings/{token:str}", operation_id="rateVisitByLink", status_code=201)
    async def rate(self, conn: Conn, token: Token, data: JSONBody[RatingForm]) -> RatingOut:
        """Rate the visit by its one-use link: exactly one submission counts (409 once used or expired)."""
        return out(await visit_notes.rate_by_link(conn, token, data), RatingOut)
