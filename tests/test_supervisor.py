"""`linli up`'s supervisor: a child that dies is restarted with a doubling backoff; one that keeps dying stops all."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from api.dev import servers as devservers
from api.dev.supervisor import Command, RestartPolicy, Server, Supervisor

QUICK = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, window_s=60.0, max_restarts=5)


async def eventually(holds: Callable[[], bool], seconds: float) -> None:
    """Wait until `holds()` (checked every 20 ms), at most `seconds`."""
    for _ in range(int(seconds / 0.02)):
        if holds():
            return
        await asyncio.sleep(0.02)


def test_the_backoff_doubles_from_half_a_second_to_ten():
    assert [RestartPolicy().delay(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_a_child_that_keeps_dying_is_restarted_with_backoff_then_everything_stops():
    said: list[str] = []
    flaky = Command("flaky", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
    supervisor = Supervisor([flaky], QUICK, said.append)
    began = time.monotonic()
    code = await asyncio.wait_for(supervisor.watch(asyncio.Event(), poll_s=0.01), timeout=30)
    assert code == 1
    assert said[:5] == [
        "linli up: flaky exited with code 3; restarting in 0.1 s (1st restart in the last 60 s)",
        "linli up: flaky exited with code 3; restarting in 0.1 s (2nd restart in the last 60 s)",
        "linli up: flaky exited with code 3; restarting in 0.2 s (3rd restart in the last 60 s)",
        "linli up: flaky exited with code 3; restarting in 0.2 s (4th restart in the last 60 s)",
        "linli up: flaky exited with code 3; restarting in 0.2 s (5th restart in the last 60 s)",
    ]
    assert said[5] == (
        "linli up: flaky exited with code 3; it was restarted 5 times in the last 60 s (a crash loop): "
        "stopping everything"
    )
    assert supervisor.crash_loop is not None and len(said) == 6
    # The waits were kept: 0.05 + 0.1 + 0.2 + 0.2 + 0.2 seconds at least.
    assert time.monotonic() - began >= 0.75


async def test_deaths_older_than_the_window_do_not_count_toward_a_crash_loop():
    said: list[str] = []
    flaky = Command("flaky", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
    policy = RestartPolicy(first_delay_s=0.3, max_delay_s=0.3, window_s=0.25, max_restarts=1)
    stop = asyncio.Event()
    watching = asyncio.create_task(Supervisor([flaky], policy, said.append).watch(stop, poll_s=0.01))
    await asyncio.sleep(1.0)
    stop.set()
    assert await watching == 0  # one restart a window is allowed, and each came after the last left the window
    assert len(said) >= 3 and all("1st restart" in line for line in said)
    flaky.stop(time.monotonic() + 5)


@pytest.mark.chaos
async def test_a_killed_child_is_restarted_and_stop_leaves_it_running_until_asked():
    said: list[str] = []
    sleeper = Command("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    first = sleeper.proc.pid
    stop = asyncio.Event()
    watching = asyncio.create_task(Supervisor([sleeper], QUICK, said.append).watch(stop, poll_s=0.01))
    try:
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: sleeper.proc.pid != first, 10)
        assert sleeper.proc.pid != first and sleeper.exit_code() is None
        assert said == ["linli up: sleeper exited with code -9; restarting in 0.1 s (1st restart in the last 60 s)"]
    finally:
        stop.set()
        assert await watching == 0
        sleeper.stop(time.monotonic() + 5)


@pytest.mark.chaos
async def test_a_killed_valkey_comes_back_on_its_port_with_its_data():
    with devservers.scratch_dir() as base:
        valkey = devservers.start_valkey(base / "valkey", durable=True)
        unit = Server("Valkey", valkey, devservers.start_valkey)
        stop = asyncio.Event()
        said: list[str] = []
        watching = asyncio.create_task(Supervisor([unit], QUICK, said.append).watch(stop, poll_s=0.01))
        client = aioredis.from_url(valkey.url)
        try:
            await client.set("kept", "yes")
            await client.execute_command("BGREWRITEAOF")  # on disk now, not within the next second
            await asyncio.sleep(0.5)
            os.kill(valkey.pid, signal.SIGKILL)
            await eventually(lambda: unit.server is not valkey, 20)
            assert unit.server is not valkey and unit.server.port == valkey.port
            assert await client.get("kept") == b"yes"  # the same URL reaches it, and its data came back
            assert said[0].startswith("linli up: Valkey exited with code -9; restarting in 0.1 s")
        finally:
            await client.aclose()
            stop.set()
            await watching
            unit.stop(time.monotonic())
