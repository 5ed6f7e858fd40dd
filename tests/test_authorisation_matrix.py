"""The authorisation matrix over every JSON operation: anonymous callers, wrong roles and other tenants get
401/403/404 (or a refusal such as 405/409/422), never someone else's data and never a change."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from api.services import coins, groups, travel_times
from api.services.coins import BookingCreate, ItemCreate
from api.services.groups import GroupMemberIn, GroupSignupForm
from tests import factories
from tests import factories_visit_plans as fvp
from tests.factories_attendance import credit
from tests.factories_contracts import award_ready, create_objection
from tests.factories_rosters import roster_scenario
from tests.factories_shifts import add_certificate, add_signup, create_series, create_shift, volunteer_identity
from tests.factories_teams import create_team
from tests.factories_tendering import create_household, create_need
from tests.factories_visits import done_team_visit
from tests.helpers import bearer

# What anybody may read or do without logging in: reference data, verified organisations' public profiles,
# published award notices, the check of a service record certificate, registration and the token exchange itself.
PUBLIC = {
    ("GET", "/api/health"),
    ("GET", "/api/ready"),
    ("GET", "/api/areas"),
    ("GET", "/api/areas/{area_id}"),
    ("GET", "/api/areas/{area_id}/children"),
    ("GET", "/api/catalogue"),
    ("GET", "/api/catalogue/{code}"),
    ("GET", "/api/organisations"),
    ("GET", "/api/organisations/{org_id}"),
    ("GET", "/api/organisations/{org_id}/performance"),
    ("GET", "/api/notices"),
    ("GET", "/api/notices/{tender_id}"),
    ("GET", "/api/records/certificates/{number}/{code}"),
    ("POST", "/api/organisations"),
    ("POST", "/api/volunteers"),
    ("POST", "/api/auth/token"),
    # Anyone who forgot their password asks for a code and gives it back (docs/security.md "Password reset").
    ("POST", "/api/auth/password-reset"),
    ("POST", "/api/auth/password-reset/confirm"),
    # A place behind its confirm link: the link's 128-bit random token is the key (it comes by SMS, without a login).
    ("GET", "/api/confirmations/{token}"),
    ("POST", "/api/confirmations/{token}/confirm"),
    ("POST", "/api/confirmations/{token}/cancel"),
    # A visit's one-use rating link: its 256-bit random token is the key (it comes by SMS to the household).
    ("GET", "/api/ratings/{token}"),
    ("POST", "/api/ratings/{token}"),
}
# Operations every logged-in account may use on its own behalf (their answers hold only the caller's data).
OWN = {
    ("GET", "/api/accounts/me"),
    ("GET", "/api/auth/tokens"),
    ("POST", "/api/notices/{tender_id}/objections"),
    # A volunteer takes, waits for or gives up a place of a published shift for themselves.
    ("POST", "/api/shifts/{shift_id}/signups"),
    ("POST", "/api/shifts/{shift_id}/waitlist"),
    ("DELETE", "/api/shifts/{shift_id}/signups/mine"),
    ("POST", "/api/shifts/{shift_id}/signups/mine/confirm"),
    # A volunteer signs up a group they lead (they are its first member; its members are checked as sign-ups).
    ("POST", "/api/shifts/{shift_id}/groups"),
    # A volunteer offers their own place, withdraws their offer, lists and takes places offered to anyone eligible;
    # a shift's hand-overs answer each caller with their own offer, or its publisher's requests (nothing otherwise).
    ("POST", "/api/shifts/{shift_id}/handovers"),
    ("DELETE", "/api/shifts/{shift_id}/handovers/mine"),
    ("GET", "/api/shifts/handovers"),
    ("GET", "/api/shifts/{shift_id}/handovers"),
    ("POST", "/api/shifts/{shift_id}/handovers/{handover_id}/take"),
    # A volunteer's own profile, certificates, availability, consent and calendar feed address (helper A).
    ("GET", "/api/volunteers/me"),
    ("PUT", "/api/volunteers/me"),
    ("PUT", "/api/volunteers/me/consent"),
    ("PUT", "/api/volunteers/me/certificates/{kind}"),
    ("DELETE", "/api/volunteers/me/certificates/{kind}"),
    ("PUT", "/api/volunteers/me/availability"),
    ("POST", "/api/volunteers/me/availability/exceptions"),
    ("DELETE", "/api/volunteers/me/availability/exceptions/{exception_id}"),
    ("GET", "/api/volunteers/me/calendar"),
    ("POST", "/api/volunteers/me/calendar/renew"),
    # Each account reads its own inbox (reminders, promotions, cancellations addressed to it).
    ("GET", "/api/notifications"),
    # A volunteer reads their own roster proposals (the volunteer comes from the caller, helper C).
    ("GET", "/api/roster-proposals/mine"),
    # "Why not me?" on any open shift: the answer is about the caller only and names nobody else (issue 15, item 7).
    ("GET", "/api/roster-proposals/why-not/{shift_id}"),
    ("GET", "/api/notifications/contact"),
    ("PUT", "/api/notifications/contact"),
    # A committee's or organisation's own staff and invitations (the tenant comes from the caller).
    ("GET", "/api/staff"),
    ("POST", "/api/staff/invitations"),
}
REFUSALS = {401, 403, 404, 405, 409, 422}
CANARY_PRICE_FEN = 12_345_678
# Needs are open to every logged-in account by design; the households they name are not.
CANARY_ADDRESS = "金丝雀路99弄9号909室"
CANARY_NOTE = "矩阵金丝雀护理记录"
# A carer's visit note and incident on that household (issue 15, item 4): elders' data under the same rule.
CANARY_VISIT_NOTE = "矩阵金丝雀探访记录"


async def operations(client) -> list[tuple[str, str]]:
    """Every (method, path template) of the JSON API, from the published OpenAPI document."""
    schema = (await client.get("/schema/openapi.json")).json()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


async def _volunteer_exception(conn) -> int:
    """A tenant-A volunteer's availability exception (an away time next week)."""
    account_id = await factories.create_account(conn, "volunteer")
    return int(
        await conn.fetchval(
            "INSERT INTO availability_exceptions (volunteer_id, during, available)"
            " SELECT id, tstzrange(now() + interval '7 days', now() + interval '8 days'), false"
            " FROM volunteers WHERE account_id = $1 RETURNING id",
            account_id,
        )
    )


