"""THE one place deciding who may see a household's exact address, name, phone and care notes (PIPL).

The rule (PRODUCT.md, "Personal information"): a volunteer sees an elder's exact address, name, phone and care notes
only while they are confirmed to serve that household; the staff of the household's own residents' committee, who
registered it, see their own households' details. Every view is written to the audit log (who, which household, on
what basis; never the data itself). Everyone else, and every page or log line elsewhere (the committee's own
register included), gets the committee and a masked address.

- The committee: staff of the committee that lists the household (basis "committee"); another committee's
  household answers as a missing one (404), never as a forbidden one.

- A shift: the volunteer holds a place (an active sign-up, which an accepted roster proposal also is) on a shift
  whose `household_id` is the household, and it is now between SHIFT_OPENS_BEFORE before its start and
  SHIFT_CLOSES_AFTER after its end: long enough to plan the trip and to write up the visit, not longer.
- A 311 team: the volunteer is a present member of the household's live team. A quasi-family is a standing
  relationship with phone contact between visits, so access lasts the whole membership and ends the moment the
  member leaves, is refused by the household, or the team is dissolved.

A volunteer with no link at all gets 404 (nothing says the household exists); one with a held shift outside its
window gets 403 and the time the details open.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import asyncpg
import msgspec

from api.services.accounts import Identity
from api.services.errors import Forbidden, NotFound, found
from api.services.needs import mask_address
from sql import audit
from sql import household_access as access_sql
from sql.household_access import HouseholdDetailRow

SHIFT_OPENS_BEFORE = dt.timedelta(hours=24)
SHIFT_CLOSES_AFTER = dt.timedelta(hours=2)
VIEWED = "household.viewed"


class Access(msgspec.Struct, frozen=True):
    """Whether a volunteer may see a household's details now, on what basis, and when it opens if not yet."""

    allowed: bool
    basis: Literal["shift", "team", "committee"] | None = None
    shift_id: int | None = None
    team_id: int | None = None
    linked: bool = False
    opens_at: dt.datetime | None = None


class HouseholdView(msgspec.Struct, frozen=True):
    """A household's details as an entitled volunteer or its own committee sees them, and why they may."""

    household: HouseholdDetailRow
    basis: str
    shift_id: int | None
    team_id: int | None
    until: dt.datetime | None


class MaskedHousehold(msgspec.Struct, frozen=True):
    """What pages and logs elsewhere show of a household: its committee and a masked address."""

    id: int
    committee_id: int
    committee_name: str
    masked_address: str


def masked(household_id: int, committee_id: int, committee_name: str, address: str) -> MaskedHousehold:
    """The masked form of a household."""
    return MaskedHousehold(
        id=household_id, committee_id=committee_id, committee_name=committee_name, masked_address=mask_address(address)
    )


async def decide(conn: asyncpg.Connection, who: Identity, household_id: int, now: dt.datetime | None = None) -> Access:
    """Whether the caller may see the household's exact address and care notes now (nothing is logged)."""
    if who.role == "committee" and who.committee_id is not None:
        row = await access_sql.household_public(conn, household_id)
        own = row is not None and row.committee_id == who.committee_id
        return Access(allowed=own, basis="committee" if own else None, linked=own)
    if who.role != "volunteer" or who.volunteer_id is None:
        return Access(allowed=False)
    now = now or dt.datetime.now(dt.UTC)
    team_id = await access_sql.team_link(conn, who.volunteer_id, household_id)
    if team_id is not None:
        return Access(allowed=True, basis="team", team_id=team_id, linked=True)
    links = await access_sql.shift_links(conn, who.volunteer_id, household_id)
    for link in links:
        if link.starts_at - SHIFT_OPENS_BEFORE <= now <= link.ends_at + SHIFT_CLOSES_AFTER:
            return Access(allowed=True, basis="shift", shift_id=link.shift_id, linked=True)
    upcoming = [link.starts_at - SHIFT_OPENS_BEFORE for link in links if link.starts_at - SHIFT_OPENS_BEFORE > now]
    return Access(allowed=False, linked=bool(links), opens_at=min(upcoming) if upcoming else None)


async def view_household(conn: asyncpg.Connection, who: Identity, household_id: int) -> HouseholdView:
    """The household's details for an entitled volunteer or its own committee, the view written to the audit log;
    403/404 otherwise."""
    if who.role not in ("volunteer", "committee"):
        raise Forbidden("Only a volunteer serving this household may see its details")
    access = await decide(conn, who, household_id)
    if not access.allowed:
        if access.linked:
            raise Forbidden(
                "The household's details open 24 hours before your shift and close 2 hours after it",
                opens_at=access.opens_at,
            )
        raise NotFound("No such household")
    # The committee's read carries the committee in SQL too: the decision and the read cannot disagree.
    row = found(
        await access_sql.household_detail(
            conn, household_id, who.committee_id if access.basis == "committee" else None
        ),
        "No such household",
    )
    async with conn.transaction():
        # The log says who looked, at which household and on what basis; never what they saw.
        detail: dict[str, object] = {"basis": access.basis}
        if access.shift_id is not None:
            detail["shift_id"] = access.shift_id
        if access.team_id is not None:
            detail["team_id"] = access.team_id
        await audit.append(
            conn, actor_account_id=who.account_id, action=VIEWED, object_type="household", object_id=household_id,
            detail=detail,
        )  # fmt: skip
    until = None
    if access.basis == "shift":
        links = await access_sql.shift_links(conn, who.volunteer_id or 0, household_id)
        until = next((x.ends_at + SHIFT_CLOSES_AFTER for x in links if x.shift_id == access.shift_id), None)
    return HouseholdView(
        household=row, basis=access.basis or "", shift_id=access.shift_id, team_id=access.team_id, until=until
    )


async def masked_household(conn: asyncpg.Connection, household_id: int) -> MaskedHousehold | None:
    """A household's committee and masked address (for pages that name a household without its details)."""
    row = await access_sql.household_public(conn, household_id)
    return None if row is None else masked(row.id, row.committee_id, row.committee_name, row.address)
