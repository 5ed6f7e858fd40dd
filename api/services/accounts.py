"""Use cases for accounts: registration, login, sessions, API tokens, staff accounts, locale."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api import security
from api.services import credit_code
from api.services.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound, TooManyAttempts
from api.services.types import CreditCode, Hours, Id, Locale, Name, Password, Phone, Text, Username, today
from sql import accounts as accounts_sql
from sql import areas as areas_sql
from sql import audit
from sql import notifications as notifications_sql
from sql import orgs as orgs_sql
from sql import password_resets as password_resets_sql
from sql import volunteers as volunteers_sql

# Login throttling (docs/security.md): the window of the address rule, how much more an address may fail than one
# account (many people share an address behind a NAT or a proxy), and when a quiet failure streak is forgotten.
RATE_WINDOW_MINUTES = 15
ADDRESS_FACTOR = 4
FORGET_STREAK_HOURS = 24


class SecurityPolicy(msgspec.Struct, frozen=True):
    """The settings login and sessions obey (from LINLI_* settings)."""

    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    token_days: int = 30
    login_attempts_per_window: int = 5
    # The first wait after the free attempts, doubling with each further failure up to the cap.
    login_backoff_first_s: float = 1.0
    login_backoff_max_s: float = 15 * 60.0
    # CIDRs of reverse proxies whose X-Forwarded-For is believed (LINLI_TRUSTED_PROXIES).
    trusted_proxies: str = ""
    # Password reset codes one address may ask for in an hour (LINLI_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR).
    reset_requests_per_address_per_hour: int = 10


class Identity(msgspec.Struct, frozen=True):
    """Who is calling: the account, its role and the one tenant it acts for."""

    account_id: int
    username: str
    display_name: str
    role: str
    locale: str
    organisation_id: int | None = None
    committee_id: int | None = None
    funder_id: int | None = None
    volunteer_id: int | None = None
    via: Literal["session", "token"] = "session"

    # Each use case names its own refusal (a msgid), so the reader learns what only that role may do.
    def _tenant_id(self, role: str, tenant_id: int | None, refusal: str) -> int:
        if self.role != role or tenant_id is None:
            raise Forbidden(refusal)
        return tenant_id

    def funder_id_or_refuse(self, refusal: str) -> int:
        """The funder the caller acts for, or Forbidden(refusal) for any other role."""
        return self._tenant_id("funder", self.funder_id, refusal)

    def committee_id_or_refuse(self, refusal: str) -> int:
        """The residents' committee the caller acts for, or Forbidden(refusal) for any other role."""
        return self._tenant_id("committee", self.committee_id, refusal)

    def organisation_id_or_refuse(self, refusal: str) -> int:
        """The social organisation the caller acts for, or Forbidden(refusal) for any other role."""
        return self._tenant_id("organisation", self.organisation_id, refusal)

    def volunteer_id_or_refuse(self, refusal: str) -> int:
        """The caller's volunteer id, or Forbidden(refusal) for any other role."""
        return self._tenant_id("volunteer", self.volunteer_id, refusal)

    def publisher_or_refuse(self, refusal: str) -> tuple[int | None, int | None]:
        """(organisation_id, committee_id) of a caller who publishes shifts (one is None), or Forbidden(refusal)."""
        if self.role == "organisation" and self.organisation_id is not None:
            return self.organisation_id, None
        if self.role == "committee" and self.committee_id is not None:
            return None, self.committee_id
        raise Forbidden(refusal)


def logged_in(who: Identity | None) -> Identity:
    """The caller, or NotAuthenticated when anonymous."""
    if who is None:
        raise NotAuthenticated("Log in to continue")
    return who


class Credentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Username and password, and for a token the name it will be listed under."""

    username: Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[^\x00]*$")]
    password: Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    token_name: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")] = "api"


class VolunteerRegistration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a resident gives to register as a volunteer."""

    username: Username
    password: Password
    display_name: Name
    birth_year: Annotated[int, Meta(ge=1920, le=2026)]
    home_area_id: Id
    phone: Phone = ""
    travel_km: Annotated[float, Meta(gt=0, le=100)] = 5.0
    weekly_hour_cap: Annotated[int, Meta(ge=0, le=60)] = 8
    skills: list[Annotated[str, Meta(pattern=r"^[a-z_]{2,40}$")]] = []
    languages: list[Annotated[str, Meta(min_length=1, max_length=20, pattern=r"^[^\x00]*$")]] = []
    guardian_consent: bool = False
    guardian_name: Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")] = ""
    sensitive_data_consent: bool = False
    locale: Locale = "zh_CN"


