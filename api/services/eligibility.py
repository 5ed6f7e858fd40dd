"""Who may bid on a tender: pure rule evaluation over an organisation, a tender and the funder's rules.

Each failed rule is one Reason: a code, an English msgid with no placeholders (so a problem response and a
page can both translate it), and the figures behind it for the page to show.
"""

from __future__ import annotations

import datetime as dt

import msgspec


class OrgFacts(msgspec.Struct, frozen=True):
    """What the rules look at on the organisation's side: the rating is the verified one (None when only declared)."""

    status: str
    rating: int | None
    rating_expires_on: dt.date | None
    registered_on: dt.date
    last_unqualified_at: dt.datetime | None = None
    declared_rating: int | None = None
    # The catalogue items and the areas the organisation registered (its profile's service categories and areas).
    category_ids: list[int] | None = None
    area_ids: list[int] = []


class TenderRules(msgspec.Struct, frozen=True):
    """What the rules look at on the tender's side (its own settings and its funder's)."""

    min_rating: int | None
    rating_must_be_valid: bool
    min_years_registered: int
    unqualified_bar_years: int
    # The tender's catalogue item (None: no category rule, as for foundation calls) and, per lot id, the areas each
    # of its needs lies in (its committee, sub-district and district); a lot without needs lies anywhere.
    catalogue_item_id: int | None = None
    catalogue_name: str = ""
    lot_need_areas: dict[int, list[list[int]]] = {}


class Reason(msgspec.Struct, frozen=True):
    """One rule the organisation does not meet."""

    code: str
    message: str
    required: str = ""
    actual: str = ""


NOT_VERIFIED = "Only organisations verified by the platform may bid"
RATING_TOO_LOW = "The organisation's evaluation rating is below the tender's minimum rating"
UNRATED = "The tender requires an evaluation rating and the organisation has none"
RATING_UNVERIFIED = "The organisation's evaluation rating is declared but not yet verified by a funder"
RATING_EXPIRED = "The organisation's evaluation rating has expired"
UNQUALIFIED_BAR = "An 'unqualified' performance grade bars the organisation from purchases for now"
TOO_YOUNG = "The organisation has not been registered for long enough"
CONFLICT = "A bidder that declares a conflict of interest is not eligible"
CATEGORY = "The tender's service category is not among the service categories the organisation registered"
NO_LOT_IN_AREAS = "None of the tender's lots lies in the areas the organisation registered to serve"
LOT_OUTSIDE_AREAS = "This lot's needs lie outside the areas the organisation registered to serve"

MESSAGES = (
    NOT_VERIFIED, RATING_TOO_LOW, UNRATED, RATING_UNVERIFIED, RATING_EXPIRED, UNQUALIFIED_BAR, TOO_YOUNG, CONFLICT,
    CATEGORY, NO_LOT_IN_AREAS, LOT_OUTSIDE_AREAS,
)  # fmt: skip


def lot_in_areas(org: OrgFacts, need_areas: list[list[int]]) -> bool:
    """Whether every need of a lot lies in an area the organisation serves (its own area or one around it)."""
    served = set(org.area_ids)
    return all(served.intersection(path) for path in need_areas)


def lot_reasons(org: OrgFacts, tender: TenderRules, lot_id: int) -> list[Reason]:
    """Why the organisation may not bid on this lot in particular (beyond the tender's own rules)."""
    if lot_id in tender.lot_need_areas and not lot_in_areas(org, tender.lot_need_areas[lot_id]):
        return [Reason("lot_outside_areas", LOT_OUTSIDE_AREAS)]
    return []


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def reasons(org: OrgFacts, tender: TenderRules, *, today: dt.date, conflict_of_interest: bool = False) -> list[Reason]:
    """Every rule the organisation fails for this tender; empty when it is eligible."""
    found: list[Reason] = []
    if org.status != "verified":
        found.append(Reason("not_verified", NOT_VERIFIED, actual=org.status))
    if tender.min_rating is not None:
        if org.rating is None and org.declared_rating is not None:
            # Nothing self-declared opens restricted work: a declared rating counts once a funder verified it.
            found.append(
                Reason("rating_unverified", RATING_UNVERIFIED, f"{tender.min_rating}A", f"{org.declared_rating}A")
            )
        elif org.rating is None:
            found.append(Reason("unrated", UNRATED, required=f"{tender.min_rating}A"))
        elif org.rating < tender.min_rating:
            found.append(Reason("rating_too_low", RATING_TOO_LOW, f"{tender.min_rating}A", f"{org.rating}A"))
    if (
        tender.rating_must_be_valid
        and org.rating is not None
        and (org.rating_expires_on is None or org.rating_expires_on < today)
    ):
        expired = org.rating_expires_on.isoformat() if org.rating_expires_on else ""
        found.append(Reason("rating_expired", RATING_EXPIRED, actual=expired))
    if org.last_unqualified_at is not None and tender.unqualified_bar_years > 0:
        barred_until = _add_years(org.last_unqualified_at.date(), tender.unqualified_bar_years)
        if today < barred_until:
            found.append(Reason("unqualified_grade", UNQUALIFIED_BAR, required=barred_until.isoformat()))
    if tender.min_years_registered > 0:
        old_enough_on = _add_years(org.registered_on, tender.min_years_registered)
        if today < old_enough_on:
            found.append(
                Reason(
                    "registered_too_recently",
                    TOO_YOUNG,
                    str(tender.min_years_registered),
                    org.registered_on.isoformat(),
                )
            )
    if (
        tender.catalogue_item_id is not None
        and org.category_ids is not None
        and tender.catalogue_item_id not in org.category_ids
    ):
        found.append(Reason("category_not_registered", CATEGORY, required=tender.catalogue_name))
    if tender.lot_need_areas and not any(lot_in_areas(org, areas) for areas in tender.lot_need_areas.values()):
        found.append(Reason("no_lot_in_areas", NO_LOT_IN_AREAS))
    if conflict_of_interest:
        found.append(Reason("conflict_of_interest", CONFLICT))
    return found
