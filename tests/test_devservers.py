"""The project's own PostgreSQL and Valkey start, answer, keep durable data, and leave no process behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from api.dev import servers as devservers
from api.settings import Settings


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


async def _fetchval(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.mark.anyio
async def test_throwaway_servers_answer_and_leave_nothing_behind() -> None:
    with devservers.scratch_dir(parent=devservers.memory_dir()) as base:
        pg = devservers.start_postgres(base / "pg", durable=False)
        vk = devservers.start_valkey(base / "valkey", durable=False)
        try:
            conn = await asyncpg.connect(pg.url)
            try:
                assert await conn.fetchval("SELECT 1") == 1
                assert await conn.fetchval("SELECT current_database()") == "linli"
                assert await conn.fetchval("SHOW fsync") == "off"
                assert await conn.fetchval("SHOW server_encoding") == "UTF8"
                # The schema needs these contrib extensions (exclusion constraints, distances).
                await conn.execute("CREATE EXTENSION btree_gist; CREATE EXTENSION cube; CREATE EXTENSION earthdistance")
            finally:
                await conn.close()
            client = aioredis.from_url(vk.url)
            try:
                assert await client.ping() is True
                assert await client.config_get("appendonly") == {"appendonly": "no"}
                assert await client.config_get("save") == {"save": ""}
            finally:
                await client.aclose()
        finally:
            vk.stop()
            pg.stop()
        assert pg.proc.returncode is not None
        assert vk.proc.returncode is not None
        # Each server ran in its own process group: no backend or helper may outlive stop().
        assert _group_gone(pg.pid)
        assert _group_gone(vk.pid)


@pytest.mark.anyio
@pytest.mark.slow
async def test_durable_postgres_keeps_rows_and_settings_across_restarts() -> None:
    with devservers.scratch_dir() as base:
        with devservers.start_postgres(base / "pg", durable=True) as pg:
            conn = await asyncpg.connect(pg.url)
            try:
                assert await conn.fetchval("SHOW fsync") == "on"
                assert await conn.fetchval("SHOW synchronous_commit") == "on"
                await conn.execute("CREATE TABLE kept (note text NOT NULL)")
                await conn.execute("INSERT INTO kept VALUES ('邻里')")
                await conn.execute("ALTER SYSTEM SET work_mem = '7MB'")
            finally:
                await conn.close()
        assert _group_gone(pg.pid)
        with devservers.start_postgres(base / "pg", durable=True) as again:
            assert await _fetchval(again.url, "SELECT note FROM kept") == "邻里"
            assert await _fetchval(again.url, "SHOW work_mem") == "7MB"
        assert _group_gone(again.pid)


@pytest.mark.anyio
@pytest.mark.slow
async def test_durable_valkey_keeps_keys_across_restarts() -> None:
    with devservers.scratch_dir() as base:
        with devservers.start_valkey(base / "valkey", durable=True) as vk:
            client = aioredis.from_url(vk.url)
            try:
                await client.set("kept", "邻里")
            finally:
                await client.aclose()
        with devservers.start_valkey(base / "valkey", durable=True) as again:
            client = aioredis.from_url(again.url)
            try:
                assert (await client.get("kept")).decode() == "邻里"
            finally:
                await client.aclose()


def test_cluster_location_follows_the_root_rule(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / ".state", database_url=None, redis_url=None, secret_key="x")
    where = devservers.pg_data_dir(settings)
    if os.geteuid() == 0:
        # /root is 0700, so root's cluster lives where the postgres account can enter.
        assert where.parent.name.startswith("linli-0-")
        assert where.parent.parent == Path("/tmp")  # noqa: S108 - the documented location
        assert where == devservers.pg_data_dir(settings)
        where.parent.rmdir()  # created (empty) by pg_data_dir; the test must not litter /tmp
    else:
        assert where == tmp_path / ".state" / "pg"
    assert devservers.valkey_data_dir(settings) == tmp_path / ".state" / "valkey"


def test_a_folder_postgres_cannot_enter_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    if os.geteuid() != 0:
        # A normal user runs PostgreSQL as themselves, so a private folder of theirs works.
        with devservers.start_postgres(private / "pg", durable=False) as pg:
            assert pg.url.endswith("/linli")
        return
    with pytest.raises(devservers.DevServerError, match="cannot be entered"):
        devservers.start_postgres(private / "pg", durable=False)
    assert not (private / "pg").exists()


_ORPHAN_CHECK = """
import sys, time
from pathlib import Path
from api.dev import servers as devservers
base = Path(sys.argv[1])
pg = devservers.start_postgres(base / "pg", durable=False)
vk = devservers.start_valkey(base / "valkey", durable=False)
print(pg.pid, vk.pid, flush=True)
time.sleep(600)
"""


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.chaos
def test_servers_die_with_a_parent_that_is_killed() -> None:
    with devservers.scratch_dir() as base:
        with subprocess.Popen(
            [sys.executable, "-c", _ORPHAN_CHECK, str(base)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        ) as parent:
            try:
                assert parent.stdout is not None
                pids = [int(pid) for pid in parent.stdout.readline().split()]
                assert len(pids) == 2
            finally:
                parent.kill()  # SIGKILL: no atexit, no finally; only PR_SET_PDEATHSIG can stop the servers
        deadline = time.monotonic() + 30
        while not all(_process_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_process_gone(pid) for pid in pids), f"left behind: {pids}"
