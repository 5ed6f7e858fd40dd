"""Structured logs (structlog) for the web app and the worker, one line of key=value per event.

Every line logged while a request is handled carries its request id (`request_id`), whether it comes from
structlog or from a standard-library logger (uvicorn, asyncpg, litestar).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

import structlog
from structlog.typing import EventDict, WrappedLogger

# Set by the request-id middleware (api/observe.py) for the length of one request.
request_id: ContextVar[str | None] = ContextVar("linli_request_id", default=None)


def add_request_id(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the current request's id, when there is one."""
    current = request_id.get()
    if current is not None:
        event_dict.setdefault("request_id", current)
    return event_dict


class RequestIdFilter(logging.Filter):
    """Gives each standard-library record the current request's id ("-" outside a request) for the format."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; only annotate it."""
        record.request_id = request_id.get() or "-"
        return True


def configure_logging(debug: bool) -> None:
    """Log to stderr as key=value lines with a timestamp and the request id; DEBUG when asked."""
    level = logging.DEBUG if debug else logging.INFO
    logging.basicConfig(
        level=level, format="level=%(levelname)s logger=%(name)s event=%(message)r request_id=%(request_id)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            structlog.processors.format_exc_info,
            structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "event", "request_id"], drop_missing=True
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