async def scenario(conn) -> dict[str, str]:
    """Tenant A's objects: a need, a tender with a lot, a bid, an award, an objection and a contract."""
    setup = await award_ready(conn, price_fen=CANARY_PRICE_FEN)
    committee_account = await factories.create_account(conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", committee_account)
    need_id = await create_need(conn, committee_id, setup.catalogue_item_id, committee_account)
    household_id = await create_household(conn, committee_id, address=CANARY_ADDRESS)
    await conn.execute("UPDATE households SET care_notes = $2 WHERE id = $1", household_id, CANARY_NOTE)
    await conn.execute("INSERT INTO need_households (need_id, household_id) VALUES ($1, $2)", need_id, household_id)
    objection_id = await create_objection(conn, setup.tender_id, setup.lot_id, setup.organisation_account)
    contract_id = await conn.fetchval(
        "INSERT INTO contracts (award_id, funder_id, organisation_id, amount_fen, sign_by, starts_on, ends_on)"
        " VALUES ($1, $2, $3, $4, current_date + 30, current_date, current_date + 365) RETURNING id",
        setup.award_id,
        setup.funder_id,
        setup.organisation_id,
        CANARY_PRICE_FEN,
    )
    milestone_id = await conn.fetchval(
        "INSERT INTO milestones (contract_id, seq, title, due_on, amount_fen) VALUES ($1, 1, '中期', current_date, $2)"
        " RETURNING id",
        contract_id,
        CANARY_PRICE_FEN,
    )
    # The milestone's evidence, a canary only the contract's parties may read.
    attachment_id = await conn.fetchval(
        "INSERT INTO milestone_attachments (milestone_id, filename, content_type, content, uploaded_by)"
        " VALUES ($1, 'canary.pdf', 'application/pdf', $2, $3) RETURNING id",
        milestone_id,
        b"%PDF-1.4 " + CANARY_NOTE.encode(),
        setup.organisation_account,
    )
    bid_public_id = await conn.fetchval("SELECT public_id::text FROM bids WHERE lot_id = $1", setup.lot_id)
    run_id = await conn.fetchval("SELECT run_id FROM awards WHERE id = $1", setup.award_id)
    shift_id = await create_shift(conn, organisation_id=setup.organisation_id)
    return {
        "tender_id": str(setup.tender_id),
        "need_id": str(need_id),
        "bid_id": bid_public_id,
        "run_id": str(run_id),
        "contract_id": str(contract_id),
        "objection_id": str(objection_id),
        "seq": "1",
        "attachment_id": str(attachment_id),
        # Tenant A's committee's saved place (an activity room the shift and need forms offer).
        "place_id": str(
            await conn.fetchval(
                "INSERT INTO saved_places (committee_id, name, kind, lat, lon) VALUES ($1, '活动室', 'activity_room',"
                " 31.28, 121.52) RETURNING id",
                committee_id,
            )
        ),
        "account_id": str(setup.organisation_account),
        "org_id": str(setup.organisation_id),
        "token_id": "1",
        "area_id": "1",
        "code": "no_such_item",
        "call_id": "1",
        "proposal_id": str(uuid.uuid4()),
        "public_id": str(uuid.uuid4()),
        # A volunteer's group on tenant A's shift, with a child: only its leader reads or cancels it.
        **(await _group_scenario(conn, setup.organisation_id)),
        "shift_id": str(shift_id),
        # A place offered on tenant A's shift, for tenant A to approve or decline (issue 15, item 2).
        "handover_id": str(await _handover(conn, shift_id)),
        # Tenant A's weekly shift series, and a volunteer's certificate and availability exception (helper A).
        "series_id": str(await create_series(conn, organisation_id=setup.organisation_id)),
        "kind": "elderly_carer",
        "exception_id": str(await _volunteer_exception(conn)),
        "notification_id": str(
            await conn.fetchval(
                "INSERT INTO notifications (account_id, kind, dedupe_key) VALUES ($1, 'signup_cancelled', 'matrix:1')"
                " RETURNING id",
                setup.organisation_account,
            )
        ),
        # Tenant A's 311 team serving the canary household (helper D), with a visit noted and an incident raised.
        **(await _visit_scenario(conn, household_id, setup.organisation_id, contract_id)),
        "household_id": str(household_id),
        # An invitation to tenant A's staff, still open.
        "invitation_id": str(
            await conn.fetchval(
                "INSERT INTO staff_invitations (token_hash, organisation_id, role, invitee_name, invited_by,"
                " expires_at) VALUES (sha256('matrix'), $1, 'staff', '矩阵', $2, now() + interval '1 day')"
                " RETURNING id",
                setup.organisation_id,
                setup.organisation_account,
            )
        ),
        # Evidence for tenant A's volunteer's certificate, to be verified by tenant A only (issue 11, step 4).
        **(await _evidence_scenario(conn, setup.organisation_id)),
        # Tenant A's roster proposal to its volunteer, the household's respite entitlement and request (helper C).
        **(await roster_scenario(conn, setup.organisation_id, household_id)),
        # Tenant A's committee's time-coin catalogue item and a volunteer's booking of it (issue 15, item 8).
        **(await _coins_scenario(conn, committee_account)),
        # An organisation's carer, and its planned day of home visits (issue 14).
        **(await _visit_plan_scenario(conn)),
    }


async def _visit_scenario(conn, household_id: int, organisation_id: int, contract_id: int) -> dict[str, str]:
    """Tenant A's team at the canary household: a done visit whose note and incident carry the canary text."""
    team_id = await create_team(conn, household_id, organisation_id, contract_id)
    volunteer_id = await conn.fetchval("SELECT volunteer_id FROM team_members WHERE team_id = $1", team_id)
    team_visit_id = await done_team_visit(conn, team_id, volunteer_id)
    note_id = await conn.fetchval(
        "INSERT INTO visit_notes (household_id, team_visit_id, visit_kind, volunteer_id, mood, signals, needs_other,"
        " remarks) VALUES ($1, $2, 'team', $3, 2, '{fall}', $4, $4) RETURNING id",
        household_id,
        team_visit_id,
        volunteer_id,
        CANARY_VISIT_NOTE,
    )
    committee_id = await conn.fetchval("SELECT committee_id FROM households WHERE id = $1", household_id)
    incident_id = await conn.fetchval(
        "INSERT INTO visit_incidents (household_id, committee_id, team_visit_id, visit_kind, organisation_id,"
        " volunteer_id, kind, severity, what_happened) VALUES ($1, $2, $3, 'team', $4, $5, 'fall', 'high', $6)"
        " RETURNING id",
        household_id,
        committee_id,
        team_visit_id,
        organisation_id,
        volunteer_id,
        CANARY_VISIT_NOTE,
    )
    return {"team_id": str(team_id), "note_id": str(note_id), "incident_id": str(incident_id)}


async def _group_scenario(conn, organisation_id: int) -> dict[str, str]:
    """A volunteer leading a group (themselves and a child) on a shift of tenant A."""
    leader = await volunteer_identity(conn)
    shift_id = await create_shift(conn, organisation_id=organisation_id, headcount=4)
    child = GroupMemberIn(name="矩阵小朋友", birth_year=2018, guardian_consent=True)
    view = await groups.sign_up_group(conn, leader, shift_id, GroupSignupForm(name="矩阵团体", members=[child]))
    return {"group_id": str(view.group.id), "member_id": str(view.members[1].id)}


async def _handover(conn, shift_id: int) -> int:
    """A place held and offered on tenant A's shift."""
    holder = await volunteer_identity(conn)
    await add_signup(conn, shift_id, holder.volunteer_id)
    return int(
        await conn.fetchval(
            "INSERT INTO handovers (shift_id, signup_id, volunteer_id, status) SELECT shift_id, id, volunteer_id,"
            " 'open' FROM signups WHERE shift_id = $1 RETURNING id",
            shift_id,
        )
    )


class _NoQueue:
    """A run's job is not needed: the scenario solves the run in its own transaction."""

    async def enqueue_job(self, function: str, *args: object, _job_id: str | None = None) -> None:
        return None


async def _visit_plan_scenario(conn) -> dict[str, str]:
    """An organisation's carer and a day it planned for a household at the canary address (issue 14)."""
    contract = await fvp.create_contract(conn)
    await fvp.add_household(conn, contract, care_level=3, address=CANARY_ADDRESS)
    carer_id, _, _ = await fvp.add_carer(conn, contract)
    day = fvp.tomorrow()
    run_id = await fvp.plan_here(conn, _NoQueue(), contract.organisation(), contract.contract_id, day)
    day_id = await conn.fetchval("SELECT subject_id FROM match_runs WHERE id = $1", run_id)
    visit_id = await conn.fetchval("SELECT min(id) FROM planned_visits WHERE visit_day_id = $1", day_id)
    assert visit_id is not None, "the scenario's day has a planned visit"
    # The visit pinned by the organisation's planner (plans people can steer); {pin_id} is the roster scenario's.
    await conn.execute(
        "INSERT INTO visit_pins (visit_day_id, visit_key, household_id, carer_id, starts_at, pinned_by)"
        " SELECT visit_day_id, visit_key, household_id, carer_id, lower(during), $2 FROM planned_visits WHERE id = $1",
        visit_id,
        contract.organisation_account,
    )
    monday = day - dt.timedelta(days=day.weekday())
    # The organisation's measured travel times (a pair between its household and its carer's base).
    household_id = await conn.fetchval("SELECT household_id FROM planned_visits WHERE id = $1", visit_id)
    matrix = await travel_times.replace(
        conn, contract.organisation(), "matrix.csv", f"H{household_id},C{carer_id},7\n".encode()
    )
    return {"carer_id": str(carer_id), "day_id": str(day_id), "visit_id": str(visit_id), "day": day.isoformat(),
            "start": monday.isoformat(), "matrix_id": str(matrix.id)}  # fmt: skip


async def _coins_scenario(conn, committee_account: int) -> dict[str, str]:
    """An item of tenant A's committee catalogue, booked by a volunteer of its district."""
    committee = await factories.identity_of(conn, committee_account)
    item = await coins.add_item(conn, committee, ItemCreate(name="矩阵米", price_minutes=60, kind="goods", stock=3))
    buyer = await volunteer_identity(conn)
    home = await conn.fetchval("SELECT c.area_id FROM committees c WHERE c.id = $1", committee.committee_id)
    await conn.execute("UPDATE volunteers SET home_area_id = $2 WHERE id = $1", buyer.volunteer_id, home)
    await credit(conn, buyer.volunteer_id, 120)
    booking = await coins.book(conn, buyer, BookingCreate(item_id=item.item.id))
    return {"item_id": str(item.item.id), "booking_id": str(booking.id)}


async def _evidence_scenario(conn, organisation_id: int) -> dict[str, str]:
    """A volunteer serving with tenant A, with a certificate and its evidence waiting for tenant A's verifier."""
    volunteer = await volunteer_identity(conn)
    await add_certificate(conn, volunteer.volunteer_id, "first_aid", verified=False)
    await add_signup(conn, await create_shift(conn, organisation_id=organisation_id), volunteer.volunteer_id)
    evidence_id = await conn.fetchval(
        "INSERT INTO credential_evidence (volunteer_id, subject, certificate_kind, issuer_number, uploaded_by)"
        " VALUES ($1, 'certificate', 'first_aid', 'CANARY-NO', $2) RETURNING id",
        volunteer.volunteer_id,
        volunteer.account_id,
    )
    return {"evidence_id": str(evidence_id), "volunteer_id": str(volunteer.volunteer_id), "claim": "first_aid"}


# Path parameters that name a kind rather than an object: the same for every tenant.
FIXED = {"subject": "capacity"}
# One fingerprint of the rows an outsider's call could change: taken before and after the outsiders' calls.
TENANT_A_ROWS = (
    "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ("
    " SELECT row(c.*)::text AS t FROM contracts c UNION ALL SELECT row(m.*)::text FROM milestones m"
    " UNION ALL SELECT row(o.*)::text FROM objections o UNION ALL SELECT row(n.*)::text FROM needs n"
    " UNION ALL SELECT row(t.*)::text FROM tenders t UNION ALL SELECT row(b.*)::text FROM bids b"
    " UNION ALL SELECT row(h.*)::text FROM households h UNION ALL SELECT row(i.*)::text FROM visit_incidents i"
    " UNION ALL SELECT row(r.*)::text FROM visit_ratings r UNION ALL SELECT row(tt.*)::text FROM travel_times tt) rows"
)


def concrete(path: str, ids: dict[str, str]) -> str:
    """The path with tenant A's ids in its parameters."""
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1)) or FIXED[m.group(1)], path)


