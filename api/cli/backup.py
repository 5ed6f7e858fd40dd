"""`linli backup` and `linli restore`: the whole database (uploads included) as one pg_dump custom archive.

The file is a plain pg_dump archive, so `pg_restore` alone can read it too. Its schema version is the archive's own
schema_migrations table, taken in the same snapshot as the data, so the two can never disagree. A restore runs in
one transaction: a failure halfway leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from api.dev.servers import DevServerError, find_pg_bindir
from api.services import operations
from sql.migrate import migration_files

DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    """What `linli backup` wrote."""

    file: Path
    size_bytes: int
    migration: str
    seconds: float

    def __str__(self) -> str:
        return (
            f"backup: {self.file} ({self.size_bytes / 1e6:.1f} MB, schema at {self.migration}) in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class RestoreReport:
    """What `linli restore` did."""

    file: Path
    database: str
    migration: str
    pending: list[str]
    replaced: bool
    seconds: float

    def __str__(self) -> str:
        done = "replaced everything in" if self.replaced else "restored into"
        text = f"restore: {self.file} {done} {self.database} (schema at {self.migration}) in {self.seconds:.1f} s"
        if self.pending:
            text += f"\nthis code has {len(self.pending)} newer migration(s): run `linli migrate` before starting"
        return text


def pg_tool(name: str) -> Path:
    """pg_dump, pg_restore or psql beside the PostgreSQL server `linli up` uses, else the one on PATH."""
    try:
        return find_pg_bindir() / name
    except DevServerError:
        found = shutil.which(name)
        if found is None:
            raise BackupError(
                f"{name} not found: install PostgreSQL's client programs (e.g. `apt-get install postgresql-client`)"
            ) from None
        return Path(found)


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password (argv is visible to every user of the machine) and an environment holding it."""
    parts = urlsplit(url)
    env = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "10")}
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = unquote(parts.password)
    userinfo, hostport = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{hostport}" if user else hostport)), env


def database_of(url: str) -> str:
    """The database name a URL points at."""
    return unquote(urlsplit(url).path.lstrip("/")) or "(default)"


