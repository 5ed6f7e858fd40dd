"""A loaded machine for tests of reproducibility: busy loops in other processes for the length of a block."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def busy_cores(n: int = 2) -> Iterator[None]:
    """Load the machine with n busy loops for the length of the block."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.2)  # let them start spinning before the solve does
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()