class OrganisationRegistration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a social organisation gives to register; it stays pending until an admin verifies it."""

    username: Username
    password: Password
    display_name: Name
    name: Name
    credit_code: CreditCode
    registered_on: dt.date
    rating: Annotated[int, Meta(ge=1, le=5)] | None = None
    rating_expires_on: dt.date | None = None
    staff_hours_capacity: Hours = 0
    contact_phone: Phone = ""
    address: Text = ""
    description: Text = ""
    category_codes: list[Annotated[str, Meta(pattern=r"^[a-z0-9_]{2,40}$")]] = []
    area_ids: list[Id] = []
    locale: Locale = "zh_CN"


class StaffAccount(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An account an admin creates for a committee, a funder or a reviewer."""

    username: Username
    password: Password
    display_name: Name
    role: Literal["committee", "funder", "reviewer", "admin"]
    committee_id: Id | None = None
    funder_id: Id | None = None


class SessionStart(msgspec.Struct, frozen=True):
    """Where a new session starts from: the client's address and browser, the session it replaces, the policy."""

    address: str
    user_agent: str
    previous_session_id: str | None
    policy: SecurityPolicy


class LoginResult(msgspec.Struct, frozen=True):
    """A new session: the secret id (for the cookie only) and who it belongs to."""

    session_id: str
    identity: Identity


class IssuedToken(msgspec.Struct, frozen=True):
    """A new API token, shown once."""

    id: int
    token: str
    expires_in_days: int


def identity_of(row: accounts_sql.AccountRow, via: Literal["session", "token"]) -> Identity:
    """The caller's identity from their account row."""
    return Identity(
        account_id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        locale=row.locale,
        organisation_id=row.organisation_id,
        committee_id=row.committee_id,
        funder_id=row.funder_id,
        volunteer_id=row.volunteer_id,
        via=via,
    )


def backoff_s(failures: int, policy: SecurityPolicy) -> float:
    """Seconds the next attempt at an account waits after `failures` in a row: none before the limit, then the first
    wait (1 s), doubling with each further failure up to the cap (15 min)."""
    over = failures - policy.login_attempts_per_window
    if over < 0:
        return 0.0
    return min(policy.login_backoff_first_s * 2.0 ** min(over, 40), policy.login_backoff_max_s)


def _too_many(wait_s: float) -> TooManyAttempts:
    wait = max(1, math.ceil(wait_s))
    return TooManyAttempts("Too many failed logins; wait a moment and try again", retry_after_s=wait)


async def _admit_attempt(conn: asyncpg.Connection, username: str, address: str, policy: SecurityPolicy) -> int:
    """Count a login attempt before its password is checked, or refuse it (TooManyAttempts); returns its id.

    The username's throttle row stays locked until the attempt is counted, so parallel attempts are admitted one
    after another and no more of them reach the password check than the streak allows. The address rule refuses
    only accounts that have already failed from the address: an address over its limit cannot keep guessing at one
    account, and still lets every other account in with the right password.
    """
    async with conn.transaction():
        streak = await accounts_sql.lock_throttle(conn, username, FORGET_STREAK_HOURS)
        if streak.wait_s > 0:
            raise _too_many(streak.wait_s)
        here = await accounts_sql.address_failures(
            conn, username, address, RATE_WINDOW_MINUTES, streak.last_success_attempt_id
        )
        if here.this_account and here.by_address >= policy.login_attempts_per_window * ADDRESS_FACTOR:
            raise _too_many(here.wait_s)
        return await accounts_sql.admit_attempt(conn, username, address, backoff_s(streak.failures + 1, policy))


async def _check_credentials(conn: asyncpg.Connection, creds: Credentials, address: str, policy: SecurityPolicy) -> int:
    """The account id if the password is right; the attempt is counted (or refused) before the password is checked."""
    username = creds.username.strip().lower()
    if not username:
        raise NotAuthenticated("Wrong username or password")
    attempt_id = await _admit_attempt(conn, username, address, policy)
    stored = await accounts_sql.get_credentials(conn, username)
    ok = security.verify_password(stored.password_hash if stored else None, creds.password)
    if stored is None or not ok or stored.disabled:
        # Outside the caller's transaction, which the refusal rolls back: the failure stays counted.
        await accounts_sql.set_attempt_outcome(conn, attempt_id, False)
        raise NotAuthenticated("Wrong username or password")
    async with conn.transaction():
        await accounts_sql.set_attempt_outcome(conn, attempt_id, True)
        await accounts_sql.clear_throttle(conn, username, attempt_id)
    if security.needs_rehash(stored.password_hash):
        await accounts_sql.update_password_hash(conn, stored.id, security.hash_password(creds.password))
    return stored.id


