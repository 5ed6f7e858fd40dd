"""`linli bench http`: sign-ups through HTTP beside the same guarded statement from raw asyncpg, in one run.

A PostgreSQL (durable, as `linli up` runs it) and a Valkey of its own, the demo district (scale 0.05), shifts
published and volunteers registered through the API. Then, on that one server and one after the other:

- raw: CLIENTS asyncpg connections each running the issue's baseline — one statement per pick-up, `WITH s AS
  (UPDATE shifts SET taken = taken + 1 WHERE id = $1 AND taken < headcount RETURNING …) INSERT INTO signups …
  SELECT … FROM s` — on copies of the two tables with the same checks, unique index and exclusion constraint;
- HTTP: CLIENTS keep-alive connections posting `/api/shifts/{id}/signups` with a volunteer's bearer token each, to
  `linli serve` with LINLI_WEB_WORKERS=1 and then with the default (one process per core); after the sign-ups,
  the same connections fetch the hashed stylesheet again and again (the static path).

Every client walks the shifts from its own starting point ("spread": no two clients queue on one row), and the
first second of each phase is not counted (connections and prepared statements warming up). The load generator is
plain asyncio streams on uvloop with the requests' bytes built once, so that it costs the server little CPU.
Afterwards every shift must hold exactly as many active sign-ups as it counts taken, and none more than its places.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import msgspec
import uvloop

from api import security
from api.cli import chaos
from api.demo import DEMO_LOGINS, seed_demo
from api.dev import servers
from sql import accounts as accounts_sql
from sql.migrate import migrate
from web.assets import static_url

WARM_UP_S = 1.0
# The hot race (issue #13): this many sign-ups sent at once for this many places of one shift.
HOT_RACE = 1000
HOT_PLACES = 5
# The two tables of the baseline: copies of shifts and signups with their checks, indexes and exclusion constraint
# (LIKE … INCLUDING ALL), without the foreign keys to the rest of the schema.
RAW_TABLES = """
DROP TABLE IF EXISTS bench_signups, bench_shifts;
CREATE TABLE bench_shifts (LIKE shifts INCLUDING ALL);
CREATE TABLE bench_signups (LIKE signups INCLUDING ALL);
ALTER TABLE bench_signups ADD FOREIGN KEY (shift_id) REFERENCES bench_shifts (id);
"""
RAW_COPY = "INSERT INTO bench_shifts OVERRIDING SYSTEM VALUE SELECT * FROM shifts WHERE id = ANY($1::bigint[])"
RAW_PLACES = "UPDATE bench_shifts SET taken = 0, headcount = $1"
RAW_PICK_UP = """
WITH s AS (
    UPDATE bench_shifts SET taken = taken + 1 WHERE id = $1 AND taken < headcount RETURNING id, starts_at, ends_at
)
INSERT INTO bench_signups (shift_id, volunteer_id, status, during)
SELECT s.id, $2, 'active', tstzrange(s.starts_at, s.ends_at, '[)') FROM s
RETURNING id
"""
# The hot race's volunteers: copies of one registered through the API (its password hash, home and limits), as the
# issue's load accounts share one precomputed hash; their tokens are issued below without a thousand logins.
HOT_VOLUNTEERS = """
WITH t AS (
    SELECT a.password_hash, v.birth_year, v.home_area_id, v.lat, v.lon, v.travel_km, v.weekly_hour_cap
    FROM accounts a JOIN volunteers v ON v.account_id = a.id WHERE a.id = $1
), made AS (
    INSERT INTO accounts (username, display_name, password_hash, role)
    SELECT $2 || g, '抢位志愿者' || g, t.password_hash, 'volunteer' FROM t, generate_series(1, $3) g
    RETURNING id
)
INSERT INTO volunteers (account_id, display_name, birth_year, home_area_id, lat, lon, travel_km, weekly_hour_cap)
SELECT made.id, '抢位志愿者', t.birth_year, t.home_area_id, t.lat, t.lon, t.travel_km, t.weekly_hour_cap FROM made, t
RETURNING account_id
"""
HOT_TAKEN = (
    "SELECT taken, (SELECT count(*) FROM signups WHERE shift_id = $1 AND status = 'active') FROM shifts WHERE id = $1"
)
OVERSOLD = """
SELECT count(*) FILTER (WHERE s.taken > s.headcount) AS oversold,
       count(*) FILTER (WHERE s.taken <> (SELECT count(*) FROM signups g
                                          WHERE g.shift_id = s.id AND g.status = 'active')) AS miscounted,
       (SELECT count(*) FROM signups g WHERE g.shift_id = ANY($1::bigint[]) AND g.status = 'active') AS active
