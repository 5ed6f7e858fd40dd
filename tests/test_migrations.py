"""The migration runner: in order, once, checksummed; an edited or failing migration stops start-up."""

from __future__ import annotations

import shutil

import asyncpg
import pytest

from sql.migrate import MIGRATIONS_DIR, MigrationError, checksum, migrate, read_manifest
from tests.conftest import scratch_database

# 0013 as first committed (7747101): the same text without the 'roster_proposal' kind, which ed4027e added to it.
ADDED_KIND = ",\n                                    'roster_proposal'))"


def first_text_of_0013() -> str:
    """0013's first committed text, rebuilt from today's (its checksum proves it, below)."""
    now = (MIGRATIONS_DIR / "0013_notifications.sql").read_text(encoding="utf-8")
    assert now.count(ADDED_KIND) == 1
    return now.replace(ADDED_KIND, "))")


async def test_applies_once_and_records_checksums(empty_database_url):
    assert await migrate(empty_database_url) == []  # the template already holds every migration
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch("SELECT filename, checksum FROM schema_migrations ORDER BY filename")
    finally:
        await conn.close()
    assert [r["filename"] for r in rows] == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert all(len(r["checksum"]) == 64 for r in rows)


async def test_an_edited_migration_stops_start_up(empty_database_url, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after release\n")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        await migrate(empty_database_url, folder)


async def test_a_failing_migration_is_rolled_back_and_stops_start_up(empty_database_url, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "9998_good_part.sql").write_text("CREATE TABLE probe_ok (id int);\n")
    (folder / "9999_broken.sql").write_text("CREATE TABLE probe_half (id int);\nSELECT no_such_function();\n")
    with pytest.raises(MigrationError, match=r"9999_broken\.sql failed"):
        await migrate(empty_database_url, folder)
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('probe_ok') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('probe_half') IS NULL")
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE filename = '9999_broken.sql'") == 0
    finally:
        await conn.close()


async def test_a_misnamed_file_is_refused(empty_database_url, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "12_bad name.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match=r"named NNNN_lower_snake\.sql"):
        await migrate(empty_database_url, folder)


def test_every_committed_migration_keeps_its_text():
    manifest = read_manifest()
    on_disk = {p.name: checksum(p) for p in MIGRATIONS_DIR.glob("*.sql")}
    # A new migration needs its line in checksums.txt; a committed one may never change (add a new file instead).
    assert sorted(on_disk) == sorted(manifest.committed), "list each migration in sql/migrations/checksums.txt"
    changed = [name for name, digest in on_disk.items() if manifest.committed[name] != digest]
    assert changed == [], f"committed migrations were edited: {changed}; migrations are forward-only"


def test_the_manifest_check_fails_on_an_edited_file(tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    edited = folder / "0007_shifts.sql"
    edited.write_text(edited.read_text() + "\n-- a later edit\n")
    manifest = read_manifest(folder)
    assert manifest.committed["0007_shifts.sql"] != checksum(edited)
    assert manifest.committed["0008_call_grants.sql"] == checksum(folder / "0008_call_grants.sql")


async def test_a_database_that_applied_the_first_text_of_0013_starts_and_is_brought_up_to_date(servers, tmp_path):
    # Built as such a database was: 0001-0012, then 0013 as first committed (no 'roster_proposal' kind).
    async with scratch_database(servers, template=None) as url:
        then = tmp_path / "then"
        then.mkdir()
        for path in MIGRATIONS_DIR.glob("*.sql"):
            if path.name < "0013":
                shutil.copyfile(path, then / path.name)
        first = then / "0013_notifications.sql"
        first.write_text(first_text_of_0013(), encoding="utf-8")
        assert ("0013_notifications.sql", checksum(first)) in read_manifest().superseded
        assert await migrate(url, then) == sorted(p.name for p in then.glob("*.sql"))
        applied = await migrate(url)
        assert "0016_notification_kinds.sql" in applied
        conn = await asyncpg.connect(url)
        try:
            recorded = await conn.fetchval(
                "SELECT checksum FROM schema_migrations WHERE filename = '0013_notifications.sql'"
            )
            assert recorded == checksum(first)
            check = await conn.fetchval(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'notifications_kind_check'"
            )
            assert "roster_proposal" in check
        finally:
            await conn.close()


async def test_an_unknown_earlier_text_still_stops_start_up(empty_database_url):
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(
            "UPDATE schema_migrations SET checksum = $1 WHERE filename = '0013_notifications.sql'", "0" * 64
        )
    finally:
        await conn.close()
    with pytest.raises(MigrationError, match=r"0013_notifications\.sql was edited after it was applied"):
        await migrate(empty_database_url)
