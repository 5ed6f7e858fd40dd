"""`linli bench chaos`: servers killed under load through the API, and what the clients saw.

The database scenario: a PostgreSQL and a Valkey of its own, the demo district (scale 0.05), `linli serve` in a
process of its own, volunteers signing up for shifts from concurrent clients; in the middle PostgreSQL is stopped in
immediate mode (SIGQUIT to the postmaster, which is what `pg_ctl stop -m immediate` sends; pg_ctl itself refuses
to run as root) and started again on the same data and port. Afterwards every sign-up answered 201 must be in the
database, no answer may be a 500, and the service must take sign-ups again within seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from api.demo import seed_demo
from api.demo.district import DEMO_LOGINS
from api.dev import servers
from api.settings import REPO_ROOT
from sql.migrate import migrate

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Hours of the day the shifts start at, and how long each lasts: 8 × 50 minutes a day stays under the weekly cap
# of 60 hours, and shifts of one day never overlap, so one volunteer may hold all of them.
SLOTS = range(8, 16)
SHIFT_MINUTES = 50
DAYS = 60
PASSWORD = "chaos-volunteer-2026"
# What the scenario must show, and what the same load gave before database outages answered 503 (issue #11,
# measured on `make run`: 20 clients, 20 s).
REQUIRED = {"lost": 0, "answers_500": 0}
BEFORE = "6,119 acknowledged, 0 lost, 972 answers 500 (each logged as 'unhandled error' with a traceback)"


class Figures(msgspec.Struct, kw_only=True):
    """What one chaos run measured."""

    scenario: str
    clients: int
    seconds: float
    acknowledged: int = 0
    lost: int = 0
    stored_unacknowledged: int = 0
    statuses: dict[int, int] = {}
    no_answer: int = 0
    unavailable_without_retry_after: int = 0
    down_s: float = 0.0
    recover_s: float | None = None
    log_unhandled: int = 0
    # `linli serve`'s processes; each logs an outage and its end once.
    web_processes: int = 1
    log_outages: int = 0
    log_back: int = 0
    log_tracebacks: int = 0
    first_traceback: str = ""

    @property
    def answers_500(self) -> int:
        """Answers with status 500."""
        return self.statuses.get(500, 0)

    @property
    def server_errors(self) -> dict[int, int]:
        """Answers with a 5xx status, by code."""
        return {code: n for code, n in sorted(self.statuses.items()) if code >= 500}

    @property
    def passed(self) -> bool:
        """Nothing acknowledged was lost and no answer was a 500."""
        return self.lost == REQUIRED["lost"] and self.answers_500 == REQUIRED["answers_500"]


class _Load:
    """What the clients saw: acknowledged sign-ups, answers by status, and when."""

    def __init__(self) -> None:
        self.acknowledged: dict[int, set[int]] = {}
        self.statuses: Counter[int] = Counter()
        self.no_answer = 0
        self.unavailable_without_retry_after = 0
        self.created_at: list[float] = []


async def _json(response: httpx.Response, expected: int) -> Any:
    if response.status_code != expected:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
    return response.json()


async def _token(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    body = await _json(await client.post("/api/auth/token", json={"username": username, "password": password}), 201)
    return {"authorization": f"Bearer {body['token']}"}


async def _committee_area(client: httpx.AsyncClient) -> int:
    """The first residents' committee of the district: where the scenario's volunteers live."""
    areas = await _json(await client.get("/api/areas"), 200)
    while True:
        if committees := [a for a in areas if a["level"] == "committee"]:
            return int(committees[0]["id"])
        parent = next(a for a in areas if a["children"] > 0)
        areas = await _json(await client.get(f"/api/areas/{parent['id']}/children"), 200)


async def _publish_shifts(client: httpx.AsyncClient, headcount: int) -> list[int]:
    """One shift a slot a day for DAYS days, as the demo organisation publishes them; ids in time order."""
    org = next((username, password) for _, username, password in DEMO_LOGINS if username.startswith("org."))
    headers = await _token(client, *org)
    first = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    by_start: list[tuple[str, int]] = []
    for hour in SLOTS:
        starts = dt.datetime.combine(first, dt.time(hour), SHANGHAI)
        rule = {
            "title": f"混沌测试 {hour}:00",
            "place_name": "社区睦邻中心",
            "lat": 31.281,
            "lon": 121.521,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(minutes=SHIFT_MINUTES)).isoformat(),
            "headcount": headcount,
            "weekdays": [1, 2, 3, 4, 5, 6, 7],
            "until": (first + dt.timedelta(days=DAYS - 1)).isoformat(),
        }
        series = await _json(await client.post("/api/shifts/series", json=rule, headers=headers), 201)
        by_start += [(f"{day:04d}-{hour:02d}", shift_id) for day, shift_id in enumerate(series["shift_ids"])]
    return [shift_id for _, shift_id in sorted(by_start)]


async def _volunteer(client: httpx.AsyncClient, n: int, area_id: int, run: str) -> dict[str, str]:
    """A volunteer registered through the API, and its bearer token."""
    username = f"chaos{run}v{n}"
    form = {
        "username": username,
        "password": PASSWORD,
        "display_name": f"混沌志愿者{n}",
        "birth_year": 1990,
        "home_area_id": area_id,
        "weekly_hour_cap": 60,
    }
    await _json(await client.post("/api/volunteers", json=form), 201)
    return await _token(client, username, PASSWORD)


async def _sign_up_loop(
    client: httpx.AsyncClient, n: int, headers: dict[str, str], shifts: list[int], until: float, load: _Load
) -> None:
    """Take the shifts one after another until the time is up; after a 503 try the same shift again soon."""
    mine = load.acknowledged.setdefault(n, set())
    position = 0
    while time.monotonic() < until and position < len(shifts):
        shift_id = shifts[position]
        try:
            response = await client.post(f"/api/shifts/{shift_id}/signups", headers=headers)
        except httpx.TransportError:
            load.no_answer += 1
            await asyncio.sleep(0.1)
            continue
        load.statuses[response.status_code] += 1
        if response.status_code == 201:
            mine.add(shift_id)
            load.created_at.append(time.monotonic())
            position += 1
        elif response.status_code == 503:
            if "retry-after" not in response.headers:
                load.unavailable_without_retry_after += 1
            # An impatient client: it retries long before Retry-After, so the outage is seen in full.
            await asyncio.sleep(0.05)
        else:
            # 409 "already" after a 503 whose commit went through, or any other refusal: go on to the next shift.
            position += 1


async def _stored(client: httpx.AsyncClient, headers: dict[str, str]) -> set[int]:
    """The shifts the database holds for the volunteer (active sign-ups), read through the API."""
    held: set[int] = set()
    offset = 0
    while True:
        page = await _json(await client.get(f"/api/shifts/mine?limit=100&offset={offset}", headers=headers), 200)
        held |= {item["shift"]["id"] for item in page if item["my_status"] == "active"}
        if len(page) < 100:
            return held
        offset += 100


def first_traceback(log: str) -> str:
    """The log's first traceback, up to the next log line: its start and, above all, the exception at its end (a
    long one is cut in the middle)."""
    at = log.find("Traceback (most recent call last)")
    if at < 0:
        return ""
    start = log.rfind("\n", 0, at) + 1
    following = re.search(r"\n\d{4}-\d\d-\d\d[ T]\d", log[at:])
    text = log[start : at + following.start() if following else len(log)]
    return text if len(text) <= 3000 else f"{text[:800]}\n…\n{text[-2200:]}"


def _serve(
    folder: Path, database_url: str, redis_url: str, extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`linli serve` in a process of its own (with `extra` settings), logging to a file; its process, URL and log."""
    port = servers.free_port()
    env = {
        **os.environ,
        "LINLI_DATABASE_URL": database_url,
        "LINLI_REDIS_URL": redis_url,
        "LINLI_STATE_DIR": str(folder / "state"),
        "LINLI_HOST": "127.0.0.1",
        "LINLI_PORT": str(port),
        **(extra or {}),
    }
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=servers.die_with_parent(),
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/api/ready", timeout=2).status_code == 200:
                return process, base, log_path
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"linli serve did not become ready:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def _start_postgres(data_dir: Path, *, durable: bool, port: int | None = None) -> servers.LocalPostgres:
    # A throw-away cluster may skip fsync (the stop kills processes, not the machine), but an acknowledged commit
    # must still be written before it is acknowledged.
    options = {} if durable else {"synchronous_commit": "on"}
    return servers.start_postgres(data_dir, durable=durable, port=port, options=options)


