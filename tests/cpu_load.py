"""A loaded machine for tests of reproducibility: busy loops in other processes for the length of a block."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def spinners_needed() -> int:
    """How many busy loops over-subscribe the machine by one process: the cores, less the other pytest-xdist
    workers, which keep their cores busy with tests of their own (two spinners beside a second worker on two cores
    took a third of that worker's time away for no more load than one gives)."""
    cores = os.cpu_count() or 2
    other_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) - 1
    return max(1, cores - other_workers)


@contextmanager
def busy_cores(n: int | None = None) -> Iterator[None]:
    """Load the machine with n busy loops (by default: spinners_needed) for the length of the block."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n or spinners_needed())]
    try:
        time.sleep(0.2)  # let them start spinning before the solve does
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()
