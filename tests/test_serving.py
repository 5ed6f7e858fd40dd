"""`linli serve` on several processes: all of them answer, `/metrics` adds them up, a dead one is replaced, and a
stop ends all of them; each process's pool holds its share of the connection budget."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.dev import servers as devservers
from api.dev.supervisor import Command, RestartPolicy, Supervisor
from api.settings import Settings, pool_size, web_processes
from tests.conftest import Servers

TOKEN = "serving-metrics-" + "t" * 24
QUICK = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, window_s=60.0, max_restarts=5)


def children(pid: int) -> set[int]:
    """The web processes uvicorn started under `pid` (not multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"resource_tracker" not in cmdline:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/api/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def until(holds, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if holds():
            return True
        await asyncio.sleep(0.1)
    return holds()


def test_each_process_holds_its_share_of_the_connection_budget():
    assert pool_size(Settings(web_workers=2, database_connections=20)) == 10
    assert pool_size(Settings(web_workers=3, database_connections=20)) == 6
    assert pool_size(Settings(web_workers=8, database_connections=4)) == 1  # never none
    assert web_processes(Settings(web_workers=0)) == os.cpu_count()


@pytest.mark.slow
async def test_two_web_processes_under_the_supervisor_both_answer_and_stop_together(
    empty_database_url: str, servers: Servers, tmp_path: Path
) -> None:
    port = devservers.free_port()
    metrics = tmp_path / "metrics"
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": empty_database_url,
        "LINLI_REDIS_URL": servers.redis_url(15),
        "LINLI_STATE_DIR": str(tmp_path / "state"),
        "LINLI_PORT": str(port),
        "LINLI_WEB_WORKERS": "2",
        "LINLI_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    said: list[str] = []
    serve = Command("web app", [sys.executable, "-m", "api.cli", "serve"], env)
    stop = asyncio.Event()
    watching = asyncio.create_task(Supervisor([serve], QUICK, said.append).watch(stop, poll_s=0.05))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 120
            while not await ready(client):
                assert time.monotonic() < deadline, "linli serve did not become ready"
                await asyncio.sleep(0.2)
            assert await until(lambda: len(children(serve.proc.pid)) == 2, 60)
            workers = children(serve.proc.pid)

            # Fresh connections, many at once, until each process has answered some (its metrics file shows it).
            sent = 0
            for _ in range(20):
                async with httpx.AsyncClient(
                    base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
                ) as fresh:
                    answers = await asyncio.gather(*(fresh.get("/api/health") for _ in range(40)))
                assert {a.status_code for a in answers} == {200}
                sent += len(answers)
                written = {int(p.stem.rsplit("_", 1)[1]) for p in metrics.glob("histogram_*.db")}
                if workers <= written:
                    break
            assert workers <= written, "both processes answered"

            # Whichever process answers the scrape, it counts the other's requests too.
            scrape = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
            counted = [
                float(line.rsplit(" ", 1)[1])
                for line in scrape.text.splitlines()
                if line.startswith("linli_http_request_duration_seconds_count") and 'route="/api/health"' in line
            ]
            assert sum(counted) >= sent

            # A process that dies is replaced by the parent; the service answers throughout.
            dead = sorted(workers)[0]
            os.kill(dead, signal.SIGKILL)
            assert await until(lambda: len(children(serve.proc.pid) - {dead}) == 2, 60)
            assert (await client.get("/api/health")).status_code == 200
            workers = children(serve.proc.pid)
        assert said == []  # the parent itself never died

        # The parent killed outright: its processes stop themselves, and the supervisor starts it again.
        parent = serve.proc.pid
        os.kill(parent, signal.SIGKILL)
        assert await until(lambda: not any(alive(pid) for pid in workers), 30)
        assert await until(lambda: serve.proc.pid != parent and len(children(serve.proc.pid)) == 2, 60)
        assert said == ["linli up: web app exited with code -9; restarting in 0.1 s (1st restart in the last 60 s)"]
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 120
            while not await ready(client):
                assert time.monotonic() < deadline, "linli serve did not come back"
                await asyncio.sleep(0.2)
        workers = children(serve.proc.pid)

        # Ctrl-C reaches the parent: every process is gone.
        stop.set()
        await watching
        serve.proc.send_signal(signal.SIGINT)
        serve.proc.wait(30)
        assert await until(lambda: not any(alive(pid) for pid in workers), 30)
    finally:
        stop.set()
        await watching
        serve.stop(time.monotonic() + 20)
