"""What one page costs the web process and PostgreSQL, request by request (issue #13, docs/performance.md).

A throw-away PostgreSQL with pg_stat_statements, migrated and seeded with the demo district; the app in-process on a
pool of its own (as `linli serve` makes it); the page asked by the manager `linli bench http` asks it as (bearer
token), one request at a time. Printed: each statement's calls and PostgreSQL time per request, then, on a second
round with the statistics off, the CPU every PostgreSQL process and this process (the app and its in-process client)
used per request, and the answer's size; with `--profile`, the app's functions by their own CPU time (cProfile on a
third round).

    .venv/bin/python scripts/page_statements.py [path] [role] [requests] [--profile]
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import pstats
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from api.app import create_app, keep_session
from api.cli.bench_http import DEMO_MANAGERS, tree_cpu_s
from api.demo import DEMO_LOGINS, seed_demo
from api.dev import servers
from api.settings import Settings
from sql.migrate import migrate

STATS = """
SELECT toplevel, calls, total_plan_time, total_exec_time, regexp_replace(query, '\\s+', ' ', 'g') AS query
FROM pg_stat_statements
WHERE query NOT LIKE '%pg_stat_statements%'
ORDER BY total_plan_time + total_exec_time DESC
"""


def _excerpt(query: str) -> str:
    """A statement's beginning and end (statements of one page often begin alike)."""
    return query if len(query) <= 200 else f"{query[:120]} … {query[-80:]}"


def say(line: str) -> None:
    """A line of the report on standard output."""
    sys.stdout.write(line + "\n")


async def pages(client: httpx.AsyncClient, path: str, headers: dict[str, str], count: int) -> int:
    """COUNT requests for the page, one after the other; its size in bytes (each answer must be 200)."""
    size = 0
    for _ in range(count):
        answer = await client.get(path, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:500]}")
        size = len(answer.content)
    return size


async def main(path: str, role: str, count: int, profile: bool) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with servers.scratch_dir("linli-page-") as folder:
        options = {
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "all",
            "pg_stat_statements.track_planning": "on",
            "pg_stat_statements.max": "10000",
        }
        pg = servers.start_postgres(folder / "pg", durable=False, options=options)
        try:
            await migrate(pg.url)
            await seed_demo(pg.url)
            admin = await asyncpg.connect(pg.url)
            await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await admin.execute("VACUUM ANALYZE")
            pool = await asyncpg.create_pool(pg.url, min_size=2, max_size=4, reset=keep_session)
            settings = Settings(
                database_url=pg.url, redis_url=None, secret_key="pages-" + "x" * 32, state_dir=Path(folder)
            )
            app = create_app(settings, pool=pool, redis=None)
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://pages.local", timeout=300) as client:
                username = DEMO_MANAGERS[role]
                password = next(p for _, name, p in DEMO_LOGINS if name == username)
                token = await client.post("/api/auth/token", json={"username": username, "password": password})
                token.raise_for_status()
                headers = {"authorization": f"Bearer {token.json()['token']}"}
                await pages(client, path, headers, 10)  # warm-up: templates compiled, statements prepared
                await admin.execute("SELECT pg_stat_statements_reset()")
                await pages(client, path, headers, count)
                rows = await admin.fetch(STATS)
                # The CPU round: without the statistics' own cost.
                await admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'none'")
                await admin.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = off")
                await admin.execute("SELECT pg_reload_conf()")
                await asyncio.sleep(0.5)
                before, own, began = tree_cpu_s(pg.pid), time.process_time(), time.perf_counter()
                size = await pages(client, path, headers, count)
                pg_ms = (tree_cpu_s(pg.pid) - before) * 1000 / count
                own_ms = (time.process_time() - own) * 1000 / count
                wall_ms = (time.perf_counter() - began) * 1000 / count
                profiler = cProfile.Profile() if profile else None
                if profiler is not None:
                    profiler.enable()
                    await pages(client, path, headers, count)
                    profiler.disable()
            await pool.close()
            await admin.close()
        finally:
            pg.stop()
    say(f"{count} requests of {path} as {DEMO_MANAGERS[role]} measured")
    say("| statement | level | calls per request | plan ms per request | exec ms per request |")
    say("| --- | --- | --- | --- | --- |")
    total = 0.0
    for row in rows:
        per = (row["total_plan_time"] + row["total_exec_time"]) / count
        if row["toplevel"]:
            total += per
        say(
            f"| `{_excerpt(row['query'])}` | {'top' if row['toplevel'] else 'nested'} | {row['calls'] / count:.2f}"
            f" | {row['total_plan_time'] / count:.3f} | {row['total_exec_time'] / count:.3f} |"
        )
    say(f"top-level statements in all: {total:.3f} ms per request")
    say(
        f"second round (statistics off): CPU of every PostgreSQL process {pg_ms:.3f} ms, of this process (the app and"
        f" its client) {own_ms:.3f} ms, wall {wall_ms:.2f} ms per request; the answer {size:,} bytes"
    )
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(40)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    given = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(
        main(
            given[0] if given else "/volunteering/dashboard",
            given[1] if len(given) > 1 else "committee",
            int(given[2]) if len(given) > 2 else 200,
            "--profile" in flags,
        )
    )
