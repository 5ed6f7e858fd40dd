"""`linli bench explain`: every statement the hot pages run, with the plan PostgreSQL chose and what it cost
(EXPLAIN ANALYZE with buffers, from the auto_explain module as the app serves each page in-process), on the demo
district or the city (issue #13). Printed as Markdown, as kept in docs/explain/.

Each page is asked twice and the second answer is the one measured (the first warms the caches and the prepared
statements, as any page after the first of a running server finds them). A statement that several pages run (the
session lookup, the unread count) is printed once and referred to after.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api.app import create_app
from api.cli import bench_http
from api.demo import DEMO_LOGINS, seed_demo
from api.demo.city import CITY_PASSWORD, seed_city
from api.dev import servers
from api.services.types import SHANGHAI
from api.settings import Settings
from sql.migrate import migrate

# The pages `linli bench http` loads, by role, and a volunteer's browse through the API.
PAGES: dict[str, tuple[str, ...]] = {
    role: (*paths, bench_http.BROWSE_PATH) if role == "volunteer" else paths for role, paths in bench_http.PAGES.items()
}
# The login each role is measured as: the demo district's own, or the first manager of the city (as the bench's).
DEMO_USERS = {"volunteer": "volunteer.demo", **bench_http.DEMO_MANAGERS}
CITY_USERS_SQL = bench_http.CITY_MANAGER
# What auto_explain logs for each statement the measured connections run (ANALYZE, BUFFERS, as JSON).
EXPLAIN_SETTINGS = (
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_analyze = on",
    "SET auto_explain.log_buffers = on",
    "SET auto_explain.log_timing = on",
    "SET auto_explain.log_nested_statements = on",
    "SET auto_explain.log_format = json",
    # The log line travels to the client as a notice, so the plans are read from the connection, not a log file.
    "SET client_min_messages = log",
)
DURATION = re.compile(r"duration: ([0-9.]+) ms\s+plan:\s*", re.S)


@dataclass
class Statement:
    """One statement as auto_explain reported it."""

    text: str
    ms: float
    plan: dict[str, Any]


@dataclass
class Page:
    """A page as the measured request served it: its answer and the statements it ran."""

    role: str
    path: str
    status: int = 0
    ms: float = 0.0
    statements: list[Statement] = field(default_factory=list)


class Recorder:
    """Collects the plans the measured connection reports while a page is being served."""

    def __init__(self) -> None:
        self.page: Page | None = None

    def listen(self, _conn: Any, message: Any) -> None:
        """asyncpg's log listener: a plan for the page being measured (other notices are not ours)."""
        found = DURATION.match(getattr(message, "message", ""))
        if self.page is None or found is None:
            return
        explained = json.loads(message.message[found.end() :])
        self.page.statements.append(
            Statement(explained["Query Text"].strip(), float(found.group(1)), explained["Plan"])
        )


class OneConnection:
    """The app's pool for the measurement: one connection that explains what it runs, lent to one request at a time
    (the pages are asked one after another), so its settings and its listener stay for the whole run."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection, as a pool lends one."""
        yield self.conn

    async def close(self) -> None:
        """Closed by whoever opened it."""


def render_plan(node: dict[str, Any], depth: int = 0) -> list[str]:
    """A plan as indented lines: each node with its relation or index, the rows and time it really took, and the
    buffers it read (shared hits and reads)."""
    name = node["Node Type"]
    if "Index Name" in node:
        name += f" using {node['Index Name']}"
    if "Relation Name" in node:
        name += f" on {node['Relation Name']}" + (
            f" {node['Alias']}" if node.get("Alias") != node["Relation Name"] else ""
        )
    loops = node.get("Actual Loops", 1)
    figures = f"rows {node.get('Actual Rows', 0)} × {loops} loops, {node.get('Actual Total Time', 0):.3f} ms"
    hits, reads = node.get("Shared Hit Blocks", 0), node.get("Shared Read Blocks", 0)
    if hits or reads:
        figures += f", buffers hit {hits} read {reads}"
    lines = [f"{'  ' * depth}{'-> ' if depth else ''}{name} ({figures})"]
    for key in ("Index Cond", "Filter", "Hash Cond", "Join Filter", "Sort Key"):
        if key in node:
            value = node[key] if isinstance(node[key], str) else ", ".join(node[key])
            lines.append(f"{'  ' * depth}     {key}: {value}")
    for child in node.get("Plans", ()):
        lines += render_plan(child, depth + 1)
    return lines


