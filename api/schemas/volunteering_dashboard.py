"""Response structs of the volunteering dashboard (a committee's or an organisation's own figures)."""

from __future__ import annotations

import datetime as dt

import msgspec


class CoverageOut(msgspec.Struct, frozen=True):
    """Needs of one catalogue item: listed, and covered by a shift or a 311 team serving their households."""

    code: str
    name_zh: str
    name_en: str
    listed: int
    covered: int


class WeekOut(msgspec.Struct, frozen=True):
    """One week (from Monday, Shanghai): shifts, places offered and taken, minutes confirmed and pending."""

    week: dt.date
    shifts: int
    headcount: int
    taken: int
    confirmed_minutes: int
    pending_minutes: int


class Households311Out(msgspec.Struct, frozen=True):
    """311 households listed on the needs and covered by a live team; the teams' visits in the period."""

    listed: int
    covered: int
    live_teams: int
    visits_done: int
    visit_minutes: int


class SpreadOut(msgspec.Struct, frozen=True):
    """How evenly confirmed hours are spread among the volunteers who served (Gini, top-decile share, bands)."""

    volunteers: int
    gini: float | None
    top_decile_share: float | None
    top_decile_size: int
    bands: list[int]


class TotalsOut(msgspec.Struct, frozen=True):
    """The period's headline figures."""

    needs_listed: int
    needs_covered: int
    shifts: int
    headcount: int
    taken: int
    confirmed_minutes: int
    pending_minutes: int


class VolunteeringDashboardOut(msgspec.Struct, frozen=True):
    """The caller's committee's or organisation's volunteering figures for a period (both days included)."""

    organisation_id: int | None
    committee_id: int | None
    since: dt.date
    until: dt.date
    totals: TotalsOut
    coverage: list[CoverageOut]
    weeks: list[WeekOut]
    households_311: Households311Out
    spread: SpreadOut
