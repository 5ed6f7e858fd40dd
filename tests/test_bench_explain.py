"""`linli bench explain`: each hot page is served, and every statement it runs comes back with its real plan."""

from __future__ import annotations

import secrets

import pytest

from api.cli import explain
from tests.conftest import Servers, clone_demo, drop_database

pytestmark = pytest.mark.slow


async def test_every_hot_page_answers_and_brings_its_statements_plans(servers: Servers) -> None:
    name = f"linli_explain_{secrets.token_hex(4)}"
    url = await clone_demo(servers, name)
    try:
        pages = await explain.measure(url, "district", lambda _: None)
    finally:
        await drop_database(servers, name)
    assert [(p.role, p.path) for p in pages] == [(r, path) for r, paths in explain.PAGES.items() for path in paths]
    assert all(p.status == 200 for p in pages), [(p.path, p.status) for p in pages if p.status != 200]
    # Every page reads the database, so each has statements, each with a plan that really ran (ANALYZE: loops).
    assert all(p.statements for p in pages), [p.path for p in pages if not p.statements]
    for statement in (s for p in pages for s in p.statements):
        assert statement.text and statement.ms >= 0 and "Actual Loops" in statement.plan
    # A volunteer's browse walks the open shifts by their start (the index docs/performance.md names).
    browse = next(p for p in pages if p.path.startswith("/api/shifts/"))
    plans = "\n".join(line for s in browse.statements for line in explain.render_plan(s.plan))
    assert "shifts_open_by_start" in plans, plans[:2000]
    text = explain.report(pages, "district", "the test's clone")
    assert text.startswith("# Plans of the hot pages: district")
    assert "| volunteer | `/api/shifts/?limit=20` | 200 |" in text
    # Each statement printed once: later pages refer to it.
    assert text.count("### Statement 1:") == 1 and "(above)" in text


def test_a_plan_reads_as_indented_nodes_with_rows_time_and_buffers() -> None:
    plan = {
        "Node Type": "Nested Loop",
        "Actual Rows": 3,
        "Actual Loops": 1,
        "Actual Total Time": 0.5,
        "Plans": [
            {
                "Node Type": "Index Scan",
                "Index Name": "shifts_pkey",
                "Relation Name": "shifts",
                "Alias": "s",
                "Actual Rows": 1,
                "Actual Loops": 3,
                "Actual Total Time": 0.01,
                "Shared Hit Blocks": 9,
                "Index Cond": "(id = g.shift_id)",
            }
        ],
    }
    assert explain.render_plan(plan) == [
        "Nested Loop (rows 3 × 1 loops, 0.500 ms)",
        "  -> Index Scan using shifts_pkey on shifts s (rows 1 × 3 loops, 0.010 ms, buffers hit 9 read 0)",
        "       Index Cond: (id = g.shift_id)",
    ]
