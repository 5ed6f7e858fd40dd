"""`linli up`: own PostgreSQL and Valkey, migrations, demo data, then the web app and the worker; a child that dies
is restarted with backoff, and everything stops together on Ctrl-C/SIGTERM or when one child keeps dying."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from api.demo import DEMO_LOGINS, is_seeded, seed_demo
from api.dev import servers as devservers
from api.settings import REPO_ROOT, Settings
from sql.migrate import MigrationError, migrate

READY_TIMEOUT_S = 120.0
CHILD_STOP_TIMEOUT_S = 20.0


def _say(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _width(text: str) -> int:
    """Columns the text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _browse_host(host: str) -> str:
    """The address to reach the app at: a wildcard bind is reached through loopback."""
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - compared, not bound


def _port_taken(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same option uvicorn sets, so a port lingering in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


async def _http_status(host: str, port: int, path: str) -> int | None:
    """The status code of GET path, or None if nothing answers yet."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = status_line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


@dataclass(frozen=True)
class RestartPolicy:
    """How a child that dies is restarted: backoff doubling from `first_delay_s` to `max_delay_s`, and a crash loop
    (more than `max_restarts` restarts of one child within `window_s`) stops everything."""

    first_delay_s: float = 0.5
    max_delay_s: float = 10.0
    window_s: float = 60.0
    max_restarts: int = 5

    def delay(self, restarts_in_window: int) -> float:
        """The wait before the n-th restart within the window (n ≥ 1)."""
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** max(0, restarts_in_window - 1)))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Supervised:
    """One process `linli up` keeps alive: whether it has exited, and how to start it again."""

    name = "process"

    def exit_code(self) -> int | None:
        """None while it runs, else its exit code (negative: killed by that signal)."""
        raise NotImplementedError

    def restart(self) -> None:
        """Start it again (raises DevServerError when it cannot)."""
        raise NotImplementedError

    def stop(self, deadline: float) -> None:
        """Stop it and wait until it is gone (killing it at the deadline)."""
        raise NotImplementedError


class Command(Supervised):
    """A command run in its own process group, so stopping it reaches its own children too."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            process_group=0,  # Ctrl-C reaches the supervisor only; it stops children in order
            preexec_fn=devservers.die_with_parent(signal.SIGTERM),
        )

    def exit_code(self) -> int | None:
        """None while it runs, else its exit code."""
        return self.proc.poll()

    def restart(self) -> None:
        """Make sure what is left of its group is gone, then start the command again."""
        self.stop(time.monotonic() + CHILD_STOP_TIMEOUT_S)
        self.proc = self._spawn()

    def terminate(self) -> None:
        """Ask the whole group to stop (the worker's solver pool included)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, deadline: float) -> None:
        """Terminate the group and wait until it is gone."""
        self.terminate()
        self.wait_gone(deadline)

    def wait_gone(self, deadline: float) -> None:
        """Wait until the group is gone; kill what is left at the deadline."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(max(0.0, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        _say(f"{self.name} did not stop in time; killing it")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _linli(name: str, command: str, env: dict[str, str]) -> Command:
    """A `linli` subcommand as a supervised child."""
    return Command(name, [sys.executable, "-m", "api.cli", command], env)


class Server(Supervised):
    """A durable PostgreSQL or Valkey of our own; restarted on the same data folder and port (no re-seed, and the
    children's URLs stay right)."""

    def __init__(self, name: str, server: devservers.LocalPostgres | devservers.LocalValkey, start: Callable[..., Any]):
        self.name = name
        self.server = server
        self._start = start

    def exit_code(self) -> int | None:
        """None while the server runs."""
        return self.server.proc.poll()

    def restart(self) -> None:
        """Clear what is left of the old process group (PostgreSQL's backends), then start on the same folder."""
        old = self.server
        old.stop()
        self.server = self._start(old.data_dir, durable=True, port=old.port)

    def stop(self, deadline: float) -> None:
        """Stop the server (its own orderly shutdown)."""
        self.server.stop()


@dataclass
class _Watch:
    """What the supervisor remembers of one child: when it was restarted lately, and when it is due again."""

    unit: Supervised
    restarts: deque[float] = field(default_factory=deque)
    due_at: float | None = None


