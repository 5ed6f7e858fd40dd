"""PostgreSQL stopped in immediate mode and started again under sign-up load through the API: every sign-up answered
201 is stored, no answer is a 500, the outage is answered 503 with Retry-After, and sign-ups work again by themselves.

Servers of its own (a PostgreSQL, a Valkey and `linli serve`), never the session's: the scenario is the one
`linli bench chaos` runs, smaller.
"""

from __future__ import annotations

import pytest

from api.cli.chaos import first_traceback, run_database_restart


@pytest.mark.chaos
def test_a_database_restart_under_sign_up_load_loses_nothing_and_answers_503() -> None:
    figures = run_database_restart(clients=10, seconds=12, down_s=1.0, durable=False, say=lambda _: None)
    assert figures.acknowledged >= 20, figures  # the load ran on both sides of the outage
    assert figures.lost == 0, figures
    # The outage was seen, and only as 503s (a 500's traceback from the server's log is in the message).
    assert figures.server_errors.keys() == {503}, f"{figures.statuses}\n{figures.first_traceback}"
    assert figures.unavailable_without_retry_after == 0, figures
    assert figures.no_answer == 0, figures
    assert figures.recover_s is not None and figures.recover_s < 5, figures
    assert (figures.log_unhandled, figures.log_tracebacks) == (0, 0), figures.first_traceback
    # Each web process that met the outage logs it once and its end once.
    assert 1 <= figures.log_outages == figures.log_back <= figures.web_processes, figures


def test_the_figures_keep_the_exception_at_the_end_of_the_first_traceback() -> None:
    frames = "".join(f'  File "a.py", line {n}, in f\n    f()\n' for n in range(200))
    log = (
        "2026-12-06 10:00:00 [error    ] unhandled error\nTraceback (most recent call last):\n"
        f"{frames}ValueError: boom\n2026-12-06 10:00:01 [info     ] next line\n"
    )
    kept = first_traceback(log)
    assert kept.startswith("Traceback (most recent call last):") and kept.endswith("ValueError: boom")
    assert len(kept) <= 3010 and "next line" not in kept
    assert first_traceback("2026-12-06 10:00:00 [info     ] all well\n") == ""