async def login(
    conn: asyncpg.Connection,
    creds: Credentials,
    *,
    address: str,
    user_agent: str,
    previous_session_id: str | None,
    policy: SecurityPolicy,
) -> LoginResult:
    """Check the password and start a new session with a new id (the old one, if any, ends)."""
    account_id = await _check_credentials(conn, creds, address, policy)
    start = SessionStart(address=address, user_agent=user_agent, previous_session_id=previous_session_id, policy=policy)
    return await start_session(conn, account_id, start)


async def start_session(conn: asyncpg.Connection, account_id: int, start: SessionStart) -> LoginResult:
    """Start a new session with a new id for an account whose owner just proved who they are (the old one ends),
    audited as a login."""
    async with conn.transaction():
        if start.previous_session_id:
            await accounts_sql.delete_session(conn, security.token_hash(start.previous_session_id))
        session_id = security.new_token()
        await accounts_sql.insert_session(
            conn,
            security.token_hash(session_id),
            account_id,
            start.policy.session_absolute_hours,
            start.user_agent,
            start.address,
        )
        row = await accounts_sql.get_account(conn, account_id)
        assert row is not None
        await audit.append(
            conn,
            actor_account_id=account_id,
            action="account.login",
            object_type="account",
            object_id=account_id,
            detail={"address": start.address},
        )
    return LoginResult(session_id=session_id, identity=identity_of(row, "session"))


async def logout(conn: asyncpg.Connection, session_id: str) -> None:
    """End a session."""
    await accounts_sql.delete_session(conn, security.token_hash(session_id))


async def identify_session(conn: asyncpg.Connection, session_id: str, policy: SecurityPolicy) -> Identity | None:
    """The identity behind a live session id, extending its idle window; None if expired."""
    row = await accounts_sql.touch_session(conn, security.token_hash(session_id), policy.session_idle_minutes)
    return None if row is None else identity_of(row.account, "session")


async def identify_token(conn: asyncpg.Connection, token: str) -> Identity | None:
    """The identity behind a live API token; None if revoked, expired or unknown."""
    row = await accounts_sql.touch_token(conn, security.token_hash(token))
    return None if row is None else identity_of(row.account, "token")


async def issue_token(
    conn: asyncpg.Connection, creds: Credentials, *, address: str, policy: SecurityPolicy
) -> IssuedToken:
    """Exchange a username and password for a bearer token."""
    account_id = await _check_credentials(conn, creds, address, policy)
    async with conn.transaction():
        token = security.new_token()
        token_id = await accounts_sql.insert_token(
            conn, security.token_hash(token), account_id, creds.token_name, policy.token_days
        )
        await audit.append(
            conn,
            actor_account_id=account_id,
            action="token.issue",
            object_type="api_token",
            object_id=token_id,
            detail={"name": creds.token_name},
        )
    return IssuedToken(id=token_id, token=token, expires_in_days=policy.token_days)


async def list_tokens(conn: asyncpg.Connection, who: Identity) -> list[accounts_sql.TokenRow]:
    """The caller's own tokens."""
    return await accounts_sql.list_tokens(conn, who.account_id)


async def revoke_token(conn: asyncpg.Connection, who: Identity, token_id: int) -> None:
    """Revoke one of the caller's own tokens."""
    async with conn.transaction():
        if not await accounts_sql.revoke_token(conn, token_id, who.account_id):
            raise NotFound("No such token")
        await audit.append(
            conn, actor_account_id=who.account_id, action="token.revoke", object_type="api_token", object_id=token_id
        )


async def new_account(
    conn: asyncpg.Connection, *, username: str, password_hash: str, display_name: str, role: str, locale: str
) -> int:
    """Create the account, or Conflict on a taken username; the last check of a registration (see
    `_hashed_after_checks`)."""
    if await accounts_sql.username_taken(conn, username):
        raise Conflict("This username is taken", fields={"username": "This username is taken"})
    return await accounts_sql.insert_account(
        conn,
        username=username,
        display_name=display_name.strip(),
        password_hash=password_hash,
        role=role,
        locale=locale,
    )


def _hashed_after_checks(errors: dict[str, str], password: str) -> str:
    """Refuse the form's other errors, then hash the password, before anyone looks at the username.

    Whether a username exists is said only to a form that is otherwise valid, and only after the password's hash
    (a tenth of a second) was made either way, so neither the answer nor its timing lists accounts to a caller
    who sends half-filled forms.
    """
    if errors:
        raise Invalid("Some fields are not valid", fields=errors)
    return security.hash_password(password)


