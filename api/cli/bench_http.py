"""`linli bench http`: sign-ups and reads through HTTP beside the same statements from raw asyncpg, in one run.

A PostgreSQL (durable, as `linli up` runs it) and a Valkey of its own, the demo district (scale 0.05), shifts
published and volunteers registered through the API. First the reads, on the demo district or the city (`--preset
city` seeds it in a database of its own on the same server; `--database-url` names one seeded already), with
`linli serve` at one process per core and READ_CLIENTS connections:

- browse: READ_CLIENTS volunteers spread over the district, each with its own bearer token, ask `GET
  /api/shifts/?limit=20` again and again; beside it the statement that page runs (`SELECT_SHIFTS_FOR_VOLUNTEER`),
  prepared on READ_CLIENTS raw connections with the same parameters per volunteer (checked first: the raw rows are
  the page's rows, shift for shift);
- pages: every role's home and list pages (PAGES), each for a few seconds, by a manager of that role (the volunteer's
  by the same volunteers), each row against the issue's target (p95 ≤ 150 ms).

Then the sign-ups, on the demo district, one after the other:

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
from api.demo import DEMO_LOGINS, DEMO_VOLUNTEERS_PASSWORD, seed_demo
from api.demo.city import CITY_PASSWORD, seed_city
from api.dev import servers
from sql import accounts as accounts_sql
from sql import shifts as shifts_sql
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

# The reads (issue #13): this many connections, and each page for at most this many seconds after its warm-up.
READ_CLIENTS = 10
PAGE_SECONDS = 3.0
# A volunteer's browse, and the parameters its route passes for it (eligible_only, limit, offset).
BROWSE_PATH = "/api/shifts/?limit=20"
BROWSE_ARGS = (False, 20, 0)
# Every role's home and list pages.
PAGES: dict[str, tuple[str, ...]] = {
    "volunteer": ("/home", "/shifts", "/shifts/mine"),
    "committee": ("/home", "/needs", "/households", "/volunteering/dashboard", "/attendance", "/shifts/published"),
    "organisation": ("/home", "/tenders", "/shifts/published"),
    "funder": ("/home", "/dashboard", "/tenders"),
}
# The targets of issue #13.
SIGN_UP_SHARE = 0.35
SIGN_UP_P99_TIMES = 3.0
BROWSE_SHARE = 0.50
PAGE_P95_MS = 150.0
# The managers the pages are asked as: the demo district's own logins, or the first of each role in the city.
DEMO_MANAGERS = {"committee": "committee.kailu4", "organisation": "org.leling", "funder": "funder.yinhang"}
CITY_MANAGER = "SELECT min(username) FROM accounts WHERE role = $1 AND username LIKE 'city%'"
# The volunteers who read, spread over the district or city: in the order of a hash of their names, which has
# nothing to do with where they live (the city's `cityv…`, the demo district's `volunteer.0…`, each preset's
# volunteers sharing one password).
VOLUNTEER_LOGINS = """
SELECT username FROM accounts WHERE role = 'volunteer' AND username LIKE $2 AND erased_at IS NULL
ORDER BY hashtext(username) LIMIT $1
"""
VOLUNTEER_IDS = """
SELECT a.username, v.id FROM accounts a JOIN volunteers v ON v.account_id = a.id WHERE a.username = ANY($1::text[])
"""


class Phase(msgspec.Struct, kw_only=True):
    """What one phase measured."""

    name: str
    processes: int | None = None
    # What it is compared with: the raw row of the same kind ("sign-up", "browse"), or nothing.
    kind: str | None = None
    # The raw row of its kind: the same statement through raw asyncpg.
    raw: bool = False
    # The target the row is held to (a key of TARGETS).
    target: str | None = None
    counted: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = []
    errors: dict[str, int] = {}
    # Every answer of the phase (the warm-up's too), and the CPU seconds the web processes and PostgreSQL spent
    # meanwhile: a cost per answer that other jobs on a shared machine change far less than the rates. The bench's
    # own (the load generator, or the raw rows' asyncpg client) shows that it is not what limits the rate.
    answered: int = 0
    web_cpu_s: float | None = None
    database_cpu_s: float | None = None
    client_cpu_s: float | None = None

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
    """The CPU the web processes, PostgreSQL and this process use during a phase, written into it when it ends."""

    def __init__(self, phase: Phase, web_pid: int | None, database_pid: int | None) -> None:
        self.phase = phase
        self.pids = (web_pid, database_pid)
        self.began = [None if pid is None else tree_cpu_s(pid) for pid in self.pids]
        self.client_began = time.process_time()

    def done(self) -> None:
        """Record the CPU used since the start."""
        pairs = zip(self.pids, self.began, strict=True)
        used = [None if pid is None or began is None else tree_cpu_s(pid) - began for pid, began in pairs]
        self.phase.web_cpu_s, self.phase.database_cpu_s = used
        self.phase.client_cpu_s = time.process_time() - self.client_began


def _spread(client: int, clients: int, step: int, shifts: int) -> int:
    """Which shift a client takes at its step: each starts at its own place in the list ("spread")."""
    return (client * shifts // clients + step) % shifts


async def _raw(database_url: str, database_pid: int, shift_ids: list[int], clients: int, seconds: float) -> Phase:
    """The baseline statement from CLIENTS asyncpg connections on copies of the two tables."""
    phase = Phase(name="raw asyncpg, one statement", kind="sign-up", raw=True)
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


def _gets(base: str, path: str, tokens: list[dict[str, str]]) -> list[list[bytes]]:
    """Each client's GET of a path with its bearer token, as the bytes of the request."""
    host = base.removeprefix("http://")
    return [
        [f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {headers['authorization']}\r\n\r\n".encode()]
        for headers in tokens
    ]


class Reads(msgspec.Struct, kw_only=True):
    """The read rows, and one volunteer's browse page through HTTP and through the raw statement (shift ids)."""

    phases: list[Phase]
    http_ids: list[int]
    raw_ids: list[int]


async def _postmaster_pid(conn: asyncpg.Connection) -> int | None:
    """The PostgreSQL server's process, when it runs on this machine and its data directory may be read."""
    try:
        folder = await conn.fetchval("SELECT current_setting('data_directory')")
    except asyncpg.PostgresError:
        return None  # not a superuser, nor allowed to read the settings
    return _first_number(Path(folder, "postmaster.pid"))


def _first_number(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def _read_logins(conn: asyncpg.Connection, preset: str) -> dict[str, list[tuple[str, str]]]:
    """Who asks for each role's pages (username, password): READ_CLIENTS volunteers, one manager of each other
    role."""
    if preset == "city":
        volunteers = [r["username"] for r in await conn.fetch(VOLUNTEER_LOGINS, READ_CLIENTS, "cityv%")]
        managers = {role: await conn.fetchval(CITY_MANAGER, role) for role in PAGES if role != "volunteer"}
        password = {name: CITY_PASSWORD for name in [*volunteers, *managers.values()] if name is not None}
    else:
        volunteers = [r["username"] for r in await conn.fetch(VOLUNTEER_LOGINS, READ_CLIENTS, "volunteer.0%")]
        managers = dict(DEMO_MANAGERS)
        demo = {username: secret for _, username, secret in DEMO_LOGINS}
        password = {**demo, **dict.fromkeys(volunteers, DEMO_VOLUNTEERS_PASSWORD)}
    missing = [role for role, name in managers.items() if name is None]
    if len(volunteers) < READ_CLIENTS or missing:
        raise RuntimeError(f"too few accounts for the reads ({preset}): is the database seeded with that preset?")
    logins = {"volunteer": [(name, password[name]) for name in volunteers]}
    return logins | {role: [(name, password[name])] for role, name in managers.items()}


async def _raw_browse(
    database_url: str, database_pid: int | None, volunteer_ids: list[int], seconds: float, phase: Phase
) -> list[list[int]]:
    """The browse's own statement, prepared on one raw connection per volunteer with the parameters the page passes,
    again and again; each volunteer's shift ids of the first run."""
    # One statement a page, JIT off as the service runs it (which spends three more round trips to say so).
    connections = [await asyncpg.connect(database_url, server_settings={"jit": "off"}) for _ in volunteer_ids]
    try:
        statements = [await c.prepare(shifts_sql.SELECT_SHIFTS_FOR_VOLUNTEER) for c in connections]
        ids = [
            [r["id"] for r in await statement.fetch(volunteer_id, *BROWSE_ARGS)]
            for statement, volunteer_id in zip(statements, volunteer_ids, strict=True)
        ]

        async def one(client: int, _step: int) -> str | None:
            await statements[client].fetch(volunteer_ids[client], *BROWSE_ARGS)
            return None

        cpu = _Cpu(phase, None, database_pid)
        await _drive(phase, len(connections), seconds, one, None)
        cpu.done()
    finally:
        for c in connections:
            await c.close()
    return ids


async def measure_reads(
    folder: Path, database_url: str, redis_url: str, preset: str, seconds: float, page_seconds: float
) -> Reads:
    """`linli serve` (one process per core) on the database: the browse beside its own statement through raw
    asyncpg, then every role's home and list pages, each at READ_CLIENTS connections."""
    conn = await asyncpg.connect(database_url)
    try:
        database_pid = await _postmaster_pid(conn)
        logins = await _read_logins(conn, preset)
        names = [name for name, _ in logins["volunteer"]]
        found = {r["username"]: r["id"] for r in await conn.fetch(VOLUNTEER_IDS, names)}
        volunteer_ids = [found[name] for name in names]
    finally:
        await conn.close()
    process, base, _log = await asyncio.to_thread(chaos._serve, folder, database_url, redis_url, {})
    processes = os.cpu_count() or 1
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            tokens = {role: [await chaos._token(client, *login) for login in pairs] for role, pairs in logins.items()}
            http_ids = [
                [row["shift"]["id"] for row in await chaos._json(await client.get(BROWSE_PATH, headers=headers), 200)]
                for headers in tokens["volunteer"]
            ]
        raw = Phase(name="raw asyncpg, the browse's own statement", kind="browse", raw=True)
        raw_ids = await _raw_browse(database_url, database_pid, volunteer_ids, seconds, raw)
        if differ := sum(h != r for h, r in zip(http_ids, raw_ids, strict=True)):
            raw.errors["not the page's rows, volunteers"] = differ
        browse = Phase(name=f"HTTP GET {BROWSE_PATH}", processes=processes, kind="browse", target="browse")
        cpu = _Cpu(browse, process.pid, database_pid)
        await _http(base, _gets(base, BROWSE_PATH, tokens["volunteer"]), seconds, browse, 200, once=False)
        cpu.done()
        phases = [raw, browse]
        for role, paths in PAGES.items():
            # The volunteers' pages by every volunteer, the others' by their one manager on every connection.
            askers = tokens[role] if role == "volunteer" else tokens[role] * READ_CLIENTS
            for path in paths:
                page = Phase(name=f"HTTP GET {path} ({role})", processes=processes, target="page")
                cpu = _Cpu(page, process.pid, database_pid)
                await _http(base, _gets(base, path, askers), page_seconds, page, 200, once=False)
                cpu.done()
                phases.append(page)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
    return Reads(phases=phases, http_ids=http_ids[0], raw_ids=raw_ids[0])


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
        phase = Phase(name="HTTP POST /api/shifts/{id}/signups", processes=processes, kind="sign-up", target="sign-up")
        cpu = _Cpu(phase, process.pid, pg.pid)
        await _http(base, _sign_ups(base, tokens, shift_ids), seconds, phase, 201, once=True)
        cpu.done()
        measured = [phase]
        if workers == 0:
            hot = Phase(name=f"HTTP hot race: {HOT_RACE:,} sign-ups at once for {HOT_PLACES} places", kind="sign-up")
            hot.processes, hot.target = processes, "race"
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


class Run(msgspec.Struct, kw_only=True):
    """What one run measured, and on what."""

    phases: list[Phase]
    clients: int
    seconds: float
    page_seconds: float
    reads_on: str
    load_before: tuple[float, float, float]


async def _vacuum_analyze(database_url: str) -> None:
    # A freshly seeded database has no statistics yet; a running one has (autovacuum), and its plans depend on them.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def _city_database(pg: servers.LocalPostgres, say: Callable[[str], None]) -> str:
    """A database of its own on the bench's server, seeded with the city."""
    conn = await asyncpg.connect(pg.url)
    try:
        await conn.execute("CREATE DATABASE linli_city")
    finally:
        await conn.close()
    url = pg.url.rpartition("/")[0] + "/linli_city"
    await migrate(url)
    say("bench http: seeding the city (minutes)")
    await seed_city(url)
    await _vacuum_analyze(url)
    return url


async def _run(
    clients: int, seconds: float, folder: Path, say: Callable[[str], None], preset: str, database_url: str | None
) -> Run:
    begun = time.monotonic()
    load_before = os.getloadavg()

    def step(what: str) -> None:
        say(f"bench http: {what} ({time.monotonic() - begun:.0f} s)")

    pg = servers.start_postgres(folder / "pg", durable=True)
    valkey = servers.start_valkey(folder / "valkey", durable=False)
    phases: list[Phase] = []
    page_seconds = min(seconds, PAGE_SECONDS)
    try:
        await migrate(pg.url)
        await seed_demo(pg.url, seed=1, scale=0.05)
        await _vacuum_analyze(pg.url)
        step("PostgreSQL and Valkey started, demo district seeded")
        if database_url:
            reads_url, reads_on = database_url, f"the {preset} in the given database"
        elif preset == "city":
            reads_url, reads_on = await _city_database(pg, say), "the city seed"
            step("city seeded")
        else:
            reads_url, reads_on = pg.url, "the demo district"
        # The reads first, on the data as seeded: the sign-ups below publish shifts of their own.
        reads = await measure_reads(folder, reads_url, valkey.url, preset, seconds, page_seconds)
        step(f"reads on {reads_on}: browse {reads.phases[1].rate:,.0f}/s, raw {reads.phases[0].rate:,.0f}/s")
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
        created = sum(p.counted for p in phases if p.target == "sign-up")
        say(
            f"bench http: shifts oversold {checked['oversold']}, miscounted {checked['miscounted']}; "
            f"active sign-ups {checked['active']:,} (counted 201s after warm-ups: {created:,})"
        )
        if checked["oversold"] or checked["miscounted"]:
            sign_ups = next(p for p in phases if p.target == "sign-up")
            sign_ups.errors["oversold or miscounted shifts"] = checked["oversold"] + checked["miscounted"]
    finally:
        valkey.stop()
        pg.stop()
    return Run(
        phases=phases + reads.phases,
        clients=clients,
        seconds=seconds,
        page_seconds=page_seconds,
        reads_on=reads_on,
        load_before=load_before,
    )


# The targets, as printed beside each row (`meets` tells whether a row holds to its own).
TARGETS = {
    "sign-up": f"≥ {SIGN_UP_SHARE:.0%} of raw, p99 ≤ {SIGN_UP_P99_TIMES:g} × raw's",
    "race": f"≥ {SIGN_UP_SHARE:.0%} of raw",
    "browse": f"≥ {BROWSE_SHARE:.0%} of raw",
    "page": f"p95 ≤ {PAGE_P95_MS:g} ms",
}


def meets(phase: Phase, raw: Phase | None) -> bool:
    """Whether a row meets its target of issue #13 (which always asks for 0 errors too)."""
    if phase.errors:
        return False
    if phase.target == "page":
        return phase.percentile(0.95) <= PAGE_P95_MS
    if raw is None or not raw.rate:
        return False
    share = BROWSE_SHARE if phase.target == "browse" else SIGN_UP_SHARE
    if phase.rate < share * raw.rate:
        return False
    return phase.target != "sign-up" or phase.percentile(0.99) <= SIGN_UP_P99_TIMES * raw.percentile(0.99)


def _load(averages: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in averages)


def report(run: Run) -> str:
    """The phases side by side as a Markdown table: each HTTP rate as a share of its raw one, each row against the
    issue's target."""
    raws = {phase.kind: phase for phase in run.phases if phase.raw}
    lines = [
        f"bench http: sign-ups {run.clients} clients, {run.seconds:g} s a phase; reads on {run.reads_on}, "
        f"{READ_CLIENTS} connections, browse {run.seconds:g} s, each page {run.page_seconds:g} s; "
        f"each after a {WARM_UP_S:g} s warm-up; {os.cpu_count()} cores; load average (1, 5, 15 min) "
        f"{_load(run.load_before)} before, {_load(os.getloadavg())} after",
        "",
        "| path | web processes | answers/s | p50 ms | p95 ms | p99 ms | errors | share of raw | p99 / raw p99 "
        "| target (issue #13) | met | web CPU ms/answer | PostgreSQL CPU ms/answer | bench CPU ms/answer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in run.phases:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(phase.errors.items())) or "0"
        raw = raws.get(phase.kind)
        share = p99_ratio = target = met = "—"
        if raw is not None and raw.rate and raw.percentile(0.99):
            share = f"{phase.rate / raw.rate:.1%}"
            p99_ratio = f"{phase.percentile(0.99) / raw.percentile(0.99):.1f}"
        if phase.raw:
            target = "the baseline"
        elif phase.target is not None:
            target, met = TARGETS[phase.target], "yes" if meets(phase, raw) else "no"
        lines.append(
            f"| {phase.name} | {phase.processes or '—'} | {phase.rate:,.0f} | {phase.percentile(0.5):.1f} | "
            f"{phase.percentile(0.95):.1f} | {phase.percentile(0.99):.1f} | {errors} | {share} | {p99_ratio} | "
            f"{target} | {met} | {phase.cpu_ms(phase.web_cpu_s)} | {phase.cpu_ms(phase.database_cpu_s)} | "
            f"{phase.cpu_ms(phase.client_cpu_s)} |"
        )
    lines += ["", "every target also asks for 0 errors (and the sign-ups for 0 oversell): a row with errors is not met"]
    return "\n".join(lines)


def bench(
    size: str | None, preset: str = "district", database_url: str | None = None, say: Callable[[str], None] = print
) -> bool:
    """Run the bench (`size` is CLIENTSxSECONDS of the sign-ups, default 50x10; the reads on the preset, or on a
    database seeded with it) and print its table; True when nothing failed."""
    clients, seconds = (int(part) for part in (size or "50x10").lower().split("x"))
    # The hot race holds a thousand sockets at once here and in the web processes, which inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * HOT_RACE:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * HOT_RACE), hard))
    with servers.scratch_dir("linli-bench-http-") as folder, asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
        run = r.run(_run(clients, float(seconds), folder, say, preset, database_url))
    say(report(run))
    return not any(phase.errors for phase in run.phases)