class Supervisor:
    """Keeps its children alive: a child that exits is restarted after a backoff; stops on request or a crash loop."""

    def __init__(
        self, units: Sequence[Supervised], policy: RestartPolicy | None = None, say: Callable[[str], None] = _say
    ) -> None:
        self.watches = [_Watch(unit) for unit in units]
        self.policy = policy or RestartPolicy()
        self.say = say
        self.crash_loop: str | None = None

    async def watch(self, stop: asyncio.Event, poll_s: float = 0.2) -> int:
        """Until `stop` is set (0) or a child keeps dying (1): restart the children that exit."""
        while not stop.is_set():
            for watch in self.watches:
                if not self._tend(watch):
                    return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_s)
        return 0

    def _tend(self, watch: _Watch) -> bool:
        """Notice a death and schedule the restart, or restart when due; False on a crash loop."""
        now = time.monotonic()
        if watch.due_at is None:
            code = watch.unit.exit_code()
            if code is None:
                return True
            return self._schedule(watch, f"{watch.unit.name} exited with code {code}", now)
        if now < watch.due_at:
            return True
        watch.due_at = None
        try:
            watch.unit.restart()
        except devservers.DevServerError as exc:
            return self._schedule(watch, f"{watch.unit.name} could not be started again ({exc})", now)
        return True

    def _schedule(self, watch: _Watch, what: str, now: float) -> bool:
        policy = self.policy
        while watch.restarts and watch.restarts[0] < now - policy.window_s:
            watch.restarts.popleft()
        if len(watch.restarts) >= policy.max_restarts:
            self.crash_loop = (
                f"{what}; it was restarted {len(watch.restarts)} times in the last {policy.window_s:.0f} s "
                "(a crash loop): stopping everything"
            )
            self.say(f"linli up: {self.crash_loop}")
            return False
        watch.restarts.append(now)
        delay = policy.delay(len(watch.restarts))
        watch.due_at = now + delay
        self.say(
            f"linli up: {what}; restarting in {delay:.1f} s "
            f"({_ordinal(len(watch.restarts))} restart in the last {policy.window_s:.0f} s)"
        )
        return True


