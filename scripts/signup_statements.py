"""What one sign-up through HTTP costs PostgreSQL, statement by statement (issue #13, docs/performance.md).

A throw-away PostgreSQL with pg_stat_statements (every statement, nested ones in triggers and functions too), migrated
and seeded with the demo district; the app in-process on a pool of its own (as `linli serve` makes it), the bench's
shifts and volunteers made through the API as `linli bench http` makes them, then sign-ups one after the other,
each volunteer walking the shifts from its own place in the list as the bench's clients do. Printed: each statement's
calls and PostgreSQL time per sign-up (planning and execution), then, on a second round with the statistics off, the
CPU every PostgreSQL process used per sign-up and this process's own (the app in-process and its client).

The same for the hot race's refusals (`refusals` > 0): one shift filled by the volunteers above, then as many other
volunteers, each asking for a place on it `refusals` times, one request at a time (every answer 409 shift-full).

    .venv/bin/python scripts/signup_statements.py [volunteers] [sign-ups each] [refusals each]
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import logging
import pstats
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from api.app import create_app, keep_session
from api.cli import chaos
from api.cli.bench_http import tree_cpu_s
from api.demo import seed_demo
from api.dev import servers
from api.settings import Settings
from sql.migrate import migrate

STATS = """
SELECT toplevel, calls, total_plan_time, total_exec_time, regexp_replace(query, '\\s+', ' ', 'g') AS query
FROM pg_stat_statements
WHERE query NOT LIKE '%pg_stat_statements%'
ORDER BY total_plan_time + total_exec_time DESC
"""


Round = Callable[[int], Awaitable[int]]


async def sign_ups(
    client: httpx.AsyncClient, tokens: list[dict[str, str]], shifts: list[int], each: int, start: int
) -> int:
    """EACH sign-ups per volunteer from step START, one after the other; how many answered 201."""
    taken = 0
    for step in range(start, start + each):
        for n, headers in enumerate(tokens):
            shift_id = shifts[(n * len(shifts) // len(tokens) + step) % len(shifts)]
            answer = await client.post(f"/api/shifts/{shift_id}/signups", headers=headers)
            if answer.status_code != 201:
                raise SystemExit(f"sign-up answered {answer.status_code}: {answer.text}")
            taken += 1
    return taken


async def refusals(client: httpx.AsyncClient, tokens: list[dict[str, str]], shift_id: int, each: int) -> int:
    """EACH sign-ups per volunteer for the full shift, one after the other; each must be refused as full."""
    refused = 0
    for _ in range(each):
        for headers in tokens:
            answer = await client.post(f"/api/shifts/{shift_id}/signups", headers=headers)
            if answer.status_code != 409 or answer.json()["type"] != "/problems/shift-full":
                raise SystemExit(f"refusal answered {answer.status_code}: {answer.text}")
            refused += 1
    return refused


async def measure(admin: asyncpg.Connection, pid: int, what: str, run: Round, each: int, profile: bool = False) -> None:
    """Warm up, then one round with the statistics on (statement by statement) and one with them off (the CPU of
    every PostgreSQL process and of this one); printed per answer. With `profile`, a third round under cProfile."""
    await run(5)
    await admin.execute("SELECT pg_stat_statements_reset()")
    measured = await run(each)
    rows = await admin.fetch(STATS)
    # The CPU round: without the statistics' own cost.
    await admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'none'")
    await admin.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = off")
    await admin.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.5)
    before, own, began = tree_cpu_s(pid), time.process_time(), time.perf_counter()
    cpu_round = await run(each)
    cpu_ms = (tree_cpu_s(pid) - before) * 1000 / cpu_round
    own_ms = (time.process_time() - own) * 1000 / cpu_round
    wall_ms = (time.perf_counter() - began) * 1000 / cpu_round
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
        await run(each)
        profiler.disable()
    await admin.execute("ALTER SYSTEM RESET pg_stat_statements.track")
    await admin.execute("ALTER SYSTEM RESET pg_stat_statements.track_planning")
    await admin.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.5)
    say(f"{measured} {what} measured")
    say("| statement | level | calls per answer | plan ms per answer | exec ms per answer |")
    say("| --- | --- | --- | --- | --- |")
    total = 0.0
    for row in rows:
        per = (row["total_plan_time"] + row["total_exec_time"]) / measured
        if row["toplevel"]:
            total += per
        say(
            f"| `{_excerpt(row['query'])}` | {'top' if row['toplevel'] else 'nested'} | {row['calls'] / measured:.2f}"
            f" | {row['total_plan_time'] / measured:.3f} | {row['total_exec_time'] / measured:.3f} |"
        )
    say(f"top-level statements in all: {total:.3f} ms per answer")
    say(
        f"second round ({cpu_round} {what}, statistics off): CPU of every PostgreSQL process {cpu_ms:.3f} ms,"
        f" of this process (the app and its client) {own_ms:.3f} ms, wall {wall_ms:.2f} ms per answer"
    )
    say("")
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(40)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(60)


def _excerpt(query: str) -> str:
    """A statement's beginning and end (statements of one request often begin alike)."""
    return query if len(query) <= 200 else f"{query[:120]} … {query[-80:]}"


@contextlib.asynccontextmanager
async def demo_app(name: str) -> AsyncIterator[tuple[int, asyncpg.Connection, httpx.AsyncClient]]:
    """A throw-away PostgreSQL with pg_stat_statements (every statement, nested ones too), migrated and seeded with
    the demo district, and the app in-process on a pool of its own (as `linli serve` makes it): the postmaster's
    pid, a connection of our own to it, and a client of the app."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with servers.scratch_dir(f"linli-{name}-") as folder:
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
                database_url=pg.url, redis_url=None, secret_key=f"{name}-" + "x" * 32, state_dir=Path(folder)
            )
            app = create_app(settings, pool=pool, redis=None)
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}.local", timeout=300) as client:
                yield pg.pid, admin, client
            await pool.close()
            await admin.close()
        finally:
            pg.stop()


def say(line: str) -> None:
    """A line of the report on standard output."""
    sys.stdout.write(line + "\n")


async def main(volunteers: int, each: int, refused_each: int) -> None:
    async with demo_app("signup") as (pid, admin, client):
        shifts = await chaos._publish_shifts(client, headcount=volunteers)
        area_id = await chaos._committee_area(client)
        tokens = [await chaos._volunteer(client, n, area_id, "s") for n in range(volunteers)]
        # Each round goes on where the last stopped: every volunteer with places already (as in the bench).
        steps = [0]

        async def signing_up(count: int) -> int:
            steps[0] += count
            return await sign_ups(client, tokens, shifts[:-1], count, steps[0] - count)

        await measure(admin, pid, "sign-ups", signing_up, each)
        if refused_each:
            full = shifts[-1]  # the volunteers above fill it (its headcount is their number)
            for headers in tokens:
                answer = await client.post(f"/api/shifts/{full}/signups", headers=headers)
                if answer.status_code != 201:
                    raise SystemExit(f"filling answered {answer.status_code}: {answer.text}")
            others = [await chaos._volunteer(client, n, area_id, "r") for n in range(volunteers)]

            async def refusing(count: int) -> int:
                return await refusals(client, others, full, count)

            await measure(admin, pid, "refusals of a full shift", refusing, refused_each)


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:4]]
    asyncio.run(main(*(arguments + [10, 30, 0][len(arguments) :])))
