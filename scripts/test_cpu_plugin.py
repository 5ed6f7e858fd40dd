"""A pytest plugin for scripts/test_cpu.sh: each test is charged the CPU its cgroup spent while it ran."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROWS: list[tuple[str, float]] = []


def _used() -> float:
    return int(Path(os.environ["LINLI_TEST_CPU_GROUP"], "cpuacct.usage").read_text()) / 1e9


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Charge the test (its setup and teardown too) what every process of the run used meanwhile."""
    before = _used()
    yield
    _ROWS.append((item.nodeid, _used() - before))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the charges for the script's report."""
    Path(os.environ["LINLI_TEST_CPU_REPORT"]).write_text(json.dumps(_ROWS), encoding="utf-8")
