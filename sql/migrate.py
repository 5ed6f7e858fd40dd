"""The migration runner: numbered, forward-only .sql files, one transaction each, recorded with a checksum."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import NamedTuple

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The committed checksum of every migration, and earlier texts some database may have applied (see its header).
MANIFEST_NAME = "checksums.txt"
NAME_PATTERN = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    filename text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT filename, checksum FROM schema_migrations ORDER BY filename"
INSERT_APPLIED = "INSERT INTO schema_migrations (filename, checksum) VALUES ($1, $2)"
# Two processes starting at once (web and worker) must not both apply the same file.
LOCK_MIGRATIONS = "SELECT pg_advisory_lock(hashtext('linli_migrations'))"
UNLOCK_MIGRATIONS = "SELECT pg_advisory_unlock(hashtext('linli_migrations'))"


class MigrationError(Exception):
    """Start-up must stop: a migration failed, or an applied one was edited or removed."""


def migration_files(folder: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migration files in order; a misnamed or duplicate-numbered file is an error."""
    files = sorted(p for p in folder.glob("*.sql"))
    seen: dict[str, str] = {}
    for path in files:
        match = NAME_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        number = match.group(1)
        if number in seen:
            raise MigrationError(f"{path.name} and {seen[number]} share the number {number}")
        seen[number] = path.name
    return files


def checksum(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Manifest(NamedTuple):
    """The committed checksum of each migration file, and the superseded texts a database may hold instead."""

    committed: dict[str, str]
    superseded: set[tuple[str, str]]


def read_manifest(folder: Path = MIGRATIONS_DIR) -> Manifest:
    """The folder's checksums.txt (empty when there is none, as in a scratch folder)."""
    committed: dict[str, str] = {}
    superseded: set[tuple[str, str]] = set()
    path = folder / MANIFEST_NAME
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, digest, *rest = line.split()
        if rest and rest[0] == "superseded":
            superseded.add((name, digest))
        else:
            committed[name] = digest
    return Manifest(committed, superseded)


async def apply_migrations(conn: asyncpg.Connection, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration on this connection; returns the names applied."""
    files = migration_files(folder)
    superseded = read_manifest(folder).superseded
    await conn.execute(LOCK_MIGRATIONS)
    try:
        await conn.execute(CREATE_MIGRATIONS_TABLE)
        applied = {r["filename"]: r["checksum"] for r in await conn.fetch(SELECT_APPLIED)}
        on_disk = {p.name for p in files}
        for name in applied:
            if name not in on_disk:
                raise MigrationError(f"{name} was applied to this database but is missing from {folder}")
        done: list[str] = []
        for path in files:
            digest = checksum(path)
            if path.name in applied:
                # An earlier committed text is known: a later migration brings such a database up to date.
                if applied[path.name] != digest and (path.name, applied[path.name]) not in superseded:
                    raise MigrationError(
                        f"{path.name} was edited after it was applied (checksum {applied[path.name][:12]}… "
                        f"in the database, {digest[:12]}… on disk); migrations are forward-only: "
                        "undo the edit and add a new numbered file instead"
                    )
                continue
            try:
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute(INSERT_APPLIED, path.name, digest)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{path.name} failed and was rolled back: {exc}") from exc
            done.append(path.name)
        return done
    finally:
        await conn.execute(UNLOCK_MIGRATIONS)


class SchemaDrift(NamedTuple):
    """How a database's schema differs from this code's migrations."""

    pending: list[str]  # this code's migrations the database has not applied
    newer: list[str]  # applied migrations this code does not know: a newer Linli migrated the database

    def refusal(self) -> str | None:
        """Why a process of this code must not start on this database (None: the schema is this code's)."""
        if self.newer:
            return (
                f"the database's schema is newer than this code (it has {', '.join(self.newer)}, which this code "
                "does not know): deploy the newer code here, or restore a backup made by this version"
            )
        if self.pending:
            return (
                f"the database's schema is behind this code ({len(self.pending)} migration(s) pending, the first "
                f"{self.pending[0]}): run `linli migrate` once for this deployment, then start"
            )
        return None


async def schema_drift(conn: asyncpg.Connection, folder: Path = MIGRATIONS_DIR) -> SchemaDrift:
    """Which of this code's migrations the database lacks, and which it has that this code does not know."""
    known = [path.name for path in migration_files(folder)]
    try:
        applied = [row["filename"] for row in await conn.fetch(SELECT_APPLIED)]
    except asyncpg.UndefinedTableError:  # nothing was ever applied
        applied = []
    done = set(applied)
    return SchemaDrift(pending=[n for n in known if n not in done], newer=sorted(done - set(known)))


async def migrate(dsn: str, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Connect, apply pending migrations, and return the names applied."""
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(conn, folder)
    finally:
        await conn.close()