async def call(client, method: str, path: str, headers: dict[str, str]):
    """One request with an empty JSON body where a body is allowed."""
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return await client.request(method, path, json=body, headers=headers)


async def test_anonymous_callers_are_refused_everywhere_but_the_public_operations(client, conn):
    ids = await scenario(conn)
    leaks = []
    for method, path in await operations(client):
        if (method, path) in PUBLIC:
            continue
        response = await call(client, method, concrete(path, ids), {})
        if response.status_code not in REFUSALS:
            leaks.append(f"{method} {path} → {response.status_code}")
        elif response.status_code == 401:
            assert response.headers["content-type"].startswith("application/problem+json")
    assert leaks == []


async def test_other_tenants_and_roles_never_see_or_change_tenant_a(client, conn):
    ids = await scenario(conn)
    before = await conn.fetchval(TENANT_A_ROWS)
    outsiders = {
        role: await factories.username_of(conn, await factories.create_account(conn, role))
        for role in ("funder", "organisation", "committee", "volunteer", "reviewer")
    }
    problems = []
    for role, username in outsiders.items():
        headers = await bearer(client, username)
        for method, path in await operations(client):
            if (method, path) in PUBLIC | OWN or path.startswith("/api/auth/token"):
                continue
            response = await call(client, method, concrete(path, ids), headers)
            text = response.text
            if response.status_code < 300 and "{" in path and method != "GET":
                problems.append(f"{role}: {method} {path} changed tenant A's object ({response.status_code})")
            # A refusal's problem document names the request path, so an id counts only where the path lacks it.
            echoed_bid = ids["bid_id"] in text and "{bid_id}" not in path
            canaries = (str(CANARY_PRICE_FEN), CANARY_ADDRESS, CANARY_NOTE, CANARY_VISIT_NOTE)
            leaked = any(canary in text for canary in canaries)
            if leaked or echoed_bid:
                problems.append(f"{role}: {method} {path} leaked tenant A's data ({response.status_code})")
    after = await conn.fetchval(TENANT_A_ROWS)
    assert problems == [], "\n".join(problems)
    assert after == before