FROM shifts s WHERE s.id = ANY($1::bigint[])
"""


class Phase(msgspec.Struct, kw_only=True):
    """What one phase measured."""

    name: str
    processes: int | None = None
    # Sign-ups, compared with the raw statement (not a static file).
    compared: bool = False
    counted: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = []
    errors: dict[str, int] = {}
    # Every answer of the phase (the warm-up's too), and the CPU seconds the web processes and PostgreSQL spent
    # meanwhile: a cost per answer that other jobs on a shared machine change far less than the rates.
    answered: int = 0
    web_cpu_s: float | None = None
    database_cpu_s: float | None = None

    def cpu_ms(self, seconds: float | None) -> str:
        """CPU milliseconds per answer, or a dash."""
        return "—" if seconds is None or not self.answered else f"{seconds * 1000 / self.answered:.2f}"

    @property
    def rate(self) -> float:
        """Sign-ups a second after the warm-up."""
        return self.counted / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """The latency below which `share` of the counted sign-ups finished (ms)."""
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[round(share * 100) - 1]


class _Clock:
    """Counts sign-ups that start after the warm-up and end before the deadline."""

    def __init__(self, seconds: float) -> None:
        self.began = time.monotonic()
        self.counts_from = self.began + WARM_UP_S
        self.until = self.counts_from + seconds


async def _drive(
    phase: Phase, clients: int, seconds: float, one: Callable[[int, int], Awaitable[str | None]], steps: int | None
) -> None:
    """CLIENTS loops, each calling `one(client, step)` for its next sign-up until time is up (or after `steps`)."""
    clock = _Clock(seconds)
    errors: dict[str, int] = {}

    async def loop(client: int) -> None:
        step = 0
        while steps is None or step < steps:
            started = time.monotonic()
            if started >= clock.until:
                return
            error = await one(client, step)
            ended = time.monotonic()
            step += 1
            if error is not None:
                errors[error] = errors.get(error, 0) + 1
                continue
            phase.answered += 1
            if started >= clock.counts_from and ended <= clock.until:
                phase.latencies_ms.append((ended - started) * 1000)

    await asyncio.gather(*(loop(n) for n in range(clients)))
    if steps is not None and time.monotonic() < clock.until:
        errors["walked every shift before the time was up"] = 1
    phase.counted = len(phase.latencies_ms)
    phase.seconds = seconds
    phase.errors = errors


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process and its live descendants have used so far (Linux /proc)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += tree_cpu_s(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass  # the process ended meanwhile
    return total


class _Cpu:
    """The CPU the web processes and PostgreSQL use during a phase, written into it when the phase ends."""

    def __init__(self, phase: Phase, web_pid: int | None, database_pid: int) -> None:
        self.phase = phase
        self.pids = (web_pid, database_pid)
        self.began = [None if pid is None else tree_cpu_s(pid) for pid in self.pids]

    def done(self) -> None:
        """Record the CPU used since the start."""
        pairs = zip(self.pids, self.began, strict=True)
        used = [None if pid is None or began is None else tree_cpu_s(pid) - began for pid, began in pairs]
        self.phase.web_cpu_s, self.phase.database_cpu_s = used


def _spread(client: int, clients: int, step: int, shifts: int) -> int:
    """Which shift a client takes at its step: each starts at its own place in the list ("spread")."""
    return (client * shifts // clients + step) % shifts


async def _raw(database_url: str, database_pid: int, shift_ids: list[int], clients: int, seconds: float) -> Phase:
    """The baseline statement from CLIENTS asyncpg connections on copies of the two tables."""
    phase = Phase(name="raw asyncpg, one statement", compared=True)
    connections = [await asyncpg.connect(database_url) for _ in range(clients)]
    try:
        await connections[0].execute(RAW_TABLES)
        await connections[0].execute(RAW_COPY, shift_ids)
        # The most places a shift may have; a client that has walked all shifts goes on as the next volunteer.
        await connections[0].execute(RAW_PLACES, 1000)
        statements = [await c.prepare(RAW_PICK_UP) for c in connections]

        async def one(client: int, step: int) -> str | None:
            volunteer = client + clients * (step // len(shift_ids))
            shift_id = shift_ids[_spread(client, clients, step, len(shift_ids))]
            row = await statements[client].fetchval(shift_id, volunteer)
            return None if row is not None else "no row"

        cpu = _Cpu(phase, None, database_pid)
        await _drive(phase, clients, seconds, one, None)
        cpu.done()
    finally:
        await connections[0].execute("DROP TABLE IF EXISTS bench_signups, bench_shifts")
        for c in connections:
            await c.close()
    return phase


class _HttpClient:
    """One keep-alive HTTP/1.1 connection sending prebuilt requests and reading the status and the body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, request: bytes) -> int:
        """The status of the answer to one request."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding":
                raise RuntimeError("a chunked answer: the bench reads only sized bodies")
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])


async def _http(
    base: str, requests: list[list[bytes]], seconds: float, phase: Phase, expected: int, once: bool
) -> Phase:
    """Each client's prebuilt requests over one keep-alive connection of its own (each request once, or round)."""
    host, port = base.removeprefix("http://").split(":")
    connections = []
    for _ in requests:
        reader, writer = await asyncio.open_connection(host, int(port))
        connections.append(_HttpClient(reader, writer))

    async def one(client: int, step: int) -> str | None:
        mine = requests[client]
        status = await connections[client].send(mine[_spread(client, len(requests), step, len(mine))])
        return None if status == expected else str(status)

    try:
        await _drive(phase, len(requests), seconds, one, len(requests[0]) if once else None)
    finally:
        for connection in connections:
            connection.writer.close()
    return phase


