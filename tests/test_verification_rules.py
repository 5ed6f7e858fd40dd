"""The rules behind verification (issue 11, step 4), at the service and schema level: the guarded pick-up refuses
unverified credentials by itself, a changed declaration is declared again, a volunteer cannot verify their own
claim, evidence is typed by its bytes and bounded in size, adult-only shifts need a verified birth date, and an
elder's file needs consent and stays within the daily cap, whose refusal notifies the committee."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from api.services import household_access, verification
from api.services.errors import Forbidden, Invalid, TooManyAttempts
from sql import shifts as shifts_sql
from sql import volunteers as volunteers_sql
from tests.factories import create_account
from tests.factories_shifts import add_certificate, add_signup, create_shift, verify_claim, volunteer_identity
from tests.factories_tendering import create_district, create_household


async def _pick_up(conn, shift_id: int, volunteer_id: int) -> tuple[int, object] | None:
    # Python's eligibility check is left out on purpose: the statement alone must refuse (no blocking reason given).
    return await shifts_sql.pick_up(conn, shift_id, volunteer_id, blocking=[], actor_account_id=None)


async def test_the_guarded_pick_up_refuses_a_declared_certificate_whatever_python_checked(conn):
    shift_id = await create_shift(conn, required_certificates=["elderly_carer"])
    who = await volunteer_identity(conn)
    certificate = await add_certificate(conn, who.volunteer_id, verified=False)
    assert await _pick_up(conn, shift_id, who.volunteer_id) is None
    assert await conn.fetchval("SELECT taken FROM shifts WHERE id = $1", shift_id) == 0
    check_id = await verify_claim(
        conn, who.volunteer_id, "certificate", "elderly_carer", expires_on=dt.date(2099, 1, 1)
    )
    assert certificate and await _pick_up(conn, shift_id, who.volunteer_id) is not None
    # Revoked: the statement refuses the next one too.
    other = await create_shift(
        conn, required_certificates=["elderly_carer"], starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=9)
    )
    await conn.execute(
        "UPDATE credential_checks SET state = 'revoked', revoked_at = now(), revoked_by = decided_by WHERE id = $1",
        check_id,
    )
    assert await _pick_up(conn, other, who.volunteer_id) is None


async def test_a_changed_declaration_is_declared_again(conn):
    who = await volunteer_identity(conn)
    await add_certificate(conn, who.volunteer_id, "first_aid", expires_on=dt.date(2030, 1, 1))
    current = "SELECT check_id FROM volunteer_certificates WHERE volunteer_id = $1"
    number = await conn.fetchval("SELECT number FROM volunteer_certificates WHERE volunteer_id = $1", who.volunteer_id)
    # Saved again unchanged: still verified. Another number: declared again.
    await volunteers_sql.upsert_certificate(
        conn, who.volunteer_id, kind="first_aid", number=number, issued_on=None, expires_on=dt.date(2030, 1, 1)
    )
    assert await conn.fetchval(current, who.volunteer_id) is not None
    await volunteers_sql.upsert_certificate(
        conn, who.volunteer_id, kind="first_aid", number="OTHER-1", issued_on=None, expires_on=dt.date(2030, 1, 1)
    )
    assert await conn.fetchval(current, who.volunteer_id) is None


async def test_the_schema_refuses_a_volunteer_verifying_their_own_claim(conn):
    who = await volunteer_identity(conn, verified=False)
    staff = await create_account(conn, "committee")
    committee_id = await conn.fetchval("SELECT committee_id FROM memberships WHERE account_id = $1", staff)
    evidence_id = await conn.fetchval(
        "INSERT INTO credential_evidence (volunteer_id, subject, issuer_number, uploaded_by)"
        " VALUES ($1, 'insurance', 'P-1', $2) RETURNING id",
        who.volunteer_id, who.account_id,
    )  # fmt: skip
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO credential_checks (volunteer_id, subject, state, evidence_id, expires_on, decided_by,"
                " committee_id) VALUES ($1, 'insurance', 'verified', $2, '2099-01-01', $3, $4)",
                who.volunteer_id, evidence_id, who.account_id, committee_id,
            )  # fmt: skip


async def test_evidence_is_typed_by_its_bytes_and_bounded_in_size(conn):
    who = await volunteer_identity(conn)
    await add_certificate(conn, who.volunteer_id, "health", verified=False)
    pdf = b"%PDF-1.7\n" + b"x" * 100
    assert await verification.upload_evidence(conn, who, "health", pdf, max_bytes=1000) > 0
    with pytest.raises(Invalid) as too_big:
        await verification.upload_evidence(conn, who, "health", pdf, max_bytes=50)
    assert "file" in too_big.value.fields
    with pytest.raises(Invalid):
        await verification.upload_evidence(conn, who, "health", b"<svg onload=alert(1)>", max_bytes=1000)
    stored = await conn.fetchval(
        "SELECT content_type FROM credential_evidence WHERE volunteer_id = $1 AND subject = 'certificate'",
        who.volunteer_id,
    )
    assert stored == "application/pdf"


async def test_an_adult_only_shift_needs_a_verified_birth_date(conn):
    shift_id = await create_shift(conn, min_age=18)
    declared = await volunteer_identity(conn, verified=False, birth_year=1980)
    view = await shifts_sql.get_shift_for_volunteer(conn, shift_id, declared.volunteer_id)
    assert view is not None and view.reasons == ["age_unverified"]
    proven = await volunteer_identity(conn, birth_year=1980)
    view = await shifts_sql.get_shift_for_volunteer(conn, shift_id, proven.volunteer_id)
    assert view is not None and view.reasons == []


async def test_an_elders_file_needs_consent_and_stays_within_the_daily_cap(conn):
    d = await create_district(conn)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    who = await volunteer_identity(conn)
    households = [await create_household(conn, d.committee_id) for _ in range(2)]
    for n, household_id in enumerate(households):
        shift_id = await create_shift(
            conn, committee_id=d.committee_id, household_id=household_id, starts_at=soon + dt.timedelta(hours=3 * n)
        )
        await add_signup(conn, shift_id, who.volunteer_id)
        await conn.execute(
            "INSERT INTO household_confirmations (household_id, volunteer_id, shift_id, confirmed_by, committee_id)"
            " VALUES ($1, $2, $3, $4, $5)",
            household_id, who.volunteer_id, shift_id, d.committee_account, d.committee_id,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        await household_access.view_household(conn, who, households[0], daily_cap=1)
    await conn.execute("UPDATE volunteers SET sensitive_data_consent_at = now() WHERE id = $1", who.volunteer_id)
    assert (await household_access.view_household(conn, who, households[0], daily_cap=1)).basis == "shift"
    # The same household again is no new one; a second household is over the cap of 1.
    await household_access.view_household(conn, who, households[0], daily_cap=1)
    with pytest.raises(TooManyAttempts):
        await household_access.view_household(conn, who, households[1], daily_cap=1)
    notices = await conn.fetch("SELECT account_id, kind FROM notifications WHERE kind = 'household_cap_reached'")
    assert [(n["account_id"], n["kind"]) for n in notices] == [(d.committee_account, "household_cap_reached")]
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'household.cap_reached'") == 1
