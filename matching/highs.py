"""HiGHS instances as every model wants them: quiet, single-threaded, and without the banner on stdout."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import highspy

_lock = threading.Lock()
_banner_silenced = False


@contextmanager
def _c_stdout_silenced() -> Iterator[None]:
    """Send C-level stdout to /dev/null: HiGHS prints a banner on its first construction, which would corrupt the
    JSON that `linli solve` writes to stdout."""
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        # Flush what C's stdio buffered while fd 1 was /dev/null, or it would reach the real stdout later.
        libc.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def new_highs(*, time_limit_s: float | None = None, seed: int | None = None) -> highspy.Highs:
    """A silent, single-threaded HiGHS; a time limit (the clock's safety net) and a random seed when given."""
    global _banner_silenced
    with _lock:
        if _banner_silenced:
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
        else:
            with _c_stdout_silenced():
                highs = highspy.Highs()  # type: ignore[no-untyped-call]
            _banner_silenced = True
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    if time_limit_s is not None:
        highs.setOptionValue("time_limit", max(0.01, time_limit_s))
    if seed is not None:
        highs.setOptionValue("random_seed", seed)
    return highs