async def _hot_shift(client: httpx.AsyncClient) -> int:
    """A one-off shift of HOT_PLACES places tomorrow evening (after the spread phase's slots), as the organisation
    publishes it."""
    org = next((username, password) for _, username, password in DEMO_LOGINS if username.startswith("org."))
    starts = dt.datetime.combine(
        dt.datetime.now(chaos.SHANGHAI).date() + dt.timedelta(days=1), dt.time(19), chaos.SHANGHAI
    )
    shift = {
        "title": "抢位测试",
        "place_name": "社区睦邻中心",
        "lat": 31.281,
        "lon": 121.521,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(hours=1)).isoformat(),
        "headcount": HOT_PLACES,
    }
    headers = await chaos._token(client, *org)
    return int((await chaos._json(await client.post("/api/shifts/", json=shift, headers=headers), 201))["id"])


async def _hot_race(base: str, database_url: str, template: dict[str, str], phase: Phase) -> None:
    """HOT_RACE volunteers, each on a connection of its own opened beforehand, send their sign-up for the same shift
    with HOT_PLACES places at once; the phase's time is from the first request sent to the last answer read."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        me = await chaos._json(await client.get("/api/accounts/me", headers=template), 200)
        shift_id = await _hot_shift(client)
    connection = await asyncpg.connect(database_url)
    try:
        made = await connection.fetch(HOT_VOLUNTEERS, me["id"], f"hot{int(time.time()) % 100000}v", HOT_RACE)
        tokens = [security.new_token() for _ in made]
        await connection.executemany(
            accounts_sql.INSERT_TOKEN,
            [(security.token_hash(t), r["account_id"], "bench", 1) for t, r in zip(tokens, made, strict=True)],
        )
    finally:
        await connection.close()
    host, port = base.removeprefix("http://").split(":")
    clients = []
    for _ in tokens:
        reader, writer = await asyncio.open_connection(host, int(port))
        clients.append(_HttpClient(reader, writer))
    requests = [
        request[0] for request in _sign_ups(base, [{"authorization": f"Bearer {t}"} for t in tokens], [shift_id])
    ]
    statuses: dict[int, int] = {}

    async def one(client: _HttpClient, request: bytes) -> None:
        started = time.monotonic()
        status = await client.send(request)
        phase.latencies_ms.append((time.monotonic() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    began = time.monotonic()
    try:
        await asyncio.gather(*(one(c, r) for c, r in zip(clients, requests, strict=True)))
    finally:
        for c in clients:
            c.writer.close()
    phase.seconds = time.monotonic() - began
    phase.counted = phase.answered = len(requests)
    connection = await asyncpg.connect(database_url)
    try:
        taken, active = await connection.fetchrow(HOT_TAKEN, shift_id) or (None, None)
    finally:
        await connection.close()
    if statuses != {201: HOT_PLACES, 409: HOT_RACE - HOT_PLACES}:
        phase.errors["answers " + ", ".join(f"{k} × {v}" for k, v in sorted(statuses.items()))] = 1
    if taken != HOT_PLACES or active != HOT_PLACES:
        phase.errors[f"taken {taken}, active sign-ups {active} for {HOT_PLACES} places"] = 1


def _sign_ups(base: str, tokens: list[dict[str, str]], shift_ids: list[int]) -> list[list[bytes]]:
    """Each volunteer's sign-up for every shift, as the bytes of the request."""
    host = base.removeprefix("http://")
    return [
        [
            (
                f"POST /api/shifts/{shift_id}/signups HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {headers['authorization']}\r\nContent-Length: 0\r\n\r\n"
            ).encode()
            for shift_id in shift_ids
        ]
        for headers in tokens
    ]


