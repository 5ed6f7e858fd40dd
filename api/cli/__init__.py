"""The `linli` command: up, serve, worker, migrate, seed, backup, restore, reerase, solve, bench."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from api.settings import load_settings


@click.group()
def cli() -> None:
    """Linli (邻里): community services, matched fairly."""


@cli.command()
@click.option(
    "--replica",
    is_flag=True,
    help="Also start a streaming replica of the local PostgreSQL; browsing, dashboards and exports read from it.",
)
def up(replica: bool) -> None:
    """Start PostgreSQL, Valkey, migrations, demo data, the web app and a worker; Ctrl-C stops all of it."""
    from api.dev.supervisor import run_up

    sys.exit(run_up(load_settings(), replica))


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default LINLI_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default LINLI_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web app and the JSON API in LINLI_WEB_WORKERS processes (needs LINLI_DATABASE_URL and
    LINLI_REDIS_URL); refuses a schema behind or ahead of this code (`linli migrate` applies migrations)."""
    from api.cli.serving import serve as run_serve

    run_serve(host, port)


@cli.command()
def worker() -> None:
    """Run the arq worker: optimiser runs and timed jobs (needs LINLI_DATABASE_URL and LINLI_REDIS_URL); it keeps
    running while Redis is away and reconnects when it is back."""
    from api.cli.serving import refuse_other_schema
    from api.logs import configure_logging
    from workers.main import serve

    settings = load_settings()
    configure_logging(settings.debug)
    refuse_other_schema(settings)
    asyncio.run(serve())


def _database_url() -> str:
    url = load_settings().database_url
    if not url:
        raise click.UsageError("LINLI_DATABASE_URL is not set (`linli up` sets it for the processes it starts)")
    return url


@cli.command()
def migrate() -> None:
    """Apply pending migrations; stops with a clear message if an applied one was edited."""
    from sql.migrate import MigrationError
    from sql.migrate import migrate as run_migrations

    try:
        applied = asyncio.run(run_migrations(_database_url()))
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


@cli.command()
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed: same seed, same data.")
@click.option("--scale", default=1.0, show_default=True, help="Multiply the bulk counts (benchmark data).")
@click.option(
    "--preset",
    type=click.Choice(["district", "city"]),
    default="district",
    show_default=True,
    help="district: the demo district with its logins and stories; city: Shanghai for load tests (16 districts, "
    "6,000 committees, 1,000,000 volunteers, 100,000 shifts; accounts share one password).",
)
def seed(seed_value: int, scale: float, preset: str) -> None:
    """Create the demo district (areas, committees, funders, organisations, volunteers, households), or a city."""
    from api.demo import AlreadySeededError, seed_demo
    from api.demo.city import seed_city

    seeding = seed_city if preset == "city" else seed_demo
    try:
        report = asyncio.run(seeding(_database_url(), seed=seed_value, scale=scale))
    except AlreadySeededError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup(file: Path) -> None:
    """Write the whole database (uploads included) to FILE as a pg_dump archive, and record the backup."""
    from api.cli.backup import BackupError, make_backup

    try:
        click.echo(asyncio.run(make_backup(_database_url(), file)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--database", default=None, help="Restore into this database on the same server (created if missing).")
@click.option("--force", is_flag=True, help="Replace everything the database holds.")
def restore(file: Path, database: str | None, force: bool) -> None:
    """Restore a `linli backup` FILE; refuses a newer schema, and a database holding data unless --force."""
    from api.cli.backup import BackupError, restore_backup

    try:
        click.echo(asyncio.run(restore_backup(_database_url(), file, database=database, force=force)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("volunteer_ids", nargs=-1, type=int)
@click.option("--log", "log_file", type=click.File("r"), default=None, help="Read the erased ids from this log.")
def reerase(volunteer_ids: tuple[int, ...], log_file: Any) -> None:
    """After a restore, erase again the volunteers erased since the backup (by id, or as a log names them)."""
    import asyncpg

    from api.services import data_rights

    wanted = list(volunteer_ids) + (data_rights.erased_in_log(log_file) if log_file else [])

    async def run() -> list[int]:
        conn = await asyncpg.connect(_database_url())
        try:
            return await data_rights.erase_again(conn, wanted)
        finally:
            await conn.close()

    done = asyncio.run(run())
    click.echo(f"erased again: {len(done)} of {len(wanted)} ({len(wanted) - len(done)} already erased or unknown)")


@cli.command()
@click.argument("model", type=click.Choice(["gap", "award", "portfolio", "roster", "teams", "visits"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--time-limit", default=10.0, show_default=True, help="Seconds, end to end.")
@click.option("--seed", "seed_value", default=0, show_default=True, help="Same seed, same answer.")
@click.option(
    "--work",
    type=float,
    default=None,
    help="Search budget in reference seconds (default: a share of the time limit). Same seed and work, same answer.",
)
def solve(model: str, file: Path, time_limit: float, seed_value: int, work: float | None) -> None:
    """Solve one problem file and print the result as JSON."""
    from api.cli.solving import solve_file

    click.echo(solve_file(model, file, time_limit_s=time_limit, seed=seed_value, work=work))


@cli.command()
@click.argument(
    "kind", type=click.Choice(["gap", "roster", "teams", "churn", "spread", "chaos", "visits", "http", "explain"])
)
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--size",
    default=None,
    help="Instance size, e.g. 500x1000 (volunteers x shifts); for chaos 20x20 and http 50x10 (clients x s).",
)
@click.option("--time-limit", default=10.0, show_default=True, help="Seconds per instance.")
@click.option("--seed", "seed_value", default=0, show_default=True)
@click.option("--sets", default=None, help="visits only: which benchmark sets, e.g. A,B (default all).")
@click.option(
    "--preset",
    type=click.Choice(["district", "city"]),
    default="district",
    show_default=True,
    help="explain and http: the data the pages are served from (the city is seeded in minutes).",
)
@click.option(
    "--database-url",
    default=None,
    help="explain and http: a database already seeded with the preset, instead of a throw-away one.",
)
def bench(
    kind: str,
    path: Path | None,
    size: str | None,
    time_limit: float,
    seed_value: int,
    sets: str | None,
    preset: str,
    database_url: str | None,
) -> None:
    """Measure the optimiser against its baselines, the service under chaos, or sign-ups and reads through HTTP
    against raw SQL, and print the figures; `explain` prints the plan of every statement the hot pages run."""
    if kind == "explain":
        from api.cli import explain

        click.echo(explain.bench(preset, database_url, lambda line: click.echo(line, err=True)), nl=False)
        return
    if kind == "chaos":
        from api.cli import chaos

        sys.exit(0 if chaos.bench(size) else 1)
    if kind == "http":
        from api.cli import bench_http

        sys.exit(0 if bench_http.bench(size, preset, database_url) else 1)
    from api.cli.solving import bench as run_bench

    run_bench(kind, path, size=size, time_limit_s=time_limit, seed=seed_value, sets=sets)


def main() -> None:
    """Entry point of the console script."""
    cli()


if __name__ == "__main__":
    main()
