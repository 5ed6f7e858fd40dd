"""What one sign-up through HTTP costs PostgreSQL, statement by statement (issue #13, docs/performance.md).

A throw-away PostgreSQL with pg_stat_statements (every statement, nested ones in triggers and functions too), migrated
and seeded with the demo district; the app in-process on a pool of its own (as `linli serve` makes it), the bench's
shifts and volunteers made through the API as `linli bench http` makes them, then sign-ups one after the other,
each volunteer walking the shifts from its own place in the list as the bench's clients do. Printed: each statement's
calls and PostgreSQL time per sign-up (planning and execution), then, on a second round with the statistics off, the
CPU every PostgreSQL process used per sign-up.

    .venv/bin/python scripts/signup_statements.py [volunteers] [sign-ups each]
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
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


def say(line: str) -> None:
    """A line of the report on standard output."""
    sys.stdout.write(line + "\n")


async def main(volunteers: int, each: int) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with servers.scratch_dir("linli-signup-") as folder:
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
                database_url=pg.url, redis_url=None, secret_key="signup-" + "x" * 32, state_dir=Path(folder)
            )
            app = create_app(settings, pool=pool, redis=None)
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://signup.local", timeout=300) as client:
                shifts = await chaos._publish_shifts(client, headcount=volunteers)
                area_id = await chaos._committee_area(client)
                tokens = [await chaos._volunteer(client, n, area_id, "s") for n in range(volunteers)]
                # Warm-up: prepared statements, caches, every volunteer with places already (as in the bench).
                await sign_ups(client, tokens, shifts, 5, 0)
                await admin.execute("SELECT pg_stat_statements_reset()")
                measured = await sign_ups(client, tokens, shifts, each, 5)
                rows = await admin.fetch(STATS)
                # The CPU round: without the statistics' own cost.
                await admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'none'")
                await admin.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = off")
                await admin.execute("SELECT pg_reload_conf()")
                await asyncio.sleep(0.5)
                before, began = tree_cpu_s(pg.pid), time.perf_counter()
                cpu_round = await sign_ups(client, tokens, shifts, each, 5 + each)
                cpu_ms = (tree_cpu_s(pg.pid) - before) * 1000 / cpu_round
                wall_ms = (time.perf_counter() - began) * 1000 / cpu_round
            await pool.close()
            await admin.close()
        finally:
            pg.stop()
    say(f"{measured} sign-ups measured ({volunteers} volunteers × {each})")
    say("| statement | level | calls per sign-up | plan ms per sign-up | exec ms per sign-up |")
    say("| --- | --- | --- | --- | --- |")
    total = 0.0
    for row in rows:
        per = (row["total_plan_time"] + row["total_exec_time"]) / measured
        if row["toplevel"]:
            total += per
        say(
            f"| `{row['query'][:160]}` | {'top' if row['toplevel'] else 'nested'} | {row['calls'] / measured:.2f}"
            f" | {row['total_plan_time'] / measured:.3f} | {row['total_exec_time'] / measured:.3f} |"
        )
    say(f"top-level statements in all: {total:.3f} ms per sign-up")
    say(
        f"CPU of every PostgreSQL process, second round ({cpu_round} sign-ups, statistics off):"
        f" {cpu_ms:.3f} ms per sign-up; wall {wall_ms:.2f} ms per sign-up"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 30))
