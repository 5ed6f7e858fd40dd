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

- A home visit: the carer holds a planned visit to the household (api/services/visits.py), with the same window
  as a shift. The organisation that planned the day chose its carers and stands for them, so no publisher's
  confirmation is asked and the plan, not the daily cap, bounds the households they open that day.

- A contract: staff of an organisation holding a live contract for a need naming the household. The organisation
  employs the carers who serve it and is accountable for them; their views are logged like everyone's.

On top of the link, a volunteer (issue 11, step 4; docs/teams-and-household-data.md, "Rules"):
- must have consented to the processing of sensitive personal data (403 otherwise);
- on a shift, must have been confirmed for this household by the shift's publisher before their first visit (403
  until then; a 311 team member was chosen and trained by the team's organisation, which stands for them);
- may open at most `daily_cap` distinct households' files per day (Shanghai); the attempt beyond it is refused
  (429 until midnight) and the household's committee is notified.
Shifts that need a certificate, insurance or an adult's age admit only verified ones (sql/shifts.py), so the link
itself is never won with a self-declared claim.

A volunteer with no link at all gets 404 (nothing says the household exists); one with a held shift outside its
window gets 403 and the time the details open. Every view is in the audit log, and the household's committee sees
who opened its file and when (`openings`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log, notifications
from api.services.accounts import Identity
from api.services.errors import Conflict, Forbidden, NotFound, TooManyAttempts, found
from api.services.needs import mask_address
from api.services.types import SHANGHAI
from sql import household_access as access_sql
from sql import visits as visits_sql
from sql.household_access import FirstVisitRow, HouseholdDetailRow, OpeningRow

SHIFT_OPENS_BEFORE = dt.timedelta(hours=24)
SHIFT_CLOSES_AFTER = dt.timedelta(hours=2)
VIEWED = "household.viewed"


class Access(msgspec.Struct, frozen=True):
    """Whether a volunteer may see a household's details now, on what basis, and when it opens if not yet."""

    allowed: bool
    basis: Literal["shift", "team", "committee", "contract", "visit"] | None = None
    shift_id: int | None = None
    planned_visit_id: int | None = None
    team_id: int | None = None
    contract_id: int | None = None
    linked: bool = False
    opens_at: dt.datetime | None = None


class HouseholdView(msgspec.Struct, frozen=True):
    """A household's details as an entitled volunteer or its own committee sees them, and why they may."""

    household: HouseholdDetailRow
    basis: str
    shift_id: int | None
    team_id: int | None
    until: dt.datetime | None


class ConfirmVolunteer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The publisher confirms the volunteer holding a place on its home-visit shift for that household."""

    shift_id: Annotated[int, Meta(ge=1)]
    volunteer_id: Annotated[int, Meta(ge=1)]


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
    if who.role == "organisation" and who.organisation_id is not None:
        contract_id = await access_sql.contract_holder(conn, household_id, who.organisation_id)
        return Access(allowed=contract_id is not None, basis="contract" if contract_id else None,
                      contract_id=contract_id, linked=contract_id is not None)  # fmt: skip
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
    visits = await visits_sql.visit_links(conn, who.volunteer_id, household_id)
    for visit_id, starts_at, ends_at in visits:
        if starts_at - SHIFT_OPENS_BEFORE <= now <= ends_at + SHIFT_CLOSES_AFTER:
            return Access(allowed=True, basis="visit", planned_visit_id=visit_id, linked=True)
    opens = [link.starts_at for link in links] + [starts_at for _, starts_at, _ in visits]
    upcoming = [at - SHIFT_OPENS_BEFORE for at in opens if at - SHIFT_OPENS_BEFORE > now]
    return Access(allowed=False, linked=bool(opens), opens_at=min(upcoming) if upcoming else None)


def _start_of_day(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def _volunteer_may_open(
    conn: asyncpg.Connection, who: Identity, household_id: int, access: Access, daily_cap: int
) -> None:
    """The volunteer's extra conditions: consent, the publisher's confirmation before a first visit, the daily cap."""
    volunteer_id = who.volunteer_id or 0
    if not await access_sql.has_consent(conn, volunteer_id):
        raise Forbidden("Consent to the processing of personal data on your profile before you open a household's file")
    if access.basis == "shift" and not await access_sql.confirmed(conn, household_id, volunteer_id):
        raise Forbidden("The shift's publisher confirms you for this household before your first visit; ask them")
    now = dt.datetime.now(dt.UTC)
    since = _start_of_day(now)
    if access.basis == "visit":
        return
    if await access_sql.opened_since(conn, who.account_id, since, household_id) < daily_cap:
        return
    public = found(await access_sql.household_public(conn, household_id), "No such household")
    async with conn.transaction():
        # Once a day per volunteer and household committee: the refusal itself is what the committee should see.
        for account_id in await access_sql.committee_staff(conn, public.committee_id):
            await notifications.enqueue(
                conn,
                account_id=account_id,
                kind="household_cap_reached",
                dedupe_key=f"household_cap:volunteer:{volunteer_id}:day:{since:%Y%m%d}:account:{account_id}",
                params={"volunteer_id": volunteer_id, "household_id": household_id, "count": daily_cap},
            )
        await audit_log.record(conn, who, "household.cap_reached", "household", household_id, detail={"cap": daily_cap})
    retry = int((since + dt.timedelta(days=1) - now).total_seconds()) + 1
    raise TooManyAttempts("You have opened as many households' files today as allowed", retry_after_s=retry)


async def view_household(
    conn: asyncpg.Connection, who: Identity, household_id: int, *, daily_cap: int, now: dt.datetime | None = None
) -> HouseholdView:
    """The household's details for an entitled volunteer, a contract-holding organisation or its own committee, the
    view written to the audit log; 403/404/429 otherwise."""
    if who.role not in ("volunteer", "committee", "organisation"):
        raise Forbidden("Only a volunteer serving this household may see its details")
    access = await decide(conn, who, household_id, now)
    if not access.allowed:
        if access.linked:
            raise Forbidden(
                "The household's details open 24 hours before your shift and close 2 hours after it",
                opens_at=access.opens_at,
            )
        raise NotFound("No such household")
    if who.role == "volunteer":
        await _volunteer_may_open(conn, who, household_id, access, daily_cap)
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
        if access.contract_id is not None:
            detail["contract_id"] = access.contract_id
        if access.planned_visit_id is not None:
            detail["planned_visit_id"] = access.planned_visit_id
        await audit_log.record(conn, who, VIEWED, "household", household_id, detail=detail)
    until = None
    if access.basis == "shift":
        links = await access_sql.shift_links(conn, who.volunteer_id or 0, household_id)
        until = next((x.ends_at + SHIFT_CLOSES_AFTER for x in links if x.shift_id == access.shift_id), None)
    elif access.basis == "visit":
        visits = await visits_sql.visit_links(conn, who.volunteer_id or 0, household_id)
        until = next((ends + SHIFT_CLOSES_AFTER for v, _, ends in visits if v == access.planned_visit_id), None)
    return HouseholdView(
        household=row, basis=access.basis or "", shift_id=access.shift_id, team_id=access.team_id, until=until
    )


async def openings(
    conn: asyncpg.Connection, who: Identity, household_id: int, *, limit: int, offset: int
) -> list[OpeningRow]:
    """Who opened one of the committee's households' files and when, the latest first (another's: 404)."""
    committee_id = who.committee_id_or_refuse("Only the household's residents' committee sees who opened its file")
    row = await access_sql.household_public(conn, household_id)
    if row is None or row.committee_id != committee_id:
        raise NotFound("No such household")
    return await access_sql.openings(conn, household_id, limit=limit, offset=offset)


async def confirm_volunteer(conn: asyncpg.Connection, who: Identity, form: ConfirmVolunteer) -> int:
    """The shift's publisher confirms a volunteer holding a place on it for its household's first visit; the
    household's id."""
    organisation_id, committee_id = who.publisher_or_refuse("Only the shift's publisher may confirm its volunteers")
    async with conn.transaction():
        confirmed = await access_sql.confirm_volunteer(
            conn,
            shift_id=form.shift_id,
            volunteer_id=form.volunteer_id,
            organisation_id=organisation_id,
            committee_id=committee_id,
            account_id=who.account_id,
        )
        if confirmed is None:
            raise Conflict(
                "Only a volunteer holding a place on your shift for a household can be confirmed",
                fields={"volunteer_id": "This volunteer holds no place on this home-visit shift of yours"},
            )
        confirmation_id, household_id = confirmed
        await audit_log.record(
            conn, who, "household.volunteer_confirmed", "household", household_id,
            detail={"confirmation_id": confirmation_id, "volunteer_id": form.volunteer_id, "shift_id": form.shift_id},
        )  # fmt: skip
    return household_id


async def first_visit_people(conn: asyncpg.Connection, who: Identity, shift_id: int) -> list[FirstVisitRow]:
    """For the publisher of a home-visit shift: who holds a place on it and whether each is confirmed for its
    household (empty for anyone else and for shifts without a household)."""
    if who.role not in ("organisation", "committee"):
        return []
    organisation_id, committee_id = who.publisher_or_refuse("Only the shift's publisher may confirm its volunteers")
    return await access_sql.first_visit_people(
        conn, shift_id, organisation_id=organisation_id, committee_id=committee_id
    )


async def committee_staff(conn: asyncpg.Connection, committee_id: int) -> list[int]:
    """The live accounts of a household's committee (who are told about its household's services)."""
    return await access_sql.committee_staff(conn, committee_id)


async def masked_household(conn: asyncpg.Connection, household_id: int) -> MaskedHousehold | None:
    """A household's committee and masked address (for pages that name a household without its details)."""
    row = await access_sql.household_public(conn, household_id)
    return None if row is None else masked(row.id, row.committee_id, row.committee_name, row.address)
