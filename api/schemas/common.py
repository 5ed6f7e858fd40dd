"""Response structs of the JSON API.

An Out whose public shape is exactly a row's or a service view's subclasses it (`class AreaOut(AreaRow, ...)`): one
declaration, and the committed OpenAPI snapshot (docs/api/openapi.json, tests/test_openapi_snapshot.py) is what
stops a column added to the row from reaching the JSON unseen. An Out that leaves out fields of its row (an internal
id, a household head's name, a run's seed) subclasses the row's public base instead (`class NeedOut(NeedPublic, ...)`,
the row being `class NeedRow(NeedPublic, ...)` plus its internal fields) and declares only what it renames, derives or
nests (a bid's public id shown as `id`, a tender's `lots`). An Out that reshapes most of its row (a secret, a
household's address) is declared on its own, field by field.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import msgspec

from api.services.accounts import IssuedToken
from sql.accounts import AccountPublic, TokenRow
from sql.areas import AreaRow, CatalogueItemPublic
from sql.audit import AuditRow
from sql.org_checks import OrgCheckState
from sql.orgs import OrgPublic

S = TypeVar("S", bound=msgspec.Struct)


@functools.cache
def _field_names(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    # msgspec.structs.fields resolves the class's annotations anew at every call (a few per cent of a sign-up's CPU).
    return tuple(f.name for f in msgspec.structs.fields(cls))


def out(value: Any, cls: type[S], /, **computed: Any) -> S:
    """The response struct of a row (or a use case's view): its fields copied by name, nested rows included.

    `computed` gives the fields the row does not hold as such (renamed, derived or shaped for the public).
    """
    if computed:
        names = _field_names(cls)
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


class AreaOut(AreaRow, frozen=True):
    """An area of the district."""


class PageOut(msgspec.Struct, frozen=True):
    """Where a page of a list stands: how many items there are in all, and which it holds (each page adds `items`)."""

    total: int
    limit: int
    offset: int


class CatalogueItemOut(CatalogueItemPublic, frozen=True):
    """A purchasable service."""


class OrgOut(OrgPublic, frozen=True):
    """A social organisation's public profile."""


class OrgCheckOut(OrgCheckState, frozen=True):
    """An organisation's declared capacity or rating with its state (`none`, `declared`, `verified`, `revoked`), the
    value verified, against what, by whom (and for which funder; none: the admin) and when."""


class OrgPageOut(PageOut, frozen=True):
    """A page of organisations."""

    items: list[OrgOut]


class AccountOut(AccountPublic, frozen=True):
    """An account as its owner or an admin sees it."""


class Created(msgspec.Struct, frozen=True):
    """The id of something just created."""

    id: int


class TokenOut(TokenRow, frozen=True):
    """An API token's public facts."""


class IssuedTokenOut(IssuedToken, frozen=True):
    """A new bearer token, shown once."""

    token_type: str


class AuditEntryOut(AuditRow, frozen=True):
    """One audit log entry."""


class AuditVerifyOut(msgspec.Struct, frozen=True):
    """The result of checking the audit log's hash chain; entries not sealed yet are counted apart, not as broken."""

    intact: bool
    broken_ids: list[int]
    unsealed: int
    oldest_unsealed_age_s: float
