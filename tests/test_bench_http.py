"""`linli bench http`: its CPU measure (a process and its descendants, read from /proc), its table, and its read
rows (a volunteer's browse beside the page's own statement, every role's pages) on a tiny run."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.cli import bench_http
from tests.conftest import REDIS_DBS_PER_WORKER, Servers, clone_demo, drop_database

BUSY = "import time\nwhile time.process_time() < 0.3: pass\ntime.sleep(60)"


def test_the_cpu_of_a_process_counts_its_live_children():
    # The shell waits on the busy child as `linli serve` waits on its web processes.
    parent = subprocess.Popen(["sh", "-c", f'{sys.executable} -c "$0"; exit', BUSY], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while (used := bench_http.tree_cpu_s(parent.pid)) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.25 <= used < 5
    finally:
        os.killpg(parent.pid, signal.SIGKILL)  # the shell and its child: the group started here
        parent.wait()
    assert bench_http.tree_cpu_s(parent.pid) == 0.0  # gone: nothing to read


def _run(*phases: bench_http.Phase) -> bench_http.Run:
    return bench_http.Run(
        phases=list(phases), clients=2, seconds=1.0, page_seconds=1.0, reads_on="x", load_before=(0.0, 0.0, 0.0)
    )


def test_the_report_gives_the_cpu_per_answer():
    raw = bench_http.Phase(name="raw", kind="sign-up", raw=True, counted=2, seconds=1.0, latencies_ms=[1.0, 2.0])
    raw.answered, raw.database_cpu_s = 4, 0.002
    http = bench_http.Phase(name="http", processes=1, kind="sign-up", target="sign-up", counted=1, seconds=1.0)
    http.latencies_ms, http.answered, http.web_cpu_s, http.database_cpu_s = [4.0], 2, 0.01, 0.003
    http.client_cpu_s = 0.001
    lines = bench_http.report(_run(raw, http)).splitlines()
    assert lines[4].endswith("| 100.0% | 1.0 | the baseline | — | — | 0.50 | — |")
    assert lines[5].endswith("| 50.0% | 2.0 | ≥ 35% of raw, p99 ≤ 3 × raw's | yes | 5.00 | 1.50 | 0.50 |")


def test_each_row_is_held_to_its_own_target():
    def row(target: str | None, kind: str | None, rate: float, *latencies: float) -> bench_http.Phase:
        return bench_http.Phase(
            name=f"{target}", kind=kind, target=target, counted=int(rate), seconds=1.0, latencies_ms=list(latencies)
        )

    raw_sign_up = row(None, "sign-up", 100, 10.0, 10.0)
    raw_sign_up.raw = True
    raw_browse = row(None, "browse", 100, 1.0, 1.0)
    raw_browse.raw = True
    cases = [
        (row("sign-up", "sign-up", 35, 30.0, 30.0), raw_sign_up, True),
        (row("sign-up", "sign-up", 34, 30.0, 30.0), raw_sign_up, False),
        (row("sign-up", "sign-up", 90, 30.0, 31.0), raw_sign_up, False),  # p99 over 3 × raw's
        (row("race", "sign-up", 35, 500.0, 900.0), raw_sign_up, True),
        (row("browse", "browse", 50, 9.0, 9.0), raw_browse, True),
        (row("browse", "browse", 49, 9.0, 9.0), raw_browse, False),
        (row("page", None, 1, *[10.0] * 95, *[151.0] * 5), None, True),
        (row("page", None, 1, *[10.0] * 94, *[151.0] * 6), None, False),
    ]
    for phase, raw, met in cases:
        assert bench_http.meets(phase, raw) is met, phase
    errors = row("page", None, 1, 10.0, 10.0)
    errors.errors = {"500": 1}
    assert not bench_http.meets(errors, None)
    lines = bench_http.report(_run(raw_browse, cases[5][0], errors)).splitlines()
    assert lines[5].endswith("| 49.0% | 9.0 | ≥ 50% of raw | no | — | — | — |")
    assert lines[6].endswith("| 500: 1 | — | — | p95 ≤ 150 ms | no | — | — | — |")


async def test_the_statements_that_pick_the_readers_prepare(conn):
    # The city's are run only on a city seed, which no test builds.
    for name in ("VOLUNTEER_LOGINS", "CITY_MANAGER", "VOLUNTEER_IDS"):
        await conn.prepare(getattr(bench_http, name))


@pytest.mark.slow
async def test_the_read_rows_on_a_tiny_run(servers: Servers, worker_index: int, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bench_http, "WARM_UP_S", 0.2)
    name = f"linli_bench_http_{secrets.token_hex(4)}"
    url = await clone_demo(servers, name)
    try:
        # The worker's own Redis database for a live server (slot 1), as the live-server fixtures use.
        redis_url = servers.redis_url(REDIS_DBS_PER_WORKER * worker_index + 1)
        reads = await bench_http.measure_reads(tmp_path, url, redis_url, "district", 0.5, 0.3)
    finally:
        await drop_database(servers, name)
    pages = [f"HTTP GET {path} ({role})" for role, paths in bench_http.PAGES.items() for path in paths]
    assert [p.name for p in reads.phases] == [
        "raw asyncpg, the browse's own statement",
        "HTTP GET /api/shifts/?limit=20",
        *pages,
    ]
    # Every answer 200 (any other status is an error of its row), and each row answered (a slow page may answer
    # only in the warm-up of so short a run).
    assert {p.name: p.errors for p in reads.phases if p.errors} == {}
    assert [p.name for p in reads.phases if not p.answered] == []
    # The baseline is the page's own statement: a volunteer's page, shift for shift.
    assert len(reads.http_ids) == 20
    assert reads.raw_ids == reads.http_ids
    # Each row's CPU was read: the web processes (not for the raw row), the database server and the bench's own.
    assert all(p.database_cpu_s is not None and p.client_cpu_s is not None for p in reads.phases)
    assert reads.phases[0].web_cpu_s is None and all(p.web_cpu_s is not None for p in reads.phases[1:])
