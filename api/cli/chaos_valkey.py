"""Chaos, the Valkey half: run `linli up` on ports and a state folder of its own, kill its Valkey with SIGKILL,
start an optimiser run while Valkey is gone, and measure how long Linli takes to recover and whether the run
finishes. `measure_valkey_kill` is what `linli bench chaos` and the chaos test call."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from api.demo import DEMO_LOGINS
from api.dev import servers as devservers
from api.services.types import today as local_today
from api.settings import REPO_ROOT

UP_STOP_TIMEOUT_S = 60.0
_VALKEY_URL = re.compile(r"Valkey ready at (redis://\S+)")


class ChaosError(RuntimeError):
    """The experiment could not be run (linli up did not start); the message carries linli up's last lines."""


@dataclass(frozen=True)
class ValkeyChaosResult:
    """What one kill of Valkey under `linli up` showed."""

    killed_at: dt.datetime  # when Valkey was sent SIGKILL
    valkey_back_after_s: float | None  # a new Valkey answered on the same port (None: not within the limit)
    recovered_after_s: float | None  # /api/ready answered 200 again
    run_status_code: int | None  # the answer to starting a run right after the kill (202 while Valkey is gone)
    run_id: int | None
    run_finished: bool  # the run succeeded
    run_finished_after_s: float | None
    restart_logged: bool  # linli up said it restarted Valkey


def _until(holds: Callable[[], bool], seconds: float, poll_s: float = 0.1, since: float | None = None) -> float | None:
    """Seconds from `since` (by default now) until `holds()` became true, or None when it did not within `seconds`."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        with contextlib.suppress(httpx.HTTPError, redis.RedisError, OSError, KeyError, ValueError):
            if holds():
                return round(time.monotonic() - (began if since is None else since), 2)
        time.sleep(poll_s)
    return None


class _LinliUp:
    """`linli up` in a process group of its own, its output in a log file of the state folder."""

    def __init__(self, state_dir: Path, port: int, env: dict[str, str]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = state_dir / "linli-up.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "up"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=devservers.die_with_parent(signal.SIGTERM),
        )

    def output(self) -> str:
        """What linli up printed so far."""
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        """/api/ready answers 200."""
        return httpx.get(f"{self.base}/api/ready", timeout=2).status_code == 200

    def wait_ready(self, seconds: float) -> None:
        """Until /api/ready answers 200; ChaosError if linli up exits or takes too long."""
        if _until(lambda: self.proc.poll() is not None or self.ready(), seconds, 0.2) is None or self.proc.poll():
            raise ChaosError(f"linli up did not become ready:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM, as an operator would; SIGKILL to the group if it does not stop in time."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(UP_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


@contextlib.contextmanager
def linli_up(state_dir: Path, port: int, database_url: str | None = None, **env: str) -> Iterator[_LinliUp]:
    """`linli up` with its own state folder (its Valkey, and its PostgreSQL unless `database_url` is given) and
    port, ready; stopped at the end."""
    state_dir.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if k not in ("LINLI_REDIS_URL", "LINLI_DATABASE_URL")}
    environment |= {"LINLI_STATE_DIR": str(state_dir), "LINLI_HOST": "127.0.0.1", "LINLI_PORT": str(port), **env}
    if database_url is not None:
        environment["LINLI_DATABASE_URL"] = database_url
    up = _LinliUp(state_dir, port, environment)
    try:
        yield up
    finally:
        up.stop()


def _start_a_run(client: httpx.Client, headers: dict[str, str]) -> tuple[int | None, int | None]:
    """Ask for a roster of one of the next weeks that has no finished plan yet: (status code, run id)."""
    today = local_today()
    monday = today + dt.timedelta(days=7 - today.weekday())
    status: int | None = None
    for week in range(8):
        answer = client.post(
            "/api/rosters/runs", json={"week_starts": (monday + dt.timedelta(weeks=week)).isoformat()}, headers=headers
        )
        status = answer.status_code
        if status == 202 and answer.json()["status"] != "succeeded":
            return status, int(answer.json()["id"])
    return status, None


def _valkey_pid(valkey: redis.Redis) -> int:
    """The process id of the Valkey behind the client (INFO server)."""
    info: dict[str, Any] = valkey.info("server")  # type: ignore[assignment]  # the sync client answers a dict
    return int(info["process_id"])


def measure_valkey_kill(
    state_dir: Path,
    port: int,
    *,
    database_url: str | None = None,
    ready_timeout_s: float = 600.0,
    recover_timeout_s: float = 60.0,
    run_timeout_s: float = 120.0,
    env: dict[str, str] | None = None,
) -> ValkeyChaosResult:
    """Kill `linli up`'s Valkey once (on the demo district: the database given, or linli up's own, seeded on first
    start) and measure the recovery; a run is started as the demo organisation right after the kill."""
    _, username, password = next(row for row in DEMO_LOGINS if row[1].startswith("org."))
    with linli_up(state_dir, port, database_url, **(env or {})) as up:
        up.wait_ready(ready_timeout_s)
        found = _VALKEY_URL.search(up.output())
        if found is None:
            raise ChaosError(f"linli up did not say where its Valkey is:\n{up.output()[-3000:]}")
        valkey = redis.Redis.from_url(found.group(1), socket_timeout=1, socket_connect_timeout=1)
        with httpx.Client(base_url=up.base, timeout=30) as client:
            token = client.post("/api/auth/token", json={"username": username, "password": password})
            token.raise_for_status()
            headers = {"authorization": f"Bearer {token.json()['token']}"}
            pid = _valkey_pid(valkey)
            os.kill(pid, signal.SIGKILL)
            killed_at = dt.datetime.now(dt.UTC)
            began = time.monotonic()
            status, run_id = _start_a_run(client, headers)
            back = _until(lambda: _valkey_pid(valkey) != pid, recover_timeout_s, since=began)
            ready = _until(up.ready, recover_timeout_s, since=began)

            def finished() -> bool:
                progress = client.get(f"/api/rosters/runs/{run_id}/progress", headers=headers).json()
                return bool(progress["finished"])

            done = None
            if run_id is not None and ready is not None:
                done = _until(finished, run_timeout_s, 0.5, since=began)
            status_now = None
            if done is not None:
                status_now = client.get(f"/api/rosters/runs/{run_id}/progress", headers=headers).json()["status"]
        valkey.close()
        return ValkeyChaosResult(
            killed_at=killed_at,
            valkey_back_after_s=back,
            recovered_after_s=ready,
            run_status_code=status,
            run_id=run_id,
            run_finished=done is not None and status_now == "succeeded",
            run_finished_after_s=done,
            restart_logged="Valkey exited with code -9; restarting" in up.output(),
        )
