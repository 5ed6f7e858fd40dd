"""`linli serve`: the web app in LINLI_WEB_WORKERS processes (one per core by default) on uvloop and httptools.

With one process uvicorn serves the app in this process. With several, this process binds the port and stays as
their parent (uvicorn's multiprocess supervisor): it starts a new process when one dies, and SIGINT or SIGTERM
stops them all. Request metrics are then written by every process into PROMETHEUS_MULTIPROC_DIR (a fresh folder
unless the operator names one; its old files are removed at start) and `/metrics` adds them up, whichever process
answers the scrape. Each process's database pool holds its share of LINLI_DATABASE_CONNECTIONS.

Neither `linli serve` nor `linli worker` migrates: `linli migrate` runs once per deployment. Both refuse to start on
a schema that is not their code's (migrations pending, or applied ones the code does not know).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import click
import structlog
import uvicorn

from api.settings import Settings, load_settings, web_processes

if TYPE_CHECKING:
    from litestar import Litestar

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
log = structlog.get_logger("linli.serve")


async def _schema_refusal(settings: Settings) -> str | None:
    from api.services.health import database_outage
    from sql.migrate import schema_drift

    assert settings.database_url is not None
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=settings.database_connect_timeout_s)
    except Exception as exc:
        if not database_outage(exc):
            raise
        # The web app starts while PostgreSQL is down and answers 503 until it is back; the check waits for the
        # next start rather than keeping the service down.
        log.warning("database unreachable at start: the schema was not checked", error=str(exc))
        return None
    try:
        return (await schema_drift(conn)).refusal()
    finally:
        await conn.close()


def refuse_other_schema(settings: Settings) -> None:
    """Stop the start (non-zero exit, with the reason) when the database's schema is not this code's."""
    if not settings.database_url:
        return  # the app's own start says that the URL is missing
    refusal = asyncio.run(_schema_refusal(settings))
    if refusal is not None:
        raise click.ClickException(refusal)


def app_factory() -> Litestar:
    """The app as one of several web processes builds it (uvicorn imports this in each)."""
    from api.app import create_app
    from api.dev.servers import exit_with_parent
    from api.logs import configure_logging

    # Killed with SIGKILL, the parent cannot stop us: we stop ourselves, so no orphan keeps serving the port.
    exit_with_parent(signal.SIGTERM)
    settings = load_settings()
    configure_logging(settings.debug)
    return create_app(settings)


@contextlib.contextmanager
def metrics_folder() -> Iterator[Path]:
    """The folder where the web processes write their request metrics, emptied of earlier runs' files."""
    given = os.environ.get(MULTIPROC_VARIABLE)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.db"):
            old.unlink()
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="linli-metrics-"))
    # Set before the processes start: prometheus_client decides at import whether it writes files.
    os.environ[MULTIPROC_VARIABLE] = str(folder)
    try:
        yield folder
    finally:
        del os.environ[MULTIPROC_VARIABLE]
        shutil.rmtree(folder, ignore_errors=True)


def uvicorn_options(settings: Settings, host: str | None, port: int | None) -> dict[str, Any]:
    """How uvicorn serves Linli: the C event loop and HTTP parser, no access log (our logs carry request ids)."""
    return {
        "host": host or settings.host,
        "port": port or settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "proxy_headers": False,
        "log_config": None,
        "access_log": False,
        "server_header": False,
    }


def serve(host: str | None, port: int | None) -> None:
    """Serve the web app and the JSON API until SIGINT or SIGTERM."""
    from api.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.debug)
    refuse_other_schema(settings)
    options = uvicorn_options(settings, host, port)
    processes = web_processes(settings)
    if processes == 1:
        from api.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    with metrics_folder():
        uvicorn.run(f"{__name__}:app_factory", factory=True, workers=processes, **options)