async def test_another_committee_cannot_see_change_or_archive_a_household_even_with_a_valid_body(client, conn):
    ids = await scenario(conn)
    before = await conn.fetchval("SELECT row(h.*)::text FROM households h WHERE id = $1", int(ids["household_id"]))
    body = {"head_name": "篡改", "address": "别处路1号", "lat": 31.28, "lon": 121.52, "consent": True}
    for role in ("committee", "organisation", "funder", "volunteer"):
        headers = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, role)))
        for method, path, json in (
            ("GET", f"/api/households/{ids['household_id']}", None),
            ("PUT", f"/api/households/{ids['household_id']}", body),
            ("POST", f"/api/households/{ids['household_id']}/archive", None),
        ):
            response = await client.request(method, path, json=json, headers=headers)
            # Another committee, and an unlinked volunteer reading, learn nothing of its existence: 404, never 403.
            # So does an organisation holding no contract for it (one that does may read it: it employs the carers).
            expected = (
                404 if role == "committee" or (role in ("volunteer", "organisation") and method == "GET") else 403
            )
            assert response.status_code == expected, (role, method, response.status_code, response.text)
            assert CANARY_ADDRESS not in response.text and CANARY_NOTE not in response.text
    after = await conn.fetchval("SELECT row(h.*)::text FROM households h WHERE id = $1", int(ids["household_id"]))
    assert after == before