async def _restart_postgres(
    pg: servers.LocalPostgres, after_s: float, down_s: float, durable: bool, figures: Figures
) -> tuple[servers.LocalPostgres, float]:
    """Stop PostgreSQL in immediate mode after `after_s`, start it again `down_s` later; the new server and when it
    was ready again."""
    await asyncio.sleep(after_s)
    stopped = time.monotonic()
    os.kill(pg.pid, signal.SIGQUIT)  # pg_ctl stop -m immediate: no checkpoint, clients cut off
    await asyncio.to_thread(pg.stop)  # reaps the postmaster and waits for its backends to be gone
    await asyncio.sleep(down_s)
    again = await asyncio.to_thread(_start_postgres, pg.data_dir, durable=durable, port=pg.port)
    ready = time.monotonic()
    figures.down_s = round(ready - stopped, 2)
    return again, ready


async def _run_database(
    clients: int, seconds: float, down_s: float, durable: bool, folder: Path, say: Callable[[str], None]
) -> Figures:
    figures = Figures(scenario="database", clients=clients, seconds=seconds)
    begun = time.monotonic()

    def step(what: str) -> None:
        say(f"chaos: {what} ({time.monotonic() - begun:.1f} s)")

    pg = _start_postgres(folder / "pg", durable=durable)
    valkey = servers.start_valkey(folder / "valkey", durable=False)
    process: subprocess.Popen[bytes] | None = None
    try:
        await migrate(pg.url)
        await seed_demo(pg.url, seed=1, scale=0.05)
        step("PostgreSQL and Valkey started, demo district seeded")
        figures.web_processes = os.cpu_count() or 1  # as in production: one web process per core
        serving, base, log_path = await asyncio.to_thread(
            _serve, folder, pg.url, valkey.url, {"LINLI_WEB_WORKERS": str(figures.web_processes)}
        )
        process = serving
        step("linli serve ready")
        limits = httpx.Limits(max_connections=clients + 4)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            shifts = await _publish_shifts(client, headcount=clients)
            area_id = await _committee_area(client)
            run = str(int(time.time()))[-6:]
            tokens = await asyncio.gather(*(_volunteer(client, n, area_id, run) for n in range(clients)))
            step(f"{len(shifts)} shifts published, {clients} volunteers registered; signing up for {seconds:.0f} s")
            load = _Load()
            started = time.monotonic()
            until = started + seconds
            chaos = asyncio.ensure_future(_restart_postgres(pg, seconds / 2 - down_s / 2, down_s, durable, figures))
            await asyncio.gather(
                *(_sign_up_loop(client, n, headers, shifts, until, load) for n, headers in enumerate(tokens))
            )
            pg, back_at = await chaos
            after = [t for t in load.created_at if t >= back_at]
            figures.recover_s = round(after[0] - back_at, 2) if after else None
            for n, headers in enumerate(tokens):
                held = await _stored(client, headers)
                figures.lost += len(load.acknowledged[n] - held)
                figures.stored_unacknowledged += len(held - load.acknowledged[n])
        figures.acknowledged = sum(len(mine) for mine in load.acknowledged.values())
        figures.statuses = dict(sorted(load.statuses.items()))
        figures.no_answer = load.no_answer
        figures.unavailable_without_retry_after = load.unavailable_without_retry_after
        serving.terminate()
        await asyncio.to_thread(serving.wait, 30)
        log = log_path.read_text(errors="replace")
        figures.first_traceback = first_traceback(log)
        figures.log_unhandled = log.count("unhandled error")
        figures.log_tracebacks = log.count("Traceback (most recent call last)")
        figures.log_outages = log.count("database unavailable; answering 503")
        figures.log_back = log.count("database back after")
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        valkey.stop()
        pg.stop()
    return figures