def with_database(url: str, name: str) -> str:
    """The same server and account, another database."""
    if not DATABASE_NAME.match(name):
        raise BackupError(f"{name!r} is not a database name Linli creates: use lower-case letters, digits and _")
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def _run(cmd: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def archive_migrations(file: Path) -> list[str]:
    """The migrations applied to the database an archive was made of, read from its schema_migrations data."""
    code, out, err = await _run(
        [str(pg_tool("pg_restore")), "--data-only", "--table", "schema_migrations", "--file", "-", str(file)],
        dict(os.environ),
    )
    if code != 0:
        raise BackupError(f"{file} is not an archive pg_restore can read: {err.strip()}")
    names: list[str] = []
    copying = False
    for line in out.splitlines():
        if line.startswith("COPY ") and "schema_migrations" in line:
            copying = True
        elif copying and line == "\\.":
            break
        elif copying:
            names.append(line.split("\t", 1)[0])
    if not names:
        raise BackupError(f"{file} is not a Linli backup: it holds no applied migrations")
    return sorted(names)


def _put_in_place(partial: Path, file: Path) -> int:
    """Flush the checked archive to disk and give it its name (a crash leaves the old file or the new one)."""
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(file)
    return file.stat().st_size


async def make_backup(url: str, file: Path) -> BackupReport:
    """Dump the database to FILE (written whole or not at all), check it reads back, and record the backup."""
    started = time.monotonic()
    target, env = libpq_target(url)
    partial = file.with_name(file.name + ".partial")
    code, _, err = await _run(
        [str(pg_tool("pg_dump")), "--format=custom", "--file", str(partial), "--dbname", target], env
    )
    if code != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {err.strip()}")
    try:
        migrations = await archive_migrations(partial)
        size = await asyncio.to_thread(_put_in_place, partial, file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    conn = await asyncpg.connect(url)
    try:
        await operations.record_backup(conn, file=file.name, size_bytes=size, migration=migrations[-1])
    finally:
        await conn.close()
    return BackupReport(file, size, migrations[-1], time.monotonic() - started)


async def _prepare_target(url: str, database: str | None, force: bool) -> tuple[str, bool]:
    """The URL to restore into (creating a named database when missing) and whether it holds data to replace."""
    if database is not None:
        target = with_database(url, database)
        admin = await asyncpg.connect(url)
        try:
            await operations.create_database_if_missing(admin, database)
        finally:
            await admin.close()
    else:
        target = url
    conn = await asyncpg.connect(target)
    try:
        holds = await operations.holds_data(conn)
    finally:
        await conn.close()
    if holds and not force:
        raise BackupError(
            f"the database {database_of(target)} already holds tables: restore into an empty one "
            "(--database NAME creates it) or add --force to replace everything it holds"
        )
    return target, holds


async def _pipe_restore(file: Path, target: str, env: dict[str, str], replace: bool) -> None:
    """pg_restore's script into psql inside one transaction, committed only when pg_restore read the whole file."""
    load = await asyncio.create_subprocess_exec(
        str(pg_tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", target,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    dump = await asyncio.create_subprocess_exec(
        # Owners and grants are the old server's; extension comments need an owner a managed server may not give.
        str(pg_tool("pg_restore")), "--no-owner", "--no-acl", "--no-comments", "--file", "-", str(file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert load.stdin is not None
    assert load.stderr is not None
    assert dump.stdout is not None
    assert dump.stderr is not None
    load_err = asyncio.ensure_future(load.stderr.read())
    dump_err = asyncio.ensure_future(dump.stderr.read())
    prelude = b"BEGIN;\n" + (b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n" if replace else b"")
    loader_alive = True
    try:
        load.stdin.write(prelude)
        while chunk := await dump.stdout.read(_CHUNK):
            load.stdin.write(chunk)
            await load.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        loader_alive = False  # psql stopped at an error; its message says which
        with contextlib.suppress(ProcessLookupError):  # pg_restore may have finished meanwhile
            dump.kill()
        # What pg_restore wrote before it died is read to the end: asyncio reports a process's exit only once its
        # pipes are closed, and a full, unread pipe would keep this wait from ever returning.
        await dump.stdout.read()
    dump_code = await dump.wait()
    if loader_alive and dump_code == 0:
        try:
            load.stdin.write(b"COMMIT;\n")
            await load.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
    # Without COMMIT, psql ends its session at end of input and PostgreSQL rolls the transaction back.
    load.stdin.close()
    load_code = await load.wait()
    if load_code != 0:
        raise BackupError(f"the restore failed and was rolled back: {(await load_err).decode(errors='replace')}")
    if dump_code != 0:
        raise BackupError(f"pg_restore failed, nothing was restored: {(await dump_err).decode(errors='replace')}")


async def restore_backup(url: str, file: Path, *, database: str | None = None, force: bool = False) -> RestoreReport:
    """Restore FILE into the database (or a named one on the same server), refusing a newer schema or a database
    that holds data unless forced; audited in the restored log."""
    started = time.monotonic()
    migrations = await archive_migrations(file)
    known = [path.name for path in migration_files()]
    newer = operations.unknown_migrations(migrations, known)
    if newer:
        raise BackupError(
            f"{file} was made by a newer Linli: its schema has {', '.join(newer)}, which this code does not know; "
            "upgrade Linli first, then restore"
        )
    target, replace = await _prepare_target(url, database, force)
    libpq, env = libpq_target(target)
    await _pipe_restore(file, libpq, env, replace)
    conn = await asyncpg.connect(target)
    try:
        await operations.record_restore(conn, file=file.name, migration=migrations[-1], replaced=replace)
    finally:
        await conn.close()
    pending = sorted(set(known) - set(migrations))
    return RestoreReport(file, database_of(target), migrations[-1], pending, replace, time.monotonic() - started)
