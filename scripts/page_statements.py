"""What one page costs the web process and PostgreSQL, request by request (issue #13, docs/performance.md).

As scripts/signup_statements.py, on the same throw-away demo district and in-process app: the page asked by the
manager `linli bench http` asks it as (bearer token), one request at a time. Printed: each statement's calls and
PostgreSQL time per request, then, on a second round with the statistics off, the CPU every PostgreSQL process and
this process (the app and its in-process client) used per request, and the answer's size; with `--profile`, the
app's functions by their CPU time (cProfile on a third round).

    .venv/bin/python scripts/page_statements.py [path] [role] [requests] [--profile]
"""

from __future__ import annotations

import asyncio
import sys

import httpx
from signup_statements import demo_app, measure, say

from api.cli.bench_http import DEMO_MANAGERS
from api.demo import DEMO_LOGINS


async def pages(client: httpx.AsyncClient, path: str, headers: dict[str, str], count: int) -> int:
    """COUNT requests for the page, one after the other (each answer must be 200); how many."""
    for _ in range(count):
        answer = await client.get(path, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:500]}")
    return count


async def main(path: str, role: str, count: int, profile: bool) -> None:
    async with demo_app("pages") as (pid, admin, client):
        username = DEMO_MANAGERS[role]
        password = next(p for _, name, p in DEMO_LOGINS if name == username)
        token = await client.post("/api/auth/token", json={"username": username, "password": password})
        token.raise_for_status()
        headers = {"authorization": f"Bearer {token.json()['token']}"}
        size = len((await client.get(path, headers=headers)).content)

        async def asking(requests: int) -> int:
            return await pages(client, path, headers, requests)

        await measure(admin, pid, f"requests of {path} as {username}", asking, count, profile=profile)
        say(f"the answer: {size:,} bytes")


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
