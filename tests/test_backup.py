"""`linli backup` and `linli restore`: the demo district survives a round trip with its audit chain intact; a file
from a newer schema, or a database that holds data, is refused."""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncpg
import pytest
from click.testing import CliRunner, Result

from api.cli import cli
from api.cli.backup import BackupError, archive_migrations, libpq_target, make_backup, restore_backup
from api.services import audit_log, operations
from sql.migrate import migration_files
from tests.conftest import DEMO_TEMPLATE_DB, Servers, _ensure_demo_template, drop_database, scratch_database

COUNT_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name
"""


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        names = [r["table_name"] for r in await conn.fetch(COUNT_TABLES)]
        return {name: await conn.fetchval(f'SELECT count(*) FROM "{name}"') for name in names}
    finally:
        await conn.close()


async def _last_audit(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow("SELECT action, object_id, detail::text AS detail FROM audit_log ORDER BY id DESC")


async def _invoke(url: str, *args: str) -> Result:
    """The `linli` command as an operator runs it (in a thread: it runs its own event loop)."""
    runner = CliRunner()
    return await anyio.to_thread.run_sync(lambda: runner.invoke(cli, list(args), env={"LINLI_DATABASE_URL": url}))


async def _refuse(url: str, tag: str, reason: str) -> None:
    """Make the database refuse every statement of a kind (an event trigger), so that a restore fails there."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse() RETURNS event_trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{reason}'; END $$;"
            f"CREATE EVENT TRIGGER refuse ON ddl_command_end WHEN TAG IN ('{tag}') EXECUTE FUNCTION refuse()"
        )
    finally:
        await conn.close()


@pytest.mark.slow
async def test_the_demo_district_survives_a_backup_and_a_restore_into_a_fresh_database(
    servers: Servers, tmp_path: Path
) -> None:
    await _ensure_demo_template(servers)
    file = tmp_path / "linli.backup"
    async with scratch_database(servers, template=DEMO_TEMPLATE_DB) as source:
        before = await _counts(source)
        assert before["volunteers"] > 100 and before["signups"] > 100 and before["audit_log"] > 5

        made = await _invoke(source, "backup", str(file))
        assert made.exit_code == 0, made.output
        latest = migration_files()[-1].name
        assert latest in made.output
        conn = await asyncpg.connect(source)
        try:
            entry = await _last_audit(conn)
            figures = await operations.figures(conn)
        finally:
            await conn.close()
        assert (entry["action"], entry["object_id"]) == ("backup.made", "linli.backup")
        assert figures.last_backup_at is not None

        async with scratch_database(servers, template=None) as fresh:
            restored = await _invoke(fresh, "restore", str(file))
            assert restored.exit_code == 0, restored.output
            after = await _counts(fresh)
            conn = await asyncpg.connect(fresh)
            try:
                breaks = await audit_log.verify(conn)
                entry = await _last_audit(conn)
            finally:
                await conn.close()

    # The dump was taken before its own "backup.made" entry; the restore appends "backup.restored" to the copy.
    assert after == {**before, "audit_log": before["audit_log"] + 1}
    assert breaks == []
    assert entry["action"] == "backup.restored"
    assert await archive_migrations(file) == [path.name for path in migration_files()]


async def test_a_backup_from_a_newer_schema_is_refused(servers: Servers, tmp_path: Path) -> None:
    file = tmp_path / "future.backup"
    async with scratch_database(servers) as source:
        conn = await asyncpg.connect(source)
        try:
            await conn.execute("INSERT INTO schema_migrations (filename, checksum) VALUES ('9999_from_later.sql', 'x')")
        finally:
            await conn.close()
        await make_backup(source, file)
        async with scratch_database(servers, template=None) as fresh:
            refused = await _invoke(fresh, "restore", str(file))
            assert refused.exit_code == 1
            assert "newer Linli" in refused.output and "9999_from_later.sql" in refused.output
            assert await _counts(fresh) == {}


async def test_a_restore_over_a_database_that_holds_data_needs_force(servers: Servers, tmp_path: Path) -> None:
    file = tmp_path / "linli.backup"
    async with scratch_database(servers) as source:
        await make_backup(source, file)
        conn = await asyncpg.connect(source)
        try:
            await conn.execute(
                "INSERT INTO areas (code, name, level, lat, lon) VALUES ('310199', '后来区', 'district', 31.2, 121.5)"
            )
            areas = await conn.fetchval("SELECT count(*) FROM areas")
        finally:
            await conn.close()

        refused = await _invoke(source, "restore", str(file))
        assert refused.exit_code == 1
        assert "already holds tables" in refused.output and "--force" in refused.output
        assert (await _counts(source))["areas"] == areas

        forced = await _invoke(source, "restore", "--force", str(file))
        assert forced.exit_code == 0, forced.output
        assert (await _counts(source))["areas"] == areas - 1


async def test_a_restore_into_a_named_database_creates_it_and_leaves_the_source_alone(
    servers: Servers, tmp_path: Path
) -> None:
    file = tmp_path / "linli.backup"
    async with scratch_database(servers) as source:
        await make_backup(source, file)
        name = source.rsplit("/", 1)[1] + "_copy"
        try:
            report = await restore_backup(source, file, database=name)
            assert report.database == name and not report.replaced
            copy = await _counts(source.rsplit("/", 1)[0] + "/" + name)
            assert copy.keys() == (await _counts(source)).keys()
        finally:
            await drop_database(servers, name)


async def test_a_restore_that_fails_halfway_leaves_nothing_behind(servers: Servers, tmp_path: Path) -> None:
    file = tmp_path / "linli.backup"
    async with scratch_database(servers) as source, scratch_database(servers, template=None) as fresh:
        await make_backup(source, file)
        # Refuses the first index, which a restore creates after every table and its data.
        await _refuse(fresh, "CREATE INDEX", "no indexes today")
        with pytest.raises(BackupError, match="no indexes today"):
            await restore_backup(fresh, file)
        assert await _counts(fresh) == {}


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_restore_refused_at_its_first_table_ends_at_once(servers: Servers, tmp_path: Path) -> None:
    # psql stops at the first statement while pg_restore still has the whole district to write: the restore must
    # read what is left and end with psql's reason, not wait forever on a full pipe.
    await _ensure_demo_template(servers)
    file = tmp_path / "linli.backup"
    async with (
        scratch_database(servers, template=DEMO_TEMPLATE_DB) as source,
        scratch_database(servers, template=None) as fresh,
    ):
        await make_backup(source, file)
        await _refuse(fresh, "CREATE TABLE", "no tables today")
        with pytest.raises(BackupError, match="no tables today"):
            await restore_backup(fresh, file)
        assert await _counts(fresh) == {}


def test_the_password_never_reaches_the_command_line() -> None:
    target, env = libpq_target("postgresql://linli:s%40cret@db.example:5432/linli?sslmode=require")
    assert target == "postgresql://linli@db.example:5432/linli?sslmode=require"
    assert env["PGPASSWORD"] == "s@cret"