async def _phase_http(
    folder: Path, pg: servers.LocalPostgres, valkey: servers.LocalValkey, workers: int, clients: int, seconds: float
) -> tuple[list[Phase], list[int]]:
    """`linli serve` with WORKERS processes (0: one per core): shifts published, volunteers registered, sign-ups,
    then a stylesheet fetched again and again."""
    extra = {"LINLI_WEB_WORKERS": str(workers)}
    process, base, _log = await asyncio.to_thread(chaos._serve, folder, pg.url, valkey.url, extra)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            shift_ids = await chaos._publish_shifts(client, headcount=clients)
            area_id = await chaos._committee_area(client)
            run = f"{int(time.time()) % 100000}w{workers}"
            # A few at a time: each registration hashes a password, which is slow on purpose.
            gate = asyncio.Semaphore(4)

            async def volunteer(n: int) -> dict[str, str]:
                async with gate:
                    return await chaos._volunteer(client, n, area_id, run)

            tokens = list(await asyncio.gather(*(volunteer(n) for n in range(clients))))
        processes = workers or os.cpu_count() or 1
        phase = Phase(name="HTTP POST /api/shifts/{id}/signups", processes=processes, compared=True)
        cpu = _Cpu(phase, process.pid, pg.pid)
        await _http(base, _sign_ups(base, tokens, shift_ids), seconds, phase, 201, once=True)
        cpu.done()
        measured = [phase]
        if workers == 0:
            hot = Phase(name=f"HTTP hot race: {HOT_RACE:,} sign-ups at once for {HOT_PLACES} places", compared=True)
            hot.processes = processes
            cpu = _Cpu(hot, process.pid, pg.pid)
            await _hot_race(base, pg.url, tokens[0], hot)
            cpu.done()
            measured.append(hot)
        url = static_url("css/linli.css")
        static = Phase(name=f"HTTP GET {url} (gzip)", processes=processes)
        get = f"GET {url} HTTP/1.1\r\nHost: {base.removeprefix('http://')}\r\nAccept-Encoding: gzip\r\n\r\n"
        cpu = _Cpu(static, process.pid, pg.pid)
        await _http(base, [[get.encode()]] * clients, seconds, static, 200, once=False)
        cpu.done()
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
    return [*measured, static], shift_ids