async def test_the_visit_note_canary_reaches_the_households_committee_and_nobody_who_does_not_serve_it(client, conn):
    ids = await scenario(conn)
    paths = (
        f"/api/households/{ids['household_id']}/visit-notes",
        f"/api/visit-notes/{ids['note_id']}",
        f"/api/incidents/{ids['incident_id']}",
    )
    committee_account = await conn.fetchval(
        "SELECT m.account_id FROM memberships m JOIN households h ON h.committee_id = m.committee_id"
        " WHERE h.id = $1 LIMIT 1",
        int(ids["household_id"]),
    )
    own = await bearer(client, await factories.username_of(conn, committee_account))
    for path in paths:
        response = await client.get(path, headers=own)
        assert response.status_code == 200 and CANARY_VISIT_NOTE in response.text, path
    # Another committee, another organisation, a volunteer not on the team, the funder, a reviewer.
    for role in ("committee", "organisation", "volunteer", "funder", "reviewer"):
        headers = await bearer(client, await factories.username_of(conn, await factories.create_account(conn, role)))
        for path in (*paths, "/api/incidents", "/api/visits/mine", "/api/visit-ratings/unrated"):
            response = await client.get(path, headers=headers)
            assert response.status_code in (200, 403, 404), (role, path, response.status_code)
            assert CANARY_VISIT_NOTE not in response.text, (role, path)
