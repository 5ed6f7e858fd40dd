"""The migration runner: in order, once, checksummed; an edited or failing migration stops start-up."""

from __future__ import annotations

import shutil

import asyncpg
import pytest

from sql.migrate import MIGRATIONS_DIR, MigrationError, migrate


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