async def _run(clients: int, seconds: float, folder: Path, say: Callable[[str], None]) -> list[Phase]:
    begun = time.monotonic()

    def step(what: str) -> None:
        say(f"bench http: {what} ({time.monotonic() - begun:.0f} s)")

    pg = servers.start_postgres(folder / "pg", durable=True)
    valkey = servers.start_valkey(folder / "valkey", durable=False)
    phases: list[Phase] = []
    try:
        await migrate(pg.url)
        await seed_demo(pg.url, seed=1, scale=0.05)
        step("PostgreSQL and Valkey started, demo district seeded")
        published: list[list[int]] = []
        for workers in (1, 0):
            measured, shift_ids = await _phase_http(folder, pg, valkey, workers, clients, seconds)
            phases += measured
            published.append(shift_ids)
            step(f"HTTP with {measured[0].processes} web process(es): {measured[0].rate:,.0f} sign-ups/s")
        # One phase's shifts: the other phase's are at the same times, which one volunteer cannot hold twice.
        raw = await _raw(pg.url, pg.pid, published[0], clients, seconds)
        phases.insert(0, raw)
        step(f"raw asyncpg: {raw.rate:,.0f} sign-ups/s")
        connection = await asyncpg.connect(pg.url)
        try:
            checked = await connection.fetchrow(OVERSOLD, [i for ids in published for i in ids])
        finally:
            await connection.close()
        assert checked is not None
        created = sum(p.counted for p in phases if p.compared and p is not raw)
        say(
            f"bench http: shifts oversold {checked['oversold']}, miscounted {checked['miscounted']}; "
            f"active sign-ups {checked['active']:,} (counted 201s after warm-ups: {created:,})"
        )
        if checked["oversold"] or checked["miscounted"]:
            phases[2].errors["oversold or miscounted shifts"] = checked["oversold"] + checked["miscounted"]
    finally:
        valkey.stop()
        pg.stop()
    return phases


def report(phases: list[Phase], clients: int) -> str:
    """The phases side by side as a Markdown table, each HTTP rate as a share of the raw one."""
    raw = phases[0]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"bench http: {clients} clients, {raw.seconds:.0f} s a phase after a {WARM_UP_S:.0f} s warm-up, "
        f"{os.cpu_count()} cores, load average {load}",
        "",
        "| path | web processes | answers/s | p50 ms | p99 ms | errors | share of raw | p99 / raw p99 "
        "| web CPU ms/answer | PostgreSQL CPU ms/answer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in phases:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(phase.errors.items())) or "0"
        share = p99_ratio = "—"
        if phase.compared and raw.rate and raw.percentile(0.99):
            share = f"{phase.rate / raw.rate:.1%}"
            p99_ratio = f"{phase.percentile(0.99) / raw.percentile(0.99):.1f}"
        lines.append(
            f"| {phase.name} | {phase.processes or '—'} | {phase.rate:,.0f} | {phase.percentile(0.5):.1f} | "
            f"{phase.percentile(0.99):.1f} | {errors} | {share} | {p99_ratio} | {phase.cpu_ms(phase.web_cpu_s)} | "
            f"{phase.cpu_ms(phase.database_cpu_s)} |"
        )
    lines += ["", "target (issue #13): HTTP at ≥ 35 % of raw, p99 ≤ 3 × raw p99, 0 errors, 0 oversell"]
    return "\n".join(lines)


def bench(size: str | None, say: Callable[[str], None] = print) -> bool:
    """Run the bench (`size` is CLIENTSxSECONDS, default 50x10) and print its table; True when nothing failed."""
    clients, seconds = (int(part) for part in (size or "50x10").lower().split("x"))
    # The hot race holds a thousand sockets at once here and in the web processes, which inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * HOT_RACE:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * HOT_RACE), hard))
    with servers.scratch_dir("linli-bench-http-") as folder, asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
        phases = r.run(_run(clients, float(seconds), folder, say))
    say(report(phases, clients))
    return not any(phase.errors for phase in phases)