class _Up:
    """One run of `linli up`: everything it started is remembered so that it can all be stopped."""

    def __init__(self, settings: Settings, replica: bool = False) -> None:
        self.settings = settings
        self.replica = replica
        self.replica_url: str | None = None
        self.servers: list[Server] = []
        self.children: list[Command] = []
        self.stop_requested = asyncio.Event()
        self.signal_name: str | None = None
        self.starting = True
        self.main_task: asyncio.Task[int] | None = None
        self.began = time.monotonic()
        self.lock: IO[str] | None = None

    def on_signal(self, sig: signal.Signals) -> None:
        """First signal: stop (cancelling start-up if still starting); later ones only say we are on it."""
        if self.signal_name is not None:
            _say("linli up: already stopping…")
            return
        self.signal_name = sig.name
        _say(f"\nlinli up: {sig.name} received, stopping…")
        self.stop_requested.set()
        if self.starting and self.main_task is not None:
            self.main_task.cancel()

    async def run(self) -> int:
        """Start everything, wait for a signal or a dead child, and always stop what was started."""
        loop = asyncio.get_running_loop()
        self.main_task = asyncio.current_task()  # type: ignore[assignment]
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.on_signal, sig)
        # `make run` killed by SIGTERM exits without passing it on; its death must stop us too.
        devservers.exit_with_parent(signal.SIGTERM)
        try:
            return await self._start_and_wait()
        except asyncio.CancelledError:
            return 0 if self.signal_name else 1
        except (devservers.DevServerError, MigrationError) as exc:
            _say(f"linli up: {exc}")
            return 1
        finally:
            self._stop_all()

    async def _start_and_wait(self) -> int:
        settings = self.settings
        host = _browse_host(settings.host)
        # Two `linli up` on one state folder would share PostgreSQL's and Valkey's files; the lock dies with us.
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.lock = (settings.state_dir / "up.lock").open("w")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"linli up: another `linli up` is already running with the state folder {settings.state_dir}")
            return 1
        if _port_taken(settings.host, settings.port):
            _say(f"linli up: {settings.host}:{settings.port} is already in use (another `linli up`?); set LINLI_PORT")
            return 1
        database_url, redis_url = self._servers()
        started = time.monotonic()
        applied = await migrate(database_url)
        done = ", ".join(applied) if applied else "schema up to date"
        _say(f"migrations: {done} ({time.monotonic() - started:.1f} s)")
        env = {
            **os.environ,
            "LINLI_DATABASE_URL": database_url,
            "LINLI_REDIS_URL": redis_url,
            "LINLI_STATE_DIR": str(settings.state_dir),
            "PYTHONUNBUFFERED": "1",
        }
        if self.replica:
            # After the migrations, so that the base backup of a first start already holds the schema.
            self.replica_url = env["LINLI_DATABASE_REPLICA_URLS"] = self._replica()
        # The children take seconds to import; started now, they do so while the demo data is seeded.
        # Nobody is told the URL before seeding is done and /api/ready answers.
        self.children.append(_linli("web app", "serve", env))
        self.children.append(_linli("worker", "worker", env))
        if not await is_seeded(database_url):
            _say("seeding the demo district (first start)…")
            started = time.monotonic()
            await seed_demo(database_url, seed=1, scale=1.0)
            _say(f"demo district seeded in {time.monotonic() - started:.1f} s")
        if not await self._wait_ready(host, settings.port):
            return 1
        self.starting = False
        self._print_welcome(host, settings.port, database_url, redis_url)
        # From here on a child that dies is restarted (servers first in the list: the others need them).
        return await Supervisor([*self.servers, *self.children]).watch(self.stop_requested)

    def _servers(self) -> tuple[str, str]:
        """The database and Redis URLs: the given ones, or those of durable servers we start."""
        settings = self.settings
        database_url = self._server(
            "PostgreSQL",
            settings.database_url,
            "LINLI_DATABASE_URL",
            lambda: devservers.pg_data_dir(settings),
            devservers.start_postgres,
        )
        redis_url = self._server(
            "Valkey",
            settings.redis_url,
            "LINLI_REDIS_URL",
            lambda: devservers.valkey_data_dir(settings),
            devservers.start_valkey,
        )
        return database_url, redis_url

    def _replica(self) -> str:
        """Start (a base backup the first time) a streaming replica of our own PostgreSQL; its URL."""
        found = [server for server in self.servers if server.name == "PostgreSQL"]
        if not found:
            raise devservers.DevServerError(
                "--replica replicates the PostgreSQL `linli up` starts; unset LINLI_DATABASE_URL"
            )
        data_dir = devservers.pg_data_dir(self.settings).with_name("pg-replica")
        started = time.monotonic()

        def start(folder: Path, *, durable: bool, port: int | None = None) -> devservers.LocalPostgres:
            # The primary as it runs now (the supervisor may have restarted it meanwhile).
            primary = found[0].server
            assert isinstance(primary, devservers.LocalPostgres)
            return devservers.start_replica(primary, folder, port=port)

        server = start(data_dir, durable=True)
        self.servers.append(Server("PostgreSQL replica", server, start))
        _say(f"PostgreSQL replica ready at {server.url} in {time.monotonic() - started:.1f} s (data in {data_dir})")
        return server.url

    def _server(
        self, name: str, given: str | None, variable: str, folder: Callable[[], Path], start: Callable[..., Any]
    ) -> str:
        """The given server's URL, or start a durable one of our own and return its URL."""
        if given is not None:
            _say(f"{name}: using {variable}")
            return given
        # Only now: as root, finding the folder creates a private one under /tmp.
        data_dir = folder()
        started = time.monotonic()
        server = start(data_dir, durable=True)
        self.servers.append(Server(name, server, start))
        _say(f"{name} ready at {server.url} in {time.monotonic() - started:.1f} s (data in {data_dir})")
        return str(server.url)

    def _dead_child(self) -> bool:
        for child in self.children:
            code = child.proc.poll()
            if code is not None:
                _say(f"linli up: the {child.name} exited with code {code} while starting; stopping everything")
                return True
        return False

    async def _wait_ready(self, host: str, port: int) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._dead_child():
                return False
            if await _http_status(host, port, "/api/ready") == 200:
                return True
            await asyncio.sleep(0.2)
        _say(f"linli up: http://{host}:{port}/api/ready did not answer 200 within {READY_TIMEOUT_S:.0f} s")
        return False

    def _print_welcome(self, host: str, port: int, database_url: str, redis_url: str) -> None:
        rows: list[tuple[str, str, str]] = list(DEMO_LOGINS)
        widths = [max((_width(row[i]) for row in rows), default=0) for i in range(2)]
        lines = [
            "",
            f"Linli is running at http://{host}:{port}/  (started in {time.monotonic() - self.began:.1f} s)",
            "",
            "Demo logins (role, username, password):",
            *(f"  {_pad(label, widths[0])}  {_pad(user, widths[1])}  {password}" for label, user, password in rows),
            "",
            f"PostgreSQL {database_url}   Redis {redis_url}",
            *(
                [f"Reads (browsing, dashboards, exports) from the replica {self.replica_url}"]
                if self.replica_url
                else []
            ),
            "Press Ctrl-C (or send SIGTERM) to stop everything.",
        ]
        _say("\n".join(lines))

    def _stop_all(self) -> None:
        """Children first (they hold connections), then Valkey and PostgreSQL; each waits until gone."""
        try:
            self._stop_started()
        finally:
            if self.lock is not None:
                self.lock.close()  # only now may another `linli up` use the state folder

    def _stop_started(self) -> None:
        if not self.children and not self.servers:
            return
        started = time.monotonic()
        for child in self.children:
            child.terminate()
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
        for child in self.children:
            child.wait_gone(deadline)
        self.children.clear()
        for server in reversed(self.servers):
            server.stop(time.monotonic())
        self.servers.clear()
        _say(f"linli up: everything stopped in {time.monotonic() - started:.1f} s")


def run_up(settings: Settings, replica: bool = False) -> int:
    """What `linli up` and `make run` do (with a streaming replica for the reads if asked); returns the exit code."""
    return asyncio.run(_Up(settings, replica).run())