def report(pages: list[Page], preset: str, database: str) -> str:
    """The pages' statements and plans as Markdown."""
    when = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out = [
        f"# Plans of the hot pages: {preset}",
        "",
        f"`linli bench explain --preset {preset}` on {database}, {when} (Asia/Shanghai), load average {load}.",
        "Times are PostgreSQL's own (auto_explain, ANALYZE with timing); a page's time is the whole request served",
        "in-process. Each statement is printed once (the plan of its slowest run), at the first page that runs it;",
        "later pages refer to it. Statements run inside SQL functions (auto_explain's nested statements) count too.",
        "",
        "\"their ms\" adds up every statement's own time, nested ones too (a nested statement's time is also inside",
        "its caller's).",
        "",
        "| role | page | status | request ms | statements | their ms | slowest ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for p in pages:
        total = sum(s.ms for s in p.statements)
        slowest = max((s.ms for s in p.statements), default=0.0)
        out.append(
            f"| {p.role} | `{p.path}` | {p.status} | {p.ms:.1f} | {len(p.statements)} | {total:.2f} | {slowest:.2f} |"
        )
    numbers: dict[str, int] = {}
    for p in pages:
        out += ["", f"## {p.role}: `{p.path}`", ""]
        # A statement run many times in one page (a function's inner statement, once per row) is one entry.
        runs: dict[str, list[Statement]] = {}
        for s in p.statements:
            runs.setdefault(s.text, []).append(s)
        for text, same in sorted(runs.items(), key=lambda item: -sum(s.ms for s in item[1])):
            total = sum(s.ms for s in same)
            times = f"{total:.3f} ms" + (f" in {len(same)} runs" if len(same) > 1 else "")
            if text in numbers:
                out.append(f"- statement {numbers[text]} (above): {times}")
                continue
            numbers[text] = len(numbers) + 1
            worst = max(same, key=lambda s: s.ms)
            if out[-1].startswith("- "):
                out.append("")
            out += [
                f"### Statement {numbers[text]}: {times}",
                "",
                "```sql",
                text,
                "```",
                "",
                "```",
                *render_plan(worst.plan),
                "```",
                "",
            ]
    return "\n".join(out) + "\n"


async def _users(conn: asyncpg.Connection, preset: str) -> dict[str, str]:
    """The login each role is measured as."""
    if preset == "district":
        return DEMO_USERS
    users = {role: await conn.fetchval(CITY_USERS_SQL, role) for role in PAGES}
    missing = [role for role, name in users.items() if name is None]
    if missing:
        raise RuntimeError(f"no city accounts for {', '.join(missing)}: is the database seeded with --preset city?")
    return users


def _password(preset: str, username: str) -> str:
    if preset == "city":
        return CITY_PASSWORD
    return next(password for _, name, password in DEMO_LOGINS if name == username)


async def measure(database_url: str, preset: str, say: Callable[[str], None]) -> list[Page]:
    """Serve each hot page twice in-process on this database and keep the second's statements."""
    recorder = Recorder()
    # The in-process client's own line per request would bury the progress lines (for this measurement only: the
    # process may go on to other work that logs its requests).
    httpx_log = logging.getLogger("httpx")
    httpx_level = httpx_log.level
    httpx_log.setLevel(logging.WARNING)
    try:
        return await _measure(database_url, preset, say, recorder)
    finally:
        httpx_log.setLevel(httpx_level)


async def _measure(database_url: str, preset: str, say: Callable[[str], None], recorder: Recorder) -> list[Page]:
    conn = await asyncpg.connect(database_url)
    for statement in EXPLAIN_SETTINGS:
        await conn.execute(statement)
    conn.add_log_listener(recorder.listen)
    app = create_app(
        Settings(database_url=database_url, redis_url=None, secret_key="explain-" + "x" * 32, state_dir=Path("/tmp")),  # noqa: S108
        pool=OneConnection(conn),
        redis=None,
    )
    pages: list[Page] = []
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://explain.local", timeout=300) as client:
            users = await _users(conn, preset)
            for role, paths in PAGES.items():
                token = await client.post(
                    "/api/auth/token", json={"username": users[role], "password": _password(preset, users[role])}
                )
                token.raise_for_status()
                headers = {"authorization": f"Bearer {token.json()['token']}"}
                for path in paths:
                    await client.get(path, headers=headers)
                    page = Page(role, path)
                    recorder.page = page
                    started = time.perf_counter()
                    answer = await client.get(path, headers=headers)
                    page.ms, page.status = (time.perf_counter() - started) * 1000, answer.status_code
                    recorder.page = None
                    # A notice may arrive just after the answer: let the connection's reader hand it over.
                    await asyncio.sleep(0.05)
                    say(f"{role} {path}: {page.status}, {page.ms:.0f} ms, {len(page.statements)} statements")
                    pages.append(page)
    finally:
        conn.remove_log_listener(recorder.listen)
        await conn.close()
    return pages


@asynccontextmanager
async def throwaway_database(preset: str, say: Callable[[str], None]) -> AsyncIterator[str]:
    """A PostgreSQL of its own, migrated and seeded with the preset, removed afterwards."""
    with servers.scratch_dir("linli-explain-") as folder:
        pg = servers.start_postgres(folder / "pg", durable=False)
        try:
            await migrate(pg.url)
            say(f"seeding the {preset} (the city takes minutes)")
            await (seed_city if preset == "city" else seed_demo)(pg.url)
            admin = await asyncpg.connect(pg.url)
            try:
                await admin.execute("VACUUM ANALYZE")
            finally:
                await admin.close()
            yield pg.url
        finally:
            pg.stop()


def bench(preset: str, database_url: str | None, say: Callable[[str], None]) -> str:
    """The Markdown report for the preset: on `database_url` (already seeded with it) or on a throw-away cluster."""

    async def run() -> str:
        if database_url:
            return report(await measure(database_url, preset, say), preset, "the given database")
        async with throwaway_database(preset, say) as url:
            return report(await measure(url, preset, say), preset, "a throw-away cluster")

    return asyncio.run(run())
