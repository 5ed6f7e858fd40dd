"""Response structs of the volunteering dashboard (a committee's or an organisation's own figures)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.services.volunteering_dashboard import Spread, Totals
from sql.volunteering_dashboard import CoverageByItem, HouseholdCoverage, WeekFigures


class CoverageOut(CoverageByItem, frozen=True):
    """Needs of one catalogue item: listed, and covered by a shift or a 311 team serving their households."""


class WeekOut(WeekFigures, frozen=True):
    """One week (from Monday, Shanghai): shifts, places offered and taken, minutes confirmed and pending."""


class Households311Out(HouseholdCoverage, frozen=True):
    """311 households listed on the needs and covered by a live team; the teams' visits in the period."""


class SpreadOut(Spread, frozen=True):
    """How evenly confirmed hours are spread among the volunteers who served (Gini, top-decile share, bands)."""


class TotalsOut(Totals, frozen=True):
    """The period's headline figures."""


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