def run_database_restart(
    clients: int = 20,
    seconds: float = 20.0,
    *,
    down_s: float = 1.0,
    durable: bool = True,
    say: Callable[[str], None] = print,
) -> Figures:
    """PostgreSQL stopped in immediate mode and started again in the middle of `seconds` of sign-up load; durable
    (fsync on, as `linli up` runs it) unless told otherwise."""
    with servers.scratch_dir("linli-chaos-") as folder:
        return asyncio.run(_run_database(clients, seconds, down_s, durable, folder, say))


def _row(figure: str, measured: object, required: object) -> str:
    return f"| {figure} | {measured} | {required} |"


def report(figures: Figures) -> str:
    """The figures of a database run beside what they must be, as a Markdown table."""
    errors = ", ".join(f"{code}: {n:,}" for code, n in figures.server_errors.items()) or "none"
    others = ", ".join(f"{code}: {n:,}" for code, n in figures.statuses.items() if code < 500) or "none"
    recover = "never" if figures.recover_s is None else f"{figures.recover_s:.2f} s"
    lines = [
        f"chaos ({figures.scenario}): PostgreSQL stopped in immediate mode and started again in the middle of "
        f"{figures.seconds:.0f} s of sign-up load from {figures.clients} clients through the API",
        "",
        _row("figure", "this run", "must be"),
        _row("---", "---", "---"),
        _row("sign-ups acknowledged (201)", f"{figures.acknowledged:,}", "—"),
        _row("acknowledged but not stored (lost)", figures.lost, REQUIRED["lost"]),
        _row("answers 500", figures.answers_500, REQUIRED["answers_500"]),
        _row("5xx answers by code", errors, "503 only"),
        _row("503 without Retry-After", figures.unavailable_without_retry_after, 0),
        _row("other answers by code", others, "—"),
        _row("no answer (connection failed)", figures.no_answer, 0),
        _row("stored but answered 503 (commit went through, answer lost)", figures.stored_unacknowledged, "—"),
        _row("PostgreSQL down (stop → ready again)", f"{figures.down_s:.2f} s", "—"),
        _row("seconds to recover (PostgreSQL ready → next 201)", recover, "a few seconds"),
        _row('log lines "unhandled error"', figures.log_unhandled, 0),
        _row("tracebacks in the log", figures.log_tracebacks, 0),
        _row(
            "log: outage warnings / 'database back' lines",
            f"{figures.log_outages} / {figures.log_back}",
            f"{figures.web_processes} / {figures.web_processes} (one each per web process)",
        ),
        *([f"the log's first traceback:\n{figures.first_traceback}"] if figures.first_traceback else []),
        "",
        f"before (issue #11): {BEFORE}",
        "result: " + ("PASS" if figures.passed else "FAIL"),
    ]
    return "\n".join(lines)