async def register_volunteer(conn: asyncpg.Connection, form: VolunteerRegistration) -> int:
    """Create a volunteer's account and profile; returns the account id."""
    errors: dict[str, str] = {}
    age = today().year - form.birth_year
    if age < 10:
        errors["birth_year"] = "Children under 10 cannot register"
    elif age < 14 and not form.guardian_consent:
        errors["guardian_consent"] = "Under 14, a guardian's consent is required"
    guardian_name = form.guardian_name.strip()
    if form.guardian_consent and not guardian_name:
        # A consent nobody can be traced to is no consent: the record names who gave it.
        errors["guardian_name"] = "Give the name of the guardian who consented"
    home = await areas_sql.get_area(conn, form.home_area_id)
    if home is None or home.level != "committee":
        errors["home_area_id"] = "Choose the residents' committee you live in"
    password_hash = _hashed_after_checks(errors, form.password)
    async with conn.transaction():
        account_id = await new_account(
            conn,
            username=form.username,
            password_hash=password_hash,
            display_name=form.display_name,
            role="volunteer",
            locale=form.locale,
        )
        values = volunteers_sql.VolunteerFields(
            display_name=form.display_name.strip(),
            birth_year=form.birth_year,
            phone=form.phone,
            home_area_id=form.home_area_id,
            travel_km=form.travel_km,
            weekly_hour_cap=form.weekly_hour_cap,
            skills=sorted(set(form.skills)),
            languages=sorted(set(form.languages)),
            guardian_consent=form.guardian_consent,
            guardian_name=guardian_name if form.guardian_consent else None,
        )
        volunteer_id = await volunteers_sql.insert_volunteer(conn, account_id, values, form.sensitive_data_consent)
        if volunteer_id is None:
            # The committee was checked above; only an area removed in between lands here.
            raise Invalid(
                "Choose the residents' committee you live in",
                fields={"home_area_id": "Choose the residents' committee you live in"},
            )
        phone = form.phone.strip()
        if sum(ch.isdigit() for ch in phone) >= 5:
            # The number given at registration is where text reminders (and password reset codes) go: it shows on
            # the inbox's contact form, where the volunteer can change or remove it, rather than only as a fallback.
            await notifications_sql.set_contact(conn, account_id, None, phone)
        await audit.append(
            conn,
            actor_account_id=account_id,
            action="volunteer.register",
            object_type="volunteer",
            object_id=volunteer_id,
        )
    return account_id


async def register_organisation(conn: asyncpg.Connection, form: OrganisationRegistration) -> int:
    """Create a pending organisation and its manager's account; returns the organisation id."""
    org_id, _account_id = await _register_organisation(conn, form)
    return org_id


async def _register_organisation(conn: asyncpg.Connection, form: OrganisationRegistration) -> tuple[int, int]:
    """Create a pending organisation and its manager's account; returns both ids."""
    errors: dict[str, str] = {}
    code = form.credit_code.strip().upper()
    if (why := credit_code.error_of(code)) is not None:
        errors["credit_code"] = why
    if (form.rating is None) != (form.rating_expires_on is None):
        errors["rating_expires_on"] = "A rating needs its expiry date, and an expiry date needs a rating"
    if form.registered_on > today():
        errors["registered_on"] = "The registration date cannot be in the future"
    password_hash = _hashed_after_checks(errors, form.password)
    async with conn.transaction():
        if await orgs_sql.credit_code_taken(conn, code):
            raise Conflict(
                "An organisation with this credit code is already registered",
                fields={"credit_code": "An organisation with this credit code is already registered"},
            )
        account_id = await new_account(
            conn,
            username=form.username,
            password_hash=password_hash,
            display_name=form.display_name,
            role="organisation",
            locale=form.locale,
        )
        org_id = await orgs_sql.insert_org(
            conn,
            name=form.name.strip(),
            credit_code=code,
            rating=form.rating,
            rating_expires_on=form.rating_expires_on,
            registered_on=form.registered_on,
            staff_hours_capacity=form.staff_hours_capacity,
            contact_phone=form.contact_phone,
            address=form.address,
            description=form.description,
        )
        await orgs_sql.replace_org_categories(conn, org_id, sorted(set(form.category_codes)))
        await orgs_sql.replace_org_areas(conn, org_id, sorted(set(form.area_ids)))
        await accounts_sql.insert_membership(conn, account_id, organisation_id=org_id, role="manager")
        await audit.append(
            conn,
            actor_account_id=account_id,
            action="organisation.register",
            object_type="organisation",
            object_id=org_id,
            detail={"credit_code": code},
        )
    return org_id, account_id


