"""Response structs of visit notes, incidents and ratings (issue 15, item 4)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.services.visit_notes import CommitteeBoard, NotesPage
from sql.visit_notes import IncidentRow, IncidentSummaryRow, MyVisitRow, NoteRow, RatingRow, UnratedVisitRow


class NoteOut(NoteRow, frozen=True):
    """A carer's notes on a visit: mood 1–5, health signals, needs raised, remarks (elders' data)."""


class NotesPageOut(NotesPage, frozen=True):
    """A household's visit notes, newest first, and the basis on which the caller reads them (the read is audited)."""


class IncidentOut(IncidentRow, frozen=True):
    """An incident with what happened and, once closed, what was done (elders' data)."""


class IncidentSummaryOut(IncidentSummaryRow, frozen=True):
    """An incident in the committee's list: household name and masked address, kind, severity, status, overdue."""


class RatingOut(RatingRow, frozen=True):
    """A visit's rating and whether the household gave it by link or staff entered it on its behalf."""


class RatingLinkOut(msgspec.Struct, frozen=True):
    """What a rating link shows before login: the visit's kind and day, the committee, and whether it still works."""

    visit_kind: str
    visited_at: dt.datetime
    committee_name: str
    expires_at: dt.datetime
    used: bool
    expired: bool


class MyVisitOut(MyVisitRow, frozen=True):
    """A visit the carer did lately (masked address), and the id of their note on it if any."""


class UnratedVisitOut(UnratedVisitRow, frozen=True):
    """A recent visit to one of the committee's households that nobody has rated yet."""


class CommitteeBoardOut(CommitteeBoard, frozen=True):
    """The committee's live and overdue incidents, and its households' ratings and incidents over the last year."""