def bench_database(clients: int, seconds: float) -> tuple[str, bool]:
    """The database scenario's report and whether it passed."""
    figures = run_database_restart(clients, seconds)
    return report(figures), figures.passed


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def bench_valkey(clients: int, seconds: float) -> tuple[str, bool]:
    """Valkey killed under `linli up` (on a seeded demo district of its own); its report and whether it passed.

    The load's size does not apply: one run is started right after the kill, while Valkey is gone."""
    from api.cli.chaos_valkey import measure_valkey_kill

    with servers.scratch_dir("linli-chaos-valkey-") as folder:
        pg = _start_postgres(folder / "pg", durable=False)
        try:
            asyncio.run(migrate(pg.url))
            asyncio.run(seed_demo(pg.url, seed=1, scale=0.05))
            result = measure_valkey_kill(folder / "up", servers.free_port(), database_url=pg.url)
        finally:
            pg.stop()
    passed = (
        result.run_status_code in (201, 202)
        and result.run_finished
        and result.recovered_after_s is not None
        and result.restart_logged
    )
    lines = [
        "chaos (valkey): Valkey killed with SIGKILL under `linli up`; an optimiser run started right after the kill",
        "",
        _row("figure", "this run", "must be"),
        _row("---", "---", "---"),
        _row("Valkey answering again (restarted by linli up)", _seconds(result.valkey_back_after_s), "a few seconds"),
        _row("/api/ready 200 again", _seconds(result.recovered_after_s), "a few seconds"),
        _row("answer to starting a run while Valkey is gone", result.run_status_code, "202 (queued)"),
        _row("that run finished", _seconds(result.run_finished_after_s), "yes"),
        _row("linli up logged the restart", "yes" if result.restart_logged else "no", "yes"),
        "",
        "before (issue #11): the worker exited with code 1 and linli up stopped everything",
        "result: " + ("PASS" if passed else "FAIL"),
    ]
    return "\n".join(lines), passed


# The scenarios `linli bench chaos` runs, in order: each takes the clients and seconds and gives its report and
# whether it passed.
SCENARIOS: dict[str, Callable[[int, float], tuple[str, bool]]] = {"database": bench_database, "valkey": bench_valkey}


def bench(size: str | None) -> bool:
    """Run every chaos scenario (`size` is CLIENTSxSECONDS, default 20x20), print each one's figures; all passed?"""
    clients, seconds = (int(part) for part in (size or "20x20").lower().split("x"))
    passed = True
    for scenario in SCENARIOS.values():
        text, ok = scenario(clients, float(seconds))
        print(text, flush=True)
        passed = passed and ok
    return passed