async def register_and_log_in(
    conn: asyncpg.Connection, form: VolunteerRegistration | OrganisationRegistration, start: SessionStart
) -> LoginResult:
    """Register a volunteer or an organisation (pending) and log the new account in with a new session, as login
    does, in one transaction."""
    async with conn.transaction():
        if isinstance(form, VolunteerRegistration):
            account_id = await register_volunteer(conn, form)
        else:
            _org_id, account_id = await _register_organisation(conn, form)
        return await start_session(conn, account_id, start)


async def create_staff_account(conn: asyncpg.Connection, admin: Identity, form: StaffAccount) -> int:
    """An admin creates a committee, funder, reviewer or admin account; returns its id."""
    if form.role == "committee" and (form.committee_id is None or form.funder_id is not None):
        raise Invalid("A committee account needs its committee", fields={"committee_id": "Choose the committee"})
    if form.role == "funder" and (form.funder_id is None or form.committee_id is not None):
        raise Invalid("A funder account needs its funder", fields={"funder_id": "Choose the funder"})
    if form.role in ("reviewer", "admin") and (form.funder_id or form.committee_id):
        raise Invalid(
            "Reviewers and admins act for no tenant", fields={"role": "Reviewers and admins act for no tenant"}
        )
    password_hash = _hashed_after_checks({}, form.password)
    async with conn.transaction():
        account_id = await new_account(
            conn,
            username=form.username,
            password_hash=password_hash,
            display_name=form.display_name,
            role=form.role,
            locale="zh_CN",
        )
        if form.committee_id or form.funder_id:
            try:
                await accounts_sql.insert_membership(
                    conn, account_id, committee_id=form.committee_id, funder_id=form.funder_id
                )
            except asyncpg.ForeignKeyViolationError:
                raise NotFound("No such committee or funder") from None
        await audit.append(
            conn,
            actor_account_id=admin.account_id,
            action="account.create",
            object_type="account",
            object_id=account_id,
            detail={"role": form.role},
        )
    return account_id


async def list_accounts(
    conn: asyncpg.Connection, role: str | None, limit: int, offset: int
) -> list[accounts_sql.AccountRow]:
    """Accounts for the admin's list."""
    return await accounts_sql.list_accounts(conn, role, limit, offset)


async def set_account_disabled(conn: asyncpg.Connection, admin: Identity, account_id: int, disabled: bool) -> None:
    """Disable an account, ending its sessions and revoking its API tokens for good, or re-enable it.

    Re-enabling revives nothing: whoever held a session or a token while the account was disabled logs in again.
    """
    if account_id == admin.account_id:
        raise Conflict("You cannot disable your own account")
    async with conn.transaction():
        if not await accounts_sql.set_disabled(conn, account_id, disabled):
            raise NotFound("No such account")
        detail: dict[str, int] = {}
        if disabled:
            detail["sessions_ended"] = await accounts_sql.delete_account_sessions(conn, account_id)
            detail["tokens_revoked"] = await accounts_sql.revoke_account_tokens(conn, account_id)
        await audit.append(
            conn,
            actor_account_id=admin.account_id,
            action="account.disable" if disabled else "account.enable",
            object_type="account",
            object_id=account_id,
            detail=detail,
        )


async def set_locale(conn: asyncpg.Connection, who: Identity, locale: str) -> None:
    """Remember the caller's language."""
    await accounts_sql.update_locale(conn, who.account_id, locale)


class Purged(msgspec.Struct, frozen=True):
    """How many expired credentials a purge removed."""

    sessions: int
    tokens: int
    login_attempts: int
    login_throttles: int = 0
    reset_codes: int = 0
    reset_requests: int = 0


async def purge_expired(conn: asyncpg.Connection, policy: SecurityPolicy) -> Purged:
    """Delete expired sessions, long-dead tokens, old login attempts and password reset codes (a cron job)."""
    async with conn.transaction():
        return Purged(
            sessions=await accounts_sql.purge_sessions(conn, policy.session_idle_minutes),
            tokens=await accounts_sql.purge_tokens(conn),
            login_attempts=await accounts_sql.purge_login_attempts(conn),
            login_throttles=await accounts_sql.purge_throttle(conn, FORGET_STREAK_HOURS),
            reset_codes=await password_resets_sql.purge(conn),
            reset_requests=await password_resets_sql.purge_requests(conn),
        )
