"""Every error as an RFC 9457 problem response (JSON API) or a readable page (web), never a bare 500."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template

from api import i18n
from api.auth import current_identity
from api.services import health
from api.services.errors import DomainError, NotAuthenticated, TooManyAttempts

log = structlog.get_logger("linli.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_HTTP_KINDS = {
    400: ("bad-request", "Bad request"),
    401: ("not-authenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict with the current state"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "The input is not valid"),
    429: ("too-many-attempts", "Too many attempts"),
}


class FieldError(msgspec.Struct, frozen=True):
    """One field that was wrong, and why."""

    field: str
    message: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """An RFC 9457 problem details object."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] = []
    # Extension member: the id in the response's X-Request-ID and on every log line of this request.
    request_id: str = ""


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """Whether the caller is a person on a page rather than an API client."""
    path = request.url.path
    return not (path.startswith("/api") or path.startswith("/schema"))


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    _ = i18n.gettext
    if wants_page(request):
        return Template(
            template_name="error.html",
            context={
                "who": current_identity(request),
                "status": status,
                "title": _(title),
                "detail": _(detail),
                "errors": errors or [],
            },
            status_code=status,
            headers=headers,
        )
    problem = Problem(
        type=f"/problems/{kind}",
        title=_(title),
        status=status,
        detail=_(detail),
        instance=request.url.path,
        errors=errors or [],
        request_id=request.scope["state"].get("request_id", ""),
    )
    return Response(
        content=msgspec.json.encode(problem),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """A refused use case: its status, its reason, and which fields were wrong."""
    if isinstance(exc, NotAuthenticated) and wants_page(request) and request.method == "GET":
        return Redirect(path=f"/login?next={quote(request.url.path)}")
    headers = {"retry-after": str(exc.retry_after_s)} if isinstance(exc, TooManyAttempts) else None
    errors = [FieldError(field=k, message=i18n.gettext(v)) for k, v in exc.fields.items()]
    return _problem(request, exc.status, exc.kind, exc.title, exc.detail, errors, headers)


def _validation_errors(extra: Any) -> list[FieldError]:
    """Litestar's validation details ({"key", "message"} items) as field errors."""
    errors: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                errors.append(FieldError(field=str(item.get("key", "")), message=str(item.get("message", ""))))
    return errors


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework errors (unknown route, bad JSON, CSRF failure, wrong method) as problems."""
    status = exc.status_code
    if status >= 500:
        return internal_error_handler(request, exc)
    kind, title = _HTTP_KINDS.get(status, ("error", "Error"))
    detail = exc.detail or title
    if "CSRF" in detail:
        detail = "The form expired or came from another site; reload the page and try again"
    errors = _validation_errors(exc.extra) if isinstance(exc, ValidationException) else []
    if isinstance(exc, ValidationException):
        detail = "Validation failed: " + "; ".join(f"{e.field} — {e.message}" for e in errors) if errors else detail
    return _problem(request, status, kind, title, detail, errors, dict(exc.headers or {}) or None)


def integrity_error_handler(
    request: Request[Any, Any, Any], exc: asyncpg.IntegrityConstraintViolationError
) -> Response[Any]:
    """A constraint in the schema refused the change: the request conflicts with what is stored."""
    log.info("constraint refused a change", constraint=getattr(exc, "constraint_name", None), path=request.url.path)
    if isinstance(exc, asyncpg.UniqueViolationError | asyncpg.ExclusionViolationError):
        return _problem(request, 409, "conflict", "Conflict with the current state", "This already exists")
    return _problem(request, 422, "invalid-input", "The input is not valid", "The input breaks a rule of the data")


def data_error_handler(request: Request[Any, Any, Any], exc: asyncpg.DataError) -> Response[Any]:
    """A value PostgreSQL cannot hold (out of range, bad encoding): the input was wrong."""
    log.info("database refused a value", error=type(exc).__name__, path=request.url.path)
    return _problem(request, 422, "invalid-input", "The input is not valid", "A value is out of range or malformed")


# For this long after an outage ends, a request that still fails as in an outage met a connection the outage left
# behind (mid-operation, or dead but not yet replaced): answered 503 like the outage's others, logged as its tail,
# not as a new outage (a process would otherwise log one outage of the server as two).
OUTAGE_TAIL_S = 5.0


class DatabaseOutage:
    """One outage of the database as the app sees it, logged once: a warning at its first failed request, a line
    when the database answers and takes writes again. Requests in between are answered 503 without a log line."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.ended: float | None = None
        self.answered = 0
        self.pool: asyncpg.Pool | None = None

    def begin(self, error: BaseException, where: str) -> None:
        """A request (or the start-up) found the database unreachable."""
        if self.since is None:
            self.since = time.monotonic()
            self.answered = 0
            log.warning("database unavailable; answering 503 until it is back", error=type(error).__name__, where=where)

    def answered_503(self, error: BaseException, where: str) -> None:
        """A request was answered 503 because of the outage (or, just after it, of a connection it left behind)."""
        if self.since is None and self.ended is not None and time.monotonic() - self.ended < OUTAGE_TAIL_S:
            log.info("a connection the database outage left behind failed a request; answered 503", where=where)
            return
        self.begin(error, where)
        self.answered += 1

    async def on_acquire(self, conn: asyncpg.Connection) -> None:
        """The pool's setup hook: during an outage, a connection handed out must answer a query first; the outage
        ends when one answers and may write."""
        if self.since is None:
            return
        try:
            writable = await health.database_writable(conn)
        except (asyncpg.InternalClientError, asyncpg.InterfaceError) as exc:
            # A connection the outage left in the middle of an operation (its request ended when the server went
            # away) cannot run this check: it is dropped, and this request waits for the database like the others.
            if isinstance(exc, asyncpg.InterfaceError) and "another operation is in progress" not in str(exc):
                raise
            conn.terminate()
            raise ConnectionResetError("a connection was left mid-operation by the database outage") from exc
        if not writable:
            # Still read-only (a standby, or writes switched off): reads go on, writes keep answering 503, and each
            # request gets a new session, which sees it when the server takes writes again.
            if self.pool is not None:
                await self.pool.expire_connections()
            return
        if self.since is not None:  # another request may have ended the outage while this one waited
            if self.pool is not None:
                # A connection opened before the outage may be dead without knowing it yet (a failover behind the
                # same address): each is replaced at its next use instead of failing one more request.
                await self.pool.expire_connections()
            seconds = round(time.monotonic() - self.since, 1)
            log.info(
                f"database back after {seconds} s, {self.answered} requests answered 503",
                seconds=seconds,
                answered_503=self.answered,
            )
            self.since = None
            self.ended = time.monotonic()
            self.answered = 0


def database_unavailable_handler(request: Request[Any, Any, Any], exc: BaseException) -> Response[Any]:
    """The database is down, restarting or read-only: 503 with Retry-After, logged once per outage."""
    outage: DatabaseOutage | None = request.app.state.get("database_outage")
    if outage is not None:
        outage.answered_503(exc, request.url.path)
    retry_after = request.app.state.settings.database_retry_after_s
    return _problem(
        request,
        503,
        "service-unavailable",
        "Service temporarily unavailable",
        "The service is temporarily unavailable, please try again later",
        headers={"retry-after": str(retry_after)},
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: logged with its traceback, answered with a problem that leaks nothing (an outage answers 503)."""
    if health.database_outage(exc):
        return database_unavailable_handler(request, exc)
    log.error("unhandled error", path=request.url.path, method=request.method, exc_info=exc)
    return _problem(request, 500, "internal-error", "Internal error", "Something went wrong on our side")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_exception_handler,
    asyncpg.IntegrityConstraintViolationError: integrity_error_handler,
    asyncpg.DataError: data_error_handler,
    Exception: internal_error_handler,
}
