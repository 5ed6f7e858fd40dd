"""Domain errors that use cases raise; api.errors turns them into RFC 9457 problem responses.

Messages are English msgids; the edges translate them for the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """A use case refused: the request was understood and answered with a reason."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, fields: Mapping[str, str] | None = None, **params: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = dict(fields or {})
        self.params = params


class Invalid(DomainError):
    """The input breaks a rule; `fields` says which field and why."""

    status = 422
    kind = "invalid-input"
    title = "The input is not valid"


class NotAuthenticated(DomainError):
    """Log in first (or the credentials were wrong)."""

    status = 401
    kind = "not-authenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    """Logged in, but this role may not do this."""

    status = 403
    kind = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    """No such thing, or not one the caller may see."""

    status = 404
    kind = "not-found"
    title = "Not found"


class Conflict(DomainError):
    """The thing is not in a state that allows this (already verified, already taken, …)."""

    status = 409
    kind = "conflict"
    title = "Conflict with the current state"


class TooManyAttempts(DomainError):
    """Too many failed logins; try again later."""

    status = 429
    kind = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


def found(row: T | None, detail: str) -> T:
    """The row, or NotFound(detail) when there is none (a missing row or one the caller may not see)."""
    if row is None:
        raise NotFound(detail)
    return row
