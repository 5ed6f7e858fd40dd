"""Imported volunteers claim their profiles: the committee issues a one-time claim code per volunteer it imported
(handed over in person, by phone or WeChat), and the person, with the phone number in the sheet and that code,
chooses a username and password; the profile (skills, hours, languages) becomes theirs.

A code is 8 characters from an alphabet without look-alikes (about 40 bits), stored as its SHA-256 and compared only
after the try was counted: after five wrong tries for a phone its codes stop working until the committee issues new
ones. The password is hashed before anything is looked up, so a right and a wrong code take the same time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import itertools
import secrets
import uuid
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from api import security
from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound
from api.services.register_imports import mask_phone, phone_of
from api.services.service_records import mask_name
from api.services.types import Locale, Password, Username
from sql import accounts as accounts_sql
from sql import audit
from sql import register_imports as imports_sql

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_FAILURES = 5
_ONLY_COMMITTEES = "Only a residents' committee imports its registers"
WRONG_CODE = "The phone number or the claim code is not right"
ISSUED = "volunteer.claim_codes_issued"
CLAIMED = "volunteer.claimed"


class VolunteerClaim(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a person gives to claim the profile a committee imported for them."""

    phone: Annotated[str, Meta(min_length=1, max_length=30, pattern=r"^[^\x00]*$")]
    code: Annotated[str, Meta(min_length=1, max_length=30, pattern=r"^[^\x00]*$")]
    username: Username
    password: Password
    locale: Locale = "zh_CN"


class IssuedCode(msgspec.Struct, frozen=True):
    """A claim code for one imported volunteer, to hand over; shown once (only its hash is kept)."""

    display_name: str
    phone: str
    code: str


class WaitingProfile(msgspec.Struct, frozen=True):
    """An imported volunteer who has not claimed their profile, as staff see them: name and phone masked."""

    masked_name: str
    masked_phone: str
    has_code: bool
    locked: bool


class WaitingImport(msgspec.Struct, frozen=True):
    """A confirmed volunteers' import of the committee with the profiles still waiting to be claimed."""

    public_id: str
    filename: str
    imported_at: dt.datetime
    volunteers: list[WaitingProfile]


async def waiting_profiles(conn: asyncpg.Connection, who: Identity) -> list[WaitingImport]:
    """The committee's imported volunteers who have not claimed their profiles, by import, newest import first."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    rows = await imports_sql.waiting_volunteers(conn, committee_id, MAX_FAILURES)
    return [
        WaitingImport(
            public_id=str(public_id),
            filename=group[0].filename,
            imported_at=group[0].imported_at,
            volunteers=[
                WaitingProfile(
                    masked_name=mask_name(r.display_name),
                    masked_phone=mask_phone(r.phone),
                    has_code=r.has_code,
                    locked=r.locked,
                )
                for r in group
            ],
        )
        for public_id, rows_of_import in itertools.groupby(rows, key=lambda r: r.public_id)
        if (group := list(rows_of_import))
    ]


def new_code() -> str:
    """A fresh claim code, as printed: two groups of four (`K7MQ-2XPA`)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def code_hash(code: str) -> bytes:
    """The stored form of a code as typed: without dashes or spaces, in capitals."""
    bare = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(bare.encode()).digest()


async def issue_codes(conn: asyncpg.Connection, who: Identity, public_id: str) -> list[IssuedCode]:
    """New claim codes for every volunteer of the committee's import who has not claimed their profile yet (the
    codes issued before stop working)."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    try:
        key = uuid.UUID(public_id)
    except ValueError:
        raise NotFound("No such upload") from None
    async with conn.transaction():
        upload = await imports_sql.get_import(conn, key, committee_id)
        if upload is None or upload.kind != "volunteers" or upload.confirmed_at is None:
            # Another committee's import, or one not imported yet, answers as a missing one.
            raise NotFound("No such upload")
        waiting = await imports_sql.unclaimed(conn, key, committee_id)
        issued: list[IssuedCode] = []
        for volunteer in waiting:
            code = new_code()
            await imports_sql.set_claim_code(conn, volunteer.id, code_hash(code))
            issued.append(IssuedCode(display_name=volunteer.display_name, phone=volunteer.phone, code=code))
        if not issued:
            raise Conflict("Every volunteer of this import has claimed their profile")
        await audit_log.record(conn, who, ISSUED, "register_import", public_id, detail={"codes": len(issued)})
    return issued


def codes_workbook(codes: list[IssuedCode], claim_url: str) -> bytes:
    """The codes as a sheet to hand out: name, phone, code, and where to claim."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "认领码"
    sheet.append(["姓名", "联系电话", "认领码", "认领网址"])
    for c in codes:
        sheet.append([c.display_name, c.phone, c.code, claim_url])
    for column, width in zip("ABCD", (12, 16, 14, 40), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def claim(conn: asyncpg.Connection, form: VolunteerClaim) -> int:
    """The person claims the profile imported for them: a new volunteer account linked to it; its id."""
    phone = phone_of(form.phone)
    if phone is None:
        raise Invalid("Some fields are not valid", fields={"phone": "A phone number has 7 to 15 digits"})
    password_hash = security.hash_password(form.password)
    wanted = code_hash(form.code)
    async with conn.transaction():
        open_to_tries = await imports_sql.count_claim_try(conn, phone, MAX_FAILURES)
        match = next(
            (v for v in open_to_tries if v.claim_code_hash and hmac.compare_digest(v.claim_code_hash, wanted)), None
        )
        if match is not None:
            if await accounts_sql.username_taken(conn, form.username):
                raise Conflict("This username is taken", fields={"username": "This username is taken"})
            account_id = await accounts_sql.insert_account(
                conn, username=form.username, display_name=match.display_name, password_hash=password_hash,
                role="volunteer", locale=form.locale,
            )  # fmt: skip
            if not await imports_sql.claim_volunteer(conn, match.id, account_id):
                raise Conflict("This profile has been claimed already")
            await audit.append(
                conn, actor_account_id=account_id, action=CLAIMED, object_type="volunteer", object_id=match.id
            )
            return account_id
    # The wrong try stays counted (the transaction above committed it).
    raise Invalid(WRONG_CODE, fields={"code": WRONG_CODE})
