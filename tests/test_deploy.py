"""deploy/ as an operator installs it: nginx's config passes `nginx -t`, the systemd units `systemd-analyze verify`,
the env file names real settings; two `linli serve` behind that nginx share every login (the web tier keeps no
state); and serve and worker refuse a schema that is not their code's (`linli migrate` runs once per deployment)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from api import security
from api.dev import servers as devservers
from api.settings import declared
from sql.migrate import migration_files, schema_drift
from tests.conftest import Servers, _redis_db, scratch_database
from tests.factories import PASSWORD, create_account
from tests.helpers import login, parse_page
from web.assets import static_url

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NGINX = Path("/usr/sbin/nginx")
SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")
SECRET = "deploy-test-" + "s" * 40
# What an operator must set for two hosts; the rest keep their defaults.
REQUIRED = {
    "LINLI_DATABASE_URL",
    "LINLI_REDIS_URL",
    "LINLI_SECRET_KEY",
    "LINLI_HOST",
    "LINLI_PORT",
    "LINLI_WEB_WORKERS",
    "LINLI_DATABASE_CONNECTIONS",
    "LINLI_HTTPS",
    "LINLI_TRUSTED_PROXIES",
    "LINLI_STATE_DIR",
}


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate and key for 127.0.0.1 (the checked-in config names the operator's)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    names = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert), "-days", "1"]
    subprocess.run([*openssl, *names, *files], check=True, capture_output=True)
    return cert, key


def nginx_prefix(folder: Path, *, web_ports: tuple[int, int], https_port: int, http_port: int) -> Path:
    """deploy/nginx/linli.conf with its example hosts, ports, certificate, cache and log moved into `folder` (a test
    prefix), inside a main config like the distribution's; the main config's path."""
    text = (DEPLOY / "nginx" / "linli.conf").read_text(encoding="utf-8")
    cert, key = self_signed(folder)
    swaps = {
        "server 10.0.0.11:8000 ": f"server 127.0.0.1:{web_ports[0]} ",
        "server 10.0.0.12:8000 ": f"server 127.0.0.1:{web_ports[1]} ",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        # The machine may have no IPv6.
        "listen [::]:443 ssl http2;": "",
        "listen [::]:80;": "",
        "/etc/linli/tls/fullchain.pem": str(cert),
        "/etc/linli/tls/privkey.pem": str(key),
        "/var/lib/nginx/linli-static": str(folder / "cache"),
        "/var/log/nginx/linli.access.log": str(folder / "access.log"),
    }
    for old, new in swaps.items():
        assert old in text, f"deploy/nginx/linli.conf no longer holds {old!r}: change this test with it"
        text = text.replace(old, new)
    (folder / "linli.conf").write_text(text, encoding="utf-8")
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root the workers would become `nobody`, who cannot enter pytest's folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        "events { worker_connections 256; }\n"
        f"http {{\n    include /etc/nginx/mime.types;\n{temp}\n    include {folder / 'linli.conf'};\n}}\n",
        encoding="utf-8",
    )
    return main


def nginx_command(main: Path, *extra: str) -> list[str]:
    """nginx on the test prefix; a clear failure (not a skip) where it is missing, as for Chromium."""
    assert NGINX.exists(), (
        "nginx is missing: `scripts/install.sh --browser` installs it as root (apt-get install nginx)"
    )
    return [str(NGINX), "-p", str(main.parent), "-c", str(main), "-e", str(main.parent / "error.log"), *extra]


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    main = nginx_prefix(tmp_path, web_ports=(18001, 18002), https_port=18443, http_port=18080)
    result = subprocess.run(nginx_command(main, "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_nginx_t_fails_on_a_broken_config(tmp_path: Path) -> None:
    main = nginx_prefix(tmp_path, web_ports=(18001, 18002), https_port=18443, http_port=18080)
    site = tmp_path / "linli.conf"
    site.write_text(site.read_text().replace("proxy_cache linli_static;", "proxy_cache no_such_zone;"))
    result = subprocess.run(nginx_command(main, "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "no_such_zone" in result.stderr


def verify_units(folder: Path, units: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, text in units.items():
        (folder / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", "--man=no", *(str(folder / name) for name in units)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def installed_units() -> dict[str, str]:
    """The units as installed on a host whose checkout is this one (so that their ExecStart paths exist)."""
    units = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        text = path.read_text(encoding="utf-8").replace("/opt/linli", str(ROOT))
        units[path.name.replace("@.service", "@1.service")] = text
    return units


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    units = installed_units()
    assert set(units) == {"linli-web.service", "linli-worker@1.service", "linli-migrate.service"}
    result = verify_units(tmp_path, units)
    # Unknown keys and bad values are only warnings to systemd: any output fails the test.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    for name, text in units.items():
        for line in ("User=linli", "EnvironmentFile=/etc/linli/linli.env", "NoNewPrivileges=yes"):
            assert line in text.splitlines(), (name, line)
        assert "ProtectSystem=strict" in text and "PrivateTmp=yes" in text, name
    assert "ExecStart=" + str(ROOT / ".venv/bin/linli") + " serve" in units["linli-web.service"]
    assert "Type=oneshot" in units["linli-migrate.service"]
    assert "migrate" not in units["linli-web.service"].split("[Service]")[1]


def test_systemd_analyze_verify_fails_on_a_typo(tmp_path: Path) -> None:
    units = installed_units()
    units["linli-web.service"] = units["linli-web.service"].replace("NoNewPrivileges=", "NoNewPrivilege=")
    result = verify_units(tmp_path, {"linli-web.service": units["linli-web.service"]})
    assert "Unknown key 'NoNewPrivilege'" in result.stderr


def test_the_env_file_sets_real_settings_and_every_one_two_hosts_need() -> None:
    values = {}
    for line in (DEPLOY / "linli.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    known = {setting.variable for setting in declared()}
    assert set(values) - known == set()
    assert set(values) >= REQUIRED
    security.proxy_networks(values["LINLI_TRUSTED_PROXIES"])  # a malformed value would stop the start
    # No secret is checked in: every password, key and token is a placeholder to fill in.
    for name in ("LINLI_SECRET_KEY", "LINLI_SMS_GATEWAY_TOKEN", "LINLI_METRICS_TOKEN"):
        assert re.fullmatch(r"<[^>]+>", values[name]), name
    assert ":<database password>@" in values["LINLI_DATABASE_URL"]


def run_cli(command: str, database_url: str, servers: Servers, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": database_url,
        "LINLI_REDIS_URL": servers.redis_url(0),
        "LINLI_STATE_DIR": str(tmp_path / "state"),
        "LINLI_SECRET_KEY": SECRET,
        "LINLI_PORT": str(devservers.free_port()),
        "LINLI_WEB_WORKERS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli", command], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
async def test_serve_and_worker_refuse_a_schema_that_is_not_their_codes(servers: Servers, tmp_path: Path) -> None:
    async with scratch_database(servers, template=None) as url:
        behind = run_cli("worker", url, servers, tmp_path)
        assert behind.returncode == 1
        assert "behind this code" in behind.stderr and "run `linli migrate`" in behind.stderr, behind.stderr
        assert f"({len(migration_files())} migration(s) pending, the first 0001_" in behind.stderr

        assert run_cli("migrate", url, servers, tmp_path).returncode == 0
        conn = await asyncpg.connect(url)
        try:
            assert (await schema_drift(conn)).refusal() is None
            await conn.execute("INSERT INTO schema_migrations VALUES ('9999_from_a_newer_linli.sql', '')")
        finally:
            await conn.close()
        newer = run_cli("serve", url, servers, tmp_path)
        assert newer.returncode == 1
        assert "newer than this code" in newer.stderr and "9999_from_a_newer_linli.sql" in newer.stderr


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process logging to `log`, stopped (SIGTERM, then waited for) at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=devservers.die_with_parent()
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def until_ready(url: str, process: subprocess.Popen[bytes], log: Path, trust: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(verify=trust, timeout=5) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, tail(log)
            await asyncio.sleep(0.2)


async def csrf_of(client: httpx.AsyncClient, url: str) -> str:
    return parse_page((await client.get(url)).text).inputs["_csrf_token"]


async def unread(database_url: str, account_id: int) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL", account_id
            )
        )
    finally:
        await conn.close()


@pytest.mark.slow
async def test_two_web_processes_behind_nginx_share_every_login(
    empty_database_url: str, servers: Servers, worker_index: int, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        account = await create_account(conn, "volunteer")
        username = await conn.fetchval("SELECT username FROM accounts WHERE id = $1", account)
        for n in range(3):
            await conn.execute(
                "INSERT INTO notifications (account_id, kind, dedupe_key) VALUES ($1, 'signup_cancelled', $2)",
                account,
                f"deploy:{n}",
            )
    finally:
        await conn.close()

    ports = (devservers.free_port(), devservers.free_port())
    https_port, http_port = devservers.free_port(), devservers.free_port()
    nginx_folder = tmp_path / "nginx"
    nginx_folder.mkdir()
    main = nginx_prefix(nginx_folder, web_ports=ports, https_port=https_port, http_port=http_port)
    trust = ssl.create_default_context(cafile=nginx_folder / "cert.pem")
    with contextlib.ExitStack() as stack:
        processes = []
        for host, port in zip("AB", ports, strict=True):
            # Two hosts: a state folder each, one secret key, one database and one Redis.
            env = {
                **os.environ,
                "LINLI_DATABASE_URL": empty_database_url,
                "LINLI_REDIS_URL": servers.redis_url(_redis_db(worker_index, 0)),
                "LINLI_STATE_DIR": str(tmp_path / f"state-{host}"),
                "LINLI_SECRET_KEY": SECRET,
                "LINLI_HOST": "127.0.0.1",
                "LINLI_PORT": str(port),
                "LINLI_WEB_WORKERS": "1",
                "LINLI_TRUSTED_PROXIES": "127.0.0.1/32",
            }
            log = tmp_path / f"serve-{host}.log"
            command = [sys.executable, "-m", "api.cli", "serve"]
            processes.append((stack.enter_context(started(command, env, log)), log, f"http://127.0.0.1:{port}"))
        nginx_log = nginx_folder / "error.log"
        proxy = stack.enter_context(started(nginx_command(main, "-g", "daemon off;"), dict(os.environ), nginx_log))
        for process, log, base in processes:
            await until_ready(f"{base}/api/ready", process, log, trust)
        (_, _, a), (_, _, b) = processes

        # Directly: log in through A, then a page that needs the session and a POST with A's CSRF token through B.
        # (Cookies do not tell ports apart, as a browser's would not tell two hosts behind one name apart.)
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(f"{b}/inbox")).status_code == 302  # no session yet: to the login page
            token = await csrf_of(client, f"{a}/login")
            answer = await client.post(
                f"{a}/login", data={"username": username, "password": PASSWORD, "_csrf_token": token}
            )
            assert answer.status_code == 302, answer.text
            assert (await client.get(f"{b}/inbox")).status_code == 200
            token = await csrf_of(client, f"{a}/inbox")
            answer = await client.post(f"{b}/inbox/read-all", data={"_csrf_token": token})
            assert answer.status_code == 302, answer.text
            assert await unread(empty_database_url, account) == 0
            # A POST without the token is refused by B as it would be by A.
            assert (await client.post(f"{b}/inbox/read-all", data={})).status_code == 403

        # Through nginx, round-robin: every request of the session succeeds, and both processes answer.
        through = f"https://127.0.0.1:{https_port}"
        await until_ready(f"{through}/api/ready", proxy, nginx_log, trust)
        async with httpx.AsyncClient(base_url=through, verify=trust, timeout=30) as client:
            answer = await login(client, username)
            assert answer.status_code == 302, answer.text
            statuses = []
            for _ in range(6):
                statuses.append((await client.get("/inbox")).status_code)
                token = await csrf_of(client, "/inbox")
                statuses.append((await client.post("/inbox/read-all", data={"_csrf_token": token})).status_code)
            assert statuses == [200, 302] * 6
            # A hashed static file is kept by nginx: the second request never reaches a web process.
            for _ in range(2):
                answer = await client.get(static_url("css/linli.css"))
                assert answer.status_code == 200 and "immutable" in answer.headers["cache-control"]
        lines = (nginx_folder / "access.log").read_text().splitlines()
        session = [line for line in lines if '"GET /inbox ' in line or '"POST /inbox/read-all ' in line]
        assert len(session) == 18  # each round: the inbox, the inbox again for its token, the POST
        assert {re.search(r"upstream=(\S+)", line).group(1) for line in session} == {  # type: ignore[union-attr]
            f"127.0.0.1:{ports[0]}",
            f"127.0.0.1:{ports[1]}",
        }
        statics = [line for line in lines if "/static/css/linli." in line]
        assert [re.search(r"cache=(\S+)", line).group(1) for line in statics] == ["MISS", "HIT"]  # type: ignore[union-attr]
