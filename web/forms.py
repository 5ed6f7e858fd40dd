"""Turn a submitted form into a use case's command, collecting every field's error for the page, and run it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Container
from typing import Any, TypeVar, get_args, get_origin

import msgspec
from litestar import Response

from api.i18n import gettext as _
from api.services.errors import DomainError

T = TypeVar("T", bound=msgspec.Struct)
C = TypeVar("C")
R = TypeVar("R")
Errors = dict[str, str]


def _is_list(tp: Any) -> bool:
    origin = get_origin(tp)
    if origin is list:
        return True
    return any(_is_list(arg) for arg in get_args(tp)) if origin is not None else False


def _friendly(message: str) -> str:
    """msgspec's English message as a short sentence for the person at the form."""
    text = message.split(" - at ")[0]
    if "length >=" in text or "Expected `str` of length" in text or "Object missing required field" in text:
        return _("This field is required or too short")
    if "length <=" in text:
        return _("This is too long")
    if "must match pattern" in text:
        return _("This is not in the expected format")
    if "Expected `int`" in text or "Expected `float`" in text:
        return _("Enter a number")
    if ">=" in text or ">" in text:
        return _("This number is too small")
    if "<=" in text or "<" in text:
        return _("This number is too large")
    if "date" in text:
        return _("Enter a date as YYYY-MM-DD")
    return _("This value is not valid")


def parse_form(cls: type[T], form: Any, extra: dict[str, Any] | None = None) -> tuple[T | None, dict[str, str]]:
    """The command built from the form, or None and a message per field that was wrong."""
    values: dict[str, Any] = dict(extra or {})
    errors: dict[str, str] = {}
    for field in msgspec.structs.fields(cls):
        if field.name in values:
            continue
        if _is_list(field.type):
            raw_list = [v for v in form.getall(field.name, []) if v != ""] if hasattr(form, "getall") else []
            values[field.name] = raw_list
            continue
        raw = form.get(field.name)
        if raw is None or raw == "":
            if field.type is bool or field.type == "bool":
                values[field.name] = False
            elif field.required:
                errors[field.name] = _("This field is required")
            continue
        if field.type is bool or field.type == "bool":
            values[field.name] = raw in ("on", "true", "1", "yes")
            continue
        values[field.name] = raw.strip() if field.name not in ("password",) else raw
    if errors:
        return None, errors
    try:
        return msgspec.convert(values, cls, strict=False), {}
    except msgspec.ValidationError as exc:
        # msgspec stops at the first error; check the fields one by one to report them all.
        for field in msgspec.structs.fields(cls):
            if field.name not in values:
                continue
            try:
                msgspec.convert(values[field.name], field.type, strict=False)
            except msgspec.ValidationError as field_exc:
                errors[field.name] = _friendly(str(field_exc))
            except TypeError:
                continue
        if not errors:
            errors["__all__"] = _friendly(str(exc))
        return None, errors


async def submit(
    parsed: tuple[C | None, Errors],
    save: Callable[[C], Awaitable[R]],
    done: Callable[[R], Response[Any] | Awaitable[Response[Any]]],
    again: Callable[[Errors, int], Awaitable[Response[Any]]],
    *,
    fields: Callable[[Errors], Errors] = dict,
    refusal: str | None = None,
    refusal_statuses: Container[int] | None = None,
) -> Response[Any]:
    """Run the use case on a well-formed command and answer with `done`, or the form `again` with each field's error.

    `parsed` is the command and the errors found on the page; the use case runs only when there are none. `done`
    answers a saved command: a redirect, or a page it reads first (then it is awaited). A domain
    error's field errors are renamed to the page's fields by `fields`. A refusal without field errors goes beside
    the field `refusal` (only for `refusal_statuses`, when given); without one it reaches the error page.
    The form comes back with 422 when the page found the errors, else with the domain error's status.
    """
    command, errors = parsed
    status = 422
    if command is not None and not errors:
        try:
            result = await save(command)
        except DomainError as exc:
            errors = fields(exc.fields)
            if not errors:
                if refusal is None or (refusal_statuses is not None and exc.status not in refusal_statuses):
                    raise
                errors = {refusal: exc.detail}
            status = exc.status
        else:
            answer = done(result)
            return await answer if inspect.isawaitable(answer) else answer
    return await again(errors, status)
