"""`linli bench http`'s CPU measure: a process and its descendants, read from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from api.cli import bench_http

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


def test_the_report_gives_the_cpu_per_answer():
    raw = bench_http.Phase(name="raw", compared=True, counted=2, seconds=1.0, latencies_ms=[1.0, 2.0])
    raw.answered, raw.database_cpu_s = 4, 0.002
    http = bench_http.Phase(name="http", processes=1, compared=True, counted=1, seconds=1.0, latencies_ms=[4.0])
    http.answered, http.web_cpu_s, http.database_cpu_s = 2, 0.01, 0.003
    lines = bench_http.report([raw, http], clients=2).splitlines()
    assert lines[4].endswith("| — | 0.50 |")
    assert lines[5].endswith("| 50.0% | 2.0 | 5.00 | 1.50 |")
