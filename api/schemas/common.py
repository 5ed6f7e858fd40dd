"""Response structs of the JSON API (the public shape, decoupled from the *Row structs)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def out(value: Any, cls: type[S], /, **computed: Any) -> S:
    """The response struct of a row (or a use case's view): its fields copied by name, nested rows included.

    `computed` gives the fields the row does not hold as such (renamed, derived or shaped for the public).
    """
    if computed:
        names = [f.name for f in msgspec.structs.fields(cls)]
        if unknown := computed.keys() - set(names):
            raise TypeError(f"{cls.__name__} has no field {sorted(unknown)}")
        value = {name: computed[name] if name in computed else getattr(value, name) for name in names}
    return msgspec.convert(value, cls, from_attributes=True)


def outs(values: list[Any], cls: type[S]) -> list[S]:
    """The response structs of a list of rows."""
    return [out(v, cls) for v in values]


class Health(msgspec.Struct, frozen=True):
    """Liveness."""

    status: str


class Ready(msgspec.Struct, frozen=True):
    """Readiness of the backing services."""

    status: str
    database: bool
    redis: bool
    migrations: int


class AreaOut(msgspec.Struct, frozen=True):
    """An area of the district."""

    id: int
    parent_id: int | None
    level: str
    code: str
    name: str
    lat: float
    lon: float
    children: int


class CatalogueItemOut(msgspec.Struct, frozen=True):
    """A purchasable service."""

    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    personal: bool


class OrgOut(msgspec.Struct, frozen=True):
    """A social organisation's public profile."""

    id: int
    name: str
    credit_code: str
    rating: int | None
    rating_expires_on: dt.date | None
    registered_on: dt.date
    status: str
    staff_hours_capacity: int
    contact_phone: str
    address: str
    description: str
    category_codes: list[str]
    area_ids: list[int]


class OrgPageOut(msgspec.Struct, frozen=True):
    """A page of organisations."""

    items: list[OrgOut]
    total: int
    limit: int
    offset: int


class AccountOut(msgspec.Struct, frozen=True):
    """An account as its owner or an admin sees it."""

    id: int
    username: str
    display_name: str
    role: str
    locale: str
    organisation_id: int | None
    committee_id: int | None
    funder_id: int | None
    volunteer_id: int | None


class Created(msgspec.Struct, frozen=True):
    """The id of something just created."""

    id: int


class TokenOut(msgspec.Struct, frozen=True):
    """An API token's public facts."""

    id: int
    name: str
    created_at_epoch: float
    expires_at_epoch: float
    last_used_at_epoch: float | None
    revoked: bool


class IssuedTokenOut(msgspec.Struct, frozen=True):
    """A new bearer token, shown once."""

    id: int
    token: str
    token_type: str
    expires_in_days: int


class AuditEntryOut(msgspec.Struct, frozen=True):
    """One audit log entry."""

    id: int
    at: dt.datetime
    actor_account_id: int | None
    actor_username: str | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


class AuditVerifyOut(msgspec.Struct, frozen=True):
    """The result of checking the audit log's hash chain."""

    intact: bool
    broken_ids: list[int]
